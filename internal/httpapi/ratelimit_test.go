package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/ratelimit"
)

// limitedEdge wraps a trivial handler in observe (for the client address)
// and the rate limit of class.
func limitedEdge(t *testing.T, class string, budget rampart.RateLimit, p *rampart.Principal) http.Handler {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	limits := RateLimits{Limiter: ratelimit.NewMemory(1000, nil), Budgets: map[string]rampart.RateLimit{class: budget}}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	h = rateLimit(class, limits, logger)(h)
	if p != nil {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, *p)))
		})
	}
	return observe(logger, m, clientIPResolver{}, nil)(h)
}

func sendFrom(h http.Handler, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/auth/login", nil)
	req.RemoteAddr = remote
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr
}

func TestRateLimitPerAddress(t *testing.T) {
	h := limitedEdge(t, classAuth, rampart.RateLimit{N: 10, Per: time.Minute}, nil)
	for i := range 10 {
		rr := sendFrom(h, "203.0.113.9:1000")
		if rr.Code != 204 || rr.Header().Get("RateLimit-Policy") != `"auth";q=10;w=60` {
			t.Fatalf("request %d: %d %v", i+1, rr.Code, rr.Header())
		}
	}
	rr := sendFrom(h, "203.0.113.9:1001")
	if rr.Code != 429 || rr.Header().Get("Retry-After") != "6" {
		t.Fatalf("11th request: %d %v", rr.Code, rr.Header())
	}
	if got := rr.Header().Get("RateLimit"); got != `"auth";r=0;t=60` {
		t.Errorf("RateLimit = %q", got)
	}
	if rr := sendFrom(h, "198.51.100.1:1000"); rr.Code != 204 {
		t.Errorf("another address was limited: %d", rr.Code)
	}
}

func TestRateLimitGroupsIPv6By64(t *testing.T) {
	h := limitedEdge(t, classSignup, rampart.RateLimit{N: 2, Per: time.Hour}, nil)
	sendFrom(h, "[2001:db8:1:2::1]:1")
	sendFrom(h, "[2001:db8:1:2::ffff]:1")
	if rr := sendFrom(h, "[2001:db8:1:2:abcd::9]:1"); rr.Code != 429 {
		t.Fatalf("third address of one /64: %d, want 429", rr.Code)
	}
	if rr := sendFrom(h, "[2001:db8:1:3::1]:1"); rr.Code != 204 {
		t.Errorf("the next /64: %d", rr.Code)
	}
	if got := ipKey(netip.MustParseAddr("2001:db8:1:2:aaaa::1")); got != "2001:db8:1:2::/64" {
		t.Errorf("ipKey = %s", got)
	}
}

func TestRateLimitAPIPerPrincipalAndTenant(t *testing.T) {
	budget := rampart.RateLimit{N: 1, Per: time.Hour}
	alice := &rampart.Principal{TenantID: "t1", UserID: "alice"}
	h := limitedEdge(t, classAPI, budget, alice)
	if rr := sendFrom(h, "192.0.2.1:1"); rr.Code != 204 {
		t.Fatal(rr.Code)
	}
	if rr := sendFrom(h, "192.0.2.2:1"); rr.Code != 429 {
		t.Fatalf("the same user from another address: %d, want 429 (keyed by user)", rr.Code)
	}

	// The tenant ceiling: ten users of one tenant with a budget of one
	// each spend the tenant's ten; the eleventh user is refused.
	m, _ := newMetrics(prometheus.NewRegistry())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	limits := RateLimits{Limiter: ratelimit.NewMemory(1000, nil), Budgets: map[string]rampart.RateLimit{classAPI: budget}}
	limited := rateLimit(classAPI, limits, logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	var codes []int
	for i := range 11 {
		p := rampart.Principal{TenantID: "t2", UserID: string(rune('a' + i))}
		h := observe(logger, m, clientIPResolver{}, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			limited.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		}))
		codes = append(codes, sendFrom(h, "192.0.2.1:1").Code)
	}
	if codes[9] != 204 || codes[10] != 429 {
		t.Fatalf("codes %v: want ten 204 then 429 from the tenant ceiling", codes)
	}
}

