package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/storetest"
)

// BenchmarkStore runs the stores' shared benchmarks. The driver side uses
// database/sql on the store's own connections, decoding as the store does.
func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) (rampart.Store, storetest.Driver) {
		s := OpenTestStore(b, filepath.Join(b.TempDir(), "bench.db"))
		return s, storetest.Driver{
			GetOrder: func(ctx context.Context, tenantID, id string) error {
				var got rampart.Order
				var items []byte
				var created, updated int64
				err := s.reader.QueryRowContext(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = ? AND id = ?", tenantID, id).
					Scan(&got.ID, &got.TenantID, &got.OwnerID, &items, &got.Note, &got.Status, &created, &updated)
				if err != nil {
					return err
				}
				got.CreatedAt, got.UpdatedAt = time.UnixMicro(created), time.UnixMicro(updated)
				return json.Unmarshal(items, &got.Items)
			},
			CreateOrder: func(ctx context.Context, o *rampart.Order) error {
				items, err := json.Marshal(o.Items)
				if err != nil {
					return err
				}
				_, err = s.writer.ExecContext(ctx, "INSERT INTO orders ("+orderColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
					o.ID, o.TenantID, o.OwnerID, string(items), o.Note, o.Status, o.CreatedAt.UnixMicro(), o.UpdatedAt.UnixMicro())
				return err
			},
		}
	})
}
