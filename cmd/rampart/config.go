package main

// Configuration comes only from the environment (RAMPART_*), plus NAME_FILE
// for secrets so they can be mounted from /run/secrets instead of sitting in
// the process environment. loadConfig validates everything up front and
// reports every problem at once, naming the variable but never its value:
// an operator fixes a deployment in one round, and a secret pasted into the
// wrong variable does not end up in a CI log.

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
)

// Config is the effective configuration. See api.md, "Configuration".
type Config struct {
	Env               string          // RAMPART_ENV: development (default) | test | production
	Addr              string          // RAMPART_ADDR, default 127.0.0.1:8080
	AdminAddr         string          // RAMPART_ADMIN_ADDR, default 127.0.0.1:9090
	DatabaseURL       Secret          // RAMPART_DATABASE_URL(_FILE): sqlite:PATH (default sqlite:rampart.db) or postgres://...
	DatabaseExplicit  bool            // the operator set RAMPART_DATABASE_URL(_FILE)
	RedisURL          Secret          // RAMPART_REDIS_URL(_FILE), optional: redis:// or rediss://
	RedisPrefix       string          // RAMPART_REDIS_PREFIX, default "rampart:": lets deployments share one Redis
	CORSOrigins       []string        // RAMPART_CORS_ORIGINS: exact origins scheme://host[:port]
	TrustedProxies    []netip.Prefix  // RAMPART_TRUSTED_PROXIES: CIDRs; a bare IP means /32 or /128
	PasswordMinLength int             // RAMPART_PASSWORD_MIN_LENGTH, default 15, 8..128
	Argon2            password.Params // RAMPART_ARGON2_MEMORY (KiB) and RAMPART_ARGON2_TIME; never below password.DefaultParams
	Rates             map[string]Rate // keyed by route class: "AUTH", "SIGNUP", "API", "PUBLIC" (RAMPART_RATE_<CLASS>)
	MaxBodyBytes      int64           // RAMPART_MAX_BODY_BYTES, default 100 KiB, 1 KiB..10 MiB
	MasterKey         Secret          // RAMPART_MASTER_KEY(_FILE): base64 of 32 random bytes; see decodeMasterKey
	DataDir           string          // RAMPART_DATA_DIR, absolute; default $XDG_DATA_HOME/rampart or $HOME/.local/share/rampart
	AutoMigrate       bool            // RAMPART_AUTO_MIGRATE; default true in development/test, false in production
	Pprof             bool            // RAMPART_PPROF: net/http/pprof on the ADMIN listener only
	RefreshCookie     bool            // RAMPART_REFRESH_COOKIE: browsers on CORS origins get the refresh token as a __Host- cookie
	LogLevel          slog.Level      // RAMPART_LOG_LEVEL: debug|info|warn|error, default info
	ShutdownTimeout   time.Duration   // RAMPART_SHUTDOWN_TIMEOUT, default 15s, 1s..5m
	StartupTimeout    time.Duration   // RAMPART_STARTUP_TIMEOUT, default 60s, 1s..1h: how long start-up waits for the database
	StepUpMaxAge      time.Duration   // RAMPART_STEP_UP_MAX_AGE, default 10m, 1s..24h: how recent a password proof ⚑ routes need
	RefreshReuseGrace time.Duration   // RAMPART_REFRESH_REUSE_GRACE, default 0s, 0s..60s: see rampart.Identity.Refresh
	// AuditCheckpointPath (RAMPART_AUDIT_CHECKPOINT_PATH): an absolute path;
	// audit chain checkpoints are appended to it as JSON lines. Empty: the
	// log stream only.
	AuditCheckpointPath string
}

// Rate is a request budget: N requests per Per.
type Rate struct {
	N   int
	Per time.Duration
}

func (r Rate) String() string { return strconv.Itoa(r.N) + "/" + shortDuration(r.Per) }

// Secret holds a value that must never be printed or logged. Every way of
// rendering it (fmt verbs, slog, JSON, text encoders) yields "REDACTED", or ""
// when it is empty so that "unset" stays visible. Only Reveal returns the value.
//
// fmt honours Format only on exported struct fields and top-level values; do
// not keep a Secret in an unexported field of a struct that may be printed.
type Secret string

