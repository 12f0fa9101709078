package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientIPResolver finds the address of the client behind any reverse
// proxies we were told to trust. X-Forwarded-For is believed only when the
// direct peer is a trusted proxy; the list is then walked from the right
// (the hops nearest to us), skipping trusted proxies, and the first address
// that is not a trusted proxy is the client. Anything to the left of it was
// written by the client itself and is never believed.
type clientIPResolver struct {
	trusted []netip.Prefix
}

func (c clientIPResolver) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// resolve returns the client address and whether the client's connection
// reached the edge over TLS (directly, or as a trusted proxy says).
func (c clientIPResolver) resolve(r *http.Request) (netip.Addr, bool) {
	https := r.TLS != nil
	peer := parseHostAddr(r.RemoteAddr)
	if !peer.IsValid() || !c.isTrusted(peer) {
		return peer, https
	}
	if proto := lastListValue(r.Header.Values("X-Forwarded-Proto")); proto != "" {
		https = strings.EqualFold(proto, "https")
	}
	// last is the nearest hop we could vouch for: if the list is malformed,
	// the client is attributed to that hop rather than to a forged value.
	last := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		hops := values[i]
		for hops != "" {
			var hop string
			if j := strings.LastIndexByte(hops, ','); j >= 0 {
				hop, hops = hops[j+1:], hops[:j]
			} else {
				hop, hops = hops, ""
			}
			a := parseHostAddr(strings.TrimSpace(hop))
			if !a.IsValid() {
				return last, https
			}
			if !c.isTrusted(a) {
				return a, https
			}
			last = a
		}
	}
	return last, https
}

// parseHostAddr accepts "ip", "ip:port" and "[ipv6]:port", and unmaps
// IPv4-mapped IPv6 addresses so that one client has one spelling.
func parseHostAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// lastListValue returns the right-most element of a comma-separated header
// that may have been sent on several lines.
func lastListValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if j := strings.LastIndexByte(v, ','); j >= 0 {
		v = v[j+1:]
	}
	return strings.TrimSpace(v)
}
