package storetest

// Sessions: rotation, the token hash history, session details.

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func testSessions(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	ss := newSession(tenant.ID, admin.ID, base)
	check(t, s.CreateSession(ctx, ss))
	got, err := s.GetSession(ctx, tenant.ID, ss.ID)
	check(t, err)
	equal(t, got, ss)
	wantKind(t, s.CreateSession(ctx, ss), rampart.KindConflict)
	wantKind(t, s.CreateSession(ctx, newSession(tenant.ID, rampart.NewID(), base)), rampart.KindNotFound)

	// Rotation: the new token finds the session, and so does the old one,
	// so that the caller can tell a reuse from an unknown token.
	oldHash, newHash := ss.TokenHash, []byte(rampart.NewID())
	rotated, err := s.UpdateSession(ctx, tenant.ID, ss.ID, func(s *rampart.Session) error {
		s.PreviousTokenHash, s.TokenHash = s.TokenHash, newHash
		s.RotatedAt = base.Add(time.Minute)
		s.LastUsedAt = base.Add(time.Minute)
		s.IdleExpiresAt = base.Add(time.Minute + 30*time.Minute)
		return nil
	})
	check(t, err)
	for _, hash := range [][]byte{oldHash, newHash} {
		got, err := s.FindSessionByTokenHash(ctx, hash)
		check(t, err)
		equal(t, got, rotated)
	}
	if rotatedAt := rampart.Timestamp(base.Add(time.Minute)); !reflect.DeepEqual(rotated.PreviousTokenHash, oldHash) || rotated.RotatedAt != rotatedAt {
		t.Errorf("rotated session: previous hash %q at %v, want %q at %v", rotated.PreviousTokenHash, rotated.RotatedAt, oldHash, rotatedAt)
	}
	_, err = s.FindSessionByTokenHash(ctx, []byte("unknown"))
	wantKind(t, err, rampart.KindNotFound)

	// Listing shows only sessions that are neither revoked nor expired.
	now := rampart.Timestamp(base.Add(2 * time.Minute))
	idle := newSession(tenant.ID, admin.ID, base.Add(-time.Hour))
	idle.IdleExpiresAt = now.Add(-time.Second)
	expired := newSession(tenant.ID, admin.ID, base.Add(-2*time.Hour))
	expired.ExpiresAt = now
	revoked := newSession(tenant.ID, admin.ID, base.Add(-3*time.Hour))
	revoked.RevokedAt, revoked.RevokedReason = base, "logout"
	other := newSession(tenant.ID, admin.ID, base.Add(time.Second))
	for _, x := range []*rampart.Session{idle, expired, revoked, other} {
		check(t, s.CreateSession(ctx, x))
	}
	active, next, err := s.ListActiveSessions(ctx, tenant.ID, admin.ID, now, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, active, []*rampart.Session{other, rotated})
	if !next.IsZero() {
		t.Errorf("ListActiveSessions: next cursor %v on the last page, want zero", next)
	}

	// Revoking all but the current session keeps the first revocation.
	check(t, s.RevokeUserSessions(ctx, tenant.ID, admin.ID, other.ID, now, "password changed"))
	active, _, err = s.ListActiveSessions(ctx, tenant.ID, admin.ID, now, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, active, []*rampart.Session{other})
	got, err = s.GetSession(ctx, tenant.ID, ss.ID)
	check(t, err)
	if got.RevokedAt != now || got.RevokedReason != "password changed" {
		t.Errorf("revoked session: at %v for %q, want %v for %q", got.RevokedAt, got.RevokedReason, now, "password changed")
	}
	got, err = s.GetSession(ctx, tenant.ID, revoked.ID)
	check(t, err)
	equal(t, got, revoked)

	// Deleting a user ends their sessions.
	member := newUser(tenant.ID, rampart.RoleMember)
	check(t, s.CreateUser(ctx, member))
	ms := newSession(tenant.ID, member.ID, base)
	check(t, s.CreateSession(ctx, ms))
	check(t, s.DeleteUser(ctx, tenant.ID, member.ID))
	_, err = s.FindSessionByTokenHash(ctx, ms.TokenHash)
	wantKind(t, err, rampart.KindNotFound)

	_, err = s.UpdateSession(ctx, tenant.ID, rampart.NewID(), func(*rampart.Session) error { return nil })
	wantKind(t, err, rampart.KindNotFound)
}