const redacted = "REDACTED"

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format makes every fmt verb (%v %s %q %x %d %#v ...) print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	io.WriteString(f, s.String())
}

// LogValue keeps the value out of slog output whatever the attribute key.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText covers encoding/json (as a JSON string), map keys and any other
// encoder that honours encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

const (
	envDevelopment = "development"
	envTest        = "test"
	envProduction  = "production"

	defaultDatabaseURL = "sqlite:rampart.db"
	maxSecretFileBytes = 64 << 10
	masterKeyFileName  = "master.key"
)

// rateClasses lists the route classes in a fixed order, with their
// defaults. Signup is generous outside production: a newcomer whose first
// passwords the policy refuses must not then wait most of an hour (refused
// signups count, as every limited request does: the limit is taken before
// the body is read).
var rateClasses = []struct {
	Class   string
	Default Rate // in production, and elsewhere unless Outside is set
	Outside Rate // the default outside production, when it differs
}{
	{"AUTH", Rate{10, time.Minute}, Rate{}},
	{"SIGNUP", Rate{5, time.Hour}, Rate{100, time.Minute}},
	{"API", Rate{600, time.Minute}, Rate{}},
	{"PUBLIC", Rate{120, time.Minute}, Rate{}},
}

// defaultRate is a class's default in env.
func defaultRate(class string, env string) Rate {
	for _, rc := range rateClasses {
		if rc.Class == class {
			if env != envProduction && rc.Outside.N > 0 {
				return rc.Outside
			}
			return rc.Default
		}
	}
	return Rate{}
}

// secretVars may also be given as NAME_FILE.
var secretVars = []string{"RAMPART_DATABASE_URL", "RAMPART_REDIS_URL", "RAMPART_MASTER_KEY"}

// knownVars is every RAMPART_* variable. Any other name with the prefix is
// reported, because a misspelt name (RAMPART_CORS_ORIGIN) would otherwise be
// ignored silently and the server would start with the default.
var knownVars = func() map[string]bool {
	m := map[string]bool{}
	for _, name := range []string{
		"RAMPART_ENV", "RAMPART_ADDR", "RAMPART_ADMIN_ADDR", "RAMPART_CORS_ORIGINS",
		"RAMPART_TRUSTED_PROXIES", "RAMPART_PASSWORD_MIN_LENGTH", "RAMPART_MAX_BODY_BYTES",
		"RAMPART_DATA_DIR", "RAMPART_AUTO_MIGRATE", "RAMPART_PPROF", "RAMPART_LOG_LEVEL",
		"RAMPART_SHUTDOWN_TIMEOUT", "RAMPART_STARTUP_TIMEOUT", "RAMPART_REDIS_PREFIX", "RAMPART_REFRESH_COOKIE",
		"RAMPART_ARGON2_MEMORY", "RAMPART_ARGON2_TIME", "RAMPART_AUDIT_CHECKPOINT_PATH",
		"RAMPART_STEP_UP_MAX_AGE", "RAMPART_REFRESH_REUSE_GRACE",
	} {
		m[name] = true
	}
	for _, name := range secretVars {
		m[name] = true
		m[name+"_FILE"] = true
	}
	for _, rc := range rateClasses {
		m["RAMPART_RATE_"+rc.Class] = true
	}
	return m
}()

// problems collects configuration errors. Messages are written here, by
// hand, and never include a value: errors from url.Parse and friends quote
// their input, so they are never wrapped.
type problems struct {
	errs  []error
	named map[string]bool // variables that already have a problem
}

func (p *problems) add(name, msg string) {
	p.errs = append(p.errs, errors.New(name+": "+msg))
	if p.named == nil {
		p.named = map[string]bool{}
	}
	p.named[name] = true
}

