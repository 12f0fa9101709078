// Package ratelimit decides whether a request fits its budget, with the
// generic cell rate algorithm (GCRA): a budget of N per period admits a
// burst of N and then one request every period/N. The only state per key
// is one timestamp (the "theoretical arrival time"), which keeps memory
// small and makes the Redis version a single atomic script.
//
// Memory serves one process; Redis shares budgets between replicas; and
// Failover uses Redis while it answers and the local limiter while it does
// not — never "unlimited".
package ratelimit

import (
	"context"
	"time"

	"example.com/rampart/internal/rampart"
)

// Limit is a budget (see rampart.RateLimit).
type Limit = rampart.RateLimit

// Decision is the outcome for one request (see rampart.RateDecision).
type Decision = rampart.RateDecision

// interval is the time one request uses up.
func interval(l Limit) time.Duration { return l.Per / time.Duration(l.N) }

// Limiter takes one request from key's budget.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Decision, error)
}

// gcra applies one request to the state tat (the theoretical arrival time,
// in nanoseconds; zero for a key never seen) at now, and returns the
// decision and the new state.
func gcra(tat, now int64, l Limit) (Decision, int64) {
	interval, period := int64(interval(l)), int64(l.Per)
	if tat < now {
		tat = now
	}
	next := tat + interval
	if ahead := next - now; ahead > period {
		return Decision{RetryAfter: time.Duration(ahead - period), Reset: time.Duration(tat - now)}, tat
	}
	ahead := next - now
	return Decision{Allowed: true, Remaining: int((period - ahead) / interval), Reset: time.Duration(ahead)}, next
}
