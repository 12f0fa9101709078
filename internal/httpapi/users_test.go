package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"example.com/rampart/internal/rampart"
)

func TestUserAdministration(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	adminTok := a.token(admin)

	// Adding a user is an invitation (invitations_test.go has the rest).
	inv := a.invite(adminTok, "Carol@Example.com", "member")
	r := a.accept("", map[string]string{"token": a.mailedLink("Carol@Example.com"), "password": testPassword, "displayName": "Carol"})
	if r.Code != http.StatusCreated {
		t.Fatalf("accept: %d %s", r.Code, r.Body)
	}
	var accepted acceptInvitationResponse
	r.json(t, &accepted)
	carol := accepted.User
	if carol.TenantID != tenant || carol.Role != "member" || carol.Email != "Carol@Example.com" || carol.MFAEnabled || inv.Email != carol.Email {
		t.Errorf("created %+v", carol)
	}
	for _, leak := range []string{"argon2", "hash", "password", testPassword} {
		if strings.Contains(strings.ToLower(r.Body.String()), leak) {
			t.Errorf("the response contains %q", leak)
		}
	}
	carolTok := a.login("carol@example.com", testPassword).AccessToken

	// An admin no longer sets a password, nor anything but the address,
	// role and name (mass assignment: 422, unknown field).
	for name, body := range map[string]string{
		"password":     `{"email":"d@example.com","password":"` + testPassword + `","displayName":"Dee","role":"member"}`,
		"unknown role": `{"email":"d@example.com","displayName":"Dee","role":"owner"}`,
		"no role":      `{"email":"d@example.com","displayName":"Dee"}`,
		"no email":     `{"role":"member"}`,
		"tenantId":     `{"email":"d@example.com","displayName":"Dee","role":"member","tenantId":"` + rampart.NewID() + `"}`,
		"id":           `{"email":"d@example.com","displayName":"Dee","role":"member","id":"` + rampart.NewID() + `"}`,
		"mfaEnabled":   `{"email":"d@example.com","displayName":"Dee","role":"member","mfaEnabled":true}`,
		"passwordHash": `{"email":"d@example.com","displayName":"Dee","role":"member","passwordHash":"x"}`,
	} {
		if r := a.do("POST", "/v1/users", adminTok, body); r.Code != 422 {
			t.Errorf("%s: %d %s, want 422", name, r.Code, r.Body)
		}
	}
	for name, body := range map[string]string{
		"email": `{"email":"new@example.com"}`, "password": `{"password":"x"}`, "tenantId": `{"tenantId":"x"}`,
		"unknown role": `{"role":"root"}`, "Role in another case": `{"Role":"admin"}`,
	} {
		if r := a.do("PATCH", "/v1/users/"+carol.ID, adminTok, body); r.Code != 422 {
			t.Errorf("PATCH %s: %d %s, want 422", name, r.Code, r.Body)
		}
	}

	// Promotion ends the user's sessions: their tokens carry the old role.
	r = a.do("PATCH", "/v1/users/"+carol.ID, adminTok, map[string]string{"role": "admin", "displayName": "Carol A"})
	var promoted userResponse
	r.json(t, &promoted)
	if r.Code != 200 || promoted.Role != "admin" || promoted.DisplayName != "Carol A" {
		t.Fatalf("promote: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/me", carolTok, nil); r.Code != 401 {
		t.Errorf("the promoted user's old token: %d, want 401", r.Code)
	}
	carolTok = a.token(a.mustUser(tenant, carol.ID))
	if r := a.do("GET", "/v1/users", carolTok, nil); r.Code != 200 {
		t.Errorf("the new admin lists users: %d", r.Code)
	}

	// No one changes their own role; renaming oneself is fine.
	if r := a.do("PATCH", "/v1/users/"+admin.ID, adminTok, map[string]string{"role": "member"}); r.Code != 403 || r.problemType() != "own-role" {
		t.Errorf("own role: %d %s, want 403", r.Code, r.Body)
	}
	if r := a.do("PATCH", "/v1/users/"+admin.ID, adminTok, map[string]string{"displayName": "Boss"}); r.Code != 200 {
		t.Errorf("own name: %d", r.Code)
	}

	// Demotion ends the sessions too, and the demoted admin loses the
	// admin routes at once.
	if r := a.do("PATCH", "/v1/users/"+carol.ID, adminTok, map[string]string{"role": "member"}); r.Code != 200 {
		t.Fatalf("demote: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/users", carolTok, nil); r.Code != 401 {
		t.Errorf("the demoted admin's token: %d, want 401", r.Code)
	}
	if r := a.do("GET", "/v1/users", a.token(a.mustUser(tenant, carol.ID)), nil); r.Code != 403 {
		t.Errorf("the demoted admin with a new session: %d, want 403", r.Code)
	}

	// Deletion ends the sessions with the user.
	carolTok = a.token(a.mustUser(tenant, carol.ID))
	if r := a.do("DELETE", "/v1/users/"+carol.ID, adminTok, nil); r.Code != 204 {
		t.Fatalf("delete: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/me", carolTok, nil); r.Code != 401 {
		t.Errorf("the deleted user's token: %d, want 401", r.Code)
	}
	if r := a.do("GET", "/v1/users/"+carol.ID, adminTok, nil); r.Code != 404 {
		t.Errorf("the deleted user: %d, want 404", r.Code)
	}
	if r := a.do("DELETE", "/v1/users/"+carol.ID, adminTok, nil); r.Code != 404 {
		t.Errorf("deleting again: %d, want 404", r.Code)
	}

	// The last admin stays.
	if r := a.do("DELETE", "/v1/users/"+admin.ID, adminTok, nil); r.Code != 409 || r.problemType() != "last-admin" {
		t.Errorf("deleting the last admin: %d %s, want 409", r.Code, r.Body)
	}

	types := a.auditTypes(t, admin.Email)
	for _, want := range []string{"user.invited", "invitation.accepted", "user.role_changed", "user.deleted"} {
		if !strings.Contains(types, want) {
			t.Errorf("no %s audit event in %s", want, types)
		}
	}
}

// TestDemotingTheLastAdmin covers the race the HTTP routes cannot show in
// sequence: two admins demote each other at once. The second request was
// authorized while its caller was still an admin; the store refuses to
// leave the tenant without one.
func TestDemotingTheLastAdmin(t *testing.T) {
	a := newTestApp(t)
	tenant, first := a.newTenant()
	second := a.newUser(tenant, rampart.RoleAdmin)
	svc := a.service()
	ctx := context.Background()
	member := rampart.RoleMember
	if _, err := svc.UpdateUser(ctx, rampart.RequestMeta{}, a.userPrincipal(first), second.ID, rampart.UserUpdate{Role: &member}); err != nil {
		t.Fatal(err)
	}
	// second's principal is stale: it still says admin.
	_, err := svc.UpdateUser(ctx, rampart.RequestMeta{}, a.userPrincipal(second), first.ID, rampart.UserUpdate{Role: &member})
	if e := rampart.ErrorOf(err); e == nil || e.Kind != rampart.KindConflict || e.Code != "last-admin" {
		t.Fatalf("demoting the last admin: %v, want Conflict last-admin", err)
	}
	if u := a.mustUser(tenant, first.ID); u.Role != rampart.RoleAdmin {
		t.Errorf("the last admin is now %s", u.Role)
	}
}

func TestAPIKeysCannotMakeAdmins(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	other := a.newUser(tenant, rampart.RoleAdmin)
	member := a.newUser(tenant, rampart.RoleMember)
	_, key := a.newAPIKey(admin, rampart.ScopeUsersRead, rampart.ScopeUsersWrite)

	newUser := func(role string) map[string]string {
		return map[string]string{"email": "k-" + rampart.NewID() + "@example.com",
			"displayName": "By key", "role": role}
	}
	// Adding and deleting users are step-up routes: no key, whatever its
	// scopes (see TestStepUpRefusesAPIKeys).
	if r := a.do("POST", "/v1/users", key, newUser("member")); r.Code != 403 {
		t.Errorf("a key creates a member: %d %s, want 403", r.Code, r.Body)
	}
	if r := a.do("POST", "/v1/users", key, newUser("admin")); r.Code != 403 {
		t.Errorf("a key creates an admin: %d, want 403", r.Code)
	}
	if r := a.do("PATCH", "/v1/users/"+member.ID, key, map[string]string{"role": "admin"}); r.Code != 403 {
		t.Errorf("a key promotes a member: %d, want 403", r.Code)
	}
	if r := a.do("DELETE", "/v1/users/"+other.ID, key, nil); r.Code != 403 {
		t.Errorf("a key deletes an admin: %d, want 403", r.Code)
	}
	if r := a.do("PATCH", "/v1/users/"+member.ID, key, map[string]string{"displayName": "Renamed"}); r.Code != 200 {
		t.Errorf("a key renames a member: %d", r.Code)
	}
	if r := a.do("DELETE", "/v1/users/"+member.ID, key, nil); r.Code != 403 {
		t.Errorf("a key deletes a member: %d, want 403", r.Code)
	}
	if u := a.mustUser(tenant, member.ID); u == nil || u.DisplayName != "Renamed" {
		t.Error("the member is gone or was not renamed")
	}
}

// mustUser reads a user from the store; nil when there is none.
func (a *testApp) mustUser(tenantID, id string) *rampart.User {
	a.t.Helper()
	u, err := a.store.GetUser(a.t.Context(), tenantID, id)
	if rampart.ErrorKind(err) == rampart.KindNotFound {
		return nil
	}
	if err != nil {
		a.t.Fatal(err)
	}
	return u
}
