package rampart

import (
	"slices"
	"time"
)

// Code names an error case more precisely than its Kind, for clients that
// branch on it: it becomes the last part of the problem "type" URL, so it is
// part of the public contract and stable once published. The set is closed:
// every Code is one of the constants below, each listed in codeKinds with
// the one Kind its errors have, and the HTTP edge has a row for each (a test
// there walks Codes()).
type Code string

const (
	// Sign-in and credentials (KindUnauthenticated).
	CodeInvalidCredentials Code = "invalid-credentials"
	CodeMFARequired        Code = "mfa-required"
	CodeInvalidToken       Code = "invalid-token"
	// CodeTokenExpired is for a credential that was valid and has expired
	// (an access token or an API key): the client should refresh or replace
	// it rather than treat it as forged.
	CodeTokenExpired   Code = "token-expired"
	CodeTokenReused    Code = "refresh-token-reused"
	CodeStepUpRequired Code = "step-up-required"

	// Overload (KindRateLimited, KindUnavailable): these carry RetryAfter.
	CodeLoginThrottled Code = "login-throttled"
	CodeBusy           Code = "busy"

	// Input (KindInvalid): answered with the generic validation problem, the
	// field named in its errors.
	CodeWeakPassword Code = "weak-password"
	CodeInvalidCode  Code = "invalid-code"
	// CodeInvalidLink is every link token that cannot be used, whatever
	// the reason (see InvalidLinkError): one answer, so nothing leaks.
	CodeInvalidLink Code = "invalid-link"

	// State rules (KindConflict, KindForbidden).
	CodeEmailTaken      Code = "email-taken"
	CodeMFAEnabled      Code = "mfa-enabled"
	CodeMFANotEnrolled  Code = "mfa-not-enrolled"
	CodeMFANotEnabled   Code = "mfa-not-enabled"
	CodeOrderNotPending Code = "order-not-pending"
	CodeLastAdmin       Code = "last-admin"
	CodeOwnRole         Code = "own-role"

	// CodeSignupClosed: RAMPART_SIGNUP=closed (KindForbidden).
	CodeSignupClosed Code = "signup-closed"
)

// codeKinds is the closed set of codes, each with the Kind of the errors
// that carry it.
var codeKinds = map[Code]Kind{
	CodeInvalidCredentials: KindUnauthenticated,
	CodeMFARequired:        KindUnauthenticated,
	CodeInvalidToken:       KindUnauthenticated,
	CodeTokenExpired:       KindUnauthenticated,
	CodeTokenReused:        KindUnauthenticated,
	CodeStepUpRequired:     KindUnauthenticated,
	CodeLoginThrottled:     KindRateLimited,
	CodeBusy:               KindUnavailable,
	CodeWeakPassword:       KindInvalid,
	CodeInvalidCode:        KindInvalid,
	CodeInvalidLink:        KindInvalid,
	CodeEmailTaken:         KindConflict,
	CodeMFAEnabled:         KindConflict,
	CodeMFANotEnrolled:     KindConflict,
	CodeMFANotEnabled:      KindConflict,
	CodeOrderNotPending:    KindConflict,
	CodeLastAdmin:          KindConflict,
	CodeOwnRole:            KindForbidden,
	CodeSignupClosed:       KindForbidden,
}

// Codes lists every Code, sorted, for the tables and tests that must cover
// them all.
func Codes() []Code {
	codes := make([]Code, 0, len(codeKinds))
	for c := range codeKinds {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// Kind is the Kind of every error that carries c; KindInternal for a string
// that is not a Code.
func (c Code) Kind() Kind {
	if k, ok := codeKinds[c]; ok {
		return k
	}
	return KindInternal
}

// RetryAfterUnavailable is what a client is told to wait when a dependency
// (the store, the rate limiter) does not answer: long enough not to hammer
// it, short enough to notice recovery.
const RetryAfterUnavailable = 5 * time.Second