// loadConfig builds the Config from environ (os.Environ() in main, a literal
// slice in tests). It takes the whole environment rather than a getenv
// function because it must also see the RAMPART_* names it does not know.
// RAMPART_TEST_* variables belong to tests and are ignored. HOME and
// XDG_DATA_HOME are read from environ too, for the default DataDir.
//
// It reads NAME_FILE files but writes nothing (see ensureDevMasterKey). An
// empty variable counts as unset. In production it also enforces
// postureChecks. On error the Config holds what could be parsed, for
// diagnostics such as `rampart config check`; do not serve with it.
func loadConfig(environ []string) (Config, error) {
	var p problems
	env := readEnviron(environ, &p)

	c := Config{
		Env:               envDevelopment,
		Addr:              "127.0.0.1:8080",
		AdminAddr:         "127.0.0.1:9090",
		DatabaseURL:       defaultDatabaseURL,
		PasswordMinLength: 15,
		Argon2:            password.DefaultParams,
		Rates:             map[string]Rate{},
		MaxBodyBytes:      100 << 10,
		LogLevel:          slog.LevelInfo,
		ShutdownTimeout:   15 * time.Second,
		StartupTimeout:    60 * time.Second,
		StepUpMaxAge:      rampart.DefaultIdentityConfig.StepUpMaxAge,
		RefreshReuseGrace: rampart.DefaultIdentityConfig.RefreshGrace,
	}

	if v := env["RAMPART_ENV"]; v != "" {
		switch v {
		case envDevelopment, envTest, envProduction:
			c.Env = v
		default:
			p.add("RAMPART_ENV", "must be development, test or production")
		}
	}

	for _, name := range []string{"RAMPART_ADDR", "RAMPART_ADMIN_ADDR"} {
		v := env[name]
		if v == "" {
			continue
		}
		if _, _, ok := splitListenAddr(v); !ok {
			p.add(name, "must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080 or :8080")
			continue
		}
		if name == "RAMPART_ADDR" {
			c.Addr = v
		} else {
			c.AdminAddr = v
		}
	}

	if v, src := p.secret(env, "RAMPART_DATABASE_URL"); src != "" {
		c.DatabaseURL = Secret(v)
		c.DatabaseExplicit = true
		if msg := checkDatabaseURL(v); msg != "" {
			p.add(src, msg)
		}
	}

	if v, src := p.secret(env, "RAMPART_REDIS_URL"); src != "" {
		c.RedisURL = Secret(v)
		if msg := checkRedisURL(v); msg != "" {
			p.add(src, msg)
		}
	}

	for i, item := range splitList(env["RAMPART_CORS_ORIGINS"]) {
		msg := checkOrigin(item)
		if msg == "" && c.Env == envProduction && !strings.HasPrefix(item, "https://") {
			// Checked here, per entry, as well as in postureChecks: the
			// posture line would be dropped once another entry has a problem.
			msg = "must be https (production rule cors_origins)"
		}
		if msg != "" {
			p.add("RAMPART_CORS_ORIGINS", fmt.Sprintf("entry %d: %s", i+1, msg))
			continue
		}
		c.CORSOrigins = append(c.CORSOrigins, item)
	}

	for i, item := range splitList(env["RAMPART_TRUSTED_PROXIES"]) {
		pfx, msg := parseProxy(item)
		if msg != "" {
			p.add("RAMPART_TRUSTED_PROXIES", fmt.Sprintf("entry %d: %s", i+1, msg))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx)
	}

	if v := env["RAMPART_PASSWORD_MIN_LENGTH"]; v != "" {
		// Below 8 is never acceptable (NIST SP 800-63B-4); above 128 would
		// exceed the maximum length the API accepts.
		n, err := strconv.Atoi(v)
		if err != nil || n < password.MinLengthFloor || n > password.DefaultPolicy.MaxLength {
			p.add("RAMPART_PASSWORD_MIN_LENGTH", fmt.Sprintf("must be a whole number from %d to %d", password.MinLengthFloor, password.DefaultPolicy.MaxLength))
		} else {
			c.PasswordMinLength = n
		}
	}

	// Only raising the cost is possible: Params.Validate refuses anything
	// below OWASP's m=19456 KiB, t=2 (PWD-05). The ceilings keep one login
	// from taking more than ~256 MiB or ~16 passes.
	if v := env["RAMPART_ARGON2_MEMORY"]; v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n < uint64(password.DefaultParams.Memory) || n > password.MaxMemory {
			p.add("RAMPART_ARGON2_MEMORY", fmt.Sprintf("must be a whole number of KiB from %d to %d", password.DefaultParams.Memory, password.MaxMemory))
		} else {
			c.Argon2.Memory = uint32(n)
		}
	}
	if v := env["RAMPART_ARGON2_TIME"]; v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n < uint64(password.DefaultParams.Time) || n > password.MaxTime {
			p.add("RAMPART_ARGON2_TIME", fmt.Sprintf("must be a whole number of passes from %d to %d", password.DefaultParams.Time, password.MaxTime))
		} else {
			c.Argon2.Time = uint32(n)
		}
	}

	for _, rc := range rateClasses {
		name := "RAMPART_RATE_" + rc.Class
		c.Rates[rc.Class] = defaultRate(rc.Class, c.Env)
		if v := env[name]; v != "" {
			r, ok := parseRate(v)
			if !ok {
				p.add(name, "must be N/DURATION with N from 1 to 1000000 and DURATION from 1s to 24h, e.g. 600/1m")
				continue
			}
			c.Rates[rc.Class] = r
		}
	}

	if v := env["RAMPART_MAX_BODY_BYTES"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1<<10 || n > 10<<20 {
			p.add("RAMPART_MAX_BODY_BYTES", "must be a whole number of bytes from 1024 (1 KiB) to 10485760 (10 MiB)")
		} else {
			c.MaxBodyBytes = n
		}
	}

	if v, src := p.secret(env, "RAMPART_MASTER_KEY"); src != "" {
		c.MasterKey = Secret(v)
		if _, err := decodeMasterKey(v); err != nil {
			p.add(src, err.Error()+"; generate one with: head -c 32 /dev/urandom | base64")
		}
	}

	c.DataDir = dataDir(env, &p)

	c.AutoMigrate = c.Env != envProduction // migrations are never implicit in production
	if v := env["RAMPART_AUTO_MIGRATE"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			p.add("RAMPART_AUTO_MIGRATE", "must be true or false")
		} else {
			c.AutoMigrate = b
		}
	}

	if v := env["RAMPART_PPROF"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			p.add("RAMPART_PPROF", "must be true or false")
		} else {
			c.Pprof = b
		}
	}

	if v := env["RAMPART_REFRESH_COOKIE"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			p.add("RAMPART_REFRESH_COOKIE", "must be true or false")
		} else {
			c.RefreshCookie = b
		}
	}

	c.RedisPrefix = "rampart:"
	if v := env["RAMPART_REDIS_PREFIX"]; v != "" {
		if len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) {
			p.add("RAMPART_REDIS_PREFIX", "must be at most 64 printable ASCII characters without spaces")
		} else {
			c.RedisPrefix = v
		}
	}

	if v := env["RAMPART_LOG_LEVEL"]; v != "" {
		switch strings.ToLower(v) {
		case "debug":
			c.LogLevel = slog.LevelDebug
		case "info":
			c.LogLevel = slog.LevelInfo
		case "warn":
			c.LogLevel = slog.LevelWarn
		case "error":
			c.LogLevel = slog.LevelError
		default:
			p.add("RAMPART_LOG_LEVEL", "must be debug, info, warn or error")
		}
	}

	if v := env["RAMPART_SHUTDOWN_TIMEOUT"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 5*time.Minute {
			p.add("RAMPART_SHUTDOWN_TIMEOUT", "must be a duration from 1s to 5m, e.g. 15s")
		} else {
			c.ShutdownTimeout = d
		}
	}
	if v := env["RAMPART_STARTUP_TIMEOUT"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			p.add("RAMPART_STARTUP_TIMEOUT", "must be a duration from 1s to 1h, e.g. 60s")
		} else {
			c.StartupTimeout = d
		}
	}

	if v := env["RAMPART_AUDIT_CHECKPOINT_PATH"]; v != "" {
		if !filepath.IsAbs(v) || strings.ContainsFunc(v, unicode.IsControl) {
			p.add("RAMPART_AUDIT_CHECKPOINT_PATH", "must be an absolute file path")
		} else {
			c.AuditCheckpointPath = filepath.Clean(v)
		}
	}

	for _, d := range []struct {
		name     string
		dst      *time.Duration
		min, max time.Duration
		msg      string
	}{
		{"RAMPART_STEP_UP_MAX_AGE", &c.StepUpMaxAge, time.Second, 24 * time.Hour, "must be a duration from 1s to 24h, e.g. 10m"},
		{"RAMPART_REFRESH_REUSE_GRACE", &c.RefreshReuseGrace, 0, rampart.MaxRefreshGrace, "must be a duration from 0s to 60s, e.g. 0s"},
	} {
		if v := env[d.name]; v != "" {
			if parsed, err := time.ParseDuration(v); err != nil || parsed < d.min || parsed > d.max {
				p.add(d.name, d.msg)
			} else {
				*d.dst = parsed
			}
		}
	}

	if c.Env == envProduction {
		for _, pc := range c.postureChecks() {
			// A variable that failed to parse is already reported; its posture
			// would only repeat the problem, or judge a default in its place.
			if !pc.OK && !p.named[pc.Var] {
				p.errs = append(p.errs, fmt.Errorf("%s (production rule %s)", pc.Detail, pc.Name))
			}
		}
	}

	return c, errors.Join(p.errs...)
}

