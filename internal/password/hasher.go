package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"example.com/rampart/internal/password/argon2"
	"example.com/rampart/internal/rampart"
)

// ErrBusy is matched (errors.Is) by the error returned when every hash slot
// is taken and the wait queue is full.
var ErrBusy = errors.New("password: hasher busy")

// BusyError reports an overloaded Hasher. It is the cause inside the
// domain error the Hasher returns (see busy).
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("password: hasher busy, retry after %s", e.RetryAfter)
}

// Is makes errors.Is(err, ErrBusy) true for a *BusyError.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// busy is the error of a refused hash: the domain's Unavailable with the
// code CodeBusy and the time to wait, which the edge answers as 503 with
// Retry-After (whole seconds, at least 1). It is made here, where the wait
// is known, so that every user of the Hasher gets the same answer.
func busy(retryAfter time.Duration) error {
	return &rampart.Error{Kind: rampart.KindUnavailable, Code: rampart.CodeBusy,
		Message: "the server is busy; try again shortly", RetryAfter: retryAfter,
		Err: &BusyError{RetryAfter: retryAfter}}
}

// ErrPasswordTooLong is returned by Hash and Verify for input longer than
// MaxPasswordBytes. Policy.Check has the same limit, so it never accepts a
// password that Hash would refuse.
var ErrPasswordTooLong = errors.New("password: too long")

// maxBcryptCost bounds the legacy hashes we are willing to verify. Each step
// doubles the work; cost 15 is already ~2 s on one core. A stored cost of 31
// would otherwise pin a CPU for days.
const maxBcryptCost = 15

// Stats is a snapshot of the Hasher's load, for metrics.
type Stats struct {
	Running int // hashes computing now (≤ maxConcurrent)
	Queued  int // callers waiting for a slot (≤ maxQueue)
}

// Hasher hashes and verifies passwords with argon2id while bounding how many
// hashes run at once. Each running argon2id needs Params.Memory (19 MiB by
// default); without the bound, a burst of 500 logins would allocate ~9.5 GiB.
// With it, hash memory stays at maxConcurrent × Params.Memory, and callers
// beyond the queue are refused at once instead of piling up. The work memory
// is reused from hash to hash (internal/password/argon2) rather than left to
// the garbage collector: at ~85 hashes/s that would be ~1.6 GiB/s of garbage,
// ~25 GC cycles a second and an RSS well above the live heap
// (bench/RESULTS.md).
//
// A Hasher is safe for concurrent use.
type Hasher struct {
	params Params

	// slots is a counting semaphore: sending acquires, receiving releases.
	// Blocked senders on a Go channel are woken in arrival order and a freed
	// slot is handed straight to the oldest waiter, so the queue is FIFO and
	// newcomers cannot barge in.
	slots    chan struct{}
	maxQueue int64
	queued   atomic.Int64
	running  atomic.Int64
	avgNanos atomic.Int64 // moving average of slot hold time, for RetryAfter

	// dummy is an argon2id hash at params with a random salt and tag; no
	// password matches it. VerifyDummy verifies against it.
	dummy string

	// derive is argon2.IDKey; tests swap it to observe or gate the work.
	derive func(password, salt []byte, p Params) []byte
}

// New returns a Hasher that writes hashes with p, which must pass
// p.Validate. At most maxConcurrent hashes run at once (0 means
// runtime.NumCPU(): argon2id with p=1 uses one core, so more would only add
// memory and latency) and at most maxQueue callers wait for a slot (0 means
// 4 × maxConcurrent, i.e. a waiter is at most ~4 hash times from its turn).
func New(p Params, maxConcurrent, maxQueue int) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newHasher(p, maxConcurrent, maxQueue)
}

// newHasher is New without the PWD-05 floor, so tests can use cheap
// parameters. Production code must go through New.
func newHasher(p Params, maxConcurrent, maxQueue int) (*Hasher, error) {
	if err := p.validateBounds(); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	if maxConcurrent < 0 || maxQueue < 0 {
		return nil, errors.New("password: maxConcurrent and maxQueue must not be negative")
	}
	if maxConcurrent == 0 {
		maxConcurrent = runtime.NumCPU()
	}
	if maxQueue == 0 {
		maxQueue = 4 * maxConcurrent
	}
	// The work memory of the hashes this Hasher writes is kept, one buffer
	// per slot; the memory of other sizes (old stored hashes) is not.
	argon2.ReuseMemory(p.Memory, maxConcurrent)
	h := &Hasher{
		params:   p,
		slots:    make(chan struct{}, maxConcurrent),
		maxQueue: int64(maxQueue),
		derive: func(password, salt []byte, p Params) []byte {
			return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		},
	}
	dummy := phc{params: p, salt: make([]byte, p.SaltLen), key: make([]byte, p.KeyLen)}
	rand.Read(dummy.salt) // crypto/rand.Read never fails (it crashes the program instead)
	rand.Read(dummy.key)
	h.dummy = dummy.String()
	return h, nil
}

