package rampart

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Invitations (api.md "Accounts and memberships"): an admin invites an
// address into their tenant with a role; the address receives a single-use
// link (LinkInvitation, 72 h) that creates the account or, for an account
// that exists, adds the membership once that account is signed in.
//
// Enumeration. POST /v1/users answers the same 202 body, in the same time,
// whether or not the address has an account anywhere: an admin of one
// tenant must not learn who is registered in others. The answer is made of
// the invitation alone (its id, address, role and times), never of the
// account. The time is equalised by doing the same work on both paths, in
// the same order, in one unit:
//
//  1. look the address up (FindAccountByEmail): a hit or a miss on the
//     same unique index;
//  2. look up the membership of that account in this tenant (GetUser), to
//     choose the mail's text; for an address without an account the lookup
//     is done all the same, for a fresh random id that names nobody, so
//     the database does the same index probe (equaliseInvitations);
//  3. store one link token, queue one message (sealed, of a similar size:
//     the texts differ by a few words), append one audit event; commit.
//
// Nothing else depends on the account: no password is hashed (the invitee
// chooses theirs when accepting), no mail is sent in the request. The
// timing test in internal/httpapi (TestInvitationTiming) measures
// both paths, and switches step 2's probe off (IdentityConfig.SkipEqualising) to
// show that the measurement sees the difference a skipped query makes.

// InviteInput is an address an admin invites into their tenant.
type InviteInput struct {
	Email       string
	Role        Role
	DisplayName string // optional: the name the tenant will know them by
}

// AcceptInvitationInput is what the person following an invitation link
// sends.
type AcceptInvitationInput struct {
	Token       string
	Password    string // required for an address without an account; ignored otherwise
	DisplayName string // optional; else the invitation's, else the address's local part
}

// InvitationsPath is the page an invitation link opens (see mailLink).
const InvitationsPath = "/invitations/accept"

