package postgres

import (
	"context"
	"testing"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/storetest"
	"example.com/rampart/internal/testutil"
)

// BenchmarkStore runs the stores' shared benchmarks. The driver side uses
// pgx on the store's own pool, scanning as the store does.
func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) (rampart.Store, storetest.Driver) {
		s := OpenTestStore(b, testutil.PostgresURL(b))
		return s, storetest.Driver{
			GetOrder: func(ctx context.Context, tenantID, id string) error {
				var got rampart.Order
				return s.pool.QueryRow(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = $1 AND id = $2", tenantID, id).
					Scan(&got.ID, &got.TenantID, &got.OwnerID, &got.Items, &got.Note, &got.Status, &got.CreatedAt, &got.UpdatedAt)
			},
			CreateOrder: func(ctx context.Context, o *rampart.Order) error {
				_, err := s.pool.Exec(ctx, "INSERT INTO orders ("+orderColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
					o.ID, o.TenantID, o.OwnerID, o.Items, o.Note, o.Status, o.CreatedAt, o.UpdatedAt)
				return err
			},
		}
	})
}
