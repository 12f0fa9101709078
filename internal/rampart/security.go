package rampart

import (
	"context"
	"net/netip"
	"time"
)

// SecurityEventType names one kind of security event. The set is closed:
// SecurityEventTypes lists it, and the log schema, the metric label and the
// audit event type are each derived from it, so their cardinality is
// bounded.
type SecurityEventType string

const (
	EventAuthFailure     SecurityEventType = "auth_failure"     // a wrong password, code or credential
	EventLockout         SecurityEventType = "lockout"          // an account's sign-in throttle engaged
	EventStepUpRefused   SecurityEventType = "step_up_refused"  // a sensitive route without a recent proof
	EventForbidden       SecurityEventType = "forbidden"        // 403: authenticated, function not allowed
	EventNotFoundTenant  SecurityEventType = "not_found"        // 404 on an object id: absent, or another tenant's
	EventValidation      SecurityEventType = "validation"       // 400/413/415/422: a request the edge refused
	EventRefreshFailure  SecurityEventType = "refresh_failure"  // an unknown, expired or revoked refresh token
	EventRefreshReuse    SecurityEventType = "refresh_reuse"    // a rotated refresh token presented again
	EventRateLimited     SecurityEventType = "rate_limited"     // 429 from a route-class limit
	EventPrivilegeChange SecurityEventType = "privilege_change" // a role changed, an API key made
	EventAdminAction     SecurityEventType = "admin_action"     // a user added or deleted, a key revoked
	EventKeyRotation     SecurityEventType = "key_rotation"     // a signing key rotated
	EventEgressRefused   SecurityEventType = "egress_refused"   // an outbound connection to an unlisted destination
	EventDeliveryFailure SecurityEventType = "delivery_failure" // an alert webhook or mail that keeps failing
	EventSourceBlocked   SecurityEventType = "source_blocked"   // a source blocked at the edge
	EventPasswordReset   SecurityEventType = "password_reset"   // a password set through a mailed reset link
)

// SecurityEventTypes is every SecurityEventType.
func SecurityEventTypes() []SecurityEventType {
	return []SecurityEventType{EventAuthFailure, EventLockout, EventStepUpRefused, EventForbidden,
		EventNotFoundTenant, EventValidation, EventRefreshFailure, EventRefreshReuse, EventRateLimited,
		EventPrivilegeChange, EventAdminAction, EventKeyRotation, EventEgressRefused, EventDeliveryFailure,
		EventSourceBlocked, EventPasswordReset}
}

// SecurityEvent is what an investigation needs of one refused or sensitive
// request: who (source address in full, account, tenant), where (route,
// request id) and when. It never carries an email, password, token or key:
// Account is an account id, and Detail is a short fixed phrase chosen by
// the code that records the event, never request data.
type SecurityEvent struct {
	Type      SecurityEventType
	Time      time.Time
	Source    netip.Addr // the client address as the edge derived it (trusted proxies applied); zero when none
	AccountID string     // the account (user) concerned, when known
	TenantID  string     // the tenant concerned, when known
	Route     string     // the route pattern ("POST /v1/auth/login"), never the raw path
	RequestID string
	Status    int    // the HTTP status answered, when the event is an answer
	Detail    string // a fixed phrase, e.g. "wrong password", "unknown refresh token"
}

// SecurityEvents receives every security event. Record must not block a
// request: implementations hand work that can wait (webhooks, Redis) to a
// bounded queue and drop, counting, what does not fit.
type SecurityEvents interface {
	Record(ctx context.Context, e SecurityEvent)
}

// securityEvents is the domain's handle on the SecurityEvents port: nil
// (no stream configured) records nothing. The domain records only what the
// edge cannot see in an answer: a refresh token reused, a privilege
// changed, an administrator's action. Each is recorded after its
// transaction commits, so a change rolled back is never reported.
type securityEvents struct {
	sink SecurityEvents
	now  func() time.Time
}

func (s securityEvents) record(ctx context.Context, meta RequestMeta, t SecurityEventType, tenantID, accountID, detail string) {
	if s.sink == nil {
		return
	}
	source, _ := netip.ParseAddr(meta.SourceIP) // the zero Addr when there is none
	s.sink.Record(ctx, SecurityEvent{Type: t, Time: s.now(), Source: source, AccountID: accountID, TenantID: tenantID,
		Route: meta.Route, RequestID: meta.RequestID, Detail: detail})
}
