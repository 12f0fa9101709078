package httpapi

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"example.com/rampart/internal/rampart"
)

// The OpenAPI 3.1 document is generated from the route table and from the
// same parsed `validate` rules that decodeValid enforces, so a route cannot be
// served without being described, nor described without being served.

type schema struct {
	Ref                  string             `json:"$ref,omitzero"`
	Type                 string             `json:"type,omitzero"`
	Format               string             `json:"format,omitzero"`
	MinLength            *int               `json:"minLength,omitzero"`
	MaxLength            *int               `json:"maxLength,omitzero"`
	Pattern              string             `json:"pattern,omitzero"`
	Enum                 []string           `json:"enum,omitzero"`
	Minimum              *int               `json:"minimum,omitzero"`
	Maximum              *int               `json:"maximum,omitzero"`
	Items                *schema            `json:"items,omitzero"`
	MinItems             *int               `json:"minItems,omitzero"`
	MaxItems             *int               `json:"maxItems,omitzero"`
	Properties           map[string]*schema `json:"properties,omitzero"`
	Required             []string           `json:"required,omitzero"`
	AdditionalProperties *bool              `json:"additionalProperties,omitzero"`
}

type mediaType struct {
	Schema *schema `json:"schema"`
}

type apiResponse struct {
	Description string               `json:"description"`
	Content     map[string]mediaType `json:"content,omitzero"`
}

type requestBody struct {
	Required bool                 `json:"required"`
	Content  map[string]mediaType `json:"content"`
}

type parameter struct {
	Name     string  `json:"name"`
	In       string  `json:"in"`
	Required bool    `json:"required,omitzero"`
	Schema   *schema `json:"schema"`
}

type operation struct {
	OperationID string                  `json:"operationId"`
	Summary     string                  `json:"summary"`
	Security    []map[string][]string   `json:"security,omitzero"`
	Parameters  []parameter             `json:"parameters,omitzero"`
	RequestBody *requestBody            `json:"requestBody,omitzero"`
	Responses   map[string]*apiResponse `json:"responses"`
	// Action is the permission the route requires (rampart.Action), so
	// the document shows the whole access surface.
	Action string `json:"x-rampart-action,omitzero"`
}

// queryParameters describes the query parameters listings accept.
var queryParameters = map[string]parameter{
	"limit":  {Name: "limit", In: "query", Schema: &schema{Type: "integer", Minimum: ptr(1), Maximum: ptr(rampart.MaxPageLimit)}},
	"cursor": {Name: "cursor", In: "query", Schema: &schema{Type: "string", MaxLength: ptr(maxCursorLength)}},
	"type":   {Name: "type", In: "query", Schema: &schema{Type: "string", Pattern: auditTypePattern.String()}},
}

func ptr[T any](v T) *T { return &v }

type openAPIDocument struct {
	OpenAPI    string                           `json:"openapi"`
	Info       map[string]string                `json:"info"`
	Paths      map[string]map[string]*operation `json:"paths"`
	Components struct {
		Schemas         map[string]*schema        `json:"schemas"`
		SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
	} `json:"components"`
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[jsontext.Value]()
)

