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
	Migrate  func() error
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
	check(t, s.CreateTenant(ctx, tenant, admin))
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
