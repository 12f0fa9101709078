package app

import (
	"context"
	"errors"

	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
)

// busyAsUnavailable turns the hasher's "queue full" into the domain's
// Unavailable with a retry hint, which the edge answers as 503 +
// Retry-After.
type busyAsUnavailable struct{ *password.Hasher }

func busy(err error) error {
	if be, ok := errors.AsType[*password.BusyError](err); ok {
		return &rampart.Error{Kind: rampart.KindUnavailable, Code: "busy",
			Message: "the server is busy; try again shortly", RetryAfter: be.RetryAfter, Err: err}
	}
	return err
}

func (h busyAsUnavailable) Hash(ctx context.Context, pw string) (string, error) {
	s, err := h.Hasher.Hash(ctx, pw)
	return s, busy(err)
}

func (h busyAsUnavailable) Verify(ctx context.Context, pw, encoded string) (bool, bool, error) {
	ok, rehash, err := h.Hasher.Verify(ctx, pw, encoded)
	return ok, rehash, busy(err)
}

func (h busyAsUnavailable) Busy() error { return busy(h.Hasher.Busy()) }

func (h busyAsUnavailable) VerifyDummy(ctx context.Context, pw string) error {
	return busy(h.Hasher.VerifyDummy(ctx, pw))
}