// readEnviron turns environ into a map of the variables loadConfig reads,
// reporting unknown RAMPART_* names and RAMPART_* names given twice (only
// possible with a hand-built environ; it would be ambiguous which one wins).
func readEnviron(environ []string, p *problems) map[string]string {
	env := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		switch {
		case name == "HOME" || name == "XDG_DATA_HOME":
			if _, dup := env[name]; !dup { // the first one wins, as in os.Getenv
				env[name] = value
			}
		case !strings.HasPrefix(name, "RAMPART_"), strings.HasPrefix(name, "RAMPART_TEST_"):
			// not ours, or a test's
		case !knownVars[name]:
			p.add(name, "unknown variable (misspelt?)")
		default:
			if _, dup := env[name]; dup {
				p.add(name, "set more than once")
				continue
			}
			env[name] = value
		}
	}
	return env
}

// secret returns the value of a secret variable given either directly or as
// NAME_FILE, and the name it came from ("" when unset).
func (p *problems) secret(env map[string]string, name string) (value, source string) {
	direct, file := env[name], env[name+"_FILE"]
	switch {
	case direct != "" && file != "":
		p.add(name, "set both "+name+" and "+name+"_FILE; use one")
		return "", ""
	case file != "":
		v, msg := readSecretFile(file)
		if msg != "" {
			p.add(name+"_FILE", msg)
			p.named[name] = true // so production does not also call it missing
			return "", ""
		}
		return v, name + "_FILE"
	case direct != "":
		return direct, name
	}
	return "", ""
}

