package storetest

// Orders, and concurrent updates of one order.

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

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
