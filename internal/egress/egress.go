// Package egress is the one door out of the process. Every outbound
// connection (PostgreSQL, Redis, and later the alert webhook and mail) is
// dialed by a Dialer that admits only the destinations on its allowlist: the
// ones the configuration itself names plus RAMPART_EGRESS_ALLOW. Anything
// else is refused before a packet leaves, counted, and recorded as a
// security event, so that a server-side request forgery, a poisoned
// configuration or an injected library cannot reach an arbitrary host.
package egress

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
)

// ErrRefused is returned (wrapped, with the destination) for a destination
// that is not on the allowlist.
var ErrRefused = errors.New("egress: destination not on the outbound allowlist (RAMPART_EGRESS_ALLOW)")

// Rule is one allowlist entry: a host name, an address prefix (a bare IP is
// a /32 or /128) or a Unix socket path, and for the first two a port.
type Rule struct {
	Host   string       // a lower-case DNS name; "" for a prefix or a path
	Prefix netip.Prefix // valid for an address entry
	Path   string       // an absolute Unix socket path
	Port   uint16
}

// String is the rule as written in RAMPART_EGRESS_ALLOW, and the
// destination label of rampart_egress_connections_total.
func (r Rule) String() string {
	switch {
	case r.Path != "":
		return "unix:" + r.Path
	case r.Host != "":
		return net.JoinHostPort(r.Host, strconv.Itoa(int(r.Port)))
	case r.Prefix.IsSingleIP():
		return net.JoinHostPort(r.Prefix.Addr().String(), strconv.Itoa(int(r.Port)))
	default:
		return net.JoinHostPort(r.Prefix.String(), strconv.Itoa(int(r.Port)))
	}
}

// IsLoopbackHost reports whether host is "localhost" or a loopback address
// literal. A name that merely resolves to loopback does not count: DNS
// could change its mind.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// ParseRule parses one entry: "host:port", "IP:port", "CIDR:port" or
// "[IPv6 CIDR]:port". The error never repeats the entry: a URL with a
// password pasted into the wrong variable must not reach a log.
func ParseRule(entry string) (Rule, error) {
	host, portText, err := net.SplitHostPort(entry)
	if err != nil {
		return Rule{}, errors.New("must be host:port or CIDR:port")
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return Rule{}, errors.New("the port must be a number from 1 to 65535")
	}
	if pfx, err := netip.ParsePrefix(host); err == nil {
		if pfx != pfx.Masked() {
			return Rule{}, errors.New("the CIDR has bits set past its prefix length")
		}
		return Rule{Prefix: pfx, Port: uint16(port)}, nil
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return Rule{}, errors.New("an address with a zone is not supported")
		}
		return Rule{Prefix: netip.PrefixFrom(addr, addr.BitLen()), Port: uint16(port)}, nil
	}
	name, ok := hostName(host)
	if !ok {
		return Rule{}, errors.New("the host must be a DNS name, an IP address or a CIDR")
	}
	return Rule{Host: name, Port: uint16(port)}, nil
}

// HostRule is the rule for host:port as a configured URL names it: host is
// a name or an IP literal, or an absolute path for a Unix socket (then addr
// is the socket file itself).
func HostRule(host string, port uint16) (Rule, error) {
	if filepath.IsAbs(host) {
		return Rule{Path: filepath.Clean(host)}, nil
	}
	return ParseRule(net.JoinHostPort(host, strconv.Itoa(int(port))))
}

// hostName returns host in the form compared with rules, and whether it is
// a plausible DNS name (letters, digits, hyphens, underscores and dots).
func hostName(host string) (string, bool) {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "" || len(name) > 253 {
		return "", false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || strings.ContainsFunc(label, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) {
			return "", false
		}
	}
	return name, true
}

// Resolver looks names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config is what New needs. Only Rules is required.
type Config struct {
	Rules      []Rule
	Events     rampart.SecurityEvents // optional: each refusal is an EventEgressRefused
	Registerer prometheus.Registerer  // optional: where the counters are registered
	Resolver   Resolver               // optional: net.DefaultResolver
	Timeout    time.Duration          // optional: per dial, DefaultDialTimeout when zero
}

