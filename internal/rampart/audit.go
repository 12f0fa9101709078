package rampart

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEvent records a security-relevant action in a tenant. A tenant's
// events form a hash chain: each carries the hash of the one before it, so
// that a removed or altered event breaks the chain.
type AuditEvent struct {
	ID       string
	TenantID string
	// Seq numbers a tenant's events 1, 2, 3, ... without gaps, in the order
	// they were appended. AppendAuditEvent assigns it.
	Seq       int64
	Time      time.Time
	Type      string // e.g. "user.login"
	ActorID   string // the user or API key that acted; empty for the system
	SourceIP  string
	RequestID string
	Target    string          // what was acted on, e.g. a user id
	Details   json.RawMessage // a JSON object; stored as {} when nil
	// PrevHash is the previous event's Hash (nil for a tenant's first event)
	// and Hash covers every other field of this event. AppendAuditEvent
	// assigns both through Seal.
	PrevHash []byte
	Hash     []byte
}

// AuditFilter narrows a listing of audit events.
type AuditFilter struct {
	Type string // when set, only events of this type
}

// Seal makes e the successor of the event with sequence number prevSeq and
// hash prevHash (0 and nil when e is its tenant's first event): it sets
// Seq, PrevHash and Hash, and Details to {} when empty. Stores call it inside
// the transaction that appends e, after reading the tenant's latest event
// under a lock.
func (e *AuditEvent) Seal(prevSeq int64, prevHash []byte) {
	if len(e.Details) == 0 {
		e.Details = json.RawMessage("{}")
	}
	e.Seq = prevSeq + 1
	e.PrevHash = prevHash
	e.Hash = e.sum()
}

// sum hashes every field but Hash. Each field is length-prefixed so that no
// two different events encode to the same bytes.
func (e *AuditEvent) sum() []byte {
	var b []byte
	field := func(v []byte) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
		b = append(b, v...)
	}
	field([]byte(e.ID))
	field([]byte(e.TenantID))
	field(binary.BigEndian.AppendUint64(nil, uint64(e.Seq)))
	field(binary.BigEndian.AppendUint64(nil, uint64(e.Time.UnixMicro())))
	field([]byte(e.Type))
	field([]byte(e.ActorID))
	field([]byte(e.SourceIP))
	field([]byte(e.RequestID))
	field([]byte(e.Target))
	field(e.Details)
	field(e.PrevHash)
	h := sha256.Sum256(b)
	return h[:]
}

// Auditor writes the security events of both services. It holds only the
// clock: the store it writes through is the caller's unit of work.
type Auditor struct {
	now func() time.Time
}

// Record appends a security event to the tenant's chain through st: the tx
// of the Store.Atomically unit that makes the change the event records, so
// that the two are stored together or not at all, or the store itself for
// an event that is the only write. It never carries a secret: callers pass
// ids and fixed words only.
func (a Auditor) Record(ctx context.Context, st Store, meta RequestMeta, tenantID, actorID, typ, target string, details map[string]string) error {
	e := &AuditEvent{ID: NewID(), TenantID: tenantID, Time: a.now(), Type: typ, ActorID: actorID,
		SourceIP: meta.SourceIP, RequestID: meta.RequestID, Target: target}
	if details != nil {
		b, err := json.Marshal(details)
		if err != nil {
			return WrapError(KindInternal, err, "")
		}
		e.Details = b
	}
	if err := st.AppendAuditEvent(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", typ, err)
	}
	return nil
}
