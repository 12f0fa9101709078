package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"example.com/rampart/internal/rampart"
)

// Sealer encrypts private keys at rest (package seal, under the master key).
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Store is the part of rampart.Store that keeps signing keys.
type Store interface {
	CreateSigningKey(ctx context.Context, k *rampart.SigningKey) error
	ListSigningKeys(ctx context.Context) ([]*rampart.SigningKey, error)
	RetireSigningKey(ctx context.Context, id string, at time.Time) error
	DeleteSigningKey(ctx context.Context, id string) error
}

// Manager issues and verifies access tokens with the signing keys in the
// store. It is safe for concurrent use. Call Load once before use, and
// Refresh every RefreshEvery.
type Manager struct {
	store Store
	box   Sealer
	cfg   Config

	// keys is replaced whole on every load, so Issue and Verify read it
	// without a lock.
	keys atomic.Pointer[keySet]

	// reloadMu serialises loads, rotations and revocations. lastLoad is
	// when the store was last read (successfully or not); it rate-limits
	// the reloads that unknown kids cause.
	reloadMu sync.Mutex
	lastLoad time.Time
}

// keySet is one consistent view of the store's keys.
type keySet struct {
	signer jose.Signer // of the active key; nil when there is none
	kid    string      // of the active key; "" when there is none
	keys   []verifyKey // newest first, as the store lists them
	byKID  map[string]verifyKey
	// verified remembers tokens this key set verified. It belongs to the
	// set, so any change of keys (a rotation, an emergency revocation)
	// forgets every verdict reached with the old keys; a reload that finds
	// the same keys keeps the set, and so its verdicts (see install).
	verified verifiedCache
}

type verifyKey struct {
	kid       string
	public    ed25519.PublicKey
	retiredAt time.Time // zero while the key signs
}

// New returns a Manager. It does not touch the store; call Load.
func New(store Store, box Sealer, cfg Config) (*Manager, error) {
	switch {
	case store == nil || box == nil:
		return nil, errors.New("token: a store and a seal box are required")
	case cfg.Issuer == "" || cfg.Audience == "":
		return nil, errors.New("token: issuer and audience are required")
	case cfg.Lifetime <= 0 || cfg.Lifetime > MaxLifetime:
		return nil, fmt.Errorf("token: lifetime must be more than 0 and at most %v", MaxLifetime)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{store: store, box: box, cfg: cfg}
	m.keys.Store(&keySet{byKID: map[string]verifyKey{}})
	return m, nil
}

// Load loads the keys, and creates and activates a key when the store has
// no active one (on first start). Two replicas starting together may both
// create one; that is harmless, as both keys verify and the newest signs.
func (m *Manager) Load(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	keys, err := m.list(ctx)
	if err != nil {
		return err
	}
	if active(keys) == nil {
		if _, err := m.create(ctx, m.cfg.Now()); err != nil {
			return err
		}
		if keys, err = m.list(ctx); err != nil {
			return err
		}
	}
	return m.install(keys)
}

// Refresh reloads the keys from the store, picking up a rotation made by
// another replica. Call it every RefreshEvery. On failure the keys loaded
// before stay in use.
func (m *Manager) Refresh(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	return m.reload(ctx)
}

// Rotate creates a new active key and retires the ones before it at now.
// Tokens signed by a retired key keep verifying until they expire, so
// rotation logs nobody out. Keys retired longer ago than their verification
// window are deleted.
//
// Rotate fails, after rotating, when its new key does not sign because
// another key is newer: another replica rotated at the same time, or this
// host's clock is behind the one that created the newer key.
func (m *Manager) Rotate(ctx context.Context, now time.Time) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	created, newest, err := m.rotate(ctx, now)
	if err != nil {
		return err
	}
	if err := m.reload(ctx); err != nil {
		return err
	}
	if newest.ID != created.ID {
		return fmt.Errorf("token: rotated, but key %q activated at %v is newer than the new key %q", newest.ID, newest.ActivatedAt, created.ID)
	}
	return nil
}

