package rampart

import (
	"context"
	"time"
)

// Tenant is an organisation. Every user, session, API key, order and audit
// event belongs to exactly one tenant, and no tenant sees another's data.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// A tenant never exists without an admin, or without the invitation of its
// first admin: the store only stores a tenant (Store.CreateTenant), and the
// two ways a tenant comes to be, below, store it in one unit with that admin
// or that invitation.

// CreateTenantWithAdmin stores t together with its first user, admin, a new
// account (see Store.CreateUser), in one unit: a sign-up. Invalid: admin is
// not an admin of t (CheckNewTenant). Conflict: an id or the email is taken,
// and then neither is stored.
func CreateTenantWithAdmin(ctx context.Context, st Store, t *Tenant, admin *User) error {
	return createTenantWith(ctx, st, t, CheckNewTenant(t, admin), func(tx Store) error { return tx.CreateUser(ctx, admin) })
}

// CheckNewTenant returns an Invalid error unless admin can be the first user
// of t: one of its admins, so that no tenant exists without an admin.
func CheckNewTenant(t *Tenant, admin *User) error {
	if admin.TenantID != t.ID || admin.Role != RoleAdmin {
		return Errorf(KindInvalid, "a tenant's first user must be one of its admins")
	}
	return nil
}

// CreateTenantWithInvitation stores t, with no member, together with inv,
// the invitation of its first admin, in one unit (`rampart tenants create`,
// see CreateTenantInvitation). Invalid: inv is not an admin invitation to t
// (CheckNewTenantInvitation). Conflict: an id or the invitation's hash is
// taken, and then neither is stored.
func CreateTenantWithInvitation(ctx context.Context, st Store, t *Tenant, inv *LinkToken) error {
	return createTenantWith(ctx, st, t, CheckNewTenantInvitation(t, inv), func(tx Store) error { return tx.CreateLinkToken(ctx, inv) })
}

// CheckNewTenantInvitation returns an Invalid error unless inv can stand
// for the first admin of t: an invitation to t with the admin role.
func CheckNewTenantInvitation(t *Tenant, inv *LinkToken) error {
	if inv.Purpose != LinkInvitation || inv.TenantID != t.ID || inv.Role != RoleAdmin {
		return Errorf(KindInvalid, "a tenant without members needs its first admin's invitation")
	}
	return nil
}

// createTenantWith stores t and then, in the same unit, its first admin or
// that admin's invitation through first. checked is the result of the check
// that first's record can stand for that admin: when it is an error,
// createTenantWith returns it and stores nothing.
func createTenantWith(ctx context.Context, st Store, t *Tenant, checked error, first func(tx Store) error) error {
	if checked != nil {
		return checked
	}
	return st.Atomically(ctx, func(tx Store) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		return first(tx)
	})
}
