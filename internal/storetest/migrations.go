package storetest

// Checks of the schema migrations that a store runs on its own database.

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// SessionMigration is what a store supplies to RunSessionMigration: the
// store at schema version 1, a way to write a session row as a build before
// migration 2 did (the current and the previous token hash, nothing else),
// and the migration to the latest schema.
type SessionMigration struct {
	Store    rampart.Store
	InsertV1 func(*rampart.Session) error
	// InsertOld writes a tenant and its first user as schemas 1 to 3 kept
	// them (one users table); the Store's own methods need schema 4.
	InsertOld func(*rampart.Tenant, *rampart.User) error
	Migrate   func() error
}

// RunSessionMigration migrates a database with sessions from schema 1, which
// kept only the current and the previous token hash: both must still find
// their session, and so must the tokens of a session that an older build
// writes after the migration.
func RunSessionMigration(t *testing.T, m SessionMigration) {
	ctx := t.Context()
	s := m.Store
	now := rampart.Timestamp(time.Now())
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme", CreatedAt: now}
	admin := newUser(tenant.ID, rampart.RoleAdmin)
	check(t, m.InsertOld(tenant, admin))
	insertOld := func(token, previous []byte) *rampart.Session {
		t.Helper()
		ss := &rampart.Session{ID: rampart.NewID(), TenantID: tenant.ID, UserID: admin.ID, TokenHash: token, PreviousTokenHash: previous,
			CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
		if previous != nil {
			ss.RotatedAt = now
		}
		check(t, m.InsertV1(ss))
		return ss
	}
	migrated := insertOld([]byte("a2"), []byte("a1"))
	fresh := insertOld([]byte("b1"), nil)

	check(t, m.Migrate())
	legacy := insertOld([]byte("c1"), nil) // by an older build still running
	for _, ss := range []*rampart.Session{migrated, fresh, legacy} {
		for _, next := range []string{"3", "4"} {
			_, err := s.UpdateSession(ctx, tenant.ID, ss.ID, func(ss *rampart.Session) error {
				ss.PreviousTokenHash, ss.TokenHash, ss.RotatedAt = ss.TokenHash, append(ss.TokenHash[:1:1], next...), now
				return nil
			})
			check(t, err)
		}
	}
	for _, want := range []struct {
		id     string
		hashes []string
	}{
		{migrated.ID, []string{"a1", "a2", "a3", "a4"}},
		{fresh.ID, []string{"b1", "b3", "b4"}},
		{legacy.ID, []string{"c1", "c3", "c4"}},
	} {
		for _, hash := range want.hashes {
			got, err := s.FindSessionByTokenHash(ctx, []byte(hash))
			if err != nil {
				t.Errorf("token %s: %v", hash, err)
			} else if got.ID != want.id {
				t.Errorf("token %s found session %s, want %s", hash, got.ID, want.id)
			}
		}
	}
	// A session from before auth_time existed has none, so it must prove
	// the password again before a step-up change.
	got, err := s.GetSession(ctx, tenant.ID, migrated.ID)
	check(t, err)
	if !got.AuthTime.IsZero() || got.ClientAddress != "" || got.UserAgent != "" {
		t.Errorf("a migrated session has auth time %v, address %q, agent %q; want none", got.AuthTime, got.ClientAddress, got.UserAgent)
	}
}

// RunSessionDetailsDown checks that migration 3's Down keeps sessions (only
// their auth time, client address and user agent go) and that Up after it
// works again: down migrates to schema 2, up to the latest.
func RunSessionDetailsDown(t *testing.T, s rampart.Store, down, up func() error) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	ss := newSession(tenant.ID, admin.ID, base)
	ss.AuthTime, ss.ClientAddress, ss.UserAgent = base, "198.51.100.0/24", "Firefox"
	check(t, s.CreateSession(ctx, ss))
	check(t, down())
	check(t, up())
	got, err := s.GetSession(ctx, tenant.ID, ss.ID)
	check(t, err)
	ss.AuthTime, ss.ClientAddress, ss.UserAgent = time.Time{}, "", ""
	equal(t, got, ss)
	again := newSession(tenant.ID, admin.ID, base)
	again.AuthTime, again.UserAgent = base, "curl"
	check(t, s.CreateSession(ctx, again))
	got, err = s.GetSession(ctx, tenant.ID, again.ID)
	check(t, err)
	equal(t, got, again)
}

