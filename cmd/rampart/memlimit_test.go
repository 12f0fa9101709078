package main

import (
	"io"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"example.com/rampart/internal/password"
)

// The default memory limit covers one argon2id buffer per hash slot plus the
// rest of the process; an operator's GOMEMLIMIT wins. (The limit is
// process-wide, so the test restores it.)
func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := password.Params{Memory: 47104, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

	debug.SetMemoryLimit(math.MaxInt64) // as when GOMEMLIMIT is unset
	setMemoryLimit(p, logger)
	want := int64(runtime.GOMAXPROCS(0))*47104*1024 + memoryLimitBase
	if got := debug.SetMemoryLimit(-1); got != want {
		t.Errorf("limit = %d, want %d", got, want)
	}

	debug.SetMemoryLimit(1 << 30) // as when GOMEMLIMIT=1GiB
	setMemoryLimit(p, logger)
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("limit = %d, want the operator's 1 GiB", got)
	}
}
