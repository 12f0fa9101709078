package rampart_test

import (
	"crypto/rand"
	"path/filepath"
	"testing"

	"example.com/rampart/internal/app"
	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/testutil"
)

// The one way this package's tests get a store and the domain over it, so
// that each test shows only what it changes.

// sqliteStore opens a migrated SQLite store on a file in t's temporary
// directory, closed when t ends; it returns the file's path too, for tests
// that look at the database beside the store.
func sqliteStore(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rampart.db")
	st, err := sqlite.Open(t.Context(), path)
	return testutil.Migrated(t, st, err), path
}

// buildApp wires the services over st as app.Build does for production,
// with a fresh master key and the default settings; edit, when not nil,
// changes the configuration first (the clock, the identity settings, the
// mail notifier).
func buildApp(t *testing.T, st rampart.Store, edit func(*app.Config)) *app.App {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	cfg := app.Config{Store: st, MasterKey: key, Argon2: password.DefaultParams,
		Policy: password.DefaultPolicy, Identity: rampart.DefaultIdentityConfig}
	if edit != nil {
		edit(&cfg)
	}
	a, err := app.Build(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
