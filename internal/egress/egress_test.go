package egress_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/egress"
	"example.com/rampart/internal/rampart"
)

// recorder keeps the security events a Dialer records.
type recorder struct {
	mu     sync.Mutex
	events []rampart.SecurityEvent
}

func (r *recorder) Record(_ context.Context, e rampart.SecurityEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []rampart.SecurityEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rampart.SecurityEvent(nil), r.events...)
}

// fakeResolver answers from a table and counts the lookups.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]netip.Addr
	lookups int
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if a, ok := f.answers[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// listen accepts connections on a loopback address until t ends, counting
// them. addr "127.0.0.1:0" picks a port.
func listen(t *testing.T, addr string) (net.Listener, *int64) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var accepted int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			c.Close()
		}
	}()
	return ln, &accepted
}

func port(t *testing.T, ln net.Listener) int {
	t.Helper()
	return ln.Addr().(*net.TCPAddr).Port
}

func rules(t *testing.T, entries ...string) []egress.Rule {
	t.Helper()
	var out []egress.Rule
	for _, e := range entries {
		r, err := egress.ParseRule(e)
		if err != nil {
			t.Fatalf("ParseRule(%q): %v", e, err)
		}
		out = append(out, r)
	}
	return out
}

func newDialer(t *testing.T, cfg egress.Config) (*egress.Dialer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	d, err := egress.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, reg
}

func connections(t *testing.T, reg *prometheus.Registry, destination string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "rampart_egress_connections_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "destination" && l.GetValue() == destination {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1 // no such series: the label set holds only allowlist entries
}

