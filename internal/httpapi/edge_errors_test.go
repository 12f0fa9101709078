package httpapi

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json/v2"
	"hash/crc32"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/token"
)

// Tests for the answers a client acts on at the edge: CORS grants, the
// three authentication problems with their challenges, insufficient scope
// and role, and the merge-patch media type. All go through NewServer, the
// wiring that `rampart serve` uses.

// serverWith builds another real server over a's store, identity and
// tokens, with edit applied to its options.
func (a *testApp) serverWith(edit func(*Options)) http.Handler {
	a.t.Helper()
	opts := Options{
		Logger: slog.New(slog.NewJSONHandler(a.logs, nil)), Store: a.store, Services: a.services, Tokens: a.tokens,
		CursorKey: make([]byte, 32), Registry: prometheus.NewRegistry(), MaxBodyBytes: 100 << 10, Version: "test",
		CORSOrigins: []string{testOrigin},
	}
	edit(&opts)
	h, err := NewServer(opts)
	if err != nil {
		a.t.Fatal(err)
	}
	return h
}

func corsRequest(method, origin string, preflight bool) *http.Request {
	req := httptest.NewRequest(method, "/healthz", nil)
	req.Header.Set("Origin", origin)
	if preflight {
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
	}
	return req
}

// No allowlist is no grant: before the fix an empty RAMPART_CORS_ORIGINS
// reached rs/cors as "allow every origin" and every response said "*".
func TestCORSWithoutAllowlistGrantsNothing(t *testing.T) {
	a := newTestApp(t)
	for _, cookie := range []bool{false, true} {
		h := a.serverWith(func(o *Options) { o.CORSOrigins, o.RefreshCookie = nil, cookie })
		for _, origin := range []string{"https://evil.example", "null", testOrigin} {
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, corsRequest(http.MethodGet, origin, false))
			if rr.Code != 200 {
				t.Fatalf("simple GET from %q: %d", origin, rr.Code)
			}
			for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers"} {
				if v := rr.Header().Get(name); v != "" {
					t.Errorf("cookie mode %v, simple GET from %q: %s = %q", cookie, origin, name, v)
				}
			}

			rr = httptest.NewRecorder()
			h.ServeHTTP(rr, corsRequest(http.MethodOptions, origin, true))
			if rr.Code != http.StatusForbidden {
				t.Errorf("cookie mode %v, preflight from %q: %d, want 403", cookie, origin, rr.Code)
			}
			for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Allow-Credentials"} {
				if v := rr.Header().Get(name); v != "" {
					t.Errorf("cookie mode %v, preflight from %q: %s = %q", cookie, origin, name, v)
				}
			}
		}
	}
}

// An allowlisted origin gets itself back, never "*", and Vary: Origin;
// "null" and look-alikes get nothing.
func TestCORSAllowlistIsExact(t *testing.T) {
	a := newTestApp(t)
	for _, preflight := range []bool{false, true} {
		method := http.MethodGet
		if preflight {
			method = http.MethodOptions
		}
		r := a.serve(corsRequest(method, testOrigin, preflight))
		if got := r.Header().Get("Access-Control-Allow-Origin"); got != testOrigin {
			t.Errorf("preflight %v: Access-Control-Allow-Origin = %q, want %q", preflight, got, testOrigin)
		}
		if !strings.Contains(strings.Join(r.Header().Values("Vary"), ","), "Origin") {
			t.Errorf("preflight %v: Vary = %q, want Origin", preflight, r.Header().Values("Vary"))
		}
		for _, origin := range []string{"null", "https://evil.example", strings.ToUpper(testOrigin), testOrigin + ".evil.example"} {
			if got := a.serve(corsRequest(method, origin, preflight)).Header().Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("preflight %v from %q: Access-Control-Allow-Origin = %q", preflight, origin, got)
			}
		}
	}
}

// tamper changes one claim of a token without re-signing it.
func tamper(t *testing.T, tok, claim, value string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	claims[claim] = value
	raw, err = json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// withChecksum completes an API key body (all but the checksum) as the
// server would, so a test can make a key that is well formed but unknown.
func withChecksum(body string) string {
	b32 := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	return body + b32.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE([]byte(body))))
}

const (
	challengeNone    = `Bearer realm="rampart"`
	challengeInvalid = `Bearer realm="rampart", error="invalid_token"`
	challengeExpired = `Bearer realm="rampart", error="invalid_token", error_description="the access token expired"`
)

