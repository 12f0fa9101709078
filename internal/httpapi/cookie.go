package httpapi

import (
	"net/http"
	"slices"
	"time"

	"example.com/rampart/internal/rampart"
)

// Browser clients may keep the refresh token out of reach of JavaScript:
// with RefreshCookie on, a sign-in or refresh that comes from an
// allowlisted Origin (a browser on the configured front end) gets the
// refresh token in a cookie instead of the response body, and the cookie
// stands in for the body's refreshToken on /v1/auth/refresh.
//
// The cookie is __Host- prefixed, so browsers accept it only when Secure,
// with Path=/ and no Domain: no sibling subdomain can set or shadow it.
// The prefix forbids any other Path, so the cookie cannot be scoped to
// /v1/auth (RFC 6265bis §4.1.3.2); the server reads it on the two routes
// that need it and nowhere else. SameSite=Strict keeps it off cross-site
// requests, and a state change made with the cookie also needs an
// allowlisted Origin, which a cross-site form or script cannot forge.
const refreshCookieName = "__Host-rampart_refresh"

type cookieMode struct {
	enabled bool
	origins []string
	maxAge  time.Duration
}

// applies reports whether r is a browser request from the front end that
// should get, or may use, the refresh cookie.
func (c cookieMode) applies(r *http.Request) bool {
	return c.enabled && slices.Contains(c.origins, r.Header.Get("Origin"))
}

// refused reports whether r carries the refresh cookie without an
// allowlisted Origin: a possible cross-site request forgery.
func (c cookieMode) refused(r *http.Request) bool {
	_, err := r.Cookie(refreshCookieName)
	return c.enabled && err == nil && !c.applies(r)
}

func (c cookieMode) set(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: refreshCookieName, Value: token, Path: "/",
		MaxAge: int(c.maxAge / time.Second), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func (c cookieMode) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: refreshCookieName, Value: "", Path: "/",
		MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// writeTokens answers a sign-in or refresh: the pair in the body, or, in
// cookie mode, the refresh token in the cookie and the rest in the body.
func (c cookieMode) writeTokens(w http.ResponseWriter, r *http.Request, t *rampart.Tokens) {
	out := newTokenResponse(t)
	if c.applies(r) {
		c.set(w, t.RefreshToken)
		out.RefreshToken = ""
	}
	writeJSON(w, http.StatusOK, out)
}

// refreshToken picks the token a refresh request presents: the body's,
// else, in cookie mode, the cookie's.
func (c cookieMode) refreshToken(r *http.Request, body *string) string {
	if body != nil {
		return *body
	}
	if ck, err := r.Cookie(refreshCookieName); err == nil && c.applies(r) {
		return ck.Value
	}
	return ""
}
