package storetest

// Tenant isolation and hostile values.

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

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
		_, err := s.FindAccountByEmail(ctx, email)
		if rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("FindAccountByEmail(%q): got %v, want NotFound", email, err)
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
	acct, err := s.FindAccountByEmail(ctx, u.Email)
	check(t, err)
	equal(t, acct, accountOf(u))
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
