// Package signals watches the security-event stream for the attacks that
// refused requests add up to (credential stuffing, password spraying,
// sweeps of 401s and 403s, refresh-token reuse...) and raises one alert per
// rule and subject per cool-down, to the log, to Prometheus and to a signed
// webhook. It implements the stream's observer method and depends on no
// stream package: Detector.Observe(rampart.SecurityEvent).
package signals

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"example.com/rampart/internal/rampart"
)

// Scope says what a rule's window is keyed by.
type Scope string

const (
	ScopeSource  Scope = "source"  // the client address: IPv4 in full, IPv6 by /64
	ScopeAccount Scope = "account" // the account id
	ScopeTenant  Scope = "tenant"  // the tenant id
	ScopeGlobal  Scope = "global"  // one window for the whole deployment (per replica without Redis)
)

// A surge rule compares the count of its last Window with its own recent
// past: the mean count of the SurgeBaseline whole Window-long intervals
// (aligned to the Unix epoch) that end before the current window starts.
// It fires when the count reaches max(Threshold, ⌈SurgeFactor × mean⌉):
// Threshold is the floor that holds while there is no past (a fresh start,
// a quiet night) and keeps a handful of events from being a surge.
const (
	SurgeFactor   = 3
	SurgeBaseline = 10
)

// Rule is one detection rule: it fires when Threshold occurrences (or
// distinct members, see Distinct) fall inside Window for one subject.
// Off disables it. Only Threshold, Window and Off are configurable; what a
// rule counts is fixed by its name in DefaultRules.
type Rule struct {
	Name      string
	Threshold int
	Window    time.Duration
	Off       bool

	Scope    Scope
	Distinct string // "" counts events; "account" or "source" counts distinct members of that kind
	Severity string // "warn" or "error": the log level of its alerts
	Events   []rampart.SecurityEventType
	// Status, when set, counts events by their answer instead: an event of
	// any type answered with Status counts, an event of a type in Events
	// counts unless it says it was answered otherwise.
	Status int
	// Surge makes Threshold the floor of a threshold that follows the
	// rule's own baseline (see SurgeFactor).
	Surge   bool
	Meaning string
}

// Bounds of a configured rule. A threshold above maxThreshold would hold
// that many entries per tracked key in memory, so it is refused.
const (
	maxThreshold = 10000
	minWindow    = time.Second
	maxWindow    = 24 * time.Hour
)

