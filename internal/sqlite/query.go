package sqlite

import (
	"context"
	"database/sql"
	"time"

	"example.com/rampart/internal/rampart"
)

// The helpers below hold what every record's methods do alike: read one
// record, read a list or a page of one, change one record through a function.
// The methods keep only their SQL and their columns.

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// exec runs a statement that writes.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) error {
	if _, err := s.writer.ExecContext(ctx, query, args...); err != nil {
		return dbError(op, err)
	}
	return nil
}

// execOne runs a statement that changes one record, named by what, and
// reports NotFound when it changed none.
func (s *Store) execOne(ctx context.Context, op, what, query string, args ...any) error {
	res, err := s.writer.ExecContext(ctx, query, args...)
	return notFoundUnlessChanged(op, what, res, err)
}

// purgeExpired runs query, a DELETE of at most limit rows that expired
// before the given time (its two parameters, in this order), and returns
// how many went.
func (s *Store) purgeExpired(ctx context.Context, op, query string, before time.Time, limit int) (int, error) {
	res, err := s.writer.ExecContext(ctx, query, micros(rampart.Timestamp(before)), limit)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return 0, dbError(op, err)
	}
	return int(n), nil
}

// get reads one record, named by what, with scan. NotFound when there is no
// row.
func get[T any](ctx context.Context, q querier, op, what string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	item, err := scan(q.QueryRowContext(ctx, query, args...))
	if err != nil {
		var zero T
		return zero, getError(op, what, err)
	}
	return item, nil
}

// all reads every row of a query with scan.
func all[T any](ctx context.Context, s *Store, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(op, err)
	}
	defer rows.Close()
	var items []T
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, dbError(op, err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(op, err)
	}
	return items, nil
}

// list reads one page of a newest-first listing. query takes args, then the
// time and id that the page's records come strictly before, then the number
// of rows to read, in this order (see rampart.Page).
func list[T rampart.Listed](ctx context.Context, s *Store, op string, page rampart.Page, scan func(scanner) (T, error), query string, args ...any) ([]T, rampart.Cursor, error) {
	if err := page.Check(); err != nil {
		return nil, rampart.Cursor{}, err
	}
	b := page.Before()
	items, err := all(ctx, s, op, scan, query, append(args, micros(b.CreatedAt), b.ID, page.Limit+1)...)
	if err != nil {
		return nil, rampart.Cursor{}, err
	}
	items, next := rampart.NextPage(items, page.Limit, func(item T) rampart.Cursor { return item.ListCursor() })
	return items, next, nil
}

// update changes one record, named by what, in a write transaction: it reads
// the record with scan and query, lets fn change it (rampart.ApplyUpdate),
// and hands it to put to write, with the record as it was read. put returns
// errors ready for the caller.
//
// The transaction holds the single write lock from its start, so no other
// write comes between the read and the write.
func update[T any, P rampart.Updatable[T]](ctx context.Context, s *Store, op, what string,
	scan func(scanner) (P, error), fn func(P) error, put func(tx *sql.Tx, rec P, before *T) error,
	query string, args ...any,
) (P, error) {
	var rec P
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var err error
		if rec, err = get(ctx, tx, op, what, scan, query, args...); err != nil {
			return err
		}
		before, err := rampart.ApplyUpdate(rec, fn)
		if err != nil {
			return err
		}
		return put(tx, rec, &before)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
