package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func TestOrderLifecycle(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	alice, bob := a.newUser(tenant, rampart.RoleMember), a.newUser(tenant, rampart.RoleMember)
	aliceTok, bobTok, adminTok := a.token(alice), a.token(bob), a.token(admin)

	r := a.do("POST", "/v1/orders", aliceTok, `{"items":[{"sku":"WIDGET-1","quantity":3},{"sku":"GADGET-9","quantity":1}],"note":"gift wrap"}`)
	if r.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	var o orderResponse
	r.json(t, &o)
	if o.OwnerID != alice.ID || o.TenantID != tenant || o.Status != "pending" || o.Note != "gift wrap" ||
		len(o.Items) != 2 || o.Items[0] != (orderItem{SKU: "WIDGET-1", Quantity: 3}) || o.CreatedAt.IsZero() {
		t.Fatalf("created order %+v", o)
	}
	if r := a.do("GET", "/v1/orders/"+o.ID, bobTok, nil); r.Code != 404 {
		t.Errorf("another member reads it: %d", r.Code)
	}
	if r := a.do("GET", "/v1/orders/"+o.ID, adminTok, nil); r.Code != 200 {
		t.Errorf("the admin reads it: %d", r.Code)
	}

	patch := func(tok string, body any) response { return a.do("PATCH", "/v1/orders/"+o.ID, tok, body) }
	if r := patch(aliceTok, map[string]string{"status": "fulfilled"}); r.Code != 403 {
		t.Errorf("the owner fulfils: %d, want 403", r.Code)
	}
	if r := patch(bobTok, map[string]string{"status": "fulfilled"}); r.Code != 403 {
		t.Errorf("a member fulfils another's order: %d, want 403 (the function, whatever the order)", r.Code)
	}
	if r := patch(bobTok, map[string]string{"status": "cancelled"}); r.Code != 404 {
		t.Errorf("a member cancels another's order: %d, want 404", r.Code)
	}
	if r := patch(aliceTok, map[string]string{"status": "pending"}); r.Code != 422 {
		t.Errorf("back to pending: %d, want 422", r.Code)
	}
	r = patch(aliceTok, map[string]string{"status": "cancelled", "note": ""})
	var cancelled orderResponse
	r.json(t, &cancelled)
	if r.Code != 200 || cancelled.Status != "cancelled" || strings.Contains(r.Body.String(), `"note"`) {
		t.Fatalf("the owner cancels and clears the note: %d %s", r.Code, r.Body)
	}
	for _, status := range []string{"cancelled", "fulfilled"} {
		if r := patch(adminTok, map[string]string{"status": status}); r.Code != 409 || r.problemType() != "order-not-pending" {
			t.Errorf("cancelled → %s: %d %s, want 409", status, r.Code, r.Body)
		}
	}
	if r := patch(aliceTok, map[string]string{"note": "too late"}); r.Code != 200 {
		t.Errorf("the note of a cancelled order: %d", r.Code)
	}

	// The admin fulfils a pending order; then nothing moves it.
	o2 := a.newOrder(bob)
	if r := a.do("PATCH", "/v1/orders/"+o2.ID, adminTok, map[string]string{"status": "fulfilled"}); r.Code != 200 {
		t.Fatalf("admin fulfils: %d %s", r.Code, r.Body)
	}
	if r := a.do("PATCH", "/v1/orders/"+o2.ID, bobTok, map[string]string{"status": "cancelled"}); r.Code != 409 {
		t.Errorf("owner cancels a fulfilled order: %d, want 409", r.Code)
	}

	if r := a.do("DELETE", "/v1/orders/"+o.ID, bobTok, nil); r.Code != 404 {
		t.Errorf("another member deletes: %d", r.Code)
	}
	if r := a.do("DELETE", "/v1/orders/"+o.ID, aliceTok, nil); r.Code != 204 {
		t.Fatalf("owner deletes: %d %s", r.Code, r.Body)
	}
	if r := a.do("GET", "/v1/orders/"+o.ID, adminTok, nil); r.Code != 404 {
		t.Errorf("deleted order: %d", r.Code)
	}
	if types := a.auditTypes(t, admin.Email); !strings.Contains(types, "order.deleted") {
		t.Errorf("no order.deleted audit event: %s", types)
	}
}

