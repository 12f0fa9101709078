package httpapi

import (
	"bytes"
	"encoding/base32"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/ratelimit"
	"example.com/rampart/internal/totp"
)

// Signup modes, password reset and email verification over HTTP.

var linkTokenInMail = regexp.MustCompile(`#token=(rpl_[A-Za-z0-9_-]{49})`)

// mailbox claims every message queued so far, one at a time and oldest
// first as the sender does, and returns them opened (the outbox's content
// is sealed).
func (a *testApp) mailbox() []rampart.Mail {
	a.t.Helper()
	ctx := a.t.Context()
	var out []rampart.Mail
	for {
		msgs, err := a.store.ClaimMail(ctx, a.clock.Now(), time.Minute, 1)
		if err != nil {
			a.t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		opened, err := rampart.OpenMail(a.deps.Sealer, msgs[0])
		if err != nil {
			a.t.Fatal(err)
		}
		if err := a.store.MarkMailSent(ctx, msgs[0].ID, a.clock.Now()); err != nil {
			a.t.Fatal(err)
		}
		out = append(out, opened)
	}
}

// linkFor returns the one message queued to addr and the link token it
// carries; it fails the test unless there is exactly one.
func (a *testApp) linkFor(addr string) (rampart.Mail, string) {
	a.t.Helper()
	var found []rampart.Mail
	for _, m := range a.mailbox() {
		if strings.EqualFold(m.To, addr) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		a.t.Fatalf("%d messages to %s, want 1", len(found), addr)
	}
	match := linkTokenInMail.FindStringSubmatch(found[0].Body)
	if match == nil {
		a.t.Fatalf("no link token in the message to %s:\n%s", addr, found[0].Body)
	}
	return found[0], match[1]
}

func signupMode(mode rampart.SignupMode) func(*rampart.IdentityConfig) {
	return func(c *rampart.IdentityConfig) { c.Signup = mode }
}

func signupBody(email string) map[string]string {
	return map[string]string{"email": email, "password": testPassword, "displayName": "New Person", "organization": "New Org"}
}

// withoutRequestID is a body with its requestId member blanked.
var requestIDMember = regexp.MustCompile(`"requestId":"[^"]*"`)

func withoutRequestID(b []byte) string {
	return string(requestIDMember.ReplaceAll(b, []byte(`"requestId":""`)))
}

// TestSignupVerifyJourney: in verify mode a signup answers 202 and mails a
// link; confirming it creates the account (address verified), tenant and
// admin membership, and the person signs in with the password chosen at
// signup. A taken address gets the same 202 and a notice with a reset link
// that works. The signup link is single use.
func TestSignupVerifyJourney(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		cfg.identity = signupMode(rampart.SignupVerify)
		a := newTestAppWith(t, cfg)
		email := "Newcomer-" + rampart.NewID()[:8] + "@example.com"
		r := a.do("POST", "/v1/signup", "", signupBody(email))
		if r.Code != http.StatusAccepted || !strings.Contains(r.Body.String(), `"status":"accepted"`) {
			t.Fatalf("signup: %d %s", r.Code, r.Body)
		}
		if _, err := a.store.FindAccountByEmail(t.Context(), email); rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Fatalf("an account exists before the link is followed: %v", err)
		}
		m, token := a.linkFor(email)
		if m.Kind != rampart.MailVerification || !strings.Contains(m.Body, a.cfg.PublicURL+"/signup/confirm#token=") {
			t.Fatalf("signup mail: %+v", m)
		}
		r = a.do("POST", "/v1/signup/confirm", "", map[string]string{"token": token})
		if r.Code != http.StatusCreated {
			t.Fatalf("confirm: %d %s", r.Code, r.Body)
		}
		var out signupResponse
		r.json(t, &out)
		if out.User.Email != email || out.User.Role != "admin" || !out.User.EmailVerified || out.Tenant.Name != "New Org" {
			t.Errorf("confirmed: %+v", out)
		}
		tok := a.login(email, testPassword)
		var me meResponse
		a.do("GET", "/v1/me", tok.AccessToken, nil).json(t, &me)
		if !me.EmailVerified || me.TenantID != out.Tenant.ID {
			t.Errorf("me: %+v", me)
		}
		if r := a.do("POST", "/v1/signup/confirm", "", map[string]string{"token": token}); r.Code != 422 || r.problemType() != "invalid-link" {
			t.Errorf("the link used again: %d %s", r.Code, r.Body)
		}

		// The address is taken now: the same answer, and a notice.
		r2 := a.do("POST", "/v1/signup", "", signupBody(strings.ToUpper(email)))
		if r2.Code != http.StatusAccepted {
			t.Fatalf("taken: %d %s", r2.Code, r2.Body)
		}
		notice, reset := a.linkFor(email)
		if notice.Kind != rampart.MailNotice || !strings.Contains(notice.Body, "/password-reset#token=") {
			t.Fatalf("notice: %+v", notice)
		}
		newPw := "a different long passphrase 93"
		if r := a.do("POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": reset, "newPassword": newPw}); r.Code != 204 {
			t.Fatalf("reset with the notice's link: %d %s", r.Code, r.Body)
		}
		a.login(email, newPw)
	})
}

