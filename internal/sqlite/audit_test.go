package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/storetest"
)

func TestAuditTamper(t *testing.T) { storetest.RunAuditTamper(t, tamperStore) }

func TestAuditCheckpoints(t *testing.T) { storetest.RunAuditCheckpoints(t, tamperStore) }

// tamperStore returns a store and a tamperer on its database file.
func tamperStore(t *testing.T) (rampart.Store, storetest.Tamperer) {
	path := filepath.Join(t.TempDir(), "rampart.db")
	s := sqlite.OpenTestStore(t, path)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s, tamperer{db}
}

// tamperer runs the suite's SQL on the database file directly, as someone
// with write access to it could.
type tamperer struct{ db *sql.DB }

func (tm tamperer) Exec(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	res, err := tm.db.ExecContext(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
