package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

type meBody struct {
	ID            string `json:"id"`
	TenantID      string `json:"tenantId"`
	Role          string `json:"role"`
	EmailVerified *bool  `json:"emailVerified"`
	Memberships   []struct {
		TenantID   string `json:"tenantId"`
		TenantName string `json:"tenantName"`
		Role       string `json:"role"`
	} `json:"memberships"`
}

func (a *testApp) me(t *testing.T, access string) meBody {
	t.Helper()
	r := a.do("GET", "/v1/me", access, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /v1/me: %d %s", r.Code, r.Body)
	}
	var me meBody
	r.json(t, &me)
	return me
}

func (a *testApp) loginTo(email, tenant string) response {
	a.t.Helper()
	return a.do("POST", "/v1/auth/login", "", map[string]string{"email": email, "password": testPassword, "tenant": tenant})
}

// addMembership makes an existing account a member of another tenant, as an
// accepted invitation will (invitations come later).
func (a *testApp) addMembership(tenantID, accountID string, role rampart.Role) {
	a.t.Helper()
	a.clock.Advance(time.Second) // after the account's first membership
	now := a.clock.Now()
	err := a.store.AddMembership(a.t.Context(), &rampart.Membership{TenantID: tenantID, AccountID: accountID, Role: role,
		DisplayName: "Ada elsewhere", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		a.t.Fatal(err)
	}
}

// problemWithoutRequestID is a problem body as a client compares it.
func problemWithoutRequestID(t *testing.T, r response) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	delete(p, "requestId")
	return p
}

