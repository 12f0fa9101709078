package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json/v2"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/app"
	"example.com/rampart/internal/password"
	"example.com/rampart/internal/postgres"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/secevents"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/token"
)

// testClock is the clock shared by the services, the token manager and
// the throttle, so tests can move time instead of sleeping.
type testClock = testutil.Clock

// testApp is the whole server in-process: the real edge over the
// application that `rampart serve` builds (app.Build: the services with the
// production adapters, session cache included), on a SQLite file of its
// own (or a PostgreSQL database, see appConfig).
type testApp struct {
	t        testing.TB
	handler  http.Handler
	store    rampart.Store // the store the services use, behind the session cache
	services *rampart.Services
	identity *rampart.Identity
	tokens   *token.Manager
	clock    *testClock
	logs     *testutil.SyncBuffer
	dir      string // holds the database files
	hasher   *countingHasher
	deps     rampart.Deps // what services were built from (see rebuild)
	cfg      rampart.IdentityConfig
	registry *prometheus.Registry // the server's metrics and the security events'
	events   *secevents.Recorder  // the one security-event stream, logging into logs
}

// countingHasher counts argon2id verifications (a wrong password's and an
// unknown account's dummy one alike), so that tests compare work, not time.
type countingHasher struct {
	rampart.PasswordHasher
	verifications atomic.Int64
}

func (c *countingHasher) Verify(ctx context.Context, pw, encoded string) (bool, bool, error) {
	c.verifications.Add(1)
	return c.PasswordHasher.Verify(ctx, pw, encoded)
}

func (c *countingHasher) VerifyDummy(ctx context.Context, pw string) error {
	c.verifications.Add(1)
	return c.PasswordHasher.VerifyDummy(ctx, pw)
}

func newTestApp(t testing.TB) *testApp { return newTestAppWith(t, appConfig{}) }

// appConfig varies a testApp: its store, the identity settings, and what
// RAMPART_PASSWORD_MIN_LENGTH and RAMPART_MAX_BODY_BYTES would configure.
type appConfig struct {
	postgres     bool                          // a throwaway PostgreSQL database instead of SQLite
	identity     func(*rampart.IdentityConfig) // changes DefaultIdentityConfig; nil keeps it
	policy       *password.Policy              // nil: password.DefaultPolicy
	maxBodyBytes int64                         // 0: the default 100 KiB
	observers    []secevents.Observer          // watch the security events (a detector)
	blocks       SourceBlocks                  // the automatic block list; nil: off
	trusted      []netip.Prefix                // RAMPART_TRUSTED_PROXIES
	rateLimits   RateLimits                    // nil Limiter: no limits
	// hasher replaces the production hasher (still counted); nil keeps it.
	hasher rampart.PasswordHasher
}

// withStores runs f once on each store: SQLite, and PostgreSQL (skipped,
// or failed under RAMPART_TEST_REQUIRE_SERVICES=1, when it is absent).
func withStores(t *testing.T, f func(t *testing.T, cfg appConfig)) {
	t.Run("sqlite", func(t *testing.T) { f(t, appConfig{}) })
	t.Run("postgres", func(t *testing.T) { f(t, appConfig{postgres: true}) })
}

func newTestAppWith(t testing.TB, ac appConfig) *testApp {
	t.Helper()
	policy, maxBodyBytes := password.DefaultPolicy, int64(100<<10)
	if ac.policy != nil {
		policy = *ac.policy
	}
	if ac.maxBodyBytes != 0 {
		maxBodyBytes = ac.maxBodyBytes
	}
	ctx := context.Background()
	dir := t.TempDir()
	var st interface {
		rampart.Store
		testutil.Migrator
	}
	var err error
	if ac.postgres {
		st, err = postgres.Open(ctx, testutil.PostgresURL(t))
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(dir, "rampart.db"))
	}
	st = testutil.Migrated(t, st, err)
	key := make([]byte, 32)
	rand.Read(key)
	clock := testutil.NewClock(time.Now())
	cfg := rampart.DefaultIdentityConfig
	if ac.identity != nil {
		ac.identity(&cfg)
	}
	logs, registry := &testutil.SyncBuffer{}, prometheus.NewRegistry()
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	events, err := secevents.New(secevents.Config{Logger: logger, Registry: registry, Now: clock.Now, Observers: ac.observers})
	if err != nil {
		t.Fatal(err)
	}
	built, err := app.Build(ctx, app.Config{Store: st, MasterKey: key, Argon2: password.DefaultParams,
		Policy: policy, Identity: cfg, Now: clock.Now, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	// The same services, with the production hasher (and its overload
	// answer) wrapped to count verifications.
	a := &testApp{t: t, store: built.Store, tokens: built.Tokens, clock: clock, dir: dir, deps: built.Deps, cfg: cfg,
		registry: registry, events: events, logs: logs}
	a.hasher = &countingHasher{PasswordHasher: built.Deps.Hasher}
	if ac.hasher != nil {
		a.hasher.PasswordHasher = ac.hasher
	}
	a.services = a.rebuild(func(d *rampart.Deps) { d.Hasher = a.hasher })
	a.identity = a.services.Identity
	a.handler, err = NewServer(Options{
		Logger: logger, Store: st, Services: a.services, Tokens: built.Tokens,
		CursorKey: built.CursorKey, Registry: registry, MaxBodyBytes: maxBodyBytes, Version: "test",
		CORSOrigins: []string{testOrigin}, SecurityEvents: built.Events, Blocks: ac.blocks, TrustedProxies: ac.trusted,
		RateLimits: ac.rateLimits,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// rebuild returns a's services built again from the same adapters, with
// edit applied (to count an adapter's calls, say).
func (a *testApp) rebuild(edit func(*rampart.Deps)) *rampart.Services {
	a.t.Helper()
	edit(&a.deps)
	services, err := rampart.New(a.deps, a.cfg)
	if err != nil {
		a.t.Fatal(err)
	}
	return services
}

type response struct {
	*httptest.ResponseRecorder
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r response) problemType() string {
	var p Problem
	_ = json.Unmarshal(r.Body.Bytes(), &p)
	return strings.TrimPrefix(p.Type, problemTypeBase)
}

// do sends a request; body may be nil, a string (sent as is) or a value to
// marshal. bearer may be empty.
func (a *testApp) do(method, path, bearer string, body any) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rr := httptest.NewRecorder()
	a.handler.ServeHTTP(rr, req)
	return response{rr}
}

const testPassword = "a long and unusual passphrase 42"

type signedUp struct {
	UserID, TenantID, Email string
}

func (a *testApp) signup(email string) signedUp {
	a.t.Helper()
	r := a.do("POST", "/v1/signup", "", map[string]string{
		"email": email, "password": testPassword, "displayName": "Test User", "organization": "Org of " + email})
	if r.Code != http.StatusCreated {
		a.t.Fatalf("signup %s: %d %s", email, r.Code, r.Body)
	}
	var out signupResponse
	r.json(a.t, &out)
	return signedUp{UserID: out.User.ID, TenantID: out.Tenant.ID, Email: email}
}

func (a *testApp) login(email, pw string) tokenResponse {
	a.t.Helper()
	r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": pw})
	if r.Code != http.StatusOK {
		a.t.Fatalf("login %s: %d %s", email, r.Code, r.Body)
	}
	var out tokenResponse
	r.json(a.t, &out)
	return out
}
