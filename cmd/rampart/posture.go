package main

// The production rules: what RAMPART_ENV=production refuses to start with.
// Each rule is about one variable of the table in config.go (Var; a test
// holds this); loadConfig enforces them in production and `config check`
// prints them in every environment, in the order of postureRules.

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"example.com/rampart/internal/egress"
)

// postureCheck is one production rule, evaluated on the effective config.
type postureCheck struct {
	Name   string // stable rule name, e.g. "master_key"
	OK     bool
	Detail string // starts with the variable it is about; never contains a secret
	Var    string // the variable the rule is about
}

// postureRules are the production rules in the order they are printed: a
// stable name, the variable the rule is about, and the check, which tells
// whether the config passes and why (the detail, without the variable).
var postureRules = []struct {
	name, variable string
	check          func(Config) (ok bool, detail string)
}{
	{"master_key", "RAMPART_MASTER_KEY", Config.checkMasterKey},
	{"cors_origins", "RAMPART_CORS_ORIGINS", Config.checkCORSOrigins},
	{"refresh_cookie", "RAMPART_REFRESH_COOKIE", Config.checkRefreshCookie},
	{"pprof_admin_loopback", "RAMPART_PPROF", Config.checkPprof},
	{"admin_addr_separate", "RAMPART_ADMIN_ADDR", Config.checkAdminAddr},
	{"database_explicit", "RAMPART_DATABASE_URL", Config.checkDatabaseExplicit},
	{"database_tls", "RAMPART_DATABASE_URL", Config.checkDatabaseTLS},
	{"redis_tls", "RAMPART_REDIS_URL", Config.checkRedisTLS},
	{"log_level", "RAMPART_LOG_LEVEL", Config.checkLogLevel},
	{"mail_transport", "RAMPART_SMTP_URL", Config.checkMailTransport},
	{"public_url", "RAMPART_PUBLIC_URL", Config.checkPublicURL},
	{"signup_mail", "RAMPART_SIGNUP", Config.checkSignupMail},
}

// postureChecks evaluates every production rule whatever the environment,
// so `rampart config check` can show where a development setup stands.
// loadConfig refuses production when any of them fails.
func (c Config) postureChecks() []postureCheck {
	checks := make([]postureCheck, 0, len(postureRules))
	for _, r := range postureRules {
		ok, detail := r.check(c)
		checks = append(checks, postureCheck{Name: r.name, OK: ok, Detail: r.variable + ": " + detail, Var: r.variable})
	}
	return checks
}

func (c Config) checkMasterKey() (bool, string) {
	if c.MasterKey == "" {
		return false, "missing; set it (or RAMPART_MASTER_KEY_FILE) to base64 of 32 random bytes"
	}
	b, err := decodeMasterKey(c.MasterKey.Reveal())
	if err != nil {
		return false, err.Error()
	}
	if why := weakKey(b); why != "" {
		return false, "weak: " + why + "; generate one with: head -c 32 /dev/urandom | base64"
	}
	return true, "32 bytes that look random"
}

func (c Config) checkCORSOrigins() (bool, string) {
	for i, o := range c.CORSOrigins {
		if msg := checkOrigin(o); msg != "" {
			return false, fmt.Sprintf("entry %d: %s", i+1, msg)
		}
		if !strings.HasPrefix(o, "https://") {
			return false, fmt.Sprintf("entry %d: must be https", i+1)
		}
	}
	return true, fmt.Sprintf("%d exact https origin(s)", len(c.CORSOrigins))
}

// checkRefreshCookie: the refresh cookie is only ever sent to, and taken
// from, browsers on RAMPART_CORS_ORIGINS, so cookie mode without origins
// does nothing while claiming to protect refresh tokens.
func (c Config) checkRefreshCookie() (bool, string) {
	switch {
	case !c.RefreshCookie:
		return true, "off"
	case len(c.CORSOrigins) == 0:
		return false, "on without RAMPART_CORS_ORIGINS; list the browser front end's origins, or turn it off"
	}
	return true, fmt.Sprintf("on for %d CORS origin(s)", len(c.CORSOrigins))
}

