package rampart

import (
	"context"
	"crypto/subtle"
	"slices"
	"time"
)

// Authenticator turns every credential a request can carry into a
// Principal, in one place: an access token (whose session must still be
// live) or an API key (neither revoked nor expired). It also holds the
// step-up rule for sensitive changes. New builds it.
type Authenticator struct {
	store        Store
	verifier     TokenVerifier
	now          func() time.Time
	stepUpMaxAge time.Duration
}

// Authenticate resolves a bearer credential to its principal. An API key
// is recognised by its prefix; anything else must be an access token,
// verified against the domain's clock, so that token expiry, session
// expiry and the sign-in throttle all read the same time.
func (a *Authenticator) Authenticate(ctx context.Context, credential string) (Principal, error) {
	if IsAPIKey(credential) {
		return a.apiKey(ctx, credential)
	}
	claims, err := a.verifier.Verify(ctx, credential, a.now())
	if err != nil {
		return Principal{}, err
	}
	return a.session(ctx, claims)
}

// session resolves verified access-token claims to a principal. The
// session is looked up on every call, so a revoked session's tokens stop
// working on the very next request, not at expiry.
func (a *Authenticator) session(ctx context.Context, c AccessClaims) (Principal, error) {
	sess, err := a.store.GetSession(ctx, c.TenantID, c.SessionID)
	if ErrorKind(err) == KindNotFound || (err == nil && (sess.UserID != c.Subject || !sessionLive(sess, a.now()))) {
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
func (a *Authenticator) RequireStepUp(p Principal) error {
	if p.APIKeyID != "" {
		return errPersonRequired
	}
	if p.AuthTime.IsZero() || a.now().Sub(p.AuthTime) > a.stepUpMaxAge {
		return &Error{Kind: KindUnauthenticated, Code: CodeStepUpRequired, MaxAge: a.stepUpMaxAge,
			Message: "this change needs a recent sign-in: prove your password again with POST /v1/auth/reauthenticate"}
	}
	return nil
}

// apiKey resolves a key to its principal. A malformed key is
// refused without a lookup; a revoked or expired one is refused from the
// moment it is revoked or expires, since the key is looked up every time.
// The key's last-used time is brought up to date when it is more than
// apiKeyTouchEvery old, so a busy key is not a write per request.
func (a *Authenticator) apiKey(ctx context.Context, key string) (Principal, error) {
	id, ok := parseAPIKey(key)
	if !ok {
		return Principal{}, errInvalidAPIKey
	}
	hash := hashToken(key)
	k, err := a.store.FindAPIKeyByHash(ctx, hash)
	if err != nil {
		return Principal{}, notFoundAs(err, errInvalidAPIKey)
	}
	now := a.now()
	if subtle.ConstantTimeCompare(k.Hash, hash) != 1 || k.ID != id || !k.RevokedAt.IsZero() {
		return Principal{}, errInvalidAPIKey
	}
	// Said only to the holder of the whole key, and only when it was not
	// revoked: "expired" tells the client to get a new key, not that the
	// one it holds was ever withdrawn.
	if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
		return Principal{}, errExpiredAPIKey
	}
	if now.Sub(k.LastUsedAt) >= apiKeyTouchEvery {
		// Best effort: the key is valid whether or not the time is saved.
		_ = a.store.TouchAPIKey(ctx, k.TenantID, k.ID, now)
	}
	return Principal{TenantID: k.TenantID, APIKeyID: k.ID, Scopes: slices.Clone(k.Scopes)}, nil
}
