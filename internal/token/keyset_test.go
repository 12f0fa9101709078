package token

import (
	"context"
	"crypto/ed25519"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// TestReloadKeepsVerifiedTokens: a reload that finds the keys unchanged,
// whether a Refresh or one caused by a made-up kid (which anyone can send
// every ReloadEvery), keeps the key set and the tokens it verified; a real
// change of keys starts a fresh set with nothing verified.
func TestReloadKeepsVerifiedTokens(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	tok := issue(t, e.m, now)
	if _, err := e.m.Verify(t.Context(), tok, now); err != nil {
		t.Fatal(err)
	}
	set := e.m.keys.Load()
	if _, ok := set.verified.get(tok, now); !ok {
		t.Fatal("a verified token is not remembered")
	}
	cached := func() bool {
		_, ok := e.m.keys.Load().verified.get(tok, now)
		return ok
	}

	// A made-up kid, once ReloadEvery has passed, reloads the store ...
	_, foreign, _ := ed25519.GenerateKey(nil)
	e.clock.Advance(ReloadEvery)
	lists := e.store.lists.Load()
	forged := forge(t, goodHeader("made-up-kid"), goodClaims(now), edSign(foreign))
	if _, err := e.m.Verify(t.Context(), forged, now); err == nil {
		t.Fatal("a made-up kid verified")
	}
	if n := e.store.lists.Load() - lists; n != 1 {
		t.Fatalf("the made-up kid read the key list %d times, want 1", n)
	}
	// ... and that reload, which found the same keys, forgets nothing.
	if e.m.keys.Load() != set || !cached() {
		t.Error("a reload caused by an unknown kid replaced an unchanged key set and forgot the verified tokens")
	}
	if err := e.m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.m.keys.Load() != set || !cached() {
		t.Error("a Refresh that found the same keys forgot the verified tokens")
	}

	// A rotation on another replica, picked up by Refresh, is a new set:
	// nothing verified with the old one is remembered.
	b := e.replica(t)
	if err := b.Rotate(t.Context(), e.clock.Advance(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.m.keys.Load() == set || cached() {
		t.Error("a Refresh that found a new key kept the old key set and its verified tokens")
	}
	if got, want := kidOf(t, issue(t, e.m, e.clock.Now())), kidOf(t, issue(t, b, e.clock.Now())); got != want {
		t.Errorf("after the Refresh a signs with %q, want the new key %q", got, want)
	}
	// The old token is verified again, with the new set.
	if _, err := e.m.Verify(t.Context(), tok, now); err != nil || !cached() {
		t.Errorf("old token after the rotation: %v, remembered=%v", err, cached())
	}
}

// TestSameKeys: every part of a key that a verdict depends on makes a set
// different.
func TestSameKeys(t *testing.T) {
	pub := func() ed25519.PublicKey { p, _, _ := ed25519.GenerateKey(nil); return p }
	p1, p2 := pub(), pub()
	retired := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	signer := newEnv(t).m.keys.Load().signer
	base := func() *keySet {
		return &keySet{signer: signer, kid: "k2", keys: []verifyKey{
			{kid: "k2", public: p2},
			{kid: "k1", public: p1, retiredAt: retired},
		}}
	}
	if !base().sameKeys(base()) {
		t.Fatal("identical sets differ")
	}
	local := base()
	local.keys[1].retiredAt = retired.In(time.FixedZone("X", 3600)) // same instant
	if !base().sameKeys(local) {
		t.Error("the same retirement time in another zone makes the sets differ")
	}
	for name, change := range map[string]func(*keySet){
		"active kid":      func(s *keySet) { s.kid = "k1" },
		"no signer":       func(s *keySet) { s.signer = nil },
		"retiredAt":       func(s *keySet) { s.keys[1].retiredAt = retired.Add(time.Second) },
		"retired active":  func(s *keySet) { s.keys[0].retiredAt = retired },
		"public key":      func(s *keySet) { s.keys[0].public = pub() },
		"kid":             func(s *keySet) { s.keys[1].kid = "k3" },
		"order":           func(s *keySet) { s.keys[0], s.keys[1] = s.keys[1], s.keys[0] },
		"one key more":    func(s *keySet) { s.keys = append(s.keys, verifyKey{kid: "k0", public: pub(), retiredAt: retired}) },
		"one key less":    func(s *keySet) { s.keys = s.keys[:1] },
		"no keys at all":  func(s *keySet) { *s = keySet{} },
		"truncated key":   func(s *keySet) { s.keys[1].public = p1[:31] },
		"public key of 1": func(s *keySet) { s.keys[0].public = p1 },
	} {
		changed := base()
		change(changed)
		if base().sameKeys(changed) || changed.sameKeys(base()) {
			t.Errorf("%s: a changed set counts as the same", name)
		}
	}
}

// tamperStore changes the keys the store lists while tamper is set, as a
// corrupted or tampered row would.
type tamperStore struct {
	Store
	tamper atomic.Pointer[func([]*rampart.SigningKey)]
}

func (s *tamperStore) ListSigningKeys(ctx context.Context) ([]*rampart.SigningKey, error) {
	keys, err := s.Store.ListSigningKeys(ctx)
	if f := s.tamper.Load(); f != nil && err == nil {
		(*f)(keys)
	}
	return keys, err
}

// TestLoadRefusesBadKeys: a key set with a key that is not an Ed25519 key,
// or whose private half is not the seed of its public half, is refused
// whole, by Load and by every later reload, and the keys loaded before stay
// in use.
func TestLoadRefusesBadKeys(t *testing.T) {
	e := newEnv(t)
	// Two keys: k1 retired, k2 active.
	if err := e.m.Rotate(t.Context(), e.clock.Advance(time.Minute)); err != nil {
		t.Fatal(err)
	}
	activeOf := func(keys []*rampart.SigningKey) *rampart.SigningKey { return active(keys) }
	retiredOf := func(keys []*rampart.SigningKey) *rampart.SigningKey {
		for _, k := range keys {
			if !k.RetiredAt.IsZero() {
				return k
			}
		}
		t.Fatal("no retired key")
		return nil
	}
	other, otherPrivate, _ := ed25519.GenerateKey(nil)
	seal := func(k *rampart.SigningKey, plaintext []byte) {
		sealed, err := e.box.Seal(plaintext, keyAD(k.ID))
		if err != nil {
			t.Fatal(err)
		}
		k.PrivateKey = sealed
	}
	cases := []struct {
		name   string
		tamper func(keys []*rampart.SigningKey)
		want   string
	}{
		{"active key not EdDSA", func(ks []*rampart.SigningKey) { activeOf(ks).Algorithm = "RS256" }, "is not Ed25519"},
		{"retired key not EdDSA", func(ks []*rampart.SigningKey) { retiredOf(ks).Algorithm = "ES256" }, "is not Ed25519"},
		{"active public key short", func(ks []*rampart.SigningKey) { a := activeOf(ks); a.PublicKey = a.PublicKey[:31] }, "is not Ed25519"},
		{"retired public key long", func(ks []*rampart.SigningKey) { r := retiredOf(ks); r.PublicKey = append(r.PublicKey, 0) }, "is not Ed25519"},
		{"retired public key empty", func(ks []*rampart.SigningKey) { retiredOf(ks).PublicKey = nil }, "is not Ed25519"},
		{"public key of another key", func(ks []*rampart.SigningKey) { activeOf(ks).PublicKey = other }, "does not match the public key"},
		{"private key of another key", func(ks []*rampart.SigningKey) { seal(activeOf(ks), otherPrivate.Seed()) }, "does not match the public key"},
		{"seed too short", func(ks []*rampart.SigningKey) { seal(activeOf(ks), make([]byte, ed25519.SeedSize-1)) }, "not an Ed25519 seed"},
		{"whole private key instead of the seed", func(ks []*rampart.SigningKey) { seal(activeOf(ks), otherPrivate) }, "not an Ed25519 seed"},
		{"empty private key", func(ks []*rampart.SigningKey) { seal(activeOf(ks), nil) }, "not an Ed25519 seed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := &tamperStore{Store: e.store}
			m, err := New(store, e.box, Config{Issuer: testIssuer, Audience: testAudience, Lifetime: testLifetime, Now: e.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			tamper := c.tamper
			store.tamper.Store(&tamper)
			if err := m.Load(t.Context()); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load = %v, want an error saying %q", err, c.want)
			}
			if _, err := m.Issue(testClaims(e.clock.Now())); err == nil {
				t.Error("Issue after a refused Load")
			}

			// A running replica keeps the keys it had.
			store.tamper.Store(nil)
			if err := m.Load(t.Context()); err != nil {
				t.Fatal(err)
			}
			now := e.clock.Now()
			tok := issue(t, m, now)
			set := m.keys.Load()
			store.tamper.Store(&tamper)
			if err := m.Refresh(t.Context()); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Refresh = %v, want an error saying %q", err, c.want)
			}
			// An unknown kid reloads, and the reload is refused too.
			e.clock.Advance(ReloadEvery)
			_, foreign, _ := ed25519.GenerateKey(nil)
			if _, err := m.Verify(t.Context(), forge(t, goodHeader("made-up"), goodClaims(now), edSign(foreign)), now); err == nil ||
				!strings.Contains(err.Error(), "invalid access token") {
				t.Errorf("made-up kid: %v", err)
			}
			if m.keys.Load() != set {
				t.Error("a refused reload replaced the key set")
			}
			if got := kidOf(t, issue(t, m, now)); got != kidOf(t, tok) {
				t.Errorf("signs with %q after a refused reload, want %q", got, kidOf(t, tok))
			}
			if _, err := m.Verify(t.Context(), tok, now); err != nil {
				t.Errorf("verify after a refused reload: %v", err)
			}
			if !slices.Contains(e.keyIDs(t), kidOf(t, tok)) {
				t.Error("the store lost the key")
			}
		})
	}
}
