package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"example.com/rampart/internal/rampart"
)

// Tests for the security-event stream as the server produces it: each
// refusal the edge answers and each sensitive change the domain makes is
// one "security event" log line (internal/secevents) with the source, the
// route pattern, the request id and, when known, the account and tenant.

// securityEvents returns the security-event log lines written so far.
func (a *testApp) securityEvents() []map[string]any {
	a.t.Helper()
	var out []map[string]any
	for line := range strings.Lines(a.logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			a.t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "security event" {
			out = append(out, m)
		}
	}
	return out
}

// oneEvent fails unless exactly one security event was logged, and
// returns it.
func (a *testApp) oneEvent() map[string]any {
	a.t.Helper()
	events := a.securityEvents()
	if len(events) != 1 {
		a.t.Fatalf("want one security event, got %d: %v", len(events), events)
	}
	return events[0]
}

// eventCount is rampart_security_events_total{type=typ} in a's registry.
func (a *testApp) eventCount(typ rampart.SecurityEventType) float64 {
	a.t.Helper()
	families, err := a.registry.Gather()
	if err != nil {
		a.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "rampart_security_events_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == string(typ) {
				return m.GetCounter().GetValue()
			}
		}
	}
	a.t.Fatalf("no series for %s", typ)
	return 0
}

func wantEvent(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (event %v)", k, got[k], v, got)
		}
	}
}

// A forged bearer token is one auth_failure with the client's address and
// the route pattern, counted by type; the token itself is in no log line.
func TestSecurityEventForgedToken(t *testing.T) {
	a := newTestApp(t)
	const canary = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJDQU5BUlkifQ.CANARY-forged-signature"
	r := a.do("GET", "/v1/orders", canary, nil)
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("forged token: %d %s", r.Code, r.Body)
	}
	wantEvent(t, a.oneEvent(), map[string]any{"type": "auth_failure", "source": "192.0.2.1", // httptest's client
		"route": "GET /v1/orders", "status": 401.0, "request_id": r.Header().Get("X-Request-Id"),
		"account": "", "tenant": "", "detail": "invalid-token"})
	if got := a.eventCount(rampart.EventAuthFailure); got != 1 {
		t.Errorf("rampart_security_events_total{type=auth_failure} = %v, want 1", got)
	}
	if strings.Contains(a.logs.String(), "CANARY") {
		t.Errorf("the token reached the log:\n%s", a.logs)
	}
}

// A wrong password is one auth_failure naming the account (password
// spraying is one account from many sources); an unknown email is one
// with no account. Neither line holds the email or the password tried.
func TestSecurityEventWrongPassword(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	const canary = "CANARY-password-guess-7"
	r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": admin.Email, "password": canary})
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s", r.Code, r.Body)
	}
	wantEvent(t, a.oneEvent(), map[string]any{"type": "auth_failure", "account": admin.ID, "tenant": tenant,
		"source": "192.0.2.1", "route": "POST /v1/auth/login", "request_id": r.Header().Get("X-Request-Id")})
	r = a.do("POST", "/v1/auth/login", "", map[string]string{"email": "canary-nobody@example.com", "password": canary})
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("unknown email: %d %s", r.Code, r.Body)
	}
	events := a.securityEvents()
	if len(events) != 2 {
		t.Fatalf("want two events, got %v", events)
	}
	wantEvent(t, events[1], map[string]any{"type": "auth_failure", "account": "", "tenant": "", "detail": "unknown account"})
	if a.eventCount(rampart.EventAuthFailure) != 2 {
		t.Errorf("auth_failure counted %v, want 2", a.eventCount(rampart.EventAuthFailure))
	}
	logs := strings.ToLower(a.logs.String())
	for _, leak := range []string{"canary", strings.ToLower(admin.Email)} {
		if strings.Contains(logs, leak) {
			t.Errorf("%q reached the log", leak)
		}
	}
}

// Reading another tenant's order is a not_found that names who asked, so
// a sweep over other tenants' ids can be told apart from a typo.
func TestSecurityEventCrossTenantRead(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		a := newTestAppWith(t, cfg)
		_, adminA := a.newTenant()
		order := a.newOrder(adminA)
		tenantB, adminB := a.newTenant()
		r := a.do("GET", "/v1/orders/"+order.ID, a.token(adminB), nil)
		if r.Code != http.StatusNotFound {
			t.Fatalf("cross-tenant read: %d %s", r.Code, r.Body)
		}
		wantEvent(t, a.oneEvent(), map[string]any{"type": "not_found", "route": "GET /v1/orders/{id}",
			"account": adminB.ID, "tenant": tenantB, "status": 404.0})
		// A path that names no route is noise, not a probe of ids.
		a.do("GET", "/v1/no-such-thing/"+order.ID, a.token(adminB), nil)
		if n := len(a.securityEvents()); n != 1 {
			t.Errorf("an unknown path recorded an event: %d events", n)
		}
	})
}

// A malformed body is a validation event; an unsupported media type too.
func TestSecurityEventMalformedBody(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	r := a.do("POST", "/v1/orders", a.token(admin), `{"items": [`)
	if r.Code != http.StatusBadRequest {
		t.Fatalf("malformed body: %d %s", r.Code, r.Body)
	}
	wantEvent(t, a.oneEvent(), map[string]any{"type": "validation", "route": "POST /v1/orders",
		"account": admin.ID, "tenant": tenant, "status": 400.0, "detail": "malformed-request"})
	if got := a.eventCount(rampart.EventValidation); got != 1 {
		t.Errorf("validation counted %v, want 1", got)
	}
}

