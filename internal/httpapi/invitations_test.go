package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http/httptest"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/mail"
	"example.com/rampart/internal/rampart"
)

// mailedLink takes every message waiting in the outbox (mailbox) and
// returns the link token of the last one addressed to to: the quick way,
// for tests about what follows the mail.
func (a *testApp) mailedLink(to string) string {
	a.t.Helper()
	msgs := a.mailbox()
	token := ""
	for _, m := range msgs {
		if found := linkTokenInMail.FindStringSubmatch(m.Body); strings.EqualFold(m.To, to) && found != nil {
			token = found[1]
		}
	}
	if token == "" {
		a.t.Fatalf("no mail with a link for %s among %d", to, len(msgs))
	}
	return token
}

// deliveredLink runs the real mail sender once with development's
// transport (an .eml file per message), reads the file sent to to as a
// mail client would (RFC 5322, quoted-printable) and returns its link
// token and body.
func (a *testApp) deliveredLink(to string) (token, body string) {
	a.t.Helper()
	dir := filepath.Join(a.dir, "mail")
	sender, err := mail.New(mail.Config{Store: a.store, Sealer: a.deps.Sealer, Transport: mail.Files{Dir: dir},
		From: "rampart@localhost", Now: func() time.Time { return a.clock.Now().Add(time.Second) }})
	if err != nil {
		a.t.Fatal(err)
	}
	if n := sender.Pass(context.Background()); n == 0 {
		a.t.Fatal("the sender delivered nothing")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			a.t.Fatal(err)
		}
		msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			a.t.Fatal(err)
		}
		if !strings.EqualFold(strings.Trim(msg.Header.Get("To"), "<>"), to) {
			continue
		}
		var rd io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			rd = quotedprintable.NewReader(rd)
		}
		b, _ := io.ReadAll(rd)
		if found := linkTokenInMail.FindStringSubmatch(string(b)); found != nil {
			token, body = found[1], string(b)
		}
	}
	if token == "" {
		a.t.Fatalf("no .eml with a link for %s among %d", to, len(files))
	}
	return token, body
}

// invite has admin invite email with role and returns the invitation.
func (a *testApp) invite(adminTok, email, role string) invitationResponse {
	a.t.Helper()
	r := a.do("POST", "/v1/users", adminTok, map[string]string{"email": email, "role": role})
	if r.Code != 202 {
		a.t.Fatalf("invite %s: %d %s", email, r.Code, r.Body)
	}
	var out invitedResponse
	r.json(a.t, &out)
	return out.Invitation
}

func (a *testApp) accept(bearer string, body map[string]string) response {
	a.t.Helper()
	return a.do("POST", "/v1/invitations/accept", bearer, body)
}

