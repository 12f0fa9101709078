package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/storetest"
)

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
	s, err := Open(ctx, filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	storetest.RunAccountsMigration(t, storetest.AccountsMigration{
		Store:     s,
		InsertOld: func(tenant *rampart.Tenant, u *rampart.User) error { return insertOldUser(s, tenant, u) },
		Up:        func() error { return s.Migrate(ctx) },
		Down: func() error {
			_, err := p.DownTo(ctx, 3)
			return s.afterMigration(ctx, err)
		},
	})
}

// sessionColumnsV1 are the columns of sessions at schema version 1.
const sessionColumnsV1 = "id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason"

func TestSessionDetailsMigrationDown(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.RunSessionDetailsDown(t, s, func() error {
		p, err := s.migrator()
		if err == nil {
			_, err = p.DownTo(ctx, 2)
		}
		return s.afterMigration(ctx, err)
	}, func() error { return s.Migrate(ctx) })
}
