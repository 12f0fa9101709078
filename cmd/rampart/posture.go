package main

// The production rules: what RAMPART_ENV=production refuses to start with.
// Each rule is about one variable of the table in config.go (Var; a test
// holds this); loadConfig enforces them in production and `config check`
// prints them in every environment, in the order of postureChecks.

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// postureCheck is one production rule, evaluated on the effective config.
type postureCheck struct {
	Name   string // stable rule name, e.g. "master_key"
	OK     bool
	Detail string // starts with the variable it is about; never contains a secret
	Var    string // the variable the rule is about
}

// postureChecks evaluates every production rule whatever the environment,
// so `rampart config check` can show where a development setup stands.
// loadConfig refuses production when any of them fails.
func (c Config) postureChecks() []postureCheck {
	return []postureCheck{
		c.checkMasterKey(),
		c.checkCORSOrigins(),
		c.checkRefreshCookie(),
		c.checkPprof(),
		c.checkAdminAddr(),
		c.checkDatabaseExplicit(),
		c.checkDatabaseTLS(),
		c.checkRedisTLS(),
		c.checkLogLevel(),
		c.checkMailTransport(),
		c.checkPublicURL(),
	}
}

func (c Config) checkMasterKey() postureCheck {
	pc := postureCheck{Name: "master_key", Var: "RAMPART_MASTER_KEY"}
	if c.MasterKey == "" {
		pc.Detail = "RAMPART_MASTER_KEY: missing; set it (or RAMPART_MASTER_KEY_FILE) to base64 of 32 random bytes"
		return pc
	}
	b, err := decodeMasterKey(c.MasterKey.Reveal())
	if err != nil {
		pc.Detail = "RAMPART_MASTER_KEY: " + err.Error()
		return pc
	}
	if why := weakKey(b); why != "" {
		pc.Detail = "RAMPART_MASTER_KEY: weak: " + why + "; generate one with: head -c 32 /dev/urandom | base64"
		return pc
	}
	pc.OK, pc.Detail = true, "RAMPART_MASTER_KEY: 32 bytes that look random"
	return pc
}

func (c Config) checkCORSOrigins() postureCheck {
	pc := postureCheck{Name: "cors_origins", Var: "RAMPART_CORS_ORIGINS"}
	for i, o := range c.CORSOrigins {
		if msg := checkOrigin(o); msg != "" {
			pc.Detail = fmt.Sprintf("RAMPART_CORS_ORIGINS: entry %d: %s", i+1, msg)
			return pc
		}
		if !strings.HasPrefix(o, "https://") {
			pc.Detail = fmt.Sprintf("RAMPART_CORS_ORIGINS: entry %d: must be https", i+1)
			return pc
		}
	}
	pc.OK, pc.Detail = true, fmt.Sprintf("RAMPART_CORS_ORIGINS: %d exact https origin(s)", len(c.CORSOrigins))
	return pc
}

// checkRefreshCookie: the refresh cookie is only ever sent to, and taken
// from, browsers on RAMPART_CORS_ORIGINS, so cookie mode without origins
// does nothing while claiming to protect refresh tokens.
func (c Config) checkRefreshCookie() postureCheck {
	pc := postureCheck{Name: "refresh_cookie", Var: "RAMPART_REFRESH_COOKIE"}
	switch {
	case !c.RefreshCookie:
		pc.OK, pc.Detail = true, "RAMPART_REFRESH_COOKIE: off"
	case len(c.CORSOrigins) == 0:
		pc.Detail = "RAMPART_REFRESH_COOKIE: on without RAMPART_CORS_ORIGINS; list the browser front end's origins, or turn it off"
	default:
		pc.OK, pc.Detail = true, fmt.Sprintf("RAMPART_REFRESH_COOKIE: on for %d CORS origin(s)", len(c.CORSOrigins))
	}
	return pc
}

// checkPprof keeps profiling off the public listener: it may only run on an
// admin listener that is loopback-only and not the public one.
func (c Config) checkPprof() postureCheck {
	pc := postureCheck{Name: "pprof_admin_loopback", Var: "RAMPART_PPROF"}
	switch {
	case !c.Pprof:
		pc.OK, pc.Detail = true, "RAMPART_PPROF: off"
	case !isLoopbackListen(c.AdminAddr):
		pc.Detail = "RAMPART_PPROF: on while RAMPART_ADMIN_ADDR is not a loopback address; turn it off or bind the admin listener to 127.0.0.1"
	case sameListener(c.AdminAddr, c.Addr):
		pc.Detail = "RAMPART_PPROF: on while RAMPART_ADMIN_ADDR is the public RAMPART_ADDR"
	default:
		pc.OK, pc.Detail = true, "RAMPART_PPROF: on, admin listener is loopback only"
	}
	return pc
}

