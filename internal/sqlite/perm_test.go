//go:build unix

package sqlite_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/sqlite"
)

// TestNewDatabaseFilesArePrivate checks that a new database, which will hold
// password hashes, and its -wal and -shm files are readable and writable by
// their owner only, even under a umask that lets everyone read and write.
func TestNewDatabaseFilesArePrivate(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0))

	dir := t.TempDir()
	touched := filepath.Join(dir, "touched.db")
	if err := os.WriteFile(touched, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "new.db"), touched} {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		// A write makes SQLite create the -wal and -shm files.
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			if mode := fileMode(t, name); mode != 0o600 {
				t.Errorf("%s: mode %v, want %v", filepath.Base(name), mode, fs.FileMode(0o600))
			}
		}
		s.Close()
	}
}

// TestExistingDatabaseKeepsItsMode checks that Open leaves the mode of an
// existing database, which the operator may have chosen, as it is.
func TestExistingDatabaseKeepsItsMode(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "rampart.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()

	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme", CreatedAt: time.Now()}
	admin := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: rampart.NewID() + "@example.com", Role: rampart.RoleAdmin}
	if err := rampart.CreateTenantWithAdmin(ctx, s, tenant, admin); err != nil {
		t.Fatal(err)
	}
	if mode := fileMode(t, path); mode != 0o640 {
		t.Errorf("existing database: mode %v after Open, want %v as it was", mode, fs.FileMode(0o640))
	}
}

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
