package storetest

// Pagination, also while records are added.

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func testPagination(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	// Ten orders in five pairs that share a creation time: ties are broken
	// by id.
	var want []*rampart.Order
	for i := range 10 {
		o := newOrder(tenant.ID, admin.ID, base.Add(time.Duration(i/2)*time.Second))
		check(t, s.CreateOrder(ctx, o))
		want = append(want, o)
	}
	slices.SortFunc(want, func(a, b *rampart.Order) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	var got []*rampart.Order
	var pages int
	for page := (rampart.Page{Limit: 3}); ; pages++ {
		orders, next, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, page)
		check(t, err)
		got = append(got, orders...)
		if next.IsZero() {
			break
		}
		page.After = next
	}
	equal(t, got, want)
	if pages != 3 {
		t.Errorf("10 orders in pages of 3: %d pages after the first, want 3", pages)
	}

	// Exactly a page left: the page before it says there is more, and the
	// last one has no next cursor.
	orders, next, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, rampart.Page{Limit: 10})
	check(t, err)
	if len(orders) != 10 || !next.IsZero() {
		t.Errorf("10 orders in a page of 10: got %d and next %v, want 10 and no next", len(orders), next)
	}

	for _, limit := range []int{0, -1, rampart.MaxPageLimit + 1} {
		_, _, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, rampart.Page{Limit: limit})
		wantKind(t, err, rampart.KindInvalid)
	}
}

// testPaginationDuringInserts pages through a tenant's orders while other
// requests create orders between the pages, both newer ones and older ones
// that committed late: every order that existed when paging began must be
// listed exactly once.
func testPaginationDuringInserts(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	existing := map[string]bool{}
	for i := range 30 {
		o := newOrder(tenant.ID, admin.ID, base.Add(time.Duration(i)*time.Millisecond))
		check(t, s.CreateOrder(ctx, o))
		existing[o.ID] = true
	}

	seen := map[string]int{}
	page := rampart.Page{Limit: 4}
	for i := 1; ; i++ {
		orders, next, err := s.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, page)
		check(t, err)
		for _, o := range orders {
			seen[o.ID]++
		}
		if next.IsZero() {
			break
		}
		page.After = next
		var wg sync.WaitGroup
		for _, at := range []time.Time{base.Add(time.Hour), base.Add(-time.Duration(i) * time.Millisecond), next.CreatedAt} {
			wg.Go(func() {
				if err := s.CreateOrder(ctx, newOrder(tenant.ID, admin.ID, at)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}

	for id, n := range seen {
		if n > 1 {
			t.Errorf("order %s listed %d times", id, n)
		}
	}
	for id := range existing {
		if seen[id] != 1 {
			t.Errorf("order %s, created before paging began, listed %d times", id, seen[id])
		}
	}
}
