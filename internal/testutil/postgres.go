// Package testutil helps tests reach the services they run against.
package testutil

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the PostgreSQL server tests use when
// RAMPART_TEST_POSTGRES_URL is not set: the one on this machine and in CI.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresURL creates an empty database with a random name on the test
// PostgreSQL server and returns its URL. The database is dropped when t ends.
//
// The server is at RAMPART_TEST_POSTGRES_URL, or DefaultPostgresURL. When it
// does not answer, t is skipped, unless RAMPART_TEST_REQUIRE_SERVICES=1 (as
// in CI), in which case t fails.
func PostgresURL(t testing.TB) string {
	t.Helper()
	serverURL := os.Getenv("RAMPART_TEST_POSTGRES_URL")
	if serverURL == "" {
		serverURL = DefaultPostgresURL
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("RAMPART_TEST_POSTGRES_URL: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		Unavailable(t, "PostgreSQL at %s does not answer (set RAMPART_TEST_POSTGRES_URL to use another): %v", u.Redacted(), err)
	}
	defer conn.Close(context.Background())

	name := "rampart_test_" + strings.ToLower(rand.Text()[:16])
	// A database name cannot be a query parameter; it is quoted as an
	// identifier, and it is ours anyway.
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		// FORCE ends connections a test left open.
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	return u.String()
}

// Unavailable reports that a service t needs is not there: t is skipped
// with the reason, or fails when RAMPART_TEST_REQUIRE_SERVICES=1, so that CI
// cannot pass by skipping.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("RAMPART_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s; RAMPART_TEST_REQUIRE_SERVICES=1 requires it", msg)
	}
	t.Skipf("%s; skipping (set RAMPART_TEST_REQUIRE_SERVICES=1 to fail instead)", msg)
}