func TestOrderValidationAndMassAssignment(t *testing.T) {
	a := newTestApp(t)
	tenant, _ := a.newTenant()
	tok := a.token(a.newUser(tenant, rampart.RoleMember))
	item := `{"sku":"A-1","quantity":1}`
	fifty := strings.Repeat(item+",", 50) + item // 51 items
	cases := []struct {
		name, body, field string
	}{
		{"no items", `{}`, "items"},
		{"empty items", `{"items":[]}`, "items"},
		{"51 items", `{"items":[` + fifty + `]}`, "items"},
		{"lower-case sku", `{"items":[{"sku":"a-1","quantity":1}]}`, "items[0].sku"},
		{"sku with a space", `{"items":[{"sku":"A 1","quantity":1}]}`, "items[0].sku"},
		{"empty sku", `{"items":[{"sku":"","quantity":1}]}`, "items[0].sku"},
		{"65-character sku", `{"items":[{"sku":"` + strings.Repeat("A", 65) + `","quantity":1}]}`, "items[0].sku"},
		{"zero quantity", `{"items":[{"sku":"A-1","quantity":0}]}`, "items[0].quantity"},
		{"1001 quantity", `{"items":[{"sku":"A-1","quantity":1001}]}`, "items[0].quantity"},
		{"fractional quantity", `{"items":[{"sku":"A-1","quantity":1.5}]}`, "items[0].quantity"},
		{"huge quantity", `{"items":[{"sku":"A-1","quantity":1e400}]}`, "items[0].quantity"},
		{"long note", `{"items":[` + item + `],"note":"` + strings.Repeat("é", 501) + `"}`, "note"},
		// Mass assignment: every server-controlled field is refused.
		{"tenantId", `{"items":[` + item + `],"tenantId":"` + rampart.NewID() + `"}`, "tenantId"},
		{"ownerId", `{"items":[` + item + `],"ownerId":"` + rampart.NewID() + `"}`, "ownerId"},
		{"status", `{"items":[` + item + `],"status":"fulfilled"}`, "status"},
		{"id", `{"items":[` + item + `],"id":"` + rampart.NewID() + `"}`, "id"},
		{"role", `{"items":[` + item + `],"role":"admin"}`, "role"},
		{"createdAt", `{"items":[` + item + `],"createdAt":"2020-01-01T00:00:00Z"}`, "createdAt"},
		{"Items in another case", `{"Items":[` + item + `]}`, "Items"},
		{"unknown item field", `{"items":[{"sku":"A-1","quantity":1,"price":0}]}`, "items[0].price"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("POST", "/v1/orders", tok, tc.body)
			var p Problem
			r.json(t, &p)
			if r.Code != 422 || len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Fatalf("%d %s, want 422 naming %s", r.Code, r.Body, tc.field)
			}
		})
	}
	o := a.do("POST", "/v1/orders", tok, `{"items":[`+strings.Repeat(item+",", 49)+item+`],"note":"`+strings.Repeat("é", 500)+`"}`)
	if o.Code != 201 {
		t.Fatalf("50 items and a 500-character note: %d %s", o.Code, o.Body)
	}
	var created orderResponse
	o.json(t, &created)
	for _, body := range []string{
		`{"ownerId":"` + rampart.NewID() + `"}`, `{"tenantId":"x"}`, `{"items":[` + item + `]}`, `{"total":0}`, `{"id":"x"}`,
		`{"status":"shipped"}`, `{"note":null,"note":"x"}`,
	} {
		if r := a.do("PATCH", "/v1/orders/"+created.ID, tok, body); r.Code != 422 && r.Code != 400 {
			t.Errorf("PATCH %s: %d, want 422 (400 for the duplicate)", body, r.Code)
		}
	}
	var after orderResponse
	a.do("GET", "/v1/orders/"+created.ID, tok, nil).json(t, &after)
	if after.OwnerID != created.OwnerID || after.TenantID != created.TenantID || len(after.Items) != 50 || after.Status != "pending" {
		t.Errorf("a refused PATCH changed the order: %+v", after)
	}
}

