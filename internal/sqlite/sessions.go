package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"time"

	"example.com/rampart/internal/rampart"
)

const (
	sessionColumns = "id, tenant_id, user_id, token_hash, previous_token_hash, rotated_at, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoked_reason, auth_time, client_address, user_agent"
	selectSession  = "SELECT " + sessionColumns + " FROM sessions WHERE tenant_id = ? AND id = ?"
)

func scanSession(row scanner) (*rampart.Session, error) {
	var s rampart.Session
	return &s, row.Scan(&s.ID, &s.TenantID, &s.UserID, &s.TokenHash, &s.PreviousTokenHash, timeColumn{&s.RotatedAt},
		timeColumn{&s.CreatedAt}, timeColumn{&s.LastUsedAt}, timeColumn{&s.IdleExpiresAt}, timeColumn{&s.ExpiresAt},
		timeColumn{&s.RevokedAt}, &s.RevokedReason, timeColumn{&s.AuthTime}, &s.ClientAddress, &s.UserAgent)
}

func (s *Store) CreateSession(ctx context.Context, ss *rampart.Session) error {
	rampart.RoundTimes(ss)
	return s.inTx(ctx, "create session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			ss.ID, ss.TenantID, ss.UserID, ss.TokenHash, ss.PreviousTokenHash, optMicros(ss.RotatedAt),
			micros(ss.CreatedAt), micros(ss.LastUsedAt), micros(ss.IdleExpiresAt), micros(ss.ExpiresAt),
			optMicros(ss.RevokedAt), ss.RevokedReason, optMicros(ss.AuthTime), ss.ClientAddress, ss.UserAgent)
		if err != nil {
			return dbError("create session", err)
		}
		// Conflict when the hash is an earlier token of any session.
		if _, err := tx.ExecContext(ctx, insertTokenHash, ss.TokenHash, ss.ID, ss.TenantID); err != nil {
			return dbError("create session", err)
		}
		return nil
	})
}

// Every token hash a session has had is in session_token_hashes, the current
// one with replaced_at NULL. The primary key makes a hash belong to one
// session and one generation only.
const (
	// insertTokenHash records a session's new current hash.
	insertTokenHash = "INSERT INTO session_token_hashes (token_hash, session_id, tenant_id, replaced_at) VALUES (?, ?, ?, NULL)"
	// replaceTokenHash records that a session's hash was replaced. The hash
	// is normally there as the current one, but a session that an older
	// build (before migration 00002) created or rotated lacks it.
	replaceTokenHash = "INSERT INTO session_token_hashes (token_hash, session_id, tenant_id, replaced_at) VALUES (?, ?, ?, ?) ON CONFLICT (token_hash) DO UPDATE SET replaced_at = excluded.replaced_at WHERE session_token_hashes.session_id = excluded.session_id"
)

// rotateTokenHash records, in tx, that ss.TokenHash replaced old: at
// ss.RotatedAt, or at ss.LastUsedAt when the caller left RotatedAt zero.
// Conflict: the new hash is, or was, the token hash of any session.
func rotateTokenHash(ctx context.Context, tx *sql.Tx, ss *rampart.Session, old []byte) error {
	replacedAt := ss.RotatedAt
	if replacedAt.IsZero() {
		replacedAt = ss.LastUsedAt
	}
	if _, err := tx.ExecContext(ctx, insertTokenHash, ss.TokenHash, ss.ID, ss.TenantID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, replaceTokenHash, old, ss.ID, ss.TenantID, micros(replacedAt))
	return err
}

func (s *Store) GetSession(ctx context.Context, tenantID, id string) (*rampart.Session, error) {
	return get(ctx, s.reader, "get session", "session", scanSession, selectSession, tenantID, id)
}

func (s *Store) FindSessionByTokenHash(ctx context.Context, hash []byte) (*rampart.Session, error) {
	// The hash history answers; the columns of sessions as well, for a
	// session that an older build created or rotated.
	return get(ctx, s.reader, "find session", "session", scanSession,
		"SELECT "+sessionColumns+" FROM sessions WHERE id = (SELECT session_id FROM session_token_hashes WHERE token_hash = ?) OR token_hash = ? OR previous_token_hash = ?", hash, hash, hash)
}

func (s *Store) ListActiveSessions(ctx context.Context, tenantID, userID string, now time.Time, page rampart.Page) ([]*rampart.Session, rampart.Cursor, error) {
	return list(ctx, s, "list sessions", page, scanSession,
		"SELECT "+sessionColumns+" FROM sessions WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL AND idle_expires_at > ? AND expires_at > ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
		tenantID, userID, micros(now), micros(now))
}

func (s *Store) UpdateSession(ctx context.Context, tenantID, id string, fn func(*rampart.Session) error) (*rampart.Session, error) {
	return update(ctx, s, "update session", "session", scanSession, fn, func(tx *sql.Tx, ss, before *rampart.Session) error {
		var err error
		if !bytes.Equal(ss.TokenHash, before.TokenHash) {
			err = rotateTokenHash(ctx, tx, ss, before.TokenHash)
		}
		if err == nil {
			_, err = tx.ExecContext(ctx, "UPDATE sessions SET token_hash = ?, previous_token_hash = ?, rotated_at = ?, last_used_at = ?, idle_expires_at = ?, expires_at = ?, revoked_at = ?, revoked_reason = ?, auth_time = ?, client_address = ?, user_agent = ? WHERE id = ?",
				ss.TokenHash, ss.PreviousTokenHash, optMicros(ss.RotatedAt), micros(ss.LastUsedAt),
				micros(ss.IdleExpiresAt), micros(ss.ExpiresAt), optMicros(ss.RevokedAt), ss.RevokedReason,
				optMicros(ss.AuthTime), ss.ClientAddress, ss.UserAgent, id)
		}
		if err != nil {
			return dbError("update session", err)
		}
		return nil
	}, selectSession, tenantID, id)
}

func (s *Store) RevokeUserSessions(ctx context.Context, tenantID, userID, exceptID string, at time.Time, reason string) error {
	return s.exec(ctx, "revoke sessions", "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE tenant_id = ? AND user_id = ? AND id <> ? AND revoked_at IS NULL",
		micros(rampart.Timestamp(at)), reason, tenantID, userID, exceptID)
}

func (s *Store) RevokeAccountSessions(ctx context.Context, accountID, exceptID string, at time.Time, reason string) error {
	return s.exec(ctx, "revoke account sessions", "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL",
		micros(rampart.Timestamp(at)), reason, accountID, exceptID)
}

func (s *Store) MoveSession(ctx context.Context, tenantID, id, toTenantID string, fn func(*rampart.Session) error) (*rampart.Session, error) {
	var moved *rampart.Session
	// inTx, not Atomically: inside a unit it takes a savepoint, so a
	// failing fn undoes the move as well as the update.
	err := s.inTx(ctx, "move session", func(sqlTx *sql.Tx) error {
		tx := s.unit(sqlTx)
		// The foreign key to memberships refuses a tenant the account is
		// not a member of (NotFound); the token hashes follow by cascade.
		err := tx.execOne(ctx, "move session", "session", "UPDATE sessions SET tenant_id = ? WHERE tenant_id = ? AND id = ?", toTenantID, tenantID, id)
		if err != nil {
			return err
		}
		moved, err = tx.UpdateSession(ctx, toTenantID, id, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// PurgeSessions deletes through the index on expires_at (migration 7); the
// token hashes go by cascade.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purgeExpired(ctx, "purge sessions",
		"DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)", before, limit)
}
