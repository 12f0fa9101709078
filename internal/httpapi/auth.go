package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"example.com/rampart/internal/rampart"
)

// TokenVerifier checks an access token's signature and claims.
type TokenVerifier interface {
	Verify(ctx context.Context, token string, now time.Time) (rampart.AccessClaims, error)
}

type principalKey struct{}

// principalFrom returns the authenticated principal; routes that require
// authentication always have one.
func principalFrom(ctx context.Context) rampart.Principal {
	p, _ := ctx.Value(principalKey{}).(rampart.Principal)
	return p
}

// authenticate admits requests with a valid bearer credential: an access
// token whose session is still live, or an API key that is neither revoked
// nor expired. Credentials are read only from the Authorization header,
// never from the query string or a cookie (AUTH-06).
func authenticate(tokens TokenVerifier, deps handlerDeps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			credential, ok := bearerToken(r)
			if !ok {
				writeProblem(w, r, probUnauthenticated, "send an access token or API key as Authorization: Bearer <credential>", nil)
				return
			}
			var p rampart.Principal
			var err error
			if rampart.IsAPIKey(credential) {
				p, err = deps.service.AuthenticateAPIKey(r.Context(), credential)
			} else {
				var claims rampart.AccessClaims
				// The identity service's clock, which also judges the
				// session, so a test clock (or any injected one) governs
				// token expiry too.
				if claims, err = tokens.Verify(r.Context(), credential, deps.identity.Now()); err == nil {
					p, err = deps.identity.Authenticate(r.Context(), claims)
				}
			}
			if err != nil {
				if rampart.ErrorKind(err) == rampart.KindUnauthenticated {
					w.Header().Set("WWW-Authenticate", `Bearer realm="rampart", error="invalid_token"`)
				}
				writeError(w, r, deps.logger, err)
				return
			}
			if info := infoFrom(r.Context()); info != nil {
				info.userID, info.apiKeyID, info.tenantID = p.UserID, p.APIKeyID, p.TenantID
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

// authorize lets a request through only when its principal may perform
// action at all (the function-level check, 403 otherwise). Whether it may
// on a particular object is the service's to decide, with the object in
// hand.
func authorize(action rampart.Action, deps handlerDeps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := rampart.Authorize(principalFrom(r.Context()), action); err != nil {
				deps.logger.LogAttrs(r.Context(), slog.LevelInfo, "authz_fail",
					slog.String("request_id", requestIDFrom(r.Context())), slog.String("action", string(action)))
				writeError(w, r, deps.logger, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// bearerToken extracts the credential of an "Authorization: Bearer" header
// (the scheme is case-insensitive, RFC 9110 §11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > maxBearerLength {
		return "", false
	}
	return token, true
}

// meta is what an audit event records about the request.
func meta(r *http.Request) rampart.RequestMeta {
	m := rampart.RequestMeta{}
	if info := infoFrom(r.Context()); info != nil {
		m.SourceIP, m.RequestID = info.ipText, info.id
	}
	return m
}
