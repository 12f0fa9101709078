package rampart_test

import (
	"testing"

	"example.com/rampart/internal/rampart"
)

// A member sees and changes only their own orders; an admin sees the
// tenant's; nobody reaches another tenant's, which is simply not found.
func TestOrderOwnershipAndTenantIsolation(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("admin@a.example")
	_, admin := w.login("admin@a.example", testPassword, "")
	w.addUser(admin, "alice@a.example", rampart.RoleMember)
	w.addUser(admin, "bob@a.example", rampart.RoleMember)
	_, alice := w.login("alice@a.example", testPassword, "")
	_, bob := w.login("bob@a.example", testPassword, "")
	w.signup("admin@b.example")
	_, outsider := w.login("admin@b.example", testPassword, "")

	o, err := w.res.CreateOrder(w.ctx, meta, alice, rampart.OrderInput{Items: []rampart.OrderItem{{SKU: "SKU-1", Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if o.OwnerID != alice.UserID || o.TenantID != alice.TenantID {
		t.Fatalf("order %+v", o)
	}
	for who, p := range map[string]rampart.Principal{"alice": alice, "admin": admin} {
		if _, err := w.res.GetOrder(w.ctx, p, o.ID); err != nil {
			t.Errorf("%s reading the order: %v", who, err)
		}
	}
	for who, p := range map[string]rampart.Principal{"bob": bob, "another tenant's admin": outsider} {
		_, err := w.res.GetOrder(w.ctx, p, o.ID)
		wantCode(t, who+" reading the order", err, rampart.KindNotFound, "")
		note := "mine now"
		_, err = w.res.UpdateOrder(w.ctx, meta, p, o.ID, rampart.OrderUpdate{Note: &note})
		wantCode(t, who+" changing the order", err, rampart.KindNotFound, "")
		err = w.res.DeleteOrder(w.ctx, meta, p, o.ID)
		wantCode(t, who+" deleting the order", err, rampart.KindNotFound, "")
	}
	list, _, err := w.res.ListOrders(w.ctx, bob, rampart.Page{Limit: 10})
	if err != nil || len(list) != 0 {
		t.Errorf("bob's list: %v %v", list, err)
	}
	list, _, err = w.res.ListOrders(w.ctx, admin, rampart.Page{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Errorf("admin's list: %v %v", list, err)
	}
	_, err = w.res.GetUser(w.ctx, outsider, alice.UserID)
	wantCode(t, "another tenant's user", err, rampart.KindNotFound, "")
}

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
