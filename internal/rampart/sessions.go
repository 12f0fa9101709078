package rampart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"
)

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
	if err != nil {
		return nil, notFoundAs(err, errInvalidRefresh)
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
		return s.auditor.Record(ctx, tx, meta, sess.TenantID, sess.UserID, "session.refresh_reuse", sess.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	if reused {
		s.events.record(ctx, meta, EventRefreshReuse, sess.TenantID, sess.UserID, "refresh token reused; session revoked")
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
		return s.auditor.Record(ctx, tx, meta, p.TenantID, p.UserID, typ, sessionID, nil)
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
