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

// User is an account seen through one of its memberships: the person as
// one tenant knows them. ID is the account's id, so the same person has
// the same user id in every tenant; TenantID, Role, DisplayName, CreatedAt
// and UpdatedAt are the membership's; Email, PasswordHash, EmailVerified
// and MFA are the account's, shared by every tenant of the account (one
// password and one second factor everywhere).
type User struct {
	ID       string
	TenantID string
	// Email is kept as entered. It is unique across all accounts, ignoring
	// case (see EmailKey), so that sign-in by email finds exactly one
	// account without knowing the tenant.
	Email         string
	DisplayName   string
	Role          Role
	PasswordHash  string // argon2id in PHC string format
	EmailVerified bool
	MFA           MFA
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Account is a person's global identity: one email, password and second
// factor, and a membership in each of its tenants.
type Account struct {
	ID            string
	Email         string
	PasswordHash  string
	EmailVerified bool
	MFA           MFA
	// LastTenantID is the tenant of the account's last sign-in or tenant
	// switch, where the next sign-in goes by default; "" when unknown. It
	// is only a hint: sign-in checks it against the memberships.
	LastTenantID string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Membership gives an account a role and a display name in one tenant.
type Membership struct {
	TenantID    string
	TenantName  string // filled by reads; ignored by AddMembership
	AccountID   string
	Role        Role
	DisplayName string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// UserOf is account a seen through membership m.
func UserOf(a *Account, m *Membership) *User {
	return &User{ID: a.ID, TenantID: m.TenantID, Email: a.Email, DisplayName: m.DisplayName, Role: m.Role,
		PasswordHash: a.PasswordHash, EmailVerified: a.EmailVerified, MFA: a.MFA,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
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
