package httpapi

import (
	"context"
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

// authenticate admits requests with a valid bearer access token whose
// session is still live. Credentials are read only from the Authorization
// header, never from the query string or a cookie (AUTH-06).
func authenticate(tokens TokenVerifier, identity *rampart.Identity, deps handlerDeps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := bearerToken(r)
			if !ok {
				writeProblem(w, r, probUnauthenticated, "send an access token as Authorization: Bearer <token>", nil)
				return
			}
			claims, err := tokens.Verify(r.Context(), token, time.Now())
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="rampart", error="invalid_token"`)
				writeError(w, r, deps.logger, err)
				return
			}
			p, err := identity.Authenticate(r.Context(), claims)
			if err != nil {
				if rampart.ErrorKind(err) == rampart.KindUnauthenticated {
					w.Header().Set("WWW-Authenticate", `Bearer realm="rampart", error="invalid_token"`)
				}
				writeError(w, r, deps.logger, err)
				return
			}
			if info := infoFrom(r.Context()); info != nil {
				info.userID, info.tenantID = p.UserID, p.TenantID
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

// bearerToken extracts the credential of an "Authorization: Bearer" header
// (the scheme is case-insensitive, RFC 9110 §11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 4096 {
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
