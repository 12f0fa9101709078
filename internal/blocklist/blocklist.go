// Package blocklist is the automatic answer to detection (issue 13): a
// source that a detection rule fired on is refused at the edge for a while,
// a while that grows each time the same source is blocked again. It knows
// nothing of rules or HTTP: a Blocker places blocks (from a bounded queue,
// off the detector's goroutine) in a Store, memory for one process or Redis
// shared by every replica, and answers the edge's question "is this address
// blocked, and for how long still" from a local copy, with no network call
// on the request path.
//
// A source is what detection calls one: an IPv4 address, or an IPv6 /64.
// Exempt prefixes (RAMPART_BLOCK_EXEMPT and the trusted proxies) are never
// blocked: a block overlapping one is refused when placed, and the edge's
// check ignores addresses inside one.
package blocklist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/rampart/internal/periodic"
	"github.com/prometheus/client_golang/prometheus"
)

// Block is one blocked source.
type Block struct {
	Source string    // an IPv4 address, or an IPv6 /64 ("2001:db8:1:2::/64")
	Rule   string    // the detection rule that placed it, or whoever did
	Repeat int       // 1 for a source's first block within Policy.Memory, 2 for the next...
	Until  time.Time // when it ends (the placing or listing process's clock)
}

// Policy sets how long blocks last. The n-th block of one source within
// Memory of its previous one lasts Base×Factor^(n-1), at most Max.
type Policy struct {
	Base   time.Duration
	Factor int
	Max    time.Duration
	Memory time.Duration // how long a source's repeat count is remembered after its last block
}

// DefaultPolicy: 15 minutes (the detector's cool-down, so a source that
// resumes after its block is blocked again at its first threshold crossing
// instead of getting a free quarter of an hour), then 1 h, 4 h, 16 h, and
// 24 h from the fifth block on; the count is forgotten 24 h after a
// source's last block.
var DefaultPolicy = Policy{Base: 15 * time.Minute, Factor: 4, Max: 24 * time.Hour, Memory: 24 * time.Hour}

// Duration is how long the repeat-th block lasts.
func (p Policy) Duration(repeat int) time.Duration {
	d := p.Base
	for i := 1; i < repeat && d < p.Max; i++ {
		d *= time.Duration(p.Factor)
	}
	return min(d, p.Max)
}

// MaxBlocks caps the sources blocked at once: the local copy each replica
// keeps (about 100 B a source) and what a replica reads from Redis when it
// resynchronises. A block beyond it is not placed (counted as "full"): an
// attacker with more addresses than that has outgrown an address block list.
const MaxBlocks = 100_000

// Store keeps the blocks. Place is atomic per source: a source already
// blocked is not blocked again (placed false, and the block in force).
type Store interface {
	Place(ctx context.Context, source, rule string, p Policy, now time.Time) (b Block, placed bool, err error)
	// List returns the blocks in force, at most limit of them.
	List(ctx context.Context, now time.Time, limit int) ([]Block, error)
	// Remove lifts a block and forgets the source's repeat count.
	Remove(ctx context.Context, source string) (bool, error)
}

// ErrExempt refuses a block of an exempt source.
var ErrExempt = errors.New("blocklist: the source is exempt from blocking")

// ErrFull refuses a block when MaxBlocks sources are blocked.
var ErrFull = errors.New("blocklist: too many sources blocked")

// Key is the source an address belongs to (IPv4 in full, IPv6 by /64),
// as detection names it; ok is false for the zero address.
func Key(a netip.Addr) (netip.Prefix, bool) {
	if !a.IsValid() {
		return netip.Prefix{}, false
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return netip.PrefixFrom(a, 32), true
	}
	p, err := a.Prefix(64)
	return p, err == nil
}

// ParseSource reads a source as detection's alerts and `rampart blocks`
// name it: an IPv4 address, an IPv6 address (taken by its /64) or an IPv6
// /64. It returns the canonical spelling.
func ParseSource(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		if p, ok := Key(a); ok {
			return p, nil
		}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or an IPv6 /64", s)
	}
	p = p.Masked()
	if p.Addr().Is4() && p.Bits() == 32 || p.Addr().Is6() && p.Bits() == 64 {
		return p, nil
	}
	return netip.Prefix{}, fmt.Errorf("%q: a source is one IPv4 address or one IPv6 /64", s)
}

