package sqlite

import (
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
		Migrate: func() error { return s.Migrate(ctx) },
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
		return err
	}, func() error { return s.Migrate(ctx) })
}
