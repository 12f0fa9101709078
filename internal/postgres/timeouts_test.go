package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
)

// TestSessionTimeouts checks the server-side timeouts of the pool's
// connections and of the migration connection, which has no statement
// timeout, even when the URL sets one.
func TestSessionTimeouts(t *testing.T) {
	ctx := t.Context()
	dbURL := testutil.PostgresURL(t)
	for _, c := range []struct {
		name, url               string
		statement, idleInTxPool string
	}{
		{"defaults", dbURL, statementTimeout, idleInTransactionTimeout},
		{"set in the URL", dbURL + "&statement_timeout=7000&idle_in_transaction_session_timeout=3000", "7s", "3s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := OpenTestStore(t, c.url)
			show := func(q func(setting string) (string, error), setting, want, conn string) {
				t.Helper()
				got, err := q(setting)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s on the %s connection: %q, want %q", setting, conn, got, want)
				}
			}
			pool := func(setting string) (v string, err error) {
				return v, s.pool.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&v)
			}
			// The migration connection, opened as withMigrator opens it.
			db := stdlib.OpenDB(*s.migration)
			defer db.Close()
			migration := func(setting string) (v string, err error) {
				return v, db.QueryRowContext(ctx, "SELECT current_setting($1)", setting).Scan(&v)
			}
			show(pool, "statement_timeout", c.statement, "pool")
			show(pool, "idle_in_transaction_session_timeout", c.idleInTxPool, "pool")
			show(migration, "statement_timeout", "0", "migration")
			show(migration, "idle_in_transaction_session_timeout", c.idleInTxPool, "migration")
		})
	}
}

// TestRowLockTimesOut has UpdateOrder wait for a row that another
// connection holds FOR UPDATE: the server's statement timeout cancels the
// wait (keeping the connection) before the client deadline would, and the
// store reports KindUnavailable. Without either, the wait would last until
// the holder let go.
func TestRowLockTimesOut(t *testing.T) {
	ctx := t.Context()
	dbURL := testutil.PostgresURL(t)
	s := OpenTestStore(t, dbURL)
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

	holder, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT id FROM orders WHERE id = $1 FOR UPDATE", order.ID); err != nil {
		t.Fatal(err)
	}

	update := func() error {
		_, err := s.UpdateOrder(ctx, tenant.ID, order.ID, func(o *rampart.Order) error {
			o.Note = "updated"
			return nil
		})
		return err
	}
	err = update()
	t.Logf("UpdateOrder on a locked row: %v", err)
	if rampart.ErrorKind(err) != rampart.KindUnavailable {
		t.Errorf("UpdateOrder on a locked row: got %v, want KindUnavailable", err)
	}
	// The server's statement timeout, not the client's deadline, ended the
	// wait: a client deadline would show as a context error, not SQLSTATE.
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != queryCanceled {
		t.Errorf("UpdateOrder on a locked row: %v, want the server's statement timeout (SQLSTATE %s)", err, queryCanceled)
	}

	// Once the lock is released, the update goes through.
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := update(); err != nil {
		t.Errorf("UpdateOrder after the lock was released: %v", err)
	}
}
