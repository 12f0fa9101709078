package storetest

import (
	"testing"

	"example.com/rampart/internal/rampart"
)

// testTenantWithInvitation: `rampart tenants create` stores, in one unit
// (rampart.CreateTenantWithInvitation), a tenant with no member and its
// first admin's invitation; a failure of either stores neither. That the
// invitation is an admin's to that very tenant is the domain's check
// (tenant_test.go in package rampart).
func testTenantWithInvitation(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Pending Org", CreatedAt: base}
	inv, _ := newLink(rampart.LinkInvitation, tenant.ID, base)
	inv.Role = rampart.RoleAdmin

	check(t, rampart.CreateTenantWithInvitation(ctx, s, tenant, inv))
	got, err := s.GetTenant(ctx, tenant.ID)
	if err != nil || got.Name != "Pending Org" {
		t.Fatalf("tenant: %+v %v", got, err)
	}
	users, _, err := s.ListUsers(ctx, tenant.ID, rampart.Page{Limit: 10})
	if err != nil || len(users) != 0 {
		t.Errorf("members of the new tenant: %d %v", len(users), err)
	}
	pending, _, err := s.ListInvitations(ctx, tenant.ID, base, rampart.Page{Limit: 10})
	if err != nil || len(pending) != 1 || pending[0].ID != inv.ID || pending[0].Role != rampart.RoleAdmin {
		t.Fatalf("pending: %v %v", pending, err)
	}

	// The same tenant again, or the same invitation: Conflict, and the
	// second tenant of a failed pair is not left behind.
	wantKind(t, rampart.CreateTenantWithInvitation(ctx, s, tenant, inv), rampart.KindConflict)
	other := &rampart.Tenant{ID: rampart.NewID(), Name: "Other", CreatedAt: base}
	dup := *inv
	dup.ID, dup.TenantID = rampart.NewID(), other.ID // the hash is taken
	wantKind(t, rampart.CreateTenantWithInvitation(ctx, s, other, &dup), rampart.KindConflict)
	wantKind(t, getTenantErr(t, s, other.ID), rampart.KindNotFound)

	// Accepting: the account becomes the first member, an admin.
	u := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: inv.Email, DisplayName: "First", Role: rampart.RoleAdmin,
		PasswordHash: "x", CreatedAt: base, UpdatedAt: base}
	check(t, s.CreateUser(ctx, u))
	wantKind(t, s.DeleteUser(ctx, tenant.ID, u.ID), rampart.KindConflict) // the last admin stays
}

func getTenantErr(t *testing.T, s rampart.Store, id string) error {
	t.Helper()
	_, err := s.GetTenant(t.Context(), id)
	return err
}