// readSecretFile reads a mounted secret. The path is not secret and is named
// in problems; the content never is.
func readSecretFile(path string) (value, problem string) {
	// Stat before opening: opening a FIFO or device could block or never end.
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Sprintf("file %q does not exist", path)
	case errors.Is(err, fs.ErrPermission):
		return "", fmt.Sprintf("file %q is not readable (permission denied)", path)
	case err != nil:
		return "", fmt.Sprintf("file %q cannot be read", path)
	case !fi.Mode().IsRegular(): // symlinks are followed: Kubernetes mounts secrets through them
		return "", fmt.Sprintf("%q is not a regular file", path)
	case fi.Size() > maxSecretFileBytes:
		return "", fmt.Sprintf("file %q is larger than 64 KiB", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Sprintf("file %q cannot be opened", path)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	switch {
	case err != nil:
		return "", fmt.Sprintf("file %q cannot be read", path)
	case len(b) > maxSecretFileBytes: // it grew since Stat
		return "", fmt.Sprintf("file %q is larger than 64 KiB", path)
	}
	v := strings.TrimRight(string(b), "\r\n") // editors and `echo` add a newline
	if v == "" {
		return "", fmt.Sprintf("file %q is empty", path)
	}
	return v, ""
}

// dataDir returns RAMPART_DATA_DIR or the per-user XDG data directory. The
// default is deliberately outside the working directory, so that running the
// server from a checkout never drops a database or key file into the repo.
func dataDir(env map[string]string, p *problems) string {
	if v := env["RAMPART_DATA_DIR"]; v != "" {
		if !filepath.IsAbs(v) {
			p.add("RAMPART_DATA_DIR", "must be an absolute path")
			return ""
		}
		return filepath.Clean(v)
	}
	// The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
	if x := env["XDG_DATA_HOME"]; filepath.IsAbs(x) {
		return filepath.Join(x, "rampart")
	}
	if h := env["HOME"]; filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "rampart")
	}
	p.add("RAMPART_DATA_DIR", "not set, and neither XDG_DATA_HOME nor HOME is an absolute path to derive it from; set it")
	return ""
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

