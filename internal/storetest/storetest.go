// Package storetest is the conformance suite for rampart.Store. Every store
// runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) rampart.Store { return newTestStore(t) })
//	}
//
// The suite checks behaviour that callers rely on and that both stores must
// share: what is read back equals what was written, which error kinds come
// back, that no tenant reaches another's data, and that concurrent use loses
// nothing.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// Run runs the suite. newStore must return an empty, migrated store for the
// test it is given and close it when that test ends; it is called once per
// subtest.
func Run(t *testing.T, newStore func(t *testing.T) rampart.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s rampart.Store)
	}{
		{"Tenants", testTenants},
		{"Users", testUsers},
		{"EmailIsUniqueIgnoringCase", testEmailUnique},
		{"LastAdmin", testLastAdmin},
		{"Sessions", testSessions},
		{"SessionTokenHistory", testSessionTokenHistory},
		{"SessionDetails", testSessionDetails},
		{"SessionTokenHashesAreNeverReused", testSessionTokenHashesNeverReused},
		{"SigningKeys", testSigningKeys},
		{"APIKeys", testAPIKeys},
		{"Orders", testOrders},
		{"AuditEvents", testAuditEvents},
		{"AuditChain", testAuditChain},
		{"TenantIsolation", testTenantIsolation},
		{"HostileValues", testHostileValues},
		{"Pagination", testPagination},
		{"PaginationDuringInserts", testPaginationDuringInserts},
		{"ConcurrentOrderUpdates", testConcurrentOrderUpdates},
		{"ConcurrentAuditAppends", testConcurrentAuditAppends},
		{"TimeRoundTrip", testTimeRoundTrip},
		{"UnavailableSaysWhenToRetry", testUnavailableSaysWhenToRetry},
		{"Atomically", testAtomically},
		{"AtomicAuditFailureRollsBack", testAtomicAuditFailureRollsBack},
		{"ConcurrentAtomicAppends", testConcurrentAtomicAppends},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// base is a time with nanoseconds and a zone, to show that stores keep times
// in UTC at microsecond precision.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+2", 2*3600))

func testTenants(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	got, err := s.GetTenant(ctx, tenant.ID)
	check(t, err)
	equal(t, got, tenant)
	other, _ := newTenant(t, s)
	ids, err := s.ListTenantIDs(ctx)
	check(t, err)
	if !slices.Contains(ids, tenant.ID) || !slices.Contains(ids, other.ID) {
		t.Errorf("ListTenantIDs = %v, want both tenants", ids)
	}
	gotAdmin, err := s.GetUser(ctx, tenant.ID, admin.ID)
	check(t, err)
	equal(t, gotAdmin, admin)

	_, err = s.GetTenant(ctx, rampart.NewID())
	wantKind(t, err, rampart.KindNotFound)

	t2 := &rampart.Tenant{ID: rampart.NewID(), Name: "No admin", CreatedAt: base}
	member := newUser(t2.ID, rampart.RoleMember)
	wantKind(t, s.CreateTenant(ctx, t2, member), rampart.KindInvalid)

	dup := newUser(tenant.ID, rampart.RoleAdmin)
	wantKind(t, s.CreateTenant(ctx, &rampart.Tenant{ID: tenant.ID, Name: "Again", CreatedAt: base}, dup), rampart.KindConflict)

	// A sign-up with a taken email leaves no tenant behind.
	t3 := &rampart.Tenant{ID: rampart.NewID(), Name: "Taken email", CreatedAt: base}
	taken := newUser(t3.ID, rampart.RoleAdmin)
	taken.Email = admin.Email
	wantKind(t, s.CreateTenant(ctx, t3, taken), rampart.KindConflict)
	_, err = s.GetTenant(ctx, t3.ID)
	wantKind(t, err, rampart.KindNotFound)
}

func testUsers(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)

	u := newUser(tenant.ID, rampart.RoleMember)
	u.MFA = rampart.MFA{
		Enabled:            true,
		TOTPSecret:         []byte("encrypted secret"),
		LastTOTPStep:       59_000_123,
		RecoveryCodeHashes: []string{"hash-1", "hash-2"},
	}
	check(t, s.CreateUser(ctx, u))
	got, err := s.GetUser(ctx, tenant.ID, u.ID)
	check(t, err)
	equal(t, got, u)

	got, err = s.FindUserByEmail(ctx, strings.ToUpper(u.Email))
	check(t, err)
	equal(t, got, u)
	_, err = s.FindUserByEmail(ctx, "nobody@example.com")
	wantKind(t, err, rampart.KindNotFound)

	wantKind(t, s.CreateUser(ctx, u), rampart.KindConflict)
	noTenant := newUser(rampart.NewID(), rampart.RoleMember)
	wantKind(t, s.CreateUser(ctx, noTenant), rampart.KindNotFound)
	badRole := newUser(tenant.ID, "owner")
	wantKind(t, s.CreateUser(ctx, badRole), rampart.KindInvalid)

	updated, err := s.UpdateUser(ctx, tenant.ID, u.ID, func(u *rampart.User) error {
		u.DisplayName = "Renamed"
		u.Role = rampart.RoleAdmin
		u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$aGFzaA"
		u.MFA = rampart.MFA{}
		u.UpdatedAt = base.Add(time.Hour)
		u.ID, u.TenantID = "changed", "changed" // ignored: ids never change
		return nil
	})
	check(t, err)
	want := *u
	want.DisplayName, want.Role = "Renamed", rampart.RoleAdmin
	want.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$aGFzaA"
	want.MFA = rampart.MFA{}
	want.UpdatedAt = rampart.Timestamp(base.Add(time.Hour))
	equal(t, updated, &want)
	got, err = s.GetUser(ctx, tenant.ID, u.ID)
	check(t, err)
	equal(t, got, &want)

	// An error from fn comes back unchanged and nothing is written.
	errStop := errors.New("stop")
	_, err = s.UpdateUser(ctx, tenant.ID, u.ID, func(u *rampart.User) error {
		u.DisplayName = "Not stored"
		return errStop
	})
	if err != errStop {
		t.Fatalf("UpdateUser with failing fn: got %v, want the error fn returned", err)
	}
	got, err = s.GetUser(ctx, tenant.ID, u.ID)
	check(t, err)
	equal(t, got, &want)

	_, err = s.UpdateUser(ctx, tenant.ID, rampart.NewID(), func(*rampart.User) error { return nil })
	wantKind(t, err, rampart.KindNotFound)

	check(t, s.DeleteUser(ctx, tenant.ID, u.ID))
	_, err = s.GetUser(ctx, tenant.ID, u.ID)
	wantKind(t, err, rampart.KindNotFound)
	wantKind(t, s.DeleteUser(ctx, tenant.ID, u.ID), rampart.KindNotFound)
}

