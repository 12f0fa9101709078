package token

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/seal"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/testutil"
)

const (
	testIssuer   = "https://rampart.test"
	testAudience = "rampart-api"
	// Shorter than MaxLifetime, to show the configured lifetime is enforced.
	testLifetime = 10 * time.Minute
)

// clock is a settable clock shared by the managers of one test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// countingStore counts the reads of the key list, to show how often the
// store is queried.
type countingStore struct {
	*sqlite.Store
	lists atomic.Int64
}

func (s *countingStore) ListSigningKeys(ctx context.Context) ([]*rampart.SigningKey, error) {
	s.lists.Add(1)
	return s.Store.ListSigningKeys(ctx)
}

// env is one store shared by the managers (replicas) of a test.
type env struct {
	path  string
	store *countingStore
	box   *seal.Box
	clock *clock
	m     *Manager // the first replica, loaded
}

func newEnv(t testing.TB) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rampart.db")
	s, err := sqlite.Open(context.Background(), path)
	s = testutil.Migrated(t, s, err)
	masterKey := make([]byte, seal.KeySize)
	rand.Read(masterKey)
	box, err := seal.New(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		path:  path,
		store: &countingStore{Store: s},
		box:   box,
		clock: &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)},
	}
	e.m = e.replica(t)
	return e
}

// replica returns a new, loaded Manager on the env's store.
func (e *env) replica(t testing.TB) *Manager {
	t.Helper()
	m, err := New(e.store, e.box, Config{Issuer: testIssuer, Audience: testAudience, Lifetime: testLifetime, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// activeKey opens the active key's private half, as only the server can.
func (e *env) activeKey(t testing.TB) (string, ed25519.PrivateKey) {
	t.Helper()
	keys, err := e.store.Store.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a := active(keys)
	if a == nil {
		t.Fatal("no active key")
	}
	return a.ID, e.privateKey(t, a)
}

func (e *env) privateKey(t testing.TB, k *rampart.SigningKey) ed25519.PrivateKey {
	t.Helper()
	seed, err := e.box.Open(k.PrivateKey, keyAD(k.ID))
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func (e *env) keyIDs(t testing.TB) []string {
	t.Helper()
	keys, err := e.store.Store.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

func testClaims(now time.Time) Claims {
	return Claims{
		Subject:   "user-1",
		TenantID:  "tenant-1",
		Role:      "member",
		Scope:     "orders:read orders:write",
		SessionID: "session-1",
		IssuedAt:  now,
	}
}

func issue(t testing.TB, m *Manager, now time.Time) string {
	t.Helper()
	tok, err := m.Issue(testClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// kidOf returns the kid in a token's header, without verifying anything.
func kidOf(t testing.TB, token string) string {
	t.Helper()
	h, _ := decodeParts(t, token)
	kid, _ := h["kid"].(string)
	return kid
}

func decodeParts(t testing.TB, token string) (header, claims map[string]any) {
	t.Helper()
	parts := splitToken(t, token)
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func splitToken(t testing.TB, token string) []string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q does not have 3 parts", token)
	}
	return parts
}

// The forging helpers build a compact JWS by hand, so that a test controls
// every byte of the header and the claims.

type signFunc func(signingInput []byte) []byte

func edSign(key ed25519.PrivateKey) signFunc {
	return func(in []byte) []byte { return ed25519.Sign(key, in) }
}

func hmacSign(secret []byte) signFunc {
	return func(in []byte) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write(in)
		return mac.Sum(nil)
	}
}

func noSignature([]byte) []byte { return nil }

func forge(t testing.TB, header, claims map[string]any, sign signFunc) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	in := b64(h) + "." + b64(c)
	return in + "." + b64(sign([]byte(in)))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func goodHeader(kid string) map[string]any {
	return map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
}

func goodClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":    testIssuer,
		"aud":    testAudience,
		"sub":    "user-1",
		"tenant": "tenant-1",
		"role":   "member",
		"sid":    "session-1",
		"jti":    "token-1",
		"iat":    now.Unix(),
		"exp":    now.Add(5 * time.Minute).Unix(),
	}
}

// with returns a copy of m with the changes applied; a nil value deletes.
func with(m map[string]any, changes map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}
