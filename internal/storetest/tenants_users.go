package storetest

// Tenants and users: the tenant's first admin, unique emails, the last admin.

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

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

	// The store stores a tenant as it is told (that it gets an admin is the
	// domain's CreateTenantWithAdmin); a taken id is a Conflict.
	wantKind(t, s.CreateTenant(ctx, &rampart.Tenant{ID: tenant.ID, Name: "Again", CreatedAt: base}), rampart.KindConflict)

	// A sign-up with a taken email leaves no tenant behind.
	t3 := &rampart.Tenant{ID: rampart.NewID(), Name: "Taken email", CreatedAt: base}
	taken := newUser(t3.ID, rampart.RoleAdmin)
	taken.Email = admin.Email
	wantKind(t, rampart.CreateTenantWithAdmin(ctx, s, t3, taken), rampart.KindConflict)
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

	acct, err := s.FindAccountByEmail(ctx, strings.ToUpper(u.Email))
	check(t, err)
	equal(t, acct, accountOf(u))
	_, err = s.FindAccountByEmail(ctx, "nobody@example.com")
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

	got, err := s.FindAccountByEmail(ctx, strings.ToUpper(u.Email))
	check(t, err)
	if got.ID != u.ID || got.Email != u.Email {
		t.Errorf("FindAccountByEmail: got account %s <%s>, want %s <%s> as entered", got.ID, got.Email, u.ID, u.Email)
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
