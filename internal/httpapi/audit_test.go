package httpapi

import (
	"encoding/json/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func TestAuditEvents(t *testing.T) {
	a := newTestApp(t)
	// Events are listed by time, newest first; the steps keep them apart.
	step := func() { a.clock.Advance(time.Second) }
	su := a.signup("audit@example.com")
	step()
	adminTok := a.login("audit@example.com", testPassword).AccessToken

	step()
	a.invite(adminTok, "m@example.com", "member")
	step()
	var accepted acceptInvitationResponse
	a.accept("", map[string]string{"token": a.mailedLink("m@example.com"), "password": testPassword,
		"displayName": "Member"}).json(t, &accepted)
	member := accepted.User
	step()
	a.do("PATCH", "/v1/users/"+member.ID, adminTok, map[string]string{"role": "admin"})
	step()
	a.do("PATCH", "/v1/users/"+member.ID, adminTok, map[string]string{"role": "member"})
	step()
	var key createdAPIKeyResponse
	a.do("POST", "/v1/api-keys", adminTok, map[string]any{"name": "auditor", "scopes": []string{"audit:read"}}).json(t, &key)
	step()
	var order orderResponse
	a.do("POST", "/v1/orders", adminTok, `{"items":[{"sku":"A-1","quantity":1}]}`).json(t, &order)
	step()
	a.do("PATCH", "/v1/orders/"+order.ID, adminTok, map[string]string{"note": "not audited"})
	a.do("DELETE", "/v1/orders/"+order.ID, adminTok, nil)
	step()
	a.do("DELETE", "/v1/users/"+member.ID, adminTok, nil)

	r := a.do("GET", "/v1/audit-events", key.Key, nil)
	if r.Code != 200 {
		t.Fatalf("list: %d %s", r.Code, r.Body)
	}
	var list listPage[auditEventResponse]
	r.json(t, &list)
	var types []string
	for _, e := range list.Items {
		types = append(types, e.Type)
	}
	want := []string{"user.deleted", "order.deleted", "order.created", "apikey.created", "user.role_changed", "user.role_changed",
		"invitation.accepted", "user.invited", "user.login", "user.signup"}
	if !slices.Equal(types, want) {
		t.Fatalf("types, newest first: %v, want %v", types, want)
	}
	demoted := list.Items[4]
	if demoted.Seq != 6 || demoted.ActorID != su.UserID || demoted.Target != member.ID || demoted.SourceIP == "" ||
		demoted.RequestID == "" || string(demoted.Details) != `{"from":"admin","to":"member"}` || demoted.Time.IsZero() {
		t.Errorf("role change event %+v", demoted)
	}
	if d := list.Items[1]; d.Target != order.ID || !strings.Contains(string(d.Details), su.UserID) {
		t.Errorf("order deletion event %+v", d)
	}
	// Exactly the documented fields, and never a secret or a hash.
	var raw struct {
		Items []map[string]any `json:"items"`
	}
	r.json(t, &raw)
	for _, item := range raw.Items {
		keys := make([]string, 0, len(item))
		for k := range item {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"actorId", "details", "id", "requestId", "seq", "sourceIp", "target", "time", "type"}) {
			t.Fatalf("event fields %v", keys)
		}
	}
	for _, secret := range []string{testPassword, key.Key, key.Key[len(key.Key)-59:], "hash", "argon2", "rt_"} {
		if strings.Contains(r.Body.String(), secret) {
			t.Errorf("the audit log shows %q", secret)
		}
	}

	// The filter, and pages bound to it.
	var roles listPage[auditEventResponse]
	a.do("GET", "/v1/audit-events?type=user.role_changed&limit=1", adminTok, nil).json(t, &roles)
	if len(roles.Items) != 1 || roles.Items[0].Type != "user.role_changed" || roles.NextCursor == "" {
		t.Fatalf("filtered page 1: %+v", roles)
	}
	var page2 listPage[auditEventResponse]
	a.do("GET", "/v1/audit-events?type=user.role_changed&limit=1&cursor="+roles.NextCursor, adminTok, nil).json(t, &page2)
	if len(page2.Items) != 1 || page2.Items[0].Seq != 5 || page2.NextCursor != "" {
		t.Errorf("filtered page 2: %+v", page2)
	}
	for _, q := range []string{
		"?cursor=" + roles.NextCursor,                 // the cursor of another filter
		"?type=user.login&cursor=" + roles.NextCursor, // likewise
		"?type=",                             // an empty filter
		"?type=User.Login",                   // not an event type
		"?type=" + strings.Repeat("a", 65),   // too long
		"?type=user.login&type=user.signup",  // repeated
		"?type=user.login%27%20OR%201%3D1--", // SQL in a filter is just a bad value
		"?tenant_id=" + rampart.NewID(),      // unknown parameter
	} {
		if r := a.do("GET", "/v1/audit-events"+q, adminTok, nil); r.Code != 422 {
			t.Errorf("%s: %d, want 422", q, r.Code)
		}
	}
	// The API offers no way to change the audit log.
	for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if r := a.do(method, "/v1/audit-events", adminTok, nil); r.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s /v1/audit-events: %d, want 405", method, r.Code)
		}
	}

	// Another tenant's admin sees their own events only.
	other := a.signup("other-audit@example.com")
	var theirs listPage[auditEventResponse]
	a.do("GET", "/v1/audit-events?limit=100", a.login("other-audit@example.com", testPassword).AccessToken, nil).json(t, &theirs)
	if len(theirs.Items) != 2 {
		t.Errorf("the other tenant sees %d events, want their signup and login", len(theirs.Items))
	}
	for _, e := range theirs.Items {
		if e.ActorID != other.UserID {
			t.Errorf("the other tenant sees event %+v", e)
		}
	}

	// Everything above left an intact chain.
	report, err := rampart.VerifyAuditChain(t.Context(), a.store, su.TenantID)
	if err != nil || !report.Intact() || report.Verified != int64(len(want)) {
		t.Errorf("verify: %+v %v", report, err)
	}
}

// TestGarbageIDs sends ids that no record has, and bytes no id has, to
// every route with an {id}: each answer is a 404, never a 5xx.
func TestGarbageIDs(t *testing.T) {
	a := newTestApp(t)
	_, admin := a.newTenant()
	tok := a.token(admin)
	ids := []string{
		rampart.NewID(), // well formed, but nobody's
		strings.ToUpper(rampart.NewID()),
		"not-a-uuid'--", "1", "-1", "0x10", "null", "%00", "%ff%fe", "%E2%80%AE", "%20", "..%2f..%2fetc%2fpasswd",
		"%2e%2e", strings.Repeat("a", 4000), "00000000-0000-0000-0000-000000000000", "{id}", "%7Bid%7D",
		"' OR '1'='1", "$1", "\\x00",
	}
	for _, rt := range bareRouteTable() {
		if !strings.Contains(rt.path, "{id}") {
			continue
		}
		for _, id := range ids {
			var body any
			if rt.body != nil {
				body = `{}`
			}
			target := strings.Replace(rt.path, "{id}", strings.ReplaceAll(id, " ", "%20"), 1)
			r := a.do(rt.method, target, tok, body)
			if r.Code != 404 {
				t.Errorf("%s %s: %d %s, want 404", rt.method, target[:min(len(target), 80)], r.Code, r.Body.String()[:min(r.Body.Len(), 200)])
			}
			var p Problem
			if err := json.Unmarshal(r.Body.Bytes(), &p); err != nil || p.Status != r.Code {
				t.Errorf("%s %s: not a problem body: %s", rt.method, target[:min(len(target), 80)], r.Body)
			}
		}
	}
}
