package httpapi

import (
	"context"
	"encoding/json/v2"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
)

// Test-only body types, shaped like the contract's order create body.
type testItem struct {
	SKU      string `json:"sku" validate:"sku"`
	Quantity int    `json:"quantity" validate:"quantity"`
}

type testOrder struct {
	Items []testItem `json:"items" validate:"orderItems"`
	Note  *string    `json:"note" validate:"note"`
	Email string     `json:"email" validate:"email"`
}

type fakePinger struct {
	mu  sync.Mutex
	err error
}

func (p *fakePinger) Ping(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

const testOrigin = "https://app.example"

type testEdge struct {
	handler http.Handler
	logs    *testutil.SyncBuffer
	store   *fakePinger
	reg     *prometheus.Registry
}

// newTestEdge builds the real middleware chain around the real route table
// plus a few test-only routes that exercise decoding, errors and panics.
func newTestEdge(t testing.TB, trusted ...netip.Prefix) *testEdge {
	t.Helper()
	te := &testEdge{logs: &testutil.SyncBuffer{}, store: &fakePinger{}, reg: prometheus.NewRegistry()}
	opts := Options{
		Logger:         slog.New(slog.NewJSONHandler(te.logs, nil)),
		Store:          te.store,
		Registry:       te.reg,
		CORSOrigins:    []string{testOrigin},
		TrustedProxies: trusted,
		MaxBodyBytes:   100 << 10,
		Version:        "test",
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range routeTable(opts, newHandlerDeps(opts), handleOpenAPI(new([]byte))) {
		mux.Handle(rt.method+" "+rt.path, rt.handler)
	}
	mux.HandleFunc("POST /test/orders", func(w http.ResponseWriter, r *http.Request) {
		var body testOrder
		if err := decodeValid(r, &body); err != nil {
			de := err.(*decodeError)
			writeProblem(w, r, de.problem, de.detail, de.fields)
			return
		}
		writeJSON(w, http.StatusCreated, body)
	})
	mux.HandleFunc("GET /test/panic", func(http.ResponseWriter, *http.Request) {
		panic("CANARY-PANIC-VALUE at /home/build/secret.go:42")
	})
	mux.HandleFunc("GET /test/internal", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, opts.Logger, errors.New(`pq: SQLSTATE 42P01 relation "users" does not exist`))
	})
	mux.HandleFunc("GET /test/unauthenticated", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, opts.Logger, rampart.Errorf(rampart.KindUnauthenticated, "the access token is not valid"))
	})
	te.handler = chain(opts, m, mux)
	return te
}

func (te *testEdge) do(req *http.Request) *httptest.ResponseRecorder {
	rr := httptest.NewRecorder()
	te.handler.ServeHTTP(rr, req)
	return rr
}

func jsonRequest(method, target, body string) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func decodeProblem(t *testing.T, rr *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rr.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, rr.Body)
	}
	var p Problem
	if err := json.Unmarshal(rr.Body.Bytes(), &p, json.RejectUnknownMembers(true)); err != nil {
		t.Fatalf("problem body does not decode: %v; body %s", err, rr.Body)
	}
	if p.Status != rr.Code {
		t.Errorf("problem status %d, HTTP status %d", p.Status, rr.Code)
	}
	if !strings.HasPrefix(p.Type, problemTypeBase) || p.Title == "" {
		t.Errorf("problem type %q title %q", p.Type, p.Title)
	}
	if p.RequestID == "" || p.RequestID != rr.Header().Get("X-Request-Id") {
		t.Errorf("problem requestId %q, header %q", p.RequestID, rr.Header().Get("X-Request-Id"))
	}
	return p
}

