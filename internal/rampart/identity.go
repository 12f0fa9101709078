package rampart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The identity service's dependencies are declared here, where they are
// used; the adapters (password, token, seal, throttle, totp) satisfy them
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

// IdentityConfig holds the lifetimes of credentials.
type IdentityConfig struct {
	Issuer       string        // shown in authenticator apps
	AccessTTL    time.Duration // access token lifetime, at most 15 minutes
	SessionIdle  time.Duration // a session not used for this long ends
	SessionMax   time.Duration // a session ends this long after sign-in, used or not
	RefreshGrace time.Duration // see Refresh; 0 to MaxRefreshGrace
	StepUpMaxAge time.Duration // see RequireStepUp; more than 0
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

// Identity signs people up and in, and manages their sessions, passwords and
// second factors.
type Identity struct {
	store    Store
	hasher   PasswordHasher
	policy   PasswordPolicy
	tokens   TokenIssuer
	sealer   Sealer
	throttle LoginThrottle
	totp     TOTP
	now      func() time.Time
	cfg      IdentityConfig
}

// IdentityDeps are Identity's collaborators; all are required.
type IdentityDeps struct {
	Store    Store
	Hasher   PasswordHasher
	Policy   PasswordPolicy
	Tokens   TokenIssuer
	Sealer   Sealer
	Throttle LoginThrottle
	TOTP     TOTP
	Now      func() time.Time // nil means time.Now
}

// NewIdentity returns the identity service.
func NewIdentity(d IdentityDeps, cfg IdentityConfig) (*Identity, error) {
	if d.Store == nil || d.Hasher == nil || d.Policy == nil || d.Tokens == nil || d.Sealer == nil ||
		d.Throttle == nil || d.TOTP == nil {
		return nil, errors.New("rampart: identity: a dependency is missing")
	}
	if cfg.AccessTTL <= 0 || cfg.AccessTTL > MaxAccessTTL {
		return nil, errors.New("rampart: identity: the access token lifetime must be at most 15 minutes")
	}
	if cfg.RefreshGrace < 0 || cfg.RefreshGrace > MaxRefreshGrace || cfg.StepUpMaxAge <= 0 {
		return nil, errors.New("rampart: identity: the refresh grace must be 0 to 1 minute and the step-up age more than 0")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Identity{store: d.Store, hasher: d.Hasher, policy: d.Policy, tokens: d.Tokens, sealer: d.Sealer,
		throttle: d.Throttle, totp: d.TOTP, now: d.Now, cfg: cfg}, nil
}

// Now is the identity service's clock (IdentityDeps.Now). The edge checks
// access tokens against it, so that token expiry, session expiry and the
// sign-in throttle all read the same time.
func (s *Identity) Now() time.Time { return s.now() }

// PasswordLengths are the configured policy's limits on a new password.
func (s *Identity) PasswordLengths() (minLength, maxLength int) { return s.policy.Lengths() }

// SignupInput is what a new tenant's first admin provides.
type SignupInput struct {
	Email        string
	Password     string
	DisplayName  string
	Organization string
}

// Signup creates a tenant and its first user, an admin.
func (s *Identity) Signup(ctx context.Context, meta RequestMeta, in SignupInput) (*User, *Tenant, error) {
	if err := s.checkPassword("password", in.Password, in.Email, in.DisplayName, in.Organization); err != nil {
		return nil, nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	tenant := &Tenant{ID: NewID(), Name: in.Organization, CreatedAt: now}
	user := &User{ID: NewID(), TenantID: tenant.ID, Email: in.Email, DisplayName: in.DisplayName,
		Role: RoleAdmin, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err = s.store.Atomically(ctx, func(tx Store) error {
		if err := tx.CreateTenant(ctx, tenant, user); err != nil {
			if ErrorKind(err) == KindConflict {
				return errEmailTaken(err)
			}
			return err
		}
		return s.audit(ctx, tx, meta, tenant.ID, user.ID, "user.signup", user.ID, nil)
	})
	if err != nil {
		return nil, nil, err
	}
	return user, tenant, nil
}

// errEmailTaken is the answer to creating a user whose email another
// account has; err is the store's conflict.
func errEmailTaken(err error) error {
	return &Error{Kind: KindConflict, Code: "email-taken", Message: "an account with this email exists", Err: err}
}

// checkPassword applies the policy and reports a violation as a field error.
func (s *Identity) checkPassword(field, password string, context ...string) error {
	if err := s.policy.Check(password, context...); err != nil {
		return &Error{Kind: KindInvalid, Code: "weak-password", Field: field, Message: err.Error()}
	}
	return nil
}

// LoginInput is a sign-in attempt. TOTP holds either a current code from
// the authenticator app or one of the recovery codes.
type LoginInput struct {
	Email    string
	Password string
	TOTP     string
}

// Tokens are what a sign-in or refresh hands out.
type Tokens struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
	SessionID    string
}

// Login checks credentials and starts a session.
//
// Every failure the caller can cause looks the same (errInvalidCredentials)
// and costs the same: an unknown email is checked against a dummy hash.
// While an account is throttled even the right password gets
// KindRateLimited, so the throttle is no oracle.
func (s *Identity) Login(ctx context.Context, meta RequestMeta, in LoginInput) (*Tokens, error) {
	// Under a flood most attempts are refused for want of a hash slot;
	// refuse them before the throttle and the account lookup, whose work
	// would be wasted. Nothing here depends on the account, so a known and
	// an unknown email are still answered alike.
	if err := s.hasher.Busy(); err != nil {
		return nil, err
	}
	account := EmailKey(in.Email)
	if err := s.throttled(ctx, account, meta.SourceIP); err != nil {
		return nil, err
	}

	user, err := s.store.FindUserByEmail(ctx, in.Email)
	switch {
	case ErrorKind(err) == KindNotFound:
		if err := s.hasher.VerifyDummy(ctx, in.Password); err != nil {
			return nil, err
		}
		return nil, s.loginFailed(ctx, meta, account, nil)
	case err != nil:
		return nil, err
	}
	ok, needsRehash, err := s.hasher.Verify(ctx, in.Password, user.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.loginFailed(ctx, meta, account, user)
	}
	if user.MFA.Enabled {
		if in.TOTP == "" {
			return nil, errMFARequired
		}
		if err := s.checkSecondFactor(ctx, user, in.TOTP); err != nil {
			if errors.Is(err, errInvalidCredentials) {
				return nil, s.loginFailed(ctx, meta, account, user)
			}
			return nil, err
		}
	}
	if err := s.throttle.Reset(ctx, account); err != nil {
		return nil, err
	}
	if needsRehash {
		s.rehash(ctx, user, in.Password)
	}
	var tokens *Tokens
	err = s.store.Atomically(ctx, func(tx Store) error {
		if tokens, err = s.startSession(ctx, tx, meta, user); err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, user.TenantID, user.ID, "user.login", tokens.SessionID, nil)
	})
	if err != nil {
		return nil, err
	}
	return tokens, nil
}

// throttled refuses an attempt while the account's delay lasts.
func (s *Identity) throttled(ctx context.Context, account, sourceIP string) error {
	wait, err := s.throttle.Allow(ctx, account, sourceIP)
	if err != nil {
		return err
	}
	if wait > 0 {
		return &Error{Kind: KindRateLimited, Code: "login-throttled",
			Message: "too many failed sign-in attempts; try again later", RetryAfter: wait}
	}
	return nil
}

// loginFailed counts a failure and records it; it returns the generic error.
func (s *Identity) loginFailed(ctx context.Context, meta RequestMeta, account string, user *User) error {
	if err := s.throttle.Fail(ctx, account); err != nil {
		return err
	}
	if user != nil {
		// The failure is counted by the throttle, not in the database: the
		// event is the only write here.
		if err := s.audit(ctx, s.store, meta, user.TenantID, user.ID, "user.login_failed", user.ID, nil); err != nil {
			return err
		}
	}
	return errInvalidCredentials
}

// rehash upgrades a stored hash made with older parameters or bcrypt. It is
// best effort: the sign-in already succeeded, and the next one retries.
func (s *Identity) rehash(ctx context.Context, user *User, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return
	}
	old := user.PasswordHash
	_, _ = s.store.UpdateUser(ctx, user.TenantID, user.ID, func(u *User) error {
		if u.PasswordHash != old {
			return Errorf(KindConflict, "password changed meanwhile")
		}
		u.PasswordHash = hash
		u.UpdatedAt = s.now()
		return nil
	})
}

// checkSecondFactor accepts a TOTP code (once) or a recovery code (once),
// and records which was used.
func (s *Identity) checkSecondFactor(ctx context.Context, user *User, code string) error {
	secret, err := s.sealer.Open(user.MFA.TOTPSecret, totpAD(user.ID))
	if err != nil {
		return WrapError(KindInternal, err, "")
	}
	now := s.now()
	_, err = s.store.UpdateUser(ctx, user.TenantID, user.ID, func(u *User) error {
		// Checked inside the update, against the stored last step, so two
		// concurrent sign-ins cannot both spend the same code.
		if step, ok := s.totp.Verify(secret, code, now, u.MFA.LastTOTPStep); ok {
			u.MFA.LastTOTPStep = step
			return nil
		}
		if i, ok := s.totp.MatchRecoveryCode(code, u.MFA.RecoveryCodeHashes); ok {
			u.MFA.RecoveryCodeHashes = append(u.MFA.RecoveryCodeHashes[:i:i], u.MFA.RecoveryCodeHashes[i+1:]...)
			return nil
		}
		return errInvalidCredentials
	})
	return err
}

func totpAD(userID string) []byte { return []byte("totp:" + userID) }

// refreshTokenBytes is the refresh token's entropy: 256 bits (SES-01).
const refreshTokenBytes = 32

func newRefreshToken() (token string, hash []byte) {
	b := make([]byte, refreshTokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	token = "rt_" + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// startSession creates a session (a refresh-token family), whose password
// was proved just now, and its first pair of tokens.
func (s *Identity) startSession(ctx context.Context, st Store, meta RequestMeta, user *User) (*Tokens, error) {
	now := s.now()
	refresh, hash := newRefreshToken()
	sess := &Session{ID: NewID(), TenantID: user.TenantID, UserID: user.ID, TokenHash: hash,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionMax), AuthTime: now}
	s.touch(sess, meta, now)
	if err := st.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	return s.issue(user, sess, refresh, now)
}

// touch records that sess obtains tokens now, for the request in meta.
//
// "Last used" means this: the last sign-in, refresh or reauthentication,
// not the last request. Recording every request would add a database write
// to each of them; access tokens live AccessTTL (10 minutes), so a session
// in use is touched at least that often and LastUsedAt is that precise.
// The idle deadline moves with it, never past the session's end.
func (s *Identity) touch(sess *Session, meta RequestMeta, now time.Time) {
	sess.LastUsedAt = now
	sess.IdleExpiresAt = now.Add(s.cfg.SessionIdle)
	sess.IdleExpiresAt = sess.EndsAt()
	sess.ClientAddress = CoarseAddress(meta.SourceIP)
	sess.UserAgent = ShortUserAgent(meta.UserAgent)
}

// rotate makes newHash the session's refresh token, keeping the one it
// replaces as the previous token.
func rotate(sess *Session, newHash []byte, now time.Time) {
	sess.PreviousTokenHash, sess.TokenHash, sess.RotatedAt = sess.TokenHash, newHash, now
}

// issue signs an access token for sess. Its auth_time is the session's, so
// a refresh hands on the time of the last password proof, never renews it.
func (s *Identity) issue(user *User, sess *Session, refresh string, now time.Time) (*Tokens, error) {
	access, err := s.tokens.Issue(AccessClaims{
		Subject: user.ID, TenantID: user.TenantID, Role: user.Role, SessionID: sess.ID,
		ID: NewID(), IssuedAt: now, Expiry: now.Add(s.cfg.AccessTTL), AuthTime: sess.AuthTime,
	})
	if err != nil {
		return nil, WrapError(KindInternal, err, "")
	}
	return &Tokens{AccessToken: access, ExpiresIn: s.cfg.AccessTTL, RefreshToken: refresh, SessionID: sess.ID}, nil
}

// Refresh rotates a refresh token: the presented token is spent and a new
// pair is returned.
//
// Presenting a token that was already rotated means two parties hold the
// family (RFC 9700 §4.14.2), so the whole session is revoked at once. A
// deployment whose browser tabs race each other may set RefreshGrace: then
// the immediately previous token, within RefreshGrace of its rotation, is
// refused (401) but the session lives, and the losing tab picks up the
// winner's token from shared storage. That grace is also a window in which
// a thief's replay of that one token goes unpunished, so it is off by
// default; older tokens always revoke.
func (s *Identity) Refresh(ctx context.Context, meta RequestMeta, refreshToken string) (*Tokens, error) {
	if !strings.HasPrefix(refreshToken, "rt_") {
		return nil, errInvalidRefresh
	}
	hash := hashToken(refreshToken)
	found, err := s.store.FindSessionByTokenHash(ctx, hash)
	if ErrorKind(err) == KindNotFound {
		return nil, errInvalidRefresh
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	newToken, newHash := newRefreshToken()
	var reused bool
	rotate := func(sess *Session) error {
		if !sessionLive(sess, now) {
			return errSessionEnded
		}
		switch {
		case subtle.ConstantTimeCompare(sess.TokenHash, hash) == 1:
			rotate(sess, newHash, now)
			s.touch(sess, meta, now)
			return nil
		case s.cfg.RefreshGrace > 0 && subtle.ConstantTimeCompare(sess.PreviousTokenHash, hash) == 1 &&
			now.Sub(sess.RotatedAt) < s.cfg.RefreshGrace:
			return errInvalidRefresh
		default:
			reused = true
			sess.RevokedAt, sess.RevokedReason = now, "refresh token reused"
			return nil
		}
	}
	var sess *Session
	err = s.store.Atomically(ctx, func(tx Store) error {
		sess, err = tx.UpdateSession(ctx, found.TenantID, found.ID, rotate)
		if err != nil || !reused {
			return err
		}
		return s.audit(ctx, tx, meta, sess.TenantID, sess.UserID, "session.refresh_reuse", sess.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, &Error{Kind: KindUnauthenticated, Code: CodeTokenReused,
			Message: "the refresh token was already used; the session is revoked"}
	}
	user, err := s.store.GetUser(ctx, sess.TenantID, sess.UserID)
	if err != nil {
		return nil, err
	}
	return s.issue(user, sess, newToken, now)
}

func sessionLive(sess *Session, now time.Time) bool {
	return sess.RevokedAt.IsZero() && now.Before(sess.EndsAt())
}

// Authenticate resolves verified access-token claims to a principal. The
// session is looked up on every call, so a revoked session's tokens stop
// working on the very next request, not at expiry.
func (s *Identity) Authenticate(ctx context.Context, c AccessClaims) (Principal, error) {
	sess, err := s.store.GetSession(ctx, c.TenantID, c.SessionID)
	if ErrorKind(err) == KindNotFound || (err == nil && (sess.UserID != c.Subject || !sessionLive(sess, s.now()))) {
		return Principal{}, errSessionEnded
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{TenantID: c.TenantID, UserID: c.Subject, Role: c.Role, SessionID: c.SessionID, AuthTime: c.AuthTime}, nil
}

// RequireStepUp admits a principal to a sensitive change (a step-up route,
// RFC 9470): a person whose access token's auth_time is within
// StepUpMaxAge. A stolen access token is then worth minutes of reading, not
// a second factor or an API key of the thief's. Otherwise it returns a
// CodeStepUpRequired error (answered 401 with an
// insufficient_user_authentication challenge), which Reauthenticate
// resolves; an API key, which has no password to prove, is Forbidden.
func (s *Identity) RequireStepUp(p Principal) error {
	if p.APIKeyID != "" {
		return errPersonRequired
	}
	if p.AuthTime.IsZero() || s.now().Sub(p.AuthTime) > s.cfg.StepUpMaxAge {
		return &Error{Kind: KindUnauthenticated, Code: CodeStepUpRequired, MaxAge: s.cfg.StepUpMaxAge,
			Message: "this change needs a recent sign-in: prove your password again with POST /v1/auth/reauthenticate"}
	}
	return nil
}

// Reauthenticate proves the password, and the second factor when the
// account has one, again for the principal's own session, under the same
// throttle and hashing as a sign-in. It returns a new pair for the same
// session with a fresh auth_time, and rotates the session's refresh token.
// The caller is known, so a wrong password is simply invalid credentials.
func (s *Identity) Reauthenticate(ctx context.Context, meta RequestMeta, p Principal, password, code string) (*Tokens, error) {
	if p.APIKeyID != "" || p.SessionID == "" {
		return nil, errPersonRequired
	}
	if err := s.hasher.Busy(); err != nil {
		return nil, err
	}
	user, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return nil, err
	}
	if err := s.reauthenticate(ctx, meta, user, password); err != nil {
		return nil, err
	}
	account := EmailKey(user.Email)
	if user.MFA.Enabled {
		if code == "" {
			return nil, errMFARequired
		}
		if err := s.checkSecondFactor(ctx, user, code); err != nil {
			if errors.Is(err, errInvalidCredentials) {
				return nil, s.loginFailed(ctx, meta, account, user)
			}
			return nil, err
		}
	}
	if err := s.throttle.Reset(ctx, account); err != nil {
		return nil, err
	}
	now := s.now()
	refresh, hash := newRefreshToken()
	var sess *Session
	err = s.store.Atomically(ctx, func(tx Store) error {
		sess, err = tx.UpdateSession(ctx, p.TenantID, p.SessionID, func(sess *Session) error {
			if sess.UserID != p.UserID || !sessionLive(sess, now) {
				return errSessionEnded
			}
			rotate(sess, hash, now)
			s.touch(sess, meta, now)
			sess.AuthTime = now
			return nil
		})
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p.TenantID, p.UserID, "session.reauthenticated", p.SessionID, nil)
	})
	if ErrorKind(err) == KindNotFound {
		return nil, errSessionEnded
	}
	if err != nil {
		return nil, err
	}
	return s.issue(user, sess, refresh, now)
}

// Logout ends the principal's session.
func (s *Identity) Logout(ctx context.Context, meta RequestMeta, p Principal) error {
	return s.revokeSession(ctx, meta, p, p.SessionID, "logout", "session.logout")
}

// revokeSession revokes one of p's sessions and records it as an event of
// type typ, in one transaction. A session that is already revoked keeps
// its first revocation and gets no second event.
func (s *Identity) revokeSession(ctx context.Context, meta RequestMeta, p Principal, sessionID, reason, typ string) error {
	now := s.now()
	return s.store.Atomically(ctx, func(tx Store) error {
		revoked := false
		_, err := tx.UpdateSession(ctx, p.TenantID, sessionID, func(sess *Session) error {
			if sess.UserID != p.UserID {
				return Errorf(KindNotFound, "no such session")
			}
			if sess.RevokedAt.IsZero() {
				sess.RevokedAt, sess.RevokedReason = now, reason
				revoked = true
			}
			return nil
		})
		if err != nil || !revoked {
			return err
		}
		return s.audit(ctx, tx, meta, p.TenantID, p.UserID, typ, sessionID, nil)
	})
}

// Me returns the principal's user.
func (s *Identity) Me(ctx context.Context, p Principal) (*User, error) {
	return s.store.GetUser(ctx, p.TenantID, p.UserID)
}

// UpdateMe changes the principal's display name.
func (s *Identity) UpdateMe(ctx context.Context, p Principal, displayName string) (*User, error) {
	return s.store.UpdateUser(ctx, p.TenantID, p.UserID, func(u *User) error {
		u.DisplayName = displayName
		u.UpdatedAt = s.now()
		return nil
	})
}

// reauthenticate checks a signed-in user's password again before a
// sensitive change. It shares the sign-in throttle: a wrong password here
// counts as a failed sign-in, and a throttled account is refused.
func (s *Identity) reauthenticate(ctx context.Context, meta RequestMeta, user *User, password string) error {
	account := EmailKey(user.Email)
	if err := s.throttled(ctx, account, meta.SourceIP); err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, password, user.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return s.loginFailed(ctx, meta, account, user)
	}
	return nil
}

// ChangePassword replaces the principal's password after checking the
// current one, and revokes every other session (PWD-07). A wrong current
// password counts as a failed sign-in.
func (s *Identity) ChangePassword(ctx context.Context, meta RequestMeta, p Principal, current, next string) error {
	user, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, meta, user, current); err != nil {
		return err
	}
	if err := s.checkPassword("newPassword", next, user.Email, user.DisplayName); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now()
	return s.store.Atomically(ctx, func(tx Store) error {
		if _, err := tx.UpdateUser(ctx, p.TenantID, p.UserID, func(u *User) error {
			u.PasswordHash, u.UpdatedAt = hash, now
			return nil
		}); err != nil {
			return err
		}
		if err := tx.RevokeUserSessions(ctx, p.TenantID, p.UserID, p.SessionID, now, "password changed"); err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p.TenantID, p.UserID, "user.password_changed", p.UserID, nil)
	})
}

// Sessions lists the principal's live sessions.
func (s *Identity) Sessions(ctx context.Context, p Principal, page Page) ([]*Session, Cursor, error) {
	return s.store.ListActiveSessions(ctx, p.TenantID, p.UserID, s.now(), page)
}

// RevokeSession ends one of the principal's own sessions; anyone else's is
// not found.
func (s *Identity) RevokeSession(ctx context.Context, meta RequestMeta, p Principal, sessionID string) error {
	return s.revokeSession(ctx, meta, p, sessionID, "revoked by user", "session.revoked")
}

// TOTPEnrolment is a pending second factor: shown once, active after
// ConfirmTOTP.
type TOTPEnrolment struct {
	Secret string // base32, for typing in by hand
	URI    string // otpauth:// for QR codes
}

// EnrolTOTP starts (or restarts) TOTP enrolment. The secret is stored
// sealed and stays inactive until a first valid code confirms it (MFA-03).
func (s *Identity) EnrolTOTP(ctx context.Context, p Principal) (*TOTPEnrolment, error) {
	secret, err := s.totp.GenerateSecret()
	if err != nil {
		return nil, WrapError(KindInternal, err, "")
	}
	sealed, err := s.sealer.Seal(secret, totpAD(p.UserID))
	if err != nil {
		return nil, WrapError(KindInternal, err, "")
	}
	user, err := s.store.UpdateUser(ctx, p.TenantID, p.UserID, func(u *User) error {
		if u.MFA.Enabled {
			return &Error{Kind: KindConflict, Code: "mfa-enabled", Message: "TOTP is already enabled; disable it first"}
		}
		u.MFA = MFA{TOTPSecret: sealed}
		u.UpdatedAt = s.now()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Secret: s.totp.EncodeSecret(secret), URI: s.totp.KeyURI(secret, s.cfg.Issuer, user.Email)}, nil
}

// RecoveryCodeCount is how many single-use recovery codes a user gets.
const RecoveryCodeCount = 10

// ConfirmTOTP activates the pending secret with a first valid code and
// returns the recovery codes, shown this once.
func (s *Identity) ConfirmTOTP(ctx context.Context, meta RequestMeta, p Principal, code string) ([]string, error) {
	codes, err := s.totp.GenerateRecoveryCodes(RecoveryCodeCount)
	if err != nil {
		return nil, WrapError(KindInternal, err, "")
	}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = s.totp.HashRecoveryCode(c)
	}
	now := s.now()
	confirm := func(u *User) error {
		if u.MFA.Enabled {
			return &Error{Kind: KindConflict, Code: "mfa-enabled", Message: "TOTP is already enabled"}
		}
		if u.MFA.TOTPSecret == nil {
			return &Error{Kind: KindConflict, Code: "mfa-not-enrolled", Message: "start TOTP enrolment first"}
		}
		secret, err := s.sealer.Open(u.MFA.TOTPSecret, totpAD(u.ID))
		if err != nil {
			return WrapError(KindInternal, err, "")
		}
		step, ok := s.totp.Verify(secret, code, now, u.MFA.LastTOTPStep)
		if !ok {
			return &Error{Kind: KindInvalid, Code: "invalid-code", Field: "code", Message: "the code is not correct"}
		}
		u.MFA = MFA{Enabled: true, TOTPSecret: u.MFA.TOTPSecret, LastTOTPStep: step, RecoveryCodeHashes: hashes}
		u.UpdatedAt = now
		return nil
	}
	err = s.store.Atomically(ctx, func(tx Store) error {
		_, err := tx.UpdateUser(ctx, p.TenantID, p.UserID, confirm)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p.TenantID, p.UserID, "user.mfa_enabled", p.UserID, nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP removes the second factor; it needs the password and a
// current code (or a recovery code), and counts failures like a sign-in.
func (s *Identity) DisableTOTP(ctx context.Context, meta RequestMeta, p Principal, password, code string) error {
	user, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	if !user.MFA.Enabled {
		return &Error{Kind: KindConflict, Code: "mfa-not-enabled", Message: "TOTP is not enabled"}
	}
	if err := s.reauthenticate(ctx, meta, user, password); err != nil {
		return err
	}
	if err := s.checkSecondFactor(ctx, user, code); err != nil {
		if errors.Is(err, errInvalidCredentials) {
			return s.loginFailed(ctx, meta, EmailKey(user.Email), user)
		}
		return err
	}
	return s.store.Atomically(ctx, func(tx Store) error {
		if _, err := tx.UpdateUser(ctx, p.TenantID, p.UserID, func(u *User) error {
			u.MFA = MFA{}
			u.UpdatedAt = s.now()
			return nil
		}); err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p.TenantID, p.UserID, "user.mfa_disabled", p.UserID, nil)
	})
}

// audit appends a security event to the tenant's chain through st: the tx
// of the Store.Atomically unit that makes the change the event records, so
// that the two are stored together or not at all, or the store itself for
// an event that is the only write. It never carries a secret: callers pass
// ids and fixed words only.
func (s *Identity) audit(ctx context.Context, st Store, meta RequestMeta, tenantID, actorID, typ, target string, details map[string]string) error {
	e := &AuditEvent{ID: NewID(), TenantID: tenantID, Time: s.now(), Type: typ, ActorID: actorID,
		SourceIP: meta.SourceIP, RequestID: meta.RequestID, Target: target}
	if details != nil {
		b, err := json.Marshal(details)
		if err != nil {
			return WrapError(KindInternal, err, "")
		}
		e.Details = b
	}
	if err := st.AppendAuditEvent(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", typ, err)
	}
	return nil
}
