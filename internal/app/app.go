// Package app builds the application from a configuration: the domain
// services over a store, with the production adapters (argon2id hasher
// and its overload answer, signing keys, sealed TOTP secrets, login
// throttle, session cache, audit checkpoints). `rampart serve` and the
// HTTP tests both call Build, so what the tests exercise is what runs.
// The HTTP edge (httpapi.NewServer) receives the services; it builds none.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"runtime"
	"time"

	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/seal"
	"example.com/rampart/internal/sessioncache"
	"example.com/rampart/internal/throttle"
	"example.com/rampart/internal/token"
	"example.com/rampart/internal/totp"
)

// Access tokens name this server as issuer and this API as audience; both
// are fixed strings because one deployment is one issuer.
const (
	TokenIssuer   = "rampart"
	TokenAudience = "rampart-api"
)

// MaxThrottledAccounts bounds an in-memory login throttle (a few hundred
// bytes per account).
const MaxThrottledAccounts = 100_000

// Config is what the application is built from. Store and MasterKey are
// required; every other zero value means the single-process default.
type Config struct {
	Store     rampart.Store // open and migrated; the caller closes it
	MasterKey []byte        // the decoded master key: opens the signing keys and TOTP secrets
	Argon2    password.Params
	// HashSlots is how many argon2id hashes run at once; 0 means
	// GOMAXPROCS. A queue of 16 per slot may wait; beyond it, sign-ins are
	// refused at once with 503 + Retry-After.
	HashSlots   int
	Policy      password.Policy
	Identity    rampart.IdentityConfig
	Throttle    rampart.LoginThrottle     // nil: in memory, this process only
	Revocations sessioncache.Bus          // nil: revocations reach this replica only
	Checkpoints rampart.AuditCheckpointer // nil: no checkpoints exported
	Events      rampart.SecurityEvents    // nil: no security events recorded (internal/secevents builds one)
	Mail        rampart.MailNotifier      // nil: queued mail waits for the sender's poll (internal/mail.Notifier wakes it)
	Now         func() time.Time          // nil: time.Now; tests move a clock
}

// App is the built application.
type App struct {
	Services *rampart.Services
	// Deps are what Services were built from; a test may rebuild the
	// services with one adapter wrapped (to count calls, say).
	Deps rampart.Deps
	// Store is Config.Store behind the session cache and the audit
	// checkpoints: the store the services use.
	Store     rampart.Store
	Sessions  *sessioncache.Store // a Revocations bus delivers into it (Bus.Listen)
	Tokens    *token.Manager      // signs and verifies access tokens, publishes the JWKS
	Hasher    *password.Hasher    // for its load gauges
	CursorKey []byte              // HMAC key of pagination cursors
	// Events is Config.Events, for the edge (httpapi.Options.SecurityEvents):
	// the domain and the edge record into the one stream.
	Events rampart.SecurityEvents
}

// Build builds the application from cfg.
func Build(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Store == nil {
		return nil, errors.New("app: a store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	box, tokens, err := OpenKeys(ctx, cfg.Store, cfg.MasterKey, cfg.Identity.AccessTTL, cfg.Now)
	if err != nil {
		return nil, err
	}
	slots := cfg.HashSlots
	if slots <= 0 {
		// GOMAXPROCS, not NumCPU: in a container with a CPU quota the
		// runtime sets GOMAXPROCS to the quota, while NumCPU counts the
		// host's cores.
		slots = runtime.GOMAXPROCS(0)
	}
	hasher, err := password.New(cfg.Argon2, slots, 16*slots)
	if err != nil {
		return nil, err
	}
	loginThrottle := cfg.Throttle
	if loginThrottle == nil {
		loginThrottle = throttle.NewMemory(throttle.DefaultPolicy, MaxThrottledAccounts, cfg.Now)
	}
	// Authenticated requests read their session through a short-lived
	// cache; a revocation here drops it at once, and reaches the other
	// replicas through Revocations.
	sessions := sessioncache.New(cfg.Store, cfg.Revocations, cfg.Now)
	var st rampart.Store = sessions
	if cfg.Checkpoints != nil {
		st = rampart.WithAuditCheckpoints(sessions, cfg.Checkpoints)
	}
	deps := rampart.Deps{
		Store:    st,
		Hasher:   hasher,
		Policy:   cfg.Policy,
		Tokens:   tokens,
		Verifier: tokens,
		Sealer:   box,
		Throttle: loginThrottle,
		TOTP:     totp.Authenticator{},
		Now:      cfg.Now,
		Events:   cfg.Events,
		Mail:     cfg.Mail,
	}
	services, err := rampart.New(deps, cfg.Identity)
	if err != nil {
		return nil, err
	}
	return &App{Services: services, Deps: deps, Store: st, Sessions: sessions, Tokens: tokens, Hasher: hasher,
		CursorKey: deriveKey(cfg.MasterKey, "rampart cursor v1"), Events: cfg.Events}, nil
}

// ErrWrongMasterKey is what an operator needs to hear when the signing keys
// do not open: not a cipher error, but which key is wrong and why it may be.
var ErrWrongMasterKey = errors.New("RAMPART_MASTER_KEY does not open the signing keys sealed in this database: " +
	"was the key changed or lost? Start with the key this database was first used with; " +
	"signing keys and TOTP secrets cannot be read without it")

// OpenKeys opens what the master key protects: the sealing box (signing
// keys, TOTP secrets) and the token manager with the signing keys loaded.
// `rampart keys rotate` uses it too.
func OpenKeys(ctx context.Context, st token.Store, master []byte, accessTTL time.Duration, now func() time.Time) (*seal.Box, *token.Manager, error) {
	box, err := seal.New(master)
	if err != nil {
		return nil, nil, err
	}
	tokens, err := token.New(st, box, token.Config{Issuer: TokenIssuer, Audience: TokenAudience, Lifetime: accessTTL, Now: now})
	if err != nil {
		return nil, nil, err
	}
	if err := tokens.Load(ctx); err != nil {
		if errors.Is(err, seal.ErrOpen) {
			return nil, nil, ErrWrongMasterKey
		}
		return nil, nil, err
	}
	return box, tokens, nil
}

// deriveKey derives a purpose-specific key from the master key, so that no
// two uses share a key.
func deriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