// TestSignupAnswersAlikeForFreshAndTakenAddresses: in verify mode the 202
// bodies for a fresh and a taken address are identical but for the request
// id; so are the password-reset answers for a known and an unknown address.
func TestSignupAnswersAlikeForFreshAndTakenAddresses(t *testing.T) {
	a := newTestAppWith(t, appConfig{identity: signupMode(rampart.SignupVerify)})
	_, taken := a.newTenant()
	fresh := "fresh-" + rampart.NewID() + "@example.com"
	rf := a.do("POST", "/v1/signup", "", signupBody(fresh))
	rt := a.do("POST", "/v1/signup", "", signupBody(taken.Email))
	if rf.Code != 202 || rt.Code != 202 || withoutRequestID(rf.Body.Bytes()) != withoutRequestID(rt.Body.Bytes()) {
		t.Errorf("signup: fresh %d %s; taken %d %s", rf.Code, rf.Body, rt.Code, rt.Body)
	}
	if hf, ht := headerShape(rf), headerShape(rt); hf != ht {
		t.Errorf("signup headers differ:\n%s\n%s", hf, ht)
	}
	pf := a.do("POST", "/v1/auth/password-reset", "", map[string]string{"email": fresh + ".org"})
	pt := a.do("POST", "/v1/auth/password-reset", "", map[string]string{"email": taken.Email})
	if pf.Code != 202 || pt.Code != 202 || withoutRequestID(pf.Body.Bytes()) != withoutRequestID(pt.Body.Bytes()) {
		t.Errorf("reset: unknown %d %s; known %d %s", pf.Code, pf.Body, pt.Code, pt.Body)
	}
	if hf, ht := headerShape(pf), headerShape(pt); hf != ht {
		t.Errorf("reset headers differ:\n%s\n%s", hf, ht)
	}
	// Mail: the fresh signup a link, the taken one a notice, the known
	// reset a link, the unknown reset nothing.
	kinds := map[string][]string{}
	for _, m := range a.mailbox() {
		kinds[strings.ToLower(m.To)] = append(kinds[strings.ToLower(m.To)], string(m.Kind))
	}
	for _, k := range kinds {
		slices.Sort(k)
	}
	want := map[string][]string{strings.ToLower(fresh): {"verification"},
		strings.ToLower(taken.Email): {"notice", "password_reset"}}
	if !maps.EqualFunc(kinds, want, slices.Equal) {
		t.Errorf("mail = %v, want %v", kinds, want)
	}
}

// headerShape is a response's headers but for the request id.
func headerShape(r response) string {
	var b bytes.Buffer
	h := r.Header().Clone()
	h.Del("X-Request-Id")
	_ = h.Write(&b)
	return b.String()
}