func (c Config) checkAdminAddr() postureCheck {
	pc := postureCheck{Name: "admin_addr_separate", Var: "RAMPART_ADMIN_ADDR"}
	if sameListener(c.AdminAddr, c.Addr) {
		pc.Detail = "RAMPART_ADMIN_ADDR: must differ from RAMPART_ADDR, so metrics and admin routes are not public"
		return pc
	}
	pc.OK, pc.Detail = true, "RAMPART_ADMIN_ADDR: separate from RAMPART_ADDR"
	return pc
}

func (c Config) checkDatabaseExplicit() postureCheck {
	pc := postureCheck{Name: "database_explicit", Var: "RAMPART_DATABASE_URL"}
	if !c.DatabaseExplicit {
		pc.Detail = "RAMPART_DATABASE_URL: not set; production does not use the default SQLite file, set it explicitly"
		return pc
	}
	pc.OK, pc.Detail = true, "RAMPART_DATABASE_URL: set explicitly"
	return pc
}

// checkDatabaseTLS: a remote PostgreSQL must be reached with verify-full;
// anything weaker allows a man in the middle to read credentials and data.
func (c Config) checkDatabaseTLS() postureCheck {
	pc := postureCheck{Name: "database_tls", Var: "RAMPART_DATABASE_URL"}
	if _, isSQLite := c.SQLitePath(); isSQLite {
		pc.OK, pc.Detail = true, "RAMPART_DATABASE_URL: SQLite, no network"
		return pc
	}
	u, msg := parseServiceURL(c.DatabaseURL.Reveal(), "postgres", "postgresql")
	switch {
	case msg != "":
		pc.Detail = "RAMPART_DATABASE_URL: " + msg
	case u.Query().Get("sslmode") == "verify-full":
		pc.OK, pc.Detail = true, "RAMPART_DATABASE_URL: sslmode=verify-full"
	case allLocal(postgresHosts(u)):
		pc.OK, pc.Detail = true, "RAMPART_DATABASE_URL: loopback or unix socket"
	default:
		pc.Detail = "RAMPART_DATABASE_URL: a non-local PostgreSQL host needs sslmode=verify-full"
	}
	return pc
}

func (c Config) checkRedisTLS() postureCheck {
	pc := postureCheck{Name: "redis_tls", Var: "RAMPART_REDIS_URL"}
	if c.RedisURL == "" {
		pc.OK, pc.Detail = true, "RAMPART_REDIS_URL: not used"
		return pc
	}
	u, msg := parseServiceURL(c.RedisURL.Reveal(), "redis", "rediss")
	switch {
	case msg != "":
		pc.Detail = "RAMPART_REDIS_URL: " + msg
	case u.Scheme == "rediss":
		pc.OK, pc.Detail = true, "RAMPART_REDIS_URL: TLS (rediss://)"
	case isLoopbackHost(u.Hostname()):
		pc.OK, pc.Detail = true, "RAMPART_REDIS_URL: loopback"
	default:
		pc.Detail = "RAMPART_REDIS_URL: a non-loopback Redis needs rediss:// (TLS)"
	}
	return pc
}

// checkLogLevel: debug logging is a debug surface (CFG-01) and the level at
// which the most request detail is written.
func (c Config) checkLogLevel() postureCheck {
	pc := postureCheck{Name: "log_level", Var: "RAMPART_LOG_LEVEL"}
	if c.LogLevel < slog.LevelInfo {
		pc.Detail = "RAMPART_LOG_LEVEL: debug is not allowed in production"
		return pc
	}
	pc.OK, pc.Detail = true, "RAMPART_LOG_LEVEL: "+strings.ToLower(c.LogLevel.String())
	return pc
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
		if !strings.HasPrefix(h, "/") && !isLoopbackHost(h) {
			return false
		}
	}
	return true
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(h)
	return err == nil && addr.IsLoopback()
}

func isLoopbackListen(addr string) bool {
	host, _, ok := splitListenAddr(addr)
	return ok && isLoopbackHost(host)
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
