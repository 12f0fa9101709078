package httpapi

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/rs/cors"

	"example.com/rampart/internal/rampart"
)

// requestInfo is what the edge learns about one request. It is allocated
// once per request, together with the response recorder; later layers fill
// in the route and, once authenticated, the user and tenant, and the access
// log reads them at the end.
type requestInfo struct {
	id       string
	idHeader [1]string // backing array for the X-Request-Id header value
	clientIP netip.Addr
	ipText   string
	https    bool
	route    string
	userID   string
	apiKeyID string
	tenantID string
	events   rampart.SecurityEvents // nil: none recorded (recordAnswer)
	rec      responseRecorder
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

func requestIDFrom(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// ClientIP is the client address the edge settled on (see clientIPResolver).
func ClientIP(ctx context.Context) netip.Addr {
	if info := infoFrom(ctx); info != nil {
		return info.clientIP
	}
	return netip.Addr{}
}

// observe is the outermost layer. It gives every request an id and a client
// address, and when the request is answered writes one access log line and
// records the metrics. The route is the matched pattern, never the raw path.
//
// An inbound X-Request-Id is kept only when it is short and made of safe
// characters, so it cannot smuggle anything into logs or downstream headers.
func observe(logger *slog.Logger, m *metrics, resolver clientIPResolver, events rampart.SecurityEvents) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			m.inFlight.Inc()
			info := &requestInfo{id: r.Header.Get("X-Request-Id"), events: events}
			if !validRequestID(info.id) {
				info.id = rand.Text()
			}
			info.idHeader[0] = info.id
			w.Header()["X-Request-Id"] = info.idHeader[:1:1]
			info.clientIP, info.https = resolver.resolve(r)
			info.ipText = info.clientIP.String()
			info.rec.ResponseWriter = w

			next.ServeHTTP(&info.rec, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))

			m.inFlight.Dec()
			elapsed := time.Since(start)
			status := info.rec.status
			if status == 0 {
				status = http.StatusOK
			}
			route := info.route
			if route == "" {
				route = "unmatched"
			}
			m.observe(route, r.Method, status, elapsed)
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			logger.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int64("duration_us", elapsed.Microseconds()), // an integer: slog formats floats through encoding/json
				slog.Int64("bytes", info.rec.bytes),
				slog.String("request_id", info.id),
				slog.String("client_ip", info.ipText),
				slog.String("user_id", info.userID),
				slog.String("api_key_id", info.apiKeyID),
				slog.String("tenant_id", info.tenantID),
			)
		})
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// responseRecorder remembers the status and size of a response for the
// access log, and lets serveRoutes replace the ServeMux's own plain-text
// error answers with problem+json.
type responseRecorder struct {
	http.ResponseWriter
	status  int
	bytes   int64
	muxReq  *http.Request // the request as the ServeMux saw it
	discard bool          // drop the ServeMux's plain-text body
}

func (rec *responseRecorder) WriteHeader(code int) {
	if rec.status != 0 {
		return
	}
	if rec.muxReq != nil && rec.muxAnswer(code) {
		return
	}
	rec.status = code
	rec.ResponseWriter.WriteHeader(code)
}

// muxAnswer rewrites the answers that the ServeMux produces itself: 404 and
// 405 (with Allow) when no pattern matched, and the redirects it issues to
// clean paths such as "/v1//x" or "/v1/../x". Rampart's handlers never
// redirect, and an API client should not be sent elsewhere silently, so any
// redirect becomes a 404. It reports whether it took over the response.
func (rec *responseRecorder) muxAnswer(code int) bool {
	unmatched := rec.muxReq.Pattern == ""
	var pk problemKind
	switch {
	case unmatched && code == http.StatusMethodNotAllowed:
		pk = probMethod
	case unmatched && code == http.StatusNotFound, code >= 300 && code < 400:
		pk = probNotFound
		rec.Header().Del("Location")
	default:
		return false
	}
	req := rec.muxReq
	rec.muxReq = nil // writeProblem calls WriteHeader again
	writeProblem(rec, req, pk, "", nil)
	rec.discard = true
	return true
}

