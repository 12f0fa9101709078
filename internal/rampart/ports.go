package rampart

import (
	"context"
	"time"
)

// The domain services' dependencies (ports) are declared here, in one
// place; the adapters (password, token, seal, throttle, totp) satisfy them
// structurally.

// PasswordHasher hashes and verifies passwords.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded
	// should be replaced by a fresh hash (older parameters or algorithm).
	Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error)
	// VerifyDummy does the work of a verification that fails, so that an
	// unknown account costs as much as a wrong password.
	VerifyDummy(ctx context.Context, password string) error
	// Busy returns the overload error that a hash would get now, or nil.
	// It reserves nothing: after nil, the hash itself may still be refused.
	Busy() error
}

// PasswordPolicy says whether a new password is acceptable; its error
// message is shown to the user. The context words (email, names) must not
// appear in the password.
type PasswordPolicy interface {
	Check(password string, context ...string) error
	// Lengths are the shortest and longest acceptable password, in
	// characters; the API document publishes them.
	Lengths() (minLength, maxLength int)
}

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	Subject   string // user id
	TenantID  string
	Role      Role
	Scope     string
	SessionID string
	ID        string // jti
	IssuedAt  time.Time
	Expiry    time.Time
	// AuthTime is the session's AuthTime (auth_time, RFC 9470); zero in a
	// token issued before sessions had one.
	AuthTime time.Time
}

// TokenVerifier checks an access token's signature and claims at now.
type TokenVerifier interface {
	Verify(ctx context.Context, token string, now time.Time) (AccessClaims, error)
}

// TokenIssuer signs access tokens.
type TokenIssuer interface {
	Issue(c AccessClaims) (string, error)
}

// Sealer encrypts small secrets at rest (TOTP seeds). The additional data
// binds a sealed value to its owner so it cannot be moved to another row.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// LoginThrottle limits password guessing. The account key is the email's
// EmailKey, whether or not such a user exists, so that unknown and known
// accounts behave alike.
type LoginThrottle interface {
	// Allow returns a zero duration when a login attempt may be checked now,
	// or how long the caller must wait.
	Allow(ctx context.Context, account, sourceIP string) (time.Duration, error)
	// Fail records a failed attempt.
	Fail(ctx context.Context, account string) error
	// Reset forgets the account's failures after a success.
	Reset(ctx context.Context, account string) error
}

// TOTP verifies time-based one-time passwords and recovery codes.
type TOTP interface {
	GenerateSecret() ([]byte, error)
	EncodeSecret(secret []byte) string // base32, for typing in by hand
	KeyURI(secret []byte, issuer, account string) string
	// Verify returns the time step of code when it is valid at now and
	// later than lastStep (each code is accepted once).
	Verify(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool)
	GenerateRecoveryCodes(n int) ([]string, error)
	HashRecoveryCode(code string) string
	MatchRecoveryCode(code string, hashes []string) (index int, ok bool)
}