// decodeMasterKey decodes RAMPART_MASTER_KEY: base64 in the standard or URL
// alphabet, padded or not, of exactly 32 bytes. The error never contains
// the value.
func decodeMasterKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != 32 {
			return nil, fmt.Errorf("decodes to %d bytes, must be exactly 32", len(b))
		}
		return b, nil
	}
	return nil, errors.New("must be base64 (standard or URL alphabet) of exactly 32 bytes")
}

// weakKey says why a decoded key does not look like 32 random bytes, or "".
// 32 random bytes have about 30 distinct values; fewer than 16 happens with
// negligible probability, and so does every byte being printable ASCII.
// Both catch keys made by hand: "aaaa...", a repeated pattern, a password.
func weakKey(b []byte) string {
	var seen [256]bool
	distinct, printable := 0, 0
	for _, x := range b {
		if !seen[x] {
			seen[x] = true
			distinct++
		}
		if 0x20 <= x && x <= 0x7e {
			printable++
		}
	}
	switch {
	case distinct < 16:
		return "has too few distinct byte values to be random"
	case printable == len(b):
		return "is printable text, not random bytes"
	}
	return ""
}

// ensureDevMasterKey gives development and test a master key with zero
// configuration: it loads DataDir/master.key, or creates it (32 random bytes,
// base64, mode 0600, directory 0700). It does nothing when a key is set and
// refuses to run in production, where the key must be managed explicitly.
// A key file that group or others can access is refused, not repaired: it
// may already have been copied.
func ensureDevMasterKey(c *Config) (created bool, err error) {
	if c.MasterKey != "" {
		return false, nil
	}
	if c.Env == envProduction {
		return false, errors.New("RAMPART_MASTER_KEY: required in production; no key file is created")
	}
	if c.DataDir == "" {
		return false, errors.New("RAMPART_DATA_DIR: needed to keep the development master key")
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return false, fmt.Errorf("creating data directory: %w", err)
	}
	path := filepath.Join(c.DataDir, masterKeyFileName)

	key, err := readDevMasterKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createDevMasterKey(path)
		if errors.Is(err, fs.ErrExist) { // another process created it first
			key, err = readDevMasterKey(path)
		} else if err == nil {
			created = true
		}
	}
	if err != nil {
		return false, err
	}
	c.MasterKey = Secret(key)
	return created, nil
}

func readDevMasterKey(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err // fs.ErrNotExist is the caller's cue to create it
	}
	// Windows has no Unix permission bits to check.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("refusing master key file %s: mode %04o lets group or others access it; run chmod 600 on it", path, fi.Mode().Perm())
	}
	v, msg := readSecretFile(path)
	if msg != "" {
		return "", errors.New("master key " + msg)
	}
	if _, err := decodeMasterKey(v); err != nil {
		return "", fmt.Errorf("master key file %s: %w", path, err)
	}
	return v, nil
}

