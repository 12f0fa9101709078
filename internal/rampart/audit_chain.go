package rampart

import (
	"bytes"
	"context"
	"crypto/subtle"
)

// ListAuditEvents lists p's tenant's audit events, newest first.
func (s *Resources) ListAuditEvents(ctx context.Context, p Principal, f AuditFilter, page Page) ([]*AuditEvent, Cursor, error) {
	if err := Authorize(p, ActionAuditRead); err != nil {
		return nil, Cursor{}, err
	}
	return s.store.ListAuditEvents(ctx, p.TenantID, f, page)
}

// MaxAuditBatch is the most events one Store.ListAuditChain call may ask for.
const MaxAuditBatch = 1000

// AuditChainReport is what VerifyAuditChain found.
type AuditChainReport struct {
	// Verified is how many events, from Seq 1 on, verified.
	Verified int64
	// HeadSeq and HeadHash are the last verified event's (0 and nil for an
	// empty chain). Deleting events from the end of a chain leaves a
	// shorter chain that verifies; comparing it with the checkpoints
	// exported outside the database (VerifyAuditCheckpoints) catches that.
	HeadSeq  int64
	HeadHash []byte
	// BrokenAt is the Seq of the first event that does not verify: missing,
	// altered, or not the successor of the one before it. It is 0 when the
	// whole chain verifies.
	BrokenAt int64
	Problem  string // what is wrong at BrokenAt, for people
}

// Intact reports whether every event verified.
func (r AuditChainReport) Intact() bool { return r.BrokenAt == 0 }

// VerifyAuditChain walks a tenant's audit events in Seq order and checks
// each link: the numbering has no gap, each event names its predecessor's
// hash, and each event's hash covers exactly what is stored. It stops at
// the first break. An error means the store could not be read, not that
// the chain is broken.
func VerifyAuditChain(ctx context.Context, st Store, tenantID string) (AuditChainReport, error) {
	return verifyAuditChain(ctx, st, tenantID, func(*AuditEvent) string { return "" })
}

// verifyAuditChain is VerifyAuditChain with one more check of each event
// whose link verified: extra says what is wrong with it, or "".
func verifyAuditChain(ctx context.Context, st Store, tenantID string, extra func(*AuditEvent) string) (AuditChainReport, error) {
	var r AuditChainReport
	for {
		events, err := st.ListAuditChain(ctx, tenantID, r.HeadSeq, MaxAuditBatch)
		if err != nil {
			return r, err
		}
		for _, e := range events {
			problem := checkLink(e, tenantID, r.HeadSeq, r.HeadHash)
			if problem == "" {
				problem = extra(e)
			}
			if problem != "" {
				// The event missing, or the one found in its place.
				r.BrokenAt, r.Problem = r.HeadSeq+1, problem
				return r, nil
			}
			r.Verified++
			r.HeadSeq, r.HeadHash = e.Seq, e.Hash
		}
		if len(events) < MaxAuditBatch {
			return r, nil
		}
	}
}

// checkLink says what is wrong with e as the successor of the event
// prevSeq with hash prevHash, or "" when nothing is.
func checkLink(e *AuditEvent, tenantID string, prevSeq int64, prevHash []byte) string {
	switch {
	case e.Seq != prevSeq+1:
		return "an event is missing"
	case e.TenantID != tenantID:
		return "the event belongs to another tenant"
	case !bytes.Equal(e.PrevHash, prevHash):
		return "the event does not follow the one before it"
	case subtle.ConstantTimeCompare(e.sum(), e.Hash) != 1:
		return "the event was altered"
	}
	return ""
}
