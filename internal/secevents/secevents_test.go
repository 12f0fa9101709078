package secevents

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
)

func newRecorder(t *testing.T, queue int, observers ...Observer) (*Recorder, *bytes.Buffer, *prometheus.Registry) {
	t.Helper()
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	r, err := New(Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registry: reg, Observers: observers, Queue: queue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, &logs, reg
}

// counters reads reg's rampart_security_events_* series: the total by its
// type label ("total:auth_failure") and the drop counter ("dropped").
func counters(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "rampart_security_events_total":
				if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "type" {
					t.Fatalf("labels %v, want type only", m.GetLabel())
				}
				out["total:"+m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			case "rampart_security_events_dropped_total":
				out["dropped"] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// Every event is one log line with the same fields, whatever it carries.
func TestRecordWritesOneLineInTheSchema(t *testing.T) {
	r, logs, _ := newRecorder(t, 0)
	r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventForbidden, Source: netip.MustParseAddr("2001:db8::7"),
		AccountID: "acc", TenantID: "ten", Route: "GET /v1/users", RequestID: "req", Status: 403, Detail: "forbidden"})
	r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventAdminAction}) // nothing known but the type
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d: %s", len(lines), logs)
	}
	want := []string{"time", "level", "msg", "type", "source", "account", "tenant", "route", "request_id", "status", "detail"}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || got["msg"] != "security event" {
			t.Errorf("line %d: %v, want exactly the fields %v", i, got, want)
		}
		for _, k := range want {
			if _, ok := got[k]; !ok {
				t.Errorf("line %d lacks %q: %s", i, k, line)
			}
		}
	}
	var first map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	// The full address: it is what an operator blocks (not a /64).
	if first["source"] != "2001:db8::7" || first["type"] != "forbidden" || first["status"] != 403.0 ||
		first["account"] != "acc" || first["tenant"] != "ten" || first["route"] != "GET /v1/users" {
		t.Errorf("first line: %v", first)
	}
}

// The counter is labelled by type only, from the closed set: every type
// exists at 0 from the start, and a type outside the set is counted under
// one "unknown" label, not under a new one.
func TestRecordCountsByTypeWithBoundedLabels(t *testing.T) {
	r, _, reg := newRecorder(t, 0)
	for range 3 {
		r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventAuthFailure})
	}
	r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventValidation})
	r.Record(t.Context(), rampart.SecurityEvent{Type: "made-up-by-a-bug"})
	got := counters(t, reg)
	if got["total:auth_failure"] != 3 || got["total:validation"] != 1 || got["total:unknown"] != 1 || got["total:lockout"] != 0 {
		t.Errorf("counters: %v", got)
	}
	// One series per type, one for unknown, and the drop counter.
	if len(got) != len(rampart.SecurityEventTypes())+2 {
		t.Errorf("%d series, want one per type, unknown and dropped: %v", len(got), got)
	}
	for _, typ := range rampart.SecurityEventTypes() {
		if _, ok := got["total:"+string(typ)]; !ok {
			t.Errorf("no series for %s before its first event", typ)
		}
	}
}

// collect is an observer that keeps what it is told.
type collect struct {
	mu     sync.Mutex
	events []rampart.SecurityEvent
	got    chan struct{}
}

func (c *collect) Observe(e rampart.SecurityEvent) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
	c.got <- struct{}{}
}

func TestObserversReceiveEveryEvent(t *testing.T) {
	a, b := &collect{got: make(chan struct{}, 10)}, &collect{got: make(chan struct{}, 10)}
	r, _, _ := newRecorder(t, 0, a, b)
	r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventRefreshReuse, AccountID: "acc"})
	r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventLockout})
	for _, c := range []*collect{a, b} {
		<-c.got
		<-c.got
		c.mu.Lock()
		if len(c.events) != 2 || c.events[0].Type != rampart.EventRefreshReuse || c.events[0].AccountID != "acc" ||
			c.events[1].Type != rampart.EventLockout || c.events[0].Time.IsZero() {
			t.Errorf("observed %+v", c.events)
		}
		c.mu.Unlock()
	}
}

// stuck is an observer that never returns until released.
type stuck struct {
	entered chan struct{}
	release chan struct{}
}

func (s *stuck) Observe(rampart.SecurityEvent) {
	s.entered <- struct{}{}
	<-s.release
}

// A stuck observer (a detector waiting on Redis, say) must not stall the
// requests that record events: Record returns at once, still logs and
// counts, and what does not fit the queue is dropped and counted.
func TestStuckObserverDoesNotBlockRecord(t *testing.T) {
	const queue = 4
	s := &stuck{entered: make(chan struct{}, 1), release: make(chan struct{})}
	r, logs, reg := newRecorder(t, queue, s)
	defer close(s.release)
	r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventAuthFailure})
	<-s.entered // the delivery goroutine now holds one event and is stuck
	const more = 100
	for range more { // would block at the fifth without the bounded queue
		r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventAuthFailure})
	}
	got := counters(t, reg)
	if got["dropped"] != more-queue {
		t.Errorf("dropped = %v, want %d", got["dropped"], more-queue)
	}
	if got["total:auth_failure"] != more+1 {
		t.Errorf("counted %v, want every event (%d)", got["total:auth_failure"], more+1)
	}
	if n := strings.Count(logs.String(), `"msg":"security event"`); n != more+1 {
		t.Errorf("logged %d, want every event (%d)", n, more+1)
	}
}

type panics struct{}

func (panics) Observe(rampart.SecurityEvent) { panic("detector bug") }

// A panicking observer is logged; it neither kills the delivery goroutine
// (and with it the process) nor keeps the event from the other observers.
func TestPanickingObserverIsContained(t *testing.T) {
	c := &collect{got: make(chan struct{}, 10)}
	r, logs, _ := newRecorder(t, 0, panics{}, c)
	r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventForbidden})
	r.Record(t.Context(), rampart.SecurityEvent{Type: rampart.EventLockout})
	<-c.got
	<-c.got
	r.Close() // the delivery goroutine has logged both panics before it delivered to c
	if n := strings.Count(logs.String(), "security event observer panicked"); n != 2 {
		t.Errorf("%d panics logged, want 2:\n%s", n, logs)
	}
}
