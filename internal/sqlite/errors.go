package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"example.com/rampart/internal/rampart"
)

// dbError turns an error from the driver into a *rampart.Error. The kind
// comes from SQLite's extended result code, never from the message text;
// the message is for clients and so names no table, column or driver. op
// says what the store was doing, for the logs.
func dbError(op string, err error) error {
	kind, msg := rampart.KindInternal, ""
	var serr *sqlite.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		kind, msg = rampart.KindUnavailable, "the database did not answer in time"
	case errors.As(err, &serr):
		kind, msg = codeKind(serr.Code())
	}
	return rampart.WrapError(kind, fmt.Errorf("sqlite: %s: %w", op, err), msg)
}

func codeKind(code int) (rampart.Kind, string) {
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return rampart.KindConflict, "already exists"
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		// A write that names a parent row (a tenant, a user) that is not
		// there, for example one of another tenant.
		return rampart.KindNotFound, "a referenced record does not exist"
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_DATATYPE, sqlite3.SQLITE_TOOBIG:
		return rampart.KindInvalid, "a value is not allowed"
	}
	switch code & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
		return rampart.KindUnavailable, "the database is unavailable"
	}
	return rampart.KindInternal, ""
}

// getError is dbError for a query of one record, where no row means that the
// record, named by what, does not exist (or is another tenant's).
func getError(op, what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return rampart.Errorf(rampart.KindNotFound, "%s not found", what)
	}
	return dbError(op, err)
}

// notFoundUnlessChanged reports NotFound when an update or delete of one
// record touched no row.
func notFoundUnlessChanged(op, what string, res sql.Result, err error) error {
	if err != nil {
		return dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(op, err)
	}
	if n == 0 {
		return rampart.Errorf(rampart.KindNotFound, "%s not found", what)
	}
	return nil
}
