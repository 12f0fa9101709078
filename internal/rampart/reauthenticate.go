package rampart

import (
	"context"
	"errors"
)

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
		return s.auditor.Record(ctx, tx, meta, p.TenantID, p.UserID, "session.reauthenticated", p.SessionID, nil)
	})
	if err != nil {
		return nil, notFoundAs(err, errSessionEnded)
	}
	return s.issue(user, sess, refresh, now)
}
