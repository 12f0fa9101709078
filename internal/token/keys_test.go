package token

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func TestLoadCreatesOneKey(t *testing.T) {
	e := newEnv(t) // loads once
	if err := e.m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.replica(t) // a second replica loads too
	keys, err := e.store.Store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("%d keys after three loads, want 1", len(keys))
	}
	k := keys[0]
	if k.Algorithm != "EdDSA" || len(k.PublicKey) != ed25519.PublicKeySize || !k.RetiredAt.IsZero() ||
		!k.CreatedAt.Equal(e.clock.Now()) || !k.ActivatedAt.Equal(e.clock.Now()) {
		t.Errorf("key = %+v", k)
	}
}

// TestPrivateKeyStoredSealed reads the raw row: the private key is not in
// it, and the sealed value opens only for its own kid.
func TestPrivateKeyStoredSealed(t *testing.T) {
	e := newEnv(t)
	kid, private := e.activeKey(t)

	db, err := sql.Open("sqlite", "file:"+e.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id string
	var public, stored []byte
	if err := db.QueryRowContext(t.Context(), "SELECT id, public_key, private_key FROM signing_keys").Scan(&id, &public, &stored); err != nil {
		t.Fatal(err)
	}
	if id != kid || !bytes.Equal(public, private.Public().(ed25519.PublicKey)) {
		t.Fatalf("row %q does not hold the active key %q", id, kid)
	}
	seed := private.Seed()
	if bytes.Contains(stored, seed) || bytes.Contains(stored, private) || bytes.Contains(stored, seed[:16]) {
		t.Error("the stored private key contains the plaintext key")
	}
	if len(stored) != 1+12+ed25519.SeedSize+16 {
		t.Errorf("stored private key is %d bytes, want a sealed 32-byte seed", len(stored))
	}
	if _, err := e.box.Open(stored, keyAD("another-kid")); err == nil {
		t.Error("the sealed key opens under another kid")
	}

	// A sealed key copied into another key's row does not open, so that
	// key cannot be loaded.
	if err := e.m.Rotate(t.Context(), e.clock.Advance(time.Minute)); err != nil {
		t.Fatal(err)
	}
	newKid, _ := e.activeKey(t)
	rw, err := sql.Open("sqlite", "file:"+e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if _, err := rw.ExecContext(t.Context(), "UPDATE signing_keys SET private_key = ? WHERE id = ?", stored, newKid); err != nil {
		t.Fatal(err)
	}
	m, err := New(e.store, e.box, Config{Issuer: testIssuer, Audience: testAudience, Lifetime: testLifetime})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(t.Context()); err == nil {
		t.Error("Load accepted a sealed key copied from another row")
	}
	// The replica that was running keeps its keys when a refresh fails.
	if err := e.m.Refresh(t.Context()); err == nil {
		t.Error("Refresh accepted a sealed key copied from another row")
	}
	if _, err := e.m.Issue(testClaims(e.clock.Now())); err != nil {
		t.Errorf("Issue after a failed Refresh: %v", err)
	}
}

func TestRotation(t *testing.T) {
	e := newEnv(t)
	t0 := e.clock.Now()
	old := issue(t, e.m, t0)
	oldKid := kidOf(t, old)

	t1 := e.clock.Advance(5 * time.Minute)
	if err := e.m.Rotate(t.Context(), t1); err != nil {
		t.Fatal(err)
	}
	fresh := issue(t, e.m, t1)
	newKid := kidOf(t, fresh)
	if newKid == oldKid {
		t.Fatal("the new token uses the old kid")
	}

	// Nobody is logged out: the old token verifies until it expires.
	if _, err := e.m.Verify(t.Context(), old, t1); err != nil {
		t.Errorf("old token after rotation: %v", err)
	}
	if _, err := e.m.Verify(t.Context(), old, t0.Add(testLifetime)); err != nil {
		t.Errorf("old token at its expiry: %v", err)
	}
	if _, err := e.m.Verify(t.Context(), old, t0.Add(testLifetime+Leeway+time.Second)); err == nil {
		t.Error("old token verified after it expired")
	}
	if _, err := e.m.Verify(t.Context(), fresh, t1); err != nil {
		t.Errorf("new token: %v", err)
	}

	keys, err := e.store.Store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		switch k.ID {
		case oldKid:
			if !k.RetiredAt.Equal(t1) {
				t.Errorf("old key retired at %v, want %v", k.RetiredAt, t1)
			}
		case newKid:
			if !k.RetiredAt.IsZero() || !k.ActivatedAt.Equal(t1) {
				t.Errorf("new key = %+v", k)
			}
		}
	}
}

// TestRetiredKeyWindow: a retired key verifies for verifyWindow after it
// retired, however it signed, then not at all; the next rotation after that
// deletes it.
func TestRetiredKeyWindow(t *testing.T) {
	e := newEnv(t)
	k1, k1Private := e.activeKey(t)

	t1 := e.clock.Advance(time.Hour)
	if err := e.m.Rotate(t.Context(), t1); err != nil {
		t.Fatal(err)
	}
	k2, _ := e.activeKey(t)

	// A token signed with k1 after its retirement, as a replica that has
	// not refreshed yet signs it, verifies within the window ...
	late := t1.Add(RefreshEvery)
	tok := forge(t, goodHeader(k1), with(goodClaims(late), map[string]any{"exp": late.Add(MaxLifetime).Unix()}), edSign(k1Private))
	if _, err := e.m.Verify(t.Context(), tok, late.Add(MaxLifetime+Leeway)); err != nil {
		t.Errorf("k1 token at the end of the window: %v", err)
	}
	// ... and not a second after it, even though k1 is still stored.
	after := t1.Add(verifyWindow + time.Second)
	tok = forge(t, goodHeader(k1), goodClaims(after), edSign(k1Private))
	if _, err := e.m.Verify(t.Context(), tok, after); err == nil || !strings.Contains(err.Error(), "verification window") {
		t.Errorf("k1 token after the window: err = %v, want a window error", err)
	}
	if !slices.Contains(e.keyIDs(t), k1) {
		t.Fatal("k1 was deleted before a rotation")
	}

	// A rotation inside the window keeps k1 ...
	t2 := e.clock.Advance(verifyWindow - time.Second)
	if err := e.m.Rotate(t.Context(), t2); err != nil {
		t.Fatal(err)
	}
	if ids := e.keyIDs(t); !slices.Contains(ids, k1) || len(ids) != 3 {
		t.Fatalf("keys after a rotation inside the window: %v, want 3 with k1", ids)
	}
	// ... one after it deletes k1, and keeps k2, retired at t2.
	t3 := e.clock.Advance(2 * time.Second)
	if err := e.m.Rotate(t.Context(), t3); err != nil {
		t.Fatal(err)
	}
	ids := e.keyIDs(t)
	if slices.Contains(ids, k1) || !slices.Contains(ids, k2) || len(ids) != 3 {
		t.Errorf("keys after a rotation past k1's window: %v, want 3 without k1 and with k2", ids)
	}
}

func TestJWKS(t *testing.T) {
	e := newEnv(t)
	k1, _ := e.activeKey(t)
	check := func(want ...string) {
		t.Helper()
		b, err := e.m.JWKS()
		if err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(b, &set); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range set.Keys {
			// Exactly the public members: no "d" (the private key), nothing else.
			var names []string
			for name := range k {
				names = append(names, name)
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"alg", "crv", "kid", "kty", "use", "x"}) {
				t.Errorf("JWK members = %v", names)
			}
			if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" {
				t.Errorf("JWK = %v", k)
			}
			x, err := base64.RawURLEncoding.DecodeString(k["x"].(string))
			if err != nil || len(x) != ed25519.PublicKeySize {
				t.Errorf("JWK x = %v", k["x"])
			}
			got = append(got, k["kid"].(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("JWKS kids = %v, want %v", got, want)
		}
		if bytes.Contains(b, []byte(`"d"`)) {
			t.Error("the JWKS contains private key material")
		}
	}
	check(k1)

	t1 := e.clock.Advance(time.Hour)
	if err := e.m.Rotate(t.Context(), t1); err != nil {
		t.Fatal(err)
	}
	k2, _ := e.activeKey(t)
	check(k2, k1) // the new key, and the old one still in its window

	e.clock.Advance(verifyWindow + time.Second)
	check(k2) // the old key is past its window, though still stored
}

// TestReplicas: a second Manager on the same store, as another replica,
// verifies the tokens the first signs after a rotation, and signs with the
// new key after a Refresh.
func TestReplicas(t *testing.T) {
	e := newEnv(t)
	a, b := e.m, e.replica(t)

	t1 := e.clock.Advance(time.Hour)
	if err := a.Rotate(t.Context(), t1); err != nil {
		t.Fatal(err)
	}
	tok := issue(t, a, t1)

	// b does not know the new kid: it reloads once and finds it.
	lists := e.store.lists.Load()
	if _, err := b.Verify(t.Context(), tok, t1); err != nil {
		t.Fatalf("replica b: %v", err)
	}
	if n := e.store.lists.Load() - lists; n != 1 {
		t.Errorf("b read the key list %d times, want 1", n)
	}
	// Now it knows it: no more reads.
	if _, err := b.Verify(t.Context(), tok, t1); err != nil {
		t.Fatal(err)
	}
	if n := e.store.lists.Load() - lists; n != 1 {
		t.Errorf("b read the key list %d times, want 1", n)
	}

	// After a refresh, b signs with the new key too.
	c := e.replica(t)
	e.clock.Advance(time.Minute)
	if err := a.Rotate(t.Context(), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := kidOf(t, issue(t, c, e.clock.Now())), kidOf(t, issue(t, a, e.clock.Now())); got != want {
		t.Errorf("after Refresh, c signs with %q, want %q", got, want)
	}
}

// TestUnknownKIDRateLimit: a flood of forged kids reads the store at most
// once per ReloadEvery.
func TestUnknownKIDRateLimit(t *testing.T) {
	e := newEnv(t)
	a, b := e.m, e.replica(t)
	_, foreign, _ := ed25519.GenerateKey(nil)
	forged := func(i int) string {
		return forge(t, goodHeader("forged-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))), goodClaims(e.clock.Now()), edSign(foreign))
	}

	now := e.clock.Advance(ReloadEvery)
	lists := e.store.lists.Load()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if _, err := b.Verify(context.Background(), forged(i), now); err == nil {
				t.Error("a forged kid verified")
			}
		})
	}
	wg.Wait()
	if n := e.store.lists.Load() - lists; n != 1 {
		t.Errorf("200 forged kids read the key list %d times, want 1", n)
	}

	// A rotation on a during the flood: b finds the new key once the
	// rate limit allows the next reload.
	if err := a.Rotate(t.Context(), e.clock.Advance(time.Second)); err != nil {
		t.Fatal(err)
	}
	tok := issue(t, a, e.clock.Now())
	lists = e.store.lists.Load()
	if _, err := b.Verify(t.Context(), tok, e.clock.Now()); err == nil {
		t.Error("b reloaded within ReloadEvery of its last load")
	}
	if n := e.store.lists.Load() - lists; n != 0 {
		t.Errorf("b read the key list %d times within ReloadEvery, want 0", n)
	}
	e.clock.Advance(ReloadEvery)
	if _, err := b.Verify(t.Context(), tok, e.clock.Now()); err != nil {
		t.Errorf("b after ReloadEvery: %v", err)
	}
	if n := e.store.lists.Load() - lists; n != 1 {
		t.Errorf("b read the key list %d times after ReloadEvery, want 1", n)
	}
}

// TestConcurrentRotations: two replicas rotating at the same instant agree
// on the signing key after they refresh.
func TestConcurrentRotations(t *testing.T) {
	e := newEnv(t)
	a, b := e.m, e.replica(t)
	now := e.clock.Advance(time.Hour)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, m := range []*Manager{a, b} {
		wg.Go(func() {
			// The rotation whose key is not the newest says so.
			if err := m.Rotate(context.Background(), now); err != nil {
				t.Log(err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 1 {
		t.Error("both rotations failed")
	}
	for _, m := range []*Manager{a, b} {
		if err := m.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if a.keys.Load().kid != b.keys.Load().kid {
		t.Errorf("a signs with %q, b with %q", a.keys.Load().kid, b.keys.Load().kid)
	}
	keys, err := e.store.Store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a := active(keys); a == nil || a.ID != b.keys.Load().kid {
		t.Errorf("the store's active key is not the one both sign with")
	}
}

// TestRotateBehindClock: a rotation whose key would not be the newest (the
// host's clock is behind) reports it rather than silently not rotating.
func TestRotateBehindClock(t *testing.T) {
	e := newEnv(t)
	kid, _ := e.activeKey(t)
	err := e.m.Rotate(t.Context(), e.clock.Now().Add(-time.Minute))
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Rotate with a clock behind = %v, want an error", err)
	}
	if got, _ := e.activeKey(t); got != kid {
		t.Errorf("active key = %q, want the newer %q", got, kid)
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	tok := issue(t, e.m, now)
	kid := kidOf(t, tok)
	// Verified once, so remembered: revocation must forget that verdict.
	if _, err := e.m.Verify(t.Context(), tok, now); err != nil {
		t.Fatal(err)
	}

	if err := e.m.Revoke(t.Context(), kid, now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Verify(t.Context(), tok, now); err == nil {
		t.Error("a token signed by a revoked key verified")
	}
	if slices.Contains(e.keyIDs(t), kid) {
		t.Error("the revoked key is still stored")
	}
	fresh := issue(t, e.m, now)
	if kidOf(t, fresh) == kid {
		t.Error("the manager still signs with the revoked key")
	}
	if _, err := e.m.Verify(t.Context(), fresh, now); err != nil {
		t.Errorf("token from the replacement key: %v", err)
	}
	if err := e.m.Revoke(t.Context(), "no-such-key", now); rampart.ErrorKind(err) != rampart.KindNotFound {
		t.Errorf("Revoke(unknown) = %v, want NotFound", err)
	}
}

// TestConcurrentUse runs Issue and Verify while keys rotate and reload, for
// the race detector.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	b := e.replica(t)
	ctx := context.Background()
	now := e.clock.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := e.m.Issue(testClaims(now))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := e.m.Verify(ctx, tok, now); err != nil {
					t.Error(err)
					return
				}
				b.Verify(ctx, tok, now) // may miss a kid rotated in just now
				b.JWKS()
			}
		})
	}
	for range 5 {
		if err := e.m.Rotate(ctx, e.clock.Advance(time.Second)); err != nil {
			t.Error(err)
		}
		if err := b.Refresh(ctx); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}
