package rampart

import "time"

// Tenant is an organisation. Every user, session, API key, order and audit
// event belongs to exactly one tenant, and no tenant sees another's data.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}
