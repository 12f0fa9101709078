package rampart

import "time"

// Principal is who makes a request, as the edge authenticated it: a user
// through a session, or a program through an API key. Service methods take
// it explicitly instead of digging it out of a context.
type Principal struct {
	TenantID  string
	UserID    string // set for a user; empty for an API key
	Role      Role   // the user's role; empty for an API key
	SessionID string // the session the access token belongs to
	APIKeyID  string // set for an API key
	Scopes    []string
	// AuthTime is the access token's auth_time: when the session last
	// proved the password (see Session.AuthTime). Zero for an API key.
	AuthTime time.Time
}

// RequestMeta is what the edge knows about a request that belongs in audit
// events.
type RequestMeta struct {
	SourceIP  string
	RequestID string
	Route     string // the route pattern, for security events
	UserAgent string // as sent; sessions store ShortUserAgent of it
}
