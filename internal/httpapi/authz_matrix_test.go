package httpapi

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"example.com/rampart/internal/rampart"
)

// The authorization matrix: every route of the table, called by every kind
// of caller, with the status each must get. The columns:
const (
	anon           = iota // no credentials
	owner                 // member of tenant A who owns the target object
	peer                  // another member of tenant A
	admin                 // admin of tenant A
	memberB               // member of tenant B
	adminB                // admin of tenant B
	keyWith               // tenant A API key with the route's scope (all scopes when none grants the route)
	keyWithout            // tenant A API key with every scope but the route's
	keyB                  // tenant B API key with every scope
	revokedKey            // tenant A API key with every scope, revoked
	revokedSession        // the owner, through a revoked session
	callers
)

var callerNames = [callers]string{"anonymous", "owner member", "peer member", "admin", "tenant B member",
	"tenant B admin", "key with scope", "key without scope", "tenant B key", "revoked key", "revoked session"}

type want [callers]int

// matrixWorld is two tenants and their callers, fresh for each route.
type matrixWorld struct {
	a                           *testApp
	tenantA                     string
	owner, peer, admin, memberB *rampart.User
	adminB, loginUser           *rampart.User
}

type matrixRow struct {
	// scope is what keyWith has and keyWithout lacks; "" when no scope
	// grants the route.
	scope string
	want  want
	// req returns the path, with any {id} filled in, and the body of one
	// call. Routes that change their target get a fresh one for each call.
	req func(w *matrixWorld) (path string, body any)
}

func fixed(path string, body any) func(*matrixWorld) (string, any) {
	return func(*matrixWorld) (string, any) { return path, body }
}

// Expected rows for the common shapes.
var (
	public = func(s int) want { return want{s, s, s, s, s, s, s, s, s, s, s} }
	// own account: any signed-in user, never an API key.
	accountRoute = func(s int) want { return want{401, s, s, s, s, s, 403, 403, 403, 401, 401} }
	// a tenant listing or creation that every user may call.
	anyUser = func(s int) want { return want{401, s, s, s, s, s, s, 403, s, 401, 401} }
	// an owned order: its owner, the tenant's admin or a key with the scope.
	ownedOrder = func(s int) want { return want{401, s, 404, s, 404, 404, s, 403, 404, 401, 401} }
	// admin or key, tenant-wide; members are refused the function.
	adminOrKey = func(s int) want { return want{401, 403, 403, s, 403, s, s, 403, s, 401, 401} }
	// one of tenant A's users: tenant B's admin and key do not find it.
	adminOrKeyObject = func(s int) want { return want{401, 403, 403, s, 403, 404, s, 403, 404, 401, 401} }
	// admin only (key management): no key, whatever its scopes. Also a
	// tenant-wide step-up route: keys are refused it (403) whatever their
	// scopes, as they have no password to prove again.
	adminOnly = func(s int) want { return want{401, 403, 403, s, 403, s, 403, 403, 403, 401, 401} }
	// a step-up route on one of tenant A's users: keys are refused before
	// the user is looked up, so tenant B's key gets 403 too.
	adminObjectStepUp = func(s int) want { return want{401, 403, 403, s, 403, 404, 403, 403, 403, 401, 401} }
)

const newPassword = "another long unusual passphrase 77"