func testEmailUnique(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenantA, adminA := newTenant(t, s)
	tenantB, _ := newTenant(t, s)

	// Unique across tenants and regardless of case, non-ASCII letters too.
	u := newUser(tenantA.ID, rampart.RoleMember)
	u.Email = "Élodie." + rampart.NewID() + "@Example.com"
	check(t, s.CreateUser(ctx, u))
	other := newUser(tenantB.ID, rampart.RoleMember)
	other.Email = strings.ToLower(u.Email)
	wantKind(t, s.CreateUser(ctx, other), rampart.KindConflict)

	got, err := s.FindUserByEmail(ctx, strings.ToUpper(u.Email))
	check(t, err)
	if got.ID != u.ID || got.Email != u.Email {
		t.Errorf("FindUserByEmail: got user %s <%s>, want %s <%s> as entered", got.ID, got.Email, u.ID, u.Email)
	}

	_, err = s.UpdateUser(ctx, tenantA.ID, u.ID, func(u *rampart.User) error {
		u.Email = strings.ToUpper(adminA.Email)
		return nil
	})
	wantKind(t, err, rampart.KindConflict)
}

func testLastAdmin(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	_, err := s.UpdateUser(ctx, tenant.ID, admin.ID, func(u *rampart.User) error {
		u.Role = rampart.RoleMember
		return nil
	})
	wantKind(t, err, rampart.KindConflict)
	wantKind(t, s.DeleteUser(ctx, tenant.ID, admin.ID), rampart.KindConflict)

	// Ten admins demoting themselves at once: exactly one must stay.
	ids := []string{admin.ID}
	for range 9 {
		u := newUser(tenant.ID, rampart.RoleAdmin)
		check(t, s.CreateUser(ctx, u))
		ids = append(ids, u.ID)
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			_, errs[i] = s.UpdateUser(ctx, tenant.ID, id, func(u *rampart.User) error {
				u.Role = rampart.RoleMember
				return nil
			})
		})
	}
	wg.Wait()
	conflicts := 0
	for _, err := range errs {
		switch {
		case rampart.ErrorKind(err) == rampart.KindConflict:
			conflicts++
		case err != nil:
			t.Errorf("demoting one of ten admins: %v", err)
		}
	}
	users, _, err := s.ListUsers(ctx, tenant.ID, rampart.Page{Limit: 20})
	check(t, err)
	admins := 0
	for _, u := range users {
		if u.Role == rampart.RoleAdmin {
			admins++
		}
	}
	if admins != 1 || conflicts != 1 {
		t.Errorf("ten admins demoting themselves at once: %d admins left and %d conflicts, want 1 and 1", admins, conflicts)
	}
}

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

func testSigningKeys(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	older := newSigningKey(base)
	newer := newSigningKey(base.Add(time.Hour))
	for _, k := range []*rampart.SigningKey{older, newer} {
		check(t, s.CreateSigningKey(ctx, k))
	}
	wantKind(t, s.CreateSigningKey(ctx, older), rampart.KindConflict)
	keys, err := s.ListSigningKeys(ctx)
	check(t, err)
	equal(t, keys, []*rampart.SigningKey{newer, older})

	check(t, s.RetireSigningKey(ctx, older.ID, base.Add(2*time.Hour)))
	check(t, s.RetireSigningKey(ctx, older.ID, base.Add(3*time.Hour)))
	older.RetiredAt = rampart.Timestamp(base.Add(2 * time.Hour))
	keys, err = s.ListSigningKeys(ctx)
	check(t, err)
	equal(t, keys, []*rampart.SigningKey{newer, older})

	check(t, s.DeleteSigningKey(ctx, older.ID))
	keys, err = s.ListSigningKeys(ctx)
	check(t, err)
	equal(t, keys, []*rampart.SigningKey{newer})
	wantKind(t, s.DeleteSigningKey(ctx, older.ID), rampart.KindNotFound)
	wantKind(t, s.RetireSigningKey(ctx, older.ID, base), rampart.KindNotFound)
}

