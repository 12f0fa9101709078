package postgres

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
)

// The benchmarks compare each store method with pgx doing the same query
// and scan on the same pool: the difference is what the store layer costs
// (its deadline, its time normalisation, its error mapping).

func benchStore(b *testing.B) (*Store, *rampart.Tenant, *rampart.User) {
	b.Helper()
	s, err := Open(b.Context(), testutil.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Bench", CreatedAt: now}
	admin := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: rampart.NewID() + "@example.com", Role: rampart.RoleAdmin, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateTenant(b.Context(), tenant, admin); err != nil {
		b.Fatal(err)
	}
	return s, tenant, admin
}

func benchOrder(tenantID, ownerID string) *rampart.Order {
	now := time.Now()
	return &rampart.Order{
		ID:        rampart.NewID(),
		TenantID:  tenantID,
		OwnerID:   ownerID,
		Items:     []rampart.OrderItem{{SKU: "WIDGET-1", Quantity: 2}},
		Status:    rampart.OrderPending,
		CreatedAt: now,
		UpdatedAt: now,
	}
}

func BenchmarkPostgresGetOrder(b *testing.B) {
	s, tenant, admin := benchStore(b)
	o := benchOrder(tenant.ID, admin.ID)
	if err := s.CreateOrder(b.Context(), o); err != nil {
		b.Fatal(err)
	}
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.GetOrder(b.Context(), tenant.ID, o.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("driver", func(b *testing.B) {
		for b.Loop() {
			var got rampart.Order
			err := s.pool.QueryRow(b.Context(), "SELECT "+orderColumns+" FROM orders WHERE tenant_id = $1 AND id = $2", tenant.ID, o.ID).
				Scan(&got.ID, &got.TenantID, &got.OwnerID, &got.Items, &got.Note, &got.Status, &got.CreatedAt, &got.UpdatedAt)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPostgresCreateOrder(b *testing.B) {
	s, tenant, admin := benchStore(b)
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if err := s.CreateOrder(b.Context(), benchOrder(tenant.ID, admin.ID)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("driver", func(b *testing.B) {
		for b.Loop() {
			o := benchOrder(tenant.ID, admin.ID)
			_, err := s.pool.Exec(b.Context(), "INSERT INTO orders ("+orderColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
				o.ID, o.TenantID, o.OwnerID, o.Items, o.Note, o.Status, o.CreatedAt, o.UpdatedAt)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
