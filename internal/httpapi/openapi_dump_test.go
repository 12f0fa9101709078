package httpapi

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// openAPIOut is where TestServedOpenAPIDocument writes the document that
// the real server serves, for linters that run outside Go (.ci/run lints
// it with Spectral's OWASP ruleset):
//
//	go test ./internal/httpapi -run '^TestServedOpenAPIDocument$' -args -openapi.out=FILE
var openAPIOut = flag.String("openapi.out", "", "write the served OpenAPI document to this file")

// TestServedOpenAPIDocument fetches /v1/openapi.json from the server as
// wired in production (default configuration) and, when asked, writes it out
// byte for byte.
func TestServedOpenAPIDocument(t *testing.T) {
	a := newTestApp(t)
	rr := httptest.NewRecorder()
	a.handler.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rr.Code != http.StatusOK || rr.Body.Len() == 0 {
		t.Fatalf("GET /v1/openapi.json: %d, %d bytes", rr.Code, rr.Body.Len())
	}
	if *openAPIOut != "" {
		if err := os.WriteFile(*openAPIOut, rr.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
