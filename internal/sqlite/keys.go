package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"example.com/rampart/internal/rampart"
)

const signingKeyColumns = "id, algorithm, public_key, private_key, created_at, activated_at, retired_at"

func scanSigningKey(row scanner) (*rampart.SigningKey, error) {
	var k rampart.SigningKey
	var created, activated int64
	var retired sql.NullInt64
	if err := row.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.PrivateKey, &created, &activated, &retired); err != nil {
		return nil, err
	}
	k.CreatedAt, k.ActivatedAt, k.RetiredAt = fromMicros(created), fromMicros(activated), fromOptMicros(retired)
	return &k, nil
}

func (s *Store) CreateSigningKey(ctx context.Context, k *rampart.SigningKey) error {
	k.CreatedAt = rampart.Timestamp(k.CreatedAt)
	k.ActivatedAt = rampart.Timestamp(k.ActivatedAt)
	k.RetiredAt = rampart.Timestamp(k.RetiredAt)
	_, err := s.writer.ExecContext(ctx, "INSERT INTO signing_keys ("+signingKeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.Algorithm, k.PublicKey, k.PrivateKey, micros(k.CreatedAt), micros(k.ActivatedAt), optMicros(k.RetiredAt))
	if err != nil {
		return dbError("create signing key", err)
	}
	return nil
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]*rampart.SigningKey, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT "+signingKeyColumns+" FROM signing_keys ORDER BY created_at DESC, id DESC")
	keys, err := collect(rows, err, scanSigningKey)
	if err != nil {
		return nil, dbError("list signing keys", err)
	}
	return keys, nil
}

func (s *Store) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.writer.ExecContext(ctx, "UPDATE signing_keys SET retired_at = COALESCE(retired_at, ?) WHERE id = ?",
		micros(rampart.Timestamp(at)), id)
	return notFoundUnlessChanged("retire signing key", "signing key", res, err)
}

func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	res, err := s.writer.ExecContext(ctx, "DELETE FROM signing_keys WHERE id = ?", id)
	return notFoundUnlessChanged("delete signing key", "signing key", res, err)
}

const apiKeyColumns = "id, tenant_id, name, prefix, hash, scopes, expires_at, last_used_at, created_by, created_at, revoked_at"

func scanAPIKey(row scanner) (*rampart.APIKey, error) {
	var k rampart.APIKey
	var scopes []byte
	var expires, lastUsed, revoked sql.NullInt64
	var created int64
	err := row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.Hash, &scopes,
		&expires, &lastUsed, &k.CreatedBy, &created, &revoked)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(scopes, &k.Scopes); err != nil {
		return nil, err
	}
	k.ExpiresAt, k.LastUsedAt, k.RevokedAt = fromOptMicros(expires), fromOptMicros(lastUsed), fromOptMicros(revoked)
	k.CreatedAt = fromMicros(created)
	return &k, nil
}

func (s *Store) CreateAPIKey(ctx context.Context, k *rampart.APIKey) error {
	k.ExpiresAt = rampart.Timestamp(k.ExpiresAt)
	k.LastUsedAt = rampart.Timestamp(k.LastUsedAt)
	k.CreatedAt = rampart.Timestamp(k.CreatedAt)
	k.RevokedAt = rampart.Timestamp(k.RevokedAt)
	scopes, err := json.Marshal(k.Scopes)
	if err != nil {
		return dbError("create api key", err)
	}
	_, err = s.writer.ExecContext(ctx, "INSERT INTO api_keys ("+apiKeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.TenantID, k.Name, k.Prefix, k.Hash, string(scopes), optMicros(k.ExpiresAt), optMicros(k.LastUsedAt),
		k.CreatedBy, micros(k.CreatedAt), optMicros(k.RevokedAt))
	if err != nil {
		return dbError("create api key", err)
	}
	return nil
}

func (s *Store) GetAPIKey(ctx context.Context, tenantID, id string) (*rampart.APIKey, error) {
	k, err := scanAPIKey(s.reader.QueryRowContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = ? AND id = ?", tenantID, id))
	if err != nil {
		return nil, getError("get api key", "API key", err)
	}
	return k, nil
}

func (s *Store) FindAPIKeyByHash(ctx context.Context, hash []byte) (*rampart.APIKey, error) {
	k, err := scanAPIKey(s.reader.QueryRowContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE hash = ?", hash))
	if err != nil {
		return nil, getError("find api key", "API key", err)
	}
	return k, nil
}

func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.APIKey, rampart.Cursor, error) {
	if err := page.Check(); err != nil {
		return nil, rampart.Cursor{}, err
	}
	b := page.Before()
	rows, err := s.reader.QueryContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
		tenantID, micros(b.CreatedAt), b.ID, page.Limit+1)
	keys, err := collect(rows, err, scanAPIKey)
	if err != nil {
		return nil, rampart.Cursor{}, dbError("list api keys", err)
	}
	keys, next := rampart.NextPage(keys, page.Limit, func(k *rampart.APIKey) rampart.Cursor {
		return rampart.Cursor{CreatedAt: k.CreatedAt, ID: k.ID}
	})
	return keys, next, nil
}

func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	res, err := s.writer.ExecContext(ctx, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?",
		micros(rampart.Timestamp(at)), tenantID, id)
	return notFoundUnlessChanged("revoke api key", "API key", res, err)
}

func (s *Store) TouchAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	res, err := s.writer.ExecContext(ctx, "UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ?",
		micros(rampart.Timestamp(at)), tenantID, id)
	return notFoundUnlessChanged("touch api key", "API key", res, err)
}
