package httpapi

import (
	"log/slog"
	"net/http"
	"slices"

	"example.com/rampart/internal/rampart"
)

// route is one row of the API surface. Every served route is registered
// from this table and described in the OpenAPI document from the same row.
type route struct {
	method   string
	path     string
	id       string // OpenAPI operationId
	summary  string
	auth     bool // requires a bearer credential
	body     any  // request body type, nil when the route takes none
	response any  // success body type, nil for an empty body
	status   int  // success status
	errors   []int
	handler  http.Handler
}

// errorStatuses lists every error a route can answer with: the ones the edge
// can produce for any request, plus the route's own.
func (rt route) errorStatuses() []int {
	statuses := []int{http.StatusTooManyRequests, http.StatusInternalServerError}
	if rt.body != nil {
		statuses = append(statuses, http.StatusBadRequest, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if rt.auth {
		statuses = append(statuses, http.StatusUnauthorized, http.StatusForbidden)
	}
	statuses = append(statuses, rt.errors...)
	slices.Sort(statuses)
	return slices.Compact(statuses)
}

// handlerDeps is what handlers share.
type handlerDeps struct {
	logger   *slog.Logger
	identity *rampart.Identity
	cursors  cursorCodec
}

func newHandlerDeps(opts Options) handlerDeps {
	return handlerDeps{logger: opts.Logger, identity: opts.Identity, cursors: cursorCodec{key: opts.CursorKey}}
}

// routeTable is the entire public API on one page.
func routeTable(opts Options, openAPI http.Handler) []route {
	d := newHandlerDeps(opts)
	const (
		ok, created, noContent = http.StatusOK, http.StatusCreated, http.StatusNoContent
	)
	return []route{
		{method: "GET", path: "/healthz", id: "getHealth", summary: "The process is alive.",
			response: statusBody{}, status: ok, handler: handleHealthz()},
		{method: "GET", path: "/readyz", id: "getReadiness", summary: "The store answers; 503 when it does not.",
			response: statusBody{}, status: ok, errors: []int{http.StatusServiceUnavailable},
			handler: handleReadyz(opts.Store, opts.Logger)},
		{method: "GET", path: "/v1/openapi.json", id: "getOpenAPI", summary: "This OpenAPI 3.1 document.",
			status: ok, handler: openAPI},
		{method: "GET", path: "/.well-known/jwks.json", id: "getJWKS", summary: "Public keys that verify access tokens.",
			status: ok, handler: handleJWKS(opts.Tokens, d)},

		{method: "POST", path: "/v1/signup", id: "signup", summary: "Create a tenant and its first admin.",
			body: signupRequest{}, response: signupResponse{}, status: created, errors: []int{http.StatusConflict, http.StatusServiceUnavailable},
			handler: handleSignup(d)},
		{method: "POST", path: "/v1/auth/login", id: "login", summary: "Sign in with email, password and, when enabled, a TOTP or recovery code.",
			body: loginRequest{}, response: tokenResponse{}, status: ok, errors: []int{http.StatusUnauthorized, http.StatusServiceUnavailable},
			handler: handleLogin(d)},
		{method: "POST", path: "/v1/auth/refresh", id: "refresh", summary: "Rotate a refresh token for a new pair; reuse revokes the session.",
			body: refreshRequest{}, response: tokenResponse{}, status: ok, errors: []int{http.StatusUnauthorized},
			handler: handleRefresh(d)},
		{method: "POST", path: "/v1/auth/logout", id: "logout", summary: "End the current session.",
			auth: true, status: noContent, handler: handleLogout(d)},

		{method: "GET", path: "/v1/me", id: "getMe", summary: "The signed-in user.",
			auth: true, response: userResponse{}, status: ok, handler: handleGetMe(d)},
		{method: "PATCH", path: "/v1/me", id: "updateMe", summary: "Change the display name.",
			auth: true, body: updateMeRequest{}, response: userResponse{}, status: ok, handler: handleUpdateMe(d)},
		{method: "POST", path: "/v1/me/password", id: "changePassword", summary: "Change the password; every other session ends.",
			auth: true, body: changePasswordRequest{}, status: noContent, handler: handleChangePassword(d)},
		{method: "POST", path: "/v1/me/mfa/totp", id: "enrolTOTP", summary: "Start TOTP enrolment: a secret and its otpauth URL.",
			auth: true, response: totpEnrolmentResponse{}, status: ok, errors: []int{http.StatusConflict}, handler: handleEnrolTOTP(d)},
		{method: "POST", path: "/v1/me/mfa/totp/confirm", id: "confirmTOTP", summary: "Activate TOTP with a first code; returns recovery codes once.",
			auth: true, body: confirmTOTPRequest{}, response: recoveryCodesResponse{}, status: ok, errors: []int{http.StatusConflict},
			handler: handleConfirmTOTP(d)},
		{method: "DELETE", path: "/v1/me/mfa/totp", id: "disableTOTP", summary: "Disable TOTP with the password and a code.",
			auth: true, body: disableTOTPRequest{}, status: noContent, errors: []int{http.StatusConflict}, handler: handleDisableTOTP(d)},
		{method: "GET", path: "/v1/me/sessions", id: "listSessions", summary: "The signed-in user's live sessions.",
			auth: true, response: sessionList{}, status: ok, handler: handleListSessions(d)},
		{method: "DELETE", path: "/v1/me/sessions/{id}", id: "revokeSession", summary: "End one of the signed-in user's sessions.",
			auth: true, status: noContent, errors: []int{http.StatusNotFound}, handler: handleRevokeSession(d)},
	}
}
