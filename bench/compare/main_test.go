package main

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestDBURL(t *testing.T) {
	admin, err := url.Parse("postgres://postgres:p%40ss@127.0.0.1:5432/postgres?sslmode=disable&application_name=x%2Fy")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		db   string
		pool int
		want string
	}{
		{"cmp_rampart_ab12", 0, "postgres://postgres:p%40ss@127.0.0.1:5432/cmp_rampart_ab12?sslmode=disable&application_name=x%2Fy"},
		{"cmp_rampart_ab12", 24, "postgres://postgres:p%40ss@127.0.0.1:5432/cmp_rampart_ab12?application_name=x%2Fy&pool_max_conns=24&sslmode=disable"},
	} {
		if got := dbURL(admin, c.db, c.pool); got != c.want {
			t.Errorf("dbURL(%q, %d) = %s, want %s", c.db, c.pool, got, c.want)
		}
	}
	// The admin URL is left as it was.
	if admin.Path != "/postgres" {
		t.Errorf("admin URL changed to %s", admin)
	}
}

func TestRepoRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "bench", "compare")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := repoRoot(deep); ok {
		t.Fatalf("repoRoot found a root in %s, which has no go.mod", root)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, ok := repoRoot(deep); !ok || got != root {
		t.Errorf("repoRoot(%s) = %q, %v, want %q", deep, got, ok, root)
	}
}
