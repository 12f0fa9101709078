package httpapi

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// decodeError is a request body that cannot be accepted. It carries the
// problem to answer with and nothing from the decoder's own error text, so
// no library name or internal detail can reach the client.
type decodeError struct {
	problem problemKind
	detail  string
	fields  []FieldError
}

func (e *decodeError) Error() string { return e.detail }

// decodeValid reads the request body into dst, which must be a pointer to a
// struct, and checks it against the rules in dst's `validate` tags. The body
// must be exactly one JSON object:
//
//   - syntax errors, invalid UTF-8, duplicate member names (at any depth),
//     trailing data and a top-level value that is not an object give 400;
//   - unknown members (matched case-sensitively, so "ROLE" is not "role"),
//     values of the wrong type and values that break a rule give 422 naming
//     the field.
//
// encoding/json v1 would accept duplicates (last wins), case variants and
// invalid UTF-8; encoding/json/v2 rejects them, which is why it is used here.
func decodeValid(r *http.Request, dst any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &decodeError{problem: probTooLarge, detail: "the request body is larger than the limit"}
		}
		return &decodeError{problem: probMalformed, detail: "the request body could not be read"}
	}
	if err := unmarshalStrict(body, dst); err != nil {
		return err
	}
	if fields := validate(dst); len(fields) > 0 {
		return &decodeError{problem: probValidation, detail: "the request body has invalid fields", fields: fields}
	}
	return nil
}

// unmarshalStrict is the strict JSON decoder on its own, so that it can be
// fuzzed without HTTP around it.
func unmarshalStrict(body []byte, dst any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return &decodeError{problem: probMalformed, detail: "the request body is empty"}
	}
	if trimmed[0] != '{' {
		return &decodeError{problem: probMalformed, detail: "the request body must be a JSON object"}
	}
	err := json.Unmarshal(body, dst, json.RejectUnknownMembers(true), strictTimestamps)
	if err == nil {
		return nil
	}
	if se, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		return &decodeError{problem: probMalformed, detail: syntaxDetail(se)}
	}
	if se, ok := errors.AsType[*json.SemanticError](err); ok && se.JSONPointer != "" {
		field := fieldPath(se.JSONPointer)
		if errors.Is(err, json.ErrUnknownName) {
			return &decodeError{problem: probValidation, detail: "the request body has invalid fields",
				fields: []FieldError{{Field: field, Message: "is not a known field"}}}
		}
		return &decodeError{problem: probValidation, detail: "the request body has invalid fields",
			fields: []FieldError{{Field: field, Message: "must be " + expectedKind(se)}}}
	}
	return &decodeError{problem: probMalformed, detail: "the request body is not valid JSON for this operation"}
}

// strictTimestamps reads a date-time member as the OpenAPI document
// describes it: an RFC 3339 string of at most maxTimestampLength characters
// (encoding/json would take any number of fractional digits).
var strictTimestamps = json.WithUnmarshalers(json.UnmarshalFunc(func(raw []byte, t *time.Time) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || len(s) > maxTimestampLength {
		return errBadTimestamp
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return errBadTimestamp
	}
	*t = v
	return nil
}))

var errBadTimestamp = errors.New("not an RFC 3339 date-time")

func syntaxDetail(se *jsontext.SyntacticError) string {
	switch {
	case errors.Is(se, jsontext.ErrDuplicateName):
		return fmt.Sprintf("duplicate member name %q", fieldPath(se.JSONPointer))
	case errors.Is(se, io.ErrUnexpectedEOF):
		return "the JSON text ends unexpectedly"
	default:
		return "malformed JSON at byte offset " + strconv.FormatInt(se.ByteOffset, 10)
	}
}

// expectedKind names the JSON kind that a Go destination type accepts.
func expectedKind(se *json.SemanticError) string {
	if se.GoType == nil {
		return "a valid value"
	}
	goType := se.GoType
	for goType.Kind() == reflect.Pointer {
		goType = goType.Elem()
	}
	if goType == timeType {
		return "an RFC 3339 date-time such as 2030-01-31T12:00:00Z, at most " + strconv.Itoa(maxTimestampLength) + " characters"
	}
	switch goType.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer within range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	default:
		return "a valid value"
	}
}

// fieldPath turns a JSON Pointer such as "/items/0/quantity" into the
// client-facing path "items[0].quantity".
func fieldPath(ptr jsontext.Pointer) string {
	var b strings.Builder
	for tok := range ptr.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}