// Invite invites in.Email into p's tenant with in.Role and returns the
// invitation: 202 whatever the address (see the comment at the top). An
// admin invitation needs ActionUserAdmin, as creating an admin did.
func (s *Resources) Invite(ctx context.Context, meta RequestMeta, p Principal, in InviteInput) (*Invitation, error) {
	if err := Authorize(p, ActionUserWrite); err != nil {
		return nil, err
	}
	if err := checkRole(in.Role); err != nil {
		return nil, err
	}
	if in.Role == RoleAdmin {
		if err := Authorize(p, ActionUserAdmin); err != nil {
			return nil, err
		}
	}
	tenant, err := s.store.GetTenant(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var l *LinkToken
	err = s.store.Atomically(ctx, func(tx Store) error {
		var m Mail
		l, m, err = issueInvitation(ctx, tx, tenant, in, actorID(p), s.publicURL, now, !s.skipEqualising)
		if err != nil {
			return err
		}
		if _, err := s.outbox.Enqueue(ctx, tx, m); err != nil {
			return err
		}
		// The address is what the admin typed and sees in GET
		// /v1/invitations anyway; the audit log keeps who invited whom,
		// never the token.
		return s.audit(ctx, tx, meta, p, "user.invited", l.ID,
			map[string]string{"email": l.Email, "role": string(l.Role)})
	})
	if err != nil {
		return nil, err
	}
	s.outbox.Notify()
	s.events.record(ctx, meta, EventAdminAction, p.TenantID, actorID(p), "user invited")
	return l.Invitation(), nil
}

// issueInvitation builds and stores, through tx, the invitation of
// in.Email into tenant, and returns it with the mail that carries it. It
// does the same work whether or not the address has an account (see the
// top of this file) unless equalise is false.
func issueInvitation(ctx context.Context, tx Store, tenant *Tenant, in InviteInput, createdBy, publicURL string,
	now time.Time, equalise bool,
) (*LinkToken, Mail, error) {
	l, token := NewLink(LinkInvitation, in.Email, now)
	l.TenantID, l.Role, l.DisplayName, l.CreatedBy = tenant.ID, in.Role, in.DisplayName, createdBy
	acct, err := tx.FindAccountByEmail(ctx, in.Email)
	switch {
	case ErrorKind(err) == KindNotFound:
		acct = nil
	case err != nil:
		return nil, Mail{}, err
	}
	probe := NewID() // names nobody: the equalising lookup for a new address
	if acct != nil {
		// Bound to the account's password: once it changes, the link is
		// dead (a stolen mailbox copy cannot be used after a reset).
		l.AccountID, l.PasswordStamp, probe = acct.ID, PasswordStamp(acct.PasswordHash), acct.ID
	}
	member := false
	if acct != nil || equalise {
		_, err := tx.GetUser(ctx, tenant.ID, probe)
		switch {
		case err == nil:
			member = acct != nil
		case ErrorKind(err) != KindNotFound:
			return nil, Mail{}, err
		}
	}
	if err := tx.CreateLinkToken(ctx, l); err != nil {
		return nil, Mail{}, err
	}
	link := mailLink(publicURL, InvitationsPath, token)
	var m Mail
	switch {
	case member:
		m = invitationMemberMail(l.Email, tenant.Name, link, l.ExpiresAt)
	case acct != nil:
		m = invitationAccountMail(l.Email, tenant.Name, link, l.ExpiresAt)
	default:
		m = invitationNewMail(l.Email, tenant.Name, link, l.ExpiresAt)
	}
	return l, m, nil
}

// ListInvitations lists p's tenant's pending invitations, newest first.
func (s *Resources) ListInvitations(ctx context.Context, p Principal, page Page) ([]*Invitation, Cursor, error) {
	if err := Authorize(p, ActionUserWrite); err != nil {
		return nil, Cursor{}, err
	}
	ls, next, err := s.store.ListInvitations(ctx, p.TenantID, s.now(), page)
	if err != nil {
		return nil, Cursor{}, err
	}
	out := make([]*Invitation, len(ls))
	for i, l := range ls {
		out[i] = l.Invitation()
	}
	return out, next, nil
}

// RevokeInvitation revokes a pending invitation of p's tenant: its link
// stops working at once. Another tenant's, or one no longer pending, is
// NotFound.
func (s *Resources) RevokeInvitation(ctx context.Context, meta RequestMeta, p Principal, id string) error {
	if err := Authorize(p, ActionUserWrite); err != nil {
		return err
	}
	if !ValidID(id) {
		return notFound("invitation")
	}
	err := s.store.Atomically(ctx, func(tx Store) error {
		if err := tx.RevokeInvitation(ctx, p.TenantID, id, s.now()); err != nil {
			return notFoundAs(err, notFound("invitation"))
		}
		return s.audit(ctx, tx, meta, p, "invitation.revoked", id, nil)
	})
	if err == nil {
		s.events.record(ctx, meta, EventAdminAction, p.TenantID, actorID(p), "invitation revoked")
	}
	return err
}

var (
	// errSignInToAccept answers an invitation for an account that exists
	// when the request carries no access token: the invitee signs in
	// first, so that nobody but the account's owner adds a membership to
	// it.
	errSignInToAccept = &Error{Kind: KindUnauthenticated,
		Message: "this invitation is for an account: sign in as it and send its access token to accept"}
	errPasswordRequired = &Error{Kind: KindInvalid, Field: "password",
		Message: "choose a password to create your account"}
)

// AcceptInvitation accepts the invitation whose link token is in.Token.
// caller is the principal of the request's access token, nil when it
// carries none.
//
// For an address without an account it creates the account, with in.Password
// (the password policy applies) and emailVerified (following the link
// proves the address), and its membership: created is true. For an account
// that exists, caller must be that account's own session: the membership is
// added (an account that is a member already keeps its membership as it
// is) and created is false. A link that cannot be used, and a caller that is
// another account, get the one invalid-link answer; every refusal rolls the
// redemption back, so the token stays usable by the right person until it
// expires.
func (s *Identity) AcceptInvitation(ctx context.Context, meta RequestMeta, caller *Principal, in AcceptInvitationInput) (u *User, created bool, err error) {
	if caller != nil && (caller.APIKeyID != "" || caller.SessionID == "") {
		return nil, false, errPersonRequired
	}
	// A password that the policy refuses is refused first, whatever the
	// link: its answer names the field, and says nothing of the link.
	withPassword := in.Password != "" && caller == nil
	if withPassword {
		if err := checkPassword(s.policy, "password", in.Password, in.DisplayName); err != nil {
			return nil, false, err
		}
	}
	if _, err := ParseLinkToken(in.Token); err != nil {
		return nil, false, err
	}
	// A new account's password is hashed before the unit, so that no
	// argon2id work runs while the unit holds the database; only for a
	// well-formed token.
	var hash string
	if withPassword {
		if hash, err = s.hasher.Hash(ctx, in.Password); err != nil {
			return nil, false, err
		}
	}
	now := s.now()
	err = s.store.Atomically(ctx, func(tx Store) error {
		l, err := RedeemLink(ctx, tx, in.Token, LinkInvitation, now)
		if err != nil {
			return err
		}
		acct, err := tx.FindAccountByEmail(ctx, l.Email)
		switch {
		case ErrorKind(err) == KindNotFound:
			if l.AccountID != "" {
				// The account it was for is gone: a new person may not
				// take over what was meant for it.
				return InvalidLinkError()
			}
			u, err = s.acceptAsNewAccount(ctx, tx, meta, l, caller, hash, in, now)
			created = true
			return err
		case err != nil:
			return err
		}
		u, err = s.acceptAsAccount(ctx, tx, meta, l, acct, caller, in, now)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	s.events.record(ctx, meta, EventAdminAction, u.TenantID, u.ID, "invitation accepted")
	return u, created, nil
}

func (s *Identity) acceptAsNewAccount(ctx context.Context, tx Store, meta RequestMeta, l *LinkToken, caller *Principal,
	hash string, in AcceptInvitationInput, now time.Time,
) (*User, error) {
	if caller != nil {
		// Signed in as some account, with a link for an address that has
		// none: not this caller's invitation.
		return nil, InvalidLinkError()
	}
	if hash == "" {
		return nil, errPasswordRequired
	}
	if err := checkPassword(s.policy, "password", in.Password, l.Email, in.DisplayName); err != nil {
		return nil, err
	}
	u := &User{ID: NewID(), TenantID: l.TenantID, Email: l.Email, DisplayName: inviteeName(in, l), Role: l.Role,
		PasswordHash: hash, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateUser(ctx, u); err != nil {
		if ErrorKind(err) == KindConflict {
			return nil, InvalidLinkError()
		}
		return nil, err
	}
	if err := s.auditor.Record(ctx, tx, meta, l.TenantID, u.ID, "invitation.accepted", l.ID,
		map[string]string{"role": string(u.Role)}); err != nil {
		return nil, err
	}
	return u, nil
}

func (s *Identity) acceptAsAccount(ctx context.Context, tx Store, meta RequestMeta, l *LinkToken, acct *Account, caller *Principal,
	in AcceptInvitationInput, now time.Time,
) (*User, error) {
	if caller == nil {
		return nil, errSignInToAccept
	}
	if caller.UserID != acct.ID || (l.AccountID != "" && l.AccountID != acct.ID) {
		// Somebody else's invitation: the same answer as any dead link,
		// and the unit rolls back, so the owner can still use it.
		return nil, InvalidLinkError()
	}
	if l.AccountID != "" {
		if err := l.CheckStamp(acct.PasswordHash); err != nil {
			return nil, err
		}
	}
	m := &Membership{TenantID: l.TenantID, AccountID: acct.ID, Role: l.Role, DisplayName: inviteeName(in, l),
		CreatedAt: now, UpdatedAt: now}
	joined := true
	if err := tx.AddMembership(ctx, m); ErrorKind(err) == KindConflict {
		joined = false // a member already: the membership stays as it is
	} else if err != nil {
		return nil, err
	}
	if !acct.EmailVerified {
		if _, err := tx.UpdateAccount(ctx, acct.ID, func(a *Account) error {
			a.EmailVerified, a.UpdatedAt = true, now
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if joined {
		if err := s.auditor.Record(ctx, tx, meta, l.TenantID, acct.ID, "invitation.accepted", l.ID,
			map[string]string{"role": string(l.Role)}); err != nil {
			return nil, err
		}
	}
	return tx.GetUser(ctx, l.TenantID, acct.ID)
}

// inviteeName is the display name a new membership gets: the one sent on
// accepting, else the admin's suggestion, else the address's local part
// (cut to the longest display name).
func inviteeName(in AcceptInvitationInput, l *LinkToken) string {
	switch {
	case in.DisplayName != "":
		return in.DisplayName
	case l.DisplayName != "":
		return l.DisplayName
	}
	name, _, _ := strings.Cut(l.Email, "@")
	if len(name) < MinDisplayNameLength {
		name = l.Email
	}
	if r := []rune(name); len(r) > MaxDisplayNameLength {
		name = string(r[:MaxDisplayNameLength])
	}
	return name
}

// CreateTenantInvitation is `rampart tenants create`: a new tenant named
// name, and the invitation of email as its first admin, with its mail
// queued through outbox, in one unit; audited in the new tenant (actor
// "operator"). The tenant has no member until the invitation is accepted
// (CreateTenantWithInvitation): the store's rule that a tenant keeps
// an admin is about removing one, and a tenant nobody has joined holds no
// data and lets nobody act.
func CreateTenantInvitation(ctx context.Context, st Store, outbox Outbox, publicURL, name, email string, now time.Time) (*Tenant, *Invitation, error) {
	if err := CheckTenantName(name); err != nil {
		return nil, nil, err
	}
	if !isPlainAddress(email) {
		return nil, nil, &Error{Kind: KindInvalid, Field: "email", Message: "must be one plain email address"}
	}
	t := &Tenant{ID: NewID(), Name: name, CreatedAt: now}
	auditor := Auditor{now: func() time.Time { return now }}
	var l *LinkToken
	err := st.Atomically(ctx, func(tx Store) error {
		// The tenant and the invitation go in one statement pair; the
		// invitation is built first, as Invite builds it, against a tenant
		// not stored yet, so it is stored by CreateTenantWithInvitation
		// rather than CreateLinkToken.
		var m Mail
		var err error
		l, m, err = issueInvitation(ctx, &deferredLink{Store: tx, tenant: t}, t,
			InviteInput{Email: email, Role: RoleAdmin}, OperatorActor, publicURL, now, true)
		if err != nil {
			return err
		}
		if _, err := outbox.Enqueue(ctx, tx, m); err != nil {
			return err
		}
		if err := auditor.Record(ctx, tx, RequestMeta{}, t.ID, OperatorActor, "tenant.created", t.ID, nil); err != nil {
			return err
		}
		return auditor.Record(ctx, tx, RequestMeta{}, t.ID, OperatorActor, "user.invited", l.ID,
			map[string]string{"email": l.Email, "role": string(l.Role)})
	})
	if err != nil {
		return nil, nil, err
	}
	outbox.Notify()
	return t, l.Invitation(), nil
}

// deferredLink is a Store in a unit for a tenant not stored yet: the
// membership lookup finds nobody, and the link token is stored together
// with the tenant.
type deferredLink struct {
	Store
	tenant *Tenant
}

func (d *deferredLink) GetUser(ctx context.Context, tenantID, id string) (*User, error) {
	if tenantID == d.tenant.ID {
		return nil, notFound("user")
	}
	return d.Store.GetUser(ctx, tenantID, id)
}

func (d *deferredLink) CreateLinkToken(ctx context.Context, l *LinkToken) error {
	return CreateTenantWithInvitation(ctx, d.Store, d.tenant, l)
}

// CheckTenantName returns an Invalid error for a name a tenant cannot have:
// the organisation rule of signup.
func CheckTenantName(name string) error {
	n := len([]rune(name))
	if n < MinOrganizationLength || n > MaxOrganizationLength || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return &Error{Kind: KindInvalid, Field: "name",
			Message: fmt.Sprintf("must be %d to %d characters, without control characters", MinOrganizationLength, MaxOrganizationLength)}
	}
	return nil
}
