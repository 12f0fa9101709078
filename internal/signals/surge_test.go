package signals

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func ruleNamed(t *testing.T, name string) Rule {
	t.Helper()
	for _, r := range DefaultRules() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rule %s", name)
	return Rule{}
}

// feedMinutes sends perMinute(m) events of kind to h in each minute m,
// evenly spread, each from a source of its own (a distributed run, which
// only a global rule can see), and returns the most sent in one minute.
func feedMinutes(h *harness, minutes int, kind rampart.SecurityEvent, perMinute func(m int) int) int {
	start := h.clock.Now()
	most, seq := 0, 0
	for m := range minutes {
		n := perMinute(m)
		most = max(most, n)
		for j := range n {
			e := kind
			e.Source, seq = spread(seq), seq+1
			e.Time = start.Add(time.Duration(m)*time.Minute + time.Duration(j)*time.Minute/time.Duration(n))
			h.d.Observe(e)
		}
	}
	h.clock.Advance(time.Duration(minutes) * time.Minute)
	return most
}

// warm starts h with a background of perMinute events, above the floor:
// with no past to tell it from a surge, the first two minutes compare with
// the floor alone and fire (once per cool-down; here a minute, so at most
// twice); from the third minute on the first has become the baseline.
func warm(t *testing.T, h *harness, kind rampart.SecurityEvent, perMinute int) {
	t.Helper()
	feedMinutes(h, 2, kind, func(int) int { return perMinute })
	for _, a := range h.alerts {
		if a.Baseline != 0 || a.Threshold != h.d.rules[0].Threshold {
			t.Fatalf("a cold start at %d a minute: alert %+v, want it at the floor", perMinute, a)
		}
	}
	if len(h.alerts) == 0 {
		t.Fatalf("a cold start at %d a minute above the floor raised nothing", perMinute)
	}
	h.alerts = nil
}

var surgeKinds = map[string]rampart.SecurityEvent{
	"unauthorized_surge": {Type: rampart.EventAuthFailure, Status: 401},
	"forbidden_surge":    {Type: rampart.EventNotFoundTenant, Status: 404},
}

// A steady background, noisy and well above the floor, is the baseline,
// not a surge.
func TestSurgeSteadyBackgroundDoesNotFire(t *testing.T) {
	for name, kind := range surgeKinds {
		t.Run(name, func(t *testing.T) {
			r := ruleNamed(t, name)
			// A short cool-down, so that every false alert shows.
			h := newHarness(t, Config{Rules: []Rule{r}, CoolDown: time.Minute})
			warm(t, h, kind, 200)
			rng := rand.New(rand.NewPCG(3, 4))
			most := feedMinutes(h, 120, kind, func(int) int { return 200 + rng.IntN(101) - 50 }) // 150..250 a minute
			if most < 2*r.Threshold {
				t.Fatalf("background peaks at %d a minute: not above the floor %d, proves nothing", most, r.Threshold)
			}
			if len(h.alerts) != 0 {
				t.Fatalf("a steady background fired: %+v", h.alerts[0])
			}
		})
	}
}

// Against that background, one minute at four times it fires, once, with
// the threshold derived from the baseline.
func TestSurgeSpikeAboveBaselineFires(t *testing.T) {
	for name, kind := range surgeKinds {
		t.Run(name, func(t *testing.T) {
			r := ruleNamed(t, name)
			h := newHarness(t, Config{Rules: []Rule{r}, CoolDown: time.Minute})
			warm(t, h, kind, 200)
			feedMinutes(h, 20, kind, func(int) int { return 200 })
			if len(h.alerts) != 0 {
				t.Fatalf("background fired: %+v", h.alerts[0])
			}
			// 2.5 times the background: above the floor, under 3× the baseline.
			feedMinutes(h, 1, kind, func(int) int { return 500 })
			if len(h.alerts) != 0 {
				t.Fatalf("2.5× the baseline fired: %+v", h.alerts[0])
			}
			feedMinutes(h, 12, kind, func(int) int { return 200 }) // the baseline settles again
			feedMinutes(h, 1, kind, func(int) int { return 800 })
			if len(h.alerts) != 1 {
				t.Fatalf("a 4× spike: %d alerts, want 1", len(h.alerts))
			}
			a := h.alerts[0]
			if a.Rule != name || a.Scope != ScopeGlobal || a.Subject != "global" || a.Baseline != 200 ||
				a.Threshold != int(math.Ceil(SurgeFactor*200)) || a.Count != a.Threshold {
				t.Fatalf("alert %+v, want baseline 200, threshold and count 600", a)
			}
		})
	}
}

// A slow ramp (5 % more each minute: 50 a minute to almost 900 in an hour)
// passes the floor many times over without a surge: its baseline rises
// with it. A fixed threshold at the floor would have fired at minute 15.
func TestSurgeSlowRampDoesNotFire(t *testing.T) {
	for name, kind := range surgeKinds {
		t.Run(name, func(t *testing.T) {
			r := ruleNamed(t, name)
			h := newHarness(t, Config{Rules: []Rule{r}, CoolDown: time.Minute})
			most := feedMinutes(h, 60, kind, func(m int) int { return int(50 * math.Pow(1.05, float64(m))) })
			if most < 8*r.Threshold {
				t.Fatalf("ramp peaks at %d a minute", most)
			}
			if len(h.alerts) != 0 {
				t.Fatalf("a slow ramp fired: %+v", h.alerts[0])
			}
			// Without a past (a fresh start), the floor alone applies.
			cold := newHarness(t, Config{Rules: []Rule{r}})
			feedMinutes(cold, 1, kind, func(int) int { return r.Threshold })
			if len(cold.alerts) != 1 || cold.alerts[0].Threshold != r.Threshold || cold.alerts[0].Baseline != 0 {
				t.Fatalf("cold start at the floor: %+v", cold.alerts)
			}
		})
	}
}
