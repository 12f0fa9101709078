package rampart_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/postgres"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
)

const testPassword = "correct horse battery staple"

// failingAudit is a store whose audit writes fail while fail is set, inside
// a unit of Atomically as well as outside.
type failingAudit struct {
	rampart.Store
	fail *atomic.Bool
}

var errAuditDown = rampart.Errorf(rampart.KindUnavailable, "the audit table is unavailable")

func (f failingAudit) AppendAuditEvent(ctx context.Context, e *rampart.AuditEvent) error {
	if f.fail.Load() {
		return errAuditDown
	}
	return f.Store.AppendAuditEvent(ctx, e)
}

func (f failingAudit) Atomically(ctx context.Context, fn func(tx rampart.Store) error) error {
	return f.Store.Atomically(ctx, func(tx rampart.Store) error {
		return fn(failingAudit{Store: tx, fail: f.fail})
	})
}

type domain struct {
	store    rampart.Store // the real store, for checking
	fail     *atomic.Bool
	identity *rampart.Identity
	service  *rampart.Resources
	box      rampart.Sealer
}

func newDomain(t *testing.T, st rampart.Store) *domain {
	t.Helper()
	fail := &atomic.Bool{}
	a := buildApp(t, failingAudit{Store: st, fail: fail}, nil)
	return &domain{store: st, fail: fail, identity: a.Services.Identity, service: a.Services.Resources, box: a.Deps.Sealer}
}

