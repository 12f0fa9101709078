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
	// As pgx's Conn.Prepare: the SQL is the third argument.
	Prepare(ctx context.Context, name, sql string) (any, error)
}

// batch is as pgx.Batch.
type batch interface {
	Queue(sql string, args ...any) any
}

func queries(ctx context.Context, db *sql.DB, p pool, b batch, table, id string) {
	db.QueryRowContext(ctx, fmt.Sprintf("SELECT * FROM %s WHERE id = '%s'", table, id)) // want
	db.ExecContext(ctx, "DELETE FROM "+table)                                           // want
	db.Exec("UPDATE t SET name = '" + id + "'")                                         // want
	p.Exec(ctx, "DELETE FROM t WHERE id = "+id)                                         // want
	q := "SELECT 1"
	db.QueryContext(ctx, q)                                   // want
	p.QueryRow(ctx, q)                                        // want
	db.Prepare(table)                                         // want
	db.PrepareContext(ctx, "SELECT * FROM "+table)            // want
	p.Prepare(ctx, "by_id", "SELECT * FROM t WHERE id = "+id) // want
	p.Prepare(ctx, id, q)                                     // want
	b.Queue("DELETE FROM t WHERE id = " + id)                 // want
	b.Queue(q)                                                // want

	db.QueryRowContext(ctx, "SELECT name FROM t WHERE id = ?", id)
	db.ExecContext(ctx, "SELECT "+columns+" FROM t WHERE id = ?", id)
	p.Exec(ctx, "DELETE FROM t WHERE id = $1", id)
	const local = "SELECT 1"
	db.Query(local)
	p.QueryRow(ctx, ("SELECT "+columns)+" FROM t")
	db.PrepareContext(ctx, "SELECT name FROM t WHERE id = ?")
	p.Prepare(ctx, table, "SELECT "+columns+" FROM t WHERE id = $1") // a name that is not constant is fine
	b.Queue("DELETE FROM t WHERE id = $1", id)

	q2 := "SELECT name FROM t WHERE id = " + id
	query := q2                 // a local named query is no helper's parameter
	db.QueryContext(ctx, query) // want

	run(ctx, db, "DELETE FROM "+table) // want
	run(ctx, db, q)                    // want
	first[int](ctx, db, q)             // want
	h := helper{db}
	h.one(ctx, id, q) // want
	run(ctx, db, "DELETE FROM t WHERE id = ?", id)
	first[int](ctx, db, "SELECT "+columns+" FROM t")
	h.one(ctx, id, "SELECT 1")
}

// run, first and helper.one take SQL text in a parameter named query: their
// callers must pass a constant there, and they may pass query on.
func run(ctx context.Context, db *sql.DB, query string, args ...any) {
	db.ExecContext(ctx, query, args...)
}

func first[T any](ctx context.Context, db *sql.DB, query string) T {
	var v T
	db.QueryRowContext(ctx, query).Scan(&v)
	return v
}

type helper struct{ db *sql.DB }

func (h helper) one(ctx context.Context, what, query string) { run(ctx, h.db, query) }

// changed is a helper that changes its query before it runs it.
func changed(ctx context.Context, db *sql.DB, id, query string) {
	query += " AND id = " + id // want
	p := &query                // want
	db.ExecContext(ctx, *p)    // want
}