// buildOpenAPI describes every route in the table. It panics on a body type
// whose tags do not parse, which NewServer turns into a start-up failure.
func buildOpenAPI(routes []route, version string) *openAPIDocument {
	doc := &openAPIDocument{
		OpenAPI: "3.1.0",
		Info:    map[string]string{"title": "Rampart API", "version": version},
		Paths:   map[string]map[string]*operation{},
	}
	doc.Components.Schemas = map[string]*schema{}
	doc.Components.SecuritySchemes = map[string]map[string]any{
		"bearer": {"type": "http", "scheme": "bearer", "description": "access token (JWT) or API key"},
	}
	problemRef := doc.schemaFor(reflect.TypeFor[Problem]())
	problemContent := map[string]mediaType{"application/problem+json": {Schema: problemRef}}

	for _, rt := range routes {
		op := &operation{OperationID: rt.id, Summary: rt.summary, Responses: map[string]*apiResponse{}, Action: string(rt.action)}
		if rt.auth() {
			op.Security = []map[string][]string{{"bearer": {}}}
		}
		if strings.Contains(rt.path, "{id}") {
			op.Parameters = append(op.Parameters, parameter{Name: "id", In: "path", Required: true, Schema: &schema{Type: "string"}})
		}
		for _, name := range rt.query {
			op.Parameters = append(op.Parameters, queryParameters[name])
		}
		ok := &apiResponse{Description: http.StatusText(rt.status)}
		if rt.response != nil {
			ok.Content = map[string]mediaType{"application/json": {Schema: doc.schemaFor(reflect.TypeOf(rt.response))}}
		}
		op.Responses[strconv.Itoa(rt.status)] = ok
		for _, status := range rt.errorStatuses() {
			op.Responses[strconv.Itoa(status)] = &apiResponse{Description: http.StatusText(status), Content: problemContent}
		}
		if rt.body != nil {
			body := mediaType{Schema: doc.schemaFor(reflect.TypeOf(rt.body))}
			op.RequestBody = &requestBody{Required: true, Content: map[string]mediaType{"application/json": body}}
			if rt.method == http.MethodPatch {
				op.RequestBody.Content[mergePatchMediaType] = body // see acceptedMediaType
			}
		}
		if doc.Paths[rt.path] == nil {
			doc.Paths[rt.path] = map[string]*operation{}
		}
		doc.Paths[rt.path][strings.ToLower(rt.method)] = op
	}
	return doc
}

// schemaFor returns the schema of t, registering named struct types as
// components and referring to them.
func (doc *openAPIDocument) schemaFor(t reflect.Type) *schema {
	return doc.schemaWithRules(t, rules{})
}

func (doc *openAPIDocument) schemaWithRules(t reflect.Type, r rules) *schema {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s := &schema{}
	switch {
	case t == timeType:
		s.Type, s.Format = "string", "date-time"
	case t == rawJSONType:
		s.Type = "object" // raw JSON that the server only ever fills with an object
	case t.Kind() == reflect.String:
		s.Type = "string"
		s.MinLength, s.MaxLength = r.min, r.max
		s.Format, s.Enum = r.format, r.enum
		if r.pattern != "" {
			s.Pattern = patterns[r.pattern].String()
		}
		if r.required && s.MinLength == nil {
			one := 1
			s.MinLength = &one
		}
	case t.Kind() == reflect.Bool:
		s.Type = "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s.Type = "integer"
		s.Minimum, s.Maximum = r.min, r.max
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s.Type = "number"
	case t.Kind() == reflect.Slice:
		s.Type = "array"
		s.Items = doc.schemaWithRules(t.Elem(), rules{enum: r.enum})
		s.MinItems, s.MaxItems = r.min, r.max
	case t.Kind() == reflect.Map:
		s.Type = "object"
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if _, done := doc.Components.Schemas[name]; !done {
			doc.Components.Schemas[name] = nil // reserve: stops recursion on self-reference
			doc.Components.Schemas[name] = doc.objectSchema(t)
		}
		return &schema{Ref: "#/components/schemas/" + name}
	}
	return s
}

func (doc *openAPIDocument) objectSchema(t reflect.Type) *schema {
	closed := false
	s := &schema{Type: "object", Properties: map[string]*schema{}, AdditionalProperties: &closed}
	for _, f := range describe(t).fields {
		s.Properties[f.name] = doc.schemaWithRules(f.typ, f.rules)
		if zeroFails(f) {
			s.Required = append(s.Required, f.name)
		}
	}
	return s
}

func marshalOpenAPI(doc *openAPIDocument) ([]byte, error) {
	body, err := json.Marshal(doc, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("httpapi: marshal OpenAPI document: %w", err)
	}
	return body, nil
}

// handleOpenAPI serves the document, marshalled once at start-up: it never
// changes while the process runs.
func handleOpenAPI(body *[]byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = hJSON
		_, _ = w.Write(*body)
	})
}

// zeroFails reports whether leaving field f out of a body (which decodes to
// its zero value) breaks its rules: exactly the fields the schema must list
// as required, derived from the rules instead of declared twice.
func zeroFails(f fieldInfo) bool {
	var errs []FieldError
	validateValue(reflect.Zero(f.typ), f.rules, f.name, &errs)
	return len(errs) > 0
}
