package sqlite_test

import (
	"path/filepath"
	"testing"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/storetest"
	"example.com/rampart/internal/testutil/sqlcheck"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) rampart.Store {
		return sqlite.OpenTestStore(t, filepath.Join(t.TempDir(), "rampart.db"))
	})
}

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	current, latest, err := s.SchemaStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if current != 0 || latest < 1 {
		t.Errorf("new database: schema version %d of %d, want 0 of at least 1", current, latest)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Migrating an up-to-date database changes nothing.
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	current, latest, err = s.SchemaStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if current != latest {
		t.Errorf("after Migrate: schema version %d of %d, want the latest", current, latest)
	}
}

func TestOpenRefusesMemoryDatabase(t *testing.T) {
	// Each connection would get a database of its own: writes would be
	// invisible to reads.
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		_, err := sqlite.Open(t.Context(), path)
		if rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("Open(%q): got %v, want KindInvalid", path, err)
		}
	}
}

func TestOpenUnusablePath(t *testing.T) {
	_, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "dir", "rampart.db"))
	if rampart.ErrorKind(err) != rampart.KindUnavailable {
		t.Errorf("Open in a missing directory: got %v, want KindUnavailable", err)
	}
}

func TestSQLIsConstant(t *testing.T) {
	problems, err := sqlcheck.Check(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
