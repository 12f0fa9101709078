package postgres

import (
	"runtime"
	"testing"

	"example.com/rampart/internal/testutil"
)

// Commits share WAL flushes only when they are in flight together, so the
// pool must not default to pgxpool's max(4, NumCPU); an explicit
// pool_max_conns wins.
func TestPoolSize(t *testing.T) {
	dbURL := testutil.PostgresURL(t)
	for _, c := range []struct {
		url  string
		want int32
	}{
		{dbURL, int32(max(16, 4*runtime.GOMAXPROCS(0)))},
		{dbURL + "&pool_max_conns=3", 3},
	} {
		s, err := Open(t.Context(), c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.pool.Config().MaxConns; got != c.want {
			t.Errorf("MaxConns = %d, want %d", got, c.want)
		}
		s.Close()
	}
}
