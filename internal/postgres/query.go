package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"example.com/rampart/internal/rampart"
)

// The helpers below hold what every record's methods do alike: read one
// record, read a list or a page of one, change one record through a function,
// each within queryTimeout. The methods keep only their SQL and their
// columns.

// execer is a *pgxpool.Pool or a pgx.Tx.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// exec runs a statement that writes.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	if _, err := s.pool.Exec(ctx, query, args...); err != nil {
		return s.dbError(op, err)
	}
	return nil
}

// execOne runs a statement that changes one record, named by what, and
// reports NotFound when it changed none.
func (s *Store) execOne(ctx context.Context, op, what, query string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, query, args...)
	return s.notFoundUnlessChanged(op, what, tag, err)
}

// purgeExpired runs query, a DELETE of at most limit rows that expired
// before the given time (its parameters $1 and $2), and returns how many
// went. The purges pick their batch as `id = ANY(ARRAY(subquery))`, not
// `id IN (subquery)`: with IN the planner hash-joins the batch against a
// scan of the whole table (EXPLAIN at 200k rows), with ANY it looks each
// id up by the primary key.
func (s *Store) purgeExpired(ctx context.Context, op, query string, before time.Time, limit int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, query, rampart.Timestamp(before), limit)
	if err != nil {
		return 0, s.dbError(op, err)
	}
	return int(tag.RowsAffected()), nil
}

// get reads one record, named by what, with scan. NotFound when there is no
// row.
func get[T any](ctx context.Context, s *Store, op, what string, scan func(pgx.Row) (T, error), query string, args ...any) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	return getIn(ctx, s, s.pool, op, what, scan, query, args...)
}

// getIn is get on q, within the caller's deadline.
func getIn[T any](ctx context.Context, s *Store, q querier, op, what string, scan func(pgx.Row) (T, error), query string, args ...any) (T, error) {
	item, err := scan(q.QueryRow(ctx, query, args...))
	if err != nil {
		var zero T
		return zero, s.getError(op, what, err)
	}
	return item, nil
}

// all reads every row of a query with scan.
func all[T any](ctx context.Context, s *Store, op string, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, query, args...)
	var items []T // nil when there is no row, as on SQLite
	if err == nil {
		items, err = pgx.AppendRows(items, rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
	}
	if err != nil {
		return nil, s.dbError(op, err)
	}
	return items, nil
}

// list reads one page of a newest-first listing. query takes args, then the
// time and id that the page's records come strictly before, then the number
// of rows to read, numbered in this order (see rampart.Page).
func list[T rampart.Listed](ctx context.Context, s *Store, op string, page rampart.Page, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, rampart.Cursor, error) {
	if err := page.Check(); err != nil {
		return nil, rampart.Cursor{}, err
	}
	b := page.Before()
	items, err := all(ctx, s, op, scan, query, append(args, b.CreatedAt, b.ID, page.Limit+1)...)
	if err != nil {
		return nil, rampart.Cursor{}, err
	}
	items, next := rampart.NextPage(items, page.Limit, func(item T) rampart.Cursor { return item.ListCursor() })
	return items, next, nil
}

// update changes one record, named by what, in a transaction: it reads and
// locks the record with scan and query (which ends in FOR UPDATE), lets fn
// change it (rampart.ApplyUpdate), and hands it to put to write, with the
// record as it was read. put returns errors ready for the caller.
func update[T any, P rampart.Updatable[T]](ctx context.Context, s *Store, op, what string,
	scan func(pgx.Row) (P, error), fn func(P) error, put func(ctx context.Context, tx pgx.Tx, rec P, before *T) error,
	query string, args ...any,
) (P, error) {
	var rec P
	err := s.inTx(ctx, op, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if rec, err = getIn(ctx, s, tx, op, what, scan, query, args...); err != nil {
			return err
		}
		before, err := rampart.ApplyUpdate(rec, fn)
		if err != nil {
			return err
		}
		return put(ctx, tx, rec, &before)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
