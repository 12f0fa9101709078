package rampart

import (
	"errors"
	"time"
)

// Deps are the adapters the domain services are built from (see ports.go);
// all are required but Now and Events.
type Deps struct {
	Store    Store
	Hasher   PasswordHasher
	Policy   PasswordPolicy
	Tokens   TokenIssuer
	Verifier TokenVerifier
	Sealer   Sealer
	Throttle LoginThrottle
	TOTP     TOTP
	Now      func() time.Time // nil means time.Now
	Events   SecurityEvents   // nil: security events are not recorded
	// Mail wakes the mail sender after a message is committed to the
	// outbox; nil: the sender finds it at its next poll.
	Mail MailNotifier
}

// Services are the domain: three services, each holding only the
// dependencies it uses, over one store, one clock and one Auditor.
type Services struct {
	Identity  *Identity      // accounts: signup, sign-in, sessions, passwords, second factors
	Resources *Resources     // a tenant's orders, users, API keys and audit log
	Auth      *Authenticator // every bearer credential to a Principal; the step-up rule
	// Outbox is how the services queue mail (sealed under the master key,
	// in the caller's unit); exported for operator commands and tests.
	Outbox Outbox
}

// New builds the domain services from their adapters.
func New(d Deps, cfg IdentityConfig) (*Services, error) {
	if d.Store == nil || d.Hasher == nil || d.Policy == nil || d.Tokens == nil || d.Verifier == nil ||
		d.Sealer == nil || d.Throttle == nil || d.TOTP == nil {
		return nil, errors.New("rampart: a dependency of the domain services is missing")
	}
	if cfg.AccessTTL <= 0 || cfg.AccessTTL > MaxAccessTTL {
		return nil, errors.New("rampart: identity: the access token lifetime must be at most 15 minutes")
	}
	if cfg.RefreshGrace < 0 || cfg.RefreshGrace > MaxRefreshGrace || cfg.StepUpMaxAge <= 0 {
		return nil, errors.New("rampart: identity: the refresh grace must be 0 to 1 minute and the step-up age more than 0")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	auditor := Auditor{now: d.Now}
	events := securityEvents{sink: d.Events, now: d.Now}
	outbox := NewOutbox(d.Sealer, d.Mail, d.Now)
	auth := &Authenticator{store: d.Store, verifier: d.Verifier, now: d.Now, stepUpMaxAge: cfg.StepUpMaxAge}
	return &Services{
		Identity: &Identity{store: d.Store, hasher: d.Hasher, policy: d.Policy, tokens: d.Tokens, sealer: d.Sealer,
			throttle: d.Throttle, totp: d.TOTP, auditor: auditor, events: events, outbox: outbox, now: d.Now, cfg: cfg},
		Resources: &Resources{store: d.Store, hasher: d.Hasher, policy: d.Policy, auditor: auditor, events: events, outbox: outbox, stepUp: auth, now: d.Now,
			publicURL: cfg.PublicURL, skipEqualising: cfg.SkipEqualising},
		Auth:   auth,
		Outbox: outbox,
	}, nil
}
