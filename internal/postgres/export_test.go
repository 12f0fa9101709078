package postgres

import "testing"

// OpenTestStore returns a migrated store on the database at dbURL, closed
// when t ends; for this package's tests, inside and outside it.
func OpenTestStore(t testing.TB, dbURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}
