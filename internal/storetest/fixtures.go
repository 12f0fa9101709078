package storetest

// Fixtures and assertions shared by the suite's files.

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// Fixtures. Every record gets fresh ids, emails and hashes, so that the
// subtests never collide.

func newTenant(t testing.TB, s rampart.Store) (*rampart.Tenant, *rampart.User) {
	t.Helper()
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme", CreatedAt: base}
	admin := newUser(tenant.ID, rampart.RoleAdmin)
	check(t, rampart.CreateTenantWithAdmin(t.Context(), s, tenant, admin))
	return tenant, admin
}

func newUser(tenantID string, role rampart.Role) *rampart.User {
	id := rampart.NewID()
	return &rampart.User{
		ID:           id,
		TenantID:     tenantID,
		Email:        "User." + id + "@Example.com",
		DisplayName:  "Ada",
		Role:         role,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt:    base,
		UpdatedAt:    base,
	}
}

// accountOf is the account that CreateUser (or CreateTenant) makes of u.
func accountOf(u *rampart.User) *rampart.Account {
	return &rampart.Account{ID: u.ID, Email: u.Email, PasswordHash: u.PasswordHash, EmailVerified: u.EmailVerified,
		MFA: u.MFA, LastTenantID: u.TenantID, CreatedAt: u.CreatedAt, UpdatedAt: u.CreatedAt}
}

func newSession(tenantID, userID string, created time.Time) *rampart.Session {
	return &rampart.Session{
		ID:            rampart.NewID(),
		TenantID:      tenantID,
		UserID:        userID,
		TokenHash:     []byte(rampart.NewID()),
		CreatedAt:     created,
		LastUsedAt:    created,
		IdleExpiresAt: created.Add(24 * time.Hour),
		ExpiresAt:     created.Add(30 * 24 * time.Hour),
	}
}

// rotate rotates ss to a fresh token at the given time, as a refresh does,
// and returns the session as stored.
func rotate(t *testing.T, s rampart.Store, ss *rampart.Session, at time.Time) *rampart.Session {
	t.Helper()
	next := []byte(rampart.NewID())
	got, err := s.UpdateSession(t.Context(), ss.TenantID, ss.ID, func(s *rampart.Session) error {
		s.PreviousTokenHash, s.TokenHash, s.RotatedAt = s.TokenHash, next, at
		s.LastUsedAt = at
		return nil
	})
	check(t, err)
	return got
}

func newSigningKey(created time.Time) *rampart.SigningKey {
	return &rampart.SigningKey{
		ID:          rampart.NewID(),
		Algorithm:   "EdDSA",
		PublicKey:   []byte("public"),
		PrivateKey:  []byte("encrypted private"),
		CreatedAt:   created,
		ActivatedAt: created,
	}
}

func newAPIKey(tenantID, createdBy string, created time.Time) *rampart.APIKey {
	return &rampart.APIKey{
		ID:        rampart.NewID(),
		TenantID:  tenantID,
		Name:      "CI",
		Prefix:    "rk_live_ab",
		Hash:      []byte(rampart.NewID()),
		Scopes:    []string{"orders:read", "orders:write"},
		CreatedBy: createdBy,
		CreatedAt: created,
	}
}

func newOrder(tenantID, ownerID string, created time.Time) *rampart.Order {
	return &rampart.Order{
		ID:        rampart.NewID(),
		TenantID:  tenantID,
		OwnerID:   ownerID,
		Items:     []rampart.OrderItem{{SKU: "WIDGET-1", Quantity: 2}, {SKU: "GADGET-9", Quantity: 1}},
		Status:    rampart.OrderPending,
		CreatedAt: created,
		UpdatedAt: created,
	}
}

func newAuditEvent(tenantID, typ string, at time.Time) *rampart.AuditEvent {
	return &rampart.AuditEvent{
		ID:        rampart.NewID(),
		TenantID:  tenantID,
		Time:      at,
		Type:      typ,
		SourceIP:  "192.0.2.1",
		RequestID: "req-1",
		Target:    "user:1",
		Details:   json.RawMessage(`{"reason": "test", "n": 1}`),
	}
}

// Assertions.

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, kind rampart.Kind) {
	t.Helper()
	if got := rampart.ErrorKind(err); err == nil || got != kind {
		t.Fatalf("got error %v (kind %v), want kind %v", err, got, kind)
	}
}

func equal[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
