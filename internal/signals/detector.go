package signals

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
)

// Defaults of Config.
const (
	// DefaultMaxKeys caps the windows and cool-downs tracked in memory:
	// about 192 B a key, 46 MiB, when each holds one entry; 1 KiB, 246 MiB,
	// if every window held 10 distinct account ids
	// (BenchmarkMemoryStoreDistinctSources); 74-78 MiB through the detector
	// under a million sources (TestDetectorMemoryIsBoundedUnderAMillionSources,
	// README "Detection and alerts").
	DefaultMaxKeys  = 250_000
	DefaultCoolDown = 15 * time.Minute
)

// Config configures a Detector. The zero value works: default rules, an
// in-memory store of DefaultMaxKeys keys, no webhook.
type Config struct {
	Rules    []Rule        // nil: DefaultRules()
	Store    WindowStore   // nil: NewMemoryStore(DefaultMaxKeys)
	CoolDown time.Duration // one alert per rule and subject per CoolDown; 0: DefaultCoolDown
	Now      func() time.Time
	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // nil: metrics are kept but not registered
	Webhook  *WebhookConfig        // nil: no webhook
	// OnAlert, when set, is called with each alert raised, on Observe's
	// goroutine; it must not block (the automatic block answer hooks in here).
	OnAlert func(Alert)
	// OnDeliveryFailure, when set, is called on Run's goroutine with each
	// alert the webhook gave up on, so it can be recorded as a
	// delivery_failure security event.
	OnDeliveryFailure func(Alert)
}