// signupAndLogin signs up a tenant's admin and signs them in.
func (d *domain) signupAndLogin(t *testing.T, meta rampart.RequestMeta) (*rampart.User, *rampart.Tenant, rampart.Principal) {
	t.Helper()
	admin, tenant, err := d.identity.Signup(t.Context(), meta, rampart.SignupInput{Email: "admin@example.com",
		Password: testPassword, DisplayName: "Admin", Organization: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := d.identity.Login(t.Context(), meta, rampart.LoginInput{Email: admin.Email, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	return admin, tenant, rampart.Principal{TenantID: tenant.ID, UserID: admin.ID, Role: rampart.RoleAdmin, SessionID: tokens.SessionID}
}

// forEachStore runs fn on a fresh SQLite store and a fresh PostgreSQL one.
func forEachStore(t *testing.T, fn func(t *testing.T, st rampart.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, _ := sqliteStore(t)
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), testutil.PostgresURL(t))
		fn(t, testutil.Migrated(t, st, err))
	})
}

// TestChangesRollBackWhenTheirAuditEventFails drives every audited change
// of the domain against a store whose audit writes fail, and shows that
// each one is refused and leaves no trace: a change is never stored
// without the event that records it.
func TestChangesRollBackWhenTheirAuditEventFails(t *testing.T) {
	forEachStore(t, func(t *testing.T, st rampart.Store) {
		ctx := t.Context()
		d := newDomain(t, st)
		meta := rampart.RequestMeta{SourceIP: "192.0.2.1", RequestID: "req"}
		admin, tenant, p := d.signupAndLogin(t, meta)
		if _, err := d.service.Invite(ctx, meta, p, rampart.InviteInput{Email: "member@example.com",
			DisplayName: "Member", Role: rampart.RoleMember}); err != nil {
			t.Fatal(err)
		}
		member, _, err := d.identity.AcceptInvitation(ctx, meta, nil, rampart.AcceptInvitationInput{
			Token: mailedLink(t, st, d.box, "member@example.com"), Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		memberTokens, err := d.identity.Login(ctx, meta, rampart.LoginInput{Email: member.Email, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		mp := rampart.Principal{TenantID: tenant.ID, UserID: member.ID, Role: rampart.RoleMember, SessionID: memberTokens.SessionID}
		order, err := d.service.CreateOrder(ctx, meta, p, rampart.OrderInput{Items: []rampart.OrderItem{{SKU: "A-1", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := d.service.CreateAPIKey(ctx, meta, p, rampart.APIKeyInput{Name: "ci", Scopes: []string{"orders:read"}})
		if err != nil {
			t.Fatal(err)
		}
		// The member is also a member of a second tenant, to switch to.
		_, second, err := d.identity.Signup(ctx, meta, rampart.SignupInput{Email: "second@example.com", Password: testPassword,
			DisplayName: "Second", Organization: "Second"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddMembership(ctx, &rampart.Membership{TenantID: second.ID, AccountID: member.ID, Role: rampart.RoleMember,
			DisplayName: "Member", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		failing := failingAudit{Store: st, fail: d.fail}
		before, err := rampart.VerifyAuditChain(ctx, st, tenant.ID)
		if err != nil || !before.Intact() {
			t.Fatal(before, err)
		}

		d.fail.Store(true)
		cancelled := rampart.OrderCancelled
		promote := rampart.RoleAdmin
		memberSession := func() *rampart.Session {
			s, err := st.GetSession(ctx, tenant.ID, memberTokens.SessionID)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		cases := []struct {
			name   string
			do     func() error
			undone func() bool
		}{
			{"signup", func() error {
				_, _, err := d.identity.Signup(ctx, meta, rampart.SignupInput{Email: "new@example.com", Password: testPassword,
					DisplayName: "New", Organization: "New"})
				return err
			}, func() bool {
				_, err := st.FindAccountByEmail(ctx, "new@example.com")
				return rampart.ErrorKind(err) == rampart.KindNotFound
			}},
			{"login", func() error {
				_, err := d.identity.Login(ctx, meta, rampart.LoginInput{Email: member.Email, Password: testPassword})
				return err
			}, func() bool {
				live, _, err := st.ListActiveSessions(ctx, tenant.ID, member.ID, time.Now(), rampart.Page{Limit: 10})
				return err == nil && len(live) == 1
			}},
			{"create order", func() error {
				_, err := d.service.CreateOrder(ctx, meta, p, rampart.OrderInput{Items: []rampart.OrderItem{{SKU: "B-2", Quantity: 2}}})
				return err
			}, func() bool {
				orders, _, err := st.ListOrders(ctx, tenant.ID, rampart.OrderFilter{}, rampart.Page{Limit: 10})
				return err == nil && len(orders) == 1
			}},
			{"cancel order", func() error {
				_, err := d.service.UpdateOrder(ctx, meta, p, order.ID, rampart.OrderUpdate{Status: &cancelled})
				return err
			}, func() bool {
				o, err := st.GetOrder(ctx, tenant.ID, order.ID)
				return err == nil && o.Status == rampart.OrderPending
			}},
			{"delete order", func() error { return d.service.DeleteOrder(ctx, meta, p, order.ID) },
				func() bool { _, err := st.GetOrder(ctx, tenant.ID, order.ID); return err == nil }},
			{"invite user", func() error {
				_, err := d.service.Invite(ctx, meta, p, rampart.InviteInput{Email: "other@example.com", Role: rampart.RoleMember})
				return err
			}, func() bool {
				// Neither the invitation nor its mail is left.
				invs, _, err := st.ListInvitations(ctx, tenant.ID, time.Now(), rampart.Page{Limit: 10})
				pending, perr := st.CountPendingMail(ctx)
				return err == nil && perr == nil && len(invs) == 0 && pending == 0
			}},
			{"change role", func() error {
				_, err := d.service.UpdateUser(ctx, meta, p, member.ID, rampart.UserUpdate{Role: &promote})
				return err
			}, func() bool {
				u, err := st.GetUser(ctx, tenant.ID, member.ID)
				return err == nil && u.Role == rampart.RoleMember && memberSession().RevokedAt.IsZero()
			}},
			{"delete user", func() error { return d.service.DeleteUser(ctx, meta, p, member.ID) },
				func() bool { _, err := st.GetUser(ctx, tenant.ID, member.ID); return err == nil }},
			{"create API key", func() error {
				_, _, err := d.service.CreateAPIKey(ctx, meta, p, rampart.APIKeyInput{Name: "x", Scopes: []string{"orders:read"}})
				return err
			}, func() bool {
				keys, _, err := st.ListAPIKeys(ctx, tenant.ID, rampart.Page{Limit: 10})
				return err == nil && len(keys) == 1
			}},
			{"revoke API key", func() error { return d.service.RevokeAPIKey(ctx, meta, p, key.ID) },
				func() bool { k, err := st.GetAPIKey(ctx, tenant.ID, key.ID); return err == nil && k.RevokedAt.IsZero() }},
			{"change password", func() error {
				return d.identity.ChangePassword(ctx, meta, p, testPassword, "an entirely new passphrase here")
			}, func() bool {
				u, err := st.GetUser(ctx, tenant.ID, admin.ID)
				return err == nil && u.PasswordHash == admin.PasswordHash && memberSession().RevokedAt.IsZero()
			}},
			{"switch tenant", func() error {
				_, err := d.identity.SwitchTenant(ctx, meta, mp, second.ID)
				return err
			}, func() bool {
				acct, err := st.GetAccount(ctx, member.ID)
				return err == nil && acct.LastTenantID == tenant.ID && memberSession().RevokedAt.IsZero() // still in the first tenant
			}},
			{"operator reset-mfa", func() error {
				_, err := rampart.ResetMFA(ctx, failing, member.Email, time.Now())
				return err
			}, func() bool { return memberSession().RevokedAt.IsZero() }},
			{"operator revoke-sessions", func() error {
				_, err := rampart.RevokeAccountSessions(ctx, failing, member.Email, time.Now())
				return err
			}, func() bool { return memberSession().RevokedAt.IsZero() }},
			{"revoke session", func() error { return d.identity.RevokeSession(ctx, meta, mp, memberTokens.SessionID) },
				func() bool { return memberSession().RevokedAt.IsZero() }},
			{"logout", func() error { return d.identity.Logout(ctx, meta, mp) },
				func() bool { return memberSession().RevokedAt.IsZero() }},
		}
		for _, c := range cases {
			if err := c.do(); err == nil {
				t.Errorf("%s succeeded although its audit event could not be written", c.name)
			}
			if !c.undone() {
				t.Errorf("%s: the change was stored without its audit event", c.name)
			}
		}
		after, err := rampart.VerifyAuditChain(ctx, st, tenant.ID)
		if err != nil || after.HeadSeq != before.HeadSeq {
			t.Errorf("chain head moved from %d to %d (%v)", before.HeadSeq, after.HeadSeq, err)
		}
	})
}

// TestRevokingARevokedSessionRecordsOnce revokes one session twice, then
// logs it out: only the first revocation is a change, and only it is
// recorded.
func TestRevokingARevokedSessionRecordsOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, st rampart.Store) {
		ctx := t.Context()
		d := newDomain(t, st)
		meta := rampart.RequestMeta{}
		_, tenant, p := d.signupAndLogin(t, meta)
		for range 2 {
			if err := d.identity.RevokeSession(ctx, meta, p, p.SessionID); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.identity.Logout(ctx, meta, p); err != nil {
			t.Fatal(err)
		}
		revocations := 0
		events, _, err := st.ListAuditEvents(ctx, tenant.ID, rampart.AuditFilter{}, rampart.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Type == "session.revoked" || e.Type == "session.logout" {
				revocations++
			}
		}
		if revocations != 1 {
			t.Errorf("%d revocation events for one session revoked once, want 1", revocations)
		}
	})
}