func testAPIKeys(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	k := newAPIKey(tenant.ID, admin.ID, base)
	k.ExpiresAt = base.Add(30 * 24 * time.Hour)
	check(t, s.CreateAPIKey(ctx, k))
	got, err := s.GetAPIKey(ctx, tenant.ID, k.ID)
	check(t, err)
	equal(t, got, k)
	got, err = s.FindAPIKeyByHash(ctx, k.Hash)
	check(t, err)
	equal(t, got, k)
	_, err = s.FindAPIKeyByHash(ctx, []byte("unknown"))
	wantKind(t, err, rampart.KindNotFound)

	sameHash := newAPIKey(tenant.ID, admin.ID, base)
	sameHash.Hash = k.Hash
	wantKind(t, s.CreateAPIKey(ctx, sameHash), rampart.KindConflict)
	wantKind(t, s.CreateAPIKey(ctx, newAPIKey(rampart.NewID(), admin.ID, base)), rampart.KindNotFound)

	check(t, s.TouchAPIKey(ctx, tenant.ID, k.ID, base.Add(time.Minute)))
	check(t, s.RevokeAPIKey(ctx, tenant.ID, k.ID, base.Add(2*time.Minute)))
	check(t, s.RevokeAPIKey(ctx, tenant.ID, k.ID, base.Add(3*time.Minute)))
	k.LastUsedAt = rampart.Timestamp(base.Add(time.Minute))
	k.RevokedAt = rampart.Timestamp(base.Add(2 * time.Minute))
	got, err = s.FindAPIKeyByHash(ctx, k.Hash)
	check(t, err)
	equal(t, got, k)

	newer := newAPIKey(tenant.ID, admin.ID, base.Add(time.Hour))
	check(t, s.CreateAPIKey(ctx, newer))
	keys, _, err := s.ListAPIKeys(ctx, tenant.ID, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, keys, []*rampart.APIKey{newer, k})

	wantKind(t, s.TouchAPIKey(ctx, tenant.ID, rampart.NewID(), base), rampart.KindNotFound)
	wantKind(t, s.RevokeAPIKey(ctx, tenant.ID, rampart.NewID(), base), rampart.KindNotFound)
}

func testOrders(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	o := newOrder(tenant.ID, admin.ID, base)
	o.Note = "Leave at the door"
	check(t, s.CreateOrder(ctx, o))
	got, err := s.GetOrder(ctx, tenant.ID, o.ID)
	check(t, err)
	equal(t, got, o)
	wantKind(t, s.CreateOrder(ctx, o), rampart.KindConflict)
	wantKind(t, s.CreateOrder(ctx, newOrder(rampart.NewID(), admin.ID, base)), rampart.KindNotFound)
	bad := newOrder(tenant.ID, admin.ID, base)
	bad.Status = "shipped"
	wantKind(t, s.CreateOrder(ctx, bad), rampart.KindInvalid)

	updated, err := s.UpdateOrder(ctx, tenant.ID, o.ID, func(o *rampart.Order) error {
		o.Note, o.Status, o.UpdatedAt = "", rampart.OrderCancelled, base.Add(time.Hour)
		o.OwnerID = "someone else" // ignored: an order keeps its owner
		return nil
	})
	check(t, err)
	want := *o
	want.Note, want.Status, want.UpdatedAt = "", rampart.OrderCancelled, rampart.Timestamp(base.Add(time.Hour))
	equal(t, updated, &want)
	got, err = s.GetOrder(ctx, tenant.ID, o.ID)
	check(t, err)
	equal(t, got, &want)

	_, err = s.UpdateOrder(ctx, tenant.ID, o.ID, func(o *rampart.Order) error {
		o.Status = "lost"
		return nil
	})
	wantKind(t, err, rampart.KindInvalid)

	// Filter by owner.
	member := newUser(tenant.ID, rampart.RoleMember)
	check(t, s.CreateUser(ctx, member))
	mine := newOrder(tenant.ID, member.ID, base.Add(time.Minute))
	check(t, s.CreateOrder(ctx, mine))
	orders, _, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{OwnerID: member.ID}, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, orders, []*rampart.Order{mine})
	orders, _, err = s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, orders, []*rampart.Order{mine, &want})

	check(t, s.DeleteOrder(ctx, tenant.ID, o.ID))
	_, err = s.GetOrder(ctx, tenant.ID, o.ID)
	wantKind(t, err, rampart.KindNotFound)
	wantKind(t, s.DeleteOrder(ctx, tenant.ID, o.ID), rampart.KindNotFound)
}

func testAuditEvents(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	first := newAuditEvent(tenant.ID, "user.login", base)
	first.ActorID, first.Details = admin.ID, nil
	check(t, s.AppendAuditEvent(ctx, first))
	if first.Seq != 1 || first.PrevHash != nil || len(first.Hash) == 0 || string(first.Details) != "{}" {
		t.Errorf("first event: seq %d, prev hash %x, hash %x, details %s; want 1, none, set, {}", first.Seq, first.PrevHash, first.Hash, first.Details)
	}
	second := newAuditEvent(tenant.ID, "user.password_changed", base.Add(time.Second))
	check(t, s.AppendAuditEvent(ctx, second))
	if second.Seq != 2 || !reflect.DeepEqual(second.PrevHash, first.Hash) {
		t.Errorf("second event: seq %d, prev hash %x; want 2, %x", second.Seq, second.PrevHash, first.Hash)
	}

	events, _, err := s.ListAuditEvents(ctx, tenant.ID, rampart.AuditFilter{}, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, events, []*rampart.AuditEvent{second, first})
	events, _, err = s.ListAuditEvents(ctx, tenant.ID, rampart.AuditFilter{Type: "user.login"}, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, events, []*rampart.AuditEvent{first})

	notObject := newAuditEvent(tenant.ID, "x", base)
	notObject.Details = json.RawMessage(`["a"]`)
	wantKind(t, s.AppendAuditEvent(ctx, notObject), rampart.KindInvalid)
	wantKind(t, s.AppendAuditEvent(ctx, newAuditEvent(rampart.NewID(), "x", base)), rampart.KindNotFound)
}

