package httpapi

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// Timing: for invitations, password reset and signup in verify mode, a
// known and an unknown address must take the same time to answer. The measurement
// interleaves the two cases (so that load from other tests, GC and the
// CPU's frequency hit both alike), compares medians (robust to the odd
// stall), and retries the whole measurement (up to timingAttempts) before
// failing, since CI runs it with -race on two shared cores. A second test turns the
// equalising off (IdentityConfig.SkipEqualising) and requires the same
// measurement to see a difference, so that it can fail.

// timingRuns is how many attempts each case gets.
const timingRuns = 200

// runs is how many attempts each case gets: the tests without equalising
// use the same measurement on half as many, since the difference they must
// see is large (60–85 % for a reset, 15–45 % for signup) and under -race on
// a loaded machine 400 signups take over a minute.
func runs(skipEqualising bool) int {
	if skipEqualising {
		return timingRuns / 2
	}
	return timingRuns
}

// timingAttempts is how many whole measurements may be made before a
// timing test fails: on two cores shared with other packages' tests (load
// averages of 10 and more while developing here), one measurement in a
// few lands a little over 10 % by chance; a real difference does every
// time (the tests without equalising: 60–85 %).
const timingAttempts = 3

// measureMedians runs known(i) and unknown(i) for i in [0, n),
// interleaved (alternating which goes first), and returns the median
// duration of each.
func measureMedians(n int, known, unknown func(i int)) (mk, mu time.Duration) {
	dk, du := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	timed := func(f func(int), i int) time.Duration {
		start := time.Now()
		f(i)
		return time.Since(start)
	}
	for i := range n {
		if i%2 == 0 {
			dk = append(dk, timed(known, i))
			du = append(du, timed(unknown, i))
		} else {
			du = append(du, timed(unknown, i))
			dk = append(dk, timed(known, i))
		}
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	return median(dk), median(du)
}

// relDiff is |a-b| relative to the smaller: the stricter reading of
// "within 10 %".
func relDiff(a, b time.Duration) float64 {
	hi, lo := max(a, b), min(a, b)
	return float64(hi-lo) / float64(lo)
}

func expectAlike(t *testing.T, flow string, measure func() (time.Duration, time.Duration)) {
	t.Helper()
	expectTiming(t, flow, measure, false)
}

func expectApart(t *testing.T, flow string, measure func() (time.Duration, time.Duration)) {
	t.Helper()
	expectTiming(t, flow+" without equalising", measure, true)
}

// expectTiming measures until the medians are within 10 % of each other
// (or, wantApart, more than 10 % apart), up to timingAttempts times.
func expectTiming(t *testing.T, flow string, measure func() (time.Duration, time.Duration), wantApart bool) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		known, unknown := measure()
		d := relDiff(known, unknown)
		t.Logf("%s, attempt %d: median known %v, unknown %v (%.1f %% apart)", flow, attempt, known, unknown, 100*d)
		if (d > 0.10) == wantApart {
			return
		}
		if attempt < timingAttempts {
			continue
		}
		if wantApart {
			t.Fatalf("%s: medians %v (known) and %v (unknown) are within 10 %%: the measurement cannot tell them apart", flow, known, unknown)
		}
		t.Fatalf("%s: medians %v (known) and %v (unknown) differ by %.1f %%, more than 10 %%", flow, known, unknown, 100*d)
	}
}

// addressTiming returns a measurement of send for timingRuns addresses that
// have an account (in a tenant of their own) against as many without one,
// through the whole edge and the real services of a. Each attempt sends to
// the same addresses, so both cases find what the previous attempt left.
func addressTiming(t *testing.T, a *testApp, skip bool, send func(email string)) func() (known, unknown time.Duration) {
	t.Helper()
	tenant, _ := a.newTenant()
	users := make([]*rampart.User, timingRuns+10)
	for i := range users {
		users[i] = a.newUser(tenant, rampart.RoleMember)
	}
	prefix := rampart.NewID()[:8]
	return func() (time.Duration, time.Duration) {
		// Warm up both paths (statement caches, pools, the audit chain's page).
		for i := range 10 {
			send(users[timingRuns+i].Email)
			send(fmt.Sprintf("warm-%s-%d@example.com", prefix, i))
		}
		return measureMedians(runs(skip),
			func(i int) { send(users[i].Email) },
			func(i int) { send(fmt.Sprintf("nobody-%s-%d@example.com", prefix, i)) })
	}
}
