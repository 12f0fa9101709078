package httpapi

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
)

// TestEveryDocumentedBoundIsEnforced walks every property of every request
// body, at any depth, and every query parameter of the served document.
// For each bound the document states (minLength, maxLength, minimum,
// maximum, minItems, maxItems, enum, pattern, format email) it sends a
// value on the bound, which validation must accept, and one past it, which
// must be refused with 422 naming the field. Every value comes from the
// document itself, so a field added later is covered without touching this
// test. The server runs with a password minimum of 20 and a body limit of
// 4096 bytes, not the defaults, to show the document states the running
// configuration.
func TestEveryDocumentedBoundIsEnforced(t *testing.T) {
	const configuredMinimum = 20
	a := newTestAppWith(t, appConfig{policy: &password.Policy{MinLength: configuredMinimum}, maxBodyBytes: 4096})
	doc := fetchOpenAPI(t, a.handler)
	w := &boundWalker{t: t, a: a, doc: doc, rng: rand.New(rand.NewPCG(1, 2))}

	paths := doc["paths"].(map[string]any)
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := paths[path].(map[string]any)
		for _, method := range slices.Sorted(maps.Keys(item)) {
			op := item[method].(map[string]any)
			w.op = strings.ToUpper(method) + " " + path
			w.method, w.path, w.public = strings.ToUpper(method), strings.ReplaceAll(path, "{id}", rampart.NewID()), op["security"] == nil
			for _, p := range asSlice(op["parameters"]) {
				p := p.(map[string]any)
				if p["in"] == "query" {
					w.walkQuery(p["name"].(string), p["schema"].(map[string]any))
				}
			}
			if body, ok := op["requestBody"].(map[string]any); ok {
				s := body["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
				w.body = w.resolve(s)
				w.walkObject(w.body, nil)
				w.walkBodySize(body)
			}
		}
	}

	t.Logf("checked %d bounds", len(w.checked))
	// The walk must have reached what it exists for: the configured
	// password minimum on every route that sets a password, and bounds at
	// depth.
	for _, want := range []string{
		"POST /v1/signup password minLength=20", "POST /v1/invitations/accept password minLength=20",
		"POST /v1/me/password newPassword minLength=20", "POST /v1/signup password maxLength=128",
		"POST /v1/orders items[0].sku pattern", "POST /v1/orders items[0].quantity maximum=1000",
		"POST /v1/api-keys scopes[0] enum", "GET /v1/orders limit maximum=100", "GET /v1/audit-events type pattern",
		"POST /v1/orders body x-rampart-max-bytes=4096",
	} {
		if !slices.Contains(w.checked, want) {
			t.Errorf("the walk did not check %q; it checked %d bounds: %v", want, len(w.checked), w.checked)
		}
	}
}

type boundWalker struct {
	t   *testing.T
	a   *testApp
	doc map[string]any
	rng *rand.Rand

	op, method, path string
	public           bool
	body             map[string]any // the operation's request body schema
	checked          []string
}

// opaque query parameters are values only the server makes (a cursor is
// signed): any other value is refused whatever its length, so only the
// refusal past their bounds is checked.
var opaqueParameters = map[string]bool{"cursor": true}

// stateful members must equal what the server holds for the caller before
// it looks further (the current password, before a new one is judged); the
// walk sends the fixture's value in them unless it is testing them.
var statefulMembers = map[string]string{"currentPassword": testPassword}

func (w *boundWalker) walkQuery(name string, s map[string]any) {
	for _, c := range w.cases(s) {
		if c.accept && opaqueParameters[name] {
			continue
		}
		q := url.Values{name: {fmt.Sprint(c.value)}}
		r := w.send(w.path+"?"+q.Encode(), nil)
		w.judge(name, c, r)
	}
}

// walkBodySize sends a body of exactly the documented size, which must not
// be refused as too large, and one byte more, which must be (413).
func (w *boundWalker) walkBodySize(body map[string]any) {
	limit, ok := intOf(body["x-rampart-max-bytes"])
	if !ok {
		w.t.Errorf("%s: the request body states no size limit", w.op)
		return
	}
	name := w.op + " body x-rampart-max-bytes=" + strconv.Itoa(limit)
	w.checked = append(w.checked, name)
	for _, size := range []int{limit, limit + 1} {
		padded := "{}" + strings.Repeat(" ", size-2) // valid JSON of exactly size bytes
		r := w.send(w.path, padded)
		if tooLarge := r.Code == http.StatusRequestEntityTooLarge; tooLarge != (size > limit) {
			w.t.Errorf("%s: a body of %d bytes got %d", name, size, r.Code)
		}
	}
}

// walkObject visits each property of obj, which sits at the member path
// prefix inside the body.
func (w *boundWalker) walkObject(obj map[string]any, prefix []any) {
	props := obj["properties"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(props)) {
		w.walkValue(w.resolve(props[name].(map[string]any)), append(slices.Clone(prefix), name))
	}
}

