package postgres

import (
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"example.com/rampart/internal/testutil"
)

// Commits share WAL flushes only when they are in flight together, so the
// pool must not default to pgxpool's max(4, NumCPU); an explicit
// pool_max_conns wins.
//
// Whether the URL sets pool_max_conns is read from the parsed parameters,
// not from its text: a percent-encoded or spaced key counts, and the words
// inside another parameter's value do not.
func TestPoolSize(t *testing.T) {
	dbURL := testutil.PostgresURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	// The same database as a keyword/value string.
	kv := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable", u.Hostname(), u.Port(), u.User.Username(), strings.TrimPrefix(u.Path, "/"))
	// The key's text in a password, which is no parameter.
	withPassword := *u
	withPassword.User = url.UserPassword(u.User.Username(), "pool_max_conns=7")
	def := int32(max(16, 4*runtime.GOMAXPROCS(0)))
	for _, c := range []struct {
		url  string
		want int32
	}{
		{dbURL, def},
		{dbURL + "&pool_max_conns=3", 3},
		{dbURL + "&pool%5Fmax_conns=3", 3},
		{withPassword.String(), def},
		{kv, def},
		{kv + " pool_max_conns=3", 3},
		{kv + " pool_max_conns = 3", 3},
		{kv + " application_name='pool_max_conns=7'", def},
	} {
		s, err := Open(t.Context(), c.url)
		if err != nil {
			t.Errorf("Open(%q): %v", c.url, err)
			continue
		}
		if got := s.db.Config().MaxConns; got != c.want {
			t.Errorf("Open(%q): MaxConns = %d, want %d", c.url, got, c.want)
		}
		s.Close()
	}
}
