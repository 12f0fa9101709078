package storetest

import (
	"context"
	"testing"

	"example.com/rampart/internal/rampart"
)

// Driver does what a store method does, with the database driver alone on
// the store's own connections: RunBenchmarks runs both, and the difference
// is what the store layer costs (its deadline, its time rounding, its error
// mapping). A nil function leaves out that comparison.
type Driver struct {
	// GetOrder reads and decodes an order as GetOrder does.
	GetOrder func(ctx context.Context, tenantID, id string) error
	// CreateOrder encodes and inserts o as CreateOrder does.
	CreateOrder func(ctx context.Context, o *rampart.Order) error
}

// RunBenchmarks benchmarks the store methods on the hot paths of the API,
// the same way on every store. open must return an empty, migrated store,
// closed when b ends, and the store's Driver; it is called once per
// benchmark.
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.RunBenchmarks(b, func(b *testing.B) (rampart.Store, storetest.Driver) { ... })
//	}
func RunBenchmarks(b *testing.B, open func(b *testing.B) (rampart.Store, Driver)) {
	b.Run("GetOrder", func(b *testing.B) {
		s, d := open(b)
		o := benchOrder(b, s)
		check(b, s.CreateOrder(b.Context(), o))
		b.Run("store", func(b *testing.B) {
			for b.Loop() {
				_, err := s.GetOrder(b.Context(), o.TenantID, o.ID)
				check(b, err)
			}
		})
		runDriver(b, d.GetOrder != nil, func() error { return d.GetOrder(b.Context(), o.TenantID, o.ID) })
	})
	b.Run("CreateOrder", func(b *testing.B) {
		s, d := open(b)
		o := benchOrder(b, s)
		b.Run("store", func(b *testing.B) {
			for b.Loop() {
				o.ID = rampart.NewID()
				check(b, s.CreateOrder(b.Context(), o))
			}
		})
		runDriver(b, d.CreateOrder != nil, func() error {
			o.ID = rampart.NewID()
			return d.CreateOrder(b.Context(), o)
		})
	})
	b.Run("ListOrders", func(b *testing.B) {
		s, _ := open(b)
		o := benchOrder(b, s)
		for range 50 {
			o.ID = rampart.NewID()
			check(b, s.CreateOrder(b.Context(), o))
		}
		page := rampart.Page{Limit: 20}
		for b.Loop() {
			_, _, err := s.ListOrders(b.Context(), o.TenantID, rampart.OrderFilter{}, page)
			check(b, err)
		}
	})
	b.Run("UpdateOrder", func(b *testing.B) {
		s, _ := open(b)
		o := benchOrder(b, s)
		check(b, s.CreateOrder(b.Context(), o))
		for b.Loop() {
			_, err := s.UpdateOrder(b.Context(), o.TenantID, o.ID, func(o *rampart.Order) error {
				o.Note = rampart.NewID()
				return nil
			})
			check(b, err)
		}
	})
}

// runDriver runs the driver's side of a comparison, when the store has one.
func runDriver(b *testing.B, has bool, op func() error) {
	if !has {
		return
	}
	b.Run("driver", func(b *testing.B) {
		for b.Loop() {
			check(b, op())
		}
	})
}

// benchOrder returns an order of a new tenant's admin, not yet stored.
func benchOrder(b *testing.B, s rampart.Store) *rampart.Order {
	tenant, admin := newTenant(b, s)
	return newOrder(tenant.ID, admin.ID, base)
}
