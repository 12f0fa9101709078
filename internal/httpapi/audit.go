package httpapi

import (
	"encoding/json/jsontext"
	"net/http"
	"regexp"
	"strings"
	"time"

	"example.com/rampart/internal/rampart"
)

// auditEventResponse is an audit event as clients see it. The chain's
// hashes stay inside: they are for the verifier, not for clients. Details
// hold ids and fixed words only, never a secret (the service writes them).
type auditEventResponse struct {
	ID        string         `json:"id" validate:"id"`
	Seq       int64          `json:"seq" validate:"auditSeq"`
	Time      time.Time      `json:"time"`
	Type      string         `json:"type" validate:"auditType"`
	ActorID   string         `json:"actorId" validate:"actorId"`
	SourceIP  string         `json:"sourceIp" validate:"ip"`
	RequestID string         `json:"requestId" validate:"requestId"`
	Target    string         `json:"target" validate:"auditTarget"`
	Details   jsontext.Value `json:"details"`
}

// auditTypePattern is what an event type looks like ("user.role_changed").
var auditTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)

func handleListAuditEvents(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		// The filter is part of the cursor's scope: a cursor of one filter
		// is refused on another.
		q := r.URL.Query()
		typ := q.Get("type")
		scope := listScope(p, "audit-events", "type="+typ)
		page, errs := d.cursors.parsePage(q, scope, "type")
		if q.Has("type") {
			if msg := checkString(typ, fieldRules["auditType"]); msg != "" {
				errs = append(errs, FieldError{Field: "type", Message: msg + ", such as user.login"})
			}
		}
		if errs != nil {
			writeProblem(w, r, probValidation, "the query has invalid parameters", errs)
			return
		}
		events, next, err := d.service.ListAuditEvents(r.Context(), p, rampart.AuditFilter{Type: typ}, page)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		out := listPage[auditEventResponse]{Items: make([]auditEventResponse, 0, len(events)), NextCursor: d.cursors.encode(scope, next)}
		for _, e := range events {
			out.Items = append(out.Items, auditEventResponse{ID: e.ID, Seq: e.Seq, Time: e.Time, Type: e.Type,
				ActorID: e.ActorID, SourceIP: e.SourceIP, RequestID: e.RequestID, Target: e.Target,
				Details: jsontext.Value(e.Details)})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// Query parameters of the listings, as the OpenAPI document shows them.
var (
	pageQuery  = []string{"limit", "cursor"}
	auditQuery = []string{"limit", "cursor", "type"}
)

// listScope binds a listing's cursors to the caller, their tenant, the
// listing and its filters, so that a cursor works only where it was
// issued.
func listScope(p rampart.Principal, listing string, filters ...string) string {
	actor := "user:" + p.UserID
	if p.APIKeyID != "" {
		actor = "key:" + p.APIKeyID
	}
	return strings.Join(append([]string{p.TenantID, actor, listing}, filters...), "|")
}
