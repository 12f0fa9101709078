package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
)

const signingKeyColumns = "id, algorithm, public_key, private_key, created_at, activated_at, retired_at"

func scanSigningKey(row pgx.Row) (*rampart.SigningKey, error) {
	var k rampart.SigningKey
	return &k, row.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &k.CreatedAt, &k.ActivatedAt, optTimeColumn{&k.RetiredAt})
}

func (s *Store) CreateSigningKey(ctx context.Context, k *rampart.SigningKey) error {
	rampart.RoundTimes(k)
	return s.exec(ctx, "create signing key", "INSERT INTO signing_keys ("+signingKeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		k.ID, k.Algorithm, k.PublicKey, k.PrivateKey, k.CreatedAt, k.ActivatedAt, optTime(k.RetiredAt))
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]*rampart.SigningKey, error) {
	return all(ctx, s, "list signing keys", scanSigningKey, "SELECT "+signingKeyColumns+" FROM signing_keys ORDER BY created_at DESC, id DESC")
}

func (s *Store) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "retire signing key", "signing key", "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $1) WHERE id = $2", rampart.Timestamp(at), id)
}

func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.execOne(ctx, "delete signing key", "signing key", "DELETE FROM signing_keys WHERE id = $1", id)
}

const apiKeyColumns = "id, tenant_id, name, prefix, hash, scopes, expires_at, last_used_at, created_by, created_at, revoked_at"

func scanAPIKey(row pgx.Row) (*rampart.APIKey, error) {
	var k rampart.APIKey
	return &k, row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, &k.Scopes,
		optTimeColumn{&k.ExpiresAt}, optTimeColumn{&k.LastUsedAt}, &k.CreatedBy, &k.CreatedAt, optTimeColumn{&k.RevokedAt})
}

func (s *Store) CreateAPIKey(ctx context.Context, k *rampart.APIKey) error {
	rampart.RoundTimes(k)
	return s.exec(ctx, "create api key", "INSERT INTO api_keys ("+apiKeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		k.ID, k.TenantID, k.Name, k.Prefix, k.Hash, k.Scopes, optTime(k.ExpiresAt), optTime(k.LastUsedAt),
		k.CreatedBy, k.CreatedAt, optTime(k.RevokedAt))
}

func (s *Store) GetAPIKey(ctx context.Context, tenantID, id string) (*rampart.APIKey, error) {
	return get(ctx, s, "get api key", "API key", scanAPIKey,
		"SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = $1 AND id = $2", tenantID, id)
}

func (s *Store) FindAPIKeyByHash(ctx context.Context, hash []byte) (*rampart.APIKey, error) {
	return get(ctx, s, "find api key", "API key", scanAPIKey, "SELECT "+apiKeyColumns+" FROM api_keys WHERE hash = $1", hash)
}

func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.APIKey, rampart.Cursor, error) {
	return list(ctx, s, "list api keys", page, scanAPIKey,
		"SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4", tenantID)
}

func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.execOne(ctx, "revoke api key", "API key", "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND id = $3",
		rampart.Timestamp(at), tenantID, id)
}

func (s *Store) TouchAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.execOne(ctx, "touch api key", "API key", "UPDATE api_keys SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3",
		rampart.Timestamp(at), tenantID, id)
}
