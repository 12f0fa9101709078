package httpapi

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The OpenAPI 3.1 document is generated from the route table and from the
// same rules (fieldRules) that decodeValid enforces, under the running
// configuration (openAPIConfig), so a route cannot be served without being
// described, nor described otherwise than it behaves. Which responses and
// headers an operation has is derived from the route's row: its body,
// query, authentication and rate-limit class.

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
	Description          string             `json:"description,omitzero"`
}

type mediaType struct {
	Schema *schema `json:"schema"`
}

type header struct {
	Description string  `json:"description"`
	Required    bool    `json:"required,omitzero"`
	Schema      *schema `json:"schema"`
}

type apiResponse struct {
	Description string               `json:"description"`
	Headers     map[string]*header   `json:"headers,omitzero"`
	Content     map[string]mediaType `json:"content,omitzero"`
}

type requestBody struct {
	Description string               `json:"description"`
	Required    bool                 `json:"required"`
	Content     map[string]mediaType `json:"content"`
	// MaxBytes is the body limit (RAMPART_MAX_BODY_BYTES), which JSON
	// Schema cannot say; larger bodies get 413.
	MaxBytes int64 `json:"x-rampart-max-bytes"`
}

type parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitzero"`
	Required    bool    `json:"required,omitzero"`
	Schema      *schema `json:"schema"`
}

type operation struct {
	OperationID string                  `json:"operationId"`
	Summary     string                  `json:"summary"`
	Description string                  `json:"description"`
	Tags        []string                `json:"tags"`
	Security    []map[string][]string   `json:"security,omitzero"`
	Parameters  []parameter             `json:"parameters,omitzero"`
	RequestBody *requestBody            `json:"requestBody,omitzero"`
	Responses   map[string]*apiResponse `json:"responses"`
	// Action is the permission the route requires (rampart.Action), so
	// the document shows the whole access surface.
	Action string `json:"x-rampart-action,omitzero"`
}

// queryParameter is a query parameter a listing accepts: its rule and Go
// type (how parsePage reads it).
type queryParameter struct {
	rule        string
	typ         reflect.Type
	description string
}

var queryParameters = map[string]queryParameter{
	"limit":  {"pageLimit", reflect.TypeFor[int](), "page size; default " + strconv.Itoa(defaultPageLimit)},
	"cursor": {"cursor", reflect.TypeFor[string](), "the nextCursor of the previous page, for the same query"},
	"type":   {"auditType", reflect.TypeFor[string](), "only events of this type, such as user.login"},
}

// openAPIConfig is the part of the running configuration that changes
// what a request must satisfy, so the document can say it exactly.
type openAPIConfig struct {
	version                          string
	passwordMinimum, passwordMaximum int
	maxBodyBytes                     int64
}

type serverObject struct {
	URL         string `json:"url"`
	Description string `json:"description"`
	Internal    bool   `json:"x-internal"`
}

type tagObject struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type openAPIDocument struct {
	OpenAPI    string                           `json:"openapi"`
	Info       map[string]string                `json:"info"`
	Servers    []serverObject                   `json:"servers"`
	Tags       []tagObject                      `json:"tags"`
	Paths      map[string]map[string]*operation `json:"paths"`
	Components struct {
		Schemas         map[string]*schema        `json:"schemas"`
		SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
	} `json:"components"`

	cfg openAPIConfig
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	rawJSONType     = reflect.TypeFor[jsontext.Value]()
	schemaNamerType = reflect.TypeFor[schemaNamer]()
)

// schemaNamer is a struct type whose Go name is not its component's name in
// the document: an instance of a generic type (listPage).
type schemaNamer interface{ schemaName() string }

// tagDescriptions group the operations by the first segment of their path.
// A route under a new segment gets a tag of that name and a plain
// description, so it is never left out.
var tagDescriptions = map[string]string{
	"health":       "Liveness and readiness probes for load balancers.",
	"meta":         "This document and the keys that verify access tokens.",
	"auth":         "Sign-up, sign-in and the tokens of a session.",
	"me":           "The signed-in user: profile, password, second factor and sessions.",
	"orders":       "Orders: a member's own, or the whole tenant's for an admin or API key.",
	"users":        "The tenant's users (admins).",
	"api-keys":     "The tenant's API keys (admins).",
	"audit-events": "The tenant's audit and security events (admins).",
}

func tagFor(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(path, "/"), "v1/"), "/")
	switch seg {
	case "healthz", "readyz":
		return "health"
	case "openapi.json", ".well-known":
		return "meta"
	case "signup":
		return "auth"
	}
	return seg
}

