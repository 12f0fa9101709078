// Package rampart holds the domain of the Rampart API server: its entities,
// the store contract that every storage adapter implements, and the error
// kinds that the HTTP edge translates into status codes. It imports only the
// standard library; adapters depend on it, never the other way round.
package rampart

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it. The HTTP edge
// maps each Kind to one status code in one table.
type Kind int

const (
	KindInternal        Kind = iota // a bug or unexpected failure; details are logged, never shown
	KindInvalid                     // the input broke a rule; the message may be shown
	KindUnauthenticated             // no valid credentials
	KindForbidden                   // authenticated, but the function is not allowed
	KindNotFound                    // absent, or belongs to another tenant or owner
	KindConflict                    // a uniqueness or state rule would be broken
	KindRateLimited                 // too many attempts; retry later
	KindUnavailable                 // a dependency (store, cache) does not answer
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindRateLimited:
		return "rate_limited"
	case KindUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// Error is the domain error. Message is safe to show to a client; Err is the
// underlying cause and is only ever logged.
type Error struct {
	Kind Kind
	// Code, when set, names the case more precisely than Kind for clients
	// that branch on it (see codes.go); it is one of the Code constants.
	Code Code
	// Field, when set on a KindInvalid error, names the input field the
	// Message is about, as the client wrote it (e.g. "newPassword").
	Field   string
	Message string
	// Scope, when set on a KindForbidden error, is the API-key scope that
	// would have allowed the call (the edge names it in its challenge).
	Scope string
	// RetryAfter tells the client how long to wait. KindRateLimited and
	// KindUnavailable errors set it where they are made (the throttle's
	// delay, the hasher's estimate, RetryAfterUnavailable).
	RetryAfter time.Duration
	// MaxAge, on a CodeStepUpRequired error, is how recent a sign-in must
	// be (the max_age of the RFC 9470 challenge).
	MaxAge time.Duration
	Err    error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Kind, e.Err)
	case e.Message != "":
		return fmt.Sprintf("%s: %s", e.Kind, e.Message)
	default:
		return e.Kind.String()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a client-safe message.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), RetryAfter: retryAfterOf(kind)}
}

// retryAfterOf is the RetryAfter that Errorf and WrapError give an error of
// kind: a KindUnavailable one gets RetryAfterUnavailable, so that every
// dependency failure (the store, the rate limiter) says when to come back
// from where it is made, and the edge only copies it.
func retryAfterOf(kind Kind) time.Duration {
	if kind == KindUnavailable {
		return RetryAfterUnavailable
	}
	return 0
}

// WrapError returns an *Error of the given kind that keeps cause for the logs.
func WrapError(kind Kind, cause error, message string) error {
	return &Error{Kind: kind, Message: message, RetryAfter: retryAfterOf(kind), Err: cause}
}

// ErrorKind reports the Kind of the first *Error in err's chain, and
// KindInternal for any other non-nil error.
func ErrorKind(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return KindInternal
}

// notFoundAs returns instead when err is a NotFound, and err otherwise (nil
// included): for a lookup whose NotFound the caller answers with an error of
// its own, such as an invalid credential or a plain "not found" that says
// nothing of the store.
func notFoundAs(err, instead error) error {
	if ErrorKind(err) == KindNotFound {
		return instead
	}
	return err
}

// ErrorMessage reports the client-safe message of the first *Error in err's
// chain, or "" when there is none.
func ErrorMessage(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return ""
}

// ErrorOf returns the first *Error in err's chain, or nil.
func ErrorOf(err error) *Error {
	e, _ := errors.AsType[*Error](err)
	return e
}