// internals matches what must never reach a client: stack traces, source
// paths, driver and library names, panic text.
var internals = regexp.MustCompile(`goroutine |\.go:\d+|runtime error|pq:|SQLSTATE|/home/|/usr/|CANARY|jsontext|encoding/json|json: |panic`)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	te := newTestEdge(t)
	te.store.err = errors.New("dial tcp 10.0.0.1:5432: connection refused")
	big := strings.Repeat("x", 101<<10)
	preflight := func(origin string) *http.Request {
		req := httptest.NewRequest(http.MethodOptions, "/healthz", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		return req
	}
	cases := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"ok", httptest.NewRequest(http.MethodGet, "/healthz", nil), 200},
		{"not found", httptest.NewRequest(http.MethodGet, "/nope", nil), 404},
		{"method not allowed", httptest.NewRequest(http.MethodDelete, "/healthz", nil), 405},
		{"malformed", jsonRequest("POST", "/test/orders", "{"), 400},
		{"unauthenticated", httptest.NewRequest(http.MethodGet, "/test/unauthenticated", nil), 401},
		{"too large", jsonRequest("POST", "/test/orders", big), 413},
		{"media type", httptest.NewRequest(http.MethodPost, "/test/orders", strings.NewReader("a=b")), 415},
		{"invalid", jsonRequest("POST", "/test/orders", `{"items":[]}`), 422},
		{"panic", httptest.NewRequest(http.MethodGet, "/test/panic", nil), 500},
		{"unavailable", httptest.NewRequest(http.MethodGet, "/readyz", nil), 503},
		{"preflight allowed", preflight(testOrigin), 204},
		{"preflight denied", preflight("https://evil.example"), 403},
	}
	want := map[string]string{
		"X-Content-Type-Options":       "nosniff",
		"Cache-Control":                "no-store",
		"Content-Security-Policy":      "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"X-Frame-Options":              "DENY",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rr := te.do(tc.req)
			if rr.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rr.Code, tc.status, rr.Body)
			}
			for k, v := range want {
				if got := rr.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, banned := range []string{"Server", "X-Powered-By", "Strict-Transport-Security"} {
				if v := rr.Header().Get(banned); v != "" {
					t.Errorf("%s = %q, want none (plain HTTP, no banner)", banned, v)
				}
			}
			if rr.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if tc.status >= 400 {
				decodeProblem(t, rr)
				if internals.MatchString(rr.Body.String()) {
					t.Errorf("error body leaks internals: %s", rr.Body)
				}
			}
		})
	}
}

