package postgres

import (
	"testing"

	"example.com/rampart/internal/testutil"
)

// OpenTestStore returns a migrated store on the database at dbURL, closed
// when t ends; for this package's tests, inside and outside it.
func OpenTestStore(t testing.TB, dbURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dbURL)
	return testutil.Migrated(t, s, err)
}
