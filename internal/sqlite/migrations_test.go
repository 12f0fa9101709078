package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/storetest"
)

// openAtVersion opens a store on a fresh file with its schema migrated up
// to version only, closed when t ends: a database as an older release left
// it, for a test to fill before migrating it the rest of the way.
func openAtVersion(t *testing.T, version int64) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p, err := s.migrator()
	if err == nil {
		_, err = p.UpTo(t.Context(), version)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// downTo migrates s down to version, as an operator rolling back would.
func downTo(ctx context.Context, s *Store, version int64) error {
	p, err := s.migrator()
	if err == nil {
		_, err = p.DownTo(ctx, version)
	}
	return s.afterMigration(ctx, err)
}

func TestMigrationKeepsSessionTokens(t *testing.T) {
	ctx := t.Context()
	s := openAtVersion(t, 1)
	storetest.RunSessionMigration(t, storetest.SessionMigration{
		Store: s,
		InsertV1: func(ss *rampart.Session) error {
			_, err := s.writer.ExecContext(ctx, "INSERT INTO sessions ("+sessionColumnsV1+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				ss.ID, ss.TenantID, ss.UserID, ss.TokenHash, ss.PreviousTokenHash, optMicros(ss.RotatedAt),
				micros(ss.CreatedAt), micros(ss.LastUsedAt), micros(ss.IdleExpiresAt), micros(ss.ExpiresAt),
				optMicros(ss.RevokedAt), ss.RevokedReason)
			return err
		},
		InsertOld: func(tenant *rampart.Tenant, u *rampart.User) error { return insertOldUser(s, tenant, u) },
		Migrate:   func() error { return s.Migrate(ctx) },
	})
}

// insertOldUser writes a tenant (unless nil) and a user as schemas 1 to 3
// kept them.
func insertOldUser(s *Store, tenant *rampart.Tenant, u *rampart.User) error {
	ctx := context.Background()
	if tenant != nil {
		if _, err := s.writer.ExecContext(ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)", tenant.ID, tenant.Name, micros(tenant.CreatedAt)); err != nil {
			return err
		}
	}
	rampart.RoundTimes(u)
	_, err := s.writer.ExecContext(ctx, "INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, created_at, updated_at, email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.TenantID, u.Email, u.DisplayName, u.Role, u.PasswordHash,
		u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, jsonColumn{u.MFA.RecoveryCodeHashes}, micros(u.CreatedAt), micros(u.UpdatedAt),
		rampart.EmailKey(u.Email))
	return err
}

// TestAccountsMigration migrates a populated database from users to
// accounts and memberships, down and up again. On SQLite it is the test of
// the table rebuild: dropping the old users and sessions tables with
// foreign keys on would have cascaded into sessions and token hashes.
func TestAccountsMigration(t *testing.T) {
	ctx := t.Context()
	s := openAtVersion(t, 3)
	storetest.RunAccountsMigration(t, storetest.AccountsMigration{
		Store:     s,
		InsertOld: func(tenant *rampart.Tenant, u *rampart.User) error { return insertOldUser(s, tenant, u) },
		Up:        func() error { return s.Migrate(ctx) },
		Down:      func() error { return downTo(ctx, s, 3) },
	})
}

// sessionColumnsV1 are the columns of sessions at schema version 1.
const sessionColumnsV1 = "id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason"

func TestSessionDetailsMigrationDown(t *testing.T) {
	ctx := t.Context()
	s := OpenTestStore(t, filepath.Join(t.TempDir(), "rampart.db"))
	storetest.RunSessionDetailsDown(t, s, func() error { return downTo(ctx, s, 2) }, func() error { return s.Migrate(ctx) })
}