var authzMatrix = map[string]matrixRow{
	"GET /healthz":               {want: public(200), req: fixed("/healthz", nil)},
	"GET /readyz":                {want: public(200), req: fixed("/readyz", nil)},
	"GET /v1/openapi.json":       {want: public(200), req: fixed("/v1/openapi.json", nil)},
	"GET /.well-known/jwks.json": {want: public(200), req: fixed("/.well-known/jwks.json", nil)},
	"POST /v1/signup": {want: public(201), req: func(*matrixWorld) (string, any) {
		return "/v1/signup", map[string]string{"email": "s-" + rampart.NewID() + "@example.com", "password": testPassword,
			"displayName": "New", "organization": "New Org"}
	}},
	"POST /v1/auth/login": {want: public(200), req: func(w *matrixWorld) (string, any) {
		return "/v1/auth/login", map[string]string{"email": w.loginUser.Email, "password": testPassword}
	}},
	"POST /v1/auth/refresh": {want: public(200), req: func(w *matrixWorld) (string, any) {
		_, _, refresh := w.a.newSession(w.loginUser)
		return "/v1/auth/refresh", map[string]string{"refreshToken": refresh}
	}},

	// Recovery routes are public: whoever calls, the same answer (a link
	// that is no token is the one invalid-link 422).
	"POST /v1/auth/password-reset": {want: public(202), req: func(w *matrixWorld) (string, any) {
		return "/v1/auth/password-reset", map[string]string{"email": w.loginUser.Email}
	}},
	"POST /v1/auth/password-reset/confirm": {want: public(422),
		req: fixed("/v1/auth/password-reset/confirm", map[string]string{"token": "rpl_not-a-token", "newPassword": newPassword})},
	"POST /v1/auth/verify-email": {want: public(422), req: fixed("/v1/auth/verify-email", map[string]string{"token": "rpl_not-a-token"})},
	"POST /v1/signup/confirm":    {want: public(422), req: fixed("/v1/signup/confirm", map[string]string{"token": "rpl_not-a-token"})},

	"POST /v1/auth/logout": {want: accountRoute(204), req: fixed("/v1/auth/logout", nil)},
	"POST /v1/auth/reauthenticate": {want: accountRoute(200),
		req: fixed("/v1/auth/reauthenticate", map[string]string{"password": testPassword})},
	// Into tenant A: its members may (a switch to the tenant they are in
	// rotates the pair); tenant B's people are no members of A (404, as
	// for a tenant that does not exist); keys are no person (403).
	"POST /v1/auth/switch-tenant": {want: want{401, 200, 200, 200, 404, 404, 403, 403, 403, 401, 401},
		req: func(w *matrixWorld) (string, any) {
			return "/v1/auth/switch-tenant", map[string]string{"tenant": w.tenantA}
		}},
	"GET /v1/me":           {want: accountRoute(200), req: fixed("/v1/me", nil)},
	"PATCH /v1/me":         {want: accountRoute(200), req: fixed("/v1/me", map[string]string{"displayName": "Renamed"})},
	"POST /v1/me/password": {want: accountRoute(204), req: fixed("/v1/me/password", map[string]string{"currentPassword": testPassword, "newPassword": newPassword})},
	"POST /v1/me/mfa/totp": {want: accountRoute(200), req: fixed("/v1/me/mfa/totp", nil)},
	"GET /v1/me/sessions":  {want: accountRoute(200), req: fixed("/v1/me/sessions", nil)},
	"DELETE /v1/me/mfa/totp": {want: accountRoute(409), // reached the service: TOTP is not enabled
		req: fixed("/v1/me/mfa/totp", map[string]string{"password": testPassword, "code": "123456"})},
	"POST /v1/me/mfa/totp/confirm": {want: accountRoute(409), // reached the service: no enrolment to confirm
		req: fixed("/v1/me/mfa/totp/confirm", map[string]string{"code": "123456"})},
	"DELETE /v1/me/sessions/{id}": {want: want{401, 204, 404, 404, 404, 404, 403, 403, 403, 401, 401},
		req: func(w *matrixWorld) (string, any) {
			id, _, _ := w.a.newSession(w.owner)
			return "/v1/me/sessions/" + id, nil
		}},

	"GET /v1/orders": {scope: rampart.ScopeOrdersRead, want: anyUser(200), req: fixed("/v1/orders", nil)},
	"POST /v1/orders": {scope: rampart.ScopeOrdersWrite, want: anyUser(201),
		req: fixed("/v1/orders", map[string]any{"items": []map[string]any{{"sku": "A-1", "quantity": 2}}})},
	"GET /v1/orders/{id}": {scope: rampart.ScopeOrdersRead, want: ownedOrder(200), req: func(w *matrixWorld) (string, any) {
		return "/v1/orders/" + w.a.newOrder(w.owner).ID, nil
	}},
	"PATCH /v1/orders/{id}": {scope: rampart.ScopeOrdersWrite, want: ownedOrder(200), req: func(w *matrixWorld) (string, any) {
		return "/v1/orders/" + w.a.newOrder(w.owner).ID, map[string]string{"note": "leave at the door"}
	}},
	"DELETE /v1/orders/{id}": {scope: rampart.ScopeOrdersWrite, want: ownedOrder(204), req: func(w *matrixWorld) (string, any) {
		return "/v1/orders/" + w.a.newOrder(w.owner).ID, nil
	}},

	"GET /v1/users": {scope: rampart.ScopeUsersRead, want: adminOrKey(200), req: fixed("/v1/users", nil)},
	"POST /v1/users": {scope: rampart.ScopeUsersWrite, want: adminOnly(202), req: func(*matrixWorld) (string, any) {
		return "/v1/users", map[string]string{"email": "n-" + rampart.NewID() + "@example.com",
			"displayName": "Newcomer", "role": "member"}
	}},
	"GET /v1/invitations": {scope: rampart.ScopeUsersWrite, want: adminOrKey(200), req: fixed("/v1/invitations", nil)},
	"DELETE /v1/invitations/{id}": {scope: rampart.ScopeUsersWrite, want: adminOrKeyObject(204), req: func(w *matrixWorld) (string, any) {
		return "/v1/invitations/" + w.invitation().id, nil
	}},
	// Public, with whatever credential the caller sends: a link for a new
	// address is no signed-in account's (422 invalid-link), an API key is
	// no person (403), a refused credential is 401 before the link is read.
	"POST /v1/invitations/accept": {want: want{201, 422, 422, 422, 422, 422, 403, 403, 403, 401, 401},
		req: func(w *matrixWorld) (string, any) {
			return "/v1/invitations/accept", map[string]string{"token": w.invitation().token, "password": testPassword}
		}},
	"GET /v1/users/{id}": {scope: rampart.ScopeUsersRead, want: adminOrKeyObject(200), req: func(w *matrixWorld) (string, any) {
		return "/v1/users/" + w.peer.ID, nil
	}},
	"PATCH /v1/users/{id}": {scope: rampart.ScopeUsersWrite, want: adminOrKeyObject(200), req: func(w *matrixWorld) (string, any) {
		return "/v1/users/" + w.a.newUser(w.tenantA, rampart.RoleMember).ID, map[string]string{"displayName": "Renamed"}
	}},
	"DELETE /v1/users/{id}": {scope: rampart.ScopeUsersWrite, want: adminObjectStepUp(204), req: func(w *matrixWorld) (string, any) {
		return "/v1/users/" + w.a.newUser(w.tenantA, rampart.RoleMember).ID, nil
	}},

	"GET /v1/api-keys": {want: adminOnly(200), req: fixed("/v1/api-keys", nil)},
	"POST /v1/api-keys": {want: adminOnly(201),
		req: fixed("/v1/api-keys", map[string]any{"name": "CI", "scopes": []string{"orders:read"}})},
	"DELETE /v1/api-keys/{id}": {want: want{401, 403, 403, 204, 403, 404, 403, 403, 403, 401, 401},
		req: func(w *matrixWorld) (string, any) {
			k, _ := w.a.newAPIKey(w.admin, rampart.ScopeOrdersRead)
			return "/v1/api-keys/" + k.ID, nil
		}},

	"GET /v1/audit-events": {scope: rampart.ScopeAuditRead, want: adminOrKey(200), req: fixed("/v1/audit-events", nil)},
}

