package rampart

import "context"

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
