package main

import (
	"net/url"
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
