package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/postgres"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/storetest"
	"example.com/rampart/internal/testutil"
)

func TestAuditTamper(t *testing.T) { storetest.RunAuditTamper(t, tamperStore) }

func TestAuditCheckpoints(t *testing.T) { storetest.RunAuditCheckpoints(t, tamperStore) }

// tamperStore returns a store and a tamperer on its database.
func tamperStore(t *testing.T) (rampart.Store, storetest.Tamperer) {
	dbURL := testutil.PostgresURL(t)
	s := postgres.OpenTestStore(t, dbURL)
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return s, tamperer{conn}
}

// tamperer runs the suite's SQL on the database directly, as someone with
// write access to it could.
type tamperer struct{ conn *pgx.Conn }

func (tm tamperer) Exec(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	tag, err := tm.conn.Exec(t.Context(), dollarPlaceholders(q), args...)
	if err != nil {
		t.Fatal(err)
	}
	return tag.RowsAffected()
}

// dollarPlaceholders turns the '?' placeholders of q into PostgreSQL's $1,
// $2 and so on. Every '?' in q must be a placeholder.
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
