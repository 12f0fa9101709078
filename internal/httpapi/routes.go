package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"example.com/rampart/internal/rampart"
)

// route is one row of the API surface. Every served route is registered
// from this table and described in the OpenAPI document from the same row.
type route struct {
	method  string
	path    string
	id      string // OpenAPI operationId
	summary string
	// public routes serve anyone; every other route requires a bearer
	// credential. Authenticated is the default, so a route whose author
	// forgot to decide is refused at start-up (checkRoutes), not served.
	public bool
	// action is what an authenticated caller must be allowed to do (see
	// rampart.Authorize) before the handler runs; "" on public routes.
	action rampart.Action
	// stepUp marks a sensitive route (⚑ in api.md): one that changes
	// credentials, second factors, API keys or who may act in the tenant.
	// It needs a recent password proof (rampart.Authenticator.RequireStepUp), so
	// that a stolen access token cannot be turned into lasting access. Any
	// route that changes credentials must set it.
	stepUp   bool
	body     any      // request body type, nil when the route takes none
	query    []string // query parameters a listing accepts, nil when none
	response any      // success body type, nil for an empty body
	status   int      // success status
	// errors are the problems the route answers beyond the edge's own
	// (errorStatuses): codes of the domain (byCode) or the edge's rows.
	errors  []problemKind
	handler http.Handler
	// alt is a second success answer: when the configuration picks one
	// (POST /v1/signup: 201 open, 202 verify), or the state does (accepting
	// an invitation: 201 a new account, 200 an existing one).
	alt *altResponse
}

// altResponse is a route's other success status and body.
type altResponse struct {
	status   int
	response any
}

// auth reports whether the route requires a bearer credential.
func (rt route) auth() bool { return !rt.public }

// class is the route's rate-limit class (see rateLimit). Health probes
// have none: load balancers poll them, and they cost nothing.
func (rt route) class() string {
	switch {
	case rt.path == "/v1/auth/reauthenticate":
		// A password check: the per-address sign-in budget applies, as to
		// login.
		return classAuth
	case rt.auth():
		return classAPI
	case rt.path == "/v1/invitations/accept":
		// It may hash a new password: the sign-in budget per address.
		return classAuth
	case rt.path == "/v1/signup":
		return classSignup
	case strings.HasPrefix(rt.path, "/v1/auth/"):
		return classAuth
	case rt.path == "/healthz" || rt.path == "/readyz":
		return ""
	default:
		return classPublic
	}
}

// errorStatuses lists every error a route can answer with: the ones the edge
// can produce for any request, plus the route's own. A rate-limited route
// can answer 429, and 503 when the limiter does not answer (it fails
// closed).
func (rt route) errorStatuses() []int {
	statuses := []int{probInternal.status}
	if rt.class() != "" {
		statuses = append(statuses, probRateLimited.status, probUnavailable.status)
	}
	if rt.body != nil {
		statuses = append(statuses, probMalformed.status, probTooLarge.status, probMediaType.status, probValidation.status)
	}
	if rt.auth() {
		statuses = append(statuses, probUnauthenticated.status, probForbidden.status)
	}
	if strings.Contains(rt.path, "{id}") {
		statuses = append(statuses, probNotFound.status)
	}
	if rt.query != nil {
		statuses = append(statuses, probValidation.status)
	}
	for _, pk := range rt.errors {
		statuses = append(statuses, pk.status)
	}
	slices.Sort(statuses)
	return slices.Compact(statuses)
}

// handlerDeps is what handlers share.
type handlerDeps struct {
	logger   *slog.Logger
	identity *rampart.Identity
	service  *rampart.Resources
	auth     *rampart.Authenticator
	cursors  cursorCodec
	cookie   cookieMode
	limits   RateLimits // for the per-address budget of mailing routes
}

func newHandlerDeps(opts Options) handlerDeps {
	// Route-table tests run without services.
	d := handlerDeps{logger: opts.Logger, cursors: cursorCodec{key: opts.CursorKey},
		cookie: cookieMode{enabled: opts.RefreshCookie, origins: opts.CORSOrigins, maxAge: rampart.DefaultIdentityConfig.SessionMax},
		limits: opts.RateLimits}
	if opts.Services != nil {
		d.identity, d.service, d.auth = opts.Services.Identity, opts.Services.Resources, opts.Services.Auth
	}
	return d
}