// The journey: an admin invites a new address, the mail arrives (an .eml
// file, as in development), the invitee accepts with a password, signs in,
// and is a member with the invited role.
func TestInvitationJourney(t *testing.T) {
	withStores(t, func(t *testing.T, ac appConfig) {
		a := newTestAppWith(t, ac)
		tenant, admin := a.newTenant()
		adminTok := a.token(admin)

		inv := a.invite(adminTok, "Grace@Example.com", "admin")
		if inv.Email != "Grace@Example.com" || inv.Role != "admin" || !inv.ExpiresAt.Equal(inv.CreatedAt.Add(72*time.Hour)) {
			t.Errorf("invitation %+v", inv)
		}
		r := a.do("GET", "/v1/invitations", adminTok, nil)
		var list listPage[invitationResponse]
		r.json(t, &list)
		if r.Code != 200 || len(list.Items) != 1 || list.Items[0] != inv {
			t.Fatalf("pending: %d %s", r.Code, r.Body)
		}

		token, body := a.deliveredLink("Grace@Example.com")
		if !strings.Contains(body, rampart.DefaultIdentityConfig.PublicURL+"/invitations/accept#token=") {
			t.Errorf("the mail's link: %s", body)
		}
		if strings.Contains(a.logs.String(), token) {
			t.Error("the link token is in the log")
		}
		// No password: 422 on the field, and the link stays usable.
		if r := a.accept("", map[string]string{"token": token}); r.Code != 422 || !strings.Contains(r.Body.String(), `"password"`) {
			t.Fatalf("without a password: %d %s", r.Code, r.Body)
		}
		if r := a.accept("", map[string]string{"token": token, "password": "123456789012345"}); r.Code != 422 {
			t.Fatalf("a common password: %d %s", r.Code, r.Body)
		}
		r = a.accept("", map[string]string{"token": token, "password": testPassword, "displayName": "Grace H"})
		if r.Code != 201 {
			t.Fatalf("accept: %d %s", r.Code, r.Body)
		}
		var out acceptInvitationResponse
		r.json(t, &out)
		if u := out.User; u.Email != "Grace@Example.com" || u.TenantID != tenant || u.Role != "admin" || !u.EmailVerified || u.DisplayName != "Grace H" {
			t.Errorf("accepted as %+v", u)
		}

		tok := a.login("grace@example.com", testPassword)
		r = a.do("GET", "/v1/me", tok.AccessToken, nil)
		var me meResponse
		r.json(t, &me)
		if me.TenantID != tenant || me.Role != "admin" || len(me.Memberships) != 1 {
			t.Errorf("me: %s", r.Body)
		}
		// Used: the link is dead, and no longer pending.
		if r := a.accept("", map[string]string{"token": token, "password": testPassword}); r.Code != 422 || r.problemType() != "invalid-link" {
			t.Errorf("reuse: %d %s", r.Code, r.Body)
		}
		r = a.do("GET", "/v1/invitations", adminTok, nil)
		if r.json(t, &list); len(list.Items) != 0 {
			t.Errorf("still pending after accept: %s", r.Body)
		}
		types := a.tenantAuditTypes(tenant)
		for _, want := range []string{"user.invited", "invitation.accepted"} {
			if !slices.Contains(types, want) {
				t.Errorf("audit %v lacks %s", types, want)
			}
		}
	})
}

// tenantAuditTypes lists the types of a tenant's audit events.
func (a *testApp) tenantAuditTypes(tenant string) []string {
	a.t.Helper()
	es, _, err := a.store.ListAuditEvents(context.Background(), tenant, rampart.AuditFilter{}, rampart.Page{Limit: 100})
	if err != nil {
		a.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
		if strings.Contains(string(e.Details), "rpl_") {
			a.t.Errorf("audit event %s carries a link token", e.Type)
		}
	}
	return out
}

