package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"example.com/rampart/internal/rampart"
)

// testParams are cheap parameters for tests about logic, not cost.
var testParams = Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t *testing.T, p Params, maxConcurrent, maxQueue int) *Hasher {
	t.Helper()
	h, err := newHasher(p, maxConcurrent, maxQueue)
	if err != nil {
		t.Fatalf("newHasher: %v", err)
	}
	return h
}

// gate replaces h.derive with one that blocks until the returned release
// func is called, and records the peak number of concurrent derivations.
func gate(h *Hasher) (release func(), peak *atomic.Int64) {
	var (
		open    = make(chan struct{})
		once    sync.Once
		current atomic.Int64
	)
	peak = new(atomic.Int64)
	inner := h.derive
	h.derive = func(pw, salt []byte, p Params) []byte {
		n := current.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-open
		defer current.Add(-1)
		return inner(pw, salt, p)
	}
	return func() { once.Do(func() { close(open) }) }, peak
}

// waitStats polls until h reports the wanted load.
func waitStats(t *testing.T, h *Hasher, want Stats) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.Stats() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Stats() = %+v, want %+v", h.Stats(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(DefaultParams, 0, 0); err != nil {
		t.Fatalf("New(DefaultParams): %v", err)
	}
	if _, err := New(testParams, 1, 1); err == nil {
		t.Error("New accepted parameters below the PWD-05 floor")
	}
	if _, err := New(DefaultParams, -1, 1); err == nil {
		t.Error("New accepted maxConcurrent -1")
	}
	if _, err := New(DefaultParams, 1, -1); err == nil {
		t.Error("New accepted maxQueue -1")
	}
	h, err := New(DefaultParams, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cap(h.slots) != 3 || h.maxQueue != 12 {
		t.Errorf("slots, queue = %d, %d, want 3, 12", cap(h.slots), h.maxQueue)
	}
}

// TestDefaultParamsRoundTrip is the one test that pays for real PWD-05 cost.
func TestDefaultParamsRoundTrip(t *testing.T) {
	h, err := New(DefaultParams, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q, want PWD-05 prefix", enc)
	}
	got, err := parsePHC(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.salt) != 16 || len(got.key) != 32 {
		t.Errorf("salt, key = %d, %d bytes, want 16, 32", len(got.salt), len(got.key))
	}
	ok, rehash, err := h.Verify(ctx, "correct horse battery staple", enc)
	if !ok || rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v, want true, false, nil", ok, rehash, err)
	}
}

func TestHashVerify(t *testing.T) {
	h := newTestHasher(t, testParams, 2, 2)
	ctx := context.Background()
	const pw = "tr0ub4dor&3 but longer"

	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("Hash = %q", enc)
	}
	enc2, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if enc == enc2 {
		t.Error("two hashes of one password are equal: salt not random")
	}

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"same", pw, true},
		{"wrong", "tr0ub4dor&3 but longer!", false},
		{"empty", "", false},
		{"trailing space", pw + " ", false}, // PWD-02: no trimming
		{"upper case", strings.ToUpper(pw), false},
	}
	for _, tt := range tests {
		ok, rehash, err := h.Verify(ctx, tt.password, enc)
		if ok != tt.want || rehash || err != nil {
			t.Errorf("%s: Verify = %v, %v, %v, want %v, false, nil", tt.name, ok, rehash, err, tt.want)
		}
	}
}

func TestVerifyNormalizes(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 1)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "caf\u00e9 PASSWORD") // composed é
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{
		"cafe\u0301 PASSWORD",          // decomposed é (NFC/NFKC)
		"caf\u00e9 \uff30\uff21SSWORD", // full-width P, A (NFKC only)
	} {
		if ok, _, err := h.Verify(ctx, pw, enc); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v, want true, nil", pw, ok, err)
		}
	}
}

