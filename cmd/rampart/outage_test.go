package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json/v2"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/tcpproxy"
)

// testPassphrase passes the default policy (15..128 characters, not common).
const testPassphrase = "a long and unusual passphrase 42"

// generousRates keeps the per-IP limits out of the way of tests that make
// many signups and logins from 127.0.0.1.
var generousRates = []string{"RAMPART_RATE_SIGNUP=10000/1m", "RAMPART_RATE_AUTH=10000/1m"}

// setEnv returns environ with kv's variable set to kv's value, replacing
// any earlier setting (configuration refuses a variable set twice).
func setEnv(environ []string, kv string) []string {
	name, _, _ := strings.Cut(kv, "=")
	out := make([]string, 0, len(environ)+1)
	for _, e := range environ {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return append(out, kv)
}

// testClient bounds every request, so a hung server fails the test instead
// of hanging it.
var testClient = &http.Client{Timeout: 15 * time.Second}

type response struct {
	code   int
	header http.Header
	body   string
}

// do sends a request with an optional JSON body and optional bearer token.
func do(t *testing.T, method, url string, body any, bearer string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

// uniqueEmail is an address no other test run uses.
func uniqueEmail(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:12]) + "@example.com"
}

func signupBody(email string) map[string]string {
	return map[string]string{"email": email, "password": testPassphrase, "displayName": "Test User", "organization": "Test Org"}
}

// login signs in and returns the access token.
func login(t *testing.T, base, email string) (string, response) {
	t.Helper()
	r := do(t, http.MethodPost, base+"/v1/auth/login", map[string]string{"email": email, "password": testPassphrase}, "")
	if r.code != http.StatusOK {
		return "", r
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("login response without a token: %v %s", err, r.body)
	}
	return tok.AccessToken, r
}

// driverWords are what a response must never show of a database failure:
// the driver, the network, the SQL machinery.
var driverWords = []string{"pgx", "pgconn", "postgres", "dial", "sqlstate", "connection", "refused", "reset by peer",
	"eof", "tcp", "127.0.0.1", "localhost", "timeout", "context deadline"}

// assertUnavailable checks a 503 problem that tells the client to come back
// and nothing about why.
func assertUnavailable(t *testing.T, what string, r response, hidden ...string) {
	t.Helper()
	if r.code != http.StatusServiceUnavailable {
		t.Errorf("%s during the outage: %d, want 503: %s", what, r.code, r.body)
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	if ra := r.header.Get("Retry-After"); ra == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	var p struct {
		Type      string `json:"type"`
		Status    int    `json:"status"`
		RequestID string `json:"requestId"`
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Status != 503 || p.Type == "" {
		t.Errorf("%s: not a 503 problem body (%v): %s", what, err, r.body)
	}
	// The request id is random; it could spell a port number by chance.
	lower := strings.ToLower(r.body)
	if p.RequestID != "" {
		lower = strings.ReplaceAll(lower, strings.ToLower(p.RequestID), "")
	}
	for _, w := range append(driverWords, hidden...) {
		if strings.Contains(lower, strings.ToLower(w)) {
			t.Errorf("%s: body shows %q: %s", what, w, r.body)
		}
	}
}

// TestPostgresOutage runs the server on a PostgreSQL database reached
// through a proxy of its own, cuts the proxy, and checks that requests that
// need the store get 503 problem+json with Retry-After and no driver
// detail, that readiness fails, and that the server recovers by itself once
// the line is restored. The shared PostgreSQL service is never touched.
func TestPostgresOutage(t *testing.T) {
	u, err := url.Parse(testutil.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := tcpproxy.Start(t, u.Host)
	u.Host = proxy.Addr()
	_, proxyPort, _ := strings.Cut(proxy.Addr(), ":")
	env := setEnv(testEnviron(t, generousRates...), "RAMPART_DATABASE_URL="+u.String())
	l, out, stop := startRun(t, env)
	base := "http://" + l.Addr

	email := uniqueEmail("outage")
	if r := do(t, http.MethodPost, base+"/v1/signup", signupBody(email), ""); r.code != http.StatusCreated {
		t.Fatalf("signup before the outage: %d %s\n%s", r.code, r.body, out)
	}
	token, r := login(t, base, email)
	if token == "" {
		t.Fatalf("login before the outage: %d %s", r.code, r.body)
	}
	if r := do(t, http.MethodGet, base+"/v1/me", nil, token); r.code != http.StatusOK {
		t.Fatalf("me before the outage: %d %s", r.code, r.body)
	}

	// No time bound: a request that hung on the dead database would fail
	// on testClient's timeout instead of answering 503.
	proxy.Cut()
	hidden := []string{proxy.Addr(), proxyPort, u.Path[1:]} // address, port, database name
	assertUnavailable(t, "POST /v1/signup", do(t, http.MethodPost, base+"/v1/signup", signupBody(uniqueEmail("during")), ""), hidden...)
	assertUnavailable(t, "GET /v1/me", do(t, http.MethodGet, base+"/v1/me", nil, token), hidden...)
	ready := do(t, http.MethodGet, base+"/readyz", nil, "")
	assertUnavailable(t, "GET /readyz", ready, hidden...)
	t.Logf("readyz during the outage: %s", ready.body)
	// Liveness does not depend on the store: the process is fine.
	if r := do(t, http.MethodGet, base+"/healthz", nil, ""); r.code != http.StatusOK {
		t.Errorf("healthz during the outage: %d", r.code)
	}

	proxy.Restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := do(t, http.MethodGet, base+"/readyz", nil, "")
		if r.code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d 15s after the restore: %s\n%s", r.code, r.body, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := do(t, http.MethodPost, base+"/v1/signup", signupBody(uniqueEmail("after")), ""); r.code != http.StatusCreated {
		t.Errorf("signup after the restore: %d %s", r.code, r.body)
	}
	if r := do(t, http.MethodGet, base+"/v1/me", nil, token); r.code != http.StatusOK {
		t.Errorf("me after the restore: %d %s", r.code, r.body)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", out)
	}
	if err := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
}