// Revoke deletes a key at once, for when its private half may have leaked:
// the tokens it signed stop verifying on this replica now and on the others
// at their next Refresh. If it is the active key, a new one replaces it
// first. NotFound: no such key.
func (m *Manager) Revoke(ctx context.Context, kid string, now time.Time) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	keys, err := m.list(ctx)
	if err != nil {
		return err
	}
	if a := active(keys); a != nil && a.ID == kid {
		if _, _, err := m.rotate(ctx, now); err != nil {
			return err
		}
	}
	if err := m.store.DeleteSigningKey(ctx, kid); err != nil {
		return err
	}
	return m.reload(ctx)
}

// ActiveKID is the id of the key that signs now ("" before Load).
func (m *Manager) ActiveKID() string { return m.keys.Load().kid }

// JWKS returns the public keys that verify tokens now, the active key and
// the retired ones still in their window, as a JSON Web Key Set.
func (m *Manager) JWKS() ([]byte, error) {
	set, now := m.keys.Load(), m.cfg.Now()
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range set.keys {
		if k.usable(now) {
			jwks.Keys = append(jwks.Keys, jose.JSONWebKey{Key: k.public, KeyID: k.kid, Algorithm: algorithm, Use: "sig"})
		}
	}
	return json.Marshal(jwks)
}

func (k verifyKey) usable(now time.Time) bool {
	return k.retiredAt.IsZero() || !now.After(k.retiredAt.Add(verifyWindow))
}

// verifyKey returns our key for kid. An unknown kid may belong to a key that
// another replica has just created, so it reloads the store once, unless a
// load happened within ReloadEvery: forged kids then cost a map lookup, not
// a query.
func (m *Manager) verifyKey(ctx context.Context, kid string) (verifyKey, error) {
	if k, ok := m.keys.Load().byKID[kid]; ok {
		return k, nil
	}
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	// Another request may have loaded it while this one waited.
	if k, ok := m.keys.Load().byKID[kid]; ok {
		return k, nil
	}
	if m.cfg.Now().Sub(m.lastLoad) < ReloadEvery {
		return verifyKey{}, fmt.Errorf("unknown kid %q", kid)
	}
	if err := m.reload(ctx); err != nil {
		return verifyKey{}, fmt.Errorf("unknown kid %q, and the reload failed: %w", kid, err)
	}
	if k, ok := m.keys.Load().byKID[kid]; ok {
		return k, nil
	}
	return verifyKey{}, fmt.Errorf("unknown kid %q after a reload", kid)
}

// The methods below run with reloadMu held.

func (m *Manager) reload(ctx context.Context) error {
	keys, err := m.list(ctx)
	if err != nil {
		return err
	}
	return m.install(keys)
}

func (m *Manager) list(ctx context.Context) ([]*rampart.SigningKey, error) {
	m.lastLoad = m.cfg.Now()
	return m.store.ListSigningKeys(ctx)
}

// install makes keys the current key set. It refuses a set it cannot fully
// use, keeping the previous one, rather than verify with a half-read set.
func (m *Manager) install(keys []*rampart.SigningKey) error {
	set := &keySet{byKID: make(map[string]verifyKey, len(keys))}
	for _, k := range keys {
		if k.Algorithm != algorithm || len(k.PublicKey) != ed25519.PublicKeySize {
			return fmt.Errorf("token: signing key %q: algorithm %q with a %d-byte public key is not Ed25519", k.ID, k.Algorithm, len(k.PublicKey))
		}
		vk := verifyKey{kid: k.ID, public: ed25519.PublicKey(k.PublicKey), retiredAt: k.RetiredAt}
		set.keys = append(set.keys, vk)
		set.byKID[k.ID] = vk
	}
	// Only the active key's private half is opened: retired keys never sign
	// again, so their private halves stay sealed.
	if a := active(keys); a != nil {
		signer, err := m.signer(a)
		if err != nil {
			return err
		}
		set.signer, set.kid = signer, a.ID
	}
	// The store's keys are read every RefreshEvery, and on an unknown kid,
	// which anyone can send; nearly always they have not changed. Keep the
	// current set then, and with it the tokens it verified: a verdict can
	// only change when the keys do.
	if m.keys.Load().sameKeys(set) {
		return nil
	}
	m.keys.Store(set)
	return nil
}

