package httpapi

import (
	"encoding/json/v2"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"example.com/rampart/internal/rampart"
)

// problemTypeBase prefixes every problem "type". It is an identifier, not a
// page clients are expected to fetch (RFC 9457 §3.1.1).
const problemTypeBase = "https://rampart.dev/problems/"

// Problem is an RFC 9457 problem details body. Its fields are the only ones
// an error response ever carries: there is no field through which a cause,
// a stack or a request body could travel to the client.
type Problem struct {
	Type      string       `json:"type" validate:"problemType"`
	Title     string       `json:"title" validate:"problemText"`
	Status    int          `json:"status" validate:"httpStatus"`
	Detail    string       `json:"detail,omitzero" validate:"problemText"`
	RequestID string       `json:"requestId,omitzero" validate:"requestId"`
	Errors    []FieldError `json:"errors,omitzero" validate:"fieldErrors"`
}

// FieldError names one invalid input field, using the path a client wrote,
// such as "items[0].quantity".
type FieldError struct {
	Field   string `json:"field" validate:"fieldPath"`
	Message string `json:"message" validate:"detailMessage"`
}

// problemKind is one row of the error vocabulary: a stable type slug and a
// title that never changes for that slug.
type problemKind struct {
	status int
	slug   string
	title  string
}

var (
	probMalformed       = problemKind{http.StatusBadRequest, "malformed-request", "Malformed request"}
	probUnauthenticated = problemKind{http.StatusUnauthorized, "unauthenticated", "Authentication required"}
	probForbidden       = problemKind{http.StatusForbidden, "forbidden", "Forbidden"}
	probNotFound        = problemKind{http.StatusNotFound, "not-found", "Not found"}
	probMethod          = problemKind{http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed"}
	probConflict        = problemKind{http.StatusConflict, "conflict", "Conflict"}
	probTooLarge        = problemKind{http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large"}
	probMediaType       = problemKind{http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type"}
	probValidation      = problemKind{http.StatusUnprocessableEntity, "validation-failed", "Validation failed"}
	probRateLimited     = problemKind{http.StatusTooManyRequests, "rate-limited", "Too many requests"}
	probInternal        = problemKind{http.StatusInternalServerError, "internal", "Internal server error"}
	probUnavailable     = problemKind{http.StatusServiceUnavailable, "unavailable", "Service unavailable"}
)

// edgeProblems are the problems above, for the document (problemTypes).
var edgeProblems = []problemKind{probMalformed, probUnauthenticated, probForbidden, probNotFound, probMethod, probConflict,
	probTooLarge, probMediaType, probValidation, probRateLimited, probSourceBlocked, probInternal, probUnavailable}

// kindProblems is the one table that turns domain error kinds into HTTP.
var kindProblems = map[rampart.Kind]problemKind{
	rampart.KindInvalid:         probValidation,
	rampart.KindUnauthenticated: probUnauthenticated,
	rampart.KindForbidden:       probForbidden,
	rampart.KindNotFound:        probNotFound,
	rampart.KindConflict:        probConflict,
	rampart.KindRateLimited:     probRateLimited,
	rampart.KindUnavailable:     probUnavailable,
	rampart.KindInternal:        probInternal,
}

func writeProblem(w http.ResponseWriter, r *http.Request, pk problemKind, detail string, fields []FieldError) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	// Callers that know more (an invalid token, a computed wait) set these
	// headers first; the defaults only fill in what is missing.
	switch pk.status {
	case http.StatusUnauthorized:
		if h.Get("WWW-Authenticate") == "" {
			h.Set("WWW-Authenticate", bearerChallenge{}.String())
		}
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		// A backstop for the edge's own 503s (readiness): the domain's
		// overload errors carry their RetryAfter, which writeError sets.
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", strconv.Itoa(int(rampart.RetryAfterUnavailable.Seconds())))
		}
	}
	w.WriteHeader(pk.status)
	recordAnswer(r, pk)
	p := Problem{
		Type:      problemTypeBase + pk.slug,
		Title:     pk.title,
		Status:    pk.status,
		Detail:    detail,
		RequestID: requestIDFrom(r.Context()),
		Errors:    boundFields(fields),
	}
	// The status line is already sent; a failed write means the client left.
	_ = json.MarshalWrite(w, p)
}

// codeProblems is the one table of the codes the domain returns: the
// status, problem type slug and title each is answered with. Every
// rampart.Code has a row (TestEveryCodeHasAProblem), so no code reaches a
// client unreviewed. Input codes are answered as the generic validation
// problem: the field is named in its errors.
var codeProblems = map[rampart.Code]problemKind{
	rampart.CodeInvalidCredentials: {http.StatusUnauthorized, "invalid-credentials", "Invalid credentials"},
	rampart.CodeMFARequired:        {http.StatusUnauthorized, "mfa-required", "Second factor required"},
	rampart.CodeInvalidToken:       {http.StatusUnauthorized, "invalid-token", "Invalid token"},
	rampart.CodeTokenExpired:       {http.StatusUnauthorized, "token-expired", "Token expired"},
	rampart.CodeTokenReused:        {http.StatusUnauthorized, "refresh-token-reused", "Refresh token reused"},
	rampart.CodeStepUpRequired:     {http.StatusUnauthorized, "step-up-required", "Step-up authentication required"},
	rampart.CodeLoginThrottled:     {http.StatusTooManyRequests, "login-throttled", "Too many failed attempts"},
	rampart.CodeBusy:               {http.StatusServiceUnavailable, "busy", "Server busy"},
	rampart.CodeWeakPassword:       probValidation,
	rampart.CodeInvalidCode:        probValidation,
	rampart.CodeInvalidLink:        {http.StatusUnprocessableEntity, "invalid-link", "Invalid or expired link"},
	rampart.CodeEmailTaken:         {http.StatusConflict, "email-taken", "Email already registered"},
	rampart.CodeMFAEnabled:         {http.StatusConflict, "mfa-enabled", "Second factor already enabled"},
	rampart.CodeMFANotEnrolled:     {http.StatusConflict, "mfa-not-enrolled", "Second factor not enrolled"},
	rampart.CodeMFANotEnabled:      {http.StatusConflict, "mfa-not-enabled", "Second factor not enabled"},
	rampart.CodeOrderNotPending:    {http.StatusConflict, "order-not-pending", "Order not pending"},
	rampart.CodeLastAdmin:          {http.StatusConflict, "last-admin", "Last admin"},
	rampart.CodeOwnRole:            {http.StatusForbidden, "own-role", "Own role"},
	rampart.CodeSignupClosed:       {http.StatusForbidden, "signup-closed", "Signup closed"},
}

// problemTypes lists, sorted, the type slugs the server answers with
// status: the edge's own and the codes' (for the OpenAPI document).
func problemTypes(status int) []string {
	var slugs []string
	for _, pk := range append(slices.Collect(maps.Values(codeProblems)), edgeProblems...) {
		if pk.status == status {
			slugs = append(slugs, pk.slug)
		}
	}
	slices.Sort(slugs)
	return slices.Compact(slugs)
}

// byCode is the problems of codes, for a route's errors.
func byCode(codes ...rampart.Code) []problemKind {
	pks := make([]problemKind, len(codes))
	for i, c := range codes {
		pks[i] = codeProblems[c]
	}
	return pks
}

// problemFor is the problem for a domain error of kind with code ("" for
// none).
func problemFor(kind rampart.Kind, code rampart.Code) problemKind {
	if pk, ok := codeProblems[code]; ok {
		return pk
	}
	return kindProblems[kind]
}

// writeError answers with the problem for err. Only the domain's
// client-safe message is shown; anything unclassified is logged with its
// cause and reaches the client as a bare 500.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	kind := rampart.ErrorKind(err)
	pk := kindProblems[kind]
	var detail string
	var fields []FieldError
	if e := rampart.ErrorOf(err); e != nil {
		detail = e.Message
		pk = problemFor(kind, e.Code)
		switch {
		case e.Code == rampart.CodeStepUpRequired:
			w.Header().Set("WWW-Authenticate", bearerChallenge{Error: "insufficient_user_authentication",
				MaxAgeSeconds: int64(e.MaxAge / time.Second)}.String())
		case kind == rampart.KindForbidden && e.Scope != "":
			// RFC 6750 §3.1: the token is fine, its scope is not enough.
			w.Header().Set("WWW-Authenticate", bearerChallenge{Error: "insufficient_scope", Scope: e.Scope}.String())
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
		if kind == rampart.KindInvalid && e.Field != "" {
			fields = []FieldError{{Field: e.Field, Message: e.Message}}
			detail = "the request body has invalid fields"
		}
	}
	switch kind {
	case rampart.KindInternal:
		detail = ""
		logger.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", requestIDFrom(r.Context())), slog.String("error", err.Error()))
	case rampart.KindUnavailable:
		logger.LogAttrs(r.Context(), slog.LevelWarn, "dependency unavailable",
			slog.String("request_id", requestIDFrom(r.Context())), slog.String("error", err.Error()))
	}
	writeProblem(w, r, pk, detail, fields)
}

// writeJSON answers with v as an application/json body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.MarshalWrite(w, v)
}
