package sqlite

import (
	"context"
	"database/sql"
	"time"

	"example.com/rampart/internal/rampart"
)

const mailColumns = "id, kind, sealed, created_at, attempts, next_attempt_at, claimed_until, sent_at, failed_at, last_error"

// mailPending selects the messages neither sent nor failed.
const mailPending = "sent_at IS NULL AND failed_at IS NULL"

func scanMail(row scanner) (*rampart.OutboxMessage, error) {
	var m rampart.OutboxMessage
	return &m, row.Scan(&m.ID, &m.Kind, &m.Sealed, timeColumn{&m.CreatedAt}, &m.Attempts, timeColumn{&m.NextAttemptAt},
		timeColumn{&m.ClaimedUntil}, timeColumn{&m.SentAt}, timeColumn{&m.FailedAt}, &m.LastError)
}

func (s *Store) EnqueueMail(ctx context.Context, m *rampart.OutboxMessage) error {
	if err := rampart.PrepareNewMail(m); err != nil {
		return err
	}
	return s.exec(ctx, "enqueue mail", "INSERT INTO mail_outbox (id, kind, sealed, created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, 0, ?)",
		m.ID, m.Kind, m.Sealed, micros(m.CreatedAt), micros(m.NextAttemptAt))
}

// ClaimMail is one statement on the single writer connection, so claims
// never overlap.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*rampart.OutboxMessage, error) {
	if err := rampart.CheckMailClaim(lease, limit); err != nil {
		return nil, err
	}
	now = rampart.Timestamp(now)
	var claimed []*rampart.OutboxMessage
	err := s.inTx(ctx, "claim mail", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "UPDATE mail_outbox SET claimed_until = ?, attempts = attempts + 1 WHERE id IN ("+
			"SELECT id FROM mail_outbox WHERE "+mailPending+" AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?) "+
			"ORDER BY next_attempt_at, id LIMIT ?) RETURNING "+mailColumns,
			micros(now.Add(lease)), micros(now), micros(now), limit)
		if err != nil {
			return dbError("claim mail", err)
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return dbError("claim mail", err)
			}
			claimed = append(claimed, m)
		}
		if err := rows.Err(); err != nil {
			return dbError("claim mail", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

func (s *Store) MarkMailSent(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "mark mail sent", "pending message",
		"UPDATE mail_outbox SET sent_at = ?, sealed = NULL, claimed_until = NULL WHERE id = ? AND "+mailPending,
		micros(rampart.Timestamp(at)), id)
}

func (s *Store) RetryMail(ctx context.Context, id string, next time.Time, reason string) error {
	return s.execOne(ctx, "retry mail", "pending message",
		"UPDATE mail_outbox SET next_attempt_at = ?, last_error = ?, claimed_until = NULL WHERE id = ? AND "+mailPending,
		micros(rampart.Timestamp(next)), reason, id)
}

func (s *Store) FailMail(ctx context.Context, id string, at time.Time, reason string) error {
	return s.execOne(ctx, "fail mail", "pending message",
		"UPDATE mail_outbox SET failed_at = ?, last_error = ?, sealed = NULL, claimed_until = NULL WHERE id = ? AND "+mailPending,
		micros(rampart.Timestamp(at)), reason, id)
}

func (s *Store) GetMail(ctx context.Context, id string) (*rampart.OutboxMessage, error) {
	return get(ctx, s.reader, "get mail", "message", scanMail, "SELECT "+mailColumns+" FROM mail_outbox WHERE id = ?", id)
}

// PurgeMail deletes through the index on the settling time (migration 7).
// A pending message has no settling time, so coalesce is NULL and the
// comparison never picks it.
func (s *Store) PurgeMail(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purgeExpired(ctx, "purge mail",
		"DELETE FROM mail_outbox WHERE id IN (SELECT id FROM mail_outbox WHERE coalesce(sent_at, failed_at) < ? ORDER BY coalesce(sent_at, failed_at) LIMIT ?)", before, limit)
}

func (s *Store) CountPendingMail(ctx context.Context) (int, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, "SELECT count(*) FROM mail_outbox WHERE "+mailPending).Scan(&n); err != nil {
		return 0, dbError("count pending mail", err)
	}
	return n, nil
}
