package postgres

import (
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"example.com/rampart/internal/rampart"
)

// TestClassifyLostConnections: every way a connection dies with the network
// is Unavailable (503, and the pool is reset), never Internal (500). A
// pooled connection killed by an outage reports pgconn.ErrConnClosed.
func TestClassifyLostConnections(t *testing.T) {
	for _, err := range []error{
		pgconn.ErrConnClosed,
		fmt.Errorf("create tenant: %w", pgconn.ErrConnClosed),
		io.EOF,
		io.ErrUnexpectedEOF,
	} {
		kind, _, lost := classify(err)
		if kind != rampart.KindUnavailable || !lost {
			t.Errorf("classify(%v) = %v lost=%v, want Unavailable and lost", err, kind, lost)
		}
	}
	if kind, _, _ := classify(&pgconn.PgError{Code: "23505"}); kind != rampart.KindConflict {
		t.Errorf("unique violation: %v, want Conflict", kind)
	}
}
