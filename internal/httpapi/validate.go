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

// Request bodies declare their rules in `validate` struct tags. The same
// parsed rules drive both validation (validate) and the OpenAPI schema
// (schemaFor), so the published document cannot drift from what handlers
// enforce. The vocabulary is deliberately small:
//
//	required       the value must be present and non-empty
//	min=N, max=N   string length in characters, array length, or integer value
//	format=email   an addr-spec (net/mail) without a display name
//	pattern=NAME   a regular expression from the patterns table below
//	enum=a|b|c     one of the listed strings; on an array of strings,
//	               each element
//
// A pointer field is optional: nil means "absent" and is not checked.
type rules struct {
	required bool
	min, max *int
	format   string
	pattern  string
	enum     []string
}

// patterns are named so that tags stay readable and every expression is
// compiled once, at start-up.
var patterns = map[string]*regexp.Regexp{
	"sku": regexp.MustCompile(`^[A-Z0-9-]+$`),
}

type fieldInfo struct {
	index []int
	name  string // the JSON member name
	typ   reflect.Type
	rules rules
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
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		r, err := parseRules(sf.Tag.Get("validate"))
		if err != nil {
			panic(fmt.Sprintf("httpapi: %s.%s: %v", t.Name(), sf.Name, err))
		}
		ti.fields = append(ti.fields, fieldInfo{index: sf.Index, name: name, typ: sf.Type, rules: r})
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

func parseRules(tag string) (rules, error) {
	var r rules
	if tag == "" {
		return r, nil
	}
	for part := range strings.SplitSeq(tag, ",") {
		key, val, _ := strings.Cut(part, "=")
		switch key {
		case "required":
			r.required = true
		case "min", "max":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return r, fmt.Errorf("bad %s value %q", key, val)
			}
			if key == "min" {
				r.min = &n
			} else {
				r.max = &n
			}
		case "format":
			if val != "email" {
				return r, fmt.Errorf("unknown format %q", val)
			}
			r.format = val
		case "pattern":
			if patterns[val] == nil {
				return r, fmt.Errorf("unknown pattern %q", val)
			}
			r.pattern = val
		case "enum":
			r.enum = strings.Split(val, "|")
		default:
			return r, fmt.Errorf("unknown rule %q", key)
		}
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
		validateValue(rv.FieldByIndex(f.index), f.rules, path, errs)
	}
}

func validateValue(v reflect.Value, r rules, path string, errs *[]FieldError) {
	fail := func(msg string) { *errs = append(*errs, FieldError{Field: path, Message: msg}) }
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			if r.required {
				fail("is required")
			}
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if s == "" && r.required {
			fail("is required")
			return
		}
		n := utf8.RuneCountInString(s)
		switch {
		case r.min != nil && n < *r.min:
			fail(fmt.Sprintf("must be at least %d characters", *r.min))
		case r.max != nil && n > *r.max:
			fail(fmt.Sprintf("must be at most %d characters", *r.max))
		case r.format == "email" && !isEmail(s):
			fail("must be a valid email address")
		case r.pattern != "" && !patterns[r.pattern].MatchString(s):
			fail("has characters that are not allowed")
		case r.enum != nil && !slices.Contains(r.enum, s):
			fail("must be one of: " + strings.Join(r.enum, ", "))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n := v.Int()
		switch {
		case r.min != nil && n < int64(*r.min):
			fail(fmt.Sprintf("must be at least %d", *r.min))
		case r.max != nil && n > int64(*r.max):
			fail(fmt.Sprintf("must be at most %d", *r.max))
		}
	case reflect.Slice:
		n := v.Len()
		switch {
		case n == 0 && r.required:
			fail("is required")
			return
		case r.min != nil && n < *r.min:
			fail(fmt.Sprintf("must have at least %d items", *r.min))
			return
		case r.max != nil && n > *r.max:
			fail(fmt.Sprintf("must have at most %d items", *r.max))
			return
		}
		if elemStruct(v.Type()) != nil || r.enum != nil {
			// Elements carry no rules of their own, except an array of
			// strings drawn from an enum.
			for i := range n {
				validateValue(v.Index(i), rules{enum: r.enum}, path+"["+strconv.Itoa(i)+"]", errs)
			}
		}
	case reflect.Struct:
		if v.Type() != timeType {
			validateStruct(v, path, errs)
		}
	}
}

// isEmail accepts a bare addr-spec: what net/mail parses, with no display
// name, no angle brackets and nothing around it.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Count(s, "@") == 1
}