// testAuditChain lists a chain in Seq order, batch by batch, and checks
// that an untouched chain verifies.
func testAuditChain(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)
	other, _ := newTenant(t, s)

	report, err := rampart.VerifyAuditChain(ctx, s, tenant.ID)
	check(t, err)
	equal(t, report, rampart.AuditChainReport{})

	var appended []*rampart.AuditEvent
	for i := range 5 {
		// Times out of Seq order, as concurrent requests produce them: the
		// chain follows Seq, not time.
		e := newAuditEvent(tenant.ID, "order.deleted", base.Add(time.Duration(5-i)*time.Second))
		check(t, s.AppendAuditEvent(ctx, e))
		appended = append(appended, e)
	}
	check(t, s.AppendAuditEvent(ctx, newAuditEvent(other.ID, "user.login", base)))

	first, err := s.ListAuditChain(ctx, tenant.ID, 0, 2)
	check(t, err)
	equal(t, first, appended[:2])
	rest, err := s.ListAuditChain(ctx, tenant.ID, 2, rampart.MaxAuditBatch)
	check(t, err)
	equal(t, rest, appended[2:])
	none, err := s.ListAuditChain(ctx, tenant.ID, 5, 10)
	check(t, err)
	if len(none) != 0 {
		t.Errorf("after the head: %d events, want none", len(none))
	}
	wantKind(t, func() error { _, err := s.ListAuditChain(ctx, tenant.ID, 0, 0); return err }(), rampart.KindInvalid)
	wantKind(t, func() error { _, err := s.ListAuditChain(ctx, tenant.ID, 0, rampart.MaxAuditBatch+1); return err }(), rampart.KindInvalid)

	report, err = rampart.VerifyAuditChain(ctx, s, tenant.ID)
	check(t, err)
	equal(t, report, rampart.AuditChainReport{Verified: 5, HeadSeq: 5, HeadHash: appended[4].Hash})
	report, err = rampart.VerifyAuditChain(ctx, s, other.ID)
	check(t, err)
	if !report.Intact() || report.Verified != 1 {
		t.Errorf("the other tenant's chain: %+v", report)
	}
}

// Tamperer changes a store's audit rows behind its back, as someone with
// write access to the database could. The SQL is the suite's; a store's
// tests only run it on the store's database.
type Tamperer interface {
	// Exec runs q, a statement with '?' placeholders for args (no '?'
	// appears anywhere else in it), and returns the number of rows it
	// changed. It fails t on an error.
	Exec(t *testing.T, q string, args ...any) int64
}

// tamper runs q with tm and fails t unless it changed exactly one row.
func tamper(t *testing.T, tm Tamperer, q string, args ...any) {
	t.Helper()
	if n := tm.Exec(t, q, args...); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", q, n)
	}
}

// tamperTenants are the tenants a tampering case works with: the victim,
// whose chain is checked, and an intruder, with one event of its own.
type tamperTenants struct{ victim, intruder string }

// RunAuditTamper checks that VerifyAuditChain names the event that was
// altered behind the store's back, and fails on a deleted one or one moved
// to another tenant. newStore returns an empty, migrated store and a
// Tamperer on the same database.
func RunAuditTamper(t *testing.T, newStore func(t *testing.T) (rampart.Store, Tamperer)) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, tm Tamperer, ids tamperTenants)
		broken int64
	}{
		{"details", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET details = ? WHERE tenant_id = ? AND seq = ?", `{"reason": "nothing to see", "n": 1}`, ids.victim, 3)
		}, 3},
		{"type", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET type = ? WHERE tenant_id = ? AND seq = ?", "user.login", ids.victim, 2)
		}, 2},
		{"details of the head", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET details = ? WHERE tenant_id = ? AND seq = ?", `{}`, ids.victim, 5)
		}, 5},
		{"actor", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET actor_id = ? WHERE tenant_id = ? AND seq = ?", rampart.NewID(), ids.victim, 4)
		}, 4},
		{"target", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET target = ? WHERE tenant_id = ? AND seq = ?", "user:2", ids.victim, 1)
		}, 1},
		{"deleted", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?", ids.victim, 3)
		}, 3},
		{"deleted first", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?", ids.victim, 1)
		}, 1},
		{"moved to another tenant", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			// Seq 3 is free in the intruder's chain, which has one event.
			tamper(t, tm, "UPDATE audit_events SET tenant_id = ? WHERE tenant_id = ? AND seq = ?", ids.intruder, ids.victim, 3)
		}, 3},
		{"moved in from another tenant", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			// The intruder's event, appended to the victim's chain.
			tamper(t, tm, "UPDATE audit_events SET tenant_id = ?, seq = ? WHERE tenant_id = ? AND seq = ?", ids.victim, 6, ids.intruder, 1)
		}, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s, tm := newStore(t)
			tenant, _ := newTenant(t, s)
			bystander, _ := newTenant(t, s)
			intruder, _ := newTenant(t, s)
			for i := range 5 {
				check(t, s.AppendAuditEvent(ctx, newAuditEvent(tenant.ID, "user.password_changed", base.Add(time.Duration(i)*time.Second))))
				check(t, s.AppendAuditEvent(ctx, newAuditEvent(bystander.ID, "user.password_changed", base.Add(time.Duration(i)*time.Second))))
			}
			check(t, s.AppendAuditEvent(ctx, newAuditEvent(intruder.ID, "user.password_changed", base)))
			report, err := rampart.VerifyAuditChain(ctx, s, tenant.ID)
			check(t, err)
			if !report.Intact() || report.Verified != 5 {
				t.Fatalf("before tampering: %+v", report)
			}

			tc.tamper(t, tm, tamperTenants{victim: tenant.ID, intruder: intruder.ID})
			report, err = rampart.VerifyAuditChain(ctx, s, tenant.ID)
			check(t, err)
			if report.BrokenAt != tc.broken || report.Verified != tc.broken-1 || report.Problem == "" {
				t.Errorf("after tampering with event %d: %+v", tc.broken, report)
			}
			report, err = rampart.VerifyAuditChain(ctx, s, bystander.ID)
			check(t, err)
			if !report.Intact() || report.Verified != 5 {
				t.Errorf("another tenant's chain: %+v", report)
			}
		})
	}
}