// TestLimitedRoutesThroughTheServer wires limits into the real server: the
// login route (AUTH, per address) answers 429 with Retry-After, no-store
// and the RateLimit fields once its budget is spent; authenticated routes
// carry the API budget; health probes are not limited.
func TestLimitedRoutesThroughTheServer(t *testing.T) {
	app := newTestApp(t)
	app.signup("limited@example.com")
	tok := app.login("limited@example.com", testPassword)
	h, err := NewServer(Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: app.store, Services: app.services,
		Tokens: app.tokens, CursorKey: make([]byte, 32), Registry: prometheus.NewRegistry(), MaxBodyBytes: 100 << 10,
		RateLimits: RateLimits{Limiter: ratelimit.NewMemory(1000, nil), Budgets: map[string]rampart.RateLimit{
			classAuth: {N: 2, Per: time.Minute}, classAPI: {N: 100, Per: time.Minute}, classPublic: {N: 100, Per: time.Minute},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	app.handler = h
	login := func() response {
		return app.do("POST", "/v1/auth/login", "", map[string]string{"email": "limited@example.com", "password": "wrong guess"})
	}
	login()
	login()
	r := login()
	// The window is a minute for two logins: the next slot frees in 30 s,
	// less the time the two logins took (seconds under -race on a busy
	// machine).
	retry, _ := strconv.Atoi(r.Header().Get("Retry-After"))
	if r.Code != 429 || retry < 20 || retry > 30 || r.Header().Get("Cache-Control") != "no-store" ||
		r.Header().Get("RateLimit") == "" || r.Header().Get("RateLimit-Policy") != `"auth";q=2;w=60` || r.problemType() != "rate-limited" {
		t.Fatalf("third login: %d %v %s", r.Code, r.Header(), r.Body)
	}
	if r := app.do("GET", "/v1/me", tok.AccessToken, nil); r.Code != 200 || r.Header().Get("RateLimit-Policy") != `"api";q=100;w=60` {
		t.Errorf("/v1/me: %d %v", r.Code, r.Header())
	}
	if r := app.do("GET", "/healthz", "", nil); r.Header().Get("RateLimit") != "" {
		t.Errorf("/healthz is limited: %v", r.Header())
	}
}

// failingLimiter cannot decide, as a limiter whose Redis is down and that
// has no fallback.
type failingLimiter struct{ calls int }

func (f *failingLimiter) Allow(context.Context, string, rampart.RateLimit) (rampart.RateDecision, error) {
	f.calls++
	return rampart.RateDecision{}, errors.New("redis: connection refused")
}

// TestRateLimiterErrorFailsClosed: when the limiter answers with an error,
// the request is refused with 503 and Retry-After, and the handler does not
// run — for anonymous classes and for the API class alike.
func TestRateLimiterErrorFailsClosed(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, class := range []string{classAuth, classSignup, classPublic, classAPI} {
		limiter := &failingLimiter{}
		limits := RateLimits{Limiter: limiter, Budgets: map[string]rampart.RateLimit{class: {N: 100, Per: time.Minute}}}
		ran := false
		var h http.Handler = rateLimit(class, limits, logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran = true
			w.WriteHeader(204)
		}))
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := rampart.Principal{TenantID: "t1", UserID: "alice"}
			inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
		rr := sendFrom(observe(logger, m, clientIPResolver{}, nil)(h), "203.0.113.9:1000")
		if rr.Code != 503 || rr.Header().Get("Retry-After") == "" {
			t.Errorf("%s: %d Retry-After=%q, want 503 with Retry-After", class, rr.Code, rr.Header().Get("Retry-After"))
		}
		if ran {
			t.Errorf("%s: the handler ran without a rate-limit decision", class)
		}
		if limiter.calls == 0 {
			t.Errorf("%s: the limiter was not asked", class)
		}
	}
}
