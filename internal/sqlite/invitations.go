package sqlite

import (
	"context"

	"example.com/rampart/internal/rampart"
)

// CreateTenantWithInvitation stores the tenant and its first admin's
// invitation in one transaction (inside a caller's unit, as part of it).
func (s *Store) CreateTenantWithInvitation(ctx context.Context, t *rampart.Tenant, inv *rampart.LinkToken) error {
	if err := rampart.CheckNewTenantInvitation(t, inv); err != nil {
		return err
	}
	rampart.RoundTimes(t)
	return s.Atomically(ctx, func(st rampart.Store) error {
		tx := st.(*Store)
		if err := tx.exec(ctx, "create tenant", "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
			t.ID, t.Name, micros(t.CreatedAt)); err != nil {
			return err
		}
		return tx.CreateLinkToken(ctx, inv)
	})
}