func TestOrderListing(t *testing.T) {
	a := newTestApp(t)
	tenant, admin := a.newTenant()
	alice, bob := a.newUser(tenant, rampart.RoleMember), a.newUser(tenant, rampart.RoleMember)
	otherTenant, otherAdmin := a.newTenant()
	var aliceOrders, all []string
	for i := range 5 {
		a.clock.Advance(time.Second)
		o := a.newOrder(alice)
		aliceOrders = append(aliceOrders, o.ID)
		all = append(all, o.ID)
		if i%2 == 0 {
			a.clock.Advance(time.Second)
			all = append(all, a.newOrder(bob).ID)
		}
	}
	a.newOrder(a.newUser(otherTenant, rampart.RoleMember))
	slices.Reverse(aliceOrders)
	slices.Reverse(all)
	aliceTok, bobTok, adminTok := a.token(alice), a.token(bob), a.token(admin)
	_, readKey := a.newAPIKey(admin, rampart.ScopeOrdersRead)

	list := func(tok, query string) ([]string, string) {
		t.Helper()
		r := a.do("GET", "/v1/orders"+query, tok, nil)
		if r.Code != 200 {
			t.Fatalf("GET /v1/orders%s: %d %s", query, r.Code, r.Body)
		}
		var l listPage[orderResponse]
		r.json(t, &l)
		var ids []string
		for _, o := range l.Items {
			ids = append(ids, o.ID)
		}
		return ids, l.NextCursor
	}
	collect := func(tok string) []string {
		var ids []string
		cursor := ""
		for {
			page, next := list(tok, "?limit=2&cursor="+cursor)
			ids = append(ids, page...)
			if next == "" {
				return ids
			}
			cursor = next
		}
	}
	if got := collect(aliceTok); !slices.Equal(got, aliceOrders) {
		t.Errorf("the member's pages: %v, want her own, newest first: %v", got, aliceOrders)
	}
	if got := collect(adminTok); !slices.Equal(got, all) {
		t.Errorf("the admin's pages: %v, want the tenant's: %v", got, all)
	}
	if got := collect(readKey); !slices.Equal(got, all) {
		t.Errorf("the key's pages: %v, want the tenant's: %v", got, all)
	}
	if got, _ := list(a.token(otherAdmin), ""); len(got) != 1 {
		t.Errorf("the other tenant's admin sees %d orders, want their 1", len(got))
	}

	// Cursors are bound to who listed, in which tenant, and cannot be
	// edited.
	_, aliceCursor := list(aliceTok, "?limit=1")
	_, adminCursor := list(adminTok, "?limit=1")
	for name, tc := range map[string]struct{ tok, cursor string }{
		"another member's cursor":             {bobTok, aliceCursor},
		"the admin's cursor by a member":      {aliceTok, adminCursor},
		"a member's cursor by the admin":      {adminTok, aliceCursor},
		"another tenant's admin":              {a.token(otherAdmin), adminCursor},
		"a flipped byte":                      {aliceTok, flip(aliceCursor)},
		"a truncated cursor":                  {aliceTok, aliceCursor[:len(aliceCursor)-3]},
		"a cursor of another listing":         {adminTok, sessionCursor(t, a, admin)},
		"not base64":                          {aliceTok, "!!!"},
		"a forged cursor of the right length": {aliceTok, strings.Repeat("A", len(aliceCursor))},
	} {
		if r := a.do("GET", "/v1/orders?cursor="+tc.cursor, tc.tok, nil); r.Code != 422 {
			t.Errorf("%s: %d, want 422", name, r.Code)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=-1", "?limit=1&limit=2", "?owner=" + bob.ID, "?tenant_id=" + otherTenant} {
		if r := a.do("GET", "/v1/orders"+q, aliceTok, nil); r.Code != 422 {
			t.Errorf("%s: %d, want 422", q, r.Code)
		}
	}
	// A tenant header is no way into another tenant.
	req := newRequest("GET", "/v1/orders", aliceTok)
	req.Header.Set("X-Tenant-ID", otherTenant)
	if r := a.serve(req); r.Code != 200 || strings.Contains(r.Body.String(), otherTenant) {
		t.Errorf("X-Tenant-ID: %d %s", r.Code, r.Body)
	}
}

// flip changes one character in the middle of a cursor.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// sessionCursor returns a valid cursor of u's session listing.
func sessionCursor(t *testing.T, a *testApp, u *rampart.User) string {
	t.Helper()
	a.newSession(u)
	a.newSession(u)
	var l listPage[sessionResponse]
	a.do("GET", "/v1/me/sessions?limit=1", a.token(u), nil).json(t, &l)
	if l.NextCursor == "" {
		t.Fatal("no session cursor")
	}
	return l.NextCursor
}
