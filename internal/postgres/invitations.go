package postgres

import (
	"context"

	"example.com/rampart/internal/rampart"
)

// CreateTenantWithInvitation stores the tenant and its first admin's
// invitation in one transaction (the caller's, inside a unit).
func (s *Store) CreateTenantWithInvitation(ctx context.Context, t *rampart.Tenant, inv *rampart.LinkToken) error {
	if err := rampart.CheckNewTenantInvitation(t, inv); err != nil {
		return err
	}
	rampart.RoundTimes(t)
	return s.Atomically(ctx, func(st rampart.Store) error {
		tx := st.(*Store)
		if err := tx.exec(ctx, "create tenant", "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)",
			t.ID, t.Name, t.CreatedAt); err != nil {
			return err
		}
		return tx.CreateLinkToken(ctx, inv)
	})
}
