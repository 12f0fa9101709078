package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// testAtomicAuditFailureRollsBack makes the audit write of each kind of
// change fail inside Store.Atomically, with an event id that is taken (the
// database itself refuses the row), and checks that the change is gone and
// the chain is as it was: no change is ever stored without its event.
func testAtomicAuditFailureRollsBack(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	member := newUser(tenant.ID, rampart.RoleMember)
	check(t, s.CreateUser(ctx, member))
	second := newUser(tenant.ID, rampart.RoleAdmin)
	check(t, s.CreateUser(ctx, second))
	order := newOrder(tenant.ID, admin.ID, base)
	check(t, s.CreateOrder(ctx, order))
	sess := newSession(tenant.ID, member.ID, base)
	check(t, s.CreateSession(ctx, sess))
	key := newAPIKey(tenant.ID, admin.ID, base)
	check(t, s.CreateAPIKey(ctx, key))
	taken := newAuditEvent(tenant.ID, "user.signup", base)
	check(t, s.AppendAuditEvent(ctx, taken))
	head, err := rampart.VerifyAuditChain(ctx, s, tenant.ID)
	check(t, err)

	newOrd := newOrder(tenant.ID, admin.ID, base)
	newUsr := newUser(tenant.ID, rampart.RoleMember)
	newSess := newSession(tenant.ID, admin.ID, base)
	newKey := newAPIKey(tenant.ID, admin.ID, base)
	newTen := &rampart.Tenant{ID: rampart.NewID(), Name: "New", CreatedAt: base}
	later := base.Add(time.Hour)

	changes := []struct {
		name   string
		change func(tx rampart.Store) error
		undone func() bool // reports whether the store shows no trace of the change
	}{
		{"create order", func(tx rampart.Store) error { return tx.CreateOrder(ctx, newOrd) },
			func() bool { _, err := s.GetOrder(ctx, tenant.ID, newOrd.ID); return notFound(err) }},
		{"update order", func(tx rampart.Store) error {
			_, err := tx.UpdateOrder(ctx, tenant.ID, order.ID, func(o *rampart.Order) error { o.Status = rampart.OrderCancelled; return nil })
			return err
		}, func() bool {
			o, err := s.GetOrder(ctx, tenant.ID, order.ID)
			return err == nil && o.Status == rampart.OrderPending
		}},
		{"delete order", func(tx rampart.Store) error { return tx.DeleteOrder(ctx, tenant.ID, order.ID) },
			func() bool { _, err := s.GetOrder(ctx, tenant.ID, order.ID); return err == nil }},
		{"create tenant", func(tx rampart.Store) error { return tx.CreateTenant(ctx, newTen) },
			func() bool { _, err := s.GetTenant(ctx, newTen.ID); return notFound(err) }},
		{"create user", func(tx rampart.Store) error { return tx.CreateUser(ctx, newUsr) },
			func() bool { _, err := s.GetUser(ctx, tenant.ID, newUsr.ID); return notFound(err) }},
		{"update user", func(tx rampart.Store) error {
			_, err := tx.UpdateUser(ctx, tenant.ID, second.ID, func(u *rampart.User) error { u.Role = rampart.RoleMember; return nil })
			return err
		}, func() bool {
			u, err := s.GetUser(ctx, tenant.ID, second.ID)
			return err == nil && u.Role == rampart.RoleAdmin
		}},
		{"delete user", func(tx rampart.Store) error { return tx.DeleteUser(ctx, tenant.ID, member.ID) },
			func() bool { _, err := s.GetUser(ctx, tenant.ID, member.ID); return err == nil }},
		{"create session", func(tx rampart.Store) error { return tx.CreateSession(ctx, newSess) },
			func() bool { _, err := s.GetSession(ctx, tenant.ID, newSess.ID); return notFound(err) }},
		{"revoke session", func(tx rampart.Store) error {
			_, err := tx.UpdateSession(ctx, tenant.ID, sess.ID, func(ss *rampart.Session) error { ss.RevokedAt, ss.RevokedReason = later, "logout"; return nil })
			return err
		}, func() bool {
			ss, err := s.GetSession(ctx, tenant.ID, sess.ID)
			return err == nil && ss.RevokedAt.IsZero()
		}},
		{"revoke user sessions", func(tx rampart.Store) error {
			return tx.RevokeUserSessions(ctx, tenant.ID, member.ID, "", later, "password changed")
		}, func() bool {
			ss, err := s.GetSession(ctx, tenant.ID, sess.ID)
			return err == nil && ss.RevokedAt.IsZero()
		}},
		{"create API key", func(tx rampart.Store) error { return tx.CreateAPIKey(ctx, newKey) },
			func() bool { _, err := s.GetAPIKey(ctx, tenant.ID, newKey.ID); return notFound(err) }},
		{"revoke API key", func(tx rampart.Store) error { return tx.RevokeAPIKey(ctx, tenant.ID, key.ID, later) },
			func() bool { k, err := s.GetAPIKey(ctx, tenant.ID, key.ID); return err == nil && k.RevokedAt.IsZero() }},
	}
	for _, c := range changes {
		err := s.Atomically(ctx, func(tx rampart.Store) error {
			if err := c.change(tx); err != nil {
				t.Fatalf("%s: the change itself failed: %v", c.name, err)
			}
			e := newAuditEvent(tenant.ID, "x", later)
			e.ID = taken.ID // the database refuses a second row with this id
			return tx.AppendAuditEvent(ctx, e)
		})
		if rampart.ErrorKind(err) != rampart.KindConflict {
			t.Errorf("%s with a failing audit write: got %v, want the append's Conflict", c.name, err)
		}
		if !c.undone() {
			t.Errorf("%s: the change was stored although its audit event was not", c.name)
		}
		after, err := rampart.VerifyAuditChain(ctx, s, tenant.ID)
		check(t, err)
		equal(t, after, head)
	}
}