// A refused credential on accept answers 401 and does not spend the link:
// someone holding a dead token, or sending another scheme, cannot burn an
// invitation they were not meant to use, and the invitee still can.
func TestInvitationRefusedCredentialKeepsTheLink(t *testing.T) {
	withStores(t, func(t *testing.T, ac appConfig) {
		a := newTestAppWith(t, ac)
		_, admin := a.newTenant()
		a.invite(a.token(admin), "kept@example.com", "member")
		token := a.mailedLink("kept@example.com")
		raw, err := json.Marshal(map[string]string{"token": token, "password": testPassword})
		if err != nil {
			t.Fatal(err)
		}
		for name, authorization := range map[string]string{
			"revoked token": "Bearer " + a.revokedToken(admin),
			"invalid token": "Bearer not.a.token",
			"basic":         "Basic x",
		} {
			req := httptest.NewRequest("POST", "/v1/invitations/accept", bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", authorization)
			if r := a.serve(req); r.Code != 401 {
				t.Errorf("%s: %d %s", name, r.Code, r.Body)
			}
		}
		if r := a.accept("", map[string]string{"token": token, "password": testPassword}); r.Code != 201 {
			t.Fatalf("the invitee after the refused credentials: %d %s", r.Code, r.Body)
		}
	})
}

// An account of tenant B invited into A accepts while signed in as itself;
// signed out it is asked to sign in, and signed in as somebody else it is
// refused — neither uses the link up. Then it switches to A.
func TestInvitationForAnExistingAccount(t *testing.T) {
	withStores(t, func(t *testing.T, ac appConfig) {
		a := newTestAppWith(t, ac)
		tenantA, adminA := a.newTenant()
		tenantB, _ := a.newTenant()
		bob := a.newUser(tenantB, rampart.RoleMember)
		mallory := a.newUser(tenantB, rampart.RoleMember)

		a.invite(a.token(adminA), bob.Email, "member")
		token := a.mailedLink(bob.Email)

		if r := a.accept("", map[string]string{"token": token, "password": testPassword}); r.Code != 401 {
			t.Fatalf("signed out: %d %s", r.Code, r.Body)
		}
		if r := a.accept(a.token(mallory), map[string]string{"token": token}); r.Code != 422 || r.problemType() != "invalid-link" {
			t.Fatalf("as another account: %d %s", r.Code, r.Body)
		}
		if _, err := a.store.GetUser(t.Context(), tenantA, mallory.ID); rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Fatalf("mallory joined A: %v", err)
		}
		tok := a.login(bob.Email, testPassword)
		r := a.accept(tok.AccessToken, map[string]string{"token": token})
		if r.Code != 200 {
			t.Fatalf("as the account: %d %s", r.Code, r.Body)
		}
		var out acceptInvitationResponse
		r.json(t, &out)
		if out.User.ID != bob.ID || out.User.TenantID != tenantA || out.User.Role != "member" || !out.User.EmailVerified {
			t.Errorf("accepted as %+v", out.User)
		}
		if r := a.accept(tok.AccessToken, map[string]string{"token": token}); r.Code != 422 {
			t.Errorf("reuse: %d %s", r.Code, r.Body)
		}
		r = a.do("POST", "/v1/auth/switch-tenant", tok.AccessToken, map[string]string{"tenant": tenantA})
		if r.Code != 200 {
			t.Fatalf("switch to A: %d %s", r.Code, r.Body)
		}
		var switched tokenResponse
		r.json(t, &switched)
		r = a.do("GET", "/v1/me", switched.AccessToken, nil)
		var me meResponse
		if r.json(t, &me); me.TenantID != tenantA || len(me.Memberships) != 2 {
			t.Errorf("after the switch: %s", r.Body)
		}
		// An API key is no person: refused before the link is used.
		a.invite(a.token(adminA), mallory.Email, "member")
		token = a.mailedLink(mallory.Email)
		_, key := a.newAPIKey(adminA, rampart.ScopeUsersRead)
		if r := a.accept(key, map[string]string{"token": token}); r.Code != 403 {
			t.Errorf("with an API key: %d %s", r.Code, r.Body)
		}
		if r := a.accept(a.token(mallory), map[string]string{"token": token}); r.Code != 200 {
			t.Errorf("the right account after the refusals: %d %s", r.Code, r.Body)
		}
	})
}

// Inviting a member of the tenant again is answered as any invitation and
// accepting it changes nothing: no second membership, the role kept.
func TestInvitingAMemberChangesNothing(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	carol := a.newUser(tenant, rampart.RoleMember)
	a.invite(a.token(admin), carol.Email, "admin")
	token := a.mailedLink(carol.Email)
	r := a.accept(a.token(carol), map[string]string{"token": token})
	var out acceptInvitationResponse
	if r.json(t, &out); r.Code != 200 || out.User.Role != "member" {
		t.Fatalf("accept: %d %s", r.Code, r.Body)
	}
	ms, err := a.store.ListMemberships(t.Context(), carol.ID)
	if err != nil || len(ms) != 1 {
		t.Fatalf("memberships %d, %v", len(ms), err)
	}
}

