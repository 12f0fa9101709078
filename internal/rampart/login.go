package rampart

import (
	"context"
	"errors"
	"time"
)

// LoginInput is a sign-in attempt. TOTP holds either a current code from
// the authenticator app or one of the recovery codes.
type LoginInput struct {
	Email    string
	Password string
	TOTP     string
	// TenantID is the tenant to sign in to, one of the account's; empty
	// for the account's last used tenant, else its oldest membership.
	TenantID string
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

	acct, err := s.store.FindAccountByEmail(ctx, in.Email)
	switch {
	case ErrorKind(err) == KindNotFound:
		if err := s.hasher.VerifyDummy(ctx, in.Password); err != nil {
			return nil, err
		}
		return nil, s.loginFailed(ctx, meta, account, nil)
	case err != nil:
		return nil, err
	}
	user, member, err := s.signInMembership(ctx, acct, in.TenantID)
	if err != nil {
		return nil, err
	}
	// The password is checked whatever the tenant: a tenant the account is
	// not a member of then fails exactly as a wrong password does (same
	// answer, same work, same count and record), so that sign-in tells no
	// one which tenants an account belongs to.
	ok, needsRehash, err := s.hasher.Verify(ctx, in.Password, user.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok || !member {
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
		if acct.LastTenantID != user.TenantID {
			if err := s.rememberTenant(ctx, tx, user); err != nil {
				return err
			}
		}
		return s.auditor.Record(ctx, tx, meta, user.TenantID, user.ID, "user.login", tokens.SessionID, nil)
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
		return &Error{Kind: KindRateLimited, Code: CodeLoginThrottled,
			Message: "too many failed sign-in attempts; try again later", RetryAfter: wait}
	}
	return nil
}

// loginFailed counts a failure and records it; it returns the generic error.
func (s *Identity) loginFailed(ctx context.Context, meta RequestMeta, account string, user *User) error {
	if err := s.throttle.Fail(ctx, account); err != nil {
		return err
	}
	if user == nil || user.TenantID == "" {
		// No account (or no tenant) to name: the email is never recorded.
		s.events.record(ctx, meta, EventAuthFailure, "", "", "unknown account")
		return errInvalidCredentials
	}
	// The failure is counted by the throttle, not in the database: the
	// event is the only write here.
	if err := s.auditor.Record(ctx, s.store, meta, user.TenantID, user.ID, "user.login_failed", user.ID, nil); err != nil {
		return err
	}
	// Only the domain knows whose credentials failed (password spraying is
	// one account from many sources), so it records this failure, not the
	// edge (see httpapi.eventFor).
	s.events.record(ctx, meta, EventAuthFailure, user.TenantID, user.ID, "wrong credentials")
	return errInvalidCredentials
}

// signInMembership picks the membership a sign-in of acct goes to: the
// requested tenant when acct is a member of it, else (member false) the
// default one, through which a failure is then counted and recorded. The
// default is the last used tenant while still a membership, else the
// oldest membership. An account without any membership (it cannot sign in
// anywhere) is returned as an invalid-credentials failure by the caller:
// member is false and user carries the account's password hash alone.
func (s *Identity) signInMembership(ctx context.Context, acct *Account, tenantID string) (user *User, member bool, err error) {
	ms, err := s.store.ListMemberships(ctx, acct.ID)
	if err != nil {
		return nil, false, err
	}
	var requested, fallback *Membership
	for _, m := range ms {
		if tenantID != "" && m.TenantID == tenantID {
			requested = m
		}
		if m.TenantID == acct.LastTenantID {
			fallback = m
		}
	}
	if requested != nil {
		return UserOf(acct, requested), true, nil
	}
	if fallback == nil && len(ms) > 0 {
		fallback = ms[0]
	}
	if fallback != nil {
		// The default tenant: the sign-in's own when none was asked for,
		// else the one that records the failure.
		return UserOf(acct, fallback), tenantID == "", nil
	}
	return &User{ID: acct.ID, Email: acct.Email, PasswordHash: acct.PasswordHash}, false, nil
}

// rememberTenant makes user's tenant the account's default for its next
// sign-in.
func (s *Identity) rememberTenant(ctx context.Context, st Store, user *User) error {
	_, err := st.UpdateAccount(ctx, user.ID, func(a *Account) error {
		a.LastTenantID = user.TenantID
		return nil
	})
	return err
}
