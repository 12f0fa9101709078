package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/app"
	"example.com/rampart/internal/httpapi"
	"example.com/rampart/internal/logging"
	"example.com/rampart/internal/periodic"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/ratelimit"
	"example.com/rampart/internal/throttle"
)

// maxLimiterKeys bounds the in-memory limiter (about 60 bytes a key with
// its name): a flood of distinct addresses evicts old state instead.
const maxLimiterKeys = 1_000_000

// Redis calls on the request path get a short deadline: a hung Redis must
// cost a request milliseconds, then the replica limits locally.
const (
	redisCallTimeout = 50 * time.Millisecond
	redisRetryEvery  = time.Second
)

// redisObserver is nil in the server. A test sets it to count the Redis
// calls and dials a request makes and the deadline each one runs under.
var redisObserver redis.Hook

// limits are the budgets, the limiter and the login throttle, shared
// through Redis when it is configured.
type limits struct {
	http     httpapi.RateLimits
	throttle rampart.LoginThrottle
	healthy  func() bool   // false while Redis is configured but down
	redis    *redis.Client // nil without Redis
	close    func() error
}

func buildLimits(cfg Config, logger *slog.Logger) (*limits, error) {
	budgets := map[string]rampart.RateLimit{}
	for class, r := range cfg.Rates {
		budgets[class] = rampart.RateLimit{N: r.N, Per: r.Per}
	}
	local := ratelimit.NewMemory(maxLimiterKeys, nil)
	localThrottle := throttle.NewMemory(throttle.DefaultPolicy, app.MaxThrottledAccounts, nil)
	if cfg.RedisURL == "" {
		return &limits{
			http:     httpapi.RateLimits{Limiter: local, Budgets: budgets},
			throttle: localThrottle,
			healthy:  func() bool { return true },
			close:    func() error { return nil },
		}, nil
	}
	// go-redis logs dial failures and the like itself; without this they
	// would be free text on stderr, past the JSON log and its redaction.
	redis.SetLogger(logging.PrintfLogger{Logger: logger, Msg: "redis client", Level: slog.LevelWarn})
	client, err := newRedisClient(cfg)
	if err != nil {
		return nil, err
	}
	shared := ratelimit.NewFailover(ratelimit.NewRedis(client, cfg.RedisPrefix+"rl:"), local, logger, redisCallTimeout, redisRetryEvery)
	sharedThrottle := throttle.NewFailover(throttle.NewRedis(client, cfg.RedisPrefix+"login:", throttle.DefaultPolicy), localThrottle, logger)
	return &limits{
		http:     httpapi.RateLimits{Limiter: shared, Budgets: budgets},
		throttle: sharedThrottle,
		healthy:  shared.Healthy,
		redis:    client,
		close:    client.Close,
	}, nil
}

// newRedisClient is the Redis client of RAMPART_REDIS_URL with the short
// deadlines of the request path.
func newRedisClient(cfg Config) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.RedisURL.Reveal())
	if err != nil {
		return nil, errors.New("RAMPART_REDIS_URL: not a usable Redis URL")
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, redisCallTimeout, redisCallTimeout
	opts.MaxRetries = -1   // a retry would only double the wait; the fallback is the retry
	opts.DialerRetries = 1 // the default, 5 dials of DialTimeout each, would hold a request for seconds
	dialer, err := cfg.outbound()
	if err != nil {
		return nil, err
	}
	opts.Dialer = redisDialer(dialer, opts)
	client := redis.NewClient(opts)
	client.AddHook(callDeadline{})
	if redisObserver != nil {
		client.AddHook(redisObserver) // inside callDeadline: it sees each call's deadline
	}
	return client, nil
}

// probeRedis keeps the limiter's view of Redis fresh even when no request
// comes, so /readyz reports a recovery by itself.
func probeRedis(ctx context.Context, l *limits) {
	if l.redis == nil {
		return
	}
	periodic.Every(ctx, redisRetryEvery, func() {
		_, _ = l.http.Limiter.Allow(ctx, "health-probe", rampart.RateLimit{N: 1_000_000, Per: time.Hour})
	})
}

// callDeadline gives every Redis command and pipeline, the dial of a new
// connection included, at most redisCallTimeout. The read and write
// timeouts cover a Redis that accepts and hangs, not one that cannot be
// reached; and the limiter is not the only caller on the request path (the
// login throttle, the revocation broadcast).
type callDeadline struct{}

func (callDeadline) DialHook(next redis.DialHook) redis.DialHook { return next }

func (callDeadline) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
		defer cancel()
		return next(ctx, cmd)
	}
}

func (callDeadline) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
		defer cancel()
		return next(ctx, cmds)
	}
}