func TestTooLong(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 1)
	long := strings.Repeat("x", MaxPasswordBytes+1)
	if _, err := h.Hash(context.Background(), long); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash error = %v, want ErrPasswordTooLong", err)
	}
	if _, _, err := h.Verify(context.Background(), long, h.dummy); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Verify error = %v, want ErrPasswordTooLong", err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 1)
	good, err := h.Hash(context.Background(), "some password here")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$") // "", argon2id, v=19, m=…, salt, key
	join := func(parts ...string) string { return strings.Join(parts, "$") }
	bc, err := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		encoded string
		want    error
	}{
		{"empty", "", ErrUnknownAlgorithm},
		{"plaintext", "some password here", ErrUnknownAlgorithm},
		{"argon2i", join("", "argon2i", f[2], f[3], f[4], f[5]), ErrUnknownAlgorithm},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA", ErrUnknownAlgorithm},
		{"argon2id only", "$argon2id$", ErrMalformedHash},
		{"missing key", join("", "argon2id", f[2], f[3], f[4]), ErrMalformedHash},
		{"extra field", good + "$x", ErrMalformedHash},
		{"version 16", join("", "argon2id", "v=16", f[3], f[4], f[5]), ErrMalformedHash},
		{"no version", join("", "argon2id", f[3], f[4], f[5]), ErrMalformedHash},
		{"params reordered", join("", "argon2id", f[2], "t=1,m=1024,p=1", f[4], f[5]), ErrMalformedHash},
		{"param not a number", join("", "argon2id", f[2], "m=lots,t=1,p=1", f[4], f[5]), ErrMalformedHash},
		{"leading zero", join("", "argon2id", f[2], "m=01024,t=1,p=1", f[4], f[5]), ErrMalformedHash},
		{"negative param", join("", "argon2id", f[2], "m=1024,t=-1,p=1", f[4], f[5]), ErrMalformedHash},
		{"t=0 (argon2 would panic)", join("", "argon2id", f[2], "m=1024,t=0,p=1", f[4], f[5]), ErrMalformedHash},
		{"p=0 (argon2 would panic)", join("", "argon2id", f[2], "m=1024,t=1,p=0", f[4], f[5]), ErrMalformedHash},
		{"p overflows uint8", join("", "argon2id", f[2], "m=1024,t=1,p=256", f[4], f[5]), ErrMalformedHash},
		{"m too large", join("", "argon2id", f[2], "m=4194304,t=1,p=1", f[4], f[5]), ErrMalformedHash},
		{"m below 8p", join("", "argon2id", f[2], "m=7,t=1,p=1", f[4], f[5]), ErrMalformedHash},
		{"salt not base64", join("", "argon2id", f[2], f[3], "!!!!", f[5]), ErrMalformedHash},
		{"salt padded", join("", "argon2id", f[2], f[3], f[4]+"==", f[5]), ErrMalformedHash},
		{"salt too short", join("", "argon2id", f[2], f[3], "c2FsdA", f[5]), ErrMalformedHash},
		{"key not base64", join("", "argon2id", f[2], f[3], f[4], f[5][:10]+"*"+f[5][11:]), ErrMalformedHash},
		{"key truncated", join("", "argon2id", f[2], f[3], f[4], f[5][:8]), ErrMalformedHash},
		{"newline in key", join("", "argon2id", f[2], f[3], f[4], f[5][:8]+"\n"+f[5][8:]), ErrMalformedHash},
		{"bcrypt truncated", string(bc[:59]), ErrMalformedHash},
		{"bcrypt trailing byte", string(bc) + "x", ErrMalformedHash},
		{"bcrypt cost 31", "$2a$31$" + string(bc[7:]), ErrMalformedHash},
		{"bcrypt bad cost", "$2a$xx$" + string(bc[7:]), ErrMalformedHash},
		{"bcrypt bad salt", "$2a$04$" + strings.Repeat("!", 53), ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "some password here", tt.encoded)
			if ok || rehash || !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, %v, %v, want false, false, %v", ok, rehash, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "$") {
				t.Errorf("error %q may echo the hash", err)
			}
		})
	}
}

