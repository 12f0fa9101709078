package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
)

// An invitation's tenant_id is NULL for the other purposes, so that the
// foreign key holds; the struct's TenantID is "" for them.
const (
	linkColumns    = "id, hash, purpose, email, account_id, tenant_id, role, display_name, organization, password_hash, password_stamp, created_by, created_at, expires_at, used_at, revoked_at"
	selectLinkCols = "id, hash, purpose, email, account_id, coalesce(tenant_id, ''), role, display_name, organization, password_hash, password_stamp, created_by, created_at, expires_at, used_at, revoked_at"
)

func scanLinkToken(row pgx.Row) (*rampart.LinkToken, error) {
	var l rampart.LinkToken
	return &l, row.Scan(&l.ID, &l.Hash, &l.Purpose, &l.Email, &l.AccountID, &l.TenantID, &l.Role, &l.DisplayName,
		&l.Organization, &l.PasswordHash, &l.PasswordStamp, &l.CreatedBy, &l.CreatedAt, &l.ExpiresAt,
		optTimeColumn{&l.UsedAt}, optTimeColumn{&l.RevokedAt})
}

func (s *Store) CreateLinkToken(ctx context.Context, l *rampart.LinkToken) error {
	rampart.RoundTimes(l)
	return s.exec(ctx, "create link token", "INSERT INTO link_tokens ("+linkColumns+", email_key) VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
		l.ID, l.Hash, l.Purpose, l.Email, l.AccountID, l.TenantID, l.Role, l.DisplayName, l.Organization, l.PasswordHash,
		l.PasswordStamp, l.CreatedBy, l.CreatedAt, l.ExpiresAt, optTime(l.UsedAt), optTime(l.RevokedAt),
		rampart.EmailKey(l.Email))
}

// RedeemLinkToken is one statement. Of two concurrent redemptions of one
// token, the second waits for the first's row lock and, under READ
// COMMITTED, evaluates its WHERE again on the row as the first left it:
// used, so it changes nothing and returns no row.
func (s *Store) RedeemLinkToken(ctx context.Context, hash []byte, purpose rampart.LinkPurpose, at time.Time) (*rampart.LinkToken, error) {
	return get(ctx, s, "redeem link token", "link", scanLinkToken,
		"UPDATE link_tokens SET used_at = $1 WHERE hash = $2 AND purpose = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1 RETURNING "+selectLinkCols,
		rampart.Timestamp(at), hash, purpose)
}

func (s *Store) ListInvitations(ctx context.Context, tenantID string, now time.Time, page rampart.Page) ([]*rampart.LinkToken, rampart.Cursor, error) {
	return list(ctx, s, "list invitations", page, scanLinkToken,
		"SELECT "+selectLinkCols+" FROM link_tokens WHERE tenant_id = $1 AND purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $5",
		tenantID, rampart.Timestamp(now))
}

func (s *Store) RevokeInvitation(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.execOne(ctx, "revoke invitation", "invitation",
		"UPDATE link_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
		rampart.Timestamp(at), tenantID, id)
}

func (s *Store) RevokeLinkTokens(ctx context.Context, purpose rampart.LinkPurpose, accountID, email string, at time.Time) error {
	if err := rampart.CheckLinkRevocation(accountID, email); err != nil {
		return err
	}
	return s.exec(ctx, "revoke link tokens",
		"UPDATE link_tokens SET revoked_at = $1 WHERE used_at IS NULL AND revoked_at IS NULL AND ($2 = '' OR purpose = $2) AND (($3 <> '' AND account_id = $3) OR ($4 <> '' AND email_key = $4))",
		rampart.Timestamp(at), string(purpose), accountID, rampart.EmailKey(email))
}

// PurgeLinkTokens deletes through the index on expires_at (migration 7),
// skipping rows locked elsewhere as PurgeSessions does.
func (s *Store) PurgeLinkTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purgeExpired(ctx, "purge link tokens",
		"DELETE FROM link_tokens WHERE id = ANY(ARRAY(SELECT id FROM link_tokens WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))", before, limit)
}
