package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/storetest"
	"example.com/rampart/internal/testutil"
)

// TestLinkTokenCanary: no link token, in any form, is in any row of any
// table after links are issued, redeemed and revoked.
func TestLinkTokenCanary(t *testing.T) {
	s := OpenTestStore(t, testutil.PostgresURL(t))
	ctx := t.Context()
	storetest.LinkTokenCanary(t, s, func() []byte {
		rows, err := s.db.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, table := range tables {
			var text string
			// Each row as its text form: bytea as \x hex, times, JSON.
			q := "SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM " + pgx.Identifier{table}.Sanitize() + " t"
			if err := s.db.QueryRow(ctx, q).Scan(&text); err != nil {
				t.Fatal(err)
			}
			all = append(all, text...)
		}
		return all
	})
}
