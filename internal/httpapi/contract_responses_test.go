package httpapi

import (
	"encoding/base32"
	"encoding/json/v2"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"example.com/rampart/internal/totp"
)

// TestResponsesMatchTheDocument drives the main flows and checks every
// answer, errors included, against the schema the document gives for its
// operation and status: the bounds, patterns and formats stated for values
// only the server writes (ids, tokens, secrets, codes) are true of what it
// writes.
func TestResponsesMatchTheDocument(t *testing.T) {
	a := newTestApp(t)
	doc := fetchOpenAPI(t, a.handler)
	checked := 0
	check := func(method, route, path, bearer string, body any) map[string]any {
		t.Helper()
		r := a.do(method, path, bearer, body)
		op, ok := doc["paths"].(map[string]any)[route].(map[string]any)[strings.ToLower(method)].(map[string]any)
		if !ok {
			t.Fatalf("%s %s is not documented", method, route)
		}
		resp, ok := op["responses"].(map[string]any)[strconv.Itoa(r.Code)].(map[string]any)
		if !ok {
			t.Errorf("%s %s answered %d, which the document does not list: %s", method, path, r.Code, r.Body)
			return nil
		}
		checked++
		content, _ := resp["content"].(map[string]any)
		if content == nil {
			if r.Body.Len() != 0 {
				t.Errorf("%s %s %d: a body the document does not describe", method, path, r.Code)
			}
			return nil
		}
		media, ok := content[r.Header().Get("Content-Type")].(map[string]any)
		if !ok {
			t.Errorf("%s %s %d: Content-Type %q not documented", method, path, r.Code, r.Header().Get("Content-Type"))
			return nil
		}
		var v any
		if err := json.Unmarshal(r.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		for _, e := range conforms(doc, media["schema"].(map[string]any), v, "") {
			t.Errorf("%s %s %d: %s", method, path, r.Code, e)
		}
		out, _ := v.(map[string]any)
		return out
	}

	email := "contract-" + strconv.Itoa(int(time.Now().UnixNano()%1e6)) + "@example.com"
	check("POST", "/v1/signup", "/v1/signup", "", map[string]string{"email": email, "password": testPassword,
		"displayName": "Contract Tester", "organization": "Contract Org"})
	tok := check("POST", "/v1/auth/login", "/v1/auth/login", "", map[string]string{"email": email, "password": testPassword})
	tok = check("POST", "/v1/auth/refresh", "/v1/auth/refresh", "", map[string]string{"refreshToken": tok["refreshToken"].(string)})
	access := tok["accessToken"].(string)
	check("GET", "/v1/me", "/v1/me", access, nil)
	check("PATCH", "/v1/me", "/v1/me", access, map[string]string{"displayName": "Renamed"})
	check("GET", "/v1/me/sessions", "/v1/me/sessions", access, nil)
	enrol := check("POST", "/v1/me/mfa/totp", "/v1/me/mfa/totp", access, nil)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enrol["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	codes := check("POST", "/v1/me/mfa/totp/confirm", "/v1/me/mfa/totp/confirm", access, map[string]string{"code": totp.Code(secret, a.clock.Now())})
	if len(asSlice(codes["recoveryCodes"])) == 0 {
		t.Fatalf("TOTP confirmation returned no recovery codes: %v", codes)
	}
	order := check("POST", "/v1/orders", "/v1/orders", access, map[string]any{
		"items": []any{map[string]any{"sku": "SKU-1", "quantity": 2}}, "note": "leave at the door"})
	check("GET", "/v1/orders/{id}", "/v1/orders/"+order["id"].(string), access, nil)
	check("PATCH", "/v1/orders/{id}", "/v1/orders/"+order["id"].(string), access, map[string]any{"status": "cancelled"})
	check("GET", "/v1/orders", "/v1/orders?limit=1", access, nil)
	check("POST", "/v1/api-keys", "/v1/api-keys", access, map[string]any{"name": "ci", "scopes": []string{"orders:read"}})
	check("GET", "/v1/api-keys", "/v1/api-keys", access, nil)
	check("GET", "/v1/users", "/v1/users", access, nil)
	check("GET", "/v1/audit-events", "/v1/audit-events", access, nil)
	check("GET", "/healthz", "/healthz", "", nil)
	check("GET", "/readyz", "/readyz", "", nil)
	// Errors: problem details are described too.
	check("GET", "/v1/orders/{id}", "/v1/orders/not-an-id", access, nil)
	check("POST", "/v1/orders", "/v1/orders", access, map[string]any{"items": []any{}, "bogus\x01": 1})
	check("GET", "/v1/me", "/v1/me", "", nil)
	check("GET", "/v1/me", "/v1/me", "not-a-token", nil)
	check("POST", "/v1/auth/login", "/v1/auth/login", "", map[string]string{"email": email, "password": "wrong password"})
	if checked < 20 {
		t.Fatalf("only %d responses checked", checked)
	}
}

// conforms checks v against the subset of JSON Schema the document uses
// and returns what does not hold.
func conforms(doc map[string]any, s map[string]any, v any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		s = doc["components"].(map[string]any)["schemas"].(map[string]any)[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	switch s["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			fail("not an object")
			break
		}
		props, _ := s["properties"].(map[string]any)
		for _, name := range asSlice(s["required"]) {
			if _, ok := obj[name.(string)]; !ok {
				fail("required member %s missing", name)
			}
		}
		for name, child := range obj {
			ps, ok := props[name].(map[string]any)
			if !ok {
				if props != nil {
					fail("member %s not in the schema", name)
				}
				continue
			}
			errs = append(errs, conforms(doc, ps, child, at+"."+name)...)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			fail("not an array")
			break
		}
		if hi, ok := intOf(s["maxItems"]); ok && len(arr) > hi {
			fail("%d items, more than %d", len(arr), hi)
		}
		for i, child := range arr {
			errs = append(errs, conforms(doc, s["items"].(map[string]any), child, at+"["+strconv.Itoa(i)+"]")...)
		}
	case "integer":
		f, ok := v.(float64)
		lo, hasLo := intOf(s["minimum"])
		hi, hasHi := intOf(s["maximum"])
		if !ok || f != float64(int64(f)) || hasLo && f < float64(lo) || hasHi && f > float64(hi) {
			fail("%v is not an integer within the bounds", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("not a boolean")
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("not a string")
			break
		}
		n := utf8.RuneCountInString(str)
		if hi, ok := intOf(s["maxLength"]); ok && n > hi {
			fail("%d characters, more than %d", n, hi)
		}
		if lo, ok := intOf(s["minLength"]); ok && n < lo {
			fail("%d characters, fewer than %d", n, lo)
		}
		if pat, ok := s["pattern"].(string); ok && !regexp.MustCompile(pat).MatchString(str) {
			fail("%q does not match %s", str, pat)
		}
		if enum := asSlice(s["enum"]); enum != nil && !slices.Contains(enum, any(str)) {
			fail("%q is not one of %v", str, enum)
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not a date-time", str)
			}
		case "uuid":
			if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(str) {
				fail("%q is not a UUID", str)
			}
		case "uri":
			if u, err := url.Parse(str); err != nil || u.Scheme == "" {
				fail("%q is not a URI", str)
			}
		case "email":
			if !isEmail(str) {
				fail("%q is not an email address", str)
			}
		}
	}
	return errs
}
