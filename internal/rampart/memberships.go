package rampart

import (
	"context"
	"errors"
)

// MaxMemberships bounds the memberships GET /v1/me lists: the oldest ones.
const MaxMemberships = 1000

// Memberships lists the principal's account's tenants, oldest first (at
// most MaxMemberships), for GET /v1/me. Only a person has memberships; an
// API key has none.
func (s *Identity) Memberships(ctx context.Context, p Principal) ([]*Membership, error) {
	if p.UserID == "" {
		return nil, nil
	}
	ms, err := s.store.ListMemberships(ctx, p.UserID)
	if len(ms) > MaxMemberships {
		ms = ms[:MaxMemberships]
	}
	return ms, err
}

// errNoSuchTenant answers a switch to a tenant the account is not a member
// of, whether or not the tenant exists, so that the answer reveals nothing
// about other tenants.
var errNoSuchTenant = &Error{Kind: KindNotFound, Message: "tenant not found"}

// SwitchTenant moves the principal's own session to another tenant of its
// account and returns a new pair for that membership. The session keeps
// its id, creation time and auth_time (switching proves nothing new, so
// step-up stays as it was); its refresh token is rotated. From the moment
// the session has moved, the access and refresh tokens issued for the old
// tenant stop working: the access token names a session that is no longer
// in its tenant, and the refresh token is a rotated-out one, whose reuse
// revokes the session as any refresh-token reuse does.
//
// A tenant the account is not a member of is NotFound, whether it exists
// or not. The switch is audited in the tenant the session enters (the
// tenant whose data it will now act on), not in the one it leaves: that
// tenant's admins saw the sign-in, and must not learn which other tenants
// the account belongs to.
func (s *Identity) SwitchTenant(ctx context.Context, meta RequestMeta, p Principal, tenantID string) (*Tokens, error) {
	if p.APIKeyID != "" || p.SessionID == "" {
		return nil, errPersonRequired
	}
	if !ValidID(tenantID) {
		return nil, errNoSuchTenant
	}
	user, err := s.store.GetUser(ctx, tenantID, p.UserID)
	if err != nil {
		return nil, notFoundAs(err, errNoSuchTenant)
	}
	now := s.now()
	refresh, hash := newRefreshToken()
	var sess *Session
	err = s.store.Atomically(ctx, func(tx Store) error {
		sess, err = tx.MoveSession(ctx, p.TenantID, p.SessionID, tenantID, func(sess *Session) error {
			if sess.UserID != p.UserID || !sessionLive(sess, now) {
				return errSessionEnded
			}
			rotate(sess, hash, now)
			s.touch(sess, meta, now)
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.rememberTenant(ctx, tx, user); err != nil {
			return err
		}
		return s.auditor.Record(ctx, tx, meta, tenantID, p.UserID, "session.tenant_switched", p.SessionID, nil)
	})
	if ErrorKind(err) == KindNotFound {
		// The membership went meanwhile, or the session did.
		if _, gerr := s.store.GetUser(ctx, tenantID, p.UserID); ErrorKind(gerr) == KindNotFound {
			return nil, errNoSuchTenant
		}
		return nil, errSessionEnded
	}
	if errors.Is(err, errSessionEnded) {
		return nil, errSessionEnded
	}
	if err != nil {
		return nil, err
	}
	return s.issue(user, sess, refresh, now)
}
