package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Failover uses the shared limiter while it answers and the local one while
// it does not, so a Redis outage degrades budgets to per-replica ones
// instead of lifting them. It retries the shared limiter at most once per
// retryEvery while it is down, and logs each change of state once.
//
// The healthy path takes no lock: it reads one atomic flag. The mutex only
// orders the state changes (and their log lines).
type Failover struct {
	shared, local Limiter
	logger        *slog.Logger
	timeout       time.Duration
	retryEvery    time.Duration
	now           func() time.Time // time.Now; tests step a clock of their own

	down      atomic.Bool
	nextProbe atomic.Int64 // Unix ns; while down, the earliest next probe

	mu sync.Mutex // serialises transitions of down
}

// NewFailover returns a limiter over shared with local as the fallback.
// Each shared call gets timeout, so a hung Redis costs requests little.
func NewFailover(shared, local Limiter, logger *slog.Logger, timeout, retryEvery time.Duration) *Failover {
	return &Failover{shared: shared, local: local, logger: logger, timeout: timeout, retryEvery: retryEvery, now: time.Now}
}

// Allow asks the shared limiter, or the local one when the shared one is
// down.
func (f *Failover) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	start := f.now()
	if !f.tryShared(start) {
		return f.local.Allow(ctx, key, l)
	}
	sctx, cancel := context.WithTimeout(ctx, f.timeout)
	d, err := f.shared.Allow(sctx, key, l)
	cancel()
	if err != nil {
		f.markDown(err, start)
		return f.local.Allow(ctx, key, l)
	}
	f.markUp()
	return d, nil
}

// Healthy reports whether the shared limiter answered last time.
func (f *Failover) Healthy() bool {
	return !f.down.Load()
}

// tryShared reports whether this call should ask the shared limiter: always
// while it is up, and while it is down only the one call that claims the
// next probe slot per retryEvery.
func (f *Failover) tryShared(now time.Time) bool {
	if !f.down.Load() {
		return true
	}
	next := f.nextProbe.Load()
	if now.UnixNano() <= next {
		return false
	}
	return f.nextProbe.CompareAndSwap(next, now.Add(f.retryEvery).UnixNano())
}

// markDown records that the shared limiter failed a call that started at
// start; the first probe is due retryEvery after that.
func (f *Failover) markDown(err error, start time.Time) {
	if f.down.Load() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down.Load() {
		f.nextProbe.Store(start.Add(f.retryEvery).UnixNano())
		f.down.Store(true)
		f.logger.Error("rate limiter: Redis does not answer; limiting locally per replica", slog.String("error", err.Error()))
	}
}

func (f *Failover) markUp() {
	if !f.down.Load() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down.Load() {
		f.down.Store(false)
		f.logger.Info("rate limiter: Redis answers again; limits are shared")
	}
}