// sameKeys reports whether s and o hold the same keys: the same kids in the
// same order, with the same public keys and retirement times, and the same
// active key.
func (s *keySet) sameKeys(o *keySet) bool {
	if s.kid != o.kid || (s.signer == nil) != (o.signer == nil) || len(s.keys) != len(o.keys) {
		return false
	}
	for i, k := range s.keys {
		ok := o.keys[i]
		if k.kid != ok.kid || !k.retiredAt.Equal(ok.retiredAt) || !k.public.Equal(ok.public) {
			return false
		}
	}
	return true
}

// rotate creates a key, retires every older unretired key and deletes the
// keys retired longer ago than the verification window. It returns the key
// it created and the newest unretired key, which is normally the same.
func (m *Manager) rotate(ctx context.Context, now time.Time) (created, newest *rampart.SigningKey, err error) {
	// Create before retiring: a replica that reads the store in between
	// sees two active keys rather than none.
	created, err = m.create(ctx, now)
	if err != nil {
		return nil, nil, err
	}
	keys, err := m.list(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		switch {
		case k.RetiredAt.IsZero() && newer(created, k):
			// Only older keys: when two replicas rotate at once, the
			// newer of the two new keys survives on both.
			if err := m.store.RetireSigningKey(ctx, k.ID, now); err != nil {
				return nil, nil, err
			}
		case !k.RetiredAt.IsZero() && now.Sub(k.RetiredAt) > verifyWindow:
			err := m.store.DeleteSigningKey(ctx, k.ID)
			// Another replica's rotation may have deleted it already.
			if err != nil && rampart.ErrorKind(err) != rampart.KindNotFound {
				return nil, nil, err
			}
		}
	}
	return created, active(keys), nil
}

// create stores a new Ed25519 key that is active from now.
func (m *Manager) create(ctx context.Context, now time.Time) (*rampart.SigningKey, error) {
	public, private, err := ed25519.GenerateKey(nil) // nil: crypto/rand
	if err != nil {
		return nil, err
	}
	kid := rampart.NewID()
	// The seed is the whole private key; the rest of an ed25519.PrivateKey
	// is the public key, which is stored in the clear anyway.
	sealed, err := m.box.Seal(private.Seed(), keyAD(kid))
	if err != nil {
		return nil, err
	}
	k := &rampart.SigningKey{
		ID:          kid,
		Algorithm:   algorithm,
		PublicKey:   public,
		PrivateKey:  sealed,
		CreatedAt:   now,
		ActivatedAt: now,
	}
	if err := m.store.CreateSigningKey(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

// signer opens the private half of k and returns a signer that writes
// alg EdDSA, typ at+jwt and kid, and nothing else, into the header.
func (m *Manager) signer(k *rampart.SigningKey) (jose.Signer, error) {
	seed, err := m.box.Open(k.PrivateKey, keyAD(k.ID))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %q: %w", k.ID, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("token: signing key %q: the private key is %d bytes, not an Ed25519 seed", k.ID, len(seed))
	}
	private := ed25519.NewKeyFromSeed(seed)
	if !bytes.Equal(private.Public().(ed25519.PublicKey), k.PublicKey) {
		return nil, fmt.Errorf("token: signing key %q: the private key does not match the public key", k.ID)
	}
	return jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType(tokenType),
	)
}

// keyAD is the additional data that binds a sealed private key to its kid,
// so a sealed key copied into another row does not open.
func keyAD(kid string) []byte {
	return []byte("signing-key:" + kid)
}

// active returns the key that signs: the newest unretired one, or nil.
func active(keys []*rampart.SigningKey) *rampart.SigningKey {
	var a *rampart.SigningKey
	for _, k := range keys {
		if k.RetiredAt.IsZero() && (a == nil || newer(k, a)) {
			a = k
		}
	}
	return a
}

// newer orders keys by activation time, then by id, so that every replica
// agrees on which of two keys is newer, even when they activated together.
func newer(a, b *rampart.SigningKey) bool {
	if c := a.ActivatedAt.Compare(b.ActivatedAt); c != 0 {
		return c > 0
	}
	return cmp.Compare(a.ID, b.ID) > 0
}