// Alert is what a fired rule reports: the JSON body of the webhook, and
// the fields of the log line.
type Alert struct {
	Rule      string    `json:"rule"`
	Severity  string    `json:"severity"` // "warn" or "error"
	Scope     Scope     `json:"scope"`
	Subject   string    `json:"subject"` // the source (an IPv4 address, or an IPv6 /64), account id, tenant id, or "global"
	Count     int       `json:"count"`   // what the window held when the rule fired
	Threshold int       `json:"threshold"`
	Window    string    `json:"window"`
	Time      time.Time `json:"time"`
	// From the event that crossed the threshold, for the investigation.
	TenantID  string `json:"tenant_id,omitempty"`
	Route     string `json:"route,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Surge rules only: the mean count per window of the intervals the
	// threshold was derived from (absent when they held nothing).
	Baseline float64 `json:"baseline,omitempty"`
	// Cause, on an alert raised from outside the rules (Raise), names what
	// it answers: for source_blocked, the rule whose alert placed the block.
	Cause string `json:"cause,omitempty"`
}

// Detector counts security events in sliding windows and raises alerts.
type Detector struct {
	rules    []Rule
	store    WindowStore
	coolDown time.Duration
	now      func() time.Time
	log      *slog.Logger
	onAlert  func(Alert)
	webhook  *webhook
	alerts   *prometheus.CounterVec
	unknown  atomic.Uint64 // numbers sign-in failures for unknown accounts, each a distinct member
	// nonce makes those numbers this detector's own: replicas sharing one
	// store (Redis) would otherwise each count ?1, ?2... and one attack
	// spread over them would add up to the accounts of one replica only.
	nonce   string
	started time.Time // surge baselines trust empty intervals only from here on
	mu      sync.Mutex
	surges  map[string]surge // by rule tag: the current interval's threshold
}

// New returns a Detector. Call Run to deliver webhooks.
func New(cfg Config) (*Detector, error) {
	d := &Detector{rules: cfg.Rules, store: cfg.Store, coolDown: cfg.CoolDown, now: cfg.Now,
		log: cfg.Logger, onAlert: cfg.OnAlert}
	if d.rules == nil {
		d.rules = DefaultRules()
	}
	for _, r := range d.rules {
		if !r.Off && (r.Threshold < 1 || r.Threshold > maxThreshold || r.Window < minWindow || r.Window > maxWindow) {
			return nil, fmt.Errorf("signals: rule %s: threshold or window out of bounds", r.Name)
		}
	}
	if d.store == nil {
		d.store = NewMemoryStore(DefaultMaxKeys)
	}
	if d.coolDown <= 0 {
		d.coolDown = DefaultCoolDown
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.started = d.now()
	d.nonce = rand.Text()[:10] // 50 bits: replicas never collide
	d.surges = map[string]surge{}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "rampart", Name: "alerts_total",
		Help: "Security alerts raised, by rule (one per rule and subject per cool-down).",
	}, []string{"rule"})
	collectors := []prometheus.Collector{d.alerts}
	for _, r := range d.rules {
		d.alerts.WithLabelValues(r.Name) // every rule shows, at 0, before it first fires
	}
	if cfg.Webhook != nil {
		w, err := newWebhook(*cfg.Webhook, d.now, d.log, cfg.OnDeliveryFailure)
		if err != nil {
			return nil, err
		}
		d.webhook = w
		collectors = append(collectors, w.deliveries)
	}
	switch s := d.store.(type) {
	case *MemoryStore:
		collectors = append(collectors, evictionsMetric(s))
	case *FailoverStore:
		collectors = append(collectors, evictionsMetric(s.local), s.fallbacks)
	}
	if cfg.Registry != nil {
		for _, c := range collectors {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

func evictionsMetric(m *MemoryStore) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "rampart", Name: "alert_window_evictions_total",
		Help: "Detection windows evicted to keep within the key cap; a steady rise means more sources than the cap.",
	}, func() float64 { return float64(m.Evicted()) })
}

// Run delivers queued webhooks until ctx ends. Without a webhook it returns
// at once.
func (d *Detector) Run(ctx context.Context) {
	if d.webhook != nil {
		d.webhook.run(ctx)
	}
}

// Observe counts e in the window of every rule it concerns and raises the
// alerts whose threshold it crosses. It never waits on the network: the
// webhook is a bounded queue that drops (counting) when full.
func (d *Detector) Observe(e rampart.SecurityEvent) {
	at := e.Time
	if at.IsZero() {
		at = d.now()
	}
	for i, r := range d.rules {
		if r.Off || !r.counts(e) {
			continue
		}
		subject, ok := subjectOf(r.Scope, e)
		if !ok {
			continue
		}
		member, ok := d.memberOf(r.Distinct, e)
		if !ok {
			continue
		}
		// A one-byte rule tag instead of its name keeps a million keys small.
		tag := string(rune('a' + i))
		threshold, limit, baseline := r.Threshold, r.Threshold, 0.0
		if r.Surge {
			threshold, baseline = d.surgeThreshold(tag, r, at)
			limit = maxThreshold // the count is exact up to any threshold a surge can have
		}
		n := d.store.Add(tag+subject, member, at, r.Window, limit)
		if n < threshold || !d.store.Claim("!"+tag+subject, at, d.coolDown) {
			continue
		}
		d.raise(Alert{Rule: r.Name, Severity: r.Severity, Scope: r.Scope, Subject: subject, Count: n,
			Threshold: threshold, Window: r.Window.String(), Time: at,
			TenantID: e.TenantID, Route: e.Route, RequestID: e.RequestID, Baseline: baseline})
	}
}

// surgeThreshold counts the event in its Window-long interval and returns
// the threshold that the surge rule r has now, with the baseline it came
// from: max(r.Threshold, ⌈SurgeFactor × mean⌉) over the SurgeBaseline
// intervals before the previous one (the current window, at − Window to
// at, reaches into the previous interval, so that one is left out: the
// baseline never overlaps what it is compared with). The mean is over the
// intervals known: those that counted something (on any replica, with
// Redis) or that this detector watched from their start; an empty
// interval from before the process started is no evidence of a quiet
// past. The threshold is capped at maxThreshold, the most a window counts.
func (d *Detector) surgeThreshold(tag string, r Rule, at time.Time) (int, float64) {
	w := int64(r.Window)
	cur := at.UnixNano() / w
	key, ttl := tag+"#"+strconv.FormatInt(cur, 36), (SurgeBaseline+2)*r.Window
	// The baseline's intervals are past: read them once per interval, not
	// at every event of a flood.
	d.mu.Lock()
	cached, ok := d.surges[tag]
	d.mu.Unlock()
	if ok && cached.interval == cur {
		d.store.Tally(key, at, ttl, nil)
		return cached.threshold, cached.baseline
	}
	others := make([]string, SurgeBaseline)
	for j := range others {
		others[j] = tag + "#" + strconv.FormatInt(cur-2-int64(j), 36)
	}
	_, counts := d.store.Tally(key, at, ttl, others)
	threshold, baseline := d.surgeFrom(r, cur, counts)
	d.mu.Lock()
	d.surges[tag] = surge{interval: cur, threshold: threshold, baseline: baseline}
	d.mu.Unlock()
	return threshold, baseline
}

// surge is a surge rule's threshold for one interval.
type surge struct {
	interval  int64
	threshold int
	baseline  float64
}

// surgeFrom is the threshold and baseline of surge rule r in interval cur,
// from the counts of the baseline's intervals (cur-2, cur-3, ...).
func (d *Detector) surgeFrom(r Rule, cur int64, counts []int) (int, float64) {
	w := int64(r.Window)
	sum, known := 0, 0
	for j, c := range counts {
		if c > 0 || (cur-2-int64(j))*w >= d.started.UnixNano() {
			sum += c
			known++
		}
	}
	if known == 0 {
		return r.Threshold, 0
	}
	baseline := float64(sum) / float64(known)
	threshold := max(r.Threshold, int(math.Ceil(SurgeFactor*baseline)))
	return min(threshold, maxThreshold), baseline
}

// Raise reports an alert that no rule of the detector raised (the
// automatic block's source_blocked) through the same log line, counter,
// webhook and OnAlert hook, without a cool-down. It never waits.
func (d *Detector) Raise(a Alert) {
	if a.Time.IsZero() {
		a.Time = d.now()
	}
	d.raise(a)
}

func (d *Detector) raise(a Alert) {
	level := slog.LevelWarn
	if a.Severity == "error" {
		level = slog.LevelError
	}
	args := []any{"rule", a.Rule, "scope", string(a.Scope),
		"subject", a.Subject, "count", a.Count, "threshold", a.Threshold, "window", a.Window,
		"tenant", a.TenantID, "route", a.Route, "request_id", a.RequestID, "baseline", a.Baseline}
	if a.Cause != "" {
		args = append(args, "cause", a.Cause)
	}
	d.log.Log(context.Background(), level, "security alert", args...)
	d.alerts.WithLabelValues(a.Rule).Inc()
	if d.webhook != nil {
		d.webhook.enqueue(a)
	}
	if d.onAlert != nil {
		d.onAlert(a)
	}
}

// counts says whether e is one of the occurrences r counts.
func (r Rule) counts(e rampart.SecurityEvent) bool {
	if r.Status != 0 && e.Status == r.Status {
		return true
	}
	for _, t := range r.Events {
		if e.Type == t {
			return r.Status == 0 || e.Status == 0
		}
	}
	return false
}

func subjectOf(s Scope, e rampart.SecurityEvent) (string, bool) {
	switch s {
	case ScopeSource:
		return SourceKey(e.Source)
	case ScopeAccount:
		return e.AccountID, e.AccountID != ""
	case ScopeTenant:
		return e.TenantID, e.TenantID != ""
	default:
		return "global", true
	}
}

func (d *Detector) memberOf(distinct string, e rampart.SecurityEvent) (string, bool) {
	switch distinct {
	case "account":
		if e.AccountID == "" {
			if e.Status != 0 {
				// The edge's 401 for a missing, forged or expired bearer
				// token (the domain records sign-in failures, with status
				// 0): no account's credentials were tried, so it is no
				// failed sign-in. unauthorized_spike counts it. Counting it
				// as a new account would make ten expired tokens behind one
				// office NAT "credential stuffing", and block the NAT.
				return "", false
			}
			// The event never carries the email tried, so a failure for an
			// unknown account cannot be matched to an earlier one: count each
			// as a new account (stuffing lists are mostly unknown accounts).
			return "?" + d.nonce + strconv.FormatUint(d.unknown.Add(1), 36), true
		}
		return e.AccountID, true
	case "source":
		return SourceKey(e.Source)
	default:
		return "", true
	}
}

// SourceKey is the subject of a source: an IPv4 address in full (IPv4-mapped
// IPv6 included), an IPv6 address by its /64, since one host is commonly
// given a whole /64 and could otherwise rotate through it.
func SourceKey(a netip.Addr) (string, bool) {
	if !a.IsValid() {
		return "", false
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String(), true
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return "", false
	}
	return p.String(), true
}
