package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"example.com/rampart/internal/rampart"
)

const (
	auditColumns    = "id, tenant_id, seq, occurred_at, type, actor_id, source_ip, request_id, target, details, prev_hash, hash"
	listAudit       = "SELECT " + auditColumns + " FROM audit_events WHERE tenant_id = ? AND (occurred_at, id) < (?, ?) ORDER BY occurred_at DESC, id DESC LIMIT ?"
	listAuditOfType = "SELECT " + auditColumns + " FROM audit_events WHERE tenant_id = ? AND type = ? AND (occurred_at, id) < (?, ?) ORDER BY occurred_at DESC, id DESC LIMIT ?"
)

func scanAuditEvent(row scanner) (*rampart.AuditEvent, error) {
	var e rampart.AuditEvent
	return &e, row.Scan(&e.ID, &e.TenantID, &e.Seq, timeColumn{&e.Time}, &e.Type, &e.ActorID, &e.SourceIP,
		&e.RequestID, &e.Target, (*[]byte)(&e.Details), &e.PrevHash, &e.Hash)
}

func (s *Store) AppendAuditEvent(ctx context.Context, e *rampart.AuditEvent) error {
	rampart.RoundTimes(e)
	// The transaction holds the single write lock from its start, so no
	// other append can read the same latest event.
	return s.inTx(ctx, "append audit event", func(tx *sql.Tx) error {
		var prevSeq int64
		var prevHash []byte
		err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_events WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1", e.TenantID).
			Scan(&prevSeq, &prevHash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return dbError("append audit event", err)
		}
		e.Seal(prevSeq, prevHash)
		_, err = tx.ExecContext(ctx, "INSERT INTO audit_events ("+auditColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			e.ID, e.TenantID, e.Seq, micros(e.Time), e.Type, e.ActorID, e.SourceIP, e.RequestID, e.Target,
			string(e.Details), e.PrevHash, e.Hash)
		if err != nil {
			return dbError("append audit event", err)
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
		"SELECT "+auditColumns+" FROM audit_events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?", tenantID, afterSeq, limit)
}