func TestErrorStatuses(t *testing.T) {
	te := newTestEdge(t)
	t.Run("401 has WWW-Authenticate", func(t *testing.T) {
		rr := te.do(httptest.NewRequest(http.MethodGet, "/test/unauthenticated", nil))
		if got := rr.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Fatalf("WWW-Authenticate = %q", got)
		}
	})
	t.Run("405 lists Allow", func(t *testing.T) {
		for _, method := range []string{"POST", "DELETE", "TRACE", "PUT"} {
			rr := te.do(httptest.NewRequest(method, "/healthz", nil))
			if rr.Code != 405 || !strings.Contains(rr.Header().Get("Allow"), "GET") {
				t.Errorf("%s /healthz: %d Allow=%q", method, rr.Code, rr.Header().Get("Allow"))
			}
			if p := decodeProblem(t, rr); !strings.HasSuffix(p.Type, "/method-not-allowed") {
				t.Errorf("type %q", p.Type)
			}
		}
	})
	t.Run("path cleaning is a 404, never a redirect", func(t *testing.T) {
		for target, status := range map[string]int{
			"/v1//openapi.json": 404,
			"/v1/../healthz":    404,
			// An encoded slash stays inside the {id} segment, so this is the
			// order route, which answers a caller without credentials 401
			// (and a signed-in one 404: no order has that id).
			"/v1/orders/%2e%2e%2fhealthz": 401,
		} {
			rr := te.do(httptest.NewRequest(http.MethodGet, target, nil))
			if rr.Code != status || rr.Header().Get("Location") != "" {
				t.Errorf("%s: %d Location=%q", target, rr.Code, rr.Header().Get("Location"))
			}
			decodeProblem(t, rr)
		}
	})
	t.Run("public listener has no debug or metrics routes", func(t *testing.T) {
		for _, target := range []string{"/metrics", "/debug/pprof/", "/debug/vars", "/.git/HEAD", "/admin"} {
			if rr := te.do(httptest.NewRequest(http.MethodGet, target, nil)); rr.Code != 404 {
				t.Errorf("%s: %d, want 404", target, rr.Code)
			}
		}
	})
	t.Run("internal error is generic and logged", func(t *testing.T) {
		rr := te.do(httptest.NewRequest(http.MethodGet, "/test/internal", nil))
		p := decodeProblem(t, rr)
		if rr.Code != 500 || p.Detail != "" || internals.MatchString(rr.Body.String()) {
			t.Fatalf("%d %s", rr.Code, rr.Body)
		}
		if !strings.Contains(te.logs.String(), "SQLSTATE 42P01") || !strings.Contains(te.logs.String(), p.RequestID) {
			t.Error("the cause and request id are not in the server log")
		}
	})
	t.Run("panic is a generic 500 with the stack only in the log", func(t *testing.T) {
		rr := te.do(httptest.NewRequest(http.MethodGet, "/test/panic", nil))
		p := decodeProblem(t, rr)
		if rr.Code != 500 || strings.Contains(rr.Body.String(), "CANARY") {
			t.Fatalf("%d %s", rr.Code, rr.Body)
		}
		logs := te.logs.String()
		if !strings.Contains(logs, "CANARY-PANIC-VALUE") || !strings.Contains(logs, "goroutine") {
			t.Error("panic value and stack are not in the server log")
		}
		if !strings.Contains(logs, `"status":500`) || !strings.Contains(logs, p.RequestID) {
			t.Error("the access log does not record the 500 with its request id")
		}
	})
	t.Run("readyz follows the store", func(t *testing.T) {
		te.store.err = errors.New("connection refused")
		rr := te.do(httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rr.Code != 503 || rr.Header().Get("Retry-After") == "" {
			t.Fatalf("store down: %d Retry-After=%q", rr.Code, rr.Header().Get("Retry-After"))
		}
		te.store.err = nil
		rr = te.do(httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rr.Code != 200 || rr.Body.String() != `{"status":"ok"}` {
			t.Fatalf("store back: %d %s", rr.Code, rr.Body)
		}
	})
}

// readCounter records whether a handler read the body at all.
type readCounter struct {
	n    int
	data io.Reader
}

func (r *readCounter) Read(p []byte) (int, error) {
	n, err := r.data.Read(p)
	r.n += n
	return n, err
}

func TestBodyLimits(t *testing.T) {
	te := newTestEdge(t)
	t.Run("declared oversize is refused before reading", func(t *testing.T) {
		body := &readCounter{data: strings.NewReader(strings.Repeat(" ", 10<<20))}
		req := httptest.NewRequest(http.MethodPost, "/test/orders", body)
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = 10 << 20
		rr := te.do(req)
		if rr.Code != 413 || body.n != 0 {
			t.Fatalf("status %d after reading %d bytes", rr.Code, body.n)
		}
		decodeProblem(t, rr)
	})
	t.Run("chunked oversize is cut off while streaming", func(t *testing.T) {
		body := &readCounter{data: strings.NewReader(`{"note":"` + strings.Repeat("a", 10<<20) + `"}`)}
		req := httptest.NewRequest(http.MethodPost, "/test/orders", body)
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		rr := te.do(req)
		if rr.Code != 413 || body.n > 100<<10+512 { // the limit plus one read past it
			t.Fatalf("status %d after reading %d bytes", rr.Code, body.n)
		}
		decodeProblem(t, rr)
	})
	t.Run("media types", func(t *testing.T) {
		valid := `{"items":[{"sku":"A-1","quantity":1}],"email":"a@b.example"}`
		for ct, status := range map[string]int{
			"application/json":                   201,
			"application/json; charset=utf-8":    201,
			"Application/JSON;charset=\"UTF-8\"": 201,
			"":                                   415,
			"text/plain":                         415,
			"application/x-www-form-urlencoded":  415,
			"application/xml":                    415,
			"application/json; charset=latin1":   415,
			"application/jsonx":                  415,
			"application/json; boundary=x":       415,
		} {
			req := httptest.NewRequest(http.MethodPost, "/test/orders", strings.NewReader(valid))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if rr := te.do(req); rr.Code != status {
				t.Errorf("Content-Type %q: %d, want %d", ct, rr.Code, status)
			}
		}
	})
}

func TestStrictJSON(t *testing.T) {
	te := newTestEdge(t)
	cases := []struct {
		name   string
		body   string
		status int
		field  string // for 422: the field named in errors
	}{
		{"valid", `{"items":[{"sku":"A-1","quantity":2}],"note":"hi","email":"a@b.example"}`, 201, ""},
		{"syntax error", `{"items":[}`, 400, ""},
		{"truncated", `{"items":[`, 400, ""},
		{"trailing data", `{"email":"a@b.example","items":[{"sku":"A","quantity":1}]} {}`, 400, ""},
		{"trailing garbage", `{"email":"a@b.example","items":[{"sku":"A","quantity":1}]}x`, 400, ""},
		{"invalid UTF-8", "{\"email\":\"a@b.example\",\"note\":\"\xff\",\"items\":[{\"sku\":\"A\",\"quantity\":1}]}", 400, ""},
		{"duplicate member", `{"email":"a@b.example","email":"b@b.example","items":[{"sku":"A","quantity":1}]}`, 400, ""},
		{"duplicate nested member", `{"email":"a@b.example","items":[{"sku":"A","quantity":1,"quantity":-1}]}`, 400, ""},
		{"escaped duplicate member", `{"em\u0061il":"a@b.example","email":"b@b.example","items":[{"sku":"A","quantity":1}]}`, 400, ""},
		{"top-level array", `[{"email":"a@b.example"}]`, 400, ""},
		{"top-level string", `"hello"`, 400, ""},
		{"top-level null", `null`, 400, ""},
		{"empty body", ``, 400, ""},
		{"deep nesting", `{"items":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, 422, "items[0]"},
		{"unknown field", `{"email":"a@b.example","items":[{"sku":"A","quantity":1}],"tenantId":"t"}`, 422, "tenantId"},
		{"case variant", `{"email":"a@b.example","items":[{"sku":"A","quantity":1}],"EMAIL":"admin@b.example"}`, 422, "EMAIL"},
		{"nested unknown", `{"email":"a@b.example","items":[{"sku":"A","quantity":1,"price":0}]}`, 422, "items[0].price"},
		{"string for integer", `{"email":"a@b.example","items":[{"sku":"A","quantity":"1"}]}`, 422, "items[0].quantity"},
		{"fraction", `{"email":"a@b.example","items":[{"sku":"A","quantity":1.5}]}`, 422, "items[0].quantity"},
		{"huge number", `{"email":"a@b.example","items":[{"sku":"A","quantity":1e309}]}`, 422, "items[0].quantity"},
		{"zero quantity", `{"email":"a@b.example","items":[{"sku":"A","quantity":0}]}`, 422, "items[0].quantity"},
		{"over max quantity", `{"email":"a@b.example","items":[{"sku":"A","quantity":1001}]}`, 422, "items[0].quantity"},
		{"bad sku", `{"email":"a@b.example","items":[{"sku":"a'; DROP TABLE orders;--","quantity":1}]}`, 422, "items[0].sku"},
		{"no items", `{"email":"a@b.example","items":[]}`, 422, "items"},
		{"missing email", `{"items":[{"sku":"A","quantity":1}]}`, 422, "email"},
		{"bad email", `{"email":"Bob <a@b.example>","items":[{"sku":"A","quantity":1}]}`, 422, "email"},
		{"long note", `{"email":"a@b.example","items":[{"sku":"A","quantity":1}],"note":"` + strings.Repeat("é", 501) + `"}`, 422, "note"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rr := te.do(jsonRequest("POST", "/test/orders", tc.body))
			if rr.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rr.Code, tc.status, rr.Body)
			}
			if tc.status < 400 {
				return
			}
			p := decodeProblem(t, rr)
			if internals.MatchString(rr.Body.String()) {
				t.Errorf("error body leaks internals: %s", rr.Body)
			}
			if tc.status == 422 {
				if len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Message == "" {
					t.Errorf("errors = %+v, want field %q", p.Errors, tc.field)
				}
			}
		})
	}
}

func TestValidationReportsEveryField(t *testing.T) {
	te := newTestEdge(t)
	rr := te.do(jsonRequest("POST", "/test/orders", `{"email":"x","items":[{"sku":"ok","quantity":0},{"sku":"B","quantity":5}]}`))
	p := decodeProblem(t, rr)
	var fields []string
	for _, fe := range p.Errors {
		fields = append(fields, fe.Field)
	}
	if got := strings.Join(fields, ","); got != "items[0].sku,items[0].quantity,email" {
		t.Fatalf("fields %q", got)
	}
}

func TestCORS(t *testing.T) {
	te := newTestEdge(t)
	get := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header.Set("Origin", origin)
		return te.do(req)
	}
	rr := get(testOrigin)
	if rr.Header().Get("Access-Control-Allow-Origin") != testOrigin || !strings.Contains(strings.Join(rr.Header().Values("Vary"), ","), "Origin") {
		t.Fatalf("allowed origin: ACAO=%q Vary=%q", rr.Header().Get("Access-Control-Allow-Origin"), rr.Header().Values("Vary"))
	}
	if rr.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed without the cookie mode")
	}
	for _, origin := range []string{"https://evil.example", "https://app.example.evil.com", "https://evil-app.example",
		"null", "http://app.example", "https://app.example:444", "https://APP.example.", "*"} {
		if got := get(origin).Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("origin %q granted %q", origin, got)
		}
	}

	pre := httptest.NewRequest(http.MethodOptions, "/healthz", nil)
	pre.Header.Set("Origin", testOrigin)
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	rr = te.do(pre)
	if rr.Code != 204 || rr.Header().Get("Access-Control-Allow-Origin") != testOrigin ||
		!strings.Contains(rr.Header().Get("Access-Control-Allow-Methods"), "POST") || rr.Header().Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("allowed preflight: %d %v", rr.Code, rr.Header())
	}
	pre.Header.Set("Access-Control-Request-Headers", "x-custom")
	if rr = te.do(pre); rr.Header().Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("preflight with X-Custom allowed: %v", rr.Header())
	}
	pre.Header.Set("Origin", "https://evil.example")
	rr = te.do(pre)
	if rr.Code != 403 || rr.Header().Get("Access-Control-Allow-Origin") != "" || rr.Header().Get("Access-Control-Allow-Methods") != "" {
		t.Fatalf("denied preflight: %d %v", rr.Code, rr.Header())
	}
	// OPTIONS is only for preflight: a plain OPTIONS is not a route.
	if rr := te.do(httptest.NewRequest(http.MethodOptions, "/healthz", nil)); rr.Code != 405 {
		t.Errorf("plain OPTIONS: %d, want 405", rr.Code)
	}
}

func TestRequestID(t *testing.T) {
	te := newTestEdge(t)
	cases := []struct {
		inbound string
		keep    bool
	}{
		{"abc-123_X.y", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"evil\r\nX-Injected: 1", false},
		{`{"level":"ERROR"}`, false},
		{"a b", false},
		{"", false},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		if tc.inbound != "" {
			req.Header["X-Request-Id"] = []string{tc.inbound}
		}
		got := te.do(req).Header().Get("X-Request-Id")
		if tc.keep && got != tc.inbound {
			t.Errorf("inbound %q replaced by %q", tc.inbound, got)
		}
		if !tc.keep && (got == tc.inbound || !validRequestID(got) || seen[got]) {
			t.Errorf("inbound %q: got %q, want a fresh safe id", tc.inbound, got)
		}
		seen[got] = true
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	res := clientIPResolver{trusted: trusted}
	cases := []struct {
		name   string
		remote string
		xff    []string
		proto  string
		want   string
		https  bool
	}{
		{"direct client, no header", "203.0.113.7:5555", nil, "", "203.0.113.7", false},
		{"untrusted peer cannot spoof", "203.0.113.7:5555", []string{"1.2.3.4"}, "https", "203.0.113.7", false},
		{"trusted proxy", "10.0.0.2:80", []string{"198.51.100.9"}, "https", "198.51.100.9", true},
		{"client-written hops on the left are ignored", "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.9"}, "", "198.51.100.9", false},
		{"several trusted proxies", "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.9, 10.1.1.1, 10.2.2.2"}, "", "198.51.100.9", false},
		{"several header lines", "10.0.0.2:80", []string{"6.6.6.6", "198.51.100.9, 10.1.1.1"}, "", "198.51.100.9", false},
		{"garbage hop falls back to nearest trusted", "10.0.0.2:80", []string{"198.51.100.9, nonsense, 10.1.1.1"}, "", "10.1.1.1", false},
		{"all hops trusted", "10.0.0.2:80", []string{"10.9.9.9"}, "", "10.9.9.9", false},
		{"ipv6 through proxy", "[fd00::1]:443", []string{"2001:db8::5"}, "https", "2001:db8::5", true},
		{"ipv4-mapped peer", "[::ffff:10.0.0.2]:80", []string{"198.51.100.9"}, "", "198.51.100.9", false},
		{"last proto wins", "10.0.0.2:80", []string{"198.51.100.9"}, "https, http", "198.51.100.9", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remote
			if tc.xff != nil {
				req.Header["X-Forwarded-For"] = tc.xff
			}
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			ip, https := res.resolve(req)
			if ip.String() != tc.want || https != tc.https {
				t.Fatalf("got %s https=%v, want %s https=%v", ip, https, tc.want, tc.https)
			}
		})
	}

	t.Run("access log and HSTS use the resolved client", func(t *testing.T) {
		te := newTestEdge(t, trusted...)
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.RemoteAddr = "10.0.0.2:80"
		req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.9")
		req.Header.Set("X-Forwarded-Proto", "https")
		rr := te.do(req)
		if rr.Header().Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS behind a trusted TLS proxy")
		}
		if !strings.Contains(te.logs.String(), `"client_ip":"198.51.100.9"`) {
			t.Errorf("access log: %s", te.logs)
		}
	})
}

func TestAccessLogAndMetrics(t *testing.T) {
	te := newTestEdge(t)
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.Header.Set("Authorization", "Bearer CANARY-TOKEN")
	te.do(req)
	te.do(httptest.NewRequest("BREW", "/users/alice@example.com/secret", nil))

	var line map[string]any
	first, _, _ := strings.Cut(te.logs.String(), "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"method", "route", "status", "duration_us", "bytes", "request_id", "client_ip"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access log has no %q: %s", k, first)
		}
	}
	if line["route"] != "GET /healthz" || strings.Contains(te.logs.String(), "CANARY") {
		t.Errorf("access log: %s", te.logs)
	}

	families, err := te.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var series []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			series = append(series, f.GetName()+"{"+strings.Join(labels, ",")+"}")
		}
	}
	all := strings.Join(series, "\n")
	for _, want := range []string{
		"rampart_http_requests_total{code=200,method=GET,route=GET /healthz}",
		"rampart_http_requests_total{code=404,method=OTHER,route=unmatched}",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no series %s in\n%s", want, all)
		}
	}
	if strings.Contains(all, "alice") || strings.Contains(all, "BREW") {
		t.Errorf("raw path or method became a label:\n%s", all)
	}
}