// Hash returns the argon2id PHC string of password, after NFKC
// normalization (PWD-02). It waits for a free slot unless ctx ends first or
// the queue is full (ErrBusy). The hash itself is not interruptible.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	out := phc{params: h.params, salt: make([]byte, h.params.SaltLen)}
	rand.Read(out.salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release(time.Now())
	out.key = h.derive([]byte(normalize(password)), out.salt, h.params)
	return out.String(), nil
}

// Verify checks password against a stored hash.
//
// It accepts argon2id PHC strings with any sane parameters, and bcrypt
// hashes ($2a$, $2b$, $2y$) imported from legacy systems. needsRehash is
// true only when ok is true and the stored hash is bcrypt or its argon2id
// parameters differ from the Hasher's (weaker or stronger: uniform
// parameters also keep login timing uniform, AUTH-02); the caller should
// then store a fresh Hash of the same password.
//
// A hash that cannot be parsed yields an error wrapping ErrMalformedHash or
// ErrUnknownAlgorithm, never ok. Overload and ctx errors are as for Hash.
//
// argon2id input is NFKC-normalized like in Hash. bcrypt input is not: the
// legacy system hashed the raw bytes (and bcrypt itself ignores bytes past
// the 72nd, as it did there; the rehash then covers the whole password).
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	if len(password) > MaxPasswordBytes {
		return false, false, ErrPasswordTooLong
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.verifyArgon2id(ctx, password, encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return h.verifyBcrypt(ctx, password, encoded)
	default:
		return false, false, ErrUnknownAlgorithm
	}
}

func (h *Hasher) verifyArgon2id(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	stored, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release(time.Now())
	key := h.derive([]byte(normalize(password)), stored.salt, stored.params)
	if subtle.ConstantTimeCompare(key, stored.key) != 1 {
		return false, false, nil
	}
	return true, stored.params != h.params, nil
}

func (h *Hasher) verifyBcrypt(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	// A bcrypt hash is exactly 60 characters; x/crypto would accept trailing
	// garbage and then just never match.
	if len(encoded) != 60 {
		return false, false, fmt.Errorf("%w: bad bcrypt length", ErrMalformedHash)
	}
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return false, false, fmt.Errorf("%w: bad bcrypt header", ErrMalformedHash)
	}
	if cost > maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release(time.Now())
	// CompareHashAndPassword compares in constant time.
	err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	switch {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%w: bad bcrypt salt", ErrMalformedHash)
	}
}

// VerifyDummy does the work of a failed Verify at the Hasher's current
// parameters, against a hash no password matches. Call it when the login
// email is unknown so that the response takes as long as a wrong password
// (AUTH-02). It returns only overload, ctx and length errors, exactly as
// Verify would for a real account.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

// Busy returns the ErrBusy error a hash would get now because every slot is
// taken and the queue is full, or nil. It reserves nothing, so a caller that
// gets nil may still be refused by Hash or Verify; it lets a caller refuse
// before doing work that only a hash would use.
func (h *Hasher) Busy() error {
	if len(h.slots) == cap(h.slots) && h.queued.Load() >= h.maxQueue {
		return busy(h.retryAfter())
	}
	return nil
}

// Stats returns the current load.
func (h *Hasher) Stats() Stats {
	return Stats{Running: int(h.running.Load()), Queued: int(h.queued.Load())}
}

// acquire takes a hash slot, waiting in the queue if there is room in it.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		return nil
	default:
	}
	// All slots are taken. Join the queue, or fail now if it is full: a
	// refused login is cheap, a pile of waiting ones is not.
	if h.queued.Add(1) > h.maxQueue {
		h.queued.Add(-1)
		return busy(h.retryAfter())
	}
	defer h.queued.Add(-1)
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
	case <-ctx.Done():
		return ctx.Err()
	}
	// The caller may have gone while we waited; don't burn a hash for nobody.
	if err := ctx.Err(); err != nil {
		h.running.Add(-1)
		<-h.slots
		return err
	}
	return nil
}

// release frees the slot taken at start and records how long it was held.
func (h *Hasher) release(start time.Time) {
	d := int64(time.Since(start))
	// Exponential moving average with weight 1/8. Load and Store are not
	// one atomic step, so a concurrent update may be lost; for an estimate
	// that is fine.
	if old := h.avgNanos.Load(); old != 0 {
		d = old + (d-old)/8
	}
	h.avgNanos.Store(d)
	h.running.Add(-1)
	<-h.slots
}

// retryAfter estimates when a refused caller could get a slot: everyone
// queued plus everyone running must finish first, maxConcurrent at a time.
// It is rounded up to whole seconds (the unit of the Retry-After header)
// and is at least 1 s.
func (h *Hasher) retryAfter() time.Duration {
	n := int64(cap(h.slots))
	waves := (h.queued.Load() + n + n - 1) / n
	d := time.Duration(waves * h.avgNanos.Load())
	d = (d + time.Second - 1).Truncate(time.Second)
	return max(d, time.Second)
}