func (rec *responseRecorder) Write(b []byte) (int, error) {
	if rec.discard {
		return len(b), nil
	}
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush, deadlines and the like.
func (rec *responseRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Header values are shared across responses; the three-index slices make
// any later append copy instead of writing into the shared array.
var (
	hNosniff     = []string{"nosniff"}[:1:1]
	hNoStore     = []string{"no-store"}[:1:1]
	hCSP         = []string{"default-src 'none'; base-uri 'none'; frame-ancestors 'none'"}[:1:1]
	hNoReferrer  = []string{"no-referrer"}[:1:1]
	hSameOrigin  = []string{"same-origin"}[:1:1]
	hDeny        = []string{"DENY"}[:1:1]
	hPermissions = []string{"accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"}[:1:1]
	hNoXDomain   = []string{"none"}[:1:1]
	hHSTS        = []string{"max-age=31536000; includeSubDomains"}[:1:1]
)

// securityHeaders sets the contract's headers before anything else can
// answer, so errors, 404s and recovered panics carry them too.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = hNosniff
		h["Cache-Control"] = hNoStore
		h["Content-Security-Policy"] = hCSP
		h["Referrer-Policy"] = hNoReferrer
		h["Cross-Origin-Opener-Policy"] = hSameOrigin
		h["Cross-Origin-Resource-Policy"] = hSameOrigin
		h["X-Frame-Options"] = hDeny
		h["Permissions-Policy"] = hPermissions
		h["X-Permitted-Cross-Domain-Policies"] = hNoXDomain
		if info := infoFrom(r.Context()); info != nil && info.https {
			h["Strict-Transport-Security"] = hHSTS
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanic turns a panic into a generic 500. The panic value and stack
// go to the server log with the request id, never to the client.
func recoverPanic(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
					panic(p)
				}
				logger.LogAttrs(r.Context(), slog.LevelError, "panic",
					slog.String("request_id", requestIDFrom(r.Context())),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				if rec, ok := w.(*responseRecorder); ok && rec.status != 0 {
					// Headers are gone; the only honest signal left is a broken connection.
					panic(http.ErrAbortHandler)
				}
				writeProblem(w, r, probInternal, "", nil)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// corsPolicy grants cross-origin access to the exact origins configured and
// to nobody else: an allowed origin gets itself back in
// Access-Control-Allow-Origin (never "*") with Vary: Origin. No origins
// configured means no origin is allowed, "null" included; rs/cors would read
// an empty list as "allow all", so the library only ever sees a non-empty
// list, through an exact-match function that also keeps its wildcard
// patterns out of play. A preflight from any other origin is refused with
// 403 rather than answered with an empty 204. Credentials (cookies) are
// allowed only in refresh-cookie mode, and then only for those exact origins.
func corsPolicy(origins []string, credentials bool) func(http.Handler) http.Handler {
	allowed := func(origin string) bool { return slices.Contains(origins, origin) }
	refusePreflight := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodOptions || r.Header.Get("Origin") == "" ||
			r.Header.Get("Access-Control-Request-Method") == "" || allowed(r.Header.Get("Origin")) {
			return false
		}
		w.Header().Add("Vary", "Origin")
		writeProblem(w, r, probForbidden, "cross-origin requests from this origin are not allowed", nil)
		return true
	}
	if len(origins) == 0 {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !refusePreflight(w, r) {
					next.ServeHTTP(w, r)
				}
			})
		}
	}
	c := cors.New(cors.Options{
		AllowOriginFunc:  allowed,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "X-Request-Id"},
		ExposedHeaders:   []string{"X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy"},
		MaxAge:           600,
		AllowCredentials: credentials,
	})
	return func(next http.Handler) http.Handler {
		granted := c.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !refusePreflight(w, r) {
				granted.ServeHTTP(w, r)
			}
		})
	}
}

// limitBody enforces the contract for request bodies before anything reads
// them: a body must be declared as JSON (415 otherwise), and one whose
// declared length is over the limit is refused at once with 413. Bodies of
// unknown length (chunked) are cut off by MaxBytesReader while streaming.
func limitBody(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength == 0 {
				next.ServeHTTP(w, r)
				return
			}
			if !acceptedMediaType(r.Method, r.Header.Get("Content-Type")) {
				detail := "request bodies must be sent as application/json"
				if r.Method == http.MethodPatch {
					detail = "request bodies must be sent as application/json or " + mergePatchMediaType
				}
				writeProblem(w, r, probMediaType, detail, nil)
				return
			}
			if r.ContentLength > maxBytes {
				writeProblem(w, r, probTooLarge, "the request body is larger than the limit", nil)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
			next.ServeHTTP(w, r)
		})
	}
}

// mergePatchMediaType is RFC 7396's media type. Every PATCH body here is a
// JSON merge patch (members present are set, members absent are kept), so
// PATCH takes it as well as application/json, decoded just as strictly.
const mergePatchMediaType = "application/merge-patch+json"

// acceptedMediaType reports whether a request body of media type v may be
// sent with method.
func acceptedMediaType(method, v string) bool {
	return isMediaType(v, "application/json") || method == http.MethodPatch && isMediaType(v, mergePatchMediaType)
}

// isMediaType accepts the media type want with, at most, a charset
// parameter of utf-8 (JSON is UTF-8 by definition, RFC 8259 §8.1).
func isMediaType(v, want string) bool {
	mt, params, _ := strings.Cut(v, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), want) {
		return false
	}
	params = strings.TrimSpace(params)
	if params == "" {
		return true
	}
	name, value, ok := strings.Cut(params, "=")
	value = strings.Trim(strings.TrimSpace(value), `"`)
	return ok && strings.EqualFold(strings.TrimSpace(name), "charset") && strings.EqualFold(value, "utf-8")
}

// serveRoutes dispatches to the ServeMux, records the matched pattern for
// the access log and metrics, and has the recorder rewrite the mux's own
// plain-text 404/405 answers.
func serveRoutes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*responseRecorder)
		if !ok {
			rec = &responseRecorder{ResponseWriter: w}
		}
		rec.muxReq = r
		defer func() {
			rec.muxReq = nil
			if info := infoFrom(r.Context()); info != nil {
				info.route = r.Pattern
			}
		}()
		mux.ServeHTTP(rec, r)
	})
}
