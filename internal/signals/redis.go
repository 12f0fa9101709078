package signals

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// addScript is MemoryStore.Add on a sorted set, in one atomic step: the
// member scored by its time (milliseconds), what is older than the window
// dropped, at most limit kept (the newest), the key expiring with its
// window, and the count answered. Replicas adding to one key cannot slip
// between the steps.
var addScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return redis.call('ZCARD', KEYS[1])
`)

// claimScript is SET NX PX judged on the caller's time: the value is the
// time the claim is held until, and a claim whose time has passed is taken
// over. Windows run on the events' times, so the cool-downs must too (a
// plain SET NX PX would run on the Redis clock, and a stepped test clock
// or a late event would disagree with it); PX still frees the key.
var claimScript = redis.NewScript(`
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < held then return 0 end
redis.call('SET', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), 'PX', ARGV[2])
return 1
`)

// tallyScript counts one in KEYS[1] and reads the counters of the other
// keys, in one round trip.
var tallyScript = redis.NewScript(`
local r = {redis.call('INCR', KEYS[1])}
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if #KEYS > 1 then
  local v = redis.call('MGET', unpack(KEYS, 2))
  for i = 1, #v do r[i + 1] = tonumber(v[i] or '0') end
end
return r
`)

// RedisStore keeps the detection windows in Redis under prefix, so that
// every replica using the same Redis and prefix counts one attack
// together. Each call is one script, one round trip. It answers errors;
// FailoverStore turns it into a WindowStore that falls back to memory.
type RedisStore struct {
	client redis.Scripter
	prefix string
	id     string        // this process, in the members of counted occurrences
	seq    atomic.Uint64 // numbers them
}

// NewRedisStore returns a store keeping its keys under prefix.
func NewRedisStore(client redis.Scripter, prefix string) *RedisStore {
	return &RedisStore{client: client, prefix: prefix, id: rand.Text()[:8]}
}

// Add is WindowStore.Add. An occurrence (member "") gets a member of its
// own, unique across replicas, so that each one counts.
func (r *RedisStore) Add(ctx context.Context, key, member string, at time.Time, window time.Duration, limit int) (int, error) {
	if member == "" {
		member = "#" + r.id + strconv.FormatUint(r.seq.Add(1), 36)
	}
	n, err := addScript.Run(ctx, r.client, []string{r.prefix + key}, member, at.UnixMilli(),
		at.Add(-window).UnixMilli(), max(limit, 1), max(window.Milliseconds(), 1)).Int()
	return n, err
}

// Claim is WindowStore.Claim.
func (r *RedisStore) Claim(ctx context.Context, key string, at time.Time, ttl time.Duration) (bool, error) {
	n, err := claimScript.Run(ctx, r.client, []string{r.prefix + key}, at.UnixMilli(), max(ttl.Milliseconds(), 1)).Int()
	return n == 1, err
}

// Tally is WindowStore.Tally. The counters expire on the Redis clock,
// which only frees memory (the interval is in the key).
func (r *RedisStore) Tally(ctx context.Context, key string, ttl time.Duration, others []string) (int, []int, error) {
	keys := make([]string, 0, 1+len(others))
	keys = append(keys, r.prefix+key)
	for _, o := range others {
		keys = append(keys, r.prefix+o)
	}
	res, err := tallyScript.Run(ctx, r.client, keys, max(ttl.Milliseconds(), 1)).Int64Slice()
	if err != nil {
		return 0, nil, err
	}
	counts := make([]int, len(others))
	for i := range counts {
		if i+1 < len(res) {
			counts[i] = int(res[i+1])
		}
	}
	return int(res[0]), counts, nil
}

// FailoverStore is the WindowStore of replicas that share a Redis: it asks
// RedisStore while Redis answers, and this process's MemoryStore while it
// does not, so an outage narrows detection to what each replica sees alone
// instead of stopping it. Each call gets timeout; while Redis is down it is
// probed at most once per retryEvery. Every operation answered from memory
// because of Redis counts in rampart_alert_store_local_total, and each
// change of state is logged once.
type FailoverStore struct {
	shared     *RedisStore
	local      *MemoryStore
	logger     *slog.Logger
	timeout    time.Duration
	retryEvery time.Duration
	now        func() time.Time // time.Now; a test steps its own clock

	down      atomic.Bool
	nextProbe atomic.Int64 // unix ns; while down, the earliest next probe
	mu        sync.Mutex   // orders the changes of down and their log lines
	fallbacks prometheus.Counter
}

// NewFailoverStore returns a store over shared with local as the fallback.
func NewFailoverStore(shared *RedisStore, local *MemoryStore, logger *slog.Logger, timeout, retryEvery time.Duration) *FailoverStore {
	if logger == nil {
		logger = slog.Default()
	}
	return &FailoverStore{shared: shared, local: local, logger: logger, timeout: timeout, retryEvery: retryEvery,
		now: time.Now, fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "rampart", Name: "alert_store_local_total",
			Help: "Detection window operations done in this replica's memory because Redis did not answer (windows are per replica meanwhile).",
		})}
}

func (f *FailoverStore) Add(key, member string, at time.Time, window time.Duration, limit int) int {
	var n int
	if f.try(func(ctx context.Context) (err error) {
		n, err = f.shared.Add(ctx, key, member, at, window, limit)
		return err
	}) {
		return n
	}
	return f.local.Add(key, member, at, window, limit)
}

func (f *FailoverStore) Claim(key string, at time.Time, ttl time.Duration) bool {
	var ok bool
	if f.try(func(ctx context.Context) (err error) {
		ok, err = f.shared.Claim(ctx, key, at, ttl)
		return err
	}) {
		return ok
	}
	return f.local.Claim(key, at, ttl)
}

func (f *FailoverStore) Tally(key string, at time.Time, ttl time.Duration, others []string) (int, []int) {
	var n int
	var counts []int
	if f.try(func(ctx context.Context) (err error) {
		n, counts, err = f.shared.Tally(ctx, key, ttl, others)
		return err
	}) {
		return n, counts
	}
	return f.local.Tally(key, at, ttl, others)
}

// Healthy reports whether Redis answered last time.
func (f *FailoverStore) Healthy() bool { return !f.down.Load() }

// try runs call against Redis when it should be asked (always while it is
// up; while down, the one call per retryEvery that claims the probe) and
// says whether it answered; when not, the operation counts as local.
func (f *FailoverStore) try(call func(ctx context.Context) error) bool {
	start := f.now()
	if f.down.Load() {
		next := f.nextProbe.Load()
		if start.UnixNano() <= next || !f.nextProbe.CompareAndSwap(next, start.Add(f.retryEvery).UnixNano()) {
			f.fallbacks.Inc()
			return false
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	err := call(ctx)
	cancel()
	if err != nil {
		f.fallbacks.Inc()
	}
	if (err != nil) == f.down.Load() {
		return err == nil // no change of state: no lock on the healthy path
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil && !f.down.Load():
		f.nextProbe.Store(start.Add(f.retryEvery).UnixNano())
		f.down.Store(true)
		f.logger.Error("detection: Redis does not answer; counting attacks per replica", slog.String("error", err.Error()))
	case err == nil && f.down.Load():
		f.down.Store(false)
		f.logger.Info("detection: Redis answers again; attack windows are shared")
	}
	return err == nil
}
