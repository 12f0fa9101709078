package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
)

const (
	auditColumns    = "id, tenant_id, seq, occurred_at, type, actor_id, source_ip, request_id, target, details, prev_hash, hash"
	listAudit       = "SELECT " + auditColumns + " FROM audit_events WHERE tenant_id = $1 AND (occurred_at, id) < ($2, $3) ORDER BY occurred_at DESC, id DESC LIMIT $4"
	listAuditOfType = "SELECT " + auditColumns + " FROM audit_events WHERE tenant_id = $1 AND type = $2 AND (occurred_at, id) < ($3, $4) ORDER BY occurred_at DESC, id DESC LIMIT $5"
)

func scanAuditEvent(row pgx.Row) (*rampart.AuditEvent, error) {
	var e rampart.AuditEvent
	return &e, row.Scan(&e.ID, &e.TenantID, &e.Seq, &e.Time, &e.Type, &e.ActorID, &e.SourceIP,
		&e.RequestID, &e.Target, &e.Details, &e.PrevHash, &e.Hash)
}

func (s *Store) AppendAuditEvent(ctx context.Context, e *rampart.AuditEvent) error {
	rampart.RoundTimes(e)
	return s.inTx(ctx, "append audit event", func(ctx context.Context, tx pgx.Tx) error {
		// Appends to one tenant's chain take turns on the tenant's row, so
		// that no two read the same latest event. FOR NO KEY UPDATE does
		// not block the foreign key checks of other inserts.
		tag, err := tx.Exec(ctx, "SELECT FROM tenants WHERE id = $1 FOR NO KEY UPDATE", e.TenantID)
		if err != nil {
			return s.dbError("append audit event", err)
		}
		if tag.RowsAffected() == 0 {
			return rampart.Errorf(rampart.KindNotFound, "tenant not found")
		}
		var prevSeq int64
		var prevHash []byte
		err = tx.QueryRow(ctx, "SELECT seq, hash FROM audit_events WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1", e.TenantID).
			Scan(&prevSeq, &prevHash)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return s.dbError("append audit event", err)
		}
		e.Seal(prevSeq, prevHash)
		_, err = tx.Exec(ctx, "INSERT INTO audit_events ("+auditColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
			e.ID, e.TenantID, e.Seq, e.Time, e.Type, e.ActorID, e.SourceIP, e.RequestID, e.Target,
			e.Details, e.PrevHash, e.Hash)
		if err != nil {
			return s.dbError("append audit event", err)
		}
		return nil
	})
}

func (s *Store) ListAuditEvents(ctx context.Context, tenantID string, f rampart.AuditFilter, page rampart.Page) ([]*rampart.AuditEvent, rampart.Cursor, error) {
	if f.Type != "" {
		return list(ctx, s, "list audit events", page, scanAuditEvent, listAuditOfType, tenantID, f.Type)
	}
	return list(ctx, s, "list audit events", page, scanAuditEvent, listAudit, tenantID)
}

func (s *Store) ListAuditChain(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]*rampart.AuditEvent, error) {
	return all(ctx, s, "list audit chain", scanAuditEvent,
		"SELECT "+auditColumns+" FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", tenantID, afterSeq, limit)
}