// TestAddressThrottleAnswersAlike: the per-address budget of reset and
// signup (verify) refuses the 6th request for an address within the hour,
// known or not, with the same answer.
func TestAddressThrottleAnswersAlike(t *testing.T) {
	a := newTestAppWith(t, appConfig{identity: signupMode(rampart.SignupVerify),
		rateLimits: RateLimits{Limiter: ratelimit.NewMemory(1000, time.Now), Budgets: map[string]rampart.RateLimit{
			classAuth: {N: 1000, Per: time.Minute}, classSignup: {N: 1000, Per: time.Minute}}}})
	_, known := a.newTenant()
	unknown := "nobody-" + rampart.NewID() + "@example.com"
	for _, flow := range []struct {
		path string
		body func(email string) any
	}{
		{"/v1/auth/password-reset", func(e string) any { return map[string]string{"email": e} }},
		{"/v1/signup", func(e string) any { return signupBody(e) }},
	} {
		var last [2]response
		for i := range addressBudget.N + 1 {
			for j, email := range []string{known.Email, unknown} {
				last[j] = a.do("POST", flow.path, "", flow.body(email))
				if want := http.StatusAccepted; i < addressBudget.N && last[j].Code != want {
					t.Fatalf("%s %d for %s: %d %s", flow.path, i, email, last[j].Code, last[j].Body)
				}
			}
		}
		if last[0].Code != 429 || withoutRequestID(last[0].Body.Bytes()) != withoutRequestID(last[1].Body.Bytes()) ||
			last[0].Header().Get("Retry-After") != last[1].Header().Get("Retry-After") {
			t.Errorf("%s over budget: known %d %s (%s); unknown %d %s (%s)", flow.path, last[0].Code, last[0].Body,
				last[0].Header().Get("Retry-After"), last[1].Code, last[1].Body, last[1].Header().Get("Retry-After"))
		}
	}
}

// TestAddressBudgetFailsClosed: when the limiter cannot decide, a request
// that would mail an address is refused with 503 and nothing is queued, so
// a limiter outage does not open anyone's mailbox to a flood. The route
// classes have no budget here, so only the per-address budget asks.
func TestAddressBudgetFailsClosed(t *testing.T) {
	limiter := &failingLimiter{}
	a := newTestAppWith(t, appConfig{identity: signupMode(rampart.SignupVerify),
		rateLimits: RateLimits{Limiter: limiter, Budgets: map[string]rampart.RateLimit{}}})
	_, known := a.newTenant()
	for path, body := range map[string]any{
		"/v1/auth/password-reset": map[string]string{"email": known.Email},
		"/v1/signup":              signupBody("new-" + rampart.NewID() + "@example.com"),
	} {
		calls := limiter.calls
		if r := a.do("POST", path, "", body); r.Code != 503 {
			t.Errorf("%s without a limiter decision: %d %s", path, r.Code, r.Body)
		}
		if limiter.calls == calls {
			t.Errorf("%s: the per-address budget was not asked", path)
		}
	}
	if mail := a.mailbox(); len(mail) != 0 {
		t.Errorf("%d messages queued without a limiter decision", len(mail))
	}
}