func (w *boundWalker) walkValue(s map[string]any, at []any) {
	for _, c := range w.cases(s) {
		body := w.validBody(at, c.value)
		w.judge(fieldName(at), c, w.send(w.path, body))
	}
	switch s["type"] {
	case "object":
		w.walkObject(s, at)
	case "array":
		if items := w.resolve(s["items"].(map[string]any)); items["type"] == "object" || items["enum"] != nil {
			w.walkValue(items, append(slices.Clone(at), 0))
		}
	}
}

// boundCase is one value to send: on a bound (accept) or one past it.
type boundCase struct {
	bound  string // "maxLength=128"
	value  any
	accept bool
}

// cases lists the bound cases of a leaf schema.
func (w *boundWalker) cases(s map[string]any) []boundCase {
	var cs []boundCase
	add := func(bound string, v any, accept bool) { cs = append(cs, boundCase{bound, v, accept}) }
	switch s["type"] {
	case "string":
		if enum := asSlice(s["enum"]); enum != nil {
			for _, e := range enum {
				add("enum", e, true)
			}
			add("enum", "not-"+fmt.Sprint(enum[0]), false)
			return cs
		}
		if hi, ok := intOf(s["maxLength"]); ok {
			add("maxLength="+strconv.Itoa(hi), w.str(s, hi), true)
			add("maxLength="+strconv.Itoa(hi), w.str(s, hi+1), false)
		}
		if lo, ok := intOf(s["minLength"]); ok && lo > 0 {
			add("minLength="+strconv.Itoa(lo), w.str(s, lo), true)
			add("minLength="+strconv.Itoa(lo), w.str(s, lo-1), false)
		}
		if pat, ok := s["pattern"].(string); ok {
			if bad, ok := w.breakPattern(s, regexp.MustCompile(pat)); ok {
				add("pattern", bad, false)
			}
		}
		if s["format"] == "email" {
			add("format=email", "not-an-address", false)
		}
	case "integer":
		if lo, ok := intOf(s["minimum"]); ok {
			add("minimum="+strconv.Itoa(lo), lo, true)
			add("minimum="+strconv.Itoa(lo), lo-1, false)
		}
		if hi, ok := intOf(s["maximum"]); ok {
			add("maximum="+strconv.Itoa(hi), hi, true)
			add("maximum="+strconv.Itoa(hi), hi+1, false)
		}
	case "array":
		items := w.resolve(s["items"].(map[string]any))
		if lo, ok := intOf(s["minItems"]); ok {
			add("minItems="+strconv.Itoa(lo), w.array(items, lo), true)
			if lo > 0 {
				add("minItems="+strconv.Itoa(lo), w.array(items, lo-1), false)
			}
		}
		if hi, ok := intOf(s["maxItems"]); ok {
			add("maxItems="+strconv.Itoa(hi), w.array(items, hi), true)
			add("maxItems="+strconv.Itoa(hi), w.array(items, hi+1), false)
		}
	}
	return cs
}

// judge checks the server's answer to one case: an accepted value may get
// any answer but a 400 or a 422 (the request then fails later, on the
// state, which is not validation's business); a refused one gets 422
// naming the field.
func (w *boundWalker) judge(field string, c boundCase, r response) {
	w.t.Helper()
	name := w.op + " " + field + " " + c.bound
	w.checked = append(w.checked, name)
	var p Problem
	if r.Header().Get("Content-Type") == "application/problem+json" {
		r.json(w.t, &p)
	}
	named := slices.ContainsFunc(p.Errors, func(e FieldError) bool { return e.Field == field })
	switch {
	case r.Code >= 500:
		w.t.Errorf("%s = %.40q: %d %s", name, fmt.Sprint(c.value), r.Code, r.Body)
	case c.accept && p.Type == problemTypeBase+"invalid-link":
		// Past the edge: the value was accepted, and the link the walk
		// cannot hold (a single-use token) was judged by the domain.
	case c.accept && (r.Code == http.StatusBadRequest || r.Code == http.StatusUnprocessableEntity):
		w.t.Errorf("%s: the value on the bound (%.40q) was refused: %d %s", name, fmt.Sprint(c.value), r.Code, r.Body)
	case !c.accept && (r.Code != http.StatusUnprocessableEntity || !named):
		w.t.Errorf("%s: the value past the bound (%.40q) was not refused with 422 naming %s: %d %s",
			name, fmt.Sprint(c.value), field, r.Code, r.Body)
	}
}

// send makes the request as a fresh tenant admin (public routes: without a
// credential), so that no case depends on what another left behind.
func (w *boundWalker) send(target string, body any) response {
	bearer := ""
	if !w.public {
		_, admin := w.a.newTenant()
		bearer = w.a.token(admin)
	}
	if body == nil && w.method != http.MethodGet {
		body = map[string]any{}
	}
	return w.a.do(w.method, target, bearer, body)
}

