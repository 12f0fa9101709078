package sqlite

import (
	"testing"

	"example.com/rampart/internal/testutil"
)

// OpenTestStore returns a migrated store on the file at path, closed when t
// ends; for this package's tests, inside and outside it.
func OpenTestStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	return testutil.Migrated(t, s, err)
}
