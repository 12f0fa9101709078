package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// fieldMessages sends a request and returns its 422 field messages by field.
func fieldMessages(t *testing.T, a *testApp, method, path, bearer string, body any) map[string]string {
	t.Helper()
	r := a.do(method, path, bearer, body)
	if r.Code != http.StatusUnprocessableEntity {
		t.Fatalf("%s %s %v: %d %s, want 422", method, path, body, r.Code, r.Body)
	}
	var p Problem
	r.json(t, &p)
	out := map[string]string{}
	for _, e := range p.Errors {
		out[e.Field] = e.Message
	}
	return out
}

// TestFieldMessagesSayWhatIsExpected: a person reading a field error learns
// what to send. A missing member "is required" (not "must be at least 1
// characters"), a pattern names its allowed characters, and numbers, lists
// and dates say their range or form.
func TestFieldMessagesSayWhatIsExpected(t *testing.T) {
	a := newTestApp(t)
	_, admin := a.newTenant()
	bearer := a.token(admin)
	long := strings.Repeat("x", 501)

	cases := []struct {
		method, path string
		body         any
		want         map[string]string
	}{
		{"POST", "/v1/signup", map[string]any{"email": "nope", "password": testPassword, "organization": "A"},
			map[string]string{
				"email":        "must be an email address such as name@example.com",
				"displayName":  "is required",
				"organization": "must be 2 to 100 characters, without control characters",
			}},
		{"POST", "/v1/orders", map[string]any{"items": []any{map[string]any{"sku": "abc", "quantity": 0}, map[string]any{"quantity": 1}}, "note": long},
			map[string]string{
				"items[0].sku":      "must be 1 to 64 characters of A-Z, 0-9 and -",
				"items[0].quantity": "must be a whole number from 1 to 1000",
				"items[1].sku":      "is required",
				"note":              "must be at most 500 characters, without control characters other than tab and line breaks",
			}},
		{"POST", "/v1/orders", map[string]any{"items": []any{}}, map[string]string{"items": "is required"}},
		{"POST", "/v1/api-keys", map[string]any{"name": "k", "scopes": []string{"orders:read", "everything"}, "expiresAt": "tomorrow"},
			map[string]string{"expiresAt": "must be an RFC 3339 date-time such as 2030-01-31T12:00:00Z, at most 35 characters"}},
		{"POST", "/v1/api-keys", map[string]any{"name": "k\nnext line", "scopes": []string{"orders:read", "everything"}},
			map[string]string{
				"name":      "must be 1 to 100 characters, without control characters",
				"scopes[1]": "must be one of: orders:read, orders:write, users:read, users:write, audit:read",
			}},
		{"GET", "/v1/orders?limit=0", nil, map[string]string{"limit": "must be a whole number from 1 to 100"}},
		{"GET", "/v1/audit-events?type=User.Login", nil,
			map[string]string{"type": "must be 1 to 64 characters of a-z, 0-9, _ and ., starting with a letter, such as user.login"}},
	}
	for _, c := range cases {
		got := fieldMessages(t, a, c.method, c.path, bearer, c.body)
		for field, want := range c.want {
			if got[field] != want {
				t.Errorf("%s %s: %s says %q, want %q", c.method, c.path, field, got[field], want)
			}
		}
	}
}

// TestEveryMissingMemberIsRequired sends an empty object to every operation
// of the served document that takes a body: each required string or array
// member is reported as "is required", whatever its length rule.
func TestEveryMissingMemberIsRequired(t *testing.T) {
	a := newTestApp(t)
	doc := fetchOpenAPI(t, a.handler)
	w := &boundWalker{t: t, a: a, doc: doc}
	checked := 0
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			body, ok := op.(map[string]any)["requestBody"].(map[string]any)
			if !ok {
				continue
			}
			s := w.resolve(body["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any))
			required := asSlice(s["required"])
			if len(required) == 0 {
				continue
			}
			_, admin := a.newTenant()
			target := strings.ReplaceAll(path, "{id}", admin.ID)
			got := fieldMessages(t, a, strings.ToUpper(method), target, a.token(admin), map[string]any{})
			for _, name := range required {
				prop := w.resolve(s["properties"].(map[string]any)[name.(string)].(map[string]any))
				if !slices.Contains([]any{"string", "array"}, prop["type"]) {
					continue
				}
				checked++
				if got[name.(string)] != "is required" {
					t.Errorf("%s %s: missing %s says %q, want \"is required\"", method, path, name, got[name.(string)])
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d required members checked: the walk lost its way", checked)
	}
}

// TestFieldPathsCannotForgeLines: an unknown member's name is echoed in the
// field error, so its control characters are replaced and its length is
// bounded as the document says; a name cannot break a log line or a
// terminal, nor make the answer as large as the body.
func TestFieldPathsCannotForgeLines(t *testing.T) {
	a := newTestApp(t)
	_, admin := a.newTenant()
	for _, name := range []string{"evil\n{\"level\":\"ERROR\"}\x1b[31m", strings.Repeat("n", 5000)} {
		got := fieldMessages(t, a, "POST", "/v1/orders", a.token(admin), map[string]any{name: 1})
		if len(got) != 1 {
			t.Fatalf("errors %v", got)
		}
		for field, msg := range got {
			if strings.ContainsFunc(field, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len([]rune(field)) > maxFieldPathLength {
				t.Errorf("field path %.60q (%d characters) echoed as sent", field, len(field))
			}
			if msg != "is not a known field" {
				t.Errorf("message %q", msg)
			}
		}
	}
}
