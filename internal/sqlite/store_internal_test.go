package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// TestReaderCannotWrite checks the guard that keeps every write on the
// single writer connection: the reader pool is query_only.
func TestReaderCannotWrite(t *testing.T) {
	ctx := t.Context()
	s := OpenTestStore(t, filepath.Join(t.TempDir(), "rampart.db"))
	for _, q := range []string{
		"INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'Acme', 0)",
		"CREATE TABLE sneaky (id TEXT)",
	} {
		if _, err := s.reader.ExecContext(ctx, q); err == nil {
			t.Errorf("%s through the reader pool succeeded, want an error", q)
		}
	}
	if _, err := s.GetTenant(ctx, "t1"); rampart.ErrorKind(err) != rampart.KindNotFound {
		t.Errorf("GetTenant after the refused insert: got %v, want NotFound", err)
	}
}

// TestPanicInTransactionReleasesWriter checks that a panic in the function
// run inside a write transaction rolls the transaction back, so that the
// single writer connection is free for the next write.
func TestPanicInTransactionReleasesWriter(t *testing.T) {
	ctx := t.Context()
	s := OpenTestStore(t, filepath.Join(t.TempDir(), "rampart.db"))
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme"}
	admin := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: rampart.NewID() + "@example.com", Role: rampart.RoleAdmin}
	if err := rampart.CreateTenantWithAdmin(ctx, s, tenant, admin); err != nil {
		t.Fatal(err)
	}
	order := &rampart.Order{ID: rampart.NewID(), TenantID: tenant.ID, OwnerID: admin.ID, Status: rampart.OrderPending,
		Items: []rampart.OrderItem{{SKU: "A", Quantity: 1}}}
	if err := s.CreateOrder(ctx, order); err != nil {
		t.Fatal(err)
	}

	errPanic := errors.New("boom")
	func() {
		defer func() {
			if r := recover(); r != errPanic {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		_, _ = s.UpdateOrder(ctx, tenant.ID, order.ID, func(o *rampart.Order) error {
			o.Note = "not stored"
			panic(errPanic)
		})
	}()

	// The transaction's context is still live, so only the rollback on the
	// way out of the panic frees the writer.
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	other := &rampart.Order{ID: rampart.NewID(), TenantID: tenant.ID, OwnerID: admin.ID, Status: rampart.OrderPending,
		Items: []rampart.OrderItem{{SKU: "B", Quantity: 1}}}
	if err := s.CreateOrder(wctx, other); err != nil {
		t.Fatalf("write after a panic in a transaction: %v", err)
	}
	got, err := s.GetOrder(ctx, tenant.ID, order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Note != "" {
		t.Errorf("note %q after the panic, want the update rolled back", got.Note)
	}
}