// A well-formed hash whose tag was altered is indistinguishable from a
// wrong password: false, no error.
func TestVerifyTamperedTag(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 1)
	enc, err := h.Hash(context.Background(), "some password here")
	if err != nil {
		t.Fatal(err)
	}
	i := len(enc) - 5
	c := byte('A')
	if enc[i] == 'A' {
		c = 'B'
	}
	tampered := enc[:i] + string(c) + enc[i+1:]
	ok, rehash, err := h.Verify(context.Background(), "some password here", tampered)
	if ok || rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v, want false, false, nil", ok, rehash, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	const pw = "some password here"
	old := newTestHasher(t, testParams, 1, 1)
	enc, err := old.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range []Params{
		{Memory: 2048, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, // stronger m
		{Memory: 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, // stronger t
		{Memory: 1024, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32}, // longer salt
		{Memory: 512, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},  // weaker: still rehash, to keep timing uniform
	} {
		h := newTestHasher(t, p, 1, 1)
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if !ok || !rehash || err != nil {
			t.Errorf("params %+v: Verify = %v, %v, %v, want true, true, nil", p, ok, rehash, err)
		}
		// A wrong password never asks for a rehash.
		if ok, rehash, _ := h.Verify(ctx, "wrong", enc); ok || rehash {
			t.Errorf("params %+v: wrong password: ok, rehash = %v, %v", p, ok, rehash)
		}
	}
}

func TestVerifyBcrypt(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 1, 1)
	const pw = "legacy password 1"
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// The three prefixes denote the same algorithm for any valid UTF-8
	// password; x/crypto writes $2a$.
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		enc := prefix + string(bc[4:])
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if !ok || !rehash || err != nil {
			t.Errorf("%s: Verify = %v, %v, %v, want true, true, nil", prefix, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(ctx, pw+"x", enc)
		if ok || rehash || err != nil {
			t.Errorf("%s: wrong password: Verify = %v, %v, %v, want false, false, nil", prefix, ok, rehash, err)
		}
	}

	// Migration: after a bcrypt match the caller stores a fresh argon2id hash.
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify(ctx, pw, enc); !ok || rehash || err != nil {
		t.Errorf("after rehash: Verify = %v, %v, %v, want true, false, nil", ok, rehash, err)
	}
}

func TestVerifyDummy(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 1)
	var calls []Params
	inner := h.derive
	h.derive = func(pw, salt []byte, p Params) []byte {
		calls = append(calls, p)
		return inner(pw, salt, p)
	}
	if err := h.VerifyDummy(context.Background(), "anything at all"); err != nil {
		t.Fatal(err)
	}
	// Same work as a real verification: one argon2id derivation at the
	// Hasher's own parameters.
	if len(calls) != 1 || calls[0] != testParams {
		t.Errorf("derivations = %+v, want exactly one with %+v", calls, testParams)
	}
	// Two hashers have different dummies, so no one password matches every
	// server's dummy.
	other := newTestHasher(t, testParams, 1, 1)
	if h.dummy == other.dummy {
		t.Error("dummy hash is not random")
	}
	if err := h.VerifyDummy(context.Background(), strings.Repeat("x", MaxPasswordBytes+1)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("too long: err = %v", err)
	}
}

// wantBusy checks that err is the refusal of a full Hasher as every caller
// gets it: the domain's Unavailable with the code busy and a Retry-After of
// whole seconds, the BusyError as its cause.
func wantBusy(t *testing.T, err error) {
	t.Helper()
	var busy *BusyError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &busy) {
		t.Fatalf("err = %v, want *BusyError matching ErrBusy", err)
	}
	if busy.RetryAfter < time.Second || busy.RetryAfter%time.Second != 0 {
		t.Errorf("RetryAfter = %v, want whole seconds ≥ 1s", busy.RetryAfter)
	}
	e := rampart.ErrorOf(err)
	if e == nil || e.Kind != rampart.KindUnavailable || e.Code != rampart.CodeBusy || e.RetryAfter != busy.RetryAfter ||
		e.Message != "the server is busy; try again shortly" {
		t.Errorf("err = %#v, want the domain's Unavailable, code busy, RetryAfter %v", e, busy.RetryAfter)
	}
}

