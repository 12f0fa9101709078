package sqlite

import (
	"context"
	"time"

	"example.com/rampart/internal/rampart"
)

const signingKeyColumns = "id, algorithm, public_key, private_key, created_at, activated_at, retired_at"

func scanSigningKey(row scanner) (*rampart.SigningKey, error) {
	var k rampart.SigningKey
	return &k, row.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.PrivateKey,
		timeColumn{&k.CreatedAt}, timeColumn{&k.ActivatedAt}, timeColumn{&k.RetiredAt})
}

func (s *Store) CreateSigningKey(ctx context.Context, k *rampart.SigningKey) error {
	rampart.RoundTimes(k)
	return s.exec(ctx, "create signing key", "INSERT INTO signing_keys ("+signingKeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.Algorithm, k.PublicKey, k.PrivateKey, micros(k.CreatedAt), micros(k.ActivatedAt), optMicros(k.RetiredAt))
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]*rampart.SigningKey, error) {
	return all(ctx, s, "list signing keys", scanSigningKey, "SELECT "+signingKeyColumns+" FROM signing_keys ORDER BY created_at DESC, id DESC")
}

func (s *Store) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "retire signing key", "signing key", "UPDATE signing_keys SET retired_at = COALESCE(retired_at, ?) WHERE id = ?",
		micros(rampart.Timestamp(at)), id)
}

func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.execOne(ctx, "delete signing key", "signing key", "DELETE FROM signing_keys WHERE id = ?", id)
}

const apiKeyColumns = "id, tenant_id, name, prefix, hash, scopes, expires_at, last_used_at, created_by, created_at, revoked_at"

func scanAPIKey(row scanner) (*rampart.APIKey, error) {
	var k rampart.APIKey
	return &k, row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, jsonColumn{&k.Scopes},
		timeColumn{&k.ExpiresAt}, timeColumn{&k.LastUsedAt}, &k.CreatedBy, timeColumn{&k.CreatedAt}, timeColumn{&k.RevokedAt})
}

func (s *Store) CreateAPIKey(ctx context.Context, k *rampart.APIKey) error {
	rampart.RoundTimes(k)
	return s.exec(ctx, "create api key", "INSERT INTO api_keys ("+apiKeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.TenantID, k.Name, k.Prefix, k.Hash, jsonColumn{k.Scopes}, optMicros(k.ExpiresAt), optMicros(k.LastUsedAt),
		k.CreatedBy, micros(k.CreatedAt), optMicros(k.RevokedAt))
}

func (s *Store) GetAPIKey(ctx context.Context, tenantID, id string) (*rampart.APIKey, error) {
	return get(ctx, s.reader, "get api key", "API key", scanAPIKey,
		"SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = ? AND id = ?", tenantID, id)
}

func (s *Store) FindAPIKeyByHash(ctx context.Context, hash []byte) (*rampart.APIKey, error) {
	return get(ctx, s.reader, "find api key", "API key", scanAPIKey, "SELECT "+apiKeyColumns+" FROM api_keys WHERE hash = ?", hash)
}

func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.APIKey, rampart.Cursor, error) {
	return list(ctx, s, "list api keys", page, scanAPIKey,
		"SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?", tenantID)
}

func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.execOne(ctx, "revoke api key", "API key", "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?",
		micros(rampart.Timestamp(at)), tenantID, id)
}

func (s *Store) TouchAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.execOne(ctx, "touch api key", "API key", "UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ?",
		micros(rampart.Timestamp(at)), tenantID, id)
}
