package httpapi

import (
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// A request body's fields name their rule in a `validate` tag, such as
// `validate:"displayName"`: an entry of fieldRules (rules.go), where every
// limit is written once. The same rule drives validation (validate), the
// field message and the OpenAPI schema (schemaWithRule). A field without a
// tag has no rule beyond its JSON type.
//
// A non-pointer field is required: absent or empty, it "is required". A
// pointer field is optional: nil means "absent" and is not checked.
type rule struct {
	min, max *int           // characters of a string, items of an array, or an integer's value
	format   string         // "email" is checked; the rest ("uuid", "uri", "password", ...) only describe
	pattern  *regexp.Regexp // a string must match it
	chars    string         // the pattern's allowed characters, in words, for the field message
	enum     []string       // the only strings allowed
	items    *rule          // the rule of each element of an array
	// password: the length is the configured password policy's, which
	// the domain applies (with the common-password list); the document
	// publishes it per server (openAPIConfig).
	password bool
}

type fieldInfo struct {
	index []int
	name  string // the JSON member name
	typ   reflect.Type
	rule  rule
	// optional: a pointer (absent is nil) or a response member left out
	// when zero (omitzero); every other member is required.
	optional bool
}

type typeInfo struct {
	fields []fieldInfo
}

var typeInfos sync.Map // reflect.Type → *typeInfo

// describe returns the parsed fields of struct type t. A malformed tag is a
// programming error and panics; every route's body type is described when the
// server is built, so such a mistake stops the server and its tests at once.
func describe(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{}
	for _, sf := range reflect.VisibleFields(t) {
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		r, err := ruleNamed(sf.Tag.Get("validate"))
		if err != nil {
			panic(fmt.Sprintf("httpapi: %s.%s: %v", t.Name(), sf.Name, err))
		}
		ti.fields = append(ti.fields, fieldInfo{index: sf.Index, name: name, typ: sf.Type, rule: r,
			optional: sf.Type.Kind() == reflect.Pointer || strings.Contains(opts, "omitzero") || strings.Contains(opts, "omitempty")})
		if et := elemStruct(sf.Type); et != nil {
			describe(et)
		}
	}
	actual, _ := typeInfos.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// elemStruct returns the struct type found under pointers and slices of t,
// or nil when there is none.
func elemStruct(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && t != timeType {
		return t
	}
	return nil
}

// ruleNamed returns the rule a `validate` tag names; an empty tag is no rule.
func ruleNamed(tag string) (rule, error) {
	if tag == "" {
		return rule{}, nil
	}
	r, ok := fieldRules[tag]
	if !ok {
		return rule{}, fmt.Errorf("validate tag %q names no rule of fieldRules (rules.go); limits are written there, once, not in tags", tag)
	}
	return r, nil
}

// validate checks v (a pointer to a struct) and returns one FieldError per
// broken rule, in field order.
func validate(v any) []FieldError {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	var errs []FieldError
	validateStruct(rv, "", &errs)
	return errs
}

func validateStruct(rv reflect.Value, prefix string, errs *[]FieldError) {
	for _, f := range describe(rv.Type()).fields {
		path := f.name
		if prefix != "" {
			path = prefix + "." + f.name
		}
		validateValue(rv.FieldByIndex(f.index), f.rule, path, !f.optional, errs)
	}
}

func validateValue(v reflect.Value, r rule, path string, required bool, errs *[]FieldError) {
	fail := func(msg string) { *errs = append(*errs, FieldError{Field: path, Message: msg}) }
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if s == "" && required {
			fail("is required")
			return
		}
		if msg := checkString(s, r); msg != "" {
			fail(msg)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if !withinBounds(v.Int(), r) {
			fail(ruleMessage(r, reflect.Int))
		}
	case reflect.Slice:
		n := v.Len()
		if n == 0 && required {
			fail("is required")
			return
		}
		if !withinBounds(int64(n), r) {
			fail(ruleMessage(r, reflect.Slice))
			return
		}
		for i := range n {
			elem := rule{}
			if r.items != nil {
				elem = *r.items
			}
			validateValue(v.Index(i), elem, path+"["+strconv.Itoa(i)+"]", true, errs)
		}
	case reflect.Struct:
		if v.Type() != timeType {
			validateStruct(v, path, errs)
		}
	}
}

// boundFields keeps a problem's field errors within the document's bounds:
// at most maxFieldErrors of them, and a field path (which may echo a
// client's unknown member or query parameter name) of at most
// maxFieldPathLength characters, with any control character replaced, so
// nothing a client sent can forge a line in a log or a terminal.
func boundFields(fields []FieldError) []FieldError {
	if len(fields) > maxFieldErrors {
		fields = fields[:maxFieldErrors]
	}
	for i, f := range fields {
		if len(f.Field) > maxFieldPathLength || !singleLineText.MatchString(f.Field) {
			runes := []rune(f.Field)
			runes = runes[:min(len(runes), maxFieldPathLength)]
			for j, c := range runes {
				if c < 0x20 || c == 0x7f {
					runes[j] = utf8.RuneError
				}
			}
			fields[i].Field = string(runes)
		}
	}
	return fields
}

// checkString returns the field message for s under r, or "" when s obeys it.
func checkString(s string, r rule) string {
	switch {
	case !withinBounds(int64(utf8.RuneCountInString(s)), r),
		r.pattern != nil && !r.pattern.MatchString(s):
		return ruleMessage(r, reflect.String)
	case r.format == "email" && !isEmail(s):
		return "must be an email address such as name@example.com"
	case r.enum != nil && !slices.Contains(r.enum, s):
		return ruleMessage(r, reflect.String)
	}
	return ""
}

func withinBounds(n int64, r rule) bool {
	return (r.min == nil || n >= int64(*r.min)) && (r.max == nil || n <= int64(*r.max))
}

// ruleMessage says what a value of kind must be under r, in words a person
// understands: "must be 1 to 64 characters of A-Z, 0-9 and -".
func ruleMessage(r rule, kind reflect.Kind) string {
	if r.enum != nil {
		return "must be one of: " + strings.Join(r.enum, ", ")
	}
	var span string
	switch {
	case r.min != nil && r.max != nil && *r.min == *r.max:
		span = strconv.Itoa(*r.min)
	case r.min != nil && r.max != nil:
		span = strconv.Itoa(*r.min) + " to " + strconv.Itoa(*r.max)
	case r.max != nil:
		span = "at most " + strconv.Itoa(*r.max)
	case r.min != nil:
		span = "at least " + strconv.Itoa(*r.min)
	}
	switch kind {
	case reflect.Int:
		if r.min != nil && r.max != nil {
			return "must be a whole number from " + strconv.Itoa(*r.min) + " to " + strconv.Itoa(*r.max)
		}
		return "must be a whole number " + span
	case reflect.Slice:
		return "must have " + span + " items"
	}
	chars := r.chars
	if chars == "" {
		chars = "characters"
	} else if !strings.HasPrefix(chars, "characters") {
		chars = "characters of " + chars
	}
	if span == "" {
		return "must be " + chars
	}
	return "must be " + span + " " + chars
}

// isEmail accepts a bare addr-spec: what net/mail parses, with no display
// name, no angle brackets and nothing around it.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Count(s, "@") == 1
}
