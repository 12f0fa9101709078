package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"example.com/rampart/internal/rampart"
)

const signingKeyColumns = "id, algorithm, public_key, private_key, created_at, activated_at, retired_at"

func scanSigningKey(row pgx.Row) (*rampart.SigningKey, error) {
	var k rampart.SigningKey
	var retired pgtype.Timestamptz
	if err := row.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &k.CreatedAt, &k.ActivatedAt, &retired); err != nil {
		return nil, err
	}
	k.RetiredAt = fromOptTime(retired)
	return &k, nil
}

func (s *Store) CreateSigningKey(ctx context.Context, k *rampart.SigningKey) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	k.CreatedAt = rampart.Timestamp(k.CreatedAt)
	k.ActivatedAt = rampart.Timestamp(k.ActivatedAt)
	k.RetiredAt = rampart.Timestamp(k.RetiredAt)
	_, err := s.pool.Exec(ctx, "INSERT INTO signing_keys ("+signingKeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		k.ID, k.Algorithm, k.PublicKey, k.PrivateKey, k.CreatedAt, k.ActivatedAt, optTime(k.RetiredAt))
	if err != nil {
		return s.dbError("create signing key", err)
	}
	return nil
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]*rampart.SigningKey, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT "+signingKeyColumns+" FROM signing_keys ORDER BY created_at DESC, id DESC")
	keys, err := collect(rows, err, scanSigningKey)
	if err != nil {
		return nil, s.dbError("list signing keys", err)
	}
	return keys, nil
}

func (s *Store) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $1) WHERE id = $2", rampart.Timestamp(at), id)
	return s.notFoundUnlessChanged("retire signing key", "signing key", tag, err)
}

func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, "DELETE FROM signing_keys WHERE id = $1", id)
	return s.notFoundUnlessChanged("delete signing key", "signing key", tag, err)
}

const apiKeyColumns = "id, tenant_id, name, prefix, hash, scopes, expires_at, last_used_at, created_by, created_at, revoked_at"

func scanAPIKey(row pgx.Row) (*rampart.APIKey, error) {
	var k rampart.APIKey
	var expires, lastUsed, revoked pgtype.Timestamptz
	err := row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, &k.Scopes,
		&expires, &lastUsed, &k.CreatedBy, &k.CreatedAt, &revoked)
	if err != nil {
		return nil, err
	}
	k.ExpiresAt, k.LastUsedAt, k.RevokedAt = fromOptTime(expires), fromOptTime(lastUsed), fromOptTime(revoked)
	return &k, nil
}

func (s *Store) CreateAPIKey(ctx context.Context, k *rampart.APIKey) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	k.ExpiresAt = rampart.Timestamp(k.ExpiresAt)
	k.LastUsedAt = rampart.Timestamp(k.LastUsedAt)
	k.CreatedAt = rampart.Timestamp(k.CreatedAt)
	k.RevokedAt = rampart.Timestamp(k.RevokedAt)
	_, err := s.pool.Exec(ctx, "INSERT INTO api_keys ("+apiKeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		k.ID, k.TenantID, k.Name, k.Prefix, k.Hash, k.Scopes, optTime(k.ExpiresAt), optTime(k.LastUsedAt),
		k.CreatedBy, k.CreatedAt, optTime(k.RevokedAt))
	if err != nil {
		return s.dbError("create api key", err)
	}
	return nil
}

func (s *Store) GetAPIKey(ctx context.Context, tenantID, id string) (*rampart.APIKey, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	k, err := scanAPIKey(s.pool.QueryRow(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if err != nil {
		return nil, s.getError("get api key", "API key", err)
	}
	return k, nil
}

func (s *Store) FindAPIKeyByHash(ctx context.Context, hash []byte) (*rampart.APIKey, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	k, err := scanAPIKey(s.pool.QueryRow(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE hash = $1", hash))
	if err != nil {
		return nil, s.getError("find api key", "API key", err)
	}
	return k, nil
}

func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.APIKey, rampart.Cursor, error) {
	if err := page.Check(); err != nil {
		return nil, rampart.Cursor{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	b := page.Before()
	rows, err := s.pool.Query(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4",
		tenantID, b.CreatedAt, b.ID, page.Limit+1)
	keys, err := collect(rows, err, scanAPIKey)
	if err != nil {
		return nil, rampart.Cursor{}, s.dbError("list api keys", err)
	}
	keys, next := rampart.NextPage(keys, page.Limit, func(k *rampart.APIKey) rampart.Cursor {
		return rampart.Cursor{CreatedAt: k.CreatedAt, ID: k.ID}
	})
	return keys, next, nil
}

func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND id = $3",
		rampart.Timestamp(at), tenantID, id)
	return s.notFoundUnlessChanged("revoke api key", "API key", tag, err)
}

func (s *Store) TouchAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, "UPDATE api_keys SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3",
		rampart.Timestamp(at), tenantID, id)
	return s.notFoundUnlessChanged("touch api key", "API key", tag, err)
}
