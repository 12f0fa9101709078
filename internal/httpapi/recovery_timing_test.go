package httpapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// resetTiming returns a measurement of password-reset requests for 200
// existing accounts and 200 addresses without one. Each attempt asks for
// the same addresses, so both cases find (and revoke) the link, real or
// decoy, that the previous attempt left.
func resetTiming(t *testing.T, skip bool) func() (known, unknown time.Duration) {
	a := newTestAppWith(t, appConfig{identity: func(c *rampart.IdentityConfig) { c.SkipEqualising = skip }})
	return addressTiming(t, a, skip, func(email string) {
		if r := a.do("POST", "/v1/auth/password-reset", "", map[string]string{"email": email}); r.Code != http.StatusAccepted {
			t.Fatalf("reset: %d %s", r.Code, r.Body)
		}
	})
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
	return addressTiming(t, a, skip, func(email string) {
		if r := a.do("POST", "/v1/signup", "", signupBody(email)); r.Code != http.StatusAccepted {
			t.Fatalf("signup: %d %s", r.Code, r.Body)
		}
	})
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
