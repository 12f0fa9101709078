package main

// Configuration comes only from the environment (RAMPART_*), plus NAME_FILE
// for secrets so they can be mounted from /run/secrets instead of sitting in
// the process environment. loadConfig validates everything up front and
// reports every problem at once, naming the variable but never its value:
// an operator fixes a deployment in one round, and a secret pasted into the
// wrong variable does not end up in a CI log.
//
// Every variable is one row of the table `variables` below: its name,
// defaults, whether it is secret, how it is parsed and shown, and the start
// of its README line. Loading, `rampart config check` and the check that the
// README's table agrees (TestReadmeConfigurationTable) all read that table.

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/rampart/internal/egress"
	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/signals"
)

// Config is the effective configuration. See api.md, "Configuration". Each
// field's variable, default and bounds are in the table `variables` below.
type Config struct {
	Env               string          // RAMPART_ENV: development | test | production
	Addr              string          // RAMPART_ADDR: the public listener
	AdminAddr         string          // RAMPART_ADMIN_ADDR: metrics, and pprof when enabled
	DatabaseURL       Secret          // RAMPART_DATABASE_URL(_FILE): sqlite:PATH or postgres://...
	DatabaseExplicit  bool            // the operator set RAMPART_DATABASE_URL(_FILE)
	RedisURL          Secret          // RAMPART_REDIS_URL(_FILE), optional: redis:// or rediss://
	RedisPrefix       string          // RAMPART_REDIS_PREFIX: lets deployments share one Redis
	CORSOrigins       []string        // RAMPART_CORS_ORIGINS: exact origins scheme://host[:port]
	TrustedProxies    []netip.Prefix  // RAMPART_TRUSTED_PROXIES: CIDRs; a bare IP means /32 or /128
	PasswordMinLength int             // RAMPART_PASSWORD_MIN_LENGTH
	Argon2            password.Params // RAMPART_ARGON2_MEMORY (KiB) and RAMPART_ARGON2_TIME; never below password.DefaultParams
	Rates             map[string]Rate // keyed by route class: "AUTH", "SIGNUP", "API", "PUBLIC" (RAMPART_RATE_<CLASS>)
	MaxBodyBytes      int64           // RAMPART_MAX_BODY_BYTES
	MasterKey         Secret          // RAMPART_MASTER_KEY(_FILE): base64 of 32 random bytes; see decodeMasterKey
	DataDir           string          // RAMPART_DATA_DIR, absolute
	AutoMigrate       bool            // RAMPART_AUTO_MIGRATE
	Pprof             bool            // RAMPART_PPROF: net/http/pprof on the ADMIN listener only
	RefreshCookie     bool            // RAMPART_REFRESH_COOKIE: browsers on CORS origins get the refresh token as a __Host- cookie
	LogLevel          slog.Level      // RAMPART_LOG_LEVEL
	ShutdownTimeout   time.Duration   // RAMPART_SHUTDOWN_TIMEOUT
	StartupTimeout    time.Duration   // RAMPART_STARTUP_TIMEOUT: how long start-up waits for the database
	StepUpMaxAge      time.Duration   // RAMPART_STEP_UP_MAX_AGE: how recent a password proof ⚑ routes need
	RefreshReuseGrace time.Duration   // RAMPART_REFRESH_REUSE_GRACE: see rampart.Identity.Refresh
	// AuditCheckpointPath (RAMPART_AUDIT_CHECKPOINT_PATH): an absolute path;
	// audit chain checkpoints are appended to it as JSON lines. Empty: the
	// log stream only.
	AuditCheckpointPath string
	EgressAllow         []egress.Rule      // RAMPART_EGRESS_ALLOW: outbound destinations besides the database and Redis
	AlertRules          []signals.Rule     // RAMPART_ALERT_<RULE>: the detection rules with their thresholds
	AlertWebhookURL     Secret             // RAMPART_ALERT_WEBHOOK_URL: where alerts are POSTed, signed; empty: no webhook
	AlertWebhookSecret  Secret             // RAMPART_ALERT_WEBHOOK_SECRET: the HMAC-SHA256 key of the webhook's signature
	AutoBlock           bool               // RAMPART_AUTO_BLOCK: detection's source alerts block the source (block.go)
	BlockExempt         []netip.Prefix     // RAMPART_BLOCK_EXEMPT: never blocked (nor are the trusted proxies)
	BlockDuration       time.Duration      // RAMPART_BLOCK_DURATION: a first block's length; repeats grow
	SMTPURL             Secret             // RAMPART_SMTP_URL: smtp:// (STARTTLS off loopback) or smtps://; empty: .eml files
	MailFrom            string             // RAMPART_MAIL_FROM
	PublicURL           string             // RAMPART_PUBLIC_URL: the links' base, without a trailing slash
	Signup              rampart.SignupMode // RAMPART_SIGNUP: open | verify | closed (signup.go)
	// dialer, when set (serve sets it), is the egress dialer every outbound
	// connection goes through; see Config.outbound.
	dialer *egress.Dialer
}