// checkPprof keeps profiling off the public listener: it may only run on an
// admin listener that is loopback-only and not the public one.
func (c Config) checkPprof() (bool, string) {
	switch {
	case !c.Pprof:
		return true, "off"
	case !isLoopbackListen(c.AdminAddr):
		return false, "on while RAMPART_ADMIN_ADDR is not a loopback address; turn it off or bind the admin listener to 127.0.0.1"
	case sameListener(c.AdminAddr, c.Addr):
		return false, "on while RAMPART_ADMIN_ADDR is the public RAMPART_ADDR"
	}
	return true, "on, admin listener is loopback only"
}

func (c Config) checkAdminAddr() (bool, string) {
	if sameListener(c.AdminAddr, c.Addr) {
		return false, "must differ from RAMPART_ADDR, so metrics and admin routes are not public"
	}
	return true, "separate from RAMPART_ADDR"
}

func (c Config) checkDatabaseExplicit() (bool, string) {
	if !c.DatabaseExplicit {
		return false, "not set; production does not use the default SQLite file, set it explicitly"
	}
	return true, "set explicitly"
}

// checkDatabaseTLS: a remote PostgreSQL must be reached with verify-full;
// anything weaker allows a man in the middle to read credentials and data.
func (c Config) checkDatabaseTLS() (bool, string) {
	if _, isSQLite := c.SQLitePath(); isSQLite {
		return true, "SQLite, no network"
	}
	u, msg := parseServiceURL(c.DatabaseURL.Reveal(), "postgres", "postgresql")
	switch {
	case msg != "":
		return false, msg
	case u.Query().Get("sslmode") == "verify-full":
		return true, "sslmode=verify-full"
	case allLocal(postgresHosts(u)):
		return true, "loopback or unix socket"
	}
	return false, "a non-local PostgreSQL host needs sslmode=verify-full"
}

func (c Config) checkRedisTLS() (bool, string) {
	if c.RedisURL == "" {
		return true, "not used"
	}
	u, msg := parseServiceURL(c.RedisURL.Reveal(), "redis", "rediss")
	switch {
	case msg != "":
		return false, msg
	case u.Scheme == "rediss":
		return true, "TLS (rediss://)"
	case egress.IsLoopbackHost(u.Hostname()):
		return true, "loopback"
	}
	return false, "a non-loopback Redis needs rediss:// (TLS)"
}

// checkLogLevel: debug logging is a debug surface (CFG-01) and the level at
// which the most request detail is written.
func (c Config) checkLogLevel() (bool, string) {
	if c.LogLevel < slog.LevelInfo {
		return false, "debug is not allowed in production"
	}
	return true, strings.ToLower(c.LogLevel.String())
}

// postgresHosts returns the hosts a postgres URL connects to: the host
// query parameter wins over the authority, as in libpq and pgx. Both may
// list several hosts separated by commas.
func postgresHosts(u *url.URL) []string {
	if h := u.Query().Get("host"); h != "" {
		return strings.Split(h, ",")
	}
	var hosts []string
	for _, hp := range splitList(u.Host) {
		if h, _, err := net.SplitHostPort(hp); err == nil {
			hp = h
		}
		hosts = append(hosts, strings.Trim(hp, "[]"))
	}
	return hosts
}

// allLocal reports whether every host is loopback or a unix socket
// directory. No host at all means the driver's default unix socket.
func allLocal(hosts []string) bool {
	for _, h := range hosts {
		if !strings.HasPrefix(h, "/") && !egress.IsLoopbackHost(h) {
			return false
		}
	}
	return true
}

func isLoopbackListen(addr string) bool {
	host, _, ok := splitListenAddr(addr)
	return ok && egress.IsLoopbackHost(host)
}

// sameListener reports whether two listen addresses would be the same
// socket: the same port on the same host, or on a wildcard host that covers
// the other. Port 0 picks a fresh port each time, so it never collides.
func sameListener(a, b string) bool {
	ah, ap, aok := splitListenAddr(a)
	bh, bp, bok := splitListenAddr(b)
	if !aok || !bok {
		return a == b
	}
	if ap != bp || ap == 0 {
		return false
	}
	norm := func(h string) string {
		if strings.EqualFold(h, "localhost") {
			return "127.0.0.1"
		}
		return h
	}
	return norm(ah) == norm(bh) || isWildcardHost(ah) || isWildcardHost(bh)
}

func isWildcardHost(h string) bool {
	if h == "" {
		return true
	}
	addr, err := netip.ParseAddr(h)
	return err == nil && addr.IsUnspecified()
}