// A rotated refresh token presented again is refresh_reuse, recorded by the
// domain with the session's account and tenant, besides the edge's
// refresh_failure for the 401; neither line carries the token.
func TestSecurityEventRefreshReuse(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		a := newTestAppWith(t, cfg)
		tenant, admin := a.newTenant()
		_, _, refresh := a.newSession(admin)
		if r := a.refresh(refresh); r.Code != http.StatusOK {
			t.Fatalf("first refresh: %d %s", r.Code, r.Body)
		}
		r := a.refresh(refresh)
		if r.Code != http.StatusUnauthorized || r.problemType() != "refresh-token-reused" {
			t.Fatalf("reuse: %d %s", r.Code, r.Body)
		}
		byType := map[string]map[string]any{}
		for _, e := range a.securityEvents() {
			byType[e["type"].(string)] = e
		}
		if len(byType) != 2 {
			t.Fatalf("want refresh_reuse and refresh_failure, got %v", byType)
		}
		reqID := r.Header().Get("X-Request-Id")
		wantEvent(t, byType["refresh_reuse"], map[string]any{"account": admin.ID, "tenant": tenant,
			"route": "POST /v1/auth/refresh", "source": "192.0.2.1", "request_id": reqID})
		wantEvent(t, byType["refresh_failure"], map[string]any{"route": "POST /v1/auth/refresh", "status": 401.0,
			"detail": "refresh-token-reused", "request_id": reqID})
		if strings.Contains(a.logs.String(), strings.TrimPrefix(refresh, "rt_")) {
			t.Errorf("the refresh token reached the log")
		}
	})
}

// The domain records privilege changes and administrators' actions once
// they are committed, and nothing for a change it refused.
func TestSecurityEventDomainChanges(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	meta := rampart.RequestMeta{SourceIP: "198.51.100.4", RequestID: "req-1", Route: "POST /v1/api-keys"}
	p := a.userPrincipal(admin)
	key, text, err := a.service().CreateAPIKey(t.Context(), meta, p,
		rampart.APIKeyInput{Name: "ci", Scopes: []string{rampart.ScopeOrdersRead}})
	if err != nil {
		t.Fatal(err)
	}
	wantEvent(t, a.oneEvent(), map[string]any{"type": "privilege_change", "account": admin.ID, "tenant": tenant,
		"source": "198.51.100.4", "request_id": "req-1", "route": "POST /v1/api-keys", "detail": "API key created"})
	if err := a.service().RevokeAPIKey(t.Context(), meta, p, key.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.service().DeleteUser(t.Context(), meta, p, admin.ID); rampart.ErrorKind(err) != rampart.KindConflict {
		t.Fatalf("deleting the last admin: %v", err) // refused: no admin_action for it
	}
	if _, err := a.service().Invite(t.Context(), meta, p, rampart.InviteInput{Email: "new@example.com",
		DisplayName: "New", Role: rampart.RoleMember}); err != nil {
		t.Fatal(err)
	}
	user, _, err := a.identity.AcceptInvitation(t.Context(), meta, nil, rampart.AcceptInvitationInput{
		Token: a.mailedLink("new@example.com"), Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	admins := rampart.RoleAdmin
	if _, err := a.service().UpdateUser(t.Context(), meta, p, user.ID, rampart.UserUpdate{Role: &admins}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range a.securityEvents() {
		got = append(got, e["type"].(string)+": "+e["detail"].(string))
	}
	want := []string{"privilege_change: API key created", "admin_action: API key revoked",
		"admin_action: user invited", "admin_action: invitation accepted", "privilege_change: role changed"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(a.logs.String(), text) || strings.Contains(a.logs.String(), "new@example.com") {
		t.Errorf("a key or an email reached the log")
	}
}

// eventFor is the one table from answer to event type.
func TestEventForAnswers(t *testing.T) {
	for _, c := range []struct {
		pk    problemKind
		route string
		want  rampart.SecurityEventType
	}{
		{probUnauthenticated, "GET /v1/orders", rampart.EventAuthFailure},
		{codeProblems[rampart.CodeInvalidCredentials], "POST /v1/auth/login", ""}, // the domain's (TestSecurityEventWrongPassword)
		{codeProblems[rampart.CodeInvalidToken], refreshRoute, rampart.EventRefreshFailure},
		{codeProblems[rampart.CodeStepUpRequired], "PATCH /v1/users/{id}", rampart.EventStepUpRefused},
		{codeProblems[rampart.CodeMFARequired], "POST /v1/auth/login", ""},
		{probForbidden, "GET /v1/users", rampart.EventForbidden},
		{codeProblems[rampart.CodeOwnRole], "PATCH /v1/users/{id}", rampart.EventForbidden},
		{probNotFound, "GET /v1/orders/{id}", rampart.EventNotFoundTenant},
		{probNotFound, "", ""},
		{probMalformed, "POST /v1/orders", rampart.EventValidation},
		{probTooLarge, "", rampart.EventValidation},
		{probMediaType, "", rampart.EventValidation},
		{probValidation, "POST /v1/signup", rampart.EventValidation},
		{probRateLimited, "GET /v1/orders", rampart.EventRateLimited},
		{probSourceBlocked, "POST /v1/auth/login", ""},
		{codeProblems[rampart.CodeLoginThrottled], "POST /v1/auth/login", rampart.EventLockout},
		{probConflict, "POST /v1/signup", ""},
		{probInternal, "GET /v1/orders", ""},
		{probUnavailable, "POST /v1/auth/login", ""},
		{probMethod, "", ""},
	} {
		got, ok := eventFor(c.pk, c.route)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("%s on %q: %q %v, want %q", c.pk.slug, c.route, got, ok, c.want)
		}
	}
}
