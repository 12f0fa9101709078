package postgres

import (
	"context"
	"testing"

	"github.com/pressly/goose/v3"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/storetest"
	"example.com/rampart/internal/testutil"
)

// openAtVersion opens a store on a fresh database with its schema migrated
// up to version only, closed when t ends: a database as an older release
// left it, for a test to fill before migrating it the rest of the way.
func openAtVersion(t *testing.T, version int64) *Store {
	t.Helper()
	s, err := Open(t.Context(), testutil.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := migrateTo(t.Context(), s, (*goose.Provider).UpTo, version); err != nil {
		t.Fatal(err)
	}
	return s
}

// migrateTo moves s's schema to version by step, goose's UpTo or DownTo
// (DownTo as an operator rolling back would).
func migrateTo(ctx context.Context, s *Store, step func(*goose.Provider, context.Context, int64) ([]*goose.MigrationResult, error), version int64) error {
	return s.withMigrator(ctx, "migrate", func(p *goose.Provider) error {
		_, err := step(p, ctx, version)
		return err
	})
}

func TestMigrationKeepsSessionTokens(t *testing.T) {
	ctx := t.Context()
	s := openAtVersion(t, 1)
	storetest.RunSessionMigration(t, storetest.SessionMigration{
		Store: s,
		InsertV1: func(ss *rampart.Session) error {
			_, err := s.pool.Exec(ctx, "INSERT INTO sessions ("+sessionColumnsV1+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
				ss.ID, ss.TenantID, ss.UserID, ss.TokenHash, ss.PreviousTokenHash, optTime(ss.RotatedAt),
				ss.CreatedAt, ss.LastUsedAt, ss.IdleExpiresAt, ss.ExpiresAt, optTime(ss.RevokedAt), ss.RevokedReason)
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
		rampart.RoundTimes(tenant)
		if _, err := s.pool.Exec(ctx, "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)", tenant.ID, tenant.Name, tenant.CreatedAt); err != nil {
			return err
		}
	}
	rampart.RoundTimes(u)
	_, err := s.pool.Exec(ctx, "INSERT INTO users (id, tenant_id, email, display_name, role, password_hash, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, created_at, updated_at, email_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		u.ID, u.TenantID, u.Email, u.DisplayName, u.Role, u.PasswordHash,
		u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, u.MFA.RecoveryCodeHashes, u.CreatedAt, u.UpdatedAt,
		rampart.EmailKey(u.Email))
	return err
}

// TestAccountsMigration migrates a populated database from users to
// accounts and memberships, down and up again.
func TestAccountsMigration(t *testing.T) {
	ctx := t.Context()
	s := openAtVersion(t, 3)
	storetest.RunAccountsMigration(t, storetest.AccountsMigration{
		Store:     s,
		InsertOld: func(tenant *rampart.Tenant, u *rampart.User) error { return insertOldUser(s, tenant, u) },
		Up:        func() error { return s.Migrate(ctx) },
		Down:      func() error { return migrateTo(ctx, s, (*goose.Provider).DownTo, 3) },
	})
}

// sessionColumnsV1 are the columns of sessions at schema version 1.
const sessionColumnsV1 = "id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason"

func TestSessionDetailsMigrationDown(t *testing.T) {
	ctx := t.Context()
	s := OpenTestStore(t, testutil.PostgresURL(t))
	storetest.RunSessionDetailsDown(t, s, func() error { return migrateTo(ctx, s, (*goose.Provider).DownTo, 2) }, func() error { return s.Migrate(ctx) })
}