// Every dead link gets the one answer: used, expired, altered, revoked,
// unknown or malformed.
func TestInvitationDeadLinks(t *testing.T) {
	withStores(t, func(t *testing.T, ac appConfig) {
		a := newTestAppWith(t, ac)
		_, admin := a.newTenant()
		adminTok := a.token(admin)
		body := func(token string) map[string]string {
			return map[string]string{"token": token, "password": testPassword}
		}
		oneAnswer := func(name string, r response) {
			t.Helper()
			if r.Code != 422 || r.problemType() != "invalid-link" || !strings.Contains(r.Body.String(), `"field":"token"`) {
				t.Errorf("%s: %d %s", name, r.Code, r.Body)
			}
		}

		// Altered: one character changed (the checksum fails), and a
		// well-formed token nobody issued.
		a.invite(adminTok, "t1@example.com", "member")
		token := a.mailedLink("t1@example.com")
		altered := []byte(token)
		altered[10] ^= 1
		if altered[10] == '-' || altered[10] == '_' {
			altered[10] = 'A'
		}
		oneAnswer("altered", a.accept("", body(string(altered))))
		forged, _ := rampart.NewLinkToken()
		oneAnswer("unknown", a.accept("", body(forged)))
		oneAnswer("malformed", a.accept("", body("not a token")))
		oneAnswer("empty-ish", a.accept("", body("rpl_")))
		oneAnswer("control character", a.accept("", body(token+"\n")))
		if r := a.accept("", body(token)); r.Code != 201 {
			t.Fatalf("the genuine token after the altered ones: %d %s", r.Code, r.Body)
		}
		oneAnswer("used", a.accept("", body(token)))

		// Revoked by an admin; another tenant's admin cannot revoke it (404).
		inv := a.invite(adminTok, "t2@example.com", "member")
		token = a.mailedLink("t2@example.com")
		_, otherAdmin := a.newTenant()
		if r := a.do("DELETE", "/v1/invitations/"+inv.ID, a.token(otherAdmin), nil); r.Code != 404 {
			t.Errorf("another tenant's revoke: %d %s", r.Code, r.Body)
		}
		if r := a.do("DELETE", "/v1/invitations/"+inv.ID, adminTok, nil); r.Code != 204 {
			t.Fatalf("revoke: %d %s", r.Code, r.Body)
		}
		if r := a.do("DELETE", "/v1/invitations/"+inv.ID, adminTok, nil); r.Code != 404 {
			t.Errorf("revoke again: %d %s", r.Code, r.Body)
		}
		oneAnswer("revoked", a.accept("", body(token)))

		// Expired: 72 h later.
		a.invite(adminTok, "t3@example.com", "member")
		token = a.mailedLink("t3@example.com")
		a.clock.Advance(72*time.Hour + time.Second)
		oneAnswer("expired", a.accept("", body(token)))
		if _, err := a.store.FindAccountByEmail(t.Context(), "t3@example.com"); rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("an expired link made an account: %v", err)
		}
	})
}

// A link bound to an account dies when the account's password changes.
func TestInvitationDiesWithAPasswordChange(t *testing.T) {
	a := newTestApp(t)
	_, admin := a.newTenant()
	tenantB, _ := a.newTenant()
	bob := a.newUser(tenantB, rampart.RoleMember)
	a.invite(a.token(admin), bob.Email, "member")
	token := a.mailedLink(bob.Email)
	bobTok := a.token(bob)
	if r := a.do("POST", "/v1/me/password", bobTok, map[string]string{"currentPassword": testPassword, "newPassword": newPassword}); r.Code != 204 {
		t.Fatalf("password change: %d %s", r.Code, r.Body)
	}
	tok := a.login(bob.Email, newPassword)
	if r := a.accept(tok.AccessToken, map[string]string{"token": token}); r.Code != 422 || r.problemType() != "invalid-link" {
		t.Errorf("after the password change: %d %s", r.Code, r.Body)
	}
}

// Accepting may hash a new password: it spends the per-address sign-in
// budget (RAMPART_RATE_AUTH), as login does, not the generous public one.
func TestAcceptingIsThrottledAsSignIn(t *testing.T) {
	for _, rt := range bareRouteTable() {
		if rt.path == "/v1/invitations/accept" && rt.class() != classAuth {
			t.Errorf("POST /v1/invitations/accept is in rate class %q, want %q", rt.class(), classAuth)
		}
	}
}
