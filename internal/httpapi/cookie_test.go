package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// withCookieMode rebuilds app's handler with the refresh cookie on.
func withCookieMode(t *testing.T, app *testApp) {
	t.Helper()
	h, err := NewServer(Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: app.store, Services: app.services,
		Tokens: app.tokens, CursorKey: make([]byte, 32), Registry: prometheus.NewRegistry(), MaxBodyBytes: 100 << 10,
		CORSOrigins: []string{testOrigin}, RefreshCookie: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	app.handler = h
}

// browser sends a request as a browser on origin would, with the cookie.
func (a *testApp) browser(method, path, origin, cookie, body string) response {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: refreshCookieName, Value: cookie})
	}
	rr := httptest.NewRecorder()
	a.handler.ServeHTTP(rr, req)
	return response{rr}
}

func refreshCookieOf(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range r.Result().Cookies() {
		if c.Name == refreshCookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", refreshCookieName, r.Header())
	return nil
}

func TestRefreshCookieMode(t *testing.T) {
	app := newTestApp(t)
	app.signup("browser@example.com")
	withCookieMode(t, app)
	const creds = `{"email":"browser@example.com","password":"` + testPassword + `"}`

	r := app.browser("POST", "/v1/auth/login", testOrigin, "", creds)
	if r.Code != 200 || strings.Contains(r.Body.String(), "refreshToken") {
		t.Fatalf("login from the front end: %d %s", r.Code, r.Body)
	}
	c := refreshCookieOf(t, r)
	setCookie := r.Header().Get("Set-Cookie")
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Strict", "Max-Age="} {
		if !strings.Contains(setCookie, attr) {
			t.Errorf("Set-Cookie %q lacks %s", setCookie, attr)
		}
	}
	if strings.Contains(setCookie, "Domain=") || !strings.HasPrefix(c.Value, "rt_") {
		t.Errorf("Set-Cookie %q", setCookie)
	}
	if r.Header().Get("Access-Control-Allow-Credentials") != "true" || r.Header().Get("Access-Control-Allow-Origin") != testOrigin {
		t.Errorf("CORS for the front end: %v", r.Header())
	}

	// CSRF: the cookie alone, from no origin or another one, changes nothing.
	for _, origin := range []string{"", "https://evil.example", "null"} {
		if r := app.browser("POST", "/v1/auth/refresh", origin, c.Value, `{}`); r.Code != 403 {
			t.Errorf("refresh with the cookie from origin %q: %d, want 403", origin, r.Code)
		}
	}
	r = app.browser("POST", "/v1/auth/refresh", testOrigin, c.Value, `{}`)
	if r.Code != 200 {
		t.Fatalf("refresh with the cookie from the front end: %d %s", r.Code, r.Body)
	}
	next := refreshCookieOf(t, r)
	if next.Value == c.Value {
		t.Error("the cookie was not rotated")
	}
	var tok tokenResponse
	r.json(t, &tok)

	r = app.browser("POST", "/v1/auth/logout", testOrigin, "", "")
	if r.Code != 401 {
		t.Fatalf("logout without the access token: %d", r.Code)
	}
	req := httptest.NewRequest("POST", "/v1/auth/logout", nil)
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rr := httptest.NewRecorder()
	app.handler.ServeHTTP(rr, req)
	if rr.Code != 204 || !strings.Contains(rr.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %v", rr.Code, rr.Header())
	}

	// Clients that are not browsers on the front end keep the body token.
	r = app.do("POST", "/v1/auth/login", "", creds)
	if r.Code != 200 || !strings.Contains(r.Body.String(), `"refreshToken":"rt_`) || r.Header().Get("Set-Cookie") != "" {
		t.Errorf("non-browser login: %d %s %v", r.Code, r.Body, r.Header())
	}
}
