package sqlite

import (
	"context"
	"time"

	"example.com/rampart/internal/rampart"
)

// An invitation's tenant_id is NULL for the other purposes, so that the
// foreign key holds; the struct's TenantID is "" for them.
const (
	linkColumns    = "id, hash, purpose, email, account_id, tenant_id, role, display_name, organization, password_hash, password_stamp, created_by, created_at, expires_at, used_at, revoked_at"
	selectLinkCols = "id, hash, purpose, email, account_id, coalesce(tenant_id, ''), role, display_name, organization, password_hash, password_stamp, created_by, created_at, expires_at, used_at, revoked_at"
	// pendingLink is the condition of a link that can still be used at the
	// time given as its one parameter.
	pendingLink = "used_at IS NULL AND revoked_at IS NULL AND expires_at > ?"
)

func scanLinkToken(row scanner) (*rampart.LinkToken, error) {
	var l rampart.LinkToken
	return &l, row.Scan(&l.ID, &l.Hash, &l.Purpose, &l.Email, &l.AccountID, &l.TenantID, &l.Role, &l.DisplayName,
		&l.Organization, &l.PasswordHash, &l.PasswordStamp, &l.CreatedBy, timeColumn{&l.CreatedAt}, timeColumn{&l.ExpiresAt},
		timeColumn{&l.UsedAt}, timeColumn{&l.RevokedAt})
}

func (s *Store) CreateLinkToken(ctx context.Context, l *rampart.LinkToken) error {
	rampart.RoundTimes(l)
	return s.exec(ctx, "create link token", "INSERT INTO link_tokens ("+linkColumns+", email_key) VALUES (?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		l.ID, l.Hash, l.Purpose, l.Email, l.AccountID, l.TenantID, l.Role, l.DisplayName, l.Organization, l.PasswordHash,
		l.PasswordStamp, l.CreatedBy, micros(l.CreatedAt), micros(l.ExpiresAt), optMicros(l.UsedAt), optMicros(l.RevokedAt),
		rampart.EmailKey(l.Email))
}

// RedeemLinkToken is one statement: the single writer runs it whole, so of
// two redemptions of one token the second finds it used.
func (s *Store) RedeemLinkToken(ctx context.Context, hash []byte, purpose rampart.LinkPurpose, at time.Time) (*rampart.LinkToken, error) {
	at = rampart.Timestamp(at)
	return get(ctx, s.writer, "redeem link token", "link", scanLinkToken,
		"UPDATE link_tokens SET used_at = ? WHERE hash = ? AND purpose = ? AND "+pendingLink+" RETURNING "+selectLinkCols,
		micros(at), hash, purpose, micros(at))
}

func (s *Store) ListInvitations(ctx context.Context, tenantID string, now time.Time, page rampart.Page) ([]*rampart.LinkToken, rampart.Cursor, error) {
	return list(ctx, s, "list invitations", page, scanLinkToken,
		"SELECT "+selectLinkCols+" FROM link_tokens WHERE tenant_id = ? AND purpose = 'invitation' AND "+pendingLink+" AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
		tenantID, micros(rampart.Timestamp(now)))
}

func (s *Store) RevokeInvitation(ctx context.Context, tenantID, id string, at time.Time) error {
	at = rampart.Timestamp(at)
	return s.execOne(ctx, "revoke invitation", "invitation",
		"UPDATE link_tokens SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND purpose = 'invitation' AND "+pendingLink,
		micros(at), tenantID, id, micros(at))
}

func (s *Store) RevokeLinkTokens(ctx context.Context, purpose rampart.LinkPurpose, accountID, email string, at time.Time) error {
	if err := rampart.CheckLinkRevocation(accountID, email); err != nil {
		return err
	}
	key := rampart.EmailKey(email)
	return s.exec(ctx, "revoke link tokens",
		"UPDATE link_tokens SET revoked_at = ? WHERE used_at IS NULL AND revoked_at IS NULL AND (? = '' OR purpose = ?) AND ((? <> '' AND account_id = ?) OR (? <> '' AND email_key = ?))",
		micros(rampart.Timestamp(at)), purpose, purpose, accountID, accountID, key, key)
}

// PurgeLinkTokens deletes through the index on expires_at (migration 7).
func (s *Store) PurgeLinkTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purgeExpired(ctx, "purge link tokens",
		"DELETE FROM link_tokens WHERE id IN (SELECT id FROM link_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?)", before, limit)
}
