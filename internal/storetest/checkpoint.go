package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// checkpoints records what rampart.WithAuditCheckpoints exports.
type checkpoints struct {
	mu  sync.Mutex
	all []rampart.AuditCheckpoint
}

func (c *checkpoints) AuditCheckpoint(_ context.Context, cp rampart.AuditCheckpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all = append(c.all, cp)
}

func (c *checkpoints) list() []rampart.AuditCheckpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rampart.AuditCheckpoint(nil), c.all...)
}

// RunAuditCheckpoints checks that the checkpoints exported as a chain grows
// catch what the chain alone cannot: its newest events deleted, or the
// chain rewritten and re-hashed by someone who can write the database.
// newStore is as for RunAuditTamper.
func RunAuditCheckpoints(t *testing.T, newStore func(t *testing.T) (rampart.Store, Tamperer)) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, s rampart.Store, tm Tamperer, victim string)
		broken  int64
		problem string
	}{
		{"untouched", func(*testing.T, rampart.Store, Tamperer, string) {}, 0, ""},
		{"newest events deleted", func(t *testing.T, _ rampart.Store, tm Tamperer, victim string) {
			for _, seq := range []int{5, 4} {
				tamper(t, tm, "DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?", victim, seq)
			}
		}, 4, "recorded seq 5: events were deleted"},
		{"every event deleted", func(t *testing.T, _ rampart.Store, tm Tamperer, victim string) {
			if n := tm.Exec(t, "DELETE FROM audit_events WHERE tenant_id = ?", victim); n != 5 {
				t.Fatalf("deleted %d events, want 5", n)
			}
		}, 1, "the chain ends at seq 0"},
		{"newest deleted and others appended", func(t *testing.T, s rampart.Store, tm Tamperer, victim string) {
			for _, seq := range []int{5, 4} {
				tamper(t, tm, "DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?", victim, seq)
			}
			for range 3 {
				check(t, s.AppendAuditEvent(t.Context(), newAuditEvent(victim, "user.login", base)))
			}
		}, 4, "rewritten"},
		{"rewritten and re-hashed", func(t *testing.T, s rampart.Store, tm Tamperer, victim string) {
			events, err := s.ListAuditChain(t.Context(), victim, 0, 10)
			check(t, err)
			events[2].Details = json.RawMessage(`{"reason":"nothing to see"}`)
			for i := 2; i < len(events); i++ {
				e := events[i]
				e.Seal(events[i-1].Seq, events[i-1].Hash)
				tamper(t, tm, "UPDATE audit_events SET details = ?, prev_hash = ?, hash = ? WHERE tenant_id = ? AND seq = ?",
					string(e.Details), e.PrevHash, e.Hash, victim, e.Seq)
			}
		}, 3, "differs from its checkpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			raw, tm := newStore(t)
			exported := &checkpoints{}
			s := rampart.WithAuditCheckpoints(raw, exported)
			victim, admin := newTenant(t, s)
			bystander, _ := newTenant(t, s)
			for i := range 5 {
				// Inside units, as the domain appends, and directly.
				check(t, s.Atomically(ctx, func(tx rampart.Store) error {
					if err := tx.CreateOrder(ctx, newOrder(victim.ID, admin.ID, base)); err != nil {
						return err
					}
					return tx.AppendAuditEvent(ctx, newAuditEvent(victim.ID, "order.created", base.Add(time.Duration(i)*time.Second)))
				}))
				check(t, s.AppendAuditEvent(ctx, newAuditEvent(bystander.ID, "user.login", base)))
			}
			// A unit that fails exports nothing: its event was never stored.
			errStop := errors.New("stop")
			err := s.Atomically(ctx, func(tx rampart.Store) error {
				check(t, tx.AppendAuditEvent(ctx, newAuditEvent(victim.ID, "order.created", base)))
				return errStop
			})
			if !errors.Is(err, errStop) {
				t.Fatalf("failing unit: %v", err)
			}
			cps := exported.list()
			if len(cps) != 10 {
				t.Fatalf("%d checkpoints for 10 committed appends, want 10: %+v", len(cps), cps)
			}
			head, err := rampart.VerifyAuditChain(ctx, raw, victim.ID)
			check(t, err)
			last := cps[len(cps)-2] // the victim's fifth
			if last.TenantID != victim.ID || last.Seq != 5 || string(last.Hash) != string(head.HeadHash) {
				t.Fatalf("the victim's last checkpoint %+v, want seq 5 and the head hash %x", last, head.HeadHash)
			}

			tc.tamper(t, raw, tm, victim.ID)
			// Each of these leaves a chain that verifies on its own.
			alone, err := rampart.VerifyAuditChain(ctx, raw, victim.ID)
			check(t, err)
			if !alone.Intact() {
				t.Fatalf("the tampered chain alone: %+v, want one that verifies", alone)
			}
			report, err := rampart.VerifyAuditCheckpoints(ctx, raw, victim.ID, cps)
			check(t, err)
			if report.BrokenAt != tc.broken || !strings.Contains(report.Problem, tc.problem) {
				t.Errorf("got %+v, want broken at %d with %q", report, tc.broken, tc.problem)
			}
			report, err = rampart.VerifyAuditCheckpoints(ctx, raw, bystander.ID, cps)
			check(t, err)
			if !report.Intact() || report.Verified != 5 {
				t.Errorf("another tenant's chain: %+v", report)
			}
		})
	}
}
