package storetest

// Housekeeping: PurgeSessions and PurgeLinkTokens delete what expired
// before the cut-off, in bounded batches, and nothing else.

import (
	"context"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// cutoff is the time the purges below delete before; base is a month
// earlier.
var cutoff = base.Add(30 * 24 * time.Hour)

func testPurgeSessions(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	other, otherAdmin := newTenant(t, s)
	session := func(tenantID, userID string, expires time.Time) *rampart.Session {
		ss := newSession(tenantID, userID, base)
		ss.ExpiresAt = expires
		check(t, s.CreateSession(ctx, ss))
		return ss
	}

	// Gone: expired before the cut-off, the token it had before a rotation
	// included, in either tenant.
	old := session(tenant.ID, admin.ID, cutoff.Add(-time.Microsecond))
	oldHash := old.TokenHash
	old = rotate(t, s, old, base.Add(time.Minute))
	otherOld := session(other.ID, otherAdmin.ID, base.Add(time.Hour))
	// Kept: expiring at the cut-off or later, whatever else ended them.
	atCutoff := session(tenant.ID, admin.ID, cutoff)
	live := session(tenant.ID, admin.ID, cutoff.Add(time.Hour))
	revoked := session(tenant.ID, admin.ID, cutoff.Add(time.Hour))
	check(t, s.RevokeUserSessions(ctx, tenant.ID, admin.ID, live.ID, base, "logout"))
	revoked, err := s.GetSession(ctx, tenant.ID, revoked.ID)
	check(t, err)
	// Every one idle-expired long before the cut-off (newSession), which
	// does not count; this one is the other tenant's.
	idle := session(other.ID, otherAdmin.ID, cutoff.Add(time.Hour))
	atCutoff, err = s.GetSession(ctx, tenant.ID, atCutoff.ID)
	check(t, err)

	n, err := s.PurgeSessions(ctx, cutoff, rampart.MaxPurgeBatch)
	check(t, err)
	if n != 2 {
		t.Errorf("PurgeSessions deleted %d sessions, want 2", n)
	}
	_, err = s.GetSession(ctx, tenant.ID, old.ID)
	wantKind(t, err, rampart.KindNotFound)
	_, err = s.GetSession(ctx, other.ID, otherOld.ID)
	wantKind(t, err, rampart.KindNotFound)
	for _, hash := range [][]byte{oldHash, old.TokenHash, otherOld.TokenHash} {
		_, err = s.FindSessionByTokenHash(ctx, hash)
		wantKind(t, err, rampart.KindNotFound)
	}
	for _, want := range []*rampart.Session{atCutoff, live, revoked, idle} {
		got, err := s.GetSession(ctx, want.TenantID, want.ID)
		check(t, err)
		equal(t, got, want)
		got, err = s.FindSessionByTokenHash(ctx, want.TokenHash)
		check(t, err)
		equal(t, got, want)
	}
	if n, err = s.PurgeSessions(ctx, cutoff, rampart.MaxPurgeBatch); err != nil || n != 0 {
		t.Errorf("a second PurgeSessions: %d, %v; want 0, nil", n, err)
	}

	// A batch deletes at most limit sessions, so a backlog takes a loop.
	for range 5 {
		session(tenant.ID, admin.ID, base.Add(time.Hour))
	}
	wantBatches(t, "PurgeSessions", s.PurgeSessions, 2, 2, 2, 1, 0)
	for _, want := range []*rampart.Session{atCutoff, live, revoked, idle} {
		if _, err := s.GetSession(ctx, want.TenantID, want.ID); err != nil {
			t.Errorf("after the batches, session expiring at %v: %v", want.ExpiresAt, err)
		}
	}
}

func testPurgeLinkTokens(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)
	other, _ := newTenant(t, s)
	link := func(purpose rampart.LinkPurpose, tenantID string, expires time.Time) *rampart.LinkToken {
		l, _ := newLink(purpose, tenantID, base)
		l.ExpiresAt = expires
		check(t, s.CreateLinkToken(ctx, l))
		return l
	}
	expired := cutoff.Add(-time.Microsecond)

	// Gone: expired before the cut-off, whether unused, used or revoked.
	var gone []*rampart.LinkToken
	for _, p := range []rampart.LinkPurpose{rampart.LinkInvitation, rampart.LinkSignup, rampart.LinkPasswordReset, rampart.LinkVerifyEmail} {
		gone = append(gone, link(p, tenant.ID, expired))
	}
	used := link(rampart.LinkPasswordReset, "", expired)
	_, err := s.RedeemLinkToken(ctx, used.Hash, rampart.LinkPasswordReset, base)
	check(t, err)
	revoked := link(rampart.LinkPasswordReset, "", expired)
	check(t, s.RevokeLinkTokens(ctx, rampart.LinkPasswordReset, "", revoked.Email, base))
	gone = append(gone, used, revoked, link(rampart.LinkInvitation, other.ID, expired))

	// Kept: expiring at the cut-off or later, used or not, and another
	// tenant's pending invitation.
	atCutoff := link(rampart.LinkPasswordReset, "", cutoff)
	spent := link(rampart.LinkSignup, "", cutoff.Add(time.Hour))
	_, err = s.RedeemLinkToken(ctx, spent.Hash, rampart.LinkSignup, base)
	check(t, err)
	pending := link(rampart.LinkInvitation, other.ID, cutoff.Add(time.Hour))
	kept := []*rampart.LinkToken{atCutoff, spent, pending}

	n, err := s.PurgeLinkTokens(ctx, cutoff, rampart.MaxPurgeBatch)
	check(t, err)
	if n != len(gone) {
		t.Errorf("PurgeLinkTokens deleted %d link tokens, want %d", n, len(gone))
	}
	for _, l := range gone {
		if !linkGone(t, s, l) {
			t.Errorf("a %s link that expired before the cut-off is still stored", l.Purpose)
		}
	}
	for _, l := range kept {
		if linkGone(t, s, l) {
			t.Errorf("a %s link expiring at %v is gone", l.Purpose, l.ExpiresAt)
		}
	}
	invitations, _, err := s.ListInvitations(ctx, other.ID, base, rampart.Page{Limit: 10})
	check(t, err)
	if len(invitations) != 1 || invitations[0].ID != pending.ID {
		t.Errorf("the other tenant's pending invitations after the purge: %d, want the one", len(invitations))
	}
	// The kept reset link still redeems before its expiry.
	_, err = s.RedeemLinkToken(ctx, atCutoff.Hash, rampart.LinkPasswordReset, base)
	check(t, err)

	for range 3 {
		link(rampart.LinkPasswordReset, "", base.Add(time.Hour))
	}
	wantBatches(t, "PurgeLinkTokens", s.PurgeLinkTokens, 2, 2, 1, 0)
	for _, l := range kept {
		if linkGone(t, s, l) {
			t.Errorf("after the batches, a %s link expiring at %v is gone", l.Purpose, l.ExpiresAt)
		}
	}
}

// linkGone reports whether no stored link token has l's hash: storing
// another link with it is then no conflict.
func linkGone(t *testing.T, s rampart.Store, l *rampart.LinkToken) bool {
	t.Helper()
	probe, _ := newLink(rampart.LinkVerifyEmail, "", base)
	probe.Hash, probe.ExpiresAt = l.Hash, cutoff.Add(24*time.Hour) // never purged itself
	err := s.CreateLinkToken(t.Context(), probe)
	if rampart.ErrorKind(err) == rampart.KindConflict {
		return false
	}
	check(t, err)
	return true
}

// wantBatches calls purge with limit until it has seen each count of want
// in turn.
func wantBatches(t *testing.T, name string, purge func(ctx context.Context, before time.Time, limit int) (int, error), limit int, want ...int) {
	t.Helper()
	for i, w := range want {
		n, err := purge(t.Context(), cutoff, limit)
		check(t, err)
		if n != w {
			t.Errorf("%s batch %d of limit %d deleted %d rows, want %d", name, i+1, limit, n, w)
		}
	}
}