// validBody returns a valid body of the current operation with the member
// at path set to v.
func (w *boundWalker) validBody(at []any, v any) map[string]any {
	body := w.valid(w.body).(map[string]any)
	setAt(body, at, v)
	return body
}

// valid returns a value that satisfies s: required members only, strings
// of a middling length, the smallest numbers and arrays.
func (w *boundWalker) valid(s map[string]any) any {
	switch s["type"] {
	case "object":
		obj := map[string]any{}
		props := s["properties"].(map[string]any)
		for _, name := range asSlice(s["required"]) {
			name := name.(string)
			if v, ok := statefulMembers[name]; ok {
				obj[name] = v
				continue
			}
			obj[name] = w.valid(w.resolve(props[name].(map[string]any)))
		}
		return obj
	case "array":
		lo, _ := intOf(s["minItems"])
		return w.array(w.resolve(s["items"].(map[string]any)), max(lo, 1))
	case "integer":
		lo, _ := intOf(s["minimum"])
		return lo
	case "boolean":
		return false
	case "string":
		if enum := asSlice(s["enum"]); enum != nil {
			return enum[0]
		}
		return w.str(s, w.middling(s, 24))
	}
	w.t.Fatalf("%s: no valid value for schema %v", w.op, s)
	return nil
}

// middling is a length near want that s allows.
func (w *boundWalker) middling(s map[string]any, want int) int {
	lo, _ := intOf(s["minLength"])
	length := max(lo, want)
	if hi, ok := intOf(s["maxLength"]); ok {
		length = min(length, hi)
	}
	return length
}

func (w *boundWalker) array(items map[string]any, n int) []any {
	out := make([]any, n)
	enum := asSlice(items["enum"])
	for i := range out {
		if enum != nil {
			out[i] = enum[i%len(enum)] // distinct while there are enough
		} else {
			out[i] = w.valid(items)
		}
	}
	return out
}

// str returns a string of n characters that obeys s's format and pattern:
// random lowercase letters (which no password policy finds common), or
// the first alphabet the pattern accepts.
func (w *boundWalker) str(s map[string]any, n int) string {
	switch s["format"] {
	case "email":
		const domain = "@example.com"
		return w.randomOf("abcdefghijklmnopqrstuvwxyz", max(n-len(domain), 1)) + domain
	case "date-time":
		// A future instant, padded with fractional digits to n characters.
		const head, tail = "2099-01-02T15:04:05", "+00:00"
		if n <= len(head)+len(tail)+1 {
			return head + "Z"
		}
		return head + "." + strings.Repeat("1", n-len(head)-len(tail)-1) + tail
	}
	// The alphabet is chosen on a sample of an allowed length, so that a
	// string one past a length bound still has only allowed characters.
	pat, _ := s["pattern"].(string)
	for _, alphabet := range []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"} {
		sample := w.randomOf(alphabet, max(w.middling(s, n), 1))
		if pat == "" || regexp.MustCompile(pat).MatchString(sample) {
			return w.randomOf(alphabet, n)
		}
	}
	w.t.Fatalf("%s: no alphabet fits pattern %q", w.op, pat)
	return ""
}

func (w *boundWalker) randomOf(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[w.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// breakPattern returns a string of valid length with one character that
// the pattern refuses, or false when no candidate is refused.
func (w *boundWalker) breakPattern(s map[string]any, re *regexp.Regexp) (string, bool) {
	good := []rune(w.str(s, w.middling(s, 3)))
	for _, c := range []rune{'\x01', '\x1b', '!', 'a', 'A', ' ', 'é'} {
		bad := slices.Clone(good)
		bad[len(bad)/2] = c
		if !re.MatchString(string(bad)) {
			return string(bad), true
		}
	}
	return "", false
}

// resolve follows a local $ref.
func (w *boundWalker) resolve(s map[string]any) map[string]any {
	ref, ok := s["$ref"].(string)
	if !ok {
		return s
	}
	name := strings.TrimPrefix(ref, "#/components/schemas/")
	return w.doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
}

// setAt sets the member at path (names and array indexes) inside body.
func setAt(body map[string]any, at []any, v any) {
	var cur any = body
	for i, step := range at {
		last := i == len(at)-1
		switch key := step.(type) {
		case string:
			obj := cur.(map[string]any)
			if last {
				obj[key] = v
				return
			}
			cur = obj[key]
		case int:
			arr := cur.([]any)
			if last {
				arr[key] = v
				return
			}
			cur = arr[key]
		}
	}
}

// fieldName is the path a FieldError uses: "items[0].sku".
func fieldName(at []any) string {
	var b strings.Builder
	for _, step := range at {
		switch s := step.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			b.WriteString("[" + strconv.Itoa(s) + "]")
		}
	}
	return b.String()
}

func intOf(v any) (int, bool) {
	f, ok := v.(float64)
	return int(f), ok
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
