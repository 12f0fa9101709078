package rampart

import (
	"reflect"
	"time"
)

// The rules of the Store contract that do not depend on the database. Both
// stores call these, so that each rule is written once, here, and the stores
// keep only storage: queries, locks and the mapping of driver errors.

// LastAdminError is the Conflict a store returns when a change would leave
// a tenant without an admin. Whether another admin exists, the store finds
// out under its own locks.
func LastAdminError() error {
	return Errorf(KindConflict, "a tenant must keep at least one admin")
}

// RemovesAdmin reports whether an update that turned before into after
// takes away an admin: a store then checks that another admin remains.
func RemovesAdmin(before, after *User) bool {
	return before.Role == RoleAdmin && after.Role != RoleAdmin
}

// RoundTimes rounds every time in records with Timestamp, as stores keep
// times. Create and append methods call it before they write, so that what
// is read back equals what was left in the argument (see Store).
func RoundTimes(records ...interface{ roundTimes() }) {
	for _, r := range records {
		r.roundTimes()
	}
}

// roundEach rounds each time with Timestamp, in place: what a record's
// roundTimes does to its times.
func roundEach(ts ...*time.Time) {
	for _, t := range ts {
		*t = Timestamp(*t)
	}
}

// Updatable is a record that a Store update method changes through a
// function: a *User, *Account, *Session or *Order.
type Updatable[T any] interface {
	*T
	roundTimes()
	keepImmutable(before *T)
}

// ApplyUpdate is the domain's part of a Store update method. The store has
// read rec and holds it locked; ApplyUpdate lets fn change it, then puts back
// what an update never changes (the id, tenant and creation time, and the
// user an order or session belongs to: fn's changes to them are dropped) and
// rounds the times. The store then writes rec. It returns rec as the store
// read it, for what the store must compare (a role, a token hash). An error
// from fn is returned as it is.
func ApplyUpdate[T any, P Updatable[T]](rec P, fn func(P) error) (before T, err error) {
	before = *rec
	if err := fn(rec); err != nil {
		return before, err
	}
	rec.keepImmutable(&before)
	rec.roundTimes()
	return before, nil
}

func (t *Tenant) roundTimes() { roundEach(&t.CreatedAt) }

func (u *User) roundTimes() { roundEach(&u.CreatedAt, &u.UpdatedAt) }

func (u *User) keepImmutable(before *User) {
	u.ID, u.TenantID, u.CreatedAt = before.ID, before.TenantID, before.CreatedAt
}

func (a *Account) roundTimes() { roundEach(&a.CreatedAt, &a.UpdatedAt) }

func (a *Account) keepImmutable(before *Account) {
	a.ID, a.CreatedAt = before.ID, before.CreatedAt
}

func (m *Membership) roundTimes() { roundEach(&m.CreatedAt, &m.UpdatedAt) }

// AccountChanged reports whether an update of a user changed what belongs
// to the account rather than the membership: a store then writes the
// account too, with the user's UpdatedAt.
func AccountChanged(before, after *User) bool {
	return before.Email != after.Email || before.PasswordHash != after.PasswordHash ||
		before.EmailVerified != after.EmailVerified || !reflect.DeepEqual(before.MFA, after.MFA)
}

// CheckNewMembership returns an Invalid error unless m names an account, a
// tenant and a known role.
func CheckNewMembership(m *Membership) error {
	if m.TenantID == "" || m.AccountID == "" {
		return Errorf(KindInvalid, "a membership needs a tenant and an account")
	}
	if m.Role != RoleMember && m.Role != RoleAdmin {
		return Errorf(KindInvalid, "unknown role")
	}
	return nil
}

func (s *Session) roundTimes() {
	roundEach(&s.RotatedAt, &s.CreatedAt, &s.LastUsedAt, &s.IdleExpiresAt, &s.ExpiresAt, &s.RevokedAt, &s.AuthTime)
}

func (s *Session) keepImmutable(before *Session) {
	s.ID, s.TenantID, s.UserID, s.CreatedAt = before.ID, before.TenantID, before.UserID, before.CreatedAt
}

func (o *Order) roundTimes() { roundEach(&o.CreatedAt, &o.UpdatedAt) }

func (o *Order) keepImmutable(before *Order) {
	o.ID, o.TenantID, o.OwnerID, o.CreatedAt = before.ID, before.TenantID, before.OwnerID, before.CreatedAt
}

func (k *APIKey) roundTimes() { roundEach(&k.ExpiresAt, &k.LastUsedAt, &k.CreatedAt, &k.RevokedAt) }

func (k *SigningKey) roundTimes() { roundEach(&k.CreatedAt, &k.ActivatedAt, &k.RetiredAt) }

func (e *AuditEvent) roundTimes() { roundEach(&e.Time) }

// Listed is a record of a newest-first listing (see Page).
type Listed interface{ ListCursor() Cursor }

// ListCursor returns u's position in a listing.
func (u *User) ListCursor() Cursor { return Cursor{CreatedAt: u.CreatedAt, ID: u.ID} }

// ListCursor returns s's position in a listing.
func (s *Session) ListCursor() Cursor { return Cursor{CreatedAt: s.CreatedAt, ID: s.ID} }

// ListCursor returns o's position in a listing.
func (o *Order) ListCursor() Cursor { return Cursor{CreatedAt: o.CreatedAt, ID: o.ID} }

// ListCursor returns k's position in a listing.
func (k *APIKey) ListCursor() Cursor { return Cursor{CreatedAt: k.CreatedAt, ID: k.ID} }

// ListCursor returns e's position in a listing, which audit events keep by
// the time they happened.
func (e *AuditEvent) ListCursor() Cursor { return Cursor{CreatedAt: e.Time, ID: e.ID} }

// CheckLinkRevocation returns an Invalid error when a RevokeLinkTokens call
// names neither an account nor an address: it would match nothing, and a
// caller that meant something did not say it.
func CheckLinkRevocation(accountID, email string) error {
	if accountID == "" && email == "" {
		return Errorf(KindInvalid, "a link revocation must name an account or an address")
	}
	return nil
}