func TestAuthorizationMatrix(t *testing.T) {
	var table []string
	for _, rt := range bareRouteTable() {
		key := rt.method + " " + rt.path
		table = append(table, key)
		if _, ok := authzMatrix[key]; !ok {
			t.Errorf("%s is in the route table but not in the authorization matrix", key)
		}
	}
	for key := range authzMatrix {
		if !slices.Contains(table, key) {
			t.Errorf("%s is in the authorization matrix but not in the route table", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	a := newTestApp(t)
	for _, key := range table {
		row := authzMatrix[key]
		method, _, _ := strings.Cut(key, " ")
		t.Run(key, func(t *testing.T) {
			w := newMatrixWorld(a)
			bearer := w.credentials(row.scope)
			for c := range callers {
				path, body := row.req(w)
				r := a.do(method, path, bearer[c](), body)
				if r.Code != row.want[c] {
					t.Errorf("%s: %d, want %d: %s", callerNames[c], r.Code, row.want[c], r.Body)
				}
				if r.Code == 401 && r.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without WWW-Authenticate", callerNames[c])
				}
			}
		})
	}
}

func newMatrixWorld(a *testApp) *matrixWorld {
	w := &matrixWorld{a: a}
	w.tenantA, w.admin = a.newTenant()
	w.owner = a.newUser(w.tenantA, rampart.RoleMember)
	w.peer = a.newUser(w.tenantA, rampart.RoleMember)
	w.loginUser = a.newUser(w.tenantA, rampart.RoleMember)
	var tenantB string
	tenantB, w.adminB = a.newTenant()
	w.memberB = a.newUser(tenantB, rampart.RoleMember)
	return w
}

// credentials returns, for each caller, how to get its bearer credential
// for one call: users get a fresh session each time, so that a call that
// ends its session (logout, a password change) does not spoil the next.
func (w *matrixWorld) credentials(scope string) [callers]func() string {
	a := w.a
	var without []string
	for _, s := range rampart.Scopes() {
		if s != scope {
			without = append(without, s)
		}
	}
	with := []string{scope}
	if scope == "" {
		with = rampart.Scopes()
	}
	_, keyWithText := a.newAPIKey(w.admin, with...)
	_, keyWithoutText := a.newAPIKey(w.admin, without...)
	_, keyBText := a.newAPIKey(w.adminB, rampart.Scopes()...)
	revoked, revokedText := a.newAPIKey(w.admin, rampart.Scopes()...)
	if err := a.service().RevokeAPIKey(a.t.Context(), rampart.RequestMeta{}, a.userPrincipal(w.admin), revoked.ID); err != nil {
		a.t.Fatal(err)
	}
	session := func(u *rampart.User) func() string { return func() string { return a.token(u) } }
	text := func(s string) func() string { return func() string { return s } }
	return [callers]func() string{
		anon:           text(""),
		owner:          session(w.owner),
		peer:           session(w.peer),
		admin:          session(w.admin),
		memberB:        session(w.memberB),
		adminB:         session(w.adminB),
		keyWith:        text(keyWithText),
		keyWithout:     text(keyWithoutText),
		keyB:           text(keyBText),
		revokedKey:     text(revokedText),
		revokedSession: func() string { return a.revokedToken(w.owner) },
	}
}

// bareRouteTable is the route table without an identity service, for
// tests that look at the table itself.
func bareRouteTable() []route {
	opts := Options{Store: &fakePinger{}}
	return routeTable(opts, newHandlerDeps(opts), http.NotFoundHandler())
}

// TestEveryRouteDecidesWhoMayCall: a table with a route that requires a
// credential but names no action, or an action the policy does not know, or
// a public route that names one, does not start. A route is authenticated
// unless it says it is public, so a forgotten decision fails closed.
func TestEveryRouteDecidesWhoMayCall(t *testing.T) {
	if err := checkRoutes(bareRouteTable()); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []route{
		{method: "GET", path: "/v1/secret"},
		{method: "GET", path: "/v1/secret", action: "secret.read"},
		{method: "GET", path: "/v1/secret", public: true, action: rampart.ActionOrderRead},
		{method: "POST", path: "/v1/secret", public: true, stepUp: true},
	} {
		if err := checkRoutes([]route{bad}); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

// TestScopeEnumMatchesDomain keeps the request schema's list of scopes
// equal to the domain's.
func TestScopeEnumMatchesDomain(t *testing.T) {
	for _, f := range describe(reflect.TypeFor[createAPIKeyRequest]()).fields {
		if f.name == "scopes" && !slices.Equal(f.rule.items.enum, rampart.Scopes()) {
			t.Errorf("scopes enum %v, domain %v", f.rule.items.enum, rampart.Scopes())
		}
	}
}

// invitation invites a new address into tenant A and returns the
// invitation's id and the link token its mail carries.
func (w *matrixWorld) invitation() (inv struct{ id, token string }) {
	email := "i-" + rampart.NewID() + "@example.com"
	got, err := w.a.service().Invite(w.a.t.Context(), rampart.RequestMeta{}, w.a.userPrincipal(w.admin),
		rampart.InviteInput{Email: email, Role: rampart.RoleMember})
	if err != nil {
		w.a.t.Fatal(err)
	}
	inv.id, inv.token = got.ID, w.a.mailedLink(email)
	return inv
}