// TestBusy fills the one slot and the two queue places, then checks that the
// next call is refused at once, that the queued calls still complete, and
// that no more than one derivation ever ran at a time.
func TestBusy(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 2)
	release, peak := gate(h)
	defer release()
	ctx := context.Background()

	errs := make(chan error, 3)
	hash := func() {
		_, err := h.Hash(ctx, "some password here")
		errs <- err
	}
	go hash()
	waitStats(t, h, Stats{Running: 1, Queued: 0})
	go hash()
	if err := h.Busy(); err != nil {
		t.Errorf("Busy with a queue place left: %v, want nil", err)
	}
	go hash()
	waitStats(t, h, Stats{Running: 1, Queued: 2})
	wantBusy(t, h.Busy())

	for _, call := range []func() error{
		func() error { _, err := h.Hash(ctx, "another password"); return err },
		func() error { _, _, err := h.Verify(ctx, "another password", h.dummy); return err },
		func() error { return h.VerifyDummy(ctx, "another password") },
	} {
		// The gate holds the only slot until release(): a call that queued
		// instead of being refused would not return here at all.
		wantBusy(t, call())
	}

	release()
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("queued Hash: %v", err)
		}
	}
	if got := peak.Load(); got != 1 {
		t.Errorf("peak concurrent derivations = %d, want 1", got)
	}
	waitStats(t, h, Stats{})
}

// TestBusyRealHashes is TestBusy without a gate: a burst of concurrent
// default-cost hashes against maxConcurrent=1, maxQueue=2.
func TestBusyRealHashes(t *testing.T) {
	h, err := New(DefaultParams, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	var current, peak, derived atomic.Int64
	inner := h.derive
	h.derive = func(pw, salt []byte, p Params) []byte {
		derived.Add(1)
		n := current.Add(1)
		defer current.Add(-1)
		for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
		}
		return inner(pw, salt, p)
	}

	const callers = 8
	type result struct {
		err     error
		elapsed time.Duration
	}
	results := make(chan result, callers)
	start := make(chan struct{})
	for range callers {
		go func() {
			<-start
			t0 := time.Now()
			_, err := h.Hash(context.Background(), "some password here")
			results <- result{err, time.Since(t0)}
		}()
	}
	close(start)

	var busy, done int
	fastestHash, slowestRefusal := time.Hour, time.Duration(0)
	for range callers {
		r := <-results
		switch {
		case r.err == nil:
			done++
			fastestHash = min(fastestHash, r.elapsed)
		case errors.Is(r.err, ErrBusy):
			busy++
			slowestRefusal = max(slowestRefusal, r.elapsed)
		default:
			t.Errorf("Hash: %v", r.err)
		}
	}
	t.Logf("%d hashed, %d refused; fastest hash %v, slowest refusal %v", done, busy, fastestHash, slowestRefusal)
	if busy == 0 || done == 0 {
		t.Errorf("hashed %d, refused %d: want some of each", done, busy)
	}
	// A refusal costs no hash: the work done is the successful hashes' only.
	if n := derived.Load(); n != int64(done) {
		t.Errorf("%d derivations for %d hashes: a refused call hashed", n, done)
	}
	if got := peak.Load(); got != 1 {
		t.Errorf("peak concurrent derivations = %d, want 1", got)
	}
}

func TestCancelWhileQueued(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 2)
	release, _ := gate(h)
	defer release()

	first := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "some password here")
		first <- err
	}()
	waitStats(t, h, Stats{Running: 1})

	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() {
		_, _, err := h.Verify(ctx, "some password here", h.dummy)
		queued <- err
	}()
	waitStats(t, h, Stats{Running: 1, Queued: 1})
	cancel()
	select {
	case err := <-queued:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("queued Verify: err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("queued Verify did not return after cancel")
	}
	waitStats(t, h, Stats{Running: 1})

	// A deadline works the same way, and an already-dead ctx fails at once.
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	if _, err := h.Hash(dctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash with deadline: err = %v, want DeadlineExceeded", err)
	}
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with cancelled ctx: err = %v, want Canceled", err)
	}

	release()
	if err := <-first; err != nil {
		t.Errorf("running Hash: %v", err)
	}
	waitStats(t, h, Stats{})
}

func TestRetryAfter(t *testing.T) {
	h := newTestHasher(t, testParams, 2, 10)
	if got := h.retryAfter(); got != time.Second {
		t.Errorf("no measurements: retryAfter = %v, want 1s", got)
	}
	h.avgNanos.Store(int64(700 * time.Millisecond))
	h.queued.Store(6)
	// (6 queued + 2 running) / 2 slots = 4 waves × 0.7 s = 2.8 s → 3 s.
	if got := h.retryAfter(); got != 3*time.Second {
		t.Errorf("retryAfter = %v, want 3s", got)
	}
}
