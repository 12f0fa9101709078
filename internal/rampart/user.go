package rampart

import (
	"strings"
	"time"
)

// Role is what a user may do within their tenant.
type Role string

const (
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
)

// User is a person who signs in to one tenant.
type User struct {
	ID       string
	TenantID string
	// Email is kept as entered. It is unique across all tenants, ignoring
	// case (see EmailKey), so that sign-in by email finds exactly one user
	// without knowing the tenant.
	Email        string
	DisplayName  string
	Role         Role
	PasswordHash string // argon2id in PHC string format
	MFA          MFA
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// MFA is a user's second factor. Secrets and codes reach the store already
// encrypted or hashed.
type MFA struct {
	Enabled bool
	// TOTPSecret is the encrypted TOTP secret; nil when not enrolled.
	TOTPSecret []byte
	// LastTOTPStep is the time step of the last accepted TOTP code. A code
	// for this step or an earlier one is a replay and must be refused.
	LastTOTPStep int64
	// RecoveryCodeHashes holds the hashes of the unused recovery codes.
	RecoveryCodeHashes []string
}

// EmailKey returns the form of an email address that uniqueness and lookup
// use. Both stores compare this key rather than relying on the database's
// own case folding, which differs between SQLite (ASCII only) and
// PostgreSQL (locale dependent).
func EmailKey(email string) string {
	return strings.ToLower(email)
}
