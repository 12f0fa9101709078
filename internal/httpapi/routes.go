package httpapi

import (
	"net/http"
	"slices"
)

// route is one row of the API surface. Every served route is registered
// from this table and described in the OpenAPI document from the same row.
type route struct {
	method   string
	path     string
	id       string // OpenAPI operationId
	summary  string
	auth     bool // requires a bearer credential
	body     any  // request body type, nil when the route takes none
	response any  // success body type, nil for an empty body
	status   int  // success status
	errors   []int
	handler  http.Handler
}

// errorStatuses lists every error a route can answer with: the ones the edge
// can produce for any request, plus the route's own.
func (rt route) errorStatuses() []int {
	statuses := []int{http.StatusTooManyRequests, http.StatusInternalServerError}
	if rt.body != nil {
		statuses = append(statuses, http.StatusBadRequest, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if rt.auth {
		statuses = append(statuses, http.StatusUnauthorized, http.StatusForbidden)
	}
	statuses = append(statuses, rt.errors...)
	slices.Sort(statuses)
	return slices.Compact(statuses)
}

// routeTable is the entire public API on one page.
func routeTable(opts Options, openAPI http.Handler) []route {
	return []route{
		{method: "GET", path: "/healthz", id: "getHealth", summary: "The process is alive.",
			response: statusBody{}, status: http.StatusOK, handler: handleHealthz()},
		{method: "GET", path: "/readyz", id: "getReadiness", summary: "The store answers; 503 when it does not.",
			response: statusBody{}, status: http.StatusOK, errors: []int{http.StatusServiceUnavailable},
			handler: handleReadyz(opts.Store, opts.Logger)},
		{method: "GET", path: "/v1/openapi.json", id: "getOpenAPI", summary: "This OpenAPI 3.1 document.",
			status: http.StatusOK, handler: openAPI},
	}
}
