package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
)

// Fixtures that go straight to the store and the token manager, so that a
// test can have many users and sessions without paying for an argon2id
// sign-in each (security matters are tested through the API elsewhere).

var (
	hashOnce     sync.Once
	testPassHash string
)

// testPasswordHash is an argon2id hash of testPassword, computed once.
func testPasswordHash(t testing.TB) string {
	t.Helper()
	hashOnce.Do(func() {
		h, err := password.New(password.DefaultParams, 1, 1)
		if err == nil {
			testPassHash, err = h.Hash(t.Context(), testPassword)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	return testPassHash
}

func (a *testApp) service() *rampart.Resources { return a.services.Resources }

// newTenant creates a tenant and its first admin.
func (a *testApp) newTenant() (tenantID string, admin *rampart.User) {
	a.t.Helper()
	now := a.clock.Now()
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Org " + rand.Text()[:6], CreatedAt: now}
	admin = a.userValue(tenant.ID, rampart.RoleAdmin)
	if err := rampart.CreateTenantWithAdmin(a.t.Context(), a.store, tenant, admin); err != nil {
		a.t.Fatal(err)
	}
	return tenant.ID, admin
}

func (a *testApp) userValue(tenantID string, role rampart.Role) *rampart.User {
	now := a.clock.Now()
	return &rampart.User{ID: rampart.NewID(), TenantID: tenantID, Email: "u-" + rampart.NewID() + "@example.com",
		DisplayName: "User", Role: role, PasswordHash: testPasswordHash(a.t), CreatedAt: now, UpdatedAt: now}
}

// newUser adds a user, whose password is testPassword, to a tenant.
func (a *testApp) newUser(tenantID string, role rampart.Role) *rampart.User {
	a.t.Helper()
	u := a.userValue(tenantID, role)
	if err := a.store.CreateUser(a.t.Context(), u); err != nil {
		a.t.Fatal(err)
	}
	return u
}

// newSession starts a session for u, as a sign-in would (so its password
// was proved just now), and returns its id, an access token for it and its
// refresh token.
func (a *testApp) newSession(u *rampart.User) (id, access, refresh string) {
	a.t.Helper()
	now := a.clock.Now()
	refresh = "rt_" + rand.Text()
	hash := sha256.Sum256([]byte(refresh))
	s := &rampart.Session{ID: rampart.NewID(), TenantID: u.TenantID, UserID: u.ID, TokenHash: hash[:],
		CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(7 * 24 * time.Hour), ExpiresAt: now.Add(30 * 24 * time.Hour),
		AuthTime: now}
	if err := a.store.CreateSession(a.t.Context(), s); err != nil {
		a.t.Fatal(err)
	}
	access, err := a.tokens.Issue(rampart.AccessClaims{Subject: u.ID, TenantID: u.TenantID, Role: u.Role,
		SessionID: s.ID, IssuedAt: now, AuthTime: now})
	if err != nil {
		a.t.Fatal(err)
	}
	return s.ID, access, refresh
}

// token returns an access token of a new session of u.
func (a *testApp) token(u *rampart.User) string {
	a.t.Helper()
	_, access, _ := a.newSession(u)
	return access
}

// revokedToken returns an access token of a session of u that has been
// revoked.
func (a *testApp) revokedToken(u *rampart.User) string {
	a.t.Helper()
	id, access, _ := a.newSession(u)
	_, err := a.store.UpdateSession(a.t.Context(), u.TenantID, id, func(s *rampart.Session) error {
		s.RevokedAt, s.RevokedReason = a.clock.Now(), "test"
		return nil
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return access
}

// userPrincipal is u as a service sees it, having signed in just now.
func (a *testApp) userPrincipal(u *rampart.User) rampart.Principal {
	return rampart.Principal{TenantID: u.TenantID, UserID: u.ID, Role: u.Role, AuthTime: a.clock.Now()}
}

// newAPIKey has admin create a key with the given scopes and returns it.
func (a *testApp) newAPIKey(admin *rampart.User, scopes ...string) (*rampart.APIKey, string) {
	a.t.Helper()
	k, text, err := a.service().CreateAPIKey(a.t.Context(), rampart.RequestMeta{}, a.userPrincipal(admin),
		rampart.APIKeyInput{Name: "test key", Scopes: scopes})
	if err != nil {
		a.t.Fatal(err)
	}
	return k, text
}

// newOrder places an order owned by u.
func (a *testApp) newOrder(u *rampart.User) *rampart.Order {
	a.t.Helper()
	o, err := a.service().CreateOrder(a.t.Context(), rampart.RequestMeta{}, a.userPrincipal(u),
		rampart.OrderInput{Items: []rampart.OrderItem{{SKU: "SKU-1", Quantity: 1}}})
	if err != nil {
		a.t.Fatal(err)
	}
	return o
}

// newRequest is a request without a body, with a bearer credential unless
// bearer is empty.
func newRequest(method, target, bearer string) *http.Request {
	req := httptest.NewRequest(method, target, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return req
}

// serve sends a request built by the caller.
func (a *testApp) serve(req *http.Request) response {
	rr := httptest.NewRecorder()
	a.handler.ServeHTTP(rr, req)
	return response{rr}
}

// userByEmail returns the account with this email as a member of its last
// used tenant (its only one, unless a test added more).
func (a *testApp) userByEmail(email string) (*rampart.User, error) {
	acct, err := a.store.FindAccountByEmail(a.t.Context(), email)
	if err != nil {
		return nil, err
	}
	return a.store.GetUser(a.t.Context(), acct.LastTenantID, acct.ID)
}
