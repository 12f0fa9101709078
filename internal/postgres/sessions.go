package postgres

import (
	"bytes"
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
)

const (
	sessionColumns = "id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason, auth_time, client_address, user_agent"
	selectSession  = "SELECT " + sessionColumns + " FROM sessions WHERE tenant_id = $1 AND id = $2"
)

func scanSession(row pgx.Row) (*rampart.Session, error) {
	var s rampart.Session
	return &s, row.Scan(&s.ID, &s.TenantID, &s.UserID, &s.TokenHash, &s.PreviousTokenHash, optTimeColumn{&s.RotatedAt},
		&s.CreatedAt, &s.LastUsedAt, &s.IdleExpiresAt, &s.ExpiresAt, optTimeColumn{&s.RevokedAt}, &s.RevokedReason,
		optTimeColumn{&s.AuthTime}, &s.ClientAddress, &s.UserAgent)
}

func (s *Store) CreateSession(ctx context.Context, ss *rampart.Session) error {
	rampart.RoundTimes(ss)
	return s.inTx(ctx, "create session", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
			ss.ID, ss.TenantID, ss.UserID, ss.TokenHash, ss.PreviousTokenHash, optTime(ss.RotatedAt),
			ss.CreatedAt, ss.LastUsedAt, ss.IdleExpiresAt, ss.ExpiresAt, optTime(ss.RevokedAt), ss.RevokedReason,
			optTime(ss.AuthTime), ss.ClientAddress, ss.UserAgent)
		if err != nil {
			return s.dbError("create session", err)
		}
		// Conflict when the hash is an earlier token of any session.
		if _, err := tx.Exec(ctx, insertTokenHash, ss.TokenHash, ss.ID, ss.TenantID); err != nil {
			return s.dbError("create session", err)
		}
		return nil
	})
}

// Every token hash a session has had is in session_token_hashes, the current
// one with replaced_at NULL. The primary key makes a hash belong to one
// session and one generation only.
const (
	// insertTokenHash records a session's new current hash.
	insertTokenHash = "INSERT INTO session_token_hashes (token_hash, session_id, tenant_id, replaced_at) VALUES ($1, $2, $3, NULL)"
	// replaceTokenHash records that a session's hash was replaced. The hash
	// is normally there as the current one, but a session that an older
	// build (before migration 00002) created or rotated lacks it.
	replaceTokenHash = "INSERT INTO session_token_hashes (token_hash, session_id, tenant_id, replaced_at) VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO UPDATE SET replaced_at = excluded.replaced_at WHERE session_token_hashes.session_id = excluded.session_id"
)

// rotateTokenHash records, in tx, that ss.TokenHash replaced old: at
// ss.RotatedAt, or at ss.LastUsedAt when the caller left RotatedAt zero.
// Conflict: the new hash is, or was, the token hash of any session.
func rotateTokenHash(ctx context.Context, tx pgx.Tx, ss *rampart.Session, old []byte) error {
	replacedAt := ss.RotatedAt
	if replacedAt.IsZero() {
		replacedAt = ss.LastUsedAt
	}
	if _, err := tx.Exec(ctx, insertTokenHash, ss.TokenHash, ss.ID, ss.TenantID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, replaceTokenHash, old, ss.ID, ss.TenantID, replacedAt)
	return err
}

func (s *Store) GetSession(ctx context.Context, tenantID, id string) (*rampart.Session, error) {
	return get(ctx, s, "get session", "session", scanSession, selectSession, tenantID, id)
}

func (s *Store) FindSessionByTokenHash(ctx context.Context, hash []byte) (*rampart.Session, error) {
	// The hash history answers; the columns of sessions as well, for a
	// session that an older build created or rotated.
	return get(ctx, s, "find session", "session", scanSession,
		"SELECT "+sessionColumns+" FROM sessions WHERE id = (SELECT session_id FROM session_token_hashes WHERE token_hash = $1) OR token_hash = $1 OR previous_token_hash = $1", hash)
}

func (s *Store) ListActiveSessions(ctx context.Context, tenantID, userID string, now time.Time, page rampart.Page) ([]*rampart.Session, rampart.Cursor, error) {
	return list(ctx, s, "list sessions", page, scanSession,
		"SELECT "+sessionColumns+" FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND idle_expires_at > $3 AND expires_at > $3 AND (created_at, id) < ($4, $5) ORDER BY created_at DESC, id DESC LIMIT $6",
		tenantID, userID, rampart.Timestamp(now))
}

func (s *Store) UpdateSession(ctx context.Context, tenantID, id string, fn func(*rampart.Session) error) (*rampart.Session, error) {
	return update(ctx, s, "update session", "session", scanSession, fn, func(ctx context.Context, tx pgx.Tx, ss, before *rampart.Session) error {
		var err error
		if !bytes.Equal(ss.TokenHash, before.TokenHash) {
			err = rotateTokenHash(ctx, tx, ss, before.TokenHash)
		}
		if err == nil {
			_, err = tx.Exec(ctx, "UPDATE sessions SET token_hash = $1, previous_token_hash = $2, rotated_at = $3, last_used_at = $4, idle_expires_at = $5, expires_at = $6, revoked_at = $7, revoked_reason = $8, auth_time = $9, client_address = $10, user_agent = $11 WHERE id = $12",
				ss.TokenHash, ss.PreviousTokenHash, optTime(ss.RotatedAt), ss.LastUsedAt,
				ss.IdleExpiresAt, ss.ExpiresAt, optTime(ss.RevokedAt), ss.RevokedReason,
				optTime(ss.AuthTime), ss.ClientAddress, ss.UserAgent, id)
		}
		if err != nil {
			return s.dbError("update session", err)
		}
		return nil
	}, selectSession+" FOR UPDATE", tenantID, id)
}

func (s *Store) RevokeUserSessions(ctx context.Context, tenantID, userID, exceptID string, at time.Time, reason string) error {
	return s.exec(ctx, "revoke sessions", "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE tenant_id = $3 AND user_id = $4 AND id <> $5 AND revoked_at IS NULL",
		rampart.Timestamp(at), reason, tenantID, userID, exceptID)
}

func (s *Store) RevokeAccountSessions(ctx context.Context, accountID, exceptID string, at time.Time, reason string) error {
	return s.exec(ctx, "revoke account sessions", "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL",
		rampart.Timestamp(at), reason, accountID, exceptID)
}

func (s *Store) MoveSession(ctx context.Context, tenantID, id, toTenantID string, fn func(*rampart.Session) error) (*rampart.Session, error) {
	var moved *rampart.Session
	err := s.inTx(ctx, "move session", func(ctx context.Context, tx pgx.Tx) error {
		// The foreign key to memberships refuses a tenant the account is
		// not a member of (NotFound); the token hashes follow by cascade.
		tag, err := tx.Exec(ctx, "UPDATE sessions SET tenant_id = $1 WHERE tenant_id = $2 AND id = $3", toTenantID, tenantID, id)
		if err := s.notFoundUnlessChanged("move session", "session", tag, err); err != nil {
			return err
		}
		moved, err = s.unit(tx).UpdateSession(ctx, toTenantID, id, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// PurgeSessions deletes through the index on expires_at (migration 7); the
// token hashes go by cascade. SKIP LOCKED: a session that a refresh holds
// locked, or that another replica is deleting, is left for the next run
// rather than waited for.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purgeExpired(ctx, "purge sessions",
		"DELETE FROM sessions WHERE id = ANY(ARRAY(SELECT id FROM sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))", before, limit)
}
