package rampart

import (
	"context"
	"time"
)

// SignupMode is RAMPART_SIGNUP: how POST /v1/signup treats a stranger.
type SignupMode string

const (
	// SignupOpen creates the account and tenant at once (201), and answers
	// 409 for a taken address. The default outside production.
	SignupOpen SignupMode = "open"
	// SignupVerify answers 202 to every well-formed request, whether or not
	// the address has an account, and mails a link: a new address gets one
	// that completes the signup (ConfirmSignup), a taken one a notice with a
	// password-reset link. The default in production.
	SignupVerify SignupMode = "verify"
	// SignupClosed refuses signup (403); tenants are created by an operator.
	SignupClosed SignupMode = "closed"
)

// SignupModes lists the modes.
func SignupModes() []SignupMode { return []SignupMode{SignupOpen, SignupVerify, SignupClosed} }

// Mail paths: the pages the links point to (see mailLink).
const (
	signupConfirmPath = "/signup/confirm"
	passwordResetPath = "/password-reset"
	verifyEmailPath   = "/verify-email"
)

var errSignupClosed = &Error{Kind: KindForbidden, Code: CodeSignupClosed,
	Message: "signup is closed on this server; ask an administrator for an invitation"}

// SignupClosedError is the answer to a signup when the mode is closed, for
// the edge to give without a request body: one message, kept here.
func SignupClosedError() error { return errSignupClosed }

// SignupMode is the configured mode ("" in the config means open).
func (s *Identity) SignupMode() SignupMode {
	if s.cfg.Signup == "" {
		return SignupOpen
	}
	return s.cfg.Signup
}

// RequestSignup is signup in verify mode: it checks the input and hashes the
// password whatever the address, then, in one unit, either stores a signup
// link (the chosen password's hash inside it, 24 h) and queues it to a new
// address, or queues a notice with a password-reset link (30 min) to the
// account that has the address. The caller answers 202 either way.
//
// Equalising: both branches do the same work before the answer — the one
// argon2id hash, one lookup, one revocation of older links of the same
// purpose, one link stored, one message sealed and queued, one commit — so
// neither the answer nor its time tells whether the address has an
// account (TestSignupVerifyTiming measures it).
func (s *Identity) RequestSignup(ctx context.Context, meta RequestMeta, in SignupInput) error {
	switch s.SignupMode() {
	case SignupClosed:
		return errSignupClosed
	case SignupOpen:
		return Errorf(KindInternal, "RequestSignup in open mode")
	}
	if err := checkPassword(s.policy, "password", in.Password, in.Email, in.DisplayName, in.Organization); err != nil {
		return err
	}
	var hash string
	if !s.cfg.SkipEqualising || !s.addressTaken(ctx, in.Email) {
		var err error
		if hash, err = s.hasher.Hash(ctx, in.Password); err != nil {
			return err
		}
	}
	now := s.now()
	err := s.store.Atomically(ctx, func(tx Store) error {
		acct, err := tx.FindAccountByEmail(ctx, in.Email)
		switch {
		case ErrorKind(err) == KindNotFound:
			link, token := NewLink(LinkSignup, in.Email, now)
			link.DisplayName, link.Organization, link.PasswordHash = in.DisplayName, in.Organization, hash
			// Only the newest signup link of an address works.
			if err := tx.RevokeLinkTokens(ctx, LinkSignup, "", in.Email, now); err != nil {
				return err
			}
			if err := tx.CreateLinkToken(ctx, link); err != nil {
				return err
			}
			_, err = s.outbox.Enqueue(ctx, tx, signupMail(in.Email, mailLink(s.cfg.PublicURL, signupConfirmPath, token)))
			return err
		case err != nil:
			return err
		}
		link, token := resetLinkFor(acct, now)
		if err := tx.RevokeLinkTokens(ctx, LinkPasswordReset, acct.ID, "", now); err != nil {
			return err
		}
		if err := tx.CreateLinkToken(ctx, link); err != nil {
			return err
		}
		_, err = s.outbox.Enqueue(ctx, tx, signupTakenMail(acct.Email, mailLink(s.cfg.PublicURL, passwordResetPath, token)))
		return err
	})
	if err != nil {
		return err
	}
	s.outbox.Notify()
	return nil
}

// ConfirmSignup completes a signup with the token its link carried: the
// account (with the password chosen at signup, its address verified), the
// tenant and the admin membership, in one unit with the redemption. An
// address that got an account meanwhile makes the link invalid, like any
// other dead link.
func (s *Identity) ConfirmSignup(ctx context.Context, meta RequestMeta, token string) (*User, *Tenant, error) {
	if s.SignupMode() == SignupClosed {
		return nil, nil, errSignupClosed
	}
	now := s.now()
	var user *User
	var tenant *Tenant
	err := s.store.Atomically(ctx, func(tx Store) error {
		l, err := RedeemLink(ctx, tx, token, LinkSignup, now)
		if err != nil {
			return err
		}
		if l.PasswordHash == "" || l.AccountID != "" {
			return InvalidLinkError()
		}
		tenant = &Tenant{ID: NewID(), Name: l.Organization, CreatedAt: now}
		user = &User{ID: NewID(), TenantID: tenant.ID, Email: l.Email, DisplayName: l.DisplayName,
			Role: RoleAdmin, PasswordHash: l.PasswordHash, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
		if err := CreateTenantWithAdmin(ctx, tx, tenant, user); err != nil {
			if ErrorKind(err) == KindConflict {
				// The address has an account now: this link is dead.
				return InvalidLinkError()
			}
			return err
		}
		if err := tx.RevokeLinkTokens(ctx, LinkSignup, "", l.Email, now); err != nil {
			return err
		}
		return s.auditor.Record(ctx, tx, meta, tenant.ID, user.ID, "user.signup", user.ID,
			map[string]string{"emailVerified": "true"})
	})
	if err != nil {
		return nil, nil, err
	}
	return user, tenant, nil
}

// sendVerification queues, through tx, a verification link for an account
// just created in open mode (when a mail transport is configured).
func (s *Identity) sendVerification(ctx context.Context, tx Store, u *User, now time.Time) error {
	link, token := NewLink(LinkVerifyEmail, u.Email, now)
	link.AccountID, link.PasswordStamp = u.ID, PasswordStamp(u.PasswordHash)
	if err := tx.CreateLinkToken(ctx, link); err != nil {
		return err
	}
	_, err := s.outbox.Enqueue(ctx, tx, verificationMail(u.Email, mailLink(s.cfg.PublicURL, verifyEmailPath, token)))
	return err
}

// addressTaken is the shortcut SkipEqualising takes (tests only): what a
// naive signup would do, skipping the hash for a taken address.
func (s *Identity) addressTaken(ctx context.Context, email string) bool {
	_, err := s.store.FindAccountByEmail(ctx, email)
	return err == nil
}

// resetLinkFor is a password-reset link for acct, bound to its password.
func resetLinkFor(acct *Account, now time.Time) (*LinkToken, string) {
	link, token := NewLink(LinkPasswordReset, acct.Email, now)
	link.AccountID, link.PasswordStamp = acct.ID, PasswordStamp(acct.PasswordHash)
	return link, token
}