// testTenantIsolation has a second tenant try every read and write on the
// first tenant's records: each must be NotFound and change nothing.
func testTenantIsolation(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	other, otherAdmin := newTenant(t, s)

	ss := newSession(tenant.ID, admin.ID, base)
	key := newAPIKey(tenant.ID, admin.ID, base)
	order := newOrder(tenant.ID, admin.ID, base)
	event := newAuditEvent(tenant.ID, "user.login", base)
	check(t, s.CreateSession(ctx, ss))
	check(t, s.CreateAPIKey(ctx, key))
	check(t, s.CreateOrder(ctx, order))
	check(t, s.AppendAuditEvent(ctx, event))

	called := func() error {
		t.Error("update function called with another tenant's record")
		return nil
	}
	notFound := map[string]error{}
	_, notFound["GetUser"] = s.GetUser(ctx, other.ID, admin.ID)
	_, notFound["UpdateUser"] = s.UpdateUser(ctx, other.ID, admin.ID, func(*rampart.User) error { return called() })
	notFound["DeleteUser"] = s.DeleteUser(ctx, other.ID, admin.ID)
	_, notFound["GetSession"] = s.GetSession(ctx, other.ID, ss.ID)
	_, notFound["UpdateSession"] = s.UpdateSession(ctx, other.ID, ss.ID, func(*rampart.Session) error { return called() })
	notFound["CreateSession for a user of another tenant"] = s.CreateSession(ctx, newSession(other.ID, admin.ID, base))
	_, notFound["GetAPIKey"] = s.GetAPIKey(ctx, other.ID, key.ID)
	notFound["RevokeAPIKey"] = s.RevokeAPIKey(ctx, other.ID, key.ID, base)
	notFound["TouchAPIKey"] = s.TouchAPIKey(ctx, other.ID, key.ID, base)
	_, notFound["GetOrder"] = s.GetOrder(ctx, other.ID, order.ID)
	_, notFound["UpdateOrder"] = s.UpdateOrder(ctx, other.ID, order.ID, func(*rampart.Order) error { return called() })
	notFound["DeleteOrder"] = s.DeleteOrder(ctx, other.ID, order.ID)
	for name, err := range notFound {
		if rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("%s across tenants: got %v, want NotFound", name, err)
		}
	}

	// RevokeUserSessions names a user of another tenant: nothing happens.
	check(t, s.RevokeUserSessions(ctx, other.ID, admin.ID, "", base, "attack"))

	// Nothing changed, and the other tenant's listings are empty.
	gotUser, err := s.GetUser(ctx, tenant.ID, admin.ID)
	check(t, err)
	equal(t, gotUser, admin)
	gotSession, err := s.GetSession(ctx, tenant.ID, ss.ID)
	check(t, err)
	equal(t, gotSession, ss)
	gotKey, err := s.GetAPIKey(ctx, tenant.ID, key.ID)
	check(t, err)
	equal(t, gotKey, key)
	gotOrder, err := s.GetOrder(ctx, tenant.ID, order.ID)
	check(t, err)
	equal(t, gotOrder, order)

	page := rampart.Page{Limit: 10}
	users, _, err := s.ListUsers(ctx, other.ID, page)
	check(t, err)
	equal(t, users, []*rampart.User{otherAdmin})
	sessions, _, err := s.ListActiveSessions(ctx, other.ID, admin.ID, base, page)
	check(t, err)
	keys, _, err := s.ListAPIKeys(ctx, other.ID, page)
	check(t, err)
	orders, _, err := s.ListOrders(ctx, other.ID, rampart.OrderFilter{}, page)
	check(t, err)
	events, _, err := s.ListAuditEvents(ctx, other.ID, rampart.AuditFilter{}, page)
	check(t, err)
	if n := len(sessions) + len(keys) + len(orders) + len(events); n != 0 {
		t.Errorf("other tenant lists %d sessions, %d keys, %d orders, %d events; want none", len(sessions), len(keys), len(orders), len(events))
	}

	// The filtered listings are queries of their own, each with its own
	// tenant condition: a filter that matches the first tenant's records
	// must still find none of them for the other tenant. The first tenant
	// finds them with the same filters.
	ownerFilter := rampart.OrderFilter{OwnerID: admin.ID}
	typeFilter := rampart.AuditFilter{Type: event.Type}
	orders, _, err = s.ListOrders(ctx, other.ID, ownerFilter, page)
	check(t, err)
	if len(orders) != 0 {
		t.Errorf("other tenant lists %d orders filtered by the first tenant's owner, want none", len(orders))
	}
	events, _, err = s.ListAuditEvents(ctx, other.ID, typeFilter, page)
	check(t, err)
	if len(events) != 0 {
		t.Errorf("other tenant lists %d events filtered by type %q, want none", len(events), event.Type)
	}
	orders, _, err = s.ListOrders(ctx, tenant.ID, ownerFilter, page)
	check(t, err)
	equal(t, orders, []*rampart.Order{order})
	events, _, err = s.ListAuditEvents(ctx, tenant.ID, typeFilter, page)
	check(t, err)
	equal(t, events, []*rampart.AuditEvent{event})

	// The other tenant's audit chain starts at 1.
	own := newAuditEvent(other.ID, "user.login", base)
	check(t, s.AppendAuditEvent(ctx, own))
	if own.Seq != 1 || own.PrevHash != nil {
		t.Errorf("other tenant's first event: seq %d, prev hash %x; want 1 and none", own.Seq, own.PrevHash)
	}
}