func createDevMasterKey(path string) (string, error) {
	b := make([]byte, 32)
	rand.Read(b) // never fails; crypto/rand crashes the program rather than return weak bytes
	key := base64.StdEncoding.EncodeToString(b)
	// O_EXCL: never overwrite a key that encrypts existing data.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.WriteString(f, key+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // a half-written key is worse than none
		return "", fmt.Errorf("writing master key file: %w", err)
	}
	return key, nil
}

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

// writeEffective prints every setting as RAMPART_X=value, in a fixed order,
// for `rampart config check`. Secrets are masked: the database and Redis
// URLs keep scheme, user, host and database but lose any password; the
// master key is REDACTED.
func (c Config) writeEffective(w io.Writer) {
	db := maskURL(c.DatabaseURL.Reveal())
	if path, ok := c.SQLitePath(); ok {
		db = "sqlite:" + path
	}
	proxies := make([]string, len(c.TrustedProxies))
	for i, p := range c.TrustedProxies {
		proxies[i] = p.String()
	}
	lines := []struct{ name, value string }{
		{"RAMPART_ENV", c.Env},
		{"RAMPART_ADDR", c.Addr},
		{"RAMPART_ADMIN_ADDR", c.AdminAddr},
		{"RAMPART_DATABASE_URL", db},
		{"RAMPART_REDIS_URL", maskURL(c.RedisURL.Reveal())},
		{"RAMPART_REDIS_PREFIX", c.RedisPrefix},
		{"RAMPART_CORS_ORIGINS", strings.Join(c.CORSOrigins, ",")},
		{"RAMPART_TRUSTED_PROXIES", strings.Join(proxies, ",")},
		{"RAMPART_PASSWORD_MIN_LENGTH", strconv.Itoa(c.PasswordMinLength)},
		{"RAMPART_ARGON2_MEMORY", strconv.FormatUint(uint64(c.Argon2.Memory), 10)},
		{"RAMPART_ARGON2_TIME", strconv.FormatUint(uint64(c.Argon2.Time), 10)},
	}
	for _, rc := range rateClasses {
		lines = append(lines, struct{ name, value string }{"RAMPART_RATE_" + rc.Class, c.Rates[rc.Class].String()})
	}
	lines = append(lines, []struct{ name, value string }{
		{"RAMPART_MAX_BODY_BYTES", strconv.FormatInt(c.MaxBodyBytes, 10)},
		{"RAMPART_MASTER_KEY", c.MasterKey.String()},
		{"RAMPART_DATA_DIR", c.DataDir},
		{"RAMPART_AUTO_MIGRATE", strconv.FormatBool(c.AutoMigrate)},
		{"RAMPART_PPROF", strconv.FormatBool(c.Pprof)},
		{"RAMPART_REFRESH_COOKIE", strconv.FormatBool(c.RefreshCookie)},
		{"RAMPART_LOG_LEVEL", strings.ToLower(c.LogLevel.String())},
		{"RAMPART_SHUTDOWN_TIMEOUT", shortDuration(c.ShutdownTimeout)},
		{"RAMPART_STARTUP_TIMEOUT", shortDuration(c.StartupTimeout)},
		{"RAMPART_AUDIT_CHECKPOINT_PATH", c.AuditCheckpointPath},
		{"RAMPART_STEP_UP_MAX_AGE", shortDuration(c.StepUpMaxAge)},
		{"RAMPART_REFRESH_REUSE_GRACE", shortDuration(c.RefreshReuseGrace)},
	}...)
	for _, l := range lines {
		fmt.Fprintf(w, "%s=%s\n", l.name, l.value)
	}
}

// maskURL replaces the password in a URL's user info and in query
// parameters such as password= and sslpassword= (libpq accepts both).
// Anything unparsable is masked whole.
func maskURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		masked := false
		for k := range q {
			if lk := strings.ToLower(k); strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") {
				q[k] = []string{redacted}
				masked = true
			}
		}
		if masked {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
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
