package storetest

// The audit log: listing, the chain, tampering, concurrent appends.

import (
	"encoding/json"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func testAuditEvents(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	first := newAuditEvent(tenant.ID, "user.login", base)
	first.ActorID, first.Details = admin.ID, nil
	check(t, s.AppendAuditEvent(ctx, first))
	if first.Seq != 1 || first.PrevHash != nil || len(first.Hash) == 0 || string(first.Details) != "{}" {
		t.Errorf("first event: seq %d, prev hash %x, hash %x, details %s; want 1, none, set, {}", first.Seq, first.PrevHash, first.Hash, first.Details)
	}
	second := newAuditEvent(tenant.ID, "user.password_changed", base.Add(time.Second))
	check(t, s.AppendAuditEvent(ctx, second))
	if second.Seq != 2 || !reflect.DeepEqual(second.PrevHash, first.Hash) {
		t.Errorf("second event: seq %d, prev hash %x; want 2, %x", second.Seq, second.PrevHash, first.Hash)
	}

	events, _, err := s.ListAuditEvents(ctx, tenant.ID, rampart.AuditFilter{}, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, events, []*rampart.AuditEvent{second, first})
	events, _, err = s.ListAuditEvents(ctx, tenant.ID, rampart.AuditFilter{Type: "user.login"}, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, events, []*rampart.AuditEvent{first})

	notObject := newAuditEvent(tenant.ID, "x", base)
	notObject.Details = json.RawMessage(`["a"]`)
	wantKind(t, s.AppendAuditEvent(ctx, notObject), rampart.KindInvalid)
	wantKind(t, s.AppendAuditEvent(ctx, newAuditEvent(rampart.NewID(), "x", base)), rampart.KindNotFound)
}

// testAuditChain lists a chain in Seq order, batch by batch, and checks
// that an untouched chain verifies.
func testAuditChain(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)
	other, _ := newTenant(t, s)

	report, err := rampart.VerifyAuditChain(ctx, s, tenant.ID)
	check(t, err)
	equal(t, report, rampart.AuditChainReport{})

	var appended []*rampart.AuditEvent
	for i := range 5 {
		// Times out of Seq order, as concurrent requests produce them: the
		// chain follows Seq, not time.
		e := newAuditEvent(tenant.ID, "order.deleted", base.Add(time.Duration(5-i)*time.Second))
		check(t, s.AppendAuditEvent(ctx, e))
		appended = append(appended, e)
	}
	check(t, s.AppendAuditEvent(ctx, newAuditEvent(other.ID, "user.login", base)))

	first, err := s.ListAuditChain(ctx, tenant.ID, 0, 2)
	check(t, err)
	equal(t, first, appended[:2])
	rest, err := s.ListAuditChain(ctx, tenant.ID, 2, rampart.MaxAuditBatch)
	check(t, err)
	equal(t, rest, appended[2:])
	none, err := s.ListAuditChain(ctx, tenant.ID, 5, 10)
	check(t, err)
	if len(none) != 0 {
		t.Errorf("after the head: %d events, want none", len(none))
	}

	report, err = rampart.VerifyAuditChain(ctx, s, tenant.ID)
	check(t, err)
	equal(t, report, rampart.AuditChainReport{Verified: 5, HeadSeq: 5, HeadHash: appended[4].Hash})
	report, err = rampart.VerifyAuditChain(ctx, s, other.ID)
	check(t, err)
	if !report.Intact() || report.Verified != 1 {
		t.Errorf("the other tenant's chain: %+v", report)
	}
}

// Tamperer changes a store's audit rows behind its back, as someone with
// write access to the database could. The SQL is the suite's; a store's
// tests only run it on the store's database.
type Tamperer interface {
	// Exec runs q, a statement with '?' placeholders for args (no '?'
	// appears anywhere else in it), and returns the number of rows it
	// changed. It fails t on an error.
	Exec(t *testing.T, q string, args ...any) int64
}

// tamper runs q with tm and fails t unless it changed exactly one row.
func tamper(t *testing.T, tm Tamperer, q string, args ...any) {
	t.Helper()
	if n := tm.Exec(t, q, args...); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", q, n)
	}
}

// tamperTenants are the tenants a tampering case works with: the victim,
// whose chain is checked, and an intruder, with one event of its own.
type tamperTenants struct{ victim, intruder string }

