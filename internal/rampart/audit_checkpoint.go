package rampart

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// AuditCheckpoint is a tenant's audit chain head as it was once: the
// sequence number and hash of an event just committed. Checkpoints are
// exported outside the database as the chain grows (security baseline
// LOG-04), so that whoever can rewrite the database still cannot make a
// chain that is shorter than one exported (its newest events deleted) or
// different from it (rewritten and re-hashed) pass verification.
type AuditCheckpoint struct {
	TenantID string
	Seq      int64
	Hash     []byte
	Time     time.Time // the event's time
}

// AuditCheckpointer exports checkpoints. It is called after the
// transaction that appended the event has committed, so it cannot refuse
// the change; it reports its own failures itself. It must be safe for
// concurrent use. Checkpoints of concurrent appends may reach it out of
// Seq order.
type AuditCheckpointer interface {
	AuditCheckpoint(ctx context.Context, c AuditCheckpoint)
}

// WithAuditCheckpoints returns st with every audit event that is appended
// through it, directly or inside Atomically, exported to cp once committed.
//
// The cadence is every append: exact and simple, at the cost of one
// export per audited change. An event whose unit fails is not exported,
// since a checkpoint of an event that was never committed would later look
// like a truncation. An event that commits but whose export is lost (the
// process dies in between) is covered by the tenant's next checkpoint, as
// the hash chain ties it to its successors.
func WithAuditCheckpoints(st Store, cp AuditCheckpointer) Store {
	return &checkpointing{Store: st, cp: cp}
}

type checkpointing struct {
	Store
	cp AuditCheckpointer
}

func checkpointOf(e *AuditEvent) AuditCheckpoint {
	return AuditCheckpoint{TenantID: e.TenantID, Seq: e.Seq, Hash: e.Hash, Time: e.Time}
}

func (c *checkpointing) AppendAuditEvent(ctx context.Context, e *AuditEvent) error {
	if err := c.Store.AppendAuditEvent(ctx, e); err != nil {
		return err
	}
	c.cp.AuditCheckpoint(ctx, checkpointOf(e))
	return nil
}

func (c *checkpointing) Atomically(ctx context.Context, fn func(tx Store) error) error {
	u := &checkpointUnit{}
	err := c.Store.Atomically(ctx, func(tx Store) error {
		u.Store = tx
		return fn(u)
	})
	if err != nil {
		return err
	}
	for _, e := range u.appended {
		c.cp.AuditCheckpoint(ctx, checkpointOf(e))
	}
	return nil
}

// checkpointUnit is the store inside Atomically: it keeps the events
// appended, for export after the commit.
type checkpointUnit struct {
	Store
	appended []*AuditEvent
}

func (u *checkpointUnit) AppendAuditEvent(ctx context.Context, e *AuditEvent) error {
	if err := u.Store.AppendAuditEvent(ctx, e); err != nil {
		return err
	}
	u.appended = append(u.appended, e)
	return nil
}

func (u *checkpointUnit) Atomically(_ context.Context, fn func(tx Store) error) error { return fn(u) }

// VerifyAuditCheckpoints verifies a tenant's chain as VerifyAuditChain
// does, and also against checkpoints of that tenant exported earlier: an
// event whose hash differs from a checkpoint of its Seq means the chain was
// rewritten from there on, and a chain that ends before a checkpoint's Seq
// was truncated. Two checkpoints that disagree about one Seq mean the same.
// The report's BrokenAt and Problem say which; checkpoints of other
// tenants are ignored.
func VerifyAuditCheckpoints(ctx context.Context, st Store, tenantID string, checkpoints []AuditCheckpoint) (AuditChainReport, error) {
	want := make(map[int64]AuditCheckpoint)
	disputed := make(map[int64]bool)
	var last AuditCheckpoint
	for _, c := range checkpoints {
		if c.TenantID != tenantID {
			continue
		}
		if prev, ok := want[c.Seq]; ok && !bytes.Equal(prev.Hash, c.Hash) {
			disputed[c.Seq] = true
		}
		want[c.Seq] = c
		if c.Seq > last.Seq {
			last = c
		}
	}
	r, err := verifyAuditChain(ctx, st, tenantID, func(e *AuditEvent) string {
		c, ok := want[e.Seq]
		switch {
		case !ok:
			return ""
		case disputed[e.Seq]:
			return "two checkpoints of this event disagree: the chain was rewritten from here on"
		case !bytes.Equal(c.Hash, e.Hash):
			return fmt.Sprintf("the event differs from its checkpoint of %s: the chain was rewritten from here on",
				c.Time.UTC().Format(time.RFC3339))
		}
		return ""
	})
	if err != nil || !r.Intact() {
		return r, err
	}
	if last.Seq > r.HeadSeq {
		r.BrokenAt = r.HeadSeq + 1
		r.Problem = fmt.Sprintf("the chain ends at seq %d but a checkpoint of %s recorded seq %d: events were deleted",
			r.HeadSeq, last.Time.UTC().Format(time.RFC3339), last.Seq)
	}
	return r, nil
}
