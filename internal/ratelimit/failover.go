package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Failover uses the shared limiter while it answers and the local one while
// it does not, so a Redis outage degrades budgets to per-replica ones
// instead of lifting them. It retries the shared limiter at most once per
// retryEvery while it is down, and logs each change of state once.
type Failover struct {
	shared, local Limiter
	logger        *slog.Logger
	timeout       time.Duration
	retryEvery    time.Duration

	mu        sync.Mutex
	down      bool
	nextProbe time.Time
}

// NewFailover returns a limiter over shared with local as the fallback.
// Each shared call gets timeout, so a hung Redis costs requests little.
func NewFailover(shared, local Limiter, logger *slog.Logger, timeout, retryEvery time.Duration) *Failover {
	return &Failover{shared: shared, local: local, logger: logger, timeout: timeout, retryEvery: retryEvery}
}

// Allow asks the shared limiter, or the local one when the shared one is
// down.
func (f *Failover) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	if !f.tryShared() {
		return f.local.Allow(ctx, key, l)
	}
	sctx, cancel := context.WithTimeout(ctx, f.timeout)
	d, err := f.shared.Allow(sctx, key, l)
	cancel()
	if err != nil {
		f.markDown(err)
		return f.local.Allow(ctx, key, l)
	}
	f.markUp()
	return d, nil
}

// Healthy reports whether the shared limiter answered last time.
func (f *Failover) Healthy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.down
}

func (f *Failover) tryShared() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down || time.Now().After(f.nextProbe) {
		f.nextProbe = time.Now().Add(f.retryEvery)
		return true
	}
	return false
}

func (f *Failover) markDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		f.down = true
		f.logger.Error("rate limiter: Redis does not answer; limiting locally per replica", slog.String("error", err.Error()))
	}
}

func (f *Failover) markUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		f.down = false
		f.logger.Info("rate limiter: Redis answers again; limits are shared")
	}
}
