// Package httpapi is Rampart's HTTP edge: the middleware chain, the route
// table, request decoding and validation, and the translation of domain
// errors into RFC 9457 problem responses.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
)

// Pinger is the part of the store that readiness needs.
type Pinger interface {
	Ping(ctx context.Context) error
}

// JWKSource publishes the public keys that verify access tokens.
type JWKSource interface {
	JWKS() ([]byte, error)
}

// Options are the server's dependencies and settings, all explicit.
type Options struct {
	Logger         *slog.Logger
	Store          Pinger
	Services       *rampart.Services // built by internal/app; the server only calls them
	Tokens         JWKSource         // publishes the keys; verifying a token is Services.Auth's job
	CursorKey      []byte            // HMAC key for pagination cursors, at least 32 bytes
	Registry       prometheus.Registerer
	CORSOrigins    []string
	TrustedProxies []netip.Prefix
	MaxBodyBytes   int64
	Version        string
	RateLimits     RateLimits  // per route class; a nil Limiter means no limits (some tests)
	Degraded       func() bool // reports a configured but unreachable Redis; nil means never
	RefreshCookie  bool        // browser clients on CORSOrigins get the refresh token as a cookie (cookie.go)
	// SecurityEvents receives a typed event for every refusal the edge
	// answers (secevents.go); nil records none.
	SecurityEvents rampart.SecurityEvents
	// Blocks, when set, refuses the sources detection blocked, before any
	// other work (blocked.go); nil: automatic blocking is off.
	Blocks SourceBlocks
}

// NewServer returns the public HTTP handler: the route table behind the
// middleware chain.
func NewServer(opts Options) (handler http.Handler, err error) {
	if opts.Logger == nil || opts.Store == nil || opts.Services == nil || opts.Services.Identity == nil ||
		opts.Services.Resources == nil || opts.Services.Auth == nil || opts.Tokens == nil ||
		opts.Registry == nil || opts.MaxBodyBytes <= 0 || len(opts.CursorKey) < 32 {
		return nil, errors.New("httpapi: Logger, Store, Services, Tokens, Registry, MaxBodyBytes and a 32-byte CursorKey are required")
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("httpapi: register metrics: %w", err)
	}
	// Describing the routes parses every body type's validation tags; a
	// malformed tag panics, and that must stop start-up, not a request.
	defer func() {
		if p := recover(); p != nil {
			handler, err = nil, fmt.Errorf("%v", p)
		}
	}()
	var openAPI []byte // the document describes the table that serves it
	d := newHandlerDeps(opts)
	routes := routeTable(opts, d, handleOpenAPI(&openAPI))
	if err := checkRoutes(routes); err != nil {
		return nil, err
	}
	pwMin, pwMax := opts.Services.Identity.PasswordLengths()
	docCfg := openAPIConfig{version: opts.Version, passwordMinimum: pwMin, passwordMaximum: pwMax, maxBodyBytes: opts.MaxBodyBytes}
	if openAPI, err = marshalOpenAPI(buildOpenAPI(routes, docCfg)); err != nil {
		return nil, err
	}
	return chain(opts, m, newMux(routes, opts, d)), nil
}

// newMux registers every route of the table; an authenticated route sits
// behind authentication, the check of its action and, on a step-up route,
// the check of the token's auth_time, so a handler
// runs only for a caller the policy allows that function. (The service
// checks again, with the object in hand.)
func newMux(routes []route, opts Options, d handlerDeps) *http.ServeMux {
	authn := authenticate(d)
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.handler
		if strings.Contains(rt.path, "{id}") {
			h = requireID(h)
		}
		if rt.stepUp {
			h = requireStepUp(d)(h)
		}
		limit := rateLimit(rt.class(), opts.RateLimits, opts.Logger)
		if rt.auth() {
			// Limited per principal, so after authentication; before
			// authorization, so refused calls spend the budget too.
			h = authn(limit(authorize(rt.action, d)(h)))
		} else {
			h = limit(h)
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	return mux
}

// requireID answers 404 for a path {id} that is not an id this server
// issues (a canonical UUID), so no odd byte sequence from a URL reaches a
// handler or a query. It runs after authorization: a caller refused the
// function is refused it whatever the id.
func requireID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rampart.ValidID(r.PathValue("id")) {
			writeProblem(w, r, probNotFound, "no such resource", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// chain is the whole middleware order, outermost first:
//
//  1. observe         request id and client address for everything below;
//     on the way out, one access log line and the metrics, whatever happened
//  2. securityHeaders set before anything can answer, so every answer has them
//  3. refuseBlocked   429 for a blocked source, before any other work
//     (no body read, no credential checked, no budget spent)
//  4. recoverPanic    a panic becomes a 500 that still has the headers above
//  5. corsPolicy      grants for allowlisted origins only
//  6. limitBody       415 and 413 before any handler reads a byte
//  7. serveRoutes     the ServeMux, with problem+json for its 404/405
//
// Recovery sits inside the access log (not outermost) so that a recovered
// panic is logged as the 500 it became.
func chain(opts Options, m *metrics, mux *http.ServeMux) http.Handler {
	h := serveRoutes(mux)
	h = limitBody(opts.MaxBodyBytes)(h)
	h = corsPolicy(opts.CORSOrigins, opts.RefreshCookie)(h)
	h = recoverPanic(opts.Logger)(h)
	resolver := clientIPResolver{trusted: opts.TrustedProxies}
	h = refuseBlocked(opts.Blocks, resolver)(h)
	h = securityHeaders(h)
	h = observe(opts.Logger, m, resolver, opts.SecurityEvents)(h)
	return h
}
