package rampart

import (
	"context"
	"time"
)

// Resources is the service for a tenant's resources: orders, users, API
// keys and the audit log. Every method takes the acting Principal, calls
// Authorize before it touches the store, and reaches the store only with
// the principal's tenant, so no call can read or change another tenant's
// data. New builds it.
type Resources struct {
	store   Store
	hasher  PasswordHasher // new users' passwords
	policy  PasswordPolicy
	auditor Auditor
	events  securityEvents
	outbox  Outbox         // invitations
	stepUp  *Authenticator // a role change needs a recent password proof
	now     func() time.Time
	// publicURL is IdentityConfig.PublicURL, for the links in invitations.
	publicURL string
	// skipEqualising is IdentityConfig.SkipEqualising, for invitations:
	// tests only.
	skipEqualising bool
}

// audit records an action of p in p's tenant through tx, the unit that
// makes the change (see Auditor.Record).
func (s *Resources) audit(ctx context.Context, tx Store, meta RequestMeta, p Principal, typ, target string, details map[string]string) error {
	return s.auditor.Record(ctx, tx, meta, p.TenantID, actorID(p), typ, target, details)
}

// ValidID reports whether id could be an id this server issued: a UUID in
// its canonical text form (see NewID). Anything else names no record, and
// is answered NotFound without asking the store, so no odd byte sequence
// from a URL reaches a query.
func ValidID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