// Outbound time limits of the security baseline (CFG-04): a connection
// within 5 s, an HTTP exchange within 10 s.
const (
	DefaultDialTimeout = 5 * time.Second
	HTTPTimeout        = 10 * time.Second
)

// Dialer dials only allowlisted destinations. It is safe for concurrent use.
type Dialer struct {
	rules    []Rule
	labels   []string
	events   atomic.Pointer[rampart.SecurityEvents]
	resolver Resolver
	net      net.Dialer

	connections *prometheus.CounterVec
	refused     prometheus.Counter

	mu sync.Mutex
	// reached remembers addresses dialed under a host-name rule, so that a
	// later dial of the same IP and port (pgx's cancel request dials the
	// connection's remote address) is admitted under that rule. It is
	// bounded: past maxReached entries the oldest learning is forgotten.
	reached map[netip.AddrPort]int
	order   []netip.AddrPort
}

const maxReached = 256

// New returns a Dialer for cfg. Duplicate rules are merged.
func New(cfg Config) (*Dialer, error) {
	d := &Dialer{resolver: cfg.Resolver, reached: map[netip.AddrPort]int{}}
	d.SetEvents(cfg.Events)
	d.net.Timeout = cmp.Or(cfg.Timeout, DefaultDialTimeout)
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	seen := map[string]bool{}
	for _, r := range cfg.Rules {
		label := r.String()
		if seen[label] {
			continue
		}
		seen[label] = true
		d.rules, d.labels = append(d.rules, r), append(d.labels, label)
	}
	d.connections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rampart_egress_connections_total",
		Help: "Outbound connections established, by allowlist entry.",
	}, []string{"destination"})
	d.refused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rampart_egress_refused_total",
		Help: "Outbound connections refused: the destination is not on the allowlist.",
	})
	for _, label := range d.labels {
		d.connections.WithLabelValues(label) // shown at 0 from the start
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{d.connections, d.refused} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("egress: register metrics: %w", err)
			}
		}
	}
	return d, nil
}

// SetEvents makes events receive the refusals from now on (nil: none).
// The composition root builds the event stream after the store, whose
// connections already go through this Dialer.
func (d *Dialer) SetEvents(events rampart.SecurityEvents) {
	if events == nil {
		d.events.Store(nil)
		return
	}
	d.events.Store(&events)
}

// Rules returns the allowlist as entries, for `config check` and logs.
func (d *Dialer) Rules() []string { return append([]string(nil), d.labels...) }

// DialContext connects to addr on network ("tcp", "tcp4", "tcp6" or
// "unix") when the allowlist admits it, and refuses it otherwise. A name is
// resolved once, here; each resolved address is checked and the checked
// address itself is dialed, so DNS cannot answer differently between the
// check and the connection.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "unix":
		return d.dialUnix(ctx, addr)
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, d.refuse(ctx, network+" "+addr)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("egress: %q is not host:port", addr)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("egress: %q has no numeric port", addr)
	}

	var candidates []netip.Addr
	byName := -1 // the host-name rule that admits every address of host
	if ip, err := netip.ParseAddr(host); err == nil {
		candidates = []netip.Addr{ip.Unmap()}
	} else {
		name, ok := hostName(host)
		if !ok {
			return nil, d.refuse(ctx, addr)
		}
		byName = d.nameRule(name, uint16(port))
		if byName < 0 && !d.anyPrefixRule(uint16(port)) {
			return nil, d.refuse(ctx, addr) // nothing could admit it: do not even ask DNS
		}
		ips, err := d.resolver.LookupNetIP(ctx, ipNetwork(network), name) // the name checked is the name resolved
		if err != nil {
			return nil, fmt.Errorf("egress: resolve %s: %w", name, err)
		}
		for _, ip := range ips {
			candidates = append(candidates, ip.Unmap())
		}
	}

	var lastErr error
	admitted := false
	for _, ip := range candidates {
		ap := netip.AddrPortFrom(ip, uint16(port))
		rule := byName
		if rule < 0 {
			rule = d.addrRule(ap)
		}
		if rule < 0 {
			continue
		}
		admitted = true
		conn, err := d.net.DialContext(ctx, network, ap.String())
		if err != nil {
			lastErr = err
			continue
		}
		if byName >= 0 {
			d.remember(ap, byName)
		}
		d.connections.WithLabelValues(d.labels[rule]).Inc()
		return conn, nil
	}
	if !admitted {
		return nil, d.refuse(ctx, addr)
	}
	return nil, lastErr
}