func refused(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "rampart_egress_refused_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}

// An unlisted loopback port is refused before any connection is made,
// counted, and recorded as a security event that carries no destination
// secret; the listed port next to it works and is counted under its entry.
func TestUnlistedPortRefusedCountedRecorded(t *testing.T) {
	allowed, _ := listen(t, "127.0.0.1:0")
	unlisted, accepted := listen(t, "127.0.0.1:0")
	events := &recorder{}
	entry := "127.0.0.1:" + strconv.Itoa(port(t, allowed))
	d, reg := newDialer(t, egress.Config{Rules: rules(t, entry), Events: events})

	conn, err := d.DialContext(t.Context(), "tcp", allowed.Addr().String())
	if err != nil {
		t.Fatalf("listed destination: %v", err)
	}
	conn.Close()
	if got := connections(t, reg, entry); got != 1 {
		t.Errorf("connections{destination=%q} = %v, want 1", entry, got)
	}

	target := unlisted.Addr().String()
	conn, err = d.DialContext(t.Context(), "tcp", target)
	if err == nil {
		conn.Close()
		t.Fatalf("dial of unlisted %s succeeded", target)
	}
	if !errors.Is(err, egress.ErrRefused) {
		t.Fatalf("dial of unlisted %s: %v, want ErrRefused", target, err)
	}
	if got := refused(t, reg); got != 1 {
		t.Errorf("rampart_egress_refused_total = %v, want 1", got)
	}
	if got := connections(t, reg, target); got != -1 {
		t.Errorf("an unlisted destination got its own series (%v): the label set must stay the allowlist", got)
	}
	got := events.all()
	if len(got) != 1 || got[0].Type != rampart.EventEgressRefused || got[0].Detail != "egress refused" || got[0].Time.IsZero() {
		t.Fatalf("events = %+v, want one egress_refused with Detail \"egress refused\"", got)
	}
	// The refusal happened before connecting: a second, allowed dial
	// proves the accept loop runs, and the unlisted listener saw nothing.
	conn, err = d.DialContext(t.Context(), "tcp", allowed.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if *accepted != 0 {
		t.Errorf("the unlisted listener accepted %d connections", *accepted)
	}
	if _, err := d.DialContext(t.Context(), "udp", allowed.Addr().String()); !errors.Is(err, egress.ErrRefused) {
		t.Errorf("udp to a tcp entry: %v, want ErrRefused", err)
	}
}

// A CIDR entry admits an address inside it and refuses one just outside,
// on the same port, even though something listens there too.
func TestCIDREntry(t *testing.T) {
	inside, _ := listen(t, "127.0.0.1:0")
	p := strconv.Itoa(port(t, inside))
	outside, err := net.Listen("tcp", "127.0.0.2:"+p) // Linux answers on all of 127/8
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 here: %v", err)
	}
	outside.Close()
	listen(t, "127.0.0.2:"+p)

	entry := "127.0.0.0/31:" + p // 127.0.0.0 and 127.0.0.1
	d, reg := newDialer(t, egress.Config{Rules: rules(t, entry)})
	conn, err := d.DialContext(t.Context(), "tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatalf("127.0.0.1 is in %s: %v", entry, err)
	}
	conn.Close()
	if got := connections(t, reg, entry); got != 1 {
		t.Errorf("connections{destination=%q} = %v, want 1", entry, got)
	}
	if conn, err := d.DialContext(t.Context(), "tcp", "127.0.0.2:"+p); !errors.Is(err, egress.ErrRefused) {
		if err == nil {
			conn.Close()
		}
		t.Fatalf("127.0.0.2 is outside %s: %v, want ErrRefused", entry, err)
	}
	if conn, err := d.DialContext(t.Context(), "tcp", "[::ffff:127.0.0.2]:"+p); !errors.Is(err, egress.ErrRefused) {
		if err == nil {
			conn.Close()
		}
		t.Fatalf("an IPv4-mapped 127.0.0.2 is outside %s too: %v, want ErrRefused", entry, err)
	}
}

// A name that no entry lists is admitted only when every address it is
// dialed at is in a CIDR entry: a name resolving to a disallowed address is
// refused, a name that resolves to an allowed and a disallowed address
// reaches the allowed one, and the name is looked up once per dial (what is
// checked is what is dialed).
func TestNameResolution(t *testing.T) {
	ln, _ := listen(t, "127.0.0.1:0")
	p := strconv.Itoa(port(t, ln))
	res := &fakeResolver{answers: map[string][]netip.Addr{
		"evil.example.test":  {netip.MustParseAddr("127.0.0.2")},
		"mixed.example.test": {netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")},
		"named.example.test": {netip.MustParseAddr("127.0.0.1")},
	}}
	events := &recorder{}
	d, reg := newDialer(t, egress.Config{Rules: rules(t, "127.0.0.1/32:"+p, "named.example.test:"+p), Events: events, Resolver: res})

	if conn, err := d.DialContext(t.Context(), "tcp", "evil.example.test:"+p); !errors.Is(err, egress.ErrRefused) {
		if err == nil {
			conn.Close()
		}
		t.Fatalf("a name resolving to 127.0.0.2: %v, want ErrRefused", err)
	}
	if len(events.all()) != 1 {
		t.Errorf("%d events, want 1", len(events.all()))
	}

	before := res.lookups
	conn, err := d.DialContext(t.Context(), "tcp", "mixed.example.test:"+p)
	if err != nil {
		t.Fatalf("mixed.example.test has an allowed address: %v", err)
	}
	if remote := conn.RemoteAddr().String(); remote != "127.0.0.1:"+p {
		t.Errorf("dialed %s, want the checked 127.0.0.1:%s", remote, p)
	}
	conn.Close()
	if res.lookups != before+1 {
		t.Errorf("%d lookups for one dial, want 1", res.lookups-before)
	}
	if got := connections(t, reg, "127.0.0.1:"+p); got != 1 {
		t.Errorf("connections under the address entry = %v, want 1", got)
	}

	// A listed name is admitted by name, and counted under it.
	conn, err = d.DialContext(t.Context(), "tcp", "Named.Example.Test.:"+p)
	if err != nil {
		t.Fatalf("listed name: %v", err)
	}
	conn.Close()
	if got := connections(t, reg, "named.example.test:"+p); got != 1 {
		t.Errorf("connections under the name entry = %v, want 1", got)
	}
	// The listed name on another port is not listed.
	if _, err := d.DialContext(t.Context(), "tcp", "named.example.test:1"); !errors.Is(err, egress.ErrRefused) {
		t.Errorf("listed name, other port: %v, want ErrRefused", err)
	}
}

// An address reached under a listed name can be dialed again by address
// (pgx's cancel request dials the connection's remote address); an address
// never reached that way cannot.
func TestAddressReachedByName(t *testing.T) {
	ln, _ := listen(t, "127.0.0.1:0")
	p := strconv.Itoa(port(t, ln))
	res := &fakeResolver{answers: map[string][]netip.Addr{"db.example.test": {netip.MustParseAddr("127.0.0.1")}}}
	d, _ := newDialer(t, egress.Config{Rules: rules(t, "db.example.test:"+p), Resolver: res})
	if _, err := d.DialContext(t.Context(), "tcp", "127.0.0.1:"+p); !errors.Is(err, egress.ErrRefused) {
		t.Fatalf("address before the name was dialed: %v, want ErrRefused", err)
	}
	conn, err := d.DialContext(t.Context(), "tcp", "db.example.test:"+p)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	conn, err = d.DialContext(t.Context(), "tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatalf("address reached under the name: %v", err)
	}
	conn.Close()
}

func TestParseRule(t *testing.T) {
	good := map[string]string{
		"hooks.example:443":  "hooks.example:443",
		"HOOKS.example.:443": "hooks.example:443",
		"10.0.8.0/24:587":    "10.0.8.0/24:587",
		"10.0.8.1:587":       "10.0.8.1:587",
		"[fd00::/64]:443":    "[fd00::/64]:443",
		"[::1]:6379":         "[::1]:6379",
	}
	for in, want := range good {
		r, err := egress.ParseRule(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseRule(%q) = %q, %v; want %q", in, r.String(), err, want)
		}
	}
	for _, in := range []string{"hooks.example", "hooks.example:0", "hooks.example:65536", "10.0.8.1/24:587",
		"https://user:secret@hooks.example:443", "bad host:80", ":443", "[fe80::1%eth0]:443"} {
		r, err := egress.ParseRule(in)
		if err == nil {
			t.Errorf("ParseRule(%q) = %v, want an error", in, r)
			continue
		}
		if in == "https://user:secret@hooks.example:443" && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "user")) {
			t.Errorf("the error repeats the entry: %v", err)
		}
	}
}

