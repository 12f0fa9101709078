package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/storetest"
	"example.com/rampart/internal/testutil"
)

func TestAuditTamper(t *testing.T) {
	storetest.RunAuditTamper(t, func(t *testing.T) (rampart.Store, storetest.Tamperer) {
		dbURL := testutil.PostgresURL(t)
		s := newStore(t, dbURL)
		conn, err := pgx.Connect(t.Context(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		return s, tamperer{conn}
	})
}

// tamperer edits the audit table directly, as someone with write access to
// the database could.
type tamperer struct{ conn *pgx.Conn }

func (tm tamperer) SetAuditColumn(t *testing.T, tenantID string, seq int64, column, value string) {
	t.Helper()
	var q string
	switch column {
	case "type":
		q = "UPDATE audit_events SET type = $1 WHERE tenant_id = $2 AND seq = $3"
	case "details":
		q = "UPDATE audit_events SET details = $1 WHERE tenant_id = $2 AND seq = $3"
	default:
		t.Fatalf("unknown column %q", column)
	}
	tm.exec(t, q, value, tenantID, seq)
}

func (tm tamperer) DeleteAuditEvent(t *testing.T, tenantID string, seq int64) {
	t.Helper()
	tm.exec(t, "DELETE FROM audit_events WHERE tenant_id = $1 AND seq = $2", tenantID, seq)
}

func (tm tamperer) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	tag, err := tm.conn.Exec(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 1 {
		t.Fatalf("%s changed %d rows, want 1", q, tag.RowsAffected())
	}
}