// DefaultRules is the built-in rule table with its default thresholds.
// The defaults are set so that ordinary users (a few wrong passwords, an
// expired refresh token after a laptop sleeps) never reach them, and an
// automated run does within minutes.
func DefaultRules() []Rule {
	auth := []rampart.SecurityEventType{rampart.EventAuthFailure}
	return []Rule{
		{Name: "credential_stuffing", Threshold: 10, Window: 5 * time.Minute, Scope: ScopeSource, Distinct: "account",
			Severity: "warn", Events: auth,
			Meaning: "distinct accounts failing sign-in from one source (a failure for an unknown account counts as a new account each time)"},
		{Name: "password_spraying", Threshold: 10, Window: 10 * time.Minute, Scope: ScopeAccount, Distinct: "source",
			Severity: "warn", Events: auth,
			Meaning: "distinct sources failing sign-in to one account"},
		{Name: "unauthorized_spike", Threshold: 30, Window: time.Minute, Scope: ScopeSource,
			Severity: "warn", Status: 401, Events: []rampart.SecurityEventType{rampart.EventAuthFailure, rampart.EventStepUpRefused, rampart.EventRefreshFailure},
			Meaning: "401 answers to one source (every event answered 401 counts, whatever its type)"},
		{Name: "forbidden_spike", Threshold: 20, Window: time.Minute, Scope: ScopeSource,
			Severity: "warn", Events: []rampart.SecurityEventType{rampart.EventForbidden, rampart.EventNotFoundTenant},
			Meaning: "403 answers plus 404s on object ids (absent or another tenant's) to one source"},
		{Name: "validation_burst", Threshold: 50, Window: time.Minute, Scope: ScopeSource,
			Severity: "warn", Events: []rampart.SecurityEventType{rampart.EventValidation},
			Meaning: "requests refused as invalid (400/413/415/422) from one source"},
		{Name: "refresh_failures", Threshold: 10, Window: 5 * time.Minute, Scope: ScopeSource,
			Severity: "warn", Events: []rampart.SecurityEventType{rampart.EventRefreshFailure},
			Meaning: "unknown, expired or revoked refresh tokens presented from one source"},
		{Name: "refresh_reuse", Threshold: 1, Window: time.Minute, Scope: ScopeSource,
			Severity: "error", Events: []rampart.SecurityEventType{rampart.EventRefreshReuse},
			Meaning: "any rotated refresh token presented again (a stolen token, or a client bug)"},
		{Name: "lockout_storm", Threshold: 20, Window: 5 * time.Minute, Scope: ScopeGlobal,
			Severity: "warn", Events: []rampart.SecurityEventType{rampart.EventLockout},
			Meaning: "accounts locked out, all accounts together"},
		{Name: "egress_refused", Threshold: 1, Window: time.Minute, Scope: ScopeGlobal,
			Severity: "error", Events: []rampart.SecurityEventType{rampart.EventEgressRefused},
			Meaning: "any outbound connection refused by the egress allowlist"},
		// The rules below were added after the first nine; new rules go at
		// the end, since a rule's position tags its keys in a shared store
		// and replicas of two versions must agree during a rolling update.
		{Name: "tenant_sign_in_failures", Threshold: 100, Window: 10 * time.Minute, Scope: ScopeTenant, Distinct: "account",
			Severity: "warn", Events: auth,
			Meaning: "distinct accounts of one tenant failing sign-in, from any sources (stuffing spread over many addresses against one organisation)"},
		{Name: "tenant_forbidden_sweep", Threshold: 100, Window: 10 * time.Minute, Scope: ScopeTenant,
			Severity: "warn", Events: []rampart.SecurityEventType{rampart.EventForbidden, rampart.EventNotFoundTenant},
			Meaning: "403 answers plus 404s on object ids to the principals of one tenant, from any sources (enumeration spread over accounts, keys and addresses)"},
		{Name: "unauthorized_surge", Threshold: 100, Window: time.Minute, Scope: ScopeGlobal, Surge: true,
			Severity: "warn", Status: 401, Events: []rampart.SecurityEventType{rampart.EventAuthFailure, rampart.EventStepUpRefused, rampart.EventRefreshFailure},
			Meaning: "401 answers to everyone together, against their own baseline: fires at max(N, 3 × the mean of the previous 10 windows)"},
		{Name: "forbidden_surge", Threshold: 100, Window: time.Minute, Scope: ScopeGlobal, Surge: true,
			Severity: "warn", Events: []rampart.SecurityEventType{rampart.EventForbidden, rampart.EventNotFoundTenant},
			Meaning: "403 answers plus 404s on object ids to everyone together, against their own baseline: fires at max(N, 3 × the mean of the previous 10 windows)"},
	}
}

// EnvName is the variable that configures a rule:
// RAMPART_ALERT_CREDENTIAL_STUFFING for credential_stuffing.
func EnvName(rule string) string {
	return "RAMPART_ALERT_" + strings.ToUpper(rule)
}

// ParseRule parses a rule setting: "N/DURATION" (10/5m: ten within five
// minutes) or "off". The result carries only Threshold, Window and Off;
// WithSettings applies it to a named rule.
func ParseRule(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Rule{Off: true}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	if !ok {
		return Rule{}, fmt.Errorf("want N/DURATION (e.g. 10/5m) or off, got %q", s)
	}
	threshold, err := strconv.Atoi(n)
	if err != nil || threshold < 1 || threshold > maxThreshold {
		return Rule{}, fmt.Errorf("threshold %q: want a whole number from 1 to %d", n, maxThreshold)
	}
	window, err := time.ParseDuration(d)
	if err != nil || window < minWindow || window > maxWindow {
		return Rule{}, fmt.Errorf("window %q: want a duration from %s to %s", d, minWindow, maxWindow)
	}
	return Rule{Threshold: threshold, Window: window}, nil
}

// RulesFromEnv is DefaultRules with each RAMPART_ALERT_<RULE> that lookup
// finds set applied. Every bad setting is reported, each naming its
// variable.
func RulesFromEnv(lookup func(name string) (string, bool)) ([]Rule, error) {
	rules := DefaultRules()
	var problems []string
	for i, r := range rules {
		v, ok := lookup(EnvName(r.Name))
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		set, err := ParseRule(v)
		if err != nil {
			problems = append(problems, EnvName(r.Name)+": "+err.Error())
			continue
		}
		rules[i] = r.WithSettings(set)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return rules, nil
}

// WithSettings is r with the threshold, window and off switch of set (as
// ParseRule returns it).
func (r Rule) WithSettings(set Rule) Rule {
	r.Off = set.Off
	if !set.Off {
		r.Threshold, r.Window = set.Threshold, set.Window
	}
	return r
}

// Setting is r's configuration as RAMPART_ALERT_<RULE> spells it, for
// `config check`.
func (r Rule) Setting() string {
	if r.Off {
		return "off"
	}
	return strconv.Itoa(r.Threshold) + "/" + r.Window.String()
}
