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
