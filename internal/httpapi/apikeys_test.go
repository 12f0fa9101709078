package httpapi

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

var apiKeyPattern = regexp.MustCompile(`^rk_([0-9a-f]{32})_[a-z2-7]{59}$`)

func TestAPIKeyLifecycle(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	adminTok := a.token(admin)

	r := a.do("POST", "/v1/api-keys", adminTok, map[string]any{"name": "billing sync", "scopes": []string{"orders:write", "orders:read", "orders:read"}})
	if r.Code != 201 {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	var created createdAPIKeyResponse
	r.json(t, &created)
	m := apiKeyPattern.FindStringSubmatch(created.Key)
	if m == nil || m[1] != strings.ReplaceAll(created.ID, "-", "") || created.Prefix != "rk_"+m[1] {
		t.Fatalf("key %q with id %s and prefix %q", created.Key, created.ID, created.Prefix)
	}
	if strings.Join(created.Scopes, " ") != "orders:read orders:write" || created.CreatedBy != admin.ID || !created.ExpiresAt.IsZero() {
		t.Errorf("created %+v", created.apiKeyResponse)
	}
	key := created.Key

	// Stored only as its SHA-256 hash: the secret is nowhere in the files.
	stored, err := a.store.GetAPIKey(t.Context(), tenant, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(key)); !bytes.Equal(stored.Hash, sum[:]) {
		t.Error("the stored hash is not the key's SHA-256")
	}
	secret := key[len(key)-59:]
	files, _ := filepath.Glob(filepath.Join(a.dir, "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the key's secret", filepath.Base(f))
		}
	}
	r = a.do("GET", "/v1/api-keys", adminTok, nil)
	if r.Code != 200 || strings.Contains(r.Body.String(), secret) || !strings.Contains(r.Body.String(), created.Prefix) {
		t.Errorf("list: %d %s", r.Code, r.Body)
	}

	// The key works for its scopes, and only them.
	r = a.do("POST", "/v1/orders", key, `{"items":[{"sku":"A-1","quantity":1}]}`)
	var o orderResponse
	r.json(t, &o)
	if r.Code != 201 || o.OwnerID != created.ID {
		t.Fatalf("a key places an order: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/users", key, nil); r.Code != 403 {
		t.Errorf("outside its scopes: %d, want 403", r.Code)
	}
	// API keys are not user authentication.
	for _, call := range []struct{ method, path, body string }{
		{"GET", "/v1/me", ""},
		{"POST", "/v1/me/password", `{"currentPassword":"x","newPassword":"` + newPassword + `"}`},
		{"POST", "/v1/me/mfa/totp", ""},
		{"GET", "/v1/me/sessions", ""},
		{"POST", "/v1/auth/logout", ""},
		{"GET", "/v1/api-keys", ""},
		{"POST", "/v1/api-keys", `{"name":"child","scopes":["audit:read"]}`},
		{"DELETE", "/v1/api-keys/" + created.ID, ""},
	} {
		var body any
		if call.body != "" {
			body = call.body
		}
		if r := a.do(call.method, call.path, key, body); r.Code != 403 {
			t.Errorf("a key on %s %s: %d, want 403", call.method, call.path, r.Code)
		}
	}

	// Malformed keys are refused like any bad credential.
	last := byte('a')
	if key[len(key)-1] == 'a' {
		last = 'b'
	}
	badSum := key[:len(key)-1] + string(last)
	otherSecret := key[:40] + strings.Repeat("a", 52) + key[len(key)-7:]
	for name, bad := range map[string]string{
		"a bad checksum":         badSum,
		"another secret":         otherSecret,
		"truncated":              key[:len(key)-1],
		"the prefix alone":       "rk_",
		"upper case":             strings.ToUpper(key),
		"with a trailing letter": key + "a",
	} {
		r := a.do("GET", "/v1/orders", bad, nil)
		if r.Code != 401 || !strings.Contains(r.Header().Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("%s: %d %q", name, r.Code, r.Header().Get("WWW-Authenticate"))
		}
	}
	if r := a.do("GET", "/v1/orders?api_key="+key, "", nil); r.Code != 401 {
		t.Errorf("key in the query string: %d, want 401", r.Code)
	}

	// Revocation takes effect on the next request.
	if r := a.do("DELETE", "/v1/api-keys/"+created.ID, adminTok, nil); r.Code != 204 {
		t.Fatalf("revoke: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/orders", key, nil); r.Code != 401 {
		t.Errorf("revoked key: %d, want 401", r.Code)
	}
	if r := a.do("DELETE", "/v1/api-keys/"+created.ID, adminTok, nil); r.Code != 204 {
		t.Errorf("revoking again: %d, want 204", r.Code)
	}
	var list listPage[apiKeyResponse]
	a.do("GET", "/v1/api-keys", adminTok, nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].RevokedAt.IsZero() || list.Items[0].LastUsedAt.IsZero() {
		t.Errorf("list after revocation: %+v", list.Items)
	}

	types := a.auditTypes(t, admin.Email)
	if strings.Count(types, "apikey.created") != 1 || strings.Count(types, "apikey.revoked") != 1 {
		t.Errorf("audit: %s, want one apikey.created and one apikey.revoked", types)
	}
	r = a.do("GET", "/v1/audit-events", adminTok, nil)
	if strings.Contains(r.Body.String(), secret) {
		t.Error("the audit log holds the key")
	}
	if strings.Contains(a.logs.String(), secret) {
		t.Error("the logs hold the key")
	}
}

func TestAPIKeyExpiryAndValidation(t *testing.T) {
	a := newTestApp(t)
	_, admin := a.newTenant()
	adminTok := a.token(admin)
	create := func(body string) response { return a.do("POST", "/v1/api-keys", adminTok, body) }

	expires := a.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r := create(`{"name":"temp","scopes":["audit:read"],"expiresAt":"` + expires + `"}`)
	var created createdAPIKeyResponse
	r.json(t, &created)
	if r.Code != 201 || created.ExpiresAt.Format(time.RFC3339) != expires {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/audit-events", created.Key, nil); r.Code != 200 {
		t.Fatalf("before expiry: %d", r.Code)
	}
	a.clock.Advance(time.Hour)
	if r := a.do("GET", "/v1/audit-events", created.Key, nil); r.Code != 401 {
		t.Errorf("at expiry: %d, want 401", r.Code)
	}
	adminTok = a.token(admin) // the first access token expired with the hour

	past := a.clock.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	for name, tc := range map[string]struct{ body, field string }{
		"expired":        {`{"name":"x","scopes":["audit:read"],"expiresAt":"` + past + `"}`, "expiresAt"},
		"not a time":     {`{"name":"x","scopes":["audit:read"],"expiresAt":"tomorrow"}`, "expiresAt"},
		"unknown scope":  {`{"name":"x","scopes":["audit:read","admin"]}`, "scopes[1]"},
		"no scopes":      {`{"name":"x","scopes":[]}`, "scopes"},
		"too many":       {`{"name":"x","scopes":["audit:read","audit:read","audit:read","audit:read","audit:read","audit:read"]}`, "scopes"},
		"no name":        {`{"scopes":["audit:read"]}`, "name"},
		"long name":      {`{"name":"` + strings.Repeat("n", 101) + `","scopes":["audit:read"]}`, "name"},
		"tenantId":       {`{"name":"x","scopes":["audit:read"],"tenantId":"` + rampart.NewID() + `"}`, "tenantId"},
		"prefix":         {`{"name":"x","scopes":["audit:read"],"prefix":"rk_mine"}`, "prefix"},
		"key":            {`{"name":"x","scopes":["audit:read"],"key":"rk_chosen"}`, "key"},
		"revokedAt null": {`{"name":"x","scopes":["audit:read"],"revokedAt":null}`, "revokedAt"},
	} {
		r := create(tc.body)
		var p Problem
		r.json(t, &p)
		if r.Code != 422 || len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
			t.Errorf("%s: %d %s, want 422 naming %s", name, r.Code, r.Body, tc.field)
		}
	}
}

// TestAPIKeyLastUsedIsThrottled shows that a busy key does not cost a
// write per request: its last-used time moves at most once a minute.
func TestAPIKeyLastUsedIsThrottled(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	k, key := a.newAPIKey(admin, rampart.ScopeOrdersRead)
	lastUsed := func() time.Time {
		t.Helper()
		got, err := a.store.GetAPIKey(t.Context(), tenant, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	if !lastUsed().IsZero() {
		t.Fatal("a new key has a last-used time")
	}
	first := a.clock.Now()
	for range 3 {
		if r := a.do("GET", "/v1/orders", key, nil); r.Code != 200 {
			t.Fatal(r.Code)
		}
		a.clock.Advance(20 * time.Second)
	}
	if got := lastUsed(); !got.Equal(rampart.Timestamp(first)) {
		t.Errorf("after three uses within a minute: last used %v, want the first use %v", got, first)
	}
	a.clock.Advance(time.Second) // 61 s after the first use
	a.do("GET", "/v1/orders", key, nil)
	if got := lastUsed(); !got.Equal(rampart.Timestamp(a.clock.Now())) {
		t.Errorf("a minute later: last used %v, want %v", got, a.clock.Now())
	}
}