// SourceString is a source's canonical spelling: an IPv4 address without
// /32, an IPv6 /64 with it (as detection's alerts name them).
func SourceString(p netip.Prefix) string {
	if p.Addr().Is4() {
		return p.Addr().String()
	}
	return p.String()
}

// Config builds a Blocker.
type Config struct {
	Store  Store  // nil: NewMemory()
	Policy Policy // zero: DefaultPolicy
	// Exempt prefixes are never blocked: RAMPART_BLOCK_EXEMPT and the
	// trusted proxies.
	Exempt   []netip.Prefix
	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // nil: metrics kept, not registered
	Now      func() time.Time
	// OnPlaced is called, on Run's goroutine, with each block placed by an
	// alert (not with one already in force): serve records it as a
	// source_blocked event and raises an alert.
	OnPlaced func(Block)
	// Queue bounds the alerts waiting to be placed; 0: 1024.
	Queue int
	// CallTimeout bounds each Store call; 0: 2 s.
	CallTimeout time.Duration
}

// Blocker places blocks and answers the edge from its local copy.
type Blocker struct {
	store   Store
	policy  Policy
	exempt  []netip.Prefix
	log     *slog.Logger
	now     func() time.Time
	placed  func(Block)
	timeout time.Duration
	queue   chan request

	mu     sync.RWMutex
	local  map[netip.Prefix]time.Time // source → until
	active atomic.Int64               // len(local), for the empty fast path

	results *prometheus.CounterVec
	refused prometheus.Counter
	syncErr prometheus.Counter
}

type request struct{ source, rule string }

// New returns a Blocker. Call Run to place queued blocks (and, on Redis,
// to follow the other replicas' blocks).
func New(cfg Config) (*Blocker, error) {
	b := &Blocker{store: cfg.Store, policy: cfg.Policy, log: cfg.Logger, now: cfg.Now, placed: cfg.OnPlaced,
		timeout: cfg.CallTimeout, local: map[netip.Prefix]time.Time{}}
	for _, p := range cfg.Exempt {
		b.exempt = append(b.exempt, p.Masked())
	}
	if b.store == nil {
		b.store = NewMemory()
	}
	if b.policy == (Policy{}) {
		b.policy = DefaultPolicy
	}
	if b.policy.Base <= 0 || b.policy.Factor < 1 || b.policy.Max < b.policy.Base || b.policy.Memory <= 0 {
		return nil, errors.New("blocklist: policy needs Base > 0, Factor >= 1, Max >= Base and Memory > 0")
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.timeout <= 0 {
		b.timeout = 2 * time.Second
	}
	q := cfg.Queue
	if q <= 0 {
		q = 1024
	}
	b.queue = make(chan request, q)
	b.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "rampart", Name: "source_blocks_total",
		Help: "Blocks asked for by detection, by result: placed, already (in force), exempt, full, dropped (queue full), error (store unreachable: not blocked).",
	}, []string{"result"})
	for _, r := range []string{"placed", "already", "exempt", "full", "dropped", "error"} {
		b.results.WithLabelValues(r)
	}
	b.refused = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "rampart", Name: "source_blocked_requests_total",
		Help: "Requests refused at the edge because their source is blocked.",
	})
	b.syncErr = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "rampart", Name: "source_block_sync_errors_total",
		Help: "Failed reads of the shared block list; the replica keeps the blocks it knew.",
	})
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "rampart", Name: "source_blocks_active",
		Help: "Sources this replica refuses now (its copy of the block list).",
	}, func() float64 { return float64(b.active.Load()) })
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{b.results, b.refused, b.syncErr, gauge} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// Exempt reports whether a source (or any address in it) is exempt.
func (b *Blocker) Exempt(p netip.Prefix) bool {
	for _, e := range b.exempt {
		if e.Overlaps(p) {
			return true
		}
	}
	return false
}

// Check is the edge's question: is a blocked, and for how much longer. It
// reads only the local copy. Each refusal it answers is counted.
func (b *Blocker) Check(a netip.Addr) (time.Duration, bool) {
	if b.active.Load() == 0 {
		return 0, false
	}
	p, ok := Key(a)
	if !ok {
		return 0, false
	}
	b.mu.RLock()
	until, ok := b.local[p]
	b.mu.RUnlock()
	if !ok {
		return 0, false
	}
	left := until.Sub(b.now())
	if left <= 0 {
		return 0, false
	}
	for _, e := range b.exempt { // only reached for a blocked source: rare
		if e.Contains(a.Unmap()) {
			return 0, false
		}
	}
	b.refused.Inc()
	return left, true
}

