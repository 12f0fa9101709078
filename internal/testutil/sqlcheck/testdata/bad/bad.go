// Package bad breaks the rule sqlcheck enforces, on the lines marked want,
// and keeps it everywhere else.
package bad

import (
	"context"
	"database/sql"
	"fmt"
)

const columns = "id, name"

type pool interface {
	Exec(ctx context.Context, sql string, args ...any) (any, error)
	QueryRow(ctx context.Context, sql string, args ...any) any
}

func queries(ctx context.Context, db *sql.DB, p pool, table, id string) {
	db.QueryRowContext(ctx, fmt.Sprintf("SELECT * FROM %s WHERE id = '%s'", table, id)) // want
	db.ExecContext(ctx, "DELETE FROM "+table)                                           // want
	db.Exec("UPDATE t SET name = '" + id + "'")                                         // want
	p.Exec(ctx, "DELETE FROM t WHERE id = "+id)                                         // want
	q := "SELECT 1"
	db.QueryContext(ctx, q) // want
	p.QueryRow(ctx, q)      // want
	db.Prepare(table)       // want

	db.QueryRowContext(ctx, "SELECT name FROM t WHERE id = ?", id)
	db.ExecContext(ctx, "SELECT "+columns+" FROM t WHERE id = ?", id)
	p.Exec(ctx, "DELETE FROM t WHERE id = $1", id)
	const local = "SELECT 1"
	db.Query(local)
	p.QueryRow(ctx, ("SELECT "+columns)+" FROM t")
}
