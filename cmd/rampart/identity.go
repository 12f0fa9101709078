package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"runtime"

	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/seal"
	"example.com/rampart/internal/token"
	"example.com/rampart/internal/totp"
)

// Access tokens name this server as issuer and this API as audience; both
// are fixed strings because one deployment is one issuer.
const (
	tokenIssuer   = "rampart"
	tokenAudience = "rampart-api"
)

// accessTokenTTL is how long an access token lives (at most 15 minutes).
var accessTokenTTL = rampart.DefaultIdentityConfig.AccessTTL

// maxThrottledAccounts bounds the login throttle's memory (a few hundred
// bytes per account).
const maxThrottledAccounts = 100_000

// identityParts is everything the identity service is built from, kept so
// serve can also hand the token manager to the HTTP edge.
type identityParts struct {
	identity  *rampart.Identity
	tokens    *token.Manager
	hasher    *password.Hasher // for its load gauges
	cursorKey []byte
}

// buildIdentity wires the identity service from its adapters.
func buildIdentity(ctx context.Context, cfg Config, st rampart.Store, loginThrottle rampart.LoginThrottle) (*identityParts, error) {
	k, err := loadKeys(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	// The hasher runs at most one argon2id per usable CPU and lets a short
	// queue wait; beyond it, logins are refused at once with 503 +
	// Retry-After rather than piling up 19 MiB each. GOMAXPROCS, not
	// NumCPU: in a container with a CPU quota the runtime sets GOMAXPROCS to
	// the quota, while NumCPU counts the host's cores.
	hasher, err := password.New(cfg.Argon2, runtime.GOMAXPROCS(0), 16*runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, err
	}
	idCfg := rampart.DefaultIdentityConfig
	idCfg.StepUpMaxAge, idCfg.RefreshGrace = cfg.StepUpMaxAge, cfg.RefreshReuseGrace
	identity, err := rampart.NewIdentity(rampart.IdentityDeps{
		Store:    st,
		Hasher:   hasher,
		Policy:   password.Policy{MinLength: cfg.PasswordMinLength},
		Tokens:   k.tokens,
		Sealer:   k.box,
		Throttle: loginThrottle,
		TOTP:     totp.Authenticator{},
	}, idCfg)
	if err != nil {
		return nil, err
	}
	return &identityParts{identity: identity, tokens: k.tokens, hasher: hasher, cursorKey: deriveKey(k.master, "rampart cursor v1")}, nil
}

// keys are what the master key opens: the sealing box (signing keys, TOTP
// secrets) and the token manager with the signing keys loaded.
type keys struct {
	master []byte
	box    *seal.Box
	tokens *token.Manager
}

// errWrongMasterKey is what an operator needs to hear when the signing keys
// do not open: not a cipher error, but which key is wrong and why it may be.
var errWrongMasterKey = errors.New("RAMPART_MASTER_KEY does not open the signing keys sealed in this database: " +
	"was the key changed or lost? Start with the key this database was first used with; " +
	"signing keys and TOTP secrets cannot be read without it")

// loadKeys opens the keys for serve and for `keys rotate`.
func loadKeys(ctx context.Context, cfg Config, st rampart.Store) (*keys, error) {
	master, err := decodeMasterKey(cfg.MasterKey.Reveal())
	if err != nil {
		return nil, errors.New("RAMPART_MASTER_KEY: not a usable key")
	}
	box, err := seal.New(master)
	if err != nil {
		return nil, err
	}
	tokens, err := token.New(st, box, token.Config{Issuer: tokenIssuer, Audience: tokenAudience, Lifetime: accessTokenTTL})
	if err != nil {
		return nil, err
	}
	if err := tokens.Load(ctx); err != nil {
		if errors.Is(err, seal.ErrOpen) {
			return nil, errWrongMasterKey
		}
		return nil, err
	}
	return &keys{master: master, box: box, tokens: tokens}, nil
}

// deriveKey derives a purpose-specific key from the master key, so that no
// two uses share a key.
func deriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
