package httpapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"example.com/rampart/internal/rampart"
)

// RateLimiter takes one request from a key's budget. Package ratelimit
// implements it in memory, in Redis, and as a Redis-with-local-fallback.
type RateLimiter interface {
	Allow(ctx context.Context, key string, l rampart.RateLimit) (rampart.RateDecision, error)
}

// Route classes: each route belongs to one, and each class has its own
// budget (RAMPART_RATE_<CLASS>) and its own key.
const (
	classPublic = "PUBLIC" // anonymous reads: per client address
	classAuth   = "AUTH"   // sign-in and token routes: per client address
	classSignup = "SIGNUP" // account creation: per client address
	classAPI    = "API"    // authenticated routes: per user or API key, and per tenant
)

// tenantCeilingFactor sets the tenant-wide API budget as a multiple of the
// per-principal one, so that one tenant's many users or keys cannot take
// the whole server.
const tenantCeilingFactor = 10

// RateLimits configures the limiter; a nil Limiter turns limits off (tests).
type RateLimits struct {
	Limiter RateLimiter
	Budgets map[string]rampart.RateLimit // by class
}

// rateLimit spends one request of the route class's budget. Anonymous
// classes are keyed by client address (IPv6 by /64); the API class runs
// after authentication and is keyed by the principal, with a tenant-wide
// ceiling on top. Limited routes always carry RateLimit-Policy and
// RateLimit; a refusal is 429 with Retry-After.
func rateLimit(class string, limits RateLimits, logger *slog.Logger) func(http.Handler) http.Handler {
	budget, ok := limits.Budgets[class]
	if limits.Limiter == nil || !ok {
		return func(next http.Handler) http.Handler { return next }
	}
	policy := strconv.Quote(strings.ToLower(class)) + ";q=" + strconv.Itoa(budget.N) +
		";w=" + strconv.Itoa(int(math.Ceil(budget.Per.Seconds())))
	tenantBudget := rampart.RateLimit{N: budget.N * tenantCeilingFactor, Per: budget.Per}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			var key string
			if class == classAPI {
				p := principalFrom(ctx)
				key = class + ":principal:" + p.UserID + p.APIKeyID
			} else {
				key = class + ":ip:" + ipKey(ClientIP(ctx))
			}
			d, err := limits.Limiter.Allow(ctx, key, budget)
			if err == nil && d.Allowed && class == classAPI {
				var td rampart.RateDecision
				td, err = limits.Limiter.Allow(ctx, class+":tenant:"+principalFrom(ctx).TenantID, tenantBudget)
				if err == nil && !td.Allowed {
					d = td
				}
			}
			if err == nil {
				h := w.Header()
				h.Set("RateLimit-Policy", policy)
				h.Set("RateLimit", strconv.Quote(strings.ToLower(class))+";r="+strconv.Itoa(d.Remaining)+
					";t="+strconv.Itoa(int(math.Ceil(d.Reset.Seconds()))))
			}
			if limitRefused(w, r, logger, d, err, "the rate limit for this kind of request is exhausted; retry later") {
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// limitRefused answers a request the limiter did not let through and
// reports whether it answered: 503 when there is no decision (fail closed:
// no decision means no request), 429 with Retry-After and detail when the
// budget is spent. Every budget answers alike, so none tells more.
func limitRefused(w http.ResponseWriter, r *http.Request, logger *slog.Logger, d rampart.RateDecision, err error, detail string) bool {
	if err != nil {
		writeError(w, r, logger, rampart.WrapError(rampart.KindUnavailable, err, "rate limiter unavailable"))
		return true
	}
	if !d.Allowed {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.RetryAfter.Seconds())))))
		writeProblem(w, r, probRateLimited, detail, nil)
		return true
	}
	return false
}

// ipKey is the rate-limit key of a client address. IPv6 clients are
// grouped by /64, the block one subscriber usually gets, so walking through
// the addresses of one's own block does not multiply the budget.
func ipKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
