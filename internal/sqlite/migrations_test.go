package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// TestMigrationKeepsSessionTokens migrates a database with sessions from
// schema 1, which kept only the current and the previous token hash: both
// must still find their session, and so must the tokens of a session that
// an older build writes after the migration.
func TestMigrationKeepsSessionTokens(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}

	now := rampart.Timestamp(time.Now())
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme", CreatedAt: now}
	admin := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: rampart.NewID() + "@example.com", Role: rampart.RoleAdmin, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateTenant(ctx, tenant, admin); err != nil {
		t.Fatal(err)
	}
	// What a build before migration 2 stores, and nothing more.
	insertOld := func(token, previous []byte) *rampart.Session {
		t.Helper()
		ss := &rampart.Session{ID: rampart.NewID(), TenantID: tenant.ID, UserID: admin.ID, TokenHash: token, PreviousTokenHash: previous,
			CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
		if previous != nil {
			ss.RotatedAt = now
		}
		_, err := s.writer.ExecContext(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			ss.ID, ss.TenantID, ss.UserID, ss.TokenHash, ss.PreviousTokenHash, optMicros(ss.RotatedAt),
			micros(ss.CreatedAt), micros(ss.LastUsedAt), micros(ss.IdleExpiresAt), micros(ss.ExpiresAt),
			optMicros(ss.RevokedAt), ss.RevokedReason)
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	migrated := insertOld([]byte("a2"), []byte("a1"))
	fresh := insertOld([]byte("b1"), nil)

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	legacy := insertOld([]byte("c1"), nil) // by an older build still running
	for _, ss := range []*rampart.Session{migrated, fresh, legacy} {
		for _, next := range []string{"3", "4"} {
			if _, err := s.UpdateSession(ctx, tenant.ID, ss.ID, func(ss *rampart.Session) error {
				ss.PreviousTokenHash, ss.TokenHash, ss.RotatedAt = ss.TokenHash, append(ss.TokenHash[:1:1], next...), now
				return nil
			}); err != nil {
				t.Fatal(err)
			}
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
}
