package storetest

// Accounts and memberships: one account in several tenants.

import (
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// member adds u's account to tenant as a member and returns it as seen there.
func member(t *testing.T, s rampart.Store, tenant *rampart.Tenant, u *rampart.User, role rampart.Role, at time.Time) *rampart.User {
	t.Helper()
	m := &rampart.Membership{TenantID: tenant.ID, AccountID: u.ID, Role: role, DisplayName: "Ada in " + tenant.Name, CreatedAt: at, UpdatedAt: at}
	check(t, s.AddMembership(t.Context(), m))
	got, err := s.GetUser(t.Context(), tenant.ID, u.ID)
	check(t, err)
	return got
}

func testAccounts(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenantA, _ := newTenant(t, s)
	tenantB, _ := newTenant(t, s)
	tenantB.Name = "Globex"
	u := newUser(tenantA.ID, rampart.RoleMember)
	check(t, s.CreateUser(ctx, u))

	acct, err := s.GetAccount(ctx, u.ID)
	check(t, err)
	equal(t, acct, accountOf(u))
	_, err = s.GetAccount(ctx, rampart.NewID())
	wantKind(t, err, rampart.KindNotFound)

	// A second membership: the same account, its own role and name.
	inB := member(t, s, tenantB, u, rampart.RoleAdmin, base.Add(time.Hour))
	if inB.ID != u.ID || inB.Email != u.Email || inB.Role != rampart.RoleAdmin || inB.DisplayName != "Ada in "+tenantB.Name || inB.PasswordHash != u.PasswordHash {
		t.Fatalf("the account as a member of B: %s", dump(inB))
	}
	wantKind(t, s.AddMembership(ctx, &rampart.Membership{TenantID: tenantB.ID, AccountID: u.ID, Role: rampart.RoleMember, DisplayName: "x", CreatedAt: base, UpdatedAt: base}), rampart.KindConflict)
	wantKind(t, s.AddMembership(ctx, &rampart.Membership{TenantID: rampart.NewID(), AccountID: u.ID, Role: rampart.RoleMember, DisplayName: "x", CreatedAt: base, UpdatedAt: base}), rampart.KindNotFound)
	wantKind(t, s.AddMembership(ctx, &rampart.Membership{TenantID: tenantB.ID, AccountID: rampart.NewID(), Role: rampart.RoleMember, DisplayName: "x", CreatedAt: base, UpdatedAt: base}), rampart.KindNotFound)
	wantKind(t, s.AddMembership(ctx, &rampart.Membership{TenantID: tenantB.ID, AccountID: u.ID, Role: "owner", DisplayName: "x", CreatedAt: base, UpdatedAt: base}), rampart.KindInvalid)

	ms, err := s.ListMemberships(ctx, u.ID)
	check(t, err)
	if len(ms) != 2 || ms[0].TenantID != tenantA.ID || ms[0].TenantName != tenantA.Name || ms[0].Role != rampart.RoleMember ||
		ms[1].TenantID != tenantB.ID || ms[1].TenantName != "Acme" || ms[1].Role != rampart.RoleAdmin || ms[1].AccountID != u.ID {
		t.Fatalf("ListMemberships, oldest first: %s", dump(ms))
	}
	none, err := s.ListMemberships(ctx, rampart.NewID())
	check(t, err)
	if len(none) != 0 {
		t.Errorf("memberships of no account: %s", dump(none))
	}

	// Account-wide fields through UpdateUser in A are the same in B; the
	// display name stays A's.
	_, err = s.UpdateUser(ctx, tenantA.ID, u.ID, func(u *rampart.User) error {
		u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$aGFzaA"
		u.MFA = rampart.MFA{Enabled: true, TOTPSecret: []byte("s"), LastTOTPStep: 7, RecoveryCodeHashes: []string{"h"}}
		u.DisplayName = "Only in A"
		u.UpdatedAt = base.Add(2 * time.Hour)
		return nil
	})
	check(t, err)
	inB, err = s.GetUser(ctx, tenantB.ID, u.ID)
	check(t, err)
	if inB.PasswordHash != "$argon2id$v=19$m=19456,t=2,p=1$bmV3$aGFzaA" || !inB.MFA.Enabled || inB.MFA.LastTOTPStep != 7 || inB.DisplayName == "Only in A" {
		t.Fatalf("after a password and MFA change in A, B sees: %s", dump(inB))
	}

	// UpdateAccount: account fields, never the id or creation time.
	updated, err := s.UpdateAccount(ctx, u.ID, func(a *rampart.Account) error {
		a.EmailVerified = true
		a.LastTenantID = tenantB.ID
		a.MFA = rampart.MFA{}
		a.UpdatedAt = base.Add(3 * time.Hour)
		a.ID, a.CreatedAt = "changed", base.Add(time.Hour)
		return nil
	})
	check(t, err)
	if updated.ID != u.ID || !updated.CreatedAt.Equal(rampart.Timestamp(base)) || !updated.EmailVerified || updated.LastTenantID != tenantB.ID || updated.MFA.Enabled {
		t.Fatalf("UpdateAccount: %s", dump(updated))
	}
	got, err := s.GetAccount(ctx, u.ID)
	check(t, err)
	equal(t, got, updated)
	for _, tenant := range []*rampart.Tenant{tenantA, tenantB} {
		asUser, err := s.GetUser(ctx, tenant.ID, u.ID)
		check(t, err)
		if !asUser.EmailVerified || asUser.MFA.Enabled {
			t.Errorf("the account's changes are not seen in %s: %s", tenant.Name, dump(asUser))
		}
	}
	other := newUser(tenantA.ID, rampart.RoleMember)
	check(t, s.CreateUser(ctx, other))
	_, err = s.UpdateAccount(ctx, u.ID, func(a *rampart.Account) error {
		a.Email = strings.ToUpper(other.Email)
		return nil
	})
	wantKind(t, err, rampart.KindConflict)
	_, err = s.UpdateAccount(ctx, rampart.NewID(), func(*rampart.Account) error { return nil })
	wantKind(t, err, rampart.KindNotFound)
	// A new account with a taken email is refused, in any tenant.
	dup := newUser(tenantB.ID, rampart.RoleMember)
	dup.Email = strings.ToLower(u.Email)
	wantKind(t, s.CreateUser(ctx, dup), rampart.KindConflict)
}

func testAccountSessions(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenantA, adminA := newTenant(t, s)
	tenantB, _ := newTenant(t, s)
	tenantC, _ := newTenant(t, s)
	u := newUser(tenantA.ID, rampart.RoleMember)
	check(t, s.CreateUser(ctx, u))
	member(t, s, tenantB, u, rampart.RoleMember, base)

	inA := newSession(tenantA.ID, u.ID, base)
	inA2 := newSession(tenantA.ID, u.ID, base)
	inB := newSession(tenantB.ID, u.ID, base)
	bystander := newSession(tenantA.ID, adminA.ID, base)
	for _, ss := range []*rampart.Session{inA, inA2, inB, bystander} {
		check(t, s.CreateSession(ctx, ss))
	}

	// MoveSession: A to B keeps the id and token history; gone from A.
	first := inA2.TokenHash
	rotated := rotate(t, s, inA2, base.Add(time.Minute))
	next := []byte(rampart.NewID())
	moved, err := s.MoveSession(ctx, tenantA.ID, inA2.ID, tenantB.ID, func(ss *rampart.Session) error {
		ss.PreviousTokenHash, ss.TokenHash, ss.RotatedAt = ss.TokenHash, next, base.Add(2*time.Minute)
		return nil
	})
	check(t, err)
	if moved.TenantID != tenantB.ID || moved.ID != inA2.ID || !moved.CreatedAt.Equal(rotated.CreatedAt) {
		t.Fatalf("moved session: %s", dump(moved))
	}
	_, err = s.GetSession(ctx, tenantA.ID, inA2.ID)
	wantKind(t, err, rampart.KindNotFound)
	got, err := s.GetSession(ctx, tenantB.ID, inA2.ID)
	check(t, err)
	equal(t, got, moved)
	for _, hash := range [][]byte{first, rotated.TokenHash, next} {
		found, err := s.FindSessionByTokenHash(ctx, hash)
		check(t, err)
		if found.ID != inA2.ID || found.TenantID != tenantB.ID {
			t.Fatalf("a token hash of the moved session finds %s", dump(found))
		}
	}
	// Not to a tenant the account is not a member of; an error from fn
	// moves nothing.
	_, err = s.MoveSession(ctx, tenantB.ID, inA2.ID, tenantC.ID, func(*rampart.Session) error { return nil })
	wantKind(t, err, rampart.KindNotFound)
	_, err = s.MoveSession(ctx, tenantA.ID, inB.ID, tenantB.ID, func(*rampart.Session) error { return nil })
	wantKind(t, err, rampart.KindNotFound) // inB is not in A
	_, err = s.MoveSession(ctx, tenantB.ID, inA2.ID, tenantA.ID, func(*rampart.Session) error { return rampart.Errorf(rampart.KindForbidden, "no") })
	wantKind(t, err, rampart.KindForbidden)
	_, err = s.GetSession(ctx, tenantB.ID, inA2.ID)
	check(t, err)
	// Inside a unit too: the failed move is undone although the unit
	// goes on and commits (the Store contract: an error from a method
	// undoes that method's own writes).
	check(t, s.Atomically(ctx, func(tx rampart.Store) error {
		_, err := tx.MoveSession(ctx, tenantB.ID, inA2.ID, tenantA.ID, func(*rampart.Session) error { return rampart.Errorf(rampart.KindForbidden, "no") })
		wantKind(t, err, rampart.KindForbidden)
		return nil
	}))
	_, err = s.GetSession(ctx, tenantB.ID, inA2.ID)
	check(t, err)
	_, err = s.GetSession(ctx, tenantA.ID, inA2.ID)
	wantKind(t, err, rampart.KindNotFound)

	// RevokeAccountSessions: every tenant, but the one excepted and other
	// accounts' sessions.
	at := base.Add(time.Hour)
	check(t, s.RevokeAccountSessions(ctx, u.ID, inB.ID, at, "password changed"))
	for _, c := range []struct {
		ss      *rampart.Session
		tenant  string
		revoked bool
	}{{inA, tenantA.ID, true}, {inA2, tenantB.ID, true}, {inB, tenantB.ID, false}, {bystander, tenantA.ID, false}} {
		got, err := s.GetSession(ctx, c.tenant, c.ss.ID)
		check(t, err)
		if got.RevokedAt.IsZero() == c.revoked || (c.revoked && got.RevokedReason != "password changed") {
			t.Errorf("session %s after RevokeAccountSessions: revoked at %v (%q), want revoked %v", c.ss.ID, got.RevokedAt, got.RevokedReason, c.revoked)
		}
	}
}

func testDeleteMembership(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenantA, _ := newTenant(t, s)
	tenantB, _ := newTenant(t, s)
	u := newUser(tenantA.ID, rampart.RoleMember)
	check(t, s.CreateUser(ctx, u))
	member(t, s, tenantB, u, rampart.RoleMember, base)
	inA := newSession(tenantA.ID, u.ID, base)
	inB := newSession(tenantB.ID, u.ID, base)
	check(t, s.CreateSession(ctx, inA))
	check(t, s.CreateSession(ctx, inB))

	// Removing the membership in A: A's sessions go, B's membership and
	// sessions stay, and so does the account.
	check(t, s.DeleteUser(ctx, tenantA.ID, u.ID))
	_, err := s.GetUser(ctx, tenantA.ID, u.ID)
	wantKind(t, err, rampart.KindNotFound)
	_, err = s.GetSession(ctx, tenantA.ID, inA.ID)
	wantKind(t, err, rampart.KindNotFound)
	got, err := s.GetSession(ctx, tenantB.ID, inB.ID)
	check(t, err)
	equal(t, got, inB)
	_, err = s.GetUser(ctx, tenantB.ID, u.ID)
	check(t, err)
	acct, err := s.FindAccountByEmail(ctx, u.Email)
	check(t, err)
	if acct.LastTenantID != "" {
		t.Errorf("the last tenant is still the one left: %q", acct.LastTenantID)
	}
	ms, err := s.ListMemberships(ctx, u.ID)
	check(t, err)
	if len(ms) != 1 || ms[0].TenantID != tenantB.ID {
		t.Fatalf("memberships after leaving A: %s", dump(ms))
	}

	// With its last membership, the account goes, and its email is free.
	check(t, s.DeleteUser(ctx, tenantB.ID, u.ID))
	_, err = s.GetAccount(ctx, u.ID)
	wantKind(t, err, rampart.KindNotFound)
	again := newUser(tenantB.ID, rampart.RoleMember)
	again.Email = u.Email
	check(t, s.CreateUser(ctx, again))

	// The last admin of B stays, even when the account is admin elsewhere.
	_, adminC := newTenant(t, s)
	member(t, s, tenantB, adminC, rampart.RoleAdmin, base)
	_, err = s.UpdateUser(ctx, tenantB.ID, adminC.ID, func(u *rampart.User) error { u.Role = rampart.RoleMember; return nil })
	check(t, err) // B's own admin remains
	wantKind(t, s.DeleteUser(ctx, adminC.TenantID, adminC.ID), rampart.KindConflict)
}