// TestPasswordResetJourney: forgot password → link → new password; every
// session of the account, in both its tenants, is dead at once (access
// and refresh tokens), the old password is refused, the address counts as
// verified, the reset is audited in each tenant, and the link is single
// use.
func TestPasswordResetJourney(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		a := newTestAppWith(t, cfg)
		tenantA, user := a.newTenant()
		tenantB, _ := a.newTenant()
		if err := a.store.AddMembership(t.Context(), &rampart.Membership{TenantID: tenantB, AccountID: user.ID,
			Role: rampart.RoleMember, DisplayName: "In B", CreatedAt: a.clock.Now(), UpdatedAt: a.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		inA := a.login(user.Email, testPassword)
		_, accessB, refreshB := a.newSession(&rampart.User{ID: user.ID, TenantID: tenantB, Role: rampart.RoleMember})
		for _, tok := range []string{inA.AccessToken, accessB} {
			if r := a.do("GET", "/v1/me", tok, nil); r.Code != 200 {
				t.Fatalf("before: %d", r.Code)
			}
		}

		if r := a.do("POST", "/v1/auth/password-reset", "", map[string]string{"email": strings.ToUpper(user.Email)}); r.Code != 202 {
			t.Fatalf("request: %d %s", r.Code, r.Body)
		}
		m, token := a.linkFor(user.Email)
		if m.Kind != rampart.MailPasswordReset || !strings.Contains(m.Body, a.cfg.PublicURL+"/password-reset#token="+token) {
			t.Fatalf("reset mail: %+v", m)
		}
		newPw := "a brand new long passphrase 61"
		// The policy applies: a weak password is refused and the link stays usable.
		if r := a.do("POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "newPassword": "password"}); r.Code != 422 || r.problemType() == "invalid-link" {
			t.Fatalf("weak password: %d %s", r.Code, r.Body)
		}
		if r := a.do("POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "newPassword": newPw}); r.Code != 204 {
			t.Fatalf("confirm: %d %s", r.Code, r.Body)
		}
		for name, tok := range map[string]string{"access A": inA.AccessToken, "access B": accessB} {
			if r := a.do("GET", "/v1/me", tok, nil); r.Code != 401 {
				t.Errorf("%s after the reset: %d", name, r.Code)
			}
		}
		for name, rt := range map[string]string{"refresh A": inA.RefreshToken, "refresh B": refreshB} {
			if r := a.do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": rt}); r.Code != 401 {
				t.Errorf("%s after the reset: %d", name, r.Code)
			}
		}
		if r := a.do("POST", "/v1/auth/login", "", map[string]string{"email": user.Email, "password": testPassword}); r.Code != 401 {
			t.Errorf("the old password: %d", r.Code)
		}
		tok := a.login(user.Email, newPw)
		var me meResponse
		a.do("GET", "/v1/me", tok.AccessToken, nil).json(t, &me)
		if !me.EmailVerified {
			t.Error("the reset link did not verify the address")
		}
		if r := a.do("POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "newPassword": newPw + "x"}); r.Code != 422 || r.problemType() != "invalid-link" {
			t.Errorf("the link used again: %d %s", r.Code, r.Body)
		}
		for _, tenant := range []string{tenantA, tenantB} {
			evs, _, err := a.store.ListAuditEvents(t.Context(), tenant, rampart.AuditFilter{Type: "user.password_reset"}, rampart.Page{Limit: 10})
			if err != nil || len(evs) != 1 || evs[0].ActorID != user.ID {
				t.Errorf("audit in %s: %v %+v", tenant, err, evs)
			}
		}
		if !strings.Contains(a.logs.String(), `"type":"password_reset"`) {
			t.Error("no password_reset security event")
		}
		if strings.Contains(a.logs.String(), token) {
			t.Error("the link token is in the log")
		}
	})
}

// TestResetLinksDie: a reset link is refused, with the one invalid-link
// answer, when it expired (30 min), when a newer one was requested, when
// the password changed after it was sent, and when it was tampered with.
func TestResetLinksDie(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		a := newTestAppWith(t, cfg)
		_, user := a.newTenant()
		request := func() string {
			t.Helper()
			if r := a.do("POST", "/v1/auth/password-reset", "", map[string]string{"email": user.Email}); r.Code != 202 {
				t.Fatalf("request: %d", r.Code)
			}
			_, token := a.linkFor(user.Email)
			return token
		}
		confirm := func(token string) response {
			return a.do("POST", "/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "newPassword": "yet another long passphrase 17"})
		}
		refused := func(what string, r response) {
			t.Helper()
			if r.Code != 422 || r.problemType() != "invalid-link" {
				t.Errorf("%s: %d %s", what, r.Code, r.Body)
			}
		}

		expired := request()
		a.clock.Advance(rampart.PasswordResetTTL + time.Second)
		refused("expired", confirm(expired))

		older := request()
		newer := request()
		refused("older than the newest", confirm(older))

		tok := a.login(user.Email, testPassword)
		if r := a.do("POST", "/v1/me/password", tok.AccessToken, map[string]string{"currentPassword": testPassword, "newPassword": "changed long passphrase 55"}); r.Code != 204 {
			t.Fatalf("change password: %d %s", r.Code, r.Body)
		}
		refused("issued before the password changed", confirm(newer))

		fresh := request()
		tampered := []byte(fresh)
		tampered[10] ^= 1
		refused("tampered", confirm(string(tampered)))
		refused("truncated", confirm(fresh[:len(fresh)-1]))
		refused("another purpose", a.do("POST", "/v1/auth/verify-email", "", map[string]string{"token": fresh}))
		if r := confirm(fresh); r.Code != 204 {
			t.Errorf("the untouched link after the refusals: %d %s", r.Code, r.Body)
		}
	})
}

