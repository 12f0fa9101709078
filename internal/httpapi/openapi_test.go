package httpapi

import (
	"encoding/json/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"example.com/rampart/internal/rampart"
)

func newTestServer(t *testing.T) http.Handler {
	t.Helper()
	return newTestApp(t).handler
}

func fetchOpenAPI(t *testing.T, h http.Handler) map[string]any {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rr.Code != 200 || rr.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %s", rr.Code, rr.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(rr.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// documentedOperations lists "METHOD /path" for every operation in doc.
func documentedOperations(doc map[string]any) []string {
	var ops []string
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// TestOpenAPIMatchesServedRoutes fails when the document lists a route the
// server does not serve, or the server serves a table route the document
// does not list.
func TestOpenAPIMatchesServedRoutes(t *testing.T) {
	h := newTestServer(t)
	doc := fetchOpenAPI(t, h)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	documented := documentedOperations(doc)

	var table []string
	for _, rt := range bareRouteTable() {
		table = append(table, rt.method+" "+rt.path)
	}
	slices.Sort(table)
	if !slices.Equal(documented, table) {
		t.Fatalf("documented %v\nroute table %v", documented, table)
	}

	// Every documented operation is answered by its own route, not by the
	// ServeMux's 404/405.
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(method, strings.NewReplacer("{", "", "}", "").Replace(path), nil))
		if rr.Code == http.StatusNotFound || rr.Code == http.StatusMethodNotAllowed {
			t.Errorf("%s is documented but answers %d", op, rr.Code)
		}
	}
}

func TestOpenAPISchemaComesFromValidationRules(t *testing.T) {
	doc := buildOpenAPI([]route{{method: "POST", path: "/test/orders", id: "createTestOrder",
		body: testOrder{}, response: testOrder{}, status: 201}}, openAPIConfig{version: "test", passwordMinimum: 15, passwordMaximum: 128, maxBodyBytes: 1000})
	body, err := marshalOpenAPI(doc)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	order, item := got.Components.Schemas["testOrder"], got.Components.Schemas["testItem"]
	if !reflect.DeepEqual(order.Required, []string{"items", "email"}) {
		t.Errorf("required = %v: fields whose absence fails validation must be required", order.Required)
	}
	if order.AdditionalProperties == nil || *order.AdditionalProperties {
		t.Error("request objects must be closed (additionalProperties: false)")
	}
	checks := map[string]bool{
		"items minItems 1":      *order.Properties["items"].MinItems == 1,
		"items maxItems 50":     *order.Properties["items"].MaxItems == 50,
		"note maxLength 500":    *order.Properties["note"].MaxLength == 500,
		"email format":          order.Properties["email"].Format == "email",
		"sku pattern":           item.Properties["sku"].Pattern == rampart.SKUPattern.String(),
		"quantity minimum 1":    *item.Properties["quantity"].Minimum == 1,
		"quantity maximum 1000": *item.Properties["quantity"].Maximum == 1000,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("schema lacks %s", name)
		}
	}
}

// TestComponentNamesAreValid: OpenAPI 3.1 requires component names to
// match ^[a-zA-Z0-9._-]+$, and a generic response type's Go name
// ("listPage[example.com/...]") does not; such a type names its component
// itself (schemaNamer), as orderList for listPage[orderResponse].
func TestComponentNamesAreValid(t *testing.T) {
	doc := fetchOpenAPI(t, newTestServer(t))
	valid := regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name := range schemas {
		if !valid.MatchString(name) {
			t.Errorf("component %q: not a valid OpenAPI component name", name)
		}
	}
	if _, ok := schemas["orderList"]; !ok {
		t.Error("the orders listing's component is not named orderList")
	}
}

// TestMalformedTagStopsStartup: a tag must name a rule of fieldRules. A
// limit written in the tag itself would be a second source of truth, so it
// stops the server like a typo does.
func TestMalformedTagStopsStartup(t *testing.T) {
	type literalLimit struct {
		Name string `json:"name" validate:"max=100"`
	}
	type unknownRule struct {
		Name string `json:"name" validate:"nmae"`
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[literalLimit](), reflect.TypeFor[unknownRule]()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: a tag that names no rule was accepted", typ.Name())
				}
			}()
			describe(typ)
		}()
	}
}

// TestEveryDocumentedValueIsBounded: every string, array and integer the
// document describes (requests, responses, headers, parameters) states its
// bounds, as the OWASP ruleset that CI runs demands (API4:2023). A field
// added without a rule fails here, in go test, not only in CI's lint.
func TestEveryDocumentedValueIsBounded(t *testing.T) {
	doc := fetchOpenAPI(t, newTestServer(t))
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			_, maxLength := v["maxLength"]
			_, enum := v["enum"]
			_, maxItems := v["maxItems"]
			_, minimum := v["minimum"]
			_, maximum := v["maximum"]
			_, format := v["format"]
			switch v["type"] {
			case "string":
				if !maxLength && !enum {
					t.Errorf("%s: a string without maxLength or enum (name a rule of fieldRules in its validate tag)", at)
				}
			case "array":
				if !maxItems {
					t.Errorf("%s: an array without maxItems", at)
				}
			case "integer":
				if !minimum || !maximum || !format {
					t.Errorf("%s: an integer without minimum, maximum and format", at)
				}
			}
			for k, child := range v {
				walk(at+"/"+k, child)
			}
		case []any:
			for i, child := range v {
				walk(at+"/"+strconv.Itoa(i), child)
			}
		}
	}
	walk("#", doc)
}