// Enqueue asks for a block of source (as detection names it) because rule
// fired. It never blocks: when the queue is full the request is dropped,
// counted.
func (b *Blocker) Enqueue(source, rule string) {
	select {
	case b.queue <- request{source, rule}:
	default:
		b.results.WithLabelValues("dropped").Inc()
	}
}

// Place blocks source now, unless it is exempt (ErrExempt) or MaxBlocks
// are in force (ErrFull). placed is false when a block was in force
// already; b is then that block. An unreachable store is an error, and no
// block: the edge never fails closed.
func (b *Blocker) Place(ctx context.Context, source, rule string) (Block, bool, error) {
	p, err := ParseSource(source)
	if err != nil {
		return Block{}, false, err
	}
	if b.Exempt(p) {
		b.results.WithLabelValues("exempt").Inc()
		return Block{}, false, ErrExempt
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	blk, placed, err := b.store.Place(ctx, SourceString(p), rule, b.policy, b.now())
	switch {
	case errors.Is(err, ErrFull):
		b.results.WithLabelValues("full").Inc()
		return Block{}, false, err
	case err != nil:
		b.results.WithLabelValues("error").Inc()
		return Block{}, false, err
	case placed:
		b.results.WithLabelValues("placed").Inc()
	default:
		b.results.WithLabelValues("already").Inc()
	}
	b.remember(p, blk.Until)
	return blk, placed, nil
}

// Remove lifts a block here and in the store.
func (b *Blocker) Remove(ctx context.Context, source string) (bool, error) {
	p, err := ParseSource(source)
	if err != nil {
		return false, err
	}
	b.forget(p)
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	return b.store.Remove(ctx, SourceString(p))
}

// List is the store's blocks in force.
func (b *Blocker) List(ctx context.Context) ([]Block, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	return b.store.List(ctx, b.now(), MaxBlocks)
}

func (b *Blocker) remember(p netip.Prefix, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.local[p]; !ok && len(b.local) >= MaxBlocks {
		b.pruneLocked()
		if len(b.local) >= MaxBlocks {
			return
		}
	}
	b.local[p] = until
	b.active.Store(int64(len(b.local)))
}

func (b *Blocker) forget(p netip.Prefix) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.local, p)
	b.active.Store(int64(len(b.local)))
}

// replace makes the local copy exactly blocks (a resynchronisation).
func (b *Blocker) replace(blocks []Block) {
	m := make(map[netip.Prefix]time.Time, len(blocks))
	for _, blk := range blocks {
		if p, err := ParseSource(blk.Source); err == nil {
			m[p] = blk.Until
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.local = m
	b.active.Store(int64(len(m)))
}

func (b *Blocker) pruneLocked() {
	now := b.now()
	for p, until := range b.local {
		if !until.After(now) {
			delete(b.local, p)
		}
	}
	b.active.Store(int64(len(b.local)))
}

// Run places queued blocks until ctx ends and, when the store is shared
// (Redis), follows the blocks other replicas place and remove. Expired
// entries of the local copy are pruned every minute.
func (b *Blocker) Run(ctx context.Context) {
	if f, ok := b.store.(follower); ok {
		go f.follow(ctx, b)
	}
	go periodic.Every(ctx, time.Minute, func() {
		b.mu.Lock()
		b.pruneLocked()
		b.mu.Unlock()
	})
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-b.queue:
			blk, placed, err := b.Place(ctx, req.source, req.rule)
			switch {
			case errors.Is(err, ErrExempt):
				b.log.Info("source not blocked: exempt", slog.String("source", req.source), slog.String("rule", req.rule))
			case err != nil:
				b.log.Warn("source not blocked", slog.String("source", req.source), slog.String("rule", req.rule),
					slog.String("error", err.Error()))
			case placed && b.placed != nil:
				b.placed(blk)
			}
		}
	}
}

// follower is a shared store that keeps a Blocker's local copy current.
type follower interface {
	follow(ctx context.Context, b *Blocker)
}
