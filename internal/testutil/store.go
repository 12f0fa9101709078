package testutil

import (
	"context"
	"testing"
)

// Migrator is a store a test opens itself: the SQLite and PostgreSQL
// stores. testutil names the interface rather than importing them, since
// their own tests import testutil.
type Migrator interface {
	Migrate(context.Context) error
	Close() error
}

// Migrated takes what a store's Open returned and hands back the store,
// migrated and closed when t ends; a failure to open or to migrate fails t.
// Callers write st, err := sqlite.Open(...); st = testutil.Migrated(t, st, err).
func Migrated[S Migrator](t testing.TB, s S, err error) S {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	// What the test showed is decided by then; a failed close says nothing of it.
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}