// TestAccountInTwoTenants is the journey of one account in two tenants over
// HTTP, on both stores: sign in to each, the default tenant, switching the
// session, orders kept apart, and leaving one tenant.
func TestAccountInTwoTenants(t *testing.T) {
	withStores(t, func(t *testing.T, cfg appConfig) {
		a := newTestAppWith(t, cfg)
		ada := a.signup("ada@example.com") // admin of tenant A
		bob := a.signup("bob@example.com") // admin of tenant B
		a.addMembership(bob.TenantID, ada.UserID, rampart.RoleMember)

		// The default is the last used tenant: signup's.
		toA := a.login(ada.Email, testPassword)
		me := a.me(t, toA.AccessToken)
		if me.ID != ada.UserID || me.TenantID != ada.TenantID || me.Role != "admin" || me.EmailVerified == nil || *me.EmailVerified {
			t.Fatalf("signed in by default: %+v", me)
		}
		if len(me.Memberships) != 2 || me.Memberships[0].TenantID != ada.TenantID || me.Memberships[0].Role != "admin" ||
			me.Memberships[0].TenantName != "Org of ada@example.com" ||
			me.Memberships[1].TenantID != bob.TenantID || me.Memberships[1].Role != "member" || me.Memberships[1].TenantName != "Org of bob@example.com" {
			t.Fatalf("memberships: %+v", me.Memberships)
		}

		// Sign in to B: the same account, B's role.
		r := a.loginTo(ada.Email, bob.TenantID)
		if r.Code != http.StatusOK {
			t.Fatalf("login to B: %d %s", r.Code, r.Body)
		}
		var toB tokenResponse
		r.json(t, &toB)
		if me := a.me(t, toB.AccessToken); me.ID != ada.UserID || me.TenantID != bob.TenantID || me.Role != "member" {
			t.Fatalf("signed in to B: %+v", me)
		}
		// Now B is the last used tenant.
		if me := a.me(t, a.login(ada.Email, testPassword).AccessToken); me.TenantID != bob.TenantID {
			t.Errorf("the default after signing in to B is %s, want B", me.TenantID)
		}

		// Orders stay in their tenant.
		orderIn := func(access string) string {
			r := a.do("POST", "/v1/orders", access, map[string]any{"items": []map[string]any{{"sku": "BOLT-1", "quantity": 1}}})
			if r.Code != http.StatusCreated {
				t.Fatalf("create order: %d %s", r.Code, r.Body)
			}
			var o orderResponse
			r.json(t, &o)
			return o.ID
		}
		inA, inB := orderIn(toA.AccessToken), orderIn(toB.AccessToken)
		for _, c := range []struct{ access, own, other string }{{toA.AccessToken, inA, inB}, {toB.AccessToken, inB, inA}} {
			var list listPage[orderResponse]
			a.do("GET", "/v1/orders", c.access, nil).json(t, &list)
			if len(list.Items) != 1 || list.Items[0].ID != c.own {
				t.Errorf("orders listed: %+v, want only %s", list.Items, c.own)
			}
			if r := a.do("GET", "/v1/orders/"+c.other, c.access, nil); r.Code != http.StatusNotFound {
				t.Errorf("the other tenant's order: %d, want 404", r.Code)
			}
		}

		// Switch the A session to B: a new pair, same session, same
		// auth_time; A's access and refresh tokens stop at once.
		a.clock.Advance(time.Minute)
		r = a.do("POST", "/v1/auth/switch-tenant", toA.AccessToken, map[string]string{"tenant": bob.TenantID})
		if r.Code != http.StatusOK {
			t.Fatalf("switch to B: %d %s", r.Code, r.Body)
		}
		var switched tokenResponse
		r.json(t, &switched)
		if me := a.me(t, switched.AccessToken); me.TenantID != bob.TenantID || me.Role != "member" {
			t.Fatalf("after the switch: %+v", me)
		}
		if got, want := authTimeOf(t, switched.AccessToken), authTimeOf(t, toA.AccessToken); got != want || got == 0 {
			t.Errorf("auth_time after the switch %d, want the sign-in's %d", got, want)
		}
		if r := a.do("GET", "/v1/me", toA.AccessToken, nil); r.Code != http.StatusUnauthorized {
			t.Errorf("A's access token after the switch: %d, want 401", r.Code)
		}
		var sessions listPage[sessionResponse]
		a.do("GET", "/v1/me/sessions", switched.AccessToken, nil).json(t, &sessions)
		current := 0
		for _, s := range sessions.Items {
			if s.Current {
				current++
			}
		}
		if current != 1 {
			t.Errorf("B's sessions after the switch: %+v, want the moved one as current", sessions.Items)
		}
		// The new refresh token works; A's old one is a rotated-out token
		// and its reuse revokes the session, as any reuse does.
		r = a.do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": switched.RefreshToken})
		if r.Code != http.StatusOK {
			t.Fatalf("refresh after the switch: %d %s", r.Code, r.Body)
		}
		var refreshed tokenResponse
		r.json(t, &refreshed)
		if me := a.me(t, refreshed.AccessToken); me.TenantID != bob.TenantID {
			t.Errorf("the refreshed token is for %s, want B", me.TenantID)
		}
		if r := a.do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": toA.RefreshToken}); r.Code != http.StatusUnauthorized {
			t.Errorf("A's refresh token after the switch: %d, want 401", r.Code)
		}
		if r := a.do("GET", "/v1/me", refreshed.AccessToken, nil); r.Code != http.StatusUnauthorized {
			t.Errorf("after A's old refresh token was replayed the session lives: %d", r.Code)
		}

		// Leaving B (B's admin removes the membership): B's sessions end;
		// the account, its A membership and A's sessions stay.
		bobTokens := a.login(bob.Email, testPassword)
		toB = a.login(ada.Email, testPassword) // B, the last used
		stillA := a.do("POST", "/v1/auth/login", "", map[string]string{"email": ada.Email, "password": testPassword, "tenant": ada.TenantID})
		var aTokens tokenResponse
		stillA.json(t, &aTokens)
		if r := a.do("DELETE", "/v1/users/"+ada.UserID, bobTokens.AccessToken, nil); r.Code != http.StatusNoContent {
			t.Fatalf("B's admin removes Ada from B: %d %s", r.Code, r.Body)
		}
		if r := a.do("GET", "/v1/me", toB.AccessToken, nil); r.Code != http.StatusUnauthorized {
			t.Errorf("Ada's B session after leaving B: %d, want 401", r.Code)
		}
		me = a.me(t, aTokens.AccessToken)
		if me.TenantID != ada.TenantID || len(me.Memberships) != 1 || me.Memberships[0].TenantID != ada.TenantID {
			t.Errorf("Ada in A after leaving B: %+v", me)
		}
		if r := a.do("GET", "/v1/orders/"+inA, aTokens.AccessToken, nil); r.Code != http.StatusOK {
			t.Errorf("Ada's A order after leaving B: %d", r.Code)
		}
		// And the default sign-in now goes to A.
		if me := a.me(t, a.login(ada.Email, testPassword).AccessToken); me.TenantID != ada.TenantID {
			t.Errorf("default tenant after leaving B: %s, want A", me.TenantID)
		}
	})
}