// Rate is a request budget: N requests per Per.
type Rate struct {
	N   int
	Per time.Duration
}

func (r Rate) String() string { return strconv.Itoa(r.N) + "/" + shortDuration(r.Per) }

const (
	envDevelopment = "development"
	envTest        = "test"
	envProduction  = "production"

	defaultDatabaseURL = "sqlite:rampart.db"
)

// variable is one RAMPART_* setting.
type variable struct {
	Name   string
	Secret bool // may be given as NAME_FILE instead; never shown unmasked
	// Default is the value used when the variable is not set, written as an
	// operator would write it and parsed like one; "" means none.
	Default string
	// ProdDefault replaces Default in production when it differs there.
	ProdDefault string
	// DefaultDoc is the README's default cell when the default is not a
	// literal value (derived, or generated).
	DefaultDoc string
	// derive computes the default from the rest of the environment.
	derive func(c *Config, env map[string]string, bad func(string))
	// Doc is one line saying what the variable is for; the README's
	// "meaning" cell starts with it.
	Doc string
	codec
}

// codec parses a variable's value into a Config and shows the effective one.
// set calls bad once per problem, written so that it never repeats a value;
// it leaves the Config unchanged for a value it refuses.
type codec struct {
	set  func(c *Config, v string, bad func(string))
	show func(c Config) string
}

// defaultIn is v's default in the environment env.
func (v variable) defaultIn(env string) string {
	if env == envProduction && v.ProdDefault != "" {
		return v.ProdDefault
	}
	return v.Default
}

