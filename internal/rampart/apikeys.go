package rampart

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// API keys have the form
//
//	rk_<id>_<secret><checksum>
//
// where <id> is the key's id (a UUID) as 32 lowercase hex digits, <secret>
// is 256 bits from crypto/rand in 52 characters of lowercase base32, and
// <checksum> is the CRC-32 of everything before it in 7 more (security
// baseline KEY-01). The fixed prefix lets secret scanners recognise a
// leaked key (the pattern is rk_[0-9a-f]{32}_[a-z2-7]{59}); the checksum
// lets them, and this server, reject a mistyped or made-up key without a
// lookup. Only the SHA-256 hash of the whole key is stored.
const (
	APIKeyPrefix    = "rk_"
	apiKeySecretLen = 32 // bytes
	apiKeyIDLen     = 32 // hex digits
	apiKeySecretEnc = 52 // base32 characters of the secret
	apiKeySumEnc    = 7  // base32 characters of the checksum
	apiKeyLen       = len(APIKeyPrefix) + apiKeyIDLen + 1 + apiKeySecretEnc + apiKeySumEnc
)

// MaxAPIKeyNameLength bounds an API key's name.
const MaxAPIKeyNameLength = 100

// apiKeyTouchEvery is how stale a key's last-used time may get: a key used
// many times a second is written at most about once this often.
const apiKeyTouchEvery = time.Minute

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

var (
	errInvalidAPIKey = &Error{Kind: KindUnauthenticated, Code: CodeInvalidToken, Message: "the API key is not valid"}
	errExpiredAPIKey = &Error{Kind: KindUnauthenticated, Code: CodeTokenExpired, Message: "the API key expired; an admin can create a new one"}
)

// APIKeyInput is what an admin chooses about a new key.
type APIKeyInput struct {
	Name      string
	Scopes    []string
	ExpiresAt time.Time // zero: never
}

func (k *APIKey) resource() Resource {
	return Resource{Kind: "API key", TenantID: k.TenantID}
}

// newAPIKey returns the text of a new key with the given id.
func newAPIKey(id string) string {
	secret := make([]byte, apiKeySecretLen)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go ≥ 1.24)
	body := APIKeyPrefix + strings.ReplaceAll(id, "-", "") + "_" + b32.EncodeToString(secret)
	return body + apiKeyChecksum(body)
}

func apiKeyChecksum(body string) string {
	return b32.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE([]byte(body))))
}

// parseAPIKey checks a key's form and checksum and returns its id.
func parseAPIKey(key string) (id string, ok bool) {
	if len(key) != apiKeyLen || !strings.HasPrefix(key, APIKeyPrefix) {
		return "", false
	}
	body, sum := key[:len(key)-apiKeySumEnc], key[len(key)-apiKeySumEnc:]
	if subtle.ConstantTimeCompare([]byte(apiKeyChecksum(body)), []byte(sum)) != 1 {
		return "", false
	}
	hexID := key[len(APIKeyPrefix) : len(APIKeyPrefix)+apiKeyIDLen]
	if key[len(APIKeyPrefix)+apiKeyIDLen] != '_' {
		return "", false
	}
	id = hexID[0:8] + "-" + hexID[8:12] + "-" + hexID[12:16] + "-" + hexID[16:20] + "-" + hexID[20:32]
	return id, ValidID(id)
}

// IsAPIKey reports whether a bearer credential has the form of an API key
// rather than of an access token.
func IsAPIKey(credential string) bool {
	return strings.HasPrefix(credential, APIKeyPrefix)
}

// CreateAPIKey creates a key for p's tenant and returns it with its text,
// which is shown this once and stored only as a hash.
func (s *Resources) CreateAPIKey(ctx context.Context, meta RequestMeta, p Principal, in APIKeyInput) (*APIKey, string, error) {
	if err := Authorize(p, ActionAPIKeyManage); err != nil {
		return nil, "", err
	}
	if n := utf8.RuneCountInString(in.Name); n < 1 || n > MaxAPIKeyNameLength {
		return nil, "", &Error{Kind: KindInvalid, Field: "name", Message: fmt.Sprintf("must be 1 to %d characters", MaxAPIKeyNameLength)}
	}
	scopes, err := checkScopes(in.Scopes)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now) {
		return nil, "", &Error{Kind: KindInvalid, Field: "expiresAt", Message: "must be in the future"}
	}
	k := &APIKey{ID: NewID(), TenantID: p.TenantID, Name: in.Name, Scopes: scopes, ExpiresAt: in.ExpiresAt,
		CreatedBy: actorID(p), CreatedAt: now}
	text := newAPIKey(k.ID)
	k.Prefix, k.Hash = text[:len(APIKeyPrefix)+apiKeyIDLen], hashToken(text)
	err = s.store.Atomically(ctx, func(tx Store) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p, "apikey.created", k.ID, map[string]string{"scopes": strings.Join(scopes, " ")})
	})
	if err != nil {
		return nil, "", err
	}
	s.events.record(ctx, meta, EventPrivilegeChange, p.TenantID, actorID(p), "API key created")
	return k, text, nil
}

// checkScopes returns the scopes sorted and without repeats, or an Invalid
// error naming the first unknown one.
func checkScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, &Error{Kind: KindInvalid, Field: "scopes", Message: "must name at least one scope"}
	}
	known := Scopes()
	for i, sc := range scopes {
		if !slices.Contains(known, sc) {
			return nil, &Error{Kind: KindInvalid, Field: fmt.Sprintf("scopes[%d]", i),
				Message: "must be one of: " + strings.Join(known, ", ")}
		}
	}
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ListAPIKeys lists p's tenant's keys, revoked ones included, newest first.
func (s *Resources) ListAPIKeys(ctx context.Context, p Principal, page Page) ([]*APIKey, Cursor, error) {
	if err := Authorize(p, ActionAPIKeyManage); err != nil {
		return nil, Cursor{}, err
	}
	return s.store.ListAPIKeys(ctx, p.TenantID, page)
}

// RevokeAPIKey revokes a key of p's tenant; it stops working at once.
// Revoking a revoked key changes nothing and is not an error.
func (s *Resources) RevokeAPIKey(ctx context.Context, meta RequestMeta, p Principal, id string) error {
	if err := Authorize(p, ActionAPIKeyManage); err != nil {
		return err
	}
	if !ValidID(id) {
		return notFound("API key")
	}
	k, err := s.store.GetAPIKey(ctx, p.TenantID, id)
	if err != nil {
		return notFoundAs(err, notFound("API key"))
	}
	if err := Authorize(p, ActionAPIKeyManage, k.resource()); err != nil {
		return err
	}
	if !k.RevokedAt.IsZero() {
		return nil
	}
	err = s.store.Atomically(ctx, func(tx Store) error {
		if err := tx.RevokeAPIKey(ctx, p.TenantID, id, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p, "apikey.revoked", id, nil)
	})
	if err == nil {
		s.events.record(ctx, meta, EventAdminAction, p.TenantID, actorID(p), "API key revoked")
	}
	return err
}