// TestLoginToForeignTenantIsAWrongPassword: a tenant the account is not a
// member of (another's, or none at all) is answered exactly as a wrong
// password: the same 401 body, the same argon2id work, and it counts
// towards the sign-in throttle like one.
func TestLoginToForeignTenantIsAWrongPassword(t *testing.T) {
	a := newTestApp(t)
	ada := a.signup("ada@example.com")
	bob := a.signup("bob@example.com")

	attempt := func(body map[string]string) (response, int64) {
		before := a.hasher.verifications.Load()
		r := a.do("POST", "/v1/auth/login", "", body)
		return r, a.hasher.verifications.Load() - before
	}
	wrong, wrongWork := attempt(map[string]string{"email": ada.Email, "password": "not the password at all 123", "tenant": ada.TenantID})
	if wrong.Code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", wrong.Code)
	}
	want := problemWithoutRequestID(t, wrong)
	for name, tenant := range map[string]string{"another account's tenant": bob.TenantID, "no tenant at all": rampart.NewID(), "not an id": "not-a-tenant-id"} {
		r, work := attempt(map[string]string{"email": ada.Email, "password": testPassword, "tenant": tenant})
		if r.Code != http.StatusUnauthorized || work != wrongWork {
			t.Errorf("%s with the right password: %d after %d verifications, want 401 after %d", name, r.Code, work, wrongWork)
		}
		if got := problemWithoutRequestID(t, r); !jsonEqual(got, want) {
			t.Errorf("%s: body %v, want the wrong password's %v", name, got, want)
		}
		if got := r.Header().Get("WWW-Authenticate"); got != wrong.Header().Get("WWW-Authenticate") {
			t.Errorf("%s: challenge %q, want %q", name, got, wrong.Header().Get("WWW-Authenticate"))
		}
	}
	// Four failures so far; the fifth starts the delay, even for the
	// right password and a foreign tenant: it is counted as a failure.
	attempt(map[string]string{"email": ada.Email, "password": testPassword, "tenant": bob.TenantID})
	if r, _ := attempt(map[string]string{"email": ada.Email, "password": testPassword}); r.Code != http.StatusTooManyRequests {
		t.Errorf("after five failures with foreign tenants: %d, want 429", r.Code)
	}
}

func jsonEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestSwitchTenantRefusesForeignTenants: a member of tenant A cannot switch
// into tenant B, where they have no membership; the answer is the same
// whether B exists or not, and the session stays where it was.
func TestSwitchTenantRefusesForeignTenants(t *testing.T) {
	a := newTestApp(t)
	ada := a.signup("ada@example.com")
	bob := a.signup("bob@example.com")
	tokens := a.login(ada.Email, testPassword)

	var bodies []map[string]any
	for _, tenant := range []string{bob.TenantID, rampart.NewID()} {
		r := a.do("POST", "/v1/auth/switch-tenant", tokens.AccessToken, map[string]string{"tenant": tenant})
		if r.Code != http.StatusNotFound {
			t.Fatalf("switch into a tenant without membership: %d %s", r.Code, r.Body)
		}
		bodies = append(bodies, problemWithoutRequestID(t, r))
	}
	if !jsonEqual(bodies[0], bodies[1]) {
		t.Errorf("an existing foreign tenant answers %v, an absent one %v", bodies[0], bodies[1])
	}
	if me := a.me(t, tokens.AccessToken); me.TenantID != ada.TenantID {
		t.Errorf("after refused switches the session is in %s", me.TenantID)
	}
	if r := a.do("POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": tokens.RefreshToken}); r.Code != http.StatusOK {
		t.Errorf("the refresh token after refused switches: %d", r.Code)
	}
	// Bob's data stays out of reach through Ada's A token: his user id
	// is not found in A's id space.
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		var body any
		if m == "PATCH" {
			body = map[string]string{"displayName": "Pwned"}
		}
		if r := a.do(m, "/v1/users/"+bob.UserID, a.login(ada.Email, testPassword).AccessToken, body); r.Code != http.StatusNotFound {
			t.Errorf("%s B's admin through A: %d, want 404", m, r.Code)
		}
	}
}
