package httpapi

import (
	"net/http"
	"time"

	"example.com/rampart/internal/rampart"
)

type createAPIKeyRequest struct {
	Name      string     `json:"name" validate:"apiKeyName"`
	Scopes    []string   `json:"scopes" validate:"scopes"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// apiKeyResponse describes a key without the key: its prefix ("rk_" and
// the key's id) is enough to tell keys apart and to match a leaked key.
type apiKeyResponse struct {
	ID         string    `json:"id" validate:"id"`
	Name       string    `json:"name" validate:"apiKeyName"`
	Prefix     string    `json:"prefix" validate:"apiKeyPrefix"`
	Scopes     []string  `json:"scopes" validate:"grantedScopes"`
	ExpiresAt  time.Time `json:"expiresAt,omitzero"`
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
	CreatedBy  string    `json:"createdBy" validate:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	RevokedAt  time.Time `json:"revokedAt,omitzero"`
}

// createdAPIKeyResponse is the one response that carries the key itself.
type createdAPIKeyResponse struct {
	apiKeyResponse
	Key string `json:"key" validate:"apiKey"`
}

func newAPIKeyResponse(k *rampart.APIKey) apiKeyResponse {
	scopes := append([]string{}, k.Scopes...)
	return apiKeyResponse{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: scopes, ExpiresAt: k.ExpiresAt,
		LastUsedAt: k.LastUsedAt, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

func handleListAPIKeys(d handlerDeps) http.Handler {
	return handleList(d, "api-keys", d.service.ListAPIKeys, newAPIKeyResponse)
}

func handleCreateAPIKey(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *createAPIKeyRequest) {
		key := rampart.APIKeyInput{Name: in.Name, Scopes: in.Scopes}
		if in.ExpiresAt != nil {
			key.ExpiresAt = *in.ExpiresAt
		}
		k, text, err := d.service.CreateAPIKey(r.Context(), meta(r), principalFrom(r.Context()), key)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, createdAPIKeyResponse{apiKeyResponse: newAPIKeyResponse(k), Key: text})
	})
}

func handleRevokeAPIKey(d handlerDeps) http.Handler {
	return handleRemoveByID(d, d.service.RevokeAPIKey)
}
