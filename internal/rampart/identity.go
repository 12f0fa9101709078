package rampart

import (
	"time"
)

// IdentityConfig holds the lifetimes of credentials.
type IdentityConfig struct {
	Issuer       string        // shown in authenticator apps
	AccessTTL    time.Duration // access token lifetime, at most 15 minutes
	SessionIdle  time.Duration // a session not used for this long ends
	SessionMax   time.Duration // a session ends this long after sign-in, used or not
	RefreshGrace time.Duration // see Refresh; 0 to MaxRefreshGrace
	StepUpMaxAge time.Duration // see RequireStepUp; more than 0
	// PublicURL is the base that links in mail point to (RAMPART_PUBLIC_URL),
	// without a trailing slash.
	PublicURL string
	// Signup is RAMPART_SIGNUP ("" means SignupOpen).
	Signup SignupMode
	// SendVerification: in open mode, a new account is mailed a
	// verification link (a mail transport is configured).
	SendVerification bool
	// SkipEqualising is for tests only (serve never sets it): the flows
	// that must not tell a known address from an unknown one skip the
	// work that makes both cases cost the same, so that a test can show
	// that its timing measurement would notice the difference.
	SkipEqualising bool
}

// MaxRefreshGrace bounds IdentityConfig.RefreshGrace: beyond a minute it is
// a thief's window more than a race's.
const MaxRefreshGrace = time.Minute

// DefaultIdentityConfig follows the security baseline (JWT-04, SES-04):
// 10-minute access tokens, sessions idle-expiring after 7 days and ending
// after 30 days (NIST AAL1 ceiling); no refresh-reuse grace (RFC 9700
// §4.14.2); sensitive changes within 10 minutes of the last password proof.
var DefaultIdentityConfig = IdentityConfig{
	Issuer:       "Rampart",
	AccessTTL:    10 * time.Minute,
	SessionIdle:  7 * 24 * time.Hour,
	SessionMax:   30 * 24 * time.Hour,
	RefreshGrace: 0,
	StepUpMaxAge: 10 * time.Minute,
	PublicURL:    "http://127.0.0.1:8080",
}

var (
	// errInvalidCredentials is the one answer to every failed sign-in:
	// unknown email, wrong password and wrong second factor look alike.
	errInvalidCredentials = &Error{Kind: KindUnauthenticated, Code: CodeInvalidCredentials,
		Message: "the email, password or code is not correct"}
	errMFARequired = &Error{Kind: KindUnauthenticated, Code: CodeMFARequired,
		Message: "this account needs a one-time code from its authenticator app"}
	errInvalidRefresh = &Error{Kind: KindUnauthenticated, Code: CodeInvalidToken,
		Message: "the refresh token is not valid"}
	errSessionEnded = &Error{Kind: KindUnauthenticated, Code: CodeInvalidToken,
		Message: "the session has ended; sign in again"}
	// errPersonRequired refuses an API key what only a person who can
	// prove a password may do (step-up routes, reauthentication).
	errPersonRequired = &Error{Kind: KindForbidden,
		Message: "an API key cannot do this; a person must sign in and prove their password"}
)

// Identity is the accounts service: it signs people up and in, and manages
// their sessions, passwords and second factors. New builds it.
type Identity struct {
	store    Store
	hasher   PasswordHasher
	policy   PasswordPolicy
	tokens   TokenIssuer
	sealer   Sealer
	throttle LoginThrottle
	totp     TOTP
	auditor  Auditor
	events   securityEvents
	outbox   Outbox // reset, verification and notice mail
	now      func() time.Time
	cfg      IdentityConfig
}

// PasswordLengths are the configured policy's limits on a new password.
func (s *Identity) PasswordLengths() (minLength, maxLength int) { return s.policy.Lengths() }
