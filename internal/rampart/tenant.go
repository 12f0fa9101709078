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
// not an admin of t. Conflict: an id or the email is taken, and then neither
// is stored.
func CreateTenantWithAdmin(ctx context.Context, st Store, t *Tenant, admin *User) error {
	if admin.TenantID != t.ID || admin.Role != RoleAdmin {
		return Errorf(KindInvalid, "a tenant's first user must be one of its admins")
	}
	return createTenantWith(ctx, st, t, func(tx Store) error { return tx.CreateUser(ctx, admin) })
}

// CreateTenantWithInvitation stores t, with no member, together with inv,
// the invitation of its first admin, in one unit (`rampart tenants create`,
// see CreateTenantInvitation). Invalid: inv is not an admin invitation to t.
// Conflict: an id or the invitation's hash is taken, and then neither is
// stored.
func CreateTenantWithInvitation(ctx context.Context, st Store, t *Tenant, inv *LinkToken) error {
	if inv.Purpose != LinkInvitation || inv.TenantID != t.ID || inv.Role != RoleAdmin {
		return Errorf(KindInvalid, "a tenant without members needs its first admin's invitation")
	}
	return createTenantWith(ctx, st, t, func(tx Store) error { return tx.CreateLinkToken(ctx, inv) })
}

// createTenantWith stores t and, in the same unit, what first stores: its
// first admin or that admin's invitation.
func createTenantWith(ctx context.Context, st Store, t *Tenant, first func(tx Store) error) error {
	return st.Atomically(ctx, func(tx Store) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		return first(tx)
	})
}
