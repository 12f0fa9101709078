package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/storetest"
)

func TestAuditTamper(t *testing.T) {
	storetest.RunAuditTamper(t, func(t *testing.T) (rampart.Store, storetest.Tamperer) {
		path := filepath.Join(t.TempDir(), "rampart.db")
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return s, tamperer{db}
	})
}

// tamperer edits the audit table directly, as someone with write access to
// the database file could.
type tamperer struct{ db *sql.DB }

func (tm tamperer) SetAuditColumn(t *testing.T, tenantID string, seq int64, column, value string) {
	t.Helper()
	var q string
	switch column {
	case "type":
		q = "UPDATE audit_events SET type = ? WHERE tenant_id = ? AND seq = ?"
	case "details":
		q = "UPDATE audit_events SET details = ? WHERE tenant_id = ? AND seq = ?"
	default:
		t.Fatalf("unknown column %q", column)
	}
	tm.exec(t, q, value, tenantID, seq)
}

func (tm tamperer) DeleteAuditEvent(t *testing.T, tenantID string, seq int64) {
	t.Helper()
	tm.exec(t, "DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?", tenantID, seq)
}

func (tm tamperer) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	res, err := tm.db.ExecContext(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", q, n)
	}
}