// testSessionDetails checks that a session's auth_time, client address and
// user agent are kept exactly, through creation, update and every way of
// reading a session, and that a session without an auth_time reads back
// zero (never the epoch, which would pass as a very old sign-in only by
// luck).
func testSessionDetails(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	// 200 characters of which many take 2 to 4 bytes: a store counting
	// bytes, or cutting them, would fail here.
	var b strings.Builder
	for i := range rampart.MaxUserAgentRunes {
		b.WriteRune([]rune("aé日🦊")[i%4])
	}
	ua := b.String()

	ss := newSession(tenant.ID, admin.ID, base)
	ss.AuthTime = rampart.Timestamp(base.Add(-time.Second))
	ss.ClientAddress, ss.UserAgent = "203.0.113.0/24", ua
	check(t, s.CreateSession(ctx, ss))
	got, err := s.GetSession(ctx, tenant.ID, ss.ID)
	check(t, err)
	equal(t, got, ss)

	later := rampart.Timestamp(base.Add(5 * time.Minute))
	updated, err := s.UpdateSession(ctx, tenant.ID, ss.ID, func(x *rampart.Session) error {
		x.AuthTime, x.LastUsedAt = later, later
		x.ClientAddress, x.UserAgent = "2001:db8:1234::/48", "curl/8.5.0"
		return nil
	})
	check(t, err)
	if updated.AuthTime != later || updated.ClientAddress != "2001:db8:1234::/48" || updated.UserAgent != "curl/8.5.0" {
		t.Errorf("UpdateSession returned %+v", updated)
	}
	got, err = s.GetSession(ctx, tenant.ID, ss.ID)
	check(t, err)
	equal(t, got, updated)
	got, err = s.FindSessionByTokenHash(ctx, ss.TokenHash)
	check(t, err)
	equal(t, got, updated)
	active, _, err := s.ListActiveSessions(ctx, tenant.ID, admin.ID, base, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, active, []*rampart.Session{updated})

	bare := newSession(tenant.ID, admin.ID, base.Add(time.Second))
	check(t, s.CreateSession(ctx, bare))
	got, err = s.GetSession(ctx, tenant.ID, bare.ID)
	check(t, err)
	if !got.AuthTime.IsZero() || got.ClientAddress != "" || got.UserAgent != "" {
		t.Errorf("a session without details reads back auth time %v, address %q, agent %q", got.AuthTime, got.ClientAddress, got.UserAgent)
	}
}

// testSessionTokenHistory checks that every token a family ever had finds
// its session, so that the caller can recognise the reuse of any of them
// (RFC 9700 §4.14.2): RT1 → RT2 → RT3 → RT4, then RT1 is presented.
func testSessionTokenHistory(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	otherTenant, otherAdmin := newTenant(t, s)

	ss := newSession(tenant.ID, admin.ID, base)
	check(t, s.CreateSession(ctx, ss))
	other := newSession(otherTenant.ID, otherAdmin.ID, base)
	check(t, s.CreateSession(ctx, other))

	hashes := [][]byte{ss.TokenHash}
	var rotated *rampart.Session
	for i := range 3 {
		rotated = rotate(t, s, ss, base.Add(time.Duration(i+1)*time.Minute))
		hashes = append(hashes, rotated.TokenHash)
	}
	otherRotated := rotate(t, s, other, base.Add(time.Minute))

	for i, hash := range hashes {
		got, err := s.FindSessionByTokenHash(ctx, hash)
		if err != nil {
			t.Fatalf("FindSessionByTokenHash with token %d of 4: %v", i+1, err)
		}
		equal(t, got, rotated)
	}
	if !reflect.DeepEqual(rotated.TokenHash, hashes[3]) || !reflect.DeepEqual(rotated.PreviousTokenHash, hashes[2]) {
		t.Errorf("after three rotations: hash %q and previous %q, want %q and %q", rotated.TokenHash, rotated.PreviousTokenHash, hashes[3], hashes[2])
	}

	// The other family, of another tenant, is found by its own tokens only.
	for _, hash := range [][]byte{other.TokenHash, otherRotated.TokenHash} {
		got, err := s.FindSessionByTokenHash(ctx, hash)
		check(t, err)
		equal(t, got, otherRotated)
	}

	// An update that keeps the token, such as a revocation, keeps the
	// history, and a revoked session is still found by all of it.
	revoked, err := s.UpdateSession(ctx, tenant.ID, ss.ID, func(s *rampart.Session) error {
		s.RevokedAt, s.RevokedReason = base.Add(time.Hour), "refresh token reused"
		return nil
	})
	check(t, err)
	for _, hash := range hashes {
		got, err := s.FindSessionByTokenHash(ctx, hash)
		check(t, err)
		equal(t, got, revoked)
	}

	// Deleting the user deletes the whole history with the session.
	member := newUser(tenant.ID, rampart.RoleMember)
	check(t, s.CreateUser(ctx, member))
	ms := newSession(tenant.ID, member.ID, base)
	check(t, s.CreateSession(ctx, ms))
	memberHashes := [][]byte{ms.TokenHash}
	for i := range 2 {
		memberHashes = append(memberHashes, rotate(t, s, ms, base.Add(time.Duration(i+1)*time.Minute)).TokenHash)
	}
	check(t, s.DeleteUser(ctx, tenant.ID, member.ID))
	for i, hash := range memberHashes {
		_, err := s.FindSessionByTokenHash(ctx, hash)
		if rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("FindSessionByTokenHash with token %d of a deleted user's session: got %v, want NotFound", i+1, err)
		}
	}
	got, err := s.FindSessionByTokenHash(ctx, hashes[0])
	check(t, err)
	equal(t, got, revoked)
}