// testHostileValues passes values that would change a query built by
// pasting them into its text: they must match nothing, or be stored and read
// back byte for byte.
func testHostileValues(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	order := newOrder(tenant.ID, admin.ID, base)
	check(t, s.CreateOrder(ctx, order))
	check(t, s.AppendAuditEvent(ctx, newAuditEvent(tenant.ID, "user.login", base)))
	page := rampart.Page{Limit: 10}

	for _, email := range []string{"' OR '1'='1", "' OR 1=1 --", `" OR ""="`, "%", "_"} {
		_, err := s.FindUserByEmail(ctx, email)
		if rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("FindUserByEmail(%q): got %v, want NotFound", email, err)
		}
	}
	for _, id := range []string{"x' OR '1'='1", "x' OR 1=1 --", `x" OR ""="`} {
		_, err := s.GetOrder(ctx, tenant.ID, id)
		if rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("GetOrder(%q): got %v, want NotFound", id, err)
		}
		orders, _, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{OwnerID: id}, page)
		check(t, err)
		if len(orders) != 0 {
			t.Errorf("ListOrders with owner %q: %d orders, want none", id, len(orders))
		}
	}
	for _, typ := range []string{"' OR 1=1 --", "' OR '1'='1", "%"} {
		events, _, err := s.ListAuditEvents(ctx, tenant.ID, rampart.AuditFilter{Type: typ}, page)
		check(t, err)
		if len(events) != 0 {
			t.Errorf("ListAuditEvents with type %q: %d events, want none", typ, len(events))
		}
	}

	// Quotes, backslashes and comment markers are kept as they are.
	u := newUser(tenant.ID, rampart.RoleMember)
	u.Email = `o'brien"\x\'--` + rampart.NewID() + "@example.com"
	u.DisplayName = `Robert'); DROP TABLE users; -- "\" \' \\n`
	check(t, s.CreateUser(ctx, u))
	got, err := s.GetUser(ctx, tenant.ID, u.ID)
	check(t, err)
	equal(t, got, u)
	got, err = s.FindUserByEmail(ctx, u.Email)
	check(t, err)
	equal(t, got, u)
	users, _, err := s.ListUsers(ctx, tenant.ID, page)
	check(t, err)
	if len(users) != 2 {
		t.Errorf("after storing hostile values: %d users, want 2", len(users))
	}
	o := newOrder(tenant.ID, admin.ID, base.Add(time.Second))
	o.Note = `it's "quoted" \ and \'escaped\'; --`
	check(t, s.CreateOrder(ctx, o))
	gotOrder, err := s.GetOrder(ctx, tenant.ID, o.ID)
	check(t, err)
	equal(t, gotOrder, o)
}

func testPagination(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	// Ten orders in five pairs that share a creation time: ties are broken
	// by id.
	var want []*rampart.Order
	for i := range 10 {
		o := newOrder(tenant.ID, admin.ID, base.Add(time.Duration(i/2)*time.Second))
		check(t, s.CreateOrder(ctx, o))
		want = append(want, o)
	}
	slices.SortFunc(want, func(a, b *rampart.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	var got []*rampart.Order
	var pages int
	for page := (rampart.Page{Limit: 3}); ; pages++ {
		orders, next, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, page)
		check(t, err)
		got = append(got, orders...)
		if next.IsZero() {
			break
		}
		page.After = next
	}
	equal(t, got, want)
	if pages != 3 {
		t.Errorf("10 orders in pages of 3: %d pages after the first, want 3", pages)
	}

	// Exactly a page left: the page before it says there is more, and the
	// last one has no next cursor.
	orders, next, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, rampart.Page{Limit: 10})
	check(t, err)
	if len(orders) != 10 || !next.IsZero() {
		t.Errorf("10 orders in a page of 10: got %d and next %v, want 10 and no next", len(orders), next)
	}

	for _, limit := range []int{0, -1, rampart.MaxPageLimit + 1} {
		_, _, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, rampart.Page{Limit: limit})
		wantKind(t, err, rampart.KindInvalid)
	}
}

