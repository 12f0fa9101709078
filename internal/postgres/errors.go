package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"example.com/rampart/internal/rampart"
)

// dbError turns an error from pgx into a *rampart.Error. The kind comes from
// the SQLSTATE code or the Go type of the error, never from the message
// text; the message is for clients and so names no table, column or driver.
// op says what the store was doing, for the logs.
//
// When the error shows that connections were lost, the pool is reset, so
// that the idle connections that died with them are not handed out one by
// one after the database is back.
func (s *Store) dbError(op string, err error) error {
	kind, msg, lost := classify(err)
	if lost {
		s.db.Reset()
	}
	return rampart.WrapError(kind, fmt.Errorf("postgres: %s: %w", op, err), msg)
}

const unavailable = "the database is unavailable"

func classify(err error) (kind rampart.Kind, msg string, lost bool) {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr):
		return codeKind(pgErr.Code)
	case errors.As(err, &connectErr):
		return rampart.KindUnavailable, unavailable, true
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, pgconn.ErrConnClosed): // a pooled connection that died with the line
		return rampart.KindUnavailable, unavailable, true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return rampart.KindUnavailable, "the database did not answer in time", false
	}
	return rampart.KindInternal, "", false
}

// SQLSTATE codes (PostgreSQL manual, appendix A) that the store tells apart.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	checkViolation      = "23514"
	notNullViolation    = "23502"
	queryCanceled       = "57014" // statement_timeout fired
	adminShutdown       = "57P01"
	crashShutdown       = "57P02"
	cannotConnectNow    = "57P03"
	lockNotAvailable    = "55P03"
	serializationFailed = "40001"
	deadlockDetected    = "40P01"
)

func codeKind(code string) (kind rampart.Kind, msg string, lost bool) {
	if len(code) != 5 {
		return rampart.KindInternal, "", false
	}
	switch class := code[:2]; {
	case code == uniqueViolation:
		return rampart.KindConflict, "already exists", false
	case code == foreignKeyViolation:
		// A write that names a parent row (a tenant, a user) that is not
		// there, for example one of another tenant.
		return rampart.KindNotFound, "a referenced record does not exist", false
	case code == checkViolation, code == notNullViolation,
		class == "22": // data exception: malformed JSON, a value out of range
		return rampart.KindInvalid, "a value is not allowed", false
	case class == "08", // connection exception
		code == adminShutdown, code == crashShutdown, code == cannotConnectNow:
		return rampart.KindUnavailable, unavailable, true
	case code == queryCanceled, code == lockNotAvailable,
		code == serializationFailed, code == deadlockDetected,
		class == "53": // insufficient resources, such as too many connections
		return rampart.KindUnavailable, unavailable, false
	}
	return rampart.KindInternal, "", false
}

// getError is dbError for a query of one record, where no row means that the
// record, named by what, does not exist (or is another tenant's).
func (s *Store) getError(op, what string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return rampart.Errorf(rampart.KindNotFound, "%s not found", what)
	}
	return s.dbError(op, err)
}

// notFoundUnlessChanged reports NotFound when an update or delete of one
// record touched no row.
func (s *Store) notFoundUnlessChanged(op, what string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return s.dbError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return rampart.Errorf(rampart.KindNotFound, "%s not found", what)
	}
	return nil
}
