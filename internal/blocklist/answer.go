package blocklist

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/signals"
)

// BlockingRules are the detection rules whose alerts block their source:
// the source-scoped rules an automated client trips. refresh_reuse is not
// one: the source that presents a rotated token again is as likely the
// owner (whose token a thief rotated first) as the thief, and blocking the
// owner would hand the thief a way to lock victims out; the session is
// already revoked, which is that rule's answer.
var BlockingRules = []string{"credential_stuffing", "unauthorized_spike", "forbidden_spike", "validation_burst", "refresh_failures"}

// AlertRule names the alert each block placed raises.
const AlertRule = "source_blocked"

// OnAlert is the detector's hook (signals.Config.OnAlert): an alert of a
// blocking rule about a source asks for a block of that source. It never
// waits (Enqueue).
func (b *Blocker) OnAlert(a signals.Alert) {
	if a.Scope == signals.ScopeSource && slices.Contains(BlockingRules, a.Rule) {
		b.Enqueue(a.Subject, a.Rule)
	}
}

// Announce returns the Config.OnPlaced hook that makes each block placed
// one source_blocked security event (in the log, counted, seen by
// detection) and one source_blocked alert (log, rampart_alerts_total,
// webhook), through raise (signals.Detector.Raise). Refusals of a blocked
// source are not events; they are counted
// (rampart_source_blocked_requests_total).
func Announce(events rampart.SecurityEvents, raise func(signals.Alert), now func() time.Time) func(Block) {
	return func(blk Block) {
		at := now()
		if events != nil {
			var source netip.Addr
			if p, err := ParseSource(blk.Source); err == nil {
				source = p.Addr() // an IPv6 /64 is recorded as its first address
			}
			events.Record(context.Background(), rampart.SecurityEvent{Type: rampart.EventSourceBlocked, Time: at,
				Source: source, Detail: "blocked after " + blk.Rule})
		}
		if raise != nil {
			d := blk.Until.Sub(at).Round(time.Second)
			raise(signals.Alert{Rule: AlertRule, Severity: "warn", Scope: signals.ScopeSource, Subject: blk.Source,
				Count: blk.Repeat, Threshold: 1, Window: d.String(), Time: at, Cause: blk.Rule})
		}
	}
}
