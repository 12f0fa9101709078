package rampart_test

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// A tenant comes to be only with an admin or an admin's invitation: the
// domain refuses anything else before it stores the tenant, since the store
// stores a tenant as it is told.

func TestCreateTenantWithAdminNeedsAnAdmin(t *testing.T) {
	w := newWorld(t, nil)
	now := time.Now()
	for name, bad := range map[string]func(u *rampart.User){
		"member role":    func(u *rampart.User) { u.Role = rampart.RoleMember },
		"another tenant": func(u *rampart.User) { u.TenantID = rampart.NewID() },
	} {
		tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "No admin", CreatedAt: now}
		u := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: rampart.NewID() + "@example.com",
			DisplayName: "Ada", Role: rampart.RoleAdmin, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
		bad(u)
		if err := rampart.CreateTenantWithAdmin(w.ctx, w.store, tenant, u); rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
		if _, err := w.store.GetTenant(w.ctx, tenant.ID); rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("%s: the tenant was stored (%v)", name, err)
		}
	}
}

func TestCreateTenantWithInvitationNeedsAnAdminInvitation(t *testing.T) {
	w := newWorld(t, nil)
	for name, bad := range map[string]func(l *rampart.LinkToken){
		"member role":    func(l *rampart.LinkToken) { l.Role = rampart.RoleMember },
		"another tenant": func(l *rampart.LinkToken) { l.TenantID = rampart.NewID() },
		"not an invite":  func(l *rampart.LinkToken) { l.Purpose = rampart.LinkPasswordReset },
	} {
		tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Pending Org", CreatedAt: time.Now()}
		l, _ := rampart.NewLink(rampart.LinkInvitation, rampart.NewID()+"@example.com", time.Now())
		l.TenantID, l.Role, l.CreatedBy = tenant.ID, rampart.RoleAdmin, rampart.OperatorActor
		bad(l)
		if err := rampart.CreateTenantWithInvitation(w.ctx, w.store, tenant, l); rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
		if _, err := w.store.GetTenant(w.ctx, tenant.ID); rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("%s: the tenant was stored (%v)", name, err)
		}
	}
}
