package throttle

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// failScript counts a failure and, past the free ones, sets the lock for
// the next delay, in one atomic step so that parallel guesses on several
// replicas cannot slip between the count and the lock (the race behind
// GHSA-7h8m-vrxx-vr4m). The count lives for a day after the last failure.
var failScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 86400000)
local free = tonumber(ARGV[1])
if n <= free then return 0 end
local d = tonumber(ARGV[2])
local maxd = tonumber(ARGV[3])
for i = free + 2, n do
  d = d * 2
  if d >= maxd then break end
end
if d > maxd then d = maxd end
redis.call('SET', KEYS[2], '1', 'PX', d)
return d
`)

// Redis shares failure counts and delays between replicas.
type Redis struct {
	client redis.UniversalClient
	prefix string
	policy Policy
}

// NewRedis returns a throttle keeping its state under prefix.
func NewRedis(client redis.UniversalClient, prefix string, p Policy) *Redis {
	return &Redis{client: client, prefix: prefix, policy: p}
}

func (r *Redis) keys(account string) (failures, lock string) {
	return r.prefix + "fail:" + account, r.prefix + "lock:" + account
}

// Allow returns how long the account must still wait.
func (r *Redis) Allow(ctx context.Context, account, _ string) (time.Duration, error) {
	_, lock := r.keys(account)
	ttl, err := r.client.PTTL(ctx, lock).Result()
	if err != nil {
		return 0, err
	}
	return max(ttl, 0), nil
}

// Fail counts a failed attempt and starts the next delay.
func (r *Redis) Fail(ctx context.Context, account string) error {
	failures, lock := r.keys(account)
	return failScript.Run(ctx, r.client, []string{failures, lock},
		r.policy.FreeFailures, r.policy.FirstDelay.Milliseconds(), r.policy.MaxDelay.Milliseconds()).Err()
}

// Reset forgets an account's failures.
func (r *Redis) Reset(ctx context.Context, account string) error {
	failures, lock := r.keys(account)
	return r.client.Del(ctx, failures, lock).Err()
}

// Throttle is what Failover switches between.
type Throttle interface {
	Allow(ctx context.Context, account, sourceIP string) (time.Duration, error)
	Fail(ctx context.Context, account string) error
	Reset(ctx context.Context, account string) error
}

// Failover uses the shared throttle while it answers and the local one
// while it does not: during a Redis outage each replica still slows
// guessing down on its own, rather than not at all.
type Failover struct {
	shared, local Throttle
	logger        *slog.Logger

	mu   sync.Mutex
	down bool
}

// NewFailover returns a throttle over shared with local as the fallback.
func NewFailover(shared, local Throttle, logger *slog.Logger) *Failover {
	return &Failover{shared: shared, local: local, logger: logger}
}

func (f *Failover) Allow(ctx context.Context, account, ip string) (time.Duration, error) {
	wait, err := f.shared.Allow(ctx, account, ip)
	if f.failed(err) {
		return f.local.Allow(ctx, account, ip)
	}
	return wait, nil
}

func (f *Failover) Fail(ctx context.Context, account string) error {
	if f.failed(f.shared.Fail(ctx, account)) {
		return f.local.Fail(ctx, account)
	}
	return nil
}

func (f *Failover) Reset(ctx context.Context, account string) error {
	_ = f.local.Reset(ctx, account) // the local state may date from an outage
	f.failed(f.shared.Reset(ctx, account))
	return nil
}

// failed records whether the shared throttle answered, logging each change.
func (f *Failover) failed(err error) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil && !f.down:
		f.down = true
		f.logger.Error("login throttle: Redis does not answer; counting failures per replica", slog.String("error", err.Error()))
	case err == nil && f.down:
		f.down = false
		f.logger.Info("login throttle: Redis answers again; failure counts are shared")
	}
	return err != nil
}