func (d *Dialer) dialUnix(ctx context.Context, path string) (net.Conn, error) {
	clean := filepath.Clean(path)
	for i, r := range d.rules {
		// A rule for a directory admits the PostgreSQL socket inside it
		// (pgx dials DIR/.s.PGSQL.PORT for host=DIR).
		if r.Path != "" && (r.Path == clean || filepath.Dir(clean) == r.Path && strings.HasPrefix(filepath.Base(clean), ".s.PGSQL.")) {
			conn, err := d.net.DialContext(ctx, "unix", clean)
			if err != nil {
				return nil, err
			}
			d.connections.WithLabelValues(d.labels[i]).Inc()
			return conn, nil
		}
	}
	return nil, d.refuse(ctx, "unix:"+clean)
}

func (d *Dialer) nameRule(name string, port uint16) int {
	for i, r := range d.rules {
		if r.Host != "" && r.Host == name && r.Port == port {
			return i
		}
	}
	return -1
}

func (d *Dialer) anyPrefixRule(port uint16) bool {
	for _, r := range d.rules {
		if r.Prefix.IsValid() && r.Port == port {
			return true
		}
	}
	return false
}

// addrRule is the rule admitting ap: a prefix containing it, or a host-name
// rule under which this Dialer has reached it.
func (d *Dialer) addrRule(ap netip.AddrPort) int {
	for i, r := range d.rules {
		if r.Prefix.IsValid() && r.Port == ap.Port() && r.Prefix.Contains(ap.Addr()) {
			return i
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.reached[ap]; ok {
		return i
	}
	return -1
}

func (d *Dialer) remember(ap netip.AddrPort, rule int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.reached[ap]; ok {
		return
	}
	if len(d.order) >= maxReached {
		delete(d.reached, d.order[0])
		d.order = d.order[1:]
	}
	d.reached[ap] = rule
	d.order = append(d.order, ap)
}

// refuse counts and records a refusal. dest is host:port as the caller
// asked for it, never a URL, so it carries no credentials.
func (d *Dialer) refuse(ctx context.Context, dest string) error {
	d.refused.Inc()
	if events := d.events.Load(); events != nil {
		(*events).Record(ctx, rampart.SecurityEvent{Type: rampart.EventEgressRefused, Time: time.Now(), Detail: "egress refused"})
	}
	return fmt.Errorf("%w: %s", ErrRefused, dest)
}

func ipNetwork(network string) string {
	switch network {
	case "tcp4":
		return "ip4"
	case "tcp6":
		return "ip6"
	}
	return "ip"
}

// Transport returns an HTTP transport that dials through d, for the alert
// webhook and mail relays. It ignores HTTP_PROXY and friends: a proxy would
// be the only destination the allowlist sees.
func (d *Dialer) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = d.DialContext
	return t
}

// HTTPClient returns a client for outbound HTTP (the alert webhook): it
// dials through d, gives up after HTTPTimeout, and does not follow
// redirects, which would lead to a destination the caller did not choose
// (the allowlist would refuse an unlisted one, but a listed host could
// still be pointed at another listed path or service). Callers cap the
// size of what they read and validate it.
func (d *Dialer) HTTPClient() *http.Client {
	return &http.Client{
		Transport:     d.Transport(),
		Timeout:       HTTPTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