// buildOpenAPI describes every route in the table. It panics on a body type
// whose tags do not parse, which NewServer turns into a start-up failure.
func buildOpenAPI(routes []route, cfg openAPIConfig) *openAPIDocument {
	doc := &openAPIDocument{
		OpenAPI: "3.1.0",
		Info: map[string]string{"title": "Rampart API", "version": cfg.version,
			"description": "A multi-tenant REST API. Errors are RFC 9457 problem details; every limit below is " +
				"the one this server enforces under its current configuration."},
		// Relative: the document describes the server that serves it,
		// whichever environment that is.
		Servers: []serverObject{{URL: "/", Description: "this deployment (local, staging or production: the one serving this document)"}},
		Paths:   map[string]map[string]*operation{},
		cfg:     cfg,
	}
	doc.Components.Schemas = map[string]*schema{}
	doc.Components.SecuritySchemes = map[string]map[string]any{
		"bearer": {"type": "http", "scheme": "bearer", "description": "an access token (a JWS signed with EdDSA " +
			"and typed at+jwt, verified as RFC8725 advises: one algorithm, issuer, audience and expiry checked) or an API key (rk_...)"},
	}
	problem := doc.schemaFor(reflect.TypeFor[Problem]())

	tags := map[string]bool{}
	for _, rt := range routes {
		tag := tagFor(rt.path)
		tags[tag] = true
		op := &operation{OperationID: rt.id, Summary: rt.summary, Description: describeAccess(rt), Tags: []string{tag},
			Responses: map[string]*apiResponse{}, Action: string(rt.action)}
		if rt.auth() {
			op.Security = []map[string][]string{{"bearer": {}}}
		}
		if strings.Contains(rt.path, "{id}") {
			op.Parameters = append(op.Parameters, parameter{Name: "id", In: "path", Required: true,
				Description: "an id this server issued; any other value is 404", Schema: doc.schemaWithRule(reflect.TypeFor[string](), fieldRules["id"])})
		}
		for _, name := range rt.query {
			q := queryParameters[name]
			op.Parameters = append(op.Parameters, parameter{Name: name, In: "query", Description: q.description,
				Schema: doc.schemaWithRule(q.typ, fieldRules[q.rule])})
		}
		ok := &apiResponse{Description: http.StatusText(rt.status), Headers: doc.responseHeaders(rt, rt.status)}
		if rt.response != nil {
			ok.Content = map[string]mediaType{"application/json": {Schema: doc.schemaFor(reflect.TypeOf(rt.response))}}
		}
		op.Responses[strconv.Itoa(rt.status)] = ok
		if rt.alt != nil {
			op.Responses[strconv.Itoa(rt.alt.status)] = &apiResponse{Description: http.StatusText(rt.alt.status),
				Headers: doc.responseHeaders(rt, rt.alt.status),
				Content: map[string]mediaType{"application/json": {Schema: doc.schemaFor(reflect.TypeOf(rt.alt.response))}}}
		}
		for _, status := range rt.errorStatuses() {
			op.Responses[strconv.Itoa(status)] = &apiResponse{Description: doc.problemDescription(status),
				Headers: doc.responseHeaders(rt, status), Content: map[string]mediaType{"application/problem+json": {Schema: problem}}}
		}
		if rt.body != nil {
			body := mediaType{Schema: doc.schemaFor(reflect.TypeOf(rt.body))}
			op.RequestBody = &requestBody{Required: true, MaxBytes: cfg.maxBodyBytes,
				Description: fmt.Sprintf("a JSON object of at most %d bytes (RAMPART_MAX_BODY_BYTES)", cfg.maxBodyBytes),
				Content:     map[string]mediaType{"application/json": body}}
			if rt.method == http.MethodPatch {
				op.RequestBody.Content[mergePatchMediaType] = body // see acceptedMediaType
			}
		}
		if doc.Paths[rt.path] == nil {
			doc.Paths[rt.path] = map[string]*operation{}
		}
		doc.Paths[rt.path][strings.ToLower(rt.method)] = op
	}
	for _, name := range slices.Sorted(maps.Keys(tags)) {
		desc := tagDescriptions[name]
		if desc == "" {
			desc = "Routes under /v1/" + name + "."
		}
		doc.Tags = append(doc.Tags, tagObject{Name: name, Description: desc})
	}
	return doc
}

// describeAccess says who may call a route and how it is rate-limited.
func describeAccess(rt route) string {
	var who string
	if rt.auth() {
		who = "Requires a bearer credential (access token or API key) allowed the action `" + string(rt.action) + "`."
	} else {
		who = "Public: no credential."
	}
	switch rt.class() {
	case "":
		return who + " Not rate-limited: load balancers poll it and it costs nothing."
	case classAPI:
		return who + " Rate-limited per user or API key, with a tenant-wide ceiling (RAMPART_RATE_API)."
	default:
		return who + " Rate-limited per client address (RAMPART_RATE_" + rt.class() + ")."
	}
}

// problemDescription says when a status is answered and names the problem
// types that come with it, from the error tables (problemTypes).
func (doc *openAPIDocument) problemDescription(status int) string {
	types := problemTypes(status)
	if len(types) == 0 {
		return doc.problemWhen(status)
	}
	return doc.problemWhen(status) + " Problem types with this status: /" + strings.Join(types, ", /") +
		" (each route answers those that apply to it)."
}

