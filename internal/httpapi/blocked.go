package httpapi

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// SourceBlocks is the edge's view of the automatic block list (package
// blocklist): whether a client address is blocked, and for how much
// longer. It must answer from memory: it runs on every request.
type SourceBlocks interface {
	Check(a netip.Addr) (left time.Duration, blocked bool)
}

// probSourceBlocked answers a request from a source that detection blocked.
var probSourceBlocked = problemKind{http.StatusTooManyRequests, "source-blocked", "Source blocked"}

// refuseBlocked answers a blocked source with 429 and the seconds its block
// has left in Retry-After, before any other work: no body is read, no
// credential checked, no rate-limit budget spent, and no security event
// recorded per refusal (the block itself is one; refusals are counted in
// rampart_source_blocked_requests_total), so a blocked flood costs a map
// lookup and an access line each.
//
// Never refused: a trusted proxy's own address (when its forwarded header
// names no client, blocking it would block everyone behind it), and the
// health probes /healthz and /readyz, which read nothing from the client:
// a load balancer or kubelet probing from an address that shares a source
// with a blocked client (the same node, the same NAT) must not take the
// replica out of service for everyone else.
func refuseBlocked(blocks SourceBlocks, resolver clientIPResolver) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if blocks == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := infoFrom(r.Context())
			if info == nil || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || resolver.isTrusted(info.clientIP) {
				next.ServeHTTP(w, r)
				return
			}
			left, blocked := blocks.Check(info.clientIP)
			if !blocked {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(left.Seconds())))))
			writeProblem(w, r, probSourceBlocked, "requests from this address are refused for a while; retry later", nil)
		})
	}
}