// TestResetNeedsTheSecondFactor: an account with TOTP needs a current code
// or a recovery code to finish a reset; without one, or with a wrong one,
// the answer says so and the link stays usable.
func TestResetNeedsTheSecondFactor(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		a := newTestAppWith(t, cfg)
		email := "mfa-" + rampart.NewID()[:8] + "@example.com"
		a.signup(email)
		tok := a.login(email, testPassword)
		var enrol totpEnrolmentResponse
		a.do("POST", "/v1/me/mfa/totp", tok.AccessToken, nil).json(t, &enrol)
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enrol.Secret)
		if err != nil {
			t.Fatal(err)
		}
		var rec recoveryCodesResponse
		if r := a.do("POST", "/v1/me/mfa/totp/confirm", tok.AccessToken, map[string]string{"code": totp.Code(secret, a.clock.Now())}); r.Code != 200 {
			t.Fatalf("confirm TOTP: %d %s", r.Code, r.Body)
		} else {
			r.json(t, &rec)
		}
		a.clock.Advance(30 * time.Second)

		reset := func(totpCode string) (string, func(string) response) {
			a.do("POST", "/v1/auth/password-reset", "", map[string]string{"email": email})
			_, token := a.linkFor(email)
			return token, func(code string) response {
				body := map[string]string{"token": token, "newPassword": "the new long passphrase 3" + totpCode}
				if code != "" {
					body["totp"] = code
				}
				return a.do("POST", "/v1/auth/password-reset/confirm", "", body)
			}
		}
		_, confirm := reset("1")
		if r := confirm(""); r.Code != 401 || r.problemType() != "mfa-required" {
			t.Errorf("without a code: %d %s", r.Code, r.Body)
		}
		if r := confirm("000000"); r.Code != 422 || r.problemType() != "validation-failed" || !strings.Contains(r.Body.String(), `"field":"totp"`) {
			t.Errorf("a wrong code: %d %s", r.Code, r.Body)
		}
		if r := confirm(totp.Code(secret, a.clock.Now())); r.Code != 204 {
			t.Fatalf("with a current code, the same link: %d %s", r.Code, r.Body)
		}
		a.clock.Advance(30 * time.Second)
		_, confirm = reset("2")
		if r := confirm(rec.RecoveryCodes[0]); r.Code != 204 {
			t.Fatalf("with a recovery code: %d %s", r.Code, r.Body)
		}
		a.clock.Advance(30 * time.Second)
		_, confirm = reset("3")
		if r := confirm(rec.RecoveryCodes[0]); r.Code != 422 {
			t.Errorf("a spent recovery code: %d %s", r.Code, r.Body)
		}
	})
}