// variables is every setting, in the order `config check` prints them.
// RAMPART_ENV comes first: later rows read c.Env. Signup's rate is generous
// outside production: a newcomer whose first passwords the policy refuses
// must not then wait most of an hour (refused signups count, as every
// limited request does: the limit is taken before the body is read).
// Migrations are never implicit in production.
var variables = append([]variable{
	{Name: "RAMPART_ENV", Default: envDevelopment, Doc: "`development`, `test` or `production`", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			switch v {
			case envDevelopment, envTest, envProduction:
				c.Env = v
			default:
				bad("must be development, test or production")
			}
		},
		show: func(c Config) string { return c.Env },
	}},
	{Name: "RAMPART_ADDR", Default: "127.0.0.1:8080", Doc: "public listener",
		codec: listenField(func(c *Config) *string { return &c.Addr })},
	{Name: "RAMPART_ADMIN_ADDR", Default: "127.0.0.1:9090", Doc: "admin listener",
		codec: listenField(func(c *Config) *string { return &c.AdminAddr })},
	{Name: "RAMPART_DATABASE_URL", Secret: true, Default: defaultDatabaseURL, Doc: "`sqlite:PATH` or `postgres://...`", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			c.DatabaseURL = Secret(v)
			if msg := checkDatabaseURL(v); msg != "" {
				bad(msg)
			}
		},
		show: func(c Config) string {
			if path, ok := c.SQLitePath(); ok {
				return "sqlite:" + path
			}
			return maskURL(c.DatabaseURL.Reveal())
		},
	}},
	{Name: "RAMPART_REDIS_URL", Secret: true, Doc: "optional", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			c.RedisURL = Secret(v)
			if msg := checkRedisURL(v); msg != "" {
				bad(msg)
			}
		},
		show: func(c Config) string { return maskURL(c.RedisURL.Reveal()) },
	}},
	{Name: "RAMPART_REDIS_PREFIX", Default: "rampart:", Doc: "key prefix", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			if len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) {
				bad("must be at most 64 printable ASCII characters without spaces")
				return
			}
			c.RedisPrefix = v
		},
		show: func(c Config) string { return c.RedisPrefix },
	}},
	{Name: "RAMPART_CORS_ORIGINS", DefaultDoc: "— (no origin allowed)", Doc: "comma-separated exact origins", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			for i, item := range splitList(v) {
				msg := checkOrigin(item)
				if msg == "" && c.Env == envProduction && !strings.HasPrefix(item, "https://") {
					// Checked here, per entry, as well as in postureChecks: the
					// posture line would be dropped once another entry has a problem.
					msg = "must be https (production rule cors_origins)"
				}
				if msg != "" {
					bad(fmt.Sprintf("entry %d: %s", i+1, msg))
					continue
				}
				c.CORSOrigins = append(c.CORSOrigins, item)
			}
		},
		show: func(c Config) string { return strings.Join(c.CORSOrigins, ",") },
	}},
	{Name: "RAMPART_TRUSTED_PROXIES", Doc: "comma-separated CIDRs", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			for i, item := range splitList(v) {
				pfx, msg := parseProxy(item)
				if msg != "" {
					bad(fmt.Sprintf("entry %d: %s", i+1, msg))
					continue
				}
				c.TrustedProxies = append(c.TrustedProxies, pfx)
			}
		},
		show: func(c Config) string {
			proxies := make([]string, len(c.TrustedProxies))
			for i, p := range c.TrustedProxies {
				proxies[i] = p.String()
			}
			return strings.Join(proxies, ",")
		},
	}},
	// Below 8 is never acceptable (NIST SP 800-63B-4); above 128 would
	// exceed the maximum length the API accepts.
	{Name: "RAMPART_PASSWORD_MIN_LENGTH", Default: "15", Doc: "minimum password length", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			n, err := strconv.Atoi(v)
			if err != nil || n < password.MinLengthFloor || n > password.DefaultPolicy.MaxLength {
				bad(fmt.Sprintf("must be a whole number from %d to %d", password.MinLengthFloor, password.DefaultPolicy.MaxLength))
				return
			}
			c.PasswordMinLength = n
		},
		show: func(c Config) string { return strconv.Itoa(c.PasswordMinLength) },
	}},
	// Only raising the cost is possible: Params.Validate refuses anything
	// below OWASP's m=19456 KiB, t=2 (PWD-05). The ceilings keep one login
	// from taking more than ~256 MiB or ~16 passes.
	{Name: "RAMPART_ARGON2_MEMORY", Default: strconv.FormatUint(uint64(password.DefaultParams.Memory), 10), Doc: "argon2id memory in KiB",
		codec: uintField(func(c *Config) *uint32 { return &c.Argon2.Memory }, uint64(password.DefaultParams.Memory), password.MaxMemory,
			fmt.Sprintf("must be a whole number of KiB from %d to %d", password.DefaultParams.Memory, password.MaxMemory))},
	{Name: "RAMPART_ARGON2_TIME", Default: strconv.FormatUint(uint64(password.DefaultParams.Time), 10), Doc: "argon2id passes",
		codec: uintField(func(c *Config) *uint32 { return &c.Argon2.Time }, uint64(password.DefaultParams.Time), password.MaxTime,
			fmt.Sprintf("must be a whole number of passes from %d to %d", password.DefaultParams.Time, password.MaxTime))},
	{Name: "RAMPART_RATE_AUTH", Default: "10/1m", Doc: "`N/DURATION` for `/v1/auth/*`", codec: rateField("AUTH")},
	{Name: "RAMPART_RATE_SIGNUP", Default: "100/1m", ProdDefault: "5/1h", Doc: "`N/DURATION` for `POST /v1/signup`", codec: rateField("SIGNUP")},
	{Name: "RAMPART_RATE_API", Default: "600/1m", Doc: "`N/DURATION` for authenticated routes", codec: rateField("API")},
	{Name: "RAMPART_RATE_PUBLIC", Default: "120/1m", Doc: "`N/DURATION` for the other unauthenticated routes", codec: rateField("PUBLIC")},
	{Name: "RAMPART_MAX_BODY_BYTES", Default: "102400", Doc: "request body limit", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1<<10 || n > 10<<20 {
				bad("must be a whole number of bytes from 1024 (1 KiB) to 10485760 (10 MiB)")
				return
			}
			c.MaxBodyBytes = n
		},
		show: func(c Config) string { return strconv.FormatInt(c.MaxBodyBytes, 10) },
	}},
	// Unset outside production, ensureDevMasterKey generates one after loading.
	{Name: "RAMPART_MASTER_KEY", Secret: true, DefaultDoc: "generated outside production", Doc: "base64 of 32 random bytes", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			c.MasterKey = Secret(v)
			if _, err := decodeMasterKey(v); err != nil {
				bad(err.Error() + "; generate one with: head -c 32 /dev/urandom | base64")
			}
		},
		show: func(c Config) string { return c.MasterKey.String() },
	}},
	{Name: "RAMPART_DATA_DIR", DefaultDoc: "`$XDG_DATA_HOME/rampart` or `~/.local/share/rampart`", Doc: "where development keeps its key and database",
		derive: func(c *Config, env map[string]string, bad func(string)) {
			dir, msg := defaultDataDir(env)
			if msg != "" {
				bad(msg)
			}
			c.DataDir = dir
		},
		codec: absPathField(func(c *Config) *string { return &c.DataDir }, "must be an absolute path")},
	{Name: "RAMPART_AUTO_MIGRATE", Default: "true", ProdDefault: "false", Doc: "apply pending migrations at start-up",
		codec: boolField(func(c *Config) *bool { return &c.AutoMigrate })},
	{Name: "RAMPART_PPROF", Default: "false", Doc: "serve pprof on the admin listener",
		codec: boolField(func(c *Config) *bool { return &c.Pprof })},
	{Name: "RAMPART_REFRESH_COOKIE", Default: "false", Doc: "browsers on `RAMPART_CORS_ORIGINS` get the refresh token in a `__Host-` cookie",
		codec: boolField(func(c *Config) *bool { return &c.RefreshCookie })},
	{Name: "RAMPART_LOG_LEVEL", Default: "info", Doc: "`debug`, `info`, `warn`, `error`", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
			level, ok := levels[strings.ToLower(v)]
			if !ok {
				bad("must be debug, info, warn or error")
				return
			}
			c.LogLevel = level
		},
		show: func(c Config) string { return strings.ToLower(c.LogLevel.String()) },
	}},
	{Name: "RAMPART_SHUTDOWN_TIMEOUT", Default: "15s", Doc: "how long SIGTERM/SIGINT waits for in-flight requests",
		codec: durationField(func(c *Config) *time.Duration { return &c.ShutdownTimeout }, time.Second, 5*time.Minute, "must be a duration from 1s to 5m, e.g. 15s")},
	{Name: "RAMPART_STARTUP_TIMEOUT", Default: "60s", Doc: "how long start-up keeps retrying a database it cannot reach",
		codec: durationField(func(c *Config) *time.Duration { return &c.StartupTimeout }, time.Second, time.Hour, "must be a duration from 1s to 1h, e.g. 60s")},
	{Name: "RAMPART_AUDIT_CHECKPOINT_PATH", Doc: "absolute path of a file to which every audit chain head is appended",
		codec: absPathField(func(c *Config) *string { return &c.AuditCheckpointPath }, "must be an absolute file path")},
	{Name: "RAMPART_STEP_UP_MAX_AGE", Default: shortDuration(rampart.DefaultIdentityConfig.StepUpMaxAge), Doc: "how recent the session's last password proof (`auth_time`) must be on step-up routes",
		codec: durationField(func(c *Config) *time.Duration { return &c.StepUpMaxAge }, time.Second, 24*time.Hour, "must be a duration from 1s to 24h, e.g. 10m")},
	{Name: "RAMPART_REFRESH_REUSE_GRACE", Default: shortDuration(rampart.DefaultIdentityConfig.RefreshGrace), Doc: "how long the immediately previous refresh token is spared",
		codec: durationField(func(c *Config) *time.Duration { return &c.RefreshReuseGrace }, 0, rampart.MaxRefreshGrace, "must be a duration from 0s to 60s, e.g. 0s")},
	{Name: "RAMPART_EGRESS_ALLOW", DefaultDoc: "— (only the database and Redis)", Doc: "comma-separated `host:port` or `CIDR:port` outbound destinations allowed besides the database and Redis", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			for i, item := range splitList(v) {
				rule, err := egress.ParseRule(item)
				if err != nil {
					bad(fmt.Sprintf("entry %d: %s", i+1, err))
					continue
				}
				c.EgressAllow = append(c.EgressAllow, rule)
			}
		},
		show: func(c Config) string { return joinRules(c.EgressAllow) },
	}},
	{Name: "RAMPART_ALERT_WEBHOOK_URL", Secret: true, Doc: "`http(s)://...` that receives each alert as signed JSON (header `Rampart-Signature`, see \"Detection and alerts\"); its host is allowed outbound", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			if _, msg := checkHTTPURL(v, c.Env); msg != "" {
				bad(msg)
				return
			}
			c.AlertWebhookURL = Secret(v)
		},
		show: func(c Config) string { return maskURL(c.AlertWebhookURL.Reveal()) },
	}},
	{Name: "RAMPART_ALERT_WEBHOOK_SECRET", Secret: true, Doc: "the webhook signature's key, at least 16 bytes; required with the URL", codec: codec{
		set: func(c *Config, v string, bad func(string)) {
			if len(v) < 16 {
				bad("must be at least 16 bytes")
				return
			}
			c.AlertWebhookSecret = Secret(v)
		},
		show: func(c Config) string { return c.AlertWebhookSecret.String() },
	}},
}, slices.Concat(alertVariables(), blockVariables(), mailVariables(), signupVariables())...)

