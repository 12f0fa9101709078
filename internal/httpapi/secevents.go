package httpapi

import (
	"net/http"
	"strings"

	"example.com/rampart/internal/rampart"
)

// refreshRoute is the pattern whose 401s are refresh failures.
const refreshRoute = "POST /v1/auth/refresh"

// eventFor is the security event type of an answer, from the one table of
// problems: the edge records every refusal at the place it is written
// (writeProblem), so no handler can forget to. ok is false for answers
// that are no security signal (409, 5xx, a second factor still to come).
func eventFor(pk problemKind, route string) (t rampart.SecurityEventType, ok bool) {
	switch pk.status {
	case http.StatusUnauthorized:
		switch {
		case pk.slug == codeProblems[rampart.CodeMFARequired].slug:
			return "", false // the password was right; the code is still to come
		case pk.slug == codeProblems[rampart.CodeInvalidCredentials].slug:
			// Recorded by the domain, which alone knows whose credentials
			// failed (rampart.Identity.loginFailed).
			return "", false
		case pk.slug == codeProblems[rampart.CodeStepUpRequired].slug:
			return rampart.EventStepUpRefused, true
		case route == refreshRoute:
			return rampart.EventRefreshFailure, true
		}
		return rampart.EventAuthFailure, true
	case http.StatusForbidden:
		return rampart.EventForbidden, true
	case http.StatusNotFound:
		// Only an object route's 404 says something: an id that is absent or
		// another tenant's. An unknown path is noise.
		if strings.Contains(route, "{") {
			return rampart.EventNotFoundTenant, true
		}
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return rampart.EventValidation, true
	case http.StatusTooManyRequests:
		// A blocked source's refusals are no events: the block placed is
		// one, and the refusals are counted (refuseBlocked).
		if pk == probSourceBlocked {
			return "", false
		}
		// The login throttle is engaged for the account: the answer every
		// attempt gets while its delay lasts.
		if pk.slug == codeProblems[rampart.CodeLoginThrottled].slug {
			return rampart.EventLockout, true
		}
		return rampart.EventRateLimited, true
	}
	return "", false
}

// recordAnswer records the security event, if any, of answering r with pk.
// The detail is the problem's type slug: a fixed word, never request data.
func recordAnswer(r *http.Request, pk problemKind) {
	info := infoFrom(r.Context())
	if info == nil || info.events == nil {
		return
	}
	t, ok := eventFor(pk, r.Pattern)
	if !ok {
		return
	}
	info.events.Record(r.Context(), rampart.SecurityEvent{Type: t, Source: info.clientIP, AccountID: info.userID,
		TenantID: info.tenantID, Route: r.Pattern, RequestID: info.id, Status: pk.status, Detail: pk.slug})
}