// TestVerifyEmailInOpenMode: with a mail transport, an open signup mails a
// verification link; following it sets emailVerified; it works once and
// dies with a password change.
func TestVerifyEmailInOpenMode(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		cfg.identity = func(c *rampart.IdentityConfig) { c.SendVerification = true }
		a := newTestAppWith(t, cfg)
		email := "verify-" + rampart.NewID()[:8] + "@example.com"
		a.signup(email)
		m, token := a.linkFor(email)
		if m.Kind != rampart.MailVerification || !strings.Contains(m.Body, "/verify-email#token=") {
			t.Fatalf("verification mail: %+v", m)
		}
		tok := a.login(email, testPassword)
		var me meResponse
		a.do("GET", "/v1/me", tok.AccessToken, nil).json(t, &me)
		if me.EmailVerified {
			t.Fatal("verified before the link")
		}
		if r := a.do("POST", "/v1/auth/verify-email", "", map[string]string{"token": token}); r.Code != 204 {
			t.Fatalf("verify: %d %s", r.Code, r.Body)
		}
		a.do("GET", "/v1/me", tok.AccessToken, nil).json(t, &me)
		if !me.EmailVerified {
			t.Error("not verified after the link")
		}
		if r := a.do("POST", "/v1/auth/verify-email", "", map[string]string{"token": token}); r.Code != 422 || r.problemType() != "invalid-link" {
			t.Errorf("used again: %d %s", r.Code, r.Body)
		}

		// A tampered link, and one past its 24 h, are refused.
		a.signup("verify3-" + email)
		_, token3 := a.linkFor("verify3-" + email)
		tampered := []byte(token3)
		tampered[len(tampered)-1] ^= 2
		if r := a.do("POST", "/v1/auth/verify-email", "", map[string]string{"token": string(tampered)}); r.Code != 422 || r.problemType() != "invalid-link" {
			t.Errorf("tampered: %d %s", r.Code, r.Body)
		}
		a.clock.Advance(rampart.VerifyEmailTTL + time.Second)
		if r := a.do("POST", "/v1/auth/verify-email", "", map[string]string{"token": token3}); r.Code != 422 || r.problemType() != "invalid-link" {
			t.Errorf("expired: %d %s", r.Code, r.Body)
		}

		// A second account's link dies when its password changes.
		other := "verify2-" + rampart.NewID()[:8] + "@example.com"
		a.signup(other)
		_, token2 := a.linkFor(other)
		tok2 := a.login(other, testPassword)
		if r := a.do("POST", "/v1/me/password", tok2.AccessToken, map[string]string{"currentPassword": testPassword, "newPassword": "changed long passphrase 55"}); r.Code != 204 {
			t.Fatal(r.Code)
		}
		if r := a.do("POST", "/v1/auth/verify-email", "", map[string]string{"token": token2}); r.Code != 422 || r.problemType() != "invalid-link" {
			t.Errorf("after a password change: %d %s", r.Code, r.Body)
		}
		// Without a transport, open signup mails nothing.
		plain := newTestApp(t)
		plain.signup(email)
		if got := plain.mailbox(); len(got) != 0 {
			t.Errorf("open signup without a transport mailed %d messages", len(got))
		}
	})
}

// TestSignupLinkExpiresAndClosedMode: a signup link lasts 24 h; closed mode
// refuses signup and its confirmation with 403 signup-closed.
func TestSignupLinkExpiresAndClosedMode(t *testing.T) {
	a := newTestAppWith(t, appConfig{identity: signupMode(rampart.SignupVerify)})
	email := "late-" + rampart.NewID()[:8] + "@example.com"
	a.do("POST", "/v1/signup", "", signupBody(email))
	_, token := a.linkFor(email)
	a.clock.Advance(rampart.SignupLinkTTL + time.Second)
	if r := a.do("POST", "/v1/signup/confirm", "", map[string]string{"token": token}); r.Code != 422 || r.problemType() != "invalid-link" {
		t.Errorf("expired signup link: %d %s", r.Code, r.Body)
	}

	c := newTestAppWith(t, appConfig{identity: signupMode(rampart.SignupClosed)})
	if r := c.do("POST", "/v1/signup", "", signupBody("closed@example.com")); r.Code != 403 || r.problemType() != "signup-closed" {
		t.Errorf("closed signup: %d %s", r.Code, r.Body)
	}
	if r := c.do("POST", "/v1/signup/confirm", "", map[string]string{"token": token}); r.Code != 403 {
		t.Errorf("closed confirm: %d %s", r.Code, r.Body)
	}
	if len(c.mailbox()) != 0 {
		t.Error("closed signup mailed something")
	}
}
