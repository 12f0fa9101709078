package storetest

import (
	"context"
	"testing"

	"example.com/rampart/internal/rampart"
)

// testUnavailableSaysWhenToRetry: a store that cannot answer (here, the
// caller's deadline is already gone) returns KindUnavailable with the
// RetryAfter the client is told, made by the store's error, not invented by
// the edge.
func testUnavailableSaysWhenToRetry(t *testing.T, s rampart.Store) {
	tenant, _ := newTenant(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.GetTenant(ctx, tenant.ID)
	wantKind(t, err, rampart.KindUnavailable)
	if got := rampart.ErrorOf(err).RetryAfter; got != rampart.RetryAfterUnavailable {
		t.Errorf("RetryAfter = %v, want %v", got, rampart.RetryAfterUnavailable)
	}
}
