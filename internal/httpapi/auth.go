package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"example.com/rampart/internal/rampart"
)

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
func authenticate(deps handlerDeps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := authenticateBearer(w, r, deps, "send an access token or API key as Authorization: Bearer <credential>")
			if !ok {
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

// authenticateBearer checks the request's bearer credential and notes its
// principal for the request log; or it answers 401 (missing reports
// detail) and reports false.
func authenticateBearer(w http.ResponseWriter, r *http.Request, deps handlerDeps, missing string) (rampart.Principal, bool) {
	credential, ok := bearerToken(r)
	if !ok {
		writeProblem(w, r, probUnauthenticated, missing, nil)
		return rampart.Principal{}, false
	}
	p, err := deps.auth.Authenticate(r.Context(), credential)
	if err != nil {
		writeCredentialError(w, r, deps.logger, err)
		return rampart.Principal{}, false
	}
	if info := infoFrom(r.Context()); info != nil {
		info.userID, info.apiKeyID, info.tenantID = p.UserID, p.APIKeyID, p.TenantID
	}
	return p, true
}

// writeCredentialError answers a bearer credential that was presented and
// refused. A client can act on three answers (api.md, "authentication"):
// /token-expired (refresh the token or replace the key), /invalid-token
// (malformed, forged, revoked or unknown: sign in again) and, for no
// credential at all, /unauthenticated, which is never said here. Any other
// failure (the store down, say) keeps its own problem.
func writeCredentialError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	if rampart.ErrorKind(err) != rampart.KindUnauthenticated {
		writeError(w, r, logger, err)
		return
	}
	challenge := bearerChallenge{Error: "invalid_token"}
	e := rampart.ErrorOf(err)
	if e.Code == rampart.CodeTokenExpired {
		challenge.Description = e.Message
	} else if e.Code != rampart.CodeInvalidToken {
		// An unauthenticated answer without a code is still a refused
		// credential: never let it read as "no credentials".
		err = &rampart.Error{Kind: rampart.KindUnauthenticated, Code: rampart.CodeInvalidToken, Message: e.Message, Err: err}
	}
	w.Header().Set("WWW-Authenticate", challenge.String())
	writeError(w, r, logger, err)
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

// requireStepUp lets a request through to a sensitive route only when its
// principal proved the password recently (rampart.Authenticator.RequireStepUp):
// otherwise 401 with an RFC 9470 challenge, or 403 for an API key.
func requireStepUp(deps handlerDeps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := deps.auth.RequireStepUp(principalFrom(r.Context())); err != nil {
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
	m.Route = r.Pattern
	m.UserAgent = r.Header.Get("User-Agent")
	return m
}