// RunAuditTamper checks that VerifyAuditChain names the event that was
// altered behind the store's back, and fails on a deleted one or one moved
// to another tenant. newStore returns an empty, migrated store and a
// Tamperer on the same database.
func RunAuditTamper(t *testing.T, newStore func(t *testing.T) (rampart.Store, Tamperer)) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, tm Tamperer, ids tamperTenants)
		broken int64
	}{
		{"details", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET details = ? WHERE tenant_id = ? AND seq = ?", `{"reason": "nothing to see", "n": 1}`, ids.victim, 3)
		}, 3},
		{"type", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET type = ? WHERE tenant_id = ? AND seq = ?", "user.login", ids.victim, 2)
		}, 2},
		{"details of the head", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET details = ? WHERE tenant_id = ? AND seq = ?", `{}`, ids.victim, 5)
		}, 5},
		{"actor", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET actor_id = ? WHERE tenant_id = ? AND seq = ?", rampart.NewID(), ids.victim, 4)
		}, 4},
		{"target", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "UPDATE audit_events SET target = ? WHERE tenant_id = ? AND seq = ?", "user:2", ids.victim, 1)
		}, 1},
		{"deleted", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?", ids.victim, 3)
		}, 3},
		{"deleted first", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			tamper(t, tm, "DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?", ids.victim, 1)
		}, 1},
		{"moved to another tenant", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			// Seq 3 is free in the intruder's chain, which has one event.
			tamper(t, tm, "UPDATE audit_events SET tenant_id = ? WHERE tenant_id = ? AND seq = ?", ids.intruder, ids.victim, 3)
		}, 3},
		{"moved in from another tenant", func(t *testing.T, tm Tamperer, ids tamperTenants) {
			// The intruder's event, appended to the victim's chain.
			tamper(t, tm, "UPDATE audit_events SET tenant_id = ?, seq = ? WHERE tenant_id = ? AND seq = ?", ids.victim, 6, ids.intruder, 1)
		}, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s, tm := newStore(t)
			tenant, _ := newTenant(t, s)
			bystander, _ := newTenant(t, s)
			intruder, _ := newTenant(t, s)
			for i := range 5 {
				check(t, s.AppendAuditEvent(ctx, newAuditEvent(tenant.ID, "user.password_changed", base.Add(time.Duration(i)*time.Second))))
				check(t, s.AppendAuditEvent(ctx, newAuditEvent(bystander.ID, "user.password_changed", base.Add(time.Duration(i)*time.Second))))
			}
			check(t, s.AppendAuditEvent(ctx, newAuditEvent(intruder.ID, "user.password_changed", base)))
			report, err := rampart.VerifyAuditChain(ctx, s, tenant.ID)
			check(t, err)
			if !report.Intact() || report.Verified != 5 {
				t.Fatalf("before tampering: %+v", report)
			}

			tc.tamper(t, tm, tamperTenants{victim: tenant.ID, intruder: intruder.ID})
			report, err = rampart.VerifyAuditChain(ctx, s, tenant.ID)
			check(t, err)
			if report.BrokenAt != tc.broken || report.Verified != tc.broken-1 || report.Problem == "" {
				t.Errorf("after tampering with event %d: %+v", tc.broken, report)
			}
			report, err = rampart.VerifyAuditChain(ctx, s, bystander.ID)
			check(t, err)
			if !report.Intact() || report.Verified != 5 {
				t.Errorf("another tenant's chain: %+v", report)
			}
		})
	}
}

func testConcurrentAuditAppends(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)

	const writers = 20
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			e := newAuditEvent(tenant.ID, "order.updated", base.Add(time.Duration(i)*time.Millisecond))
			if err := s.AppendAuditEvent(ctx, e); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	events, _, err := s.ListAuditEvents(ctx, tenant.ID, rampart.AuditFilter{}, rampart.Page{Limit: writers})
	check(t, err)
	slices.SortFunc(events, func(a, b *rampart.AuditEvent) int { return int(a.Seq - b.Seq) })
	if len(events) != writers {
		t.Fatalf("got %d events, want %d", len(events), writers)
	}
	var prev []byte
	for i, e := range events {
		if e.Seq != int64(i+1) || !reflect.DeepEqual(e.PrevHash, prev) {
			t.Errorf("event %d of the chain: seq %d, prev hash %x; want seq %d, prev hash %x", i, e.Seq, e.PrevHash, i+1, prev)
		}
		prev = e.Hash
	}
}