// testSessionTokenHashesNeverReused checks that no session can take, as its
// current token hash, a hash that any session has or had: otherwise a
// stolen old token could be mistaken for another family's live one.
func testSessionTokenHashesNeverReused(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	otherTenant, otherAdmin := newTenant(t, s)

	ss := newSession(tenant.ID, admin.ID, base)
	check(t, s.CreateSession(ctx, ss))
	hashes := [][]byte{ss.TokenHash}
	for i := range 2 {
		hashes = append(hashes, rotate(t, s, ss, base.Add(time.Duration(i+1)*time.Minute)).TokenHash)
	}
	want, err := s.GetSession(ctx, tenant.ID, ss.ID)
	check(t, err)

	// A new session, in the same tenant or another, with any of the hashes.
	for i, hash := range hashes {
		for _, x := range []*rampart.Session{newSession(tenant.ID, admin.ID, base), newSession(otherTenant.ID, otherAdmin.ID, base)} {
			x.TokenHash = hash
			if err := s.CreateSession(ctx, x); rampart.ErrorKind(err) != rampart.KindConflict {
				t.Errorf("CreateSession with token %d of 3 of another session: got %v, want Conflict", i+1, err)
			}
			_, err := s.GetSession(ctx, x.TenantID, x.ID)
			if rampart.ErrorKind(err) != rampart.KindNotFound {
				t.Errorf("CreateSession with a taken hash left a session behind: %v", err)
			}
		}
	}

	// An existing session rotating to any of the hashes.
	other := newSession(otherTenant.ID, otherAdmin.ID, base)
	check(t, s.CreateSession(ctx, other))
	for i, hash := range hashes {
		_, err := s.UpdateSession(ctx, otherTenant.ID, other.ID, func(s *rampart.Session) error {
			s.PreviousTokenHash, s.TokenHash, s.RotatedAt = s.TokenHash, hash, base.Add(time.Hour)
			return nil
		})
		if rampart.ErrorKind(err) != rampart.KindConflict {
			t.Errorf("UpdateSession to token %d of 3 of another session: got %v, want Conflict", i+1, err)
		}
	}
	got, err := s.GetSession(ctx, otherTenant.ID, other.ID)
	check(t, err)
	equal(t, got, other)

	// Nor can a session go back to one of its own earlier tokens.
	for i, hash := range hashes[:2] {
		_, err := s.UpdateSession(ctx, tenant.ID, ss.ID, func(s *rampart.Session) error {
			s.PreviousTokenHash, s.TokenHash, s.RotatedAt = s.TokenHash, hash, base.Add(time.Hour)
			return nil
		})
		if rampart.ErrorKind(err) != rampart.KindConflict {
			t.Errorf("UpdateSession back to its own token %d of 3: got %v, want Conflict", i+1, err)
		}
	}

	// The failed attempts changed nothing: the tokens find the session as
	// it was, and the other session's token still finds it alone.
	for _, hash := range hashes {
		got, err := s.FindSessionByTokenHash(ctx, hash)
		check(t, err)
		equal(t, got, want)
	}
	got, err = s.FindSessionByTokenHash(ctx, other.TokenHash)
	check(t, err)
	equal(t, got, other)
}
