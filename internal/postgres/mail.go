package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
)

const mailColumns = "id, kind, sealed, created_at, attempts, next_attempt_at, claimed_until, sent_at, failed_at, last_error"

// mailPending selects the messages neither sent nor failed.
const mailPending = "sent_at IS NULL AND failed_at IS NULL"

func scanMail(row pgx.Row) (*rampart.OutboxMessage, error) {
	var m rampart.OutboxMessage
	var kind string
	err := row.Scan(&m.ID, &kind, &m.Sealed, &m.CreatedAt, &m.Attempts, &m.NextAttemptAt,
		optTimeColumn{&m.ClaimedUntil}, optTimeColumn{&m.SentAt}, optTimeColumn{&m.FailedAt}, &m.LastError)
	m.Kind = rampart.MailKind(kind)
	return &m, err
}

func (s *Store) EnqueueMail(ctx context.Context, m *rampart.OutboxMessage) error {
	if err := rampart.PrepareNewMail(m); err != nil {
		return err
	}
	return s.exec(ctx, "enqueue mail", "INSERT INTO mail_outbox (id, kind, sealed, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, 0, $5)",
		m.ID, string(m.Kind), m.Sealed, m.CreatedAt, m.NextAttemptAt)
}

// ClaimMail is one statement: the rows it picks are locked with SKIP
// LOCKED, so a concurrent claim on another replica passes over them instead
// of waiting, and once it commits their lease keeps them out of any later
// claim until it ends.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*rampart.OutboxMessage, error) {
	if err := rampart.CheckMailClaim(lease, limit); err != nil {
		return nil, err
	}
	now = rampart.Timestamp(now)
	return all(ctx, s, "claim mail", scanMail,
		"UPDATE mail_outbox SET claimed_until = $1, attempts = attempts + 1 WHERE id IN ("+
			"SELECT id FROM mail_outbox WHERE "+mailPending+" AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2) "+
			"ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING "+mailColumns,
		now.Add(lease), now, limit)
}

func (s *Store) MarkMailSent(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "mark mail sent", "pending message",
		"UPDATE mail_outbox SET sent_at = $1, sealed = NULL, claimed_until = NULL WHERE id = $2 AND "+mailPending,
		rampart.Timestamp(at), id)
}

func (s *Store) RetryMail(ctx context.Context, id string, next time.Time, reason string) error {
	return s.execOne(ctx, "retry mail", "pending message",
		"UPDATE mail_outbox SET next_attempt_at = $1, last_error = $2, claimed_until = NULL WHERE id = $3 AND "+mailPending,
		rampart.Timestamp(next), reason, id)
}

func (s *Store) FailMail(ctx context.Context, id string, at time.Time, reason string) error {
	return s.execOne(ctx, "fail mail", "pending message",
		"UPDATE mail_outbox SET failed_at = $1, last_error = $2, sealed = NULL, claimed_until = NULL WHERE id = $3 AND "+mailPending,
		rampart.Timestamp(at), reason, id)
}

func (s *Store) GetMail(ctx context.Context, id string) (*rampart.OutboxMessage, error) {
	return get(ctx, s, "get mail", "message", scanMail, "SELECT "+mailColumns+" FROM mail_outbox WHERE id = $1", id)
}

// PurgeMail deletes through the index on the settling time (migration 7);
// SKIP LOCKED as PurgeSessions. A pending message has no settling time, so
// coalesce is NULL and the comparison never picks it.
func (s *Store) PurgeMail(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purgeExpired(ctx, "purge mail",
		"DELETE FROM mail_outbox WHERE id = ANY(ARRAY(SELECT id FROM mail_outbox WHERE coalesce(sent_at, failed_at) < $1 ORDER BY coalesce(sent_at, failed_at) LIMIT $2 FOR UPDATE SKIP LOCKED))", before, limit)
}

func (s *Store) CountPendingMail(ctx context.Context) (int, error) {
	var n int
	if _, err := get(ctx, s, "count pending mail", "count", func(row pgx.Row) (int, error) { return 0, row.Scan(&n) },
		"SELECT count(*) FROM mail_outbox WHERE "+mailPending); err != nil {
		return 0, err
	}
	return n, nil
}