// problemWhen says when a status is answered.
func (doc *openAPIDocument) problemWhen(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "Malformed JSON: a syntax error, trailing data, invalid UTF-8, a duplicate member name or a top-level value that is not an object."
	case http.StatusUnauthorized:
		return "No credential, an invalid or expired one, a wrong password or second factor, " +
			"or, on routes that need a recent sign-in, one too old; WWW-Authenticate says which."
	case http.StatusForbidden:
		return "The credential is not allowed this function: a role or API-key scope is missing (the detail names it), " +
			"or an API key is used where a person must prove a recent sign-in."
	case http.StatusNotFound:
		return "No such resource in the caller's tenant, or not the caller's to see."
	case http.StatusRequestEntityTooLarge:
		return fmt.Sprintf("The body is larger than %d bytes (RAMPART_MAX_BODY_BYTES).", doc.cfg.maxBodyBytes)
	case http.StatusUnsupportedMediaType:
		return "The body is not sent as Content-Type: application/json."
	case http.StatusUnprocessableEntity:
		return "A value breaks its rule in this document, or a member is unknown: errors names each field."
	case http.StatusTooManyRequests:
		return "The rate limit (or the sign-in throttle) is exhausted; retry after Retry-After seconds."
	case http.StatusServiceUnavailable:
		return "A dependency (store or rate limiter) does not answer, or the server is busy; retry after Retry-After seconds."
	}
	return http.StatusText(status) + "."
}

// responseHeaders lists the headers the server sends with status on rt.
func (doc *openAPIDocument) responseHeaders(rt route, status int) map[string]*header {
	str := func(name string) *schema { return doc.schemaWithRule(reflect.TypeFor[string](), fieldRules[name]) }
	h := map[string]*header{
		"X-Request-Id": {Description: "this request's id, to quote when reporting a problem", Required: true, Schema: str("requestId")},
		// The owasp ruleset wants CORS declared on every response.
		"Access-Control-Allow-Origin": {Description: "only for an origin in RAMPART_CORS_ORIGINS: that exact origin; absent for any other (never *)",
			Schema: str("origin")},
	}
	if rt.class() != "" {
		// Optional: a request refused before the limiter ran (unknown
		// credential, oversized body) has not spent the budget.
		h["RateLimit"] = &header{Description: "the remaining budget: \"class\";r=REMAINING;t=SECONDS (IETF httpapi ratelimit-headers draft)", Schema: str("headerValue")}
		h["RateLimit-Policy"] = &header{Description: "the budget: \"class\";q=REQUESTS;w=SECONDS", Schema: str("headerValue")}
	}
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		h["Retry-After"] = &header{Description: "seconds to wait", Required: true,
			Schema: doc.schemaWithRule(reflect.TypeFor[int](), fieldRules["retryAfter"])}
	case http.StatusUnauthorized:
		h["WWW-Authenticate"] = &header{Description: "Bearer, with error and error_description as in RFC 6750 and RFC 9470", Required: true,
			Schema: str("headerValue")}
	case http.StatusForbidden:
		h["WWW-Authenticate"] = &header{Description: `for an API key that lacks a scope: Bearer error="insufficient_scope", scope="..." (RFC 6750)`,
			Schema: str("headerValue")}
	}
	return h
}

// schemaFor returns the schema of t, registering named struct types as
// components and referring to them.
func (doc *openAPIDocument) schemaFor(t reflect.Type) *schema {
	return doc.schemaWithRule(t, rule{})
}

func (doc *openAPIDocument) schemaWithRule(t reflect.Type, r rule) *schema {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s := &schema{}
	switch {
	case t == timeType:
		s.Type, s.Format, s.MaxLength = "string", "date-time", n(maxTimestampLength)
	case t == rawJSONType:
		s.Type = "object" // raw JSON that the server only ever fills with an object
	case t.Kind() == reflect.String:
		s.Type = "string"
		s.MinLength, s.MaxLength = r.min, r.max
		s.Format, s.Enum = r.format, r.enum
		if r.pattern != nil {
			s.Pattern = r.pattern.String()
		}
		if r.password {
			s.MinLength, s.MaxLength = n(doc.cfg.passwordMinimum), n(doc.cfg.passwordMaximum)
			s.Description = "counted in characters after Unicode NFKC normalization; " +
				"not a common or easily guessed password, nor one containing the email or names (RAMPART_PASSWORD_MIN_LENGTH)"
		}
	case t.Kind() == reflect.Bool:
		s.Type = "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s.Type, s.Format = "integer", "int64"
		if t.Kind() == reflect.Int32 || t.Kind() == reflect.Uint32 {
			s.Format = "int32"
		}
		s.Minimum, s.Maximum = r.min, r.max
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s.Type = "number"
	case t.Kind() == reflect.Slice:
		s.Type = "array"
		elem := rule{}
		if r.items != nil {
			elem = *r.items
		}
		s.Items = doc.schemaWithRule(t.Elem(), elem)
		s.MinItems, s.MaxItems = r.min, r.max
	case t.Kind() == reflect.Map:
		s.Type = "object"
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if t.Implements(schemaNamerType) {
			name = reflect.Zero(t).Interface().(schemaNamer).schemaName()
		}
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
		s.Properties[f.name] = doc.schemaWithRule(f.typ, f.rule)
		if !f.optional && f.typ.Kind() != reflect.Bool {
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