// Three problems a client can act on: send a credential, sign in again,
// or refresh. Expiry is said only of a token that is ours in every other
// respect: an expired forgery is just invalid.
func TestAuthenticationProblems(t *testing.T) {
	a := newTestApp(t)
	_, admin := a.newTenant()
	live := a.token(admin)
	revoked := a.revokedToken(admin)
	forgedLive := tamper(t, live, "role", "superuser")

	// Keys that expire in an hour; one of them is revoked at once.
	newKey := func() (*rampart.APIKey, string) {
		k, text, err := a.service().CreateAPIKey(t.Context(), rampart.RequestMeta{}, a.userPrincipal(admin),
			rampart.APIKeyInput{Name: "short-lived", Scopes: []string{rampart.ScopeOrdersRead}, ExpiresAt: a.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return k, text
	}
	_, expiringKey := newKey()
	revokedKey, revokedKeyText := newKey()
	if err := a.service().RevokeAPIKey(t.Context(), rampart.RequestMeta{}, a.userPrincipal(admin), revokedKey.ID); err != nil {
		t.Fatal(err)
	}
	// A well-formed key (prefix, length, checksum) that was never issued.
	if withChecksum(expiringKey[:len(expiringKey)-7]) != expiringKey {
		t.Fatal("withChecksum does not compute the server's checksum")
	}
	unknownKey := withChecksum(expiringKey[:len(expiringKey)-7-4] + "aaaa")

	type call struct {
		name, authorization, wantType, wantChallenge string
	}
	check := func(t *testing.T, calls []call) {
		t.Helper()
		for _, c := range calls {
			req := newRequest("GET", "/v1/orders", "")
			if c.authorization != "" {
				req.Header.Set("Authorization", c.authorization)
			}
			r := a.serve(req)
			if r.Code != http.StatusUnauthorized || r.problemType() != c.wantType {
				t.Errorf("%s: %d %s, want 401 %s", c.name, r.Code, r.Body, c.wantType)
			}
			if got := r.Header().Get("WWW-Authenticate"); got != c.wantChallenge {
				t.Errorf("%s: WWW-Authenticate = %q, want %q", c.name, got, c.wantChallenge)
			}
		}
	}
	check(t, []call{
		{"no credential", "", "unauthenticated", challengeNone},
		{"another scheme", "Basic YWRtaW46YWRtaW4=", "unauthenticated", challengeNone},
		{"malformed token", "Bearer not.a.token", "invalid-token", challengeInvalid},
		{"forged token", "Bearer " + forgedLive, "invalid-token", challengeInvalid},
		{"revoked session", "Bearer " + revoked, "invalid-token", challengeInvalid},
		{"unknown API key", "Bearer " + unknownKey, "invalid-token", challengeInvalid},
		{"malformed API key", "Bearer rk_nope", "invalid-token", challengeInvalid},
		{"revoked API key", "Bearer " + revokedKeyText, "invalid-token", challengeInvalid},
	})
	if r := a.do("GET", "/v1/orders", live, nil); r.Code != 200 {
		t.Fatalf("live token: %d %s", r.Code, r.Body)
	}

	a.clock.Advance(rampart.DefaultIdentityConfig.AccessTTL + token.Leeway + time.Second)
	// Advancing past the API key's expiry too.
	a.clock.Advance(time.Hour)
	check(t, []call{
		{"expired token", "Bearer " + live, "token-expired", challengeExpired},
		{"expired and forged token", "Bearer " + forgedLive, "invalid-token", challengeInvalid},
		{"expired and revoked token", "Bearer " + revoked, "token-expired", challengeExpired},
		{"expired API key", "Bearer " + expiringKey, "token-expired",
			`Bearer realm="rampart", error="invalid_token", error_description="the API key expired; an admin can create a new one"`},
		{"revoked and expired API key", "Bearer " + revokedKeyText, "invalid-token", challengeInvalid},
		{"unknown API key", "Bearer " + unknownKey, "invalid-token", challengeInvalid},
		{"no credential", "", "unauthenticated", challengeNone},
	})
}

// A key without the scope is told which scope it lacks (RFC 6750 §3.1); a
// user without the role is told the role.
func TestForbiddenNamesWhatIsMissing(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	member := a.newUser(tenant, rampart.RoleMember)
	_, readOnly := a.newAPIKey(admin, rampart.ScopeOrdersRead)

	detail := func(r response) string {
		var p Problem
		r.json(t, &p)
		return p.Detail
	}

	r := a.do("POST", "/v1/orders", readOnly, `{"items":[{"sku":"A-1","quantity":1}]}`)
	if r.Code != http.StatusForbidden || r.problemType() != "forbidden" {
		t.Fatalf("key without orders:write: %d %s", r.Code, r.Body)
	}
	if got, want := r.Header().Get("WWW-Authenticate"), `Bearer error="insufficient_scope", scope="orders:write"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
	if d := detail(r); !strings.Contains(d, "orders:write") {
		t.Errorf("detail %q does not name the scope", d)
	}
	r = a.do("GET", "/v1/audit-events", readOnly, nil)
	if got := r.Header().Get("WWW-Authenticate"); r.Code != 403 || !strings.Contains(got, `scope="audit:read"`) {
		t.Errorf("key without audit:read: %d, WWW-Authenticate = %q", r.Code, got)
	}

	// No scope would let a key manage keys: no insufficient_scope then.
	r = a.do("GET", "/v1/api-keys", readOnly, nil)
	if r.Code != 403 || r.Header().Get("WWW-Authenticate") != "" || !strings.Contains(detail(r), "signed-in user") {
		t.Errorf("key on a user-only route: %d %q %s", r.Code, r.Header().Get("WWW-Authenticate"), r.Body)
	}

	r = a.do("GET", "/v1/users", a.token(member), nil)
	if r.Code != 403 || r.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("member listing users: %d %q", r.Code, r.Header().Get("WWW-Authenticate"))
	}
	if d := detail(r); !strings.Contains(d, "admin role") {
		t.Errorf("detail %q does not name the role", d)
	}
}

// PATCH bodies are JSON merge patches (RFC 7396) and may say so; other
// methods may not, and the decoding stays as strict.
func TestMergePatchMediaType(t *testing.T) {
	a := newTestApp(t)
	_, admin := a.newTenant()
	tok := a.token(admin)
	send := func(method, path, contentType, body string) response {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+tok)
		return a.serve(req)
	}
	for _, ct := range []string{"application/merge-patch+json", "application/merge-patch+json; charset=utf-8", "Application/Merge-Patch+JSON"} {
		if r := send("PATCH", "/v1/me", ct, `{"displayName":"Patched Name"}`); r.Code != 200 || !strings.Contains(r.Body.String(), "Patched Name") {
			t.Errorf("PATCH as %q: %d %s", ct, r.Code, r.Body)
		}
	}
	if r := send("PATCH", "/v1/me", "application/merge-patch+json", `{"displayName":"A","displayName":"B"}`); r.Code != 400 {
		t.Errorf("merge patch with a duplicate member: %d %s", r.Code, r.Body)
	}
	if r := send("PATCH", "/v1/me", "application/merge-patch+json", `{"displayName":"Valid Name","role":"admin"}`); r.Code != 422 {
		t.Errorf("merge patch with an unknown member: %d %s", r.Code, r.Body)
	}
	if r := send("PATCH", "/v1/me", "application/merge-patch+json; charset=latin1", `{"displayName":"Latin Name"}`); r.Code != 415 {
		t.Errorf("merge patch in latin1: %d %s", r.Code, r.Body)
	}
	if r := send("POST", "/v1/orders", "application/merge-patch+json", `{"items":[{"sku":"A-1","quantity":1}]}`); r.Code != 415 || r.problemType() != "unsupported-media-type" {
		t.Errorf("POST as a merge patch: %d %s", r.Code, r.Body)
	}
}

func TestBearerChallenge(t *testing.T) {
	for _, tt := range []struct {
		c    bearerChallenge
		want string
	}{
		{bearerChallenge{}, `Bearer realm="rampart"`},
		{bearerChallenge{Error: "insufficient_scope", Scope: "orders:read orders:write"},
			`Bearer error="insufficient_scope", scope="orders:read orders:write"`},
		{bearerChallenge{Error: "insufficient_user_authentication", Description: "sign in again", MaxAgeSeconds: 600},
			`Bearer error="insufficient_user_authentication", error_description="sign in again", max_age=600`},
		// Quotes, backslashes and control characters cannot break out.
		{bearerChallenge{Error: "invalid_token", Description: "a \"b\"\\\r\nSet-Cookie: x=1é"},
			`Bearer realm="rampart", error="invalid_token", error_description="a bSet-Cookie: x=1"`},
	} {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.c, got, tt.want)
		}
	}
}

// The document says what limitBody accepts: PATCH bodies in both media
// types, every other body in application/json only.
func TestOpenAPIMergePatchBodies(t *testing.T) {
	doc := fetchOpenAPI(t, newTestServer(t))
	patches := 0
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			body, ok := op.(map[string]any)["requestBody"].(map[string]any)
			if !ok {
				continue
			}
			content := body["content"].(map[string]any)
			_, hasJSON := content["application/json"]
			_, merge := content[mergePatchMediaType]
			if isPatch := method == "patch"; !hasJSON || merge != isPatch {
				t.Errorf("%s %s request body types: %v", method, path, content)
			} else if isPatch {
				patches++
			}
		}
	}
	if patches == 0 {
		t.Error("no PATCH operation with a request body documented")
	}
}

// A refused credential is never answered as "no credentials", even when the
// error that refused it carries no code; other failures keep their problem.
func TestCredentialErrorIsNeverUnauthenticated(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	for _, tt := range []struct {
		err           error
		status        int
		wantType      string
		wantChallenge string
	}{
		{rampart.Errorf(rampart.KindUnauthenticated, "no such principal"), 401, "invalid-token", challengeInvalid},
		{rampart.Errorf(rampart.KindUnavailable, "the store does not answer"), 503, "unavailable", ""},
	} {
		rr := httptest.NewRecorder()
		writeCredentialError(rr, httptest.NewRequest("GET", "/v1/orders", nil), logger, tt.err)
		r := response{rr}
		if r.Code != tt.status || r.problemType() != tt.wantType || r.Header().Get("WWW-Authenticate") != tt.wantChallenge {
			t.Errorf("%v: %d %s %q", tt.err, r.Code, r.problemType(), r.Header().Get("WWW-Authenticate"))
		}
	}
}
