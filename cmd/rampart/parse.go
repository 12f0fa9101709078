package main

// Parsers for the values of configuration variables. Each returns a problem
// written by hand, never an error from the standard library: url.Parse and
// friends quote their input, which may be a secret.

import (
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// defaultDataDir is the per-user XDG data directory, used when
// RAMPART_DATA_DIR is not set. It is deliberately outside the working
// directory, so that running the server from a checkout never drops a
// database or key file into the repo.
func defaultDataDir(env map[string]string) (dir, problem string) {
	// The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
	if x := env["XDG_DATA_HOME"]; filepath.IsAbs(x) {
		return filepath.Join(x, "rampart"), ""
	}
	if h := env["HOME"]; filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "rampart"), ""
	}
	return "", "not set, and neither XDG_DATA_HOME nor HOME is an absolute path to derive it from; set it"
}

// SQLitePath returns the SQLite file to open, or ok=false for another store.
// A relative path is resolved against DataDir, not the working directory:
// the zero-configuration default (sqlite:rampart.db) must not land in
// whatever directory, often a source checkout, the server was started from.
// ":memory:" is returned as is.
func (c Config) SQLitePath() (path string, ok bool) {
	path, ok = strings.CutPrefix(c.DatabaseURL.Reveal(), "sqlite:")
	switch {
	case !ok:
		return "", false
	case path == ":memory:":
		return path, true
	case filepath.IsAbs(path):
		return filepath.Clean(path), true
	}
	return filepath.Join(c.DataDir, path), true
}

func checkDatabaseURL(s string) string {
	if path, ok := strings.CutPrefix(s, "sqlite:"); ok {
		switch {
		case path == "":
			return "sqlite: needs a path, e.g. sqlite:rampart.db"
		case strings.HasPrefix(path, "//"):
			return "write sqlite:PATH (sqlite:/abs/file.db or sqlite:file.db), not a sqlite:// URL"
		case strings.ContainsAny(path, "?\x00"):
			// Connection options (foreign keys, WAL, busy timeout) belong to the
			// store, so an operator cannot switch them off by accident.
			return "a sqlite path must not contain '?' options"
		}
		return ""
	}
	u, msg := parseServiceURL(s, "postgres", "postgresql")
	if msg != "" {
		return "must be sqlite:PATH or postgres://...: " + msg
	}
	switch u.Query().Get("sslmode") {
	case "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
		return ""
	}
	return "sslmode must be disable, allow, prefer, require, verify-ca or verify-full"
}

func checkRedisURL(s string) string {
	u, msg := parseServiceURL(s, "redis", "rediss")
	if msg != "" {
		return "must be redis://HOST:PORT or rediss://HOST:PORT: " + msg
	}
	if u.Hostname() == "" {
		return "must name a host"
	}
	return ""
}

// checkHTTPURL parses an absolute http or https URL, https only in
// production, and returns it or a problem that never quotes v.
func checkHTTPURL(v, env string) (*url.URL, string) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "must be an absolute http or https URL"
	}
	if env == envProduction && u.Scheme != "https" {
		return nil, "must be https in production"
	}
	return u, ""
}

// parseServiceURL parses a URL without ever echoing it: url.Parse errors
// quote the input, which may contain a password.
func parseServiceURL(s string, schemes ...string) (*url.URL, string) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, "not a valid URL"
	}
	if !slices.Contains(schemes, u.Scheme) {
		return nil, "unsupported scheme"
	}
	return u, ""
}

