package sqlite

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// The benchmarks compare each store method with database/sql doing the same
// query and decoding on the same connections: the difference is what the
// store layer costs (its time normalisation and error mapping).

func benchStore(b *testing.B) (*Store, *rampart.Tenant, *rampart.User) {
	b.Helper()
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
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

func BenchmarkSQLiteGetOrder(b *testing.B) {
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
			var items []byte
			var created, updated int64
			err := s.reader.QueryRowContext(b.Context(), "SELECT "+orderColumns+" FROM orders WHERE tenant_id = ? AND id = ?", tenant.ID, o.ID).
				Scan(&got.ID, &got.TenantID, &got.OwnerID, &items, &got.Note, &got.Status, &created, &updated)
			if err != nil {
				b.Fatal(err)
			}
			if err := json.Unmarshal(items, &got.Items); err != nil {
				b.Fatal(err)
			}
			got.CreatedAt, got.UpdatedAt = time.UnixMicro(created), time.UnixMicro(updated)
		}
	})
}

func BenchmarkSQLiteCreateOrder(b *testing.B) {
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
			items, err := json.Marshal(o.Items)
			if err != nil {
				b.Fatal(err)
			}
			_, err = s.writer.ExecContext(b.Context(), "INSERT INTO orders ("+orderColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				o.ID, o.TenantID, o.OwnerID, string(items), o.Note, o.Status, o.CreatedAt.UnixMicro(), o.UpdatedAt.UnixMicro())
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
