package rampart_test

import (
	"strings"
	"testing"

	"example.com/rampart/internal/rampart"
)

// A tenant always keeps an admin: the last one cannot be deleted, nor
// demoted by another (and nobody changes their own role); once there is a
// second admin, one may demote the other.
func TestLastAdminStays(t *testing.T) {
	w := newWorld(t, nil)
	first := w.signup("first@example.com")
	_, admin := w.login("first@example.com", testPassword, "")
	member := rampart.RoleMember
	_, err := w.res.UpdateUser(w.ctx, meta, admin, first.ID, rampart.UserUpdate{Role: &member})
	wantCode(t, "demoting oneself", err, rampart.KindForbidden, "")
	err = w.res.DeleteUser(w.ctx, meta, admin, first.ID)
	wantCode(t, "deleting the last admin", err, rampart.KindConflict, "")

	second := w.addUser(admin, "second@example.com", rampart.RoleAdmin)
	_, p2 := w.login("second@example.com", testPassword, "")
	if _, err := w.res.UpdateUser(w.ctx, meta, p2, first.ID, rampart.UserUpdate{Role: &member}); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	err = w.res.DeleteUser(w.ctx, meta, p2, second.ID)
	wantCode(t, "the remaining admin deleting themself", err, rampart.KindConflict, "")
	if err := w.res.DeleteUser(w.ctx, meta, p2, first.ID); err != nil {
		t.Fatalf("deleting a member: %v", err)
	}
	if n := w.events(first.TenantID, "user.role_changed"); n != 1 {
		t.Errorf("%d role_changed events, want 1", n)
	}
}

// A tenant's name may be as long as the signup rule allows in any script;
// the invitation's subject is cut to the mail's byte bound on a rune
// boundary rather than refusing to invite into that tenant.
func TestInviteIntoTenantWithLongNonASCIIName(t *testing.T) {
	w := newWorld(t, nil)
	name := strings.Repeat("é", rampart.MaxOrganizationLength)
	_, _, err := w.id.Signup(w.ctx, meta, rampart.SignupInput{Email: "accent@example.com", Password: testPassword,
		DisplayName: "Someone", Organization: name})
	if err != nil {
		t.Fatal(err)
	}
	_, admin := w.login("accent@example.com", testPassword, "")
	if _, err := w.res.Invite(w.ctx, meta, admin, rampart.InviteInput{Email: "guest@example.com", DisplayName: "Guest", Role: rampart.RoleMember}); err != nil {
		t.Fatalf("invite into %d-byte tenant name: %v", len(name), err)
	}
	if _, _, err := w.id.AcceptInvitation(w.ctx, meta, nil, rampart.AcceptInvitationInput{
		Token: mailedLink(t, w.store, w.box, "guest@example.com"), Password: testPassword}); err != nil {
		t.Fatal(err)
	}
}
