package httpapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// Timing: for password reset and signup in verify mode, a known and an
// unknown address must take the same time to answer. The measurement
// interleaves the two cases (so that load from other tests, GC and the
// CPU's frequency hit both alike), compares medians (robust to the odd
// stall), and retries the whole measurement (up to timingAttempts) before
// failing, since CI runs it with -race on two shared cores. A second test turns the
// equalising off (IdentityConfig.SkipEqualising) and requires the same
// measurement to see a difference, so that it can fail.

// recoveryTimingRuns is how many attempts each case gets.
const recoveryTimingRuns = 200

// runs is how many attempts each case gets: the tests without equalising
// use the same measurement on half as many, since the difference they must
// see is large (60–85 % for a reset, 15–45 % for signup) and under -race on
// a loaded machine 400 signups take over a minute.
func runs(skipEqualising bool) int {
	if skipEqualising {
		return recoveryTimingRuns / 2
	}
	return recoveryTimingRuns
}

// timingAttempts is how many whole measurements may be made before a
// timing test fails: on two cores shared with other packages' tests (load
// averages of 10 and more while developing here), one measurement in a
// few lands a little over 10 % by chance; a real difference does every
// time (the tests without equalising: 60–85 %).
const timingAttempts = 3

// measureRecoveryMedians runs known(i) and unknown(i) for i in [0, n),
// interleaved (alternating which goes first), and returns the median
// duration of each.
func measureRecoveryMedians(n int, known, unknown func(i int)) (mk, mu time.Duration) {
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

// relDiff is |a-b| relative to the larger.
func relDiff(a, b time.Duration) float64 {
	hi, lo := max(a, b), min(a, b)
	return float64(hi-lo) / float64(hi)
}

// resetTiming returns a measurement of password-reset requests for 200
// existing accounts and 200 addresses without one. Each attempt asks for
// the same addresses, so both cases find (and revoke) the link, real or
// decoy, that the previous attempt left.
func resetTiming(t *testing.T, skip bool) func() (known, unknown time.Duration) {
	a := newTestAppWith(t, appConfig{identity: func(c *rampart.IdentityConfig) { c.SkipEqualising = skip }})
	tenant, _ := a.newTenant()
	users := make([]*rampart.User, recoveryTimingRuns+10)
	for i := range users {
		users[i] = a.newUser(tenant, rampart.RoleMember)
	}
	req := func(email string) {
		if r := a.do("POST", "/v1/auth/password-reset", "", map[string]string{"email": email}); r.Code != http.StatusAccepted {
			t.Fatalf("reset: %d %s", r.Code, r.Body)
		}
	}
	prefix := rampart.NewID()[:8]
	return func() (time.Duration, time.Duration) {
		// Warm up both paths (statement caches, pools).
		for i := range 10 {
			req(users[recoveryTimingRuns+i].Email)
			req(fmt.Sprintf("warm-%s-%d@example.com", prefix, i))
		}
		return measureRecoveryMedians(runs(skip),
			func(i int) { req(users[i].Email) },
			func(i int) { req(fmt.Sprintf("nobody-%s-%d@example.com", prefix, i)) })
	}
}

// TestPasswordResetTiming: median times for known and unknown addresses
// are within 10 % over 200 interleaved attempts each.
func TestPasswordResetTiming(t *testing.T) {
	expectAlike(t, "password reset", resetTiming(t, false))
}

// TestPasswordResetTimingNoticesSkippedEqualising: without the decoy work
// for an unknown address, the same measurement tells the two apart.
func TestPasswordResetTimingNoticesSkippedEqualising(t *testing.T) {
	expectApart(t, "password reset", resetTiming(t, true))
}

// fixedCostHasher stands in for argon2id in the signup timing tests: a
// fixed wait per hash (10 ms, of the order of argon2id's own time), so
// that 400 signups take seconds rather than the minutes argon2id takes
// under -race, while a flow that skips the hash for one case still shows
// (a wait, unlike computation, is not slowed down by -race, so it stands
// out there as it would in production). The production hasher's cost
// does not depend on the address.
type fixedCostHasher struct{}

func (fixedCostHasher) Hash(_ context.Context, pw string) (string, error) {
	time.Sleep(10 * time.Millisecond)
	sum := sha256.Sum256([]byte(pw))
	return fmt.Sprintf("$fixed$%x", sum[:8]), nil
}
func (fixedCostHasher) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, nil
}
func (fixedCostHasher) VerifyDummy(context.Context, string) error { return nil }
func (fixedCostHasher) Busy() error                               { return nil }

func signupTiming(t *testing.T, skip bool) func() (taken, fresh time.Duration) {
	a := newTestAppWith(t, appConfig{hasher: fixedCostHasher{}, identity: func(c *rampart.IdentityConfig) {
		c.Signup, c.SkipEqualising = rampart.SignupVerify, skip
	}})
	tenant, _ := a.newTenant()
	users := make([]*rampart.User, recoveryTimingRuns+10)
	for i := range users {
		users[i] = a.newUser(tenant, rampart.RoleMember)
	}
	req := func(email string) {
		if r := a.do("POST", "/v1/signup", "", signupBody(email)); r.Code != http.StatusAccepted {
			t.Fatalf("signup: %d %s", r.Code, r.Body)
		}
	}
	prefix := rampart.NewID()[:8]
	return func() (time.Duration, time.Duration) {
		for i := range 10 {
			req(users[recoveryTimingRuns+i].Email)
			req(fmt.Sprintf("warm-%s-%d@example.com", prefix, i))
		}
		return measureRecoveryMedians(runs(skip),
			func(i int) { req(users[i].Email) },
			func(i int) { req(fmt.Sprintf("fresh-%s-%d@example.com", prefix, i)) })
	}
}

// TestSignupVerifyTiming: in verify mode, median times for a taken and a
// fresh address are within 10 % over 200 interleaved attempts each.
func TestSignupVerifyTiming(t *testing.T) {
	expectAlike(t, "signup (verify)", signupTiming(t, false))
}

// TestSignupVerifyTimingNoticesSkippedEqualising: a signup that skips the
// hash for a taken address is told apart by the same measurement.
func TestSignupVerifyTimingNoticesSkippedEqualising(t *testing.T) {
	expectApart(t, "signup (verify)", signupTiming(t, true))
}

func expectAlike(t *testing.T, flow string, measure func() (time.Duration, time.Duration)) {
	for attempt := 1; ; attempt++ {
		known, unknown := measure()
		d := relDiff(known, unknown)
		t.Logf("%s, attempt %d: median known %v, unknown %v (%.1f %% apart)", flow, attempt, known, unknown, 100*d)
		if d <= 0.10 {
			return
		}
		if attempt == timingAttempts {
			t.Fatalf("%s: medians %v (known) and %v (unknown) differ by %.1f %%, more than 10 %%", flow, known, unknown, 100*d)
		}
	}
}

func expectApart(t *testing.T, flow string, measure func() (time.Duration, time.Duration)) {
	for attempt := 1; ; attempt++ {
		known, unknown := measure()
		d := relDiff(known, unknown)
		t.Logf("%s without equalising, attempt %d: median known %v, unknown %v (%.1f %% apart)", flow, attempt, known, unknown, 100*d)
		if d > 0.10 {
			return
		}
		if attempt == timingAttempts {
			t.Fatalf("%s without equalising: medians %v (known) and %v (unknown) are within 10 %%: the measurement cannot tell them apart", flow, known, unknown)
		}
	}
}