// routeTable is the entire public API on one page: each route with the
// action a caller must be allowed (rampart.Authorize) next to it. Public
// routes say so and name no action; the policy behind each action is
// the table in internal/rampart/policy.go.
func routeTable(opts Options, d handlerDeps, openAPI http.Handler) []route {
	const (
		ok, created, noContent = http.StatusOK, http.StatusCreated, http.StatusNoContent
	)
	const (
		account     = rampart.ActionAccount
		orderRead   = rampart.ActionOrderRead
		orderCreate = rampart.ActionOrderCreate
		orderUpdate = rampart.ActionOrderUpdate
		orderDelete = rampart.ActionOrderDelete
		userRead    = rampart.ActionUserRead
		userWrite   = rampart.ActionUserWrite
		apiKeys     = rampart.ActionAPIKeyManage
		auditRead   = rampart.ActionAuditRead
	)
	return []route{
		{method: "GET", path: "/healthz", id: "getHealth", public: true, summary: "The process is alive.",
			response: statusBody{}, status: ok, handler: handleHealthz()},
		{method: "GET", path: "/readyz", id: "getReadiness", public: true, summary: "The store answers; 503 when it does not.",
			response: statusBody{}, status: ok, errors: []problemKind{probUnavailable},
			handler: handleReadyz(opts.Store, opts.Degraded, opts.Logger)},
		{method: "GET", path: "/v1/openapi.json", id: "getOpenAPI", public: true, summary: "This OpenAPI 3.1 document.",
			status: ok, handler: openAPI},
		{method: "GET", path: "/.well-known/jwks.json", id: "getJWKS", public: true, summary: "Public keys that verify access tokens.",
			status: ok, handler: handleJWKS(opts.Tokens, d)},

		{method: "POST", path: "/v1/signup", id: "signup", public: true, summary: "Create a tenant and its first admin. RAMPART_SIGNUP=open: 201 (409 when the address is taken); verify: 202 whatever the address, and a link by mail completes it; closed: 403.",
			body: signupRequest{}, response: signupResponse{}, status: created, errors: byCode(rampart.CodeEmailTaken, rampart.CodeBusy, rampart.CodeSignupClosed),
			alt: &altResponse{status: http.StatusAccepted, response: acceptedResponse{}}, handler: handleSignupByMode(d)},
		{method: "POST", path: "/v1/auth/login", id: "login", public: true, summary: "Sign in with email, password and, when enabled, a TOTP or recovery code; to one of the account's tenants (default: the last used).",
			body: loginRequest{}, response: tokenResponse{}, status: ok, errors: byCode(rampart.CodeInvalidCredentials, rampart.CodeMFARequired, rampart.CodeBusy),
			handler: handleLogin(d)},
		{method: "POST", path: "/v1/auth/refresh", id: "refresh", public: true, summary: "Rotate a refresh token for a new pair; reuse revokes the session.",
			body: refreshRequest{}, response: tokenResponse{}, status: ok, errors: byCode(rampart.CodeInvalidToken, rampart.CodeTokenReused),
			handler: handleRefresh(d)},
		{method: "POST", path: "/v1/auth/reauthenticate", id: "reauthenticate", summary: "Prove the password (and TOTP when enabled) again: a new pair for the same session with a fresh auth_time (step-up).",
			action: account, body: reauthenticateRequest{}, response: tokenResponse{}, status: ok, handler: handleReauthenticate(d)},
		{method: "POST", path: "/v1/auth/switch-tenant", id: "switchTenant", summary: "Move the current session to another of the account's tenants: a new pair for that membership, same session and auth_time; the old tenant's tokens stop working. Not a member: 404.",
			action: account, body: switchTenantRequest{}, response: tokenResponse{}, status: ok, errors: []problemKind{probNotFound},
			handler: handleSwitchTenant(d)},
		{method: "POST", path: "/v1/auth/logout", id: "logout", summary: "End the current session.",
			action: account, status: noContent, handler: handleLogout(d)},

		{method: "GET", path: "/v1/me", id: "getMe", summary: "The signed-in user, and every tenant of the account.",
			action: account, response: meResponse{}, status: ok, handler: handleGetMe(d)},
		{method: "PATCH", path: "/v1/me", id: "updateMe", summary: "Change the display name.",
			action: account, body: updateMeRequest{}, response: userResponse{}, status: ok, handler: handleUpdateMe(d)},
		{method: "POST", path: "/v1/me/password", id: "changePassword", summary: "Change the password; every other session ends.",
			action: account, body: changePasswordRequest{}, status: noContent, handler: handleChangePassword(d)},
		{method: "POST", path: "/v1/me/mfa/totp", id: "enrolTOTP", summary: "Start TOTP enrolment: a secret and its otpauth URL.",
			action: account, stepUp: true, response: totpEnrolmentResponse{}, status: ok, errors: byCode(rampart.CodeMFAEnabled), handler: handleEnrolTOTP(d)},
		{method: "POST", path: "/v1/me/mfa/totp/confirm", id: "confirmTOTP", summary: "Activate TOTP with a first code; returns recovery codes once.",
			action: account, stepUp: true, body: confirmTOTPRequest{}, response: recoveryCodesResponse{}, status: ok,
			errors:  byCode(rampart.CodeMFAEnabled, rampart.CodeMFANotEnrolled),
			handler: handleConfirmTOTP(d)},
		{method: "DELETE", path: "/v1/me/mfa/totp", id: "disableTOTP", summary: "Disable TOTP with the password and a code.",
			action: account, stepUp: true, body: disableTOTPRequest{}, status: noContent, errors: byCode(rampart.CodeMFANotEnabled),
			handler: handleDisableTOTP(d)},
		{method: "GET", path: "/v1/me/sessions", id: "listSessions", summary: "The signed-in user's live sessions.",
			action: account, query: pageQuery, response: listPage[sessionResponse]{}, status: ok, handler: handleListSessions(d)},
		{method: "DELETE", path: "/v1/me/sessions/{id}", id: "revokeSession", summary: "End one of the signed-in user's sessions.",
			action: account, status: noContent, handler: handleRevokeSession(d)},

		{method: "GET", path: "/v1/orders", id: "listOrders", summary: "Orders, newest first: a member's own, or the tenant's for an admin or API key.",
			action: orderRead, query: pageQuery, response: listPage[orderResponse]{}, status: ok, handler: handleListOrders(d)},
		{method: "POST", path: "/v1/orders", id: "createOrder", summary: "Place an order; it starts pending.",
			action: orderCreate, body: createOrderRequest{}, response: orderResponse{}, status: created, handler: handleCreateOrder(d)},
		{method: "GET", path: "/v1/orders/{id}", id: "getOrder", summary: "One order: its owner's, or any of the tenant's for an admin or API key.",
			action: orderRead, response: orderResponse{}, status: ok, handler: handleGetOrder(d)},
		{method: "PATCH", path: "/v1/orders/{id}", id: "updateOrder", summary: "Change the note, or the status of a pending order: cancelled (owner or admin) or fulfilled (admin); else 409.",
			action: orderUpdate, body: updateOrderRequest{}, response: orderResponse{}, status: ok, errors: byCode(rampart.CodeOrderNotPending),
			handler: handleUpdateOrder(d)},
		{method: "DELETE", path: "/v1/orders/{id}", id: "deleteOrder", summary: "Delete an order.",
			action: orderDelete, status: noContent, handler: handleDeleteOrder(d)},

		{method: "GET", path: "/v1/users", id: "listUsers", summary: "The tenant's users, newest first.",
			action: userRead, query: pageQuery, response: listPage[userResponse]{}, status: ok, handler: handleListUsers(d)},
		{method: "POST", path: "/v1/users", id: "createUser", summary: "Invite an address into the tenant with a role: 202 with the invitation, the same whether or not the address has an account; the link goes by mail.",
			action: userWrite, stepUp: true, body: inviteRequest{}, response: invitedResponse{}, status: http.StatusAccepted,
			handler: handleInvite(d)},
		{method: "GET", path: "/v1/users/{id}", id: "getUser", summary: "One of the tenant's users.",
			action: userRead, response: userResponse{}, status: ok, handler: handleGetUser(d)},
		// A role change needs a step-up; the service decides, as only it
		// knows whether the role changes.
		{method: "PATCH", path: "/v1/users/{id}", id: "updateUser", summary: "Rename a user or change their role; a role change ends their sessions; the last admin stays (409).",
			action: userWrite, body: updateUserRequest{}, response: userResponse{}, status: ok, errors: byCode(rampart.CodeLastAdmin),
			handler: handleUpdateUser(d)},
		{method: "DELETE", path: "/v1/users/{id}", id: "deleteUser", summary: "Delete a user and their sessions; the last admin stays (409).",
			action: userWrite, stepUp: true, status: noContent, errors: byCode(rampart.CodeLastAdmin), handler: handleDeleteUser(d)},

		{method: "GET", path: "/v1/api-keys", id: "listAPIKeys", summary: "The tenant's API keys, revoked ones included; never the keys themselves.",
			action: apiKeys, query: pageQuery, response: listPage[apiKeyResponse]{}, status: ok, handler: handleListAPIKeys(d)},
		{method: "POST", path: "/v1/api-keys", id: "createAPIKey", summary: "Create an API key; the key is in this response only.",
			action: apiKeys, stepUp: true, body: createAPIKeyRequest{}, response: createdAPIKeyResponse{}, status: created,
			handler: handleCreateAPIKey(d)},
		{method: "DELETE", path: "/v1/api-keys/{id}", id: "revokeAPIKey", summary: "Revoke an API key; it stops working at once.",
			action: apiKeys, status: noContent, handler: handleRevokeAPIKey(d)},

		// Recovery and verification (recovery.go): links by mail.
		{method: "POST", path: "/v1/signup/confirm", id: "confirmSignup", public: true, summary: "Complete a signup (RAMPART_SIGNUP=verify) with the token its link carried: the account, the tenant and its admin membership, the address verified.",
			body: linkTokenRequest{}, response: signupResponse{}, status: created, errors: byCode(rampart.CodeInvalidLink, rampart.CodeSignupClosed),
			handler: handleConfirmSignup(d)},
		{method: "POST", path: "/v1/auth/password-reset", id: "requestPasswordReset", public: true, summary: "Mail a password-reset link (30 min) to the address when it has an account; the same 202 either way.",
			body: passwordResetRequest{}, response: acceptedResponse{}, status: http.StatusAccepted, handler: handlePasswordReset(d)},
		{method: "POST", path: "/v1/auth/password-reset/confirm", id: "confirmPasswordReset", public: true, summary: "Set a new password with a reset link's token (and a TOTP or recovery code when the account has TOTP); every session of the account ends.",
			body: passwordResetConfirmRequest{}, status: noContent, errors: byCode(rampart.CodeInvalidLink, rampart.CodeMFARequired, rampart.CodeLoginThrottled, rampart.CodeBusy),
			handler: handlePasswordResetConfirm(d)},
		{method: "POST", path: "/v1/auth/verify-email", id: "verifyEmail", public: true, summary: "Prove the account's address with a verification link's token.",
			body: linkTokenRequest{}, status: noContent, errors: byCode(rampart.CodeInvalidLink), handler: handleVerifyEmail(d)},
		// Invitations (internal/httpapi/invitations.go).
		{method: "GET", path: "/v1/invitations", id: "listInvitations", summary: "The tenant's pending invitations, newest first.",
			action: userWrite, query: pageQuery, response: listPage[invitationResponse]{}, status: ok, handler: handleListInvitations(d)},
		{method: "DELETE", path: "/v1/invitations/{id}", id: "revokeInvitation", summary: "Revoke a pending invitation; its link stops working at once.",
			action: userWrite, status: noContent, handler: handleRevokeInvitation(d)},
		{method: "POST", path: "/v1/invitations/accept", id: "acceptInvitation", public: true,
			summary: "Accept an invitation with its link token: 201 with a new account (password required), or 200 adding the membership to an account that exists, which must be signed in (Bearer). Any dead link, or another account's: 422 invalid-link.",
			body:    acceptInvitationRequest{}, response: acceptInvitationResponse{}, status: created,
			alt:     &altResponse{status: ok, response: acceptInvitationResponse{}},
			errors:  append(byCode(rampart.CodeInvalidLink, rampart.CodeWeakPassword, rampart.CodeBusy), probUnauthenticated, probForbidden),
			handler: handleAcceptInvitation(d)},

		{method: "GET", path: "/v1/audit-events", id: "listAuditEvents", summary: "The tenant's audit events, newest first; ?type= filters.",
			action: auditRead, query: auditQuery, response: listPage[auditEventResponse]{}, status: ok, handler: handleListAuditEvents(d)},
	}
}

// checkRoutes refuses a table that would serve a route without deciding
// who may call it: every authenticated route names an action the policy
// knows, and no public route names one.
func checkRoutes(routes []route) error {
	for _, rt := range routes {
		switch {
		case rt.auth() && !rampart.KnownAction(rt.action):
			return fmt.Errorf("httpapi: %s %s: an authenticated route must name an action of the policy", rt.method, rt.path)
		case rt.public && (rt.action != "" || rt.stepUp):
			return fmt.Errorf("httpapi: %s %s: a public route cannot name an action or need a step-up", rt.method, rt.path)
		}
	}
	return nil
}