// AccountsMigration is what a store supplies to RunAccountsMigration: the
// store at schema version 3, how to write a tenant and its users as schema
// 3 kept them (InsertOld: the tenant with its first user, then each further
// user with a nil tenant), and the migrations: Up to the latest, Down to 3.
type AccountsMigration struct {
	Store     rampart.Store
	InsertOld func(*rampart.Tenant, *rampart.User) error
	Up, Down  func() error
}

// RunAccountsMigration migrates a populated database from schema 3 (users)
// to accounts and memberships (schema 4): every user must become an account
// with one membership, as the same User; sessions, their whole token
// history, orders, API keys and audit chains must all be there; foreign
// keys must be enforced again afterwards. Then Down and Up again must
// give the same result.
func RunAccountsMigration(t *testing.T, m AccountsMigration) {
	ctx := t.Context()
	s := m.Store
	type fixture struct {
		tenant   *rampart.Tenant
		users    []*rampart.User
		sessions []*rampart.Session
		oldHash  [][]byte // the first token hash of each session
		orders   []*rampart.Order
		keys     []*rampart.APIKey
	}
	var fixtures []*fixture
	for i, name := range []string{"Acme", "Globex"} {
		f := &fixture{tenant: &rampart.Tenant{ID: rampart.NewID(), Name: name, CreatedAt: base.Add(time.Duration(i) * time.Minute)}}
		admin := newUser(f.tenant.ID, rampart.RoleAdmin)
		member := newUser(f.tenant.ID, rampart.RoleMember)
		member.CreatedAt = base.Add(time.Hour)
		member.MFA = rampart.MFA{Enabled: true, TOTPSecret: []byte("sealed"), LastTOTPStep: 42, RecoveryCodeHashes: []string{"r1", "r2"}}
		check(t, m.InsertOld(f.tenant, admin))
		check(t, m.InsertOld(nil, member))
		f.users = []*rampart.User{admin, member}
		for _, u := range f.users {
			ss := newSession(f.tenant.ID, u.ID, base)
			ss.AuthTime, ss.ClientAddress, ss.UserAgent = base, "198.51.100.0/24", "Firefox"
			check(t, s.CreateSession(ctx, ss))
			// Rotated twice: the first hash is then only in the token
			// history, no longer in a column of the session.
			f.oldHash = append(f.oldHash, ss.TokenHash)
			rotate(t, s, ss, base.Add(time.Minute))
			f.sessions = append(f.sessions, rotate(t, s, ss, base.Add(2*time.Minute)))
			o := newOrder(f.tenant.ID, u.ID, base)
			check(t, s.CreateOrder(ctx, o))
			f.orders = append(f.orders, o)
			k := newAPIKey(f.tenant.ID, u.ID, base)
			check(t, s.CreateAPIKey(ctx, k))
			f.keys = append(f.keys, k)
			for _, typ := range []string{"user.login", "order.created"} {
				e := newAuditEvent(f.tenant.ID, typ, base)
				e.ActorID = u.ID
				check(t, s.AppendAuditEvent(ctx, e))
			}
		}
		fixtures = append(fixtures, f)
	}

	verify := func(when string) {
		t.Helper()
		for _, f := range fixtures {
			for i, u := range f.users {
				got, err := s.GetUser(ctx, f.tenant.ID, u.ID)
				if err != nil {
					t.Fatalf("%s: user %d of %s: %v", when, i, f.tenant.Name, err)
				}
				equal(t, got, u) // EmailVerified false, as the fixture has it
				acct, err := s.FindAccountByEmail(ctx, u.Email)
				check(t, err)
				want := accountOf(u)
				want.UpdatedAt = u.UpdatedAt
				equal(t, acct, want)
				ms, err := s.ListMemberships(ctx, u.ID)
				check(t, err)
				if len(ms) != 1 || ms[0].TenantID != f.tenant.ID || ms[0].TenantName != f.tenant.Name || ms[0].Role != u.Role {
					t.Fatalf("%s: memberships of user %d of %s: %s", when, i, f.tenant.Name, dump(ms))
				}
				ss := f.sessions[i]
				gotSession, err := s.GetSession(ctx, f.tenant.ID, ss.ID)
				check(t, err)
				equal(t, gotSession, ss)
				for _, hash := range [][]byte{ss.TokenHash, f.oldHash[i]} {
					found, err := s.FindSessionByTokenHash(ctx, hash)
					if err != nil || found.ID != ss.ID {
						t.Fatalf("%s: a token hash of session %d of %s finds %v, %v", when, i, f.tenant.Name, found, err)
					}
				}
				o, err := s.GetOrder(ctx, f.tenant.ID, f.orders[i].ID)
				check(t, err)
				equal(t, o, f.orders[i])
				k, err := s.GetAPIKey(ctx, f.tenant.ID, f.keys[i].ID)
				check(t, err)
				equal(t, k, f.keys[i])
			}
			users, _, err := s.ListUsers(ctx, f.tenant.ID, rampart.Page{Limit: 10})
			check(t, err)
			if len(users) != len(f.users) {
				t.Fatalf("%s: %s lists %d users, want %d", when, f.tenant.Name, len(users), len(f.users))
			}
			report, err := rampart.VerifyAuditChain(ctx, s, f.tenant.ID)
			check(t, err)
			if !report.Intact() || report.Verified != 4 {
				t.Fatalf("%s: audit chain of %s: %+v, want 4 intact events", when, f.tenant.Name, report)
			}
		}
		// Foreign keys are enforced again: a session of no membership and
		// an order of no tenant are refused.
		wantKind(t, s.CreateSession(ctx, newSession(fixtures[0].tenant.ID, fixtures[1].users[0].ID, base)), rampart.KindNotFound)
		wantKind(t, s.CreateOrder(ctx, newOrder(rampart.NewID(), fixtures[0].users[0].ID, base)), rampart.KindNotFound)
	}

	check(t, m.Up())
	verify("after migrating up")
	check(t, m.Down())
	check(t, m.Up())
	verify("after down and up again")

	// The old schema cannot hold an account in two tenants: Down refuses,
	// and leaves everything as it was.
	both := fixtures[0].users[0]
	check(t, s.AddMembership(ctx, &rampart.Membership{TenantID: fixtures[1].tenant.ID, AccountID: both.ID,
		Role: rampart.RoleMember, DisplayName: "Ada", CreatedAt: base, UpdatedAt: base}))
	if err := m.Down(); err == nil {
		t.Fatal("Down with an account in two tenants succeeded")
	}
	ms, err := s.ListMemberships(ctx, both.ID)
	check(t, err)
	if len(ms) != 2 {
		t.Fatalf("after a refused Down: %d memberships, want 2", len(ms))
	}
	for _, f := range fixtures {
		_, err := s.GetUser(ctx, f.tenant.ID, both.ID)
		check(t, err)
	}
	got, err := s.GetSession(ctx, fixtures[0].tenant.ID, fixtures[0].sessions[0].ID)
	check(t, err)
	equal(t, got, fixtures[0].sessions[0])
	// A Down that failed halfway must not leave foreign keys off for
	// every later write: a session for an account that is no member of
	// the tenant is still refused.
	wantKind(t, s.CreateSession(ctx, newSession(fixtures[1].tenant.ID, fixtures[0].users[1].ID, base)), rampart.KindNotFound)
}