// knownVars is every RAMPART_* name, NAME_FILE of secrets included. Any
// other name with the prefix is reported, because a misspelt name
// (RAMPART_CORS_ORIGIN) would otherwise be ignored silently and the server
// would start with the default.
var knownVars = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range variables {
		m[v.Name] = true
		if v.Secret {
			m[v.Name+"_FILE"] = true
		}
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

	// Argon2's threads, salt and key length are not configurable; the
	// table sets memory and time.
	c := Config{Argon2: password.DefaultParams, Rates: map[string]Rate{}}
	given := map[string]bool{} // set by the operator, not defaulted
	for _, v := range variables {
		value, source := env[v.Name], v.Name
		if v.Secret {
			value, source = p.secret(env, v.Name)
		}
		// The default first, so that a refused value leaves it in place.
		if def := v.defaultIn(c.Env); def != "" {
			v.set(&c, def, func(msg string) { p.add(v.Name, "default "+msg) })
		} else if v.derive != nil && value == "" {
			v.derive(&c, env, func(msg string) { p.add(v.Name, msg) })
		}
		if value != "" {
			v.set(&c, value, func(msg string) { p.add(source, msg) })
			given[v.Name] = true
		}
	}
	c.DatabaseExplicit = given["RAMPART_DATABASE_URL"]
	if (c.AlertWebhookURL != "") != (c.AlertWebhookSecret != "") && !p.named["RAMPART_ALERT_WEBHOOK_URL"] && !p.named["RAMPART_ALERT_WEBHOOK_SECRET"] {
		p.add("RAMPART_ALERT_WEBHOOK_SECRET", "RAMPART_ALERT_WEBHOOK_URL and RAMPART_ALERT_WEBHOOK_SECRET go together: an unsigned alert could be forged")
	}

	c.mailProblems(&p)

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
