package rampart_test

import (
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