// The HTTP transport for the webhook and mail dials through the Dialer: a
// listed server answers, an unlisted one is refused (and recorded, with
// events set after construction).
func TestTransport(t *testing.T) {
	listed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer listed.Close()
	unlisted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer unlisted.Close()

	d, _ := newDialer(t, egress.Config{Rules: rules(t, strings.TrimPrefix(listed.URL, "http://"))})
	events := &recorder{}
	d.SetEvents(events)
	client := &http.Client{Transport: d.Transport()}
	resp, err := client.Get(listed.URL)
	if err != nil {
		t.Fatalf("listed: %v", err)
	}
	resp.Body.Close()
	if resp, err := client.Get(unlisted.URL); !errors.Is(err, egress.ErrRefused) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("unlisted: %v, want ErrRefused", err)
	}
	if len(events.all()) != 1 {
		t.Errorf("%d events, want 1", len(events.all()))
	}
}

// The outbound HTTP client does not follow a redirect, even to a listed
// destination: the caller gets the 3xx and decides.
func TestHTTPClientDoesNotFollowRedirects(t *testing.T) {
	var followed int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed++
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	d, _ := newDialer(t, egress.Config{Rules: rules(t, strings.TrimPrefix(srv.URL, "http://"))})
	resp, err := d.HTTPClient().Get(srv.URL + "/hook")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || followed != 0 {
		t.Errorf("status %d, %d requests followed the redirect; want 302 and none", resp.StatusCode, followed)
	}
}