// testPaginationDuringInserts pages through a tenant's orders while other
// requests create orders between the pages, both newer ones and older ones
// that committed late: every order that existed when paging began must be
// listed exactly once.
func testPaginationDuringInserts(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	existing := map[string]bool{}
	for i := range 30 {
		o := newOrder(tenant.ID, admin.ID, base.Add(time.Duration(i)*time.Millisecond))
		check(t, s.CreateOrder(ctx, o))
		existing[o.ID] = true
	}

	seen := map[string]int{}
	page := rampart.Page{Limit: 4}
	for i := 1; ; i++ {
		orders, next, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, page)
		check(t, err)
		for _, o := range orders {
			seen[o.ID]++
		}
		if next.IsZero() {
			break
		}
		page.After = next
		var wg sync.WaitGroup
		for _, at := range []time.Time{base.Add(time.Hour), base.Add(-time.Duration(i) * time.Millisecond), next.CreatedAt} {
			wg.Go(func() {
				if err := s.CreateOrder(ctx, newOrder(tenant.ID, admin.ID, at)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}

	for id, n := range seen {
		if n > 1 {
			t.Errorf("order %s listed %d times", id, n)
		}
	}
	for id := range existing {
		if seen[id] != 1 {
			t.Errorf("order %s, created before paging began, listed %d times", id, seen[id])
		}
	}
}

func testConcurrentOrderUpdates(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	o := newOrder(tenant.ID, admin.ID, base)
	check(t, s.CreateOrder(ctx, o))

	const writers = 20
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, err := s.UpdateOrder(ctx, tenant.ID, o.ID, func(o *rampart.Order) error {
				o.Note += fmt.Sprintf("[%d]", i)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	got, err := s.GetOrder(ctx, tenant.ID, o.ID)
	check(t, err)
	for i := range writers {
		if n := strings.Count(got.Note, fmt.Sprintf("[%d]", i)); n != 1 {
			t.Errorf("update %d appears %d times in the note %q, want once", i, n, got.Note)
		}
	}
}

func testConcurrentAuditAppends(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)

	const writers = 20
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			e := newAuditEvent(tenant.ID, "order.updated", base.Add(time.Duration(i)*time.Millisecond))
			if err := s.AppendAuditEvent(ctx, e); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	events, _, err := s.ListAuditEvents(ctx, tenant.ID, rampart.AuditFilter{}, rampart.Page{Limit: writers})
	check(t, err)
	slices.SortFunc(events, func(a, b *rampart.AuditEvent) int { return int(a.Seq - b.Seq) })
	if len(events) != writers {
		t.Fatalf("got %d events, want %d", len(events), writers)
	}
	var prev []byte
	for i, e := range events {
		if e.Seq != int64(i+1) || !reflect.DeepEqual(e.PrevHash, prev) {
			t.Errorf("event %d of the chain: seq %d, prev hash %x; want seq %d, prev hash %x", i, e.Seq, e.PrevHash, i+1, prev)
		}
		prev = e.Hash
	}
}

func testTimeRoundTrip(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	for _, at := range []time.Time{
		base,
		time.Date(1970, 1, 1, 0, 0, 0, 999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(9000, 1, 1, 0, 0, 0, 1_000, time.FixedZone("UTC-11", -11*3600)),
		time.Now(), // with a monotonic reading
	} {
		o := newOrder(tenant.ID, admin.ID, at)
		check(t, s.CreateOrder(ctx, o))
		want := at.UTC().Truncate(time.Microsecond)
		if o.CreatedAt != want {
			t.Errorf("CreateOrder left CreatedAt %v for %v, want %v", o.CreatedAt, at, want)
		}
		got, err := s.GetOrder(ctx, tenant.ID, o.ID)
		check(t, err)
		if got.CreatedAt != want || got.UpdatedAt != want {
			t.Errorf("order created at %v read back as %v, want %v", at, got.CreatedAt, want)
		}
	}
}

// Fixtures. Every record gets fresh ids, emails and hashes, so that the
// subtests never collide.

func newTenant(t *testing.T, s rampart.Store) (*rampart.Tenant, *rampart.User) {
	t.Helper()
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme", CreatedAt: base}
	admin := newUser(tenant.ID, rampart.RoleAdmin)
	check(t, s.CreateTenant(t.Context(), tenant, admin))
	return tenant, admin
}

func newUser(tenantID string, role rampart.Role) *rampart.User {
	id := rampart.NewID()
	return &rampart.User{
		ID:           id,
		TenantID:     tenantID,
		Email:        "User." + id + "@Example.com",
		DisplayName:  "Ada",
		Role:         role,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt:    base,
		UpdatedAt:    base,
	}
}

func newSession(tenantID, userID string, created time.Time) *rampart.Session {
	return &rampart.Session{
		ID:            rampart.NewID(),
		TenantID:      tenantID,
		UserID:        userID,
		TokenHash:     []byte(rampart.NewID()),
		CreatedAt:     created,
		LastUsedAt:    created,
		IdleExpiresAt: created.Add(24 * time.Hour),
		ExpiresAt:     created.Add(30 * 24 * time.Hour),
	}
}

// rotate rotates ss to a fresh token at the given time, as a refresh does,
// and returns the session as stored.
func rotate(t *testing.T, s rampart.Store, ss *rampart.Session, at time.Time) *rampart.Session {
	t.Helper()
	next := []byte(rampart.NewID())
	got, err := s.UpdateSession(t.Context(), ss.TenantID, ss.ID, func(s *rampart.Session) error {
		s.PreviousTokenHash, s.TokenHash, s.RotatedAt = s.TokenHash, next, at
		s.LastUsedAt = at
		return nil
	})
	check(t, err)
	return got
}

func newSigningKey(created time.Time) *rampart.SigningKey {
	return &rampart.SigningKey{
		ID:          rampart.NewID(),
		Algorithm:   "EdDSA",
		PublicKey:   []byte("public"),
		PrivateKey:  []byte("encrypted private"),
		CreatedAt:   created,
		ActivatedAt: created,
	}
}

func newAPIKey(tenantID, createdBy string, created time.Time) *rampart.APIKey {
	return &rampart.APIKey{
		ID:        rampart.NewID(),
		TenantID:  tenantID,
		Name:      "CI",
		Prefix:    "rk_live_ab",
		Hash:      []byte(rampart.NewID()),
		Scopes:    []string{"orders:read", "orders:write"},
		CreatedBy: createdBy,
		CreatedAt: created,
	}
}

func newOrder(tenantID, ownerID string, created time.Time) *rampart.Order {
	return &rampart.Order{
		ID:        rampart.NewID(),
		TenantID:  tenantID,
		OwnerID:   ownerID,
		Items:     []rampart.OrderItem{{SKU: "WIDGET-1", Quantity: 2}, {SKU: "GADGET-9", Quantity: 1}},
		Status:    rampart.OrderPending,
		CreatedAt: created,
		UpdatedAt: created,
	}
}

func newAuditEvent(tenantID, typ string, at time.Time) *rampart.AuditEvent {
	return &rampart.AuditEvent{
		ID:        rampart.NewID(),
		TenantID:  tenantID,
		Time:      at,
		Type:      typ,
		SourceIP:  "192.0.2.1",
		RequestID: "req-1",
		Target:    "user:1",
		Details:   json.RawMessage(`{"reason": "test", "n": 1}`),
	}
}

// Assertions.

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, kind rampart.Kind) {
	t.Helper()
	if got := rampart.ErrorKind(err); err == nil || got != kind {
		t.Fatalf("got error %v (kind %v), want kind %v", err, got, kind)
	}
}

func equal[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// SessionMigration is what a store supplies to RunSessionMigration: the
// store at schema version 1, a way to write a session row as a build before
// migration 2 did (the current and the previous token hash, nothing else),
// and the migration to the latest schema.
type SessionMigration struct {
	Store    rampart.Store
	InsertV1 func(*rampart.Session) error
	Migrate  func() error
}

// RunSessionMigration migrates a database with sessions from schema 1, which
// kept only the current and the previous token hash: both must still find
// their session, and so must the tokens of a session that an older build
// writes after the migration.
func RunSessionMigration(t *testing.T, m SessionMigration) {
	ctx := t.Context()
	s := m.Store
	now := rampart.Timestamp(time.Now())
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme", CreatedAt: now}
	admin := newUser(tenant.ID, rampart.RoleAdmin)
	check(t, s.CreateTenant(ctx, tenant, admin))
	insertOld := func(token, previous []byte) *rampart.Session {
		t.Helper()
		ss := &rampart.Session{ID: rampart.NewID(), TenantID: tenant.ID, UserID: admin.ID, TokenHash: token, PreviousTokenHash: previous,
			CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
		if previous != nil {
			ss.RotatedAt = now
		}
		check(t, m.InsertV1(ss))
		return ss
	}
	migrated := insertOld([]byte("a2"), []byte("a1"))
	fresh := insertOld([]byte("b1"), nil)

	check(t, m.Migrate())
	legacy := insertOld([]byte("c1"), nil) // by an older build still running
	for _, ss := range []*rampart.Session{migrated, fresh, legacy} {
		for _, next := range []string{"3", "4"} {
			_, err := s.UpdateSession(ctx, tenant.ID, ss.ID, func(ss *rampart.Session) error {
				ss.PreviousTokenHash, ss.TokenHash, ss.RotatedAt = ss.TokenHash, append(ss.TokenHash[:1:1], next...), now
				return nil
			})
			check(t, err)
		}
	}
	for _, want := range []struct {
		id     string
		hashes []string
	}{
		{migrated.ID, []string{"a1", "a2", "a3", "a4"}},
		{fresh.ID, []string{"b1", "b3", "b4"}},
		{legacy.ID, []string{"c1", "c3", "c4"}},
	} {
		for _, hash := range want.hashes {
			got, err := s.FindSessionByTokenHash(ctx, []byte(hash))
			if err != nil {
				t.Errorf("token %s: %v", hash, err)
			} else if got.ID != want.id {
				t.Errorf("token %s found session %s, want %s", hash, got.ID, want.id)
			}
		}
	}
	// A session from before auth_time existed has none, so it must prove
	// the password again before a step-up change.
	got, err := s.GetSession(ctx, tenant.ID, migrated.ID)
	check(t, err)
	if !got.AuthTime.IsZero() || got.ClientAddress != "" || got.UserAgent != "" {
		t.Errorf("a migrated session has auth time %v, address %q, agent %q; want none", got.AuthTime, got.ClientAddress, got.UserAgent)
	}
}

// RunSessionDetailsDown checks that migration 3's Down keeps sessions (only
// their auth time, client address and user agent go) and that Up after it
// works again: down migrates to schema 2, up to the latest.
func RunSessionDetailsDown(t *testing.T, s rampart.Store, down, up func() error) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	ss := newSession(tenant.ID, admin.ID, base)
	ss.AuthTime, ss.ClientAddress, ss.UserAgent = base, "198.51.100.0/24", "Firefox"
	check(t, s.CreateSession(ctx, ss))
	check(t, down())
	check(t, up())
	got, err := s.GetSession(ctx, tenant.ID, ss.ID)
	check(t, err)
	ss.AuthTime, ss.ClientAddress, ss.UserAgent = time.Time{}, "", ""
	equal(t, got, ss)
	again := newSession(tenant.ID, admin.ID, base)
	again.AuthTime, again.UserAgent = base, "curl"
	check(t, s.CreateSession(ctx, again))
	got, err = s.GetSession(ctx, tenant.ID, again.ID)
	check(t, err)
	equal(t, got, again)
}