// checkOrigin accepts only what a browser sends in Origin, byte for byte, so
// the CORS check can be a plain string comparison: lowercase scheme://host,
// a port only when it is not the scheme's default, nothing else.
func checkOrigin(o string) string {
	switch {
	case o == "*":
		return "* is not allowed; list each origin"
	case strings.EqualFold(o, "null"):
		return "null is not allowed (sandboxed frames and file: pages send it)"
	case strings.ContainsAny(o, "?#"):
		return "must not have a query or fragment"
	case o != strings.ToLower(o):
		return "must be lowercase, as browsers send it"
	}
	u, err := url.Parse(o)
	switch {
	case err != nil || u.Opaque != "":
		return "must be an exact origin scheme://host[:port]"
	case u.Scheme != "https" && u.Scheme != "http":
		return "scheme must be https (or http outside production)"
	case u.User != nil:
		return "must not contain user info"
	case u.Path != "":
		return "must not have a path, not even a trailing /"
	case !validHost(u.Hostname()):
		return "must have a plain host name or IP address (no wildcards)"
	case (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80"):
		return "must omit the default port, as browsers do"
	}
	return ""
}

func validHost(h string) bool {
	if h == "" {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for _, r := range h {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

func parseProxy(s string) (netip.Prefix, string) {
	var pfx netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		pfx, err = netip.ParsePrefix(s)
		if err != nil {
			return pfx, "not a CIDR such as 10.0.0.0/8"
		}
		if pfx != pfx.Masked() {
			return pfx, "has host bits set; write the network address"
		}
	} else {
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return pfx, "not an IP address or CIDR"
		}
		pfx = netip.PrefixFrom(addr, addr.BitLen())
	}
	if pfx.Bits() == 0 {
		return pfx, "must not trust every address: any client could then forge X-Forwarded-For"
	}
	return pfx, ""
}

func parseRate(s string) (Rate, bool) {
	ns, ds, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, false
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 || n > 1_000_000 {
		return Rate{}, false
	}
	d, err := time.ParseDuration(ds)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return Rate{}, false
	}
	return Rate{N: n, Per: d}, true
}

// splitList splits a comma-separated list, ignoring blanks so that a
// trailing comma is harmless.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// splitListenAddr splits HOST:PORT with a numeric port.
func splitListenAddr(addr string) (host string, port int, ok bool) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, false
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, false
	}
	return host, port, true
}

// shortDuration formats d so that ParseDuration reads it back, without the
// trailing zero units of time.Duration.String ("1m", not "1m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// boolField reads and shows a true/false variable.
func boolField(field func(*Config) *bool) codec {
	return codec{
		set: func(c *Config, v string, bad func(string)) {
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad("must be true or false")
				return
			}
			*field(c) = b
		},
		show: func(c Config) string { return strconv.FormatBool(*field(&c)) },
	}
}

// absPathField reads and shows an absolute path, cleaned; a control
// character in it is refused as well, as it can only be a mistake.
func absPathField(field func(*Config) *string, msg string) codec {
	return codec{
		set: func(c *Config, v string, bad func(string)) {
			if !filepath.IsAbs(v) || strings.ContainsFunc(v, unicode.IsControl) {
				bad(msg)
				return
			}
			*field(c) = filepath.Clean(v)
		},
		show: func(c Config) string { return *field(&c) },
	}
}

// durationField reads and shows a duration within [lo, hi]; msg states the
// bounds to the operator.
func durationField(field func(*Config) *time.Duration, lo, hi time.Duration, msg string) codec {
	return codec{
		set: func(c *Config, v string, bad func(string)) {
			d, err := time.ParseDuration(v)
			if err != nil || d < lo || d > hi {
				bad(msg)
				return
			}
			*field(c) = d
		},
		show: func(c Config) string { return shortDuration(*field(&c)) },
	}
}

// uintField reads and shows a whole number within [lo, hi].
func uintField(field func(*Config) *uint32, lo, hi uint64, msg string) codec {
	return codec{
		set: func(c *Config, v string, bad func(string)) {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n < lo || n > hi {
				bad(msg)
				return
			}
			*field(c) = uint32(n)
		},
		show: func(c Config) string { return strconv.FormatUint(uint64(*field(&c)), 10) },
	}
}

// listenField reads and shows a HOST:PORT listen address.
func listenField(field func(*Config) *string) codec {
	return codec{
		set: func(c *Config, v string, bad func(string)) {
			if _, _, ok := splitListenAddr(v); !ok {
				bad("must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080 or :8080")
				return
			}
			*field(c) = v
		},
		show: func(c Config) string { return *field(&c) },
	}
}

// rateField reads and shows the budget of one route class.
func rateField(class string) codec {
	return codec{
		set: func(c *Config, v string, bad func(string)) {
			r, ok := parseRate(v)
			if !ok {
				bad("must be N/DURATION with N from 1 to 1000000 and DURATION from 1s to 24h, e.g. 600/1m")
				return
			}
			c.Rates[class] = r
		},
		show: func(c Config) string { return c.Rates[class].String() },
	}
}