// testAtomically checks the rest of the unit's contract: reads inside see
// the unit's writes, a commit keeps the change and its event together, an
// error from fn is returned as it is and undoes everything, and a nested
// Atomically joins the unit.
func testAtomically(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	kept := newOrder(tenant.ID, admin.ID, base)
	event := newAuditEvent(tenant.ID, "order.created", base)
	check(t, s.Atomically(ctx, func(tx rampart.Store) error {
		if err := tx.CreateOrder(ctx, kept); err != nil {
			return err
		}
		if _, err := tx.GetOrder(ctx, tenant.ID, kept.ID); err != nil {
			t.Errorf("the unit does not read its own write: %v", err)
		}
		return tx.AppendAuditEvent(ctx, event)
	}))
	got, err := s.GetOrder(ctx, tenant.ID, kept.ID)
	check(t, err)
	equal(t, got, kept)
	chain, err := s.ListAuditChain(ctx, tenant.ID, 0, 10)
	check(t, err)
	equal(t, chain, []*rampart.AuditEvent{event})

	errStop := errors.New("stop")
	dropped := newOrder(tenant.ID, admin.ID, base)
	err = s.Atomically(ctx, func(tx rampart.Store) error {
		if err := tx.AppendAuditEvent(ctx, newAuditEvent(tenant.ID, "order.created", base)); err != nil {
			return err
		}
		return tx.Atomically(ctx, func(inner rampart.Store) error {
			if err := inner.CreateOrder(ctx, dropped); err != nil {
				return err
			}
			return errStop
		})
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("got %v, want fn's own error", err)
	}
	if _, err := s.GetOrder(ctx, tenant.ID, dropped.ID); !notFound(err) {
		t.Errorf("an order written in a nested unit survived the outer unit's failure: %v", err)
	}
	report, err := rampart.VerifyAuditChain(ctx, s, tenant.ID)
	check(t, err)
	equal(t, report, rampart.AuditChainReport{Verified: 1, HeadSeq: 1, HeadHash: event.Hash})

	// A method that fails inside a unit (here fn refuses the update) does
	// not spoil the unit: fn may go on, and what it does next commits.
	other := newOrder(tenant.ID, admin.ID, base)
	check(t, s.Atomically(ctx, func(tx rampart.Store) error {
		_, err := tx.UpdateOrder(ctx, tenant.ID, kept.ID, func(*rampart.Order) error { return errStop })
		if !errors.Is(err, errStop) {
			t.Errorf("update inside a unit: got %v, want fn's error", err)
		}
		return tx.CreateOrder(ctx, other)
	}))
	if _, err := s.GetOrder(ctx, tenant.ID, other.ID); err != nil {
		t.Errorf("the unit's later write was lost: %v", err)
	}
}

// testConcurrentAtomicAppends runs units that each create an order and
// append its event, at once, and checks that every order has its event and
// the chain has neither gaps nor forks.
func testConcurrentAtomicAppends(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	const writers = 16
	var wg sync.WaitGroup
	orders := make([]*rampart.Order, writers)
	for i := range writers {
		orders[i] = newOrder(tenant.ID, admin.ID, base)
		wg.Go(func() {
			err := s.Atomically(ctx, func(tx rampart.Store) error {
				if err := tx.CreateOrder(ctx, orders[i]); err != nil {
					return err
				}
				e := newAuditEvent(tenant.ID, "order.created", base)
				e.Target = orders[i].ID
				return tx.AppendAuditEvent(ctx, e)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	report, err := rampart.VerifyAuditChain(ctx, s, tenant.ID)
	check(t, err)
	if !report.Intact() || report.Verified != writers {
		t.Fatalf("chain after %d concurrent units: %+v", writers, report)
	}
	chain, err := s.ListAuditChain(ctx, tenant.ID, 0, writers)
	check(t, err)
	targets := map[string]bool{}
	for _, e := range chain {
		targets[e.Target] = true
	}
	for _, o := range orders {
		if !targets[o.ID] {
			t.Errorf("order %s has no event", o.ID)
		}
	}
}

func notFound(err error) bool { return rampart.ErrorKind(err) == rampart.KindNotFound }
