package rampart

import "time"

// APIKey lets a program call the API on behalf of a tenant with a fixed set
// of scopes. Only a hash of the key is stored; the key itself is shown once.
type APIKey struct {
	ID       string
	TenantID string
	Name     string
	// Prefix is the first few characters of the key, kept so that people can
	// tell their keys apart without the key itself.
	Prefix     string
	Hash       []byte // SHA-256 hash of the whole key
	Scopes     []string
	ExpiresAt  time.Time // zero: never expires
	LastUsedAt time.Time // zero: never used
	CreatedBy  string    // id of the user who created the key
	CreatedAt  time.Time
	RevokedAt  time.Time // zero while not revoked
}
