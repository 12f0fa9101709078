package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/signals"
)

// Canary secret values: none of them may ever appear in an error, in
// writeEffective output or in any rendering of a Config.
const (
	canaryDBPassword    = "CANARY-PW-db-5e1f"
	canaryRedisPassword = "CANARY-PW-redis-9c2d"
	canaryBadKey        = "CANARY-MK-not-base64"
)

// testKey returns a valid master key: base64 of 32 distinct, partly
// non-printable bytes, different for each seed.
func testKey(seed byte) string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)*37 + seed
	}
	return base64.StdEncoding.EncodeToString(b)
}

var canaryKey = testKey(11)

func environ(env map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// load runs loadConfig on a HOME-only environment plus kv pairs.
func load(t *testing.T, kv ...string) (Config, error) {
	t.Helper()
	return loadConfig(append([]string{"HOME=/home/tester"}, kv...))
}

// safeProduction is a production environment that passes every rule.
func safeProduction() map[string]string {
	return map[string]string{
		"HOME":                    "/home/tester",
		"RAMPART_ENV":             "production",
		"RAMPART_ADDR":            ":8080",
		"RAMPART_ADMIN_ADDR":      "127.0.0.1:9090",
		"RAMPART_DATABASE_URL":    "postgres://rampart:" + canaryDBPassword + "@db.internal:5432/rampart?sslmode=verify-full",
		"RAMPART_REDIS_URL":       "rediss://:" + canaryRedisPassword + "@cache.internal:6380/0",
		"RAMPART_MASTER_KEY":      canaryKey,
		"RAMPART_CORS_ORIGINS":    "https://app.example.com,https://admin.example.com:8443",
		"RAMPART_TRUSTED_PROXIES": "10.0.0.0/8,fd00::/8",
		"RAMPART_SIGNUP":          "closed", // verify, the default, needs SMTP (TestSignupVerifyNeedsMail)
	}
}

func assertNoCanary(t *testing.T, where, s string) {
	t.Helper()
	for _, c := range []string{canaryDBPassword, canaryRedisPassword, canaryBadKey, canaryKey} {
		if strings.Contains(s, c) {
			t.Errorf("%s contains a secret value %q:\n%s", where, c, s)
		}
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := load(t)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	want := Config{
		Env:               "development",
		Addr:              "127.0.0.1:8080",
		AdminAddr:         "127.0.0.1:9090",
		DatabaseURL:       "sqlite:rampart.db",
		RedisPrefix:       "rampart:",
		PasswordMinLength: 15,
		Argon2:            password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		Rates: map[string]Rate{
			"AUTH":   {10, time.Minute},
			"SIGNUP": {100, time.Minute}, // 5/1h in production: TestSignupRateDefaultPerEnv
			"API":    {600, time.Minute},
			"PUBLIC": {120, time.Minute},
		},
		MaxBodyBytes:      102400,
		DataDir:           "/home/tester/.local/share/rampart",
		AutoMigrate:       true,
		LogLevel:          slog.LevelInfo,
		ShutdownTimeout:   15 * time.Second,
		StepUpMaxAge:      10 * time.Minute,
		RefreshReuseGrace: 0,
		StartupTimeout:    60 * time.Second,
		AlertRules:        signals.DefaultRules(),
		BlockDuration:     15 * time.Minute,
		PublicURL:         "http://127.0.0.1:8080",
		Signup:            rampart.SignupOpen,
	}
	if got, w := fmt.Sprintf("%#v", c), fmt.Sprintf("%#v", want); got != w {
		t.Errorf("defaults:\n got %s\nwant %s", got, w)
	}
	if c.DatabaseURL.Reveal() != "sqlite:rampart.db" || c.MasterKey.Reveal() != "" || c.RedisURL.Reveal() != "" {
		t.Errorf("secret defaults wrong") // %#v above shows them redacted
	}
	if path, ok := c.SQLitePath(); !ok || path != "/home/tester/.local/share/rampart/rampart.db" {
		t.Errorf("SQLitePath() = %q, %v", path, ok)
	}
}

func TestLoadConfigDataDir(t *testing.T) {
	tests := []struct {
		environ []string
		want    string
		wantErr bool
	}{
		{[]string{"HOME=/home/u"}, "/home/u/.local/share/rampart", false},
		{[]string{"HOME=/home/u", "XDG_DATA_HOME=/data"}, "/data/rampart", false},
		{[]string{"HOME=/home/u", "XDG_DATA_HOME=relative"}, "/home/u/.local/share/rampart", false}, // XDG: ignore relative
		{[]string{"HOME=/home/u", "RAMPART_DATA_DIR=/srv/rampart/"}, "/srv/rampart", false},
		{[]string{"HOME=/home/u", "RAMPART_DATA_DIR=data"}, "", true},
		{nil, "", true},
	}
	for _, tt := range tests {
		c, err := loadConfig(tt.environ)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "RAMPART_DATA_DIR:") {
				t.Errorf("%v: err = %v, want one naming RAMPART_DATA_DIR", tt.environ, err)
			}
			continue
		}
		if err != nil || c.DataDir != tt.want {
			t.Errorf("%v: DataDir = %q, %v; want %q", tt.environ, c.DataDir, err, tt.want)
		}
	}
}

func TestLoadConfigValidValues(t *testing.T) {
	c, err := load(t,
		"RAMPART_ENV=test",
		"RAMPART_ADDR=:0",
		"RAMPART_ADMIN_ADDR=[::1]:0",
		"RAMPART_DATABASE_URL=sqlite:/var/lib/rampart/r.db",
		"RAMPART_REDIS_URL=redis://127.0.0.1:6379/0",
		"RAMPART_REDIS_PREFIX=deploy-a:",
		"RAMPART_CORS_ORIGINS= https://app.example.com , http://localhost:3000,",
		"RAMPART_TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.7 ,2001:db8::1",
		"RAMPART_PASSWORD_MIN_LENGTH=8",
		"RAMPART_ARGON2_MEMORY=47104",
		"RAMPART_ARGON2_TIME=3",
		"RAMPART_RATE_AUTH=3/30s",
		"RAMPART_RATE_API=1000/1h",
		"RAMPART_MAX_BODY_BYTES=1024",
		"RAMPART_MASTER_KEY="+strings.TrimRight(base64.URLEncoding.EncodeToString(mustDecode(t, canaryKey)), "="),
		"RAMPART_AUTO_MIGRATE=false",
		"RAMPART_PPROF=true",
		"RAMPART_LOG_LEVEL=DEBUG",
		"RAMPART_SHUTDOWN_TIMEOUT=5m",
		"RAMPART_STARTUP_TIMEOUT=1h",
		"RAMPART_AUDIT_CHECKPOINT_PATH=/var/log/rampart/../audit/checkpoints.jsonl",
		"RAMPART_STEP_UP_MAX_AGE=24h",
		"RAMPART_REFRESH_REUSE_GRACE=60s",
		"RAMPART_TEST_POSTGRES_DSN=whatever", // a test's variable: ignored
	)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Env", c.Env, "test"},
		{"Addr", c.Addr, ":0"},
		{"AdminAddr", c.AdminAddr, "[::1]:0"},
		{"DatabaseExplicit", c.DatabaseExplicit, true},
		{"RedisURL", c.RedisURL.Reveal(), "redis://127.0.0.1:6379/0"},
		{"RedisPrefix", c.RedisPrefix, "deploy-a:"},
		{"CORSOrigins", c.CORSOrigins, []string{"https://app.example.com", "http://localhost:3000"}},
		{"TrustedProxies", c.TrustedProxies, []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::1/128"),
		}},
		{"PasswordMinLength", c.PasswordMinLength, 8},
		{"Argon2", c.Argon2, password.Params{Memory: 47104, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"Rates[AUTH]", c.Rates["AUTH"], Rate{3, 30 * time.Second}},
		{"Rates[API]", c.Rates["API"], Rate{1000, time.Hour}},
		{"Rates[SIGNUP]", c.Rates["SIGNUP"], Rate{100, time.Minute}}, // test's default
		{"MaxBodyBytes", c.MaxBodyBytes, int64(1024)},
		{"AutoMigrate", c.AutoMigrate, false},
		{"Pprof", c.Pprof, true},
		{"LogLevel", c.LogLevel, slog.LevelDebug},
		{"ShutdownTimeout", c.ShutdownTimeout, 5 * time.Minute},
		{"StartupTimeout", c.StartupTimeout, time.Hour},
		{"AuditCheckpointPath", c.AuditCheckpointPath, "/var/log/audit/checkpoints.jsonl"},
		{"StepUpMaxAge", c.StepUpMaxAge, 24 * time.Hour},
		{"RefreshReuseGrace", c.RefreshReuseGrace, time.Minute},
	}
	for _, ch := range checks {
		if fmt.Sprint(ch.got) != fmt.Sprint(ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if path, ok := c.SQLitePath(); !ok || path != "/var/lib/rampart/r.db" {
		t.Errorf("SQLitePath() = %q, %v", path, ok)
	}
}

func mustDecode(t *testing.T, key string) []byte {
	t.Helper()
	b, err := decodeMasterKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadConfigInvalidValues(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{"RAMPART_ENV", "staging"},
		{"RAMPART_ADDR", "8081"},
		{"RAMPART_ADDR", "localhost:99999"},
		{"RAMPART_ADMIN_ADDR", "127.0.0.1:http"},
		{"RAMPART_DATABASE_URL", "mysql://root:" + canaryDBPassword + "@db/x"},
		{"RAMPART_DATABASE_URL", "postgres://u:" + canaryDBPassword + "@db/x?sslmode=sometimes"},
		{"RAMPART_DATABASE_URL", "postgres://u:" + canaryDBPassword + "@db:port/x"},
		{"RAMPART_DATABASE_URL", "sqlite:"},
		{"RAMPART_DATABASE_URL", "sqlite://rampart.db"},
		{"RAMPART_DATABASE_URL", "sqlite:rampart.db?_pragma=foreign_keys(0)"},
		{"RAMPART_REDIS_URL", "http://:" + canaryRedisPassword + "@cache:6379"},
		{"RAMPART_REDIS_URL", "redis://:" + canaryRedisPassword + "@/0"},
		{"RAMPART_CORS_ORIGINS", "*"},
		{"RAMPART_CORS_ORIGINS", "null"},
		{"RAMPART_CORS_ORIGINS", "https://app.example.com/"},
		{"RAMPART_CORS_ORIGINS", "https://app.example.com/path"},
		{"RAMPART_CORS_ORIGINS", "https://app.example.com?x=1"},
		{"RAMPART_CORS_ORIGINS", "https://app.example.com#frag"},
		{"RAMPART_CORS_ORIGINS", "https://user@app.example.com"},
		{"RAMPART_CORS_ORIGINS", "https://*.example.com"},
		{"RAMPART_CORS_ORIGINS", "https://App.Example.com"},
		{"RAMPART_CORS_ORIGINS", "https://app.example.com:443"},
		{"RAMPART_CORS_ORIGINS", "ftp://app.example.com"},
		{"RAMPART_CORS_ORIGINS", "app.example.com"},
		{"RAMPART_TRUSTED_PROXIES", "10.0.0.1/8"},
		{"RAMPART_TRUSTED_PROXIES", "0.0.0.0/0"},
		{"RAMPART_TRUSTED_PROXIES", "::/0"},
		{"RAMPART_TRUSTED_PROXIES", "proxy.internal"},
		{"RAMPART_TRUSTED_PROXIES", "fe80::1%eth0"},
		{"RAMPART_PASSWORD_MIN_LENGTH", "7"},
		{"RAMPART_PASSWORD_MIN_LENGTH", "129"},
		{"RAMPART_PASSWORD_MIN_LENGTH", "fifteen"},
		{"RAMPART_ARGON2_MEMORY", "19455"}, // weaker than OWASP's floor
		{"RAMPART_ARGON2_MEMORY", "262145"},
		{"RAMPART_ARGON2_MEMORY", "19MiB"},
		{"RAMPART_ARGON2_TIME", "1"},
		{"RAMPART_ARGON2_TIME", "17"},
		{"RAMPART_REDIS_PREFIX", "two words:"},
		{"RAMPART_REDIS_PREFIX", "line\nbreak:"},
		{"RAMPART_REDIS_PREFIX", strings.Repeat("p", 65)},
		{"RAMPART_RATE_AUTH", "0/2m"},
		{"RAMPART_RATE_SIGNUP", "10"},
		{"RAMPART_RATE_API", "10/0s"},
		{"RAMPART_RATE_PUBLIC", "10/48h"},
		{"RAMPART_RATE_PUBLIC", "many/1m"},
		{"RAMPART_MAX_BODY_BYTES", "1023"},
		{"RAMPART_MAX_BODY_BYTES", "10485761"},
		{"RAMPART_MASTER_KEY", canaryBadKey},
		{"RAMPART_MASTER_KEY", base64.StdEncoding.EncodeToString(make([]byte, 16))},
		{"RAMPART_DATA_DIR", "relative/dir"},
		{"RAMPART_AUTO_MIGRATE", "sometimes"},
		{"RAMPART_PPROF", "enabled"},
		{"RAMPART_LOG_LEVEL", "trace"},
		{"RAMPART_SHUTDOWN_TIMEOUT", "0s"},
		{"RAMPART_SHUTDOWN_TIMEOUT", "6m"},
		{"RAMPART_SHUTDOWN_TIMEOUT", "soon"},
		{"RAMPART_STARTUP_TIMEOUT", "0s"},
		{"RAMPART_STARTUP_TIMEOUT", "61m"},
		{"RAMPART_STARTUP_TIMEOUT", "-1s"},
		{"RAMPART_AUDIT_CHECKPOINT_PATH", "checkpoints.jsonl"},
		{"RAMPART_AUDIT_CHECKPOINT_PATH", "/var/log/a\nb"},
		{"RAMPART_STEP_UP_MAX_AGE", "999ms"},
		{"RAMPART_STEP_UP_MAX_AGE", "25h"},
		{"RAMPART_STEP_UP_MAX_AGE", "-10m"},
		{"RAMPART_STEP_UP_MAX_AGE", "ten"},
		{"RAMPART_REFRESH_REUSE_GRACE", "-1s"},
		{"RAMPART_REFRESH_REUSE_GRACE", "61s"},
		{"RAMPART_REFRESH_REUSE_GRACE", "some"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := load(t, tt.name+"="+tt.value)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.name+": ") || strings.Count(msg, "\n") != 0 {
				t.Errorf("want exactly one line naming %s, got:\n%s", tt.name, msg)
			}
			// No value is ever echoed, secret or not. ("sqlite:" and "null"
			// are named by the fixed message text itself.)
			echoed := strings.Contains(msg, tt.value) && tt.value != "sqlite:" && tt.value != "null"
			if len(tt.value) >= 4 && echoed {
				t.Errorf("error echoes the value:\n%s", msg)
			}
			assertNoCanary(t, "error", msg)
		})
	}
}

func TestLoadConfigReportsAllProblems(t *testing.T) {
	_, err := load(t,
		"RAMPART_ENV=staging",
		"RAMPART_PASSWORD_MIN_LENGTH=4",
		"RAMPART_CORS_ORIGINS=https://ok.example.com,*,http://x.example.com/path",
		"RAMPART_RATE_API=lots",
		"RAMPART_MASTER_KEY="+canaryBadKey,
		"RAMPART_CORS_ORIGIN=https://typo.example.com",
	)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"RAMPART_ENV: ",
		"RAMPART_PASSWORD_MIN_LENGTH: must be a whole number from 8 to 128",
		"RAMPART_CORS_ORIGINS: entry 2: ",
		"RAMPART_CORS_ORIGINS: entry 3: ",
		"RAMPART_RATE_API: ",
		"RAMPART_MASTER_KEY: ",
		"RAMPART_CORS_ORIGIN: unknown variable",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != 7 {
		t.Errorf("got %d problems, want 7:\n%s", n, msg)
	}
	assertNoCanary(t, "error", msg)
}

func TestLoadConfigEnvironNames(t *testing.T) {
	tests := []struct {
		environ []string
		wantErr string // "" = accepted
	}{
		{[]string{"RAMPART_CORS_ORIGIN=https://a.example.com"}, "RAMPART_CORS_ORIGIN: unknown variable"},
		{[]string{"RAMPART_ADDR_FILE=/run/secrets/addr"}, "RAMPART_ADDR_FILE: unknown variable"},
		{[]string{"RAMPART_TEST_REDIS_ADDR=127.0.0.1:6379"}, ""},
		{[]string{"OTHER_VAR=1", "PATH=/bin", "=C:=C:\\", "garbage"}, ""},
		{[]string{"RAMPART_ENV=test", "RAMPART_ENV=production"}, "RAMPART_ENV: set more than once"},
		{[]string{"RAMPART_REDIS_URL="}, ""}, // empty means unset
	}
	for _, tt := range tests {
		_, err := load(t, tt.environ...)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tt.environ, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%v: err = %v, want %q", tt.environ, err, tt.wantErr)
		}
	}
}

func writeFile(t *testing.T, name, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // independent of umask
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigSecretFiles(t *testing.T) {
	dbURL := "postgres://app:" + canaryDBPassword + "@db.internal/rampart?sslmode=verify-full"
	good := writeFile(t, "db", dbURL+"\n", 0o600)
	keyFile := writeFile(t, "key", canaryKey+"\r\n", 0o600)
	badKeyFile := writeFile(t, "badkey", canaryBadKey+"\n", 0o600)
	empty := writeFile(t, "empty", "\n", 0o600)
	huge := writeFile(t, "huge", strings.Repeat(canaryBadKey, 5000), 0o600)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")

	t.Run("read and trimmed", func(t *testing.T) {
		c, err := load(t, "RAMPART_DATABASE_URL_FILE="+good, "RAMPART_MASTER_KEY_FILE="+keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if c.DatabaseURL.Reveal() != dbURL || !c.DatabaseExplicit || c.MasterKey.Reveal() != canaryKey {
			t.Errorf("secrets not read from files")
		}
	})

	tests := []struct {
		name    string
		environ []string
		wantVar string
	}{
		{"both set", []string{"RAMPART_DATABASE_URL=" + dbURL, "RAMPART_DATABASE_URL_FILE=" + good}, "RAMPART_DATABASE_URL: "},
		{"missing file", []string{"RAMPART_MASTER_KEY_FILE=" + missing}, "RAMPART_MASTER_KEY_FILE: "},
		{"directory", []string{"RAMPART_REDIS_URL_FILE=" + dir}, "RAMPART_REDIS_URL_FILE: "},
		{"empty file", []string{"RAMPART_MASTER_KEY_FILE=" + empty}, "RAMPART_MASTER_KEY_FILE: "},
		{"too large", []string{"RAMPART_MASTER_KEY_FILE=" + huge}, "RAMPART_MASTER_KEY_FILE: "},
		{"invalid content", []string{"RAMPART_MASTER_KEY_FILE=" + badKeyFile}, "RAMPART_MASTER_KEY_FILE: "},
		{"invalid URL content", []string{"RAMPART_DATABASE_URL_FILE=" + writeFile(t, "bad", "mysql://root:"+canaryDBPassword+"@x/", 0o600)}, "RAMPART_DATABASE_URL_FILE: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.environ...)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), tt.wantVar) {
				t.Errorf("want an error naming %s, got:\n%v", tt.wantVar, err)
			}
			assertNoCanary(t, "error", err.Error())
		})
	}

	t.Run("unreadable file in production is not also called missing", func(t *testing.T) {
		env := safeProduction()
		delete(env, "RAMPART_MASTER_KEY")
		env["RAMPART_MASTER_KEY_FILE"] = missing
		_, err := loadConfig(environ(env))
		if err == nil || strings.Count(err.Error(), "RAMPART_MASTER_KEY") != 1 {
			t.Errorf("want one problem about the key file, got:\n%v", err)
		}
	})
}

func TestLoadConfigProductionRefusals(t *testing.T) {
	const unset = "\x00unset"
	keyOf := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	pattern := make([]byte, 32)
	for i := range pattern {
		pattern[i] = byte(i%8) * 31
	}

	tests := []struct {
		name     string
		change   map[string]string
		wantVar  string // the error line starts with this variable
		wantRule string // and names this rule ("" when it is a parse error in every env)
	}{
		{"master key missing", map[string]string{"RAMPART_MASTER_KEY": unset}, "RAMPART_MASTER_KEY", "master_key"},
		{"master key all zero", map[string]string{"RAMPART_MASTER_KEY": keyOf(make([]byte, 32))}, "RAMPART_MASTER_KEY", "master_key"},
		{"master key repeating", map[string]string{"RAMPART_MASTER_KEY": keyOf(pattern)}, "RAMPART_MASTER_KEY", "master_key"},
		{"master key is text", map[string]string{"RAMPART_MASTER_KEY": keyOf([]byte("correct horse battery staple!!!!"))}, "RAMPART_MASTER_KEY", "master_key"},
		{"master key short", map[string]string{"RAMPART_MASTER_KEY": keyOf(make([]byte, 31))}, "RAMPART_MASTER_KEY", ""},
		{"cors http", map[string]string{"RAMPART_CORS_ORIGINS": "https://a.example.com,http://b.example.com"}, "RAMPART_CORS_ORIGINS", "cors_origins"},
		{"cors star", map[string]string{"RAMPART_CORS_ORIGINS": "*"}, "RAMPART_CORS_ORIGINS", ""},
		{"cors null", map[string]string{"RAMPART_CORS_ORIGINS": "null"}, "RAMPART_CORS_ORIGINS", ""},
		{"cors path", map[string]string{"RAMPART_CORS_ORIGINS": "https://a.example.com/app"}, "RAMPART_CORS_ORIGINS", ""},
		{"pprof on public admin", map[string]string{"RAMPART_PPROF": "true", "RAMPART_ADMIN_ADDR": ":9090"}, "RAMPART_PPROF", "pprof_admin_loopback"},
		{"pprof on non-loopback admin", map[string]string{"RAMPART_PPROF": "true", "RAMPART_ADMIN_ADDR": "10.1.2.3:9090"}, "RAMPART_PPROF", "pprof_admin_loopback"},
		{"pprof on public listener", map[string]string{"RAMPART_PPROF": "true", "RAMPART_ADDR": "127.0.0.1:8080", "RAMPART_ADMIN_ADDR": "localhost:8080"}, "RAMPART_PPROF", "pprof_admin_loopback"},
		{"admin equals public", map[string]string{"RAMPART_ADMIN_ADDR": "127.0.0.1:8080"}, "RAMPART_ADMIN_ADDR", "admin_addr_separate"},
		{"default sqlite", map[string]string{"RAMPART_DATABASE_URL": unset}, "RAMPART_DATABASE_URL", "database_explicit"},
		{"postgres sslmode require", map[string]string{"RAMPART_DATABASE_URL": "postgres://app:" + canaryDBPassword + "@db.internal/r?sslmode=require"}, "RAMPART_DATABASE_URL", "database_tls"},
		{"postgres no sslmode", map[string]string{"RAMPART_DATABASE_URL": "postgresql://app:" + canaryDBPassword + "@10.0.0.5:5432/r"}, "RAMPART_DATABASE_URL", "database_tls"},
		{"postgres host param wins", map[string]string{"RAMPART_DATABASE_URL": "postgres://app:" + canaryDBPassword + "@localhost/r?host=db.internal"}, "RAMPART_DATABASE_URL", "database_tls"},
		{"postgres one remote host", map[string]string{"RAMPART_DATABASE_URL": "postgres://app:" + canaryDBPassword + "@localhost/r?host=/tmp,db.internal"}, "RAMPART_DATABASE_URL", "database_tls"},
		{"redis plain remote", map[string]string{"RAMPART_REDIS_URL": "redis://:" + canaryRedisPassword + "@cache.internal:6379/0"}, "RAMPART_REDIS_URL", "redis_tls"},
		{"debug logging", map[string]string{"RAMPART_LOG_LEVEL": "debug"}, "RAMPART_LOG_LEVEL", "log_level"},
		{"refresh cookie without cors", map[string]string{"RAMPART_REFRESH_COOKIE": "true", "RAMPART_CORS_ORIGINS": unset}, "RAMPART_REFRESH_COOKIE", "refresh_cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := safeProduction()
			for k, v := range tt.change {
				if v == unset {
					delete(env, k)
				} else {
					env[k] = v
				}
			}
			_, err := loadConfig(environ(env))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			found := false
			for line := range strings.Lines(msg) {
				if strings.HasPrefix(line, tt.wantVar+": ") && strings.Contains(line, tt.wantRule) {
					found = true
				}
			}
			if !found {
				t.Errorf("no line naming %s (rule %q) in:\n%s", tt.wantVar, tt.wantRule, msg)
			}
			assertNoCanary(t, "error", msg)

			// The same config outside production loads (unless it is invalid
			// everywhere) and still shows the failing rule in postureChecks.
			env["RAMPART_ENV"] = "development"
			c, err := loadConfig(environ(env))
			if tt.wantRule == "" {
				return
			}
			if err != nil {
				t.Fatalf("development: %v", err)
			}
			for _, pc := range c.postureChecks() {
				if pc.Name == tt.wantRule && pc.OK {
					t.Errorf("postureChecks: %s passes in development, want it to fail", pc.Name)
				}
			}
		})
	}
}

// An entry that is invalid everywhere must not hide another entry that only
// production refuses.
func TestLoadConfigProductionCORSEntries(t *testing.T) {
	env := safeProduction()
	env["RAMPART_CORS_ORIGINS"] = "*,http://b.example.com,https://c.example.com"
	_, err := loadConfig(environ(env))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"RAMPART_CORS_ORIGINS: entry 1: ", "RAMPART_CORS_ORIGINS: entry 2: must be https (production rule cors_origins)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "entry 3") {
		t.Errorf("entry 3 is fine:\n%v", err)
	}
}

func TestLoadConfigProductionAccepted(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string
	}{
		{"baseline", nil},
		{"local postgres without TLS", map[string]string{"RAMPART_DATABASE_URL": "postgres://app:" + canaryDBPassword + "@127.0.0.1:5432/r?sslmode=disable"}},
		{"postgres over unix socket", map[string]string{"RAMPART_DATABASE_URL": "postgres:///r?host=/var/run/postgresql"}},
		{"explicit sqlite", map[string]string{"RAMPART_DATABASE_URL": "sqlite:/var/lib/rampart/rampart.db"}},
		{"plain redis on loopback", map[string]string{"RAMPART_REDIS_URL": "redis://localhost:6379/0"}},
		{"no redis", map[string]string{"RAMPART_REDIS_URL": ""}},
		{"pprof on loopback admin", map[string]string{"RAMPART_PPROF": "true"}},
		{"no cors", map[string]string{"RAMPART_CORS_ORIGINS": ""}},
		{"refresh cookie with cors", map[string]string{"RAMPART_REFRESH_COOKIE": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := safeProduction()
			maps.Copy(env, tt.change)
			c, err := loadConfig(environ(env))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.Env != "production" || c.AutoMigrate {
				t.Errorf("Env = %q, AutoMigrate = %v; want production, false", c.Env, c.AutoMigrate)
			}
			for _, pc := range c.postureChecks() {
				if !pc.OK {
					t.Errorf("%s failed: %s", pc.Name, pc.Detail)
				}
			}
		})
	}
}

func TestPostureChecks(t *testing.T) {
	c, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, pc := range c.postureChecks() {
		if got[pc.Name] {
			t.Errorf("duplicate rule %s", pc.Name)
		}
		got[pc.Name] = pc.OK
		if !strings.HasPrefix(pc.Detail, pc.Var+": ") {
			t.Errorf("%s: detail %q does not start with its variable %s", pc.Name, pc.Detail, pc.Var)
		}
	}
	// The zero-configuration development setup fails exactly the rules that
	// production adds: no master key yet, default SQLite.
	want := map[string]bool{
		"master_key": false, "cors_origins": true, "pprof_admin_loopback": true,
		"admin_addr_separate": true, "database_explicit": false, "database_tls": true,
		"redis_tls": true, "log_level": true, "refresh_cookie": true,
		"mail_transport": true, "public_url": false, // links over http://127.0.0.1:8080
		"signup_mail": true, // open
	}
	if !maps.Equal(got, want) {
		t.Errorf("postureChecks = %v, want %v", got, want)
	}
}

func TestSameListener(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{":8080", "127.0.0.1:8080", true},
		{"0.0.0.0:8080", "10.0.0.1:8080", true},
		{"[::]:8080", "127.0.0.1:8080", true},
		{"localhost:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:9090", false},
		{"127.0.0.1:8080", "10.0.0.1:8080", false},
		{":0", ":0", false},
	}
	for _, tt := range tests {
		if got := sameListener(tt.a, tt.b); got != tt.want {
			t.Errorf("sameListener(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSQLitePath(t *testing.T) {
	tests := []struct {
		url      string
		wantPath string
		wantOK   bool
	}{
		{"sqlite:rampart.db", "/data/rampart.db", true},
		{"sqlite:sub/../r.db", "/data/r.db", true},
		{"sqlite:/abs/r.db", "/abs/r.db", true},
		{"sqlite::memory:", ":memory:", true},
		{"postgres://db/r", "", false},
	}
	for _, tt := range tests {
		c := Config{DatabaseURL: Secret(tt.url), DataDir: "/data"}
		if path, ok := c.SQLitePath(); path != tt.wantPath || ok != tt.wantOK {
			t.Errorf("%s: SQLitePath() = %q, %v; want %q, %v", tt.url, path, ok, tt.wantPath, tt.wantOK)
		}
	}
}

func TestWriteEffective(t *testing.T) {
	env := safeProduction()
	env["RAMPART_DATABASE_URL"] = "postgres://app:" + canaryDBPassword + "@db.internal:5432/rampart?sslmode=verify-full&password=" + canaryDBPassword
	c, err := loadConfig(environ(env))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	c.writeEffective(&buf)
	out := buf.String()
	assertNoCanary(t, "writeEffective", out)

	for _, want := range []string{
		"RAMPART_ENV=production\n",
		"RAMPART_ADDR=:8080\n",
		"RAMPART_DATABASE_URL=postgres://app:REDACTED@db.internal:5432/rampart?password=REDACTED&sslmode=verify-full\n",
		"RAMPART_REDIS_URL=rediss://:REDACTED@cache.internal:6380/0\n",
		"RAMPART_CORS_ORIGINS=https://app.example.com,https://admin.example.com:8443\n",
		"RAMPART_TRUSTED_PROXIES=10.0.0.0/8,fd00::/8\n",
		"RAMPART_RATE_SIGNUP=5/1h\n",
		"RAMPART_RATE_API=600/1m\n",
		"RAMPART_MASTER_KEY=REDACTED\n",
		"RAMPART_AUTO_MIGRATE=false\n",
		"RAMPART_LOG_LEVEL=info\n",
		"RAMPART_SHUTDOWN_TIMEOUT=15s\n",
		"RAMPART_STARTUP_TIMEOUT=1m\n",
		"RAMPART_STEP_UP_MAX_AGE=10m\n",
		"RAMPART_REFRESH_REUSE_GRACE=0s\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// Every known variable except the _FILE forms appears exactly once.
	for name := range knownVars {
		if strings.HasSuffix(name, "_FILE") {
			continue
		}
		if n := strings.Count(out, "\n"+name+"="); n != 1 && !strings.HasPrefix(out, name+"=") {
			t.Errorf("%s appears %d times", name, n)
		}
	}

	// The effective output of a development default loads back to the same Config.
	dev, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	dev.writeEffective(&buf)
	var kv []string
	for line := range strings.Lines(buf.String()) {
		if line = strings.TrimSuffix(line, "\n"); !strings.HasSuffix(line, "=") {
			kv = append(kv, line)
		}
	}
	again, err := loadConfig(kv)
	if err != nil {
		t.Fatalf("reloading effective output: %v", err)
	}
	again.DatabaseExplicit = false // now set explicitly, to the resolved path
	again.DatabaseURL = dev.DatabaseURL
	if fmt.Sprintf("%#v", again) != fmt.Sprintf("%#v", dev) {
		t.Errorf("round trip:\n got %#v\nwant %#v", again, dev)
	}
}

func TestSecretNeverRendered(t *testing.T) {
	s := Secret(canaryKey)
	c := Config{MasterKey: s, DatabaseURL: Secret("postgres://u:" + canaryDBPassword + "@h/d"), RedisURL: Secret("redis://:" + canaryRedisPassword + "@h")}

	var renders []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		renders = append(renders, fmt.Sprintf(f, s), fmt.Sprintf(f, c), fmt.Sprintf(f, &c))
	}
	renders = append(renders, fmt.Sprint(s), fmt.Sprintln(c), s.String())

	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	renders = append(renders, string(j))
	if !strings.Contains(string(j), `"MasterKey":"REDACTED"`) {
		t.Errorf("JSON: %s", j)
	}

	// slog with a plain handler, no ReplaceAttr: the type redacts itself.
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil))
	l.Info("m", "innocent", s, "cfg", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "innocent", s)
	renders = append(renders, buf.String())

	for _, r := range renders {
		assertNoCanary(t, "rendering", r)
	}
	if got := fmt.Sprintf("%q|%v|%#v", s, s, s); got != `"REDACTED"|REDACTED|"REDACTED"` {
		t.Errorf("got %s", got)
	}
	if Secret("").String() != "" || fmt.Sprint(Secret("")) != "" {
		t.Errorf("an empty Secret must render empty")
	}
	if s.Reveal() != canaryKey {
		t.Errorf("Reveal lost the value")
	}
}

func TestEnsureDevMasterKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet

	c := Config{Env: "development", DataDir: dir}
	created, err := ensureDevMasterKey(&c)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	if _, err := decodeMasterKey(c.MasterKey.Reveal()); err != nil {
		t.Fatalf("created key: %v", err)
	}
	if weakKey(mustDecode(t, c.MasterKey.Reveal())) != "" {
		t.Errorf("created key looks weak")
	}
	path := filepath.Join(dir, "master.key")
	assertMode(t, path, 0o600)
	assertMode(t, dir, 0o700)

	again := Config{Env: "test", DataDir: dir}
	created, err = ensureDevMasterKey(&again)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	if again.MasterKey != c.MasterKey {
		t.Errorf("second call did not reuse the key")
	}

	t.Run("refuses a group or world readable file", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "master.key")
		if err := os.WriteFile(path, []byte(canaryKey+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		c := Config{Env: "development", DataDir: dir}
		_, err := ensureDevMasterKey(&c)
		if err == nil || c.MasterKey != "" {
			t.Fatal("accepted a 0644 key file")
		}
		assertNoCanary(t, "error", err.Error())
	})

	t.Run("refuses a malformed file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "master.key"), []byte(canaryBadKey), 0o600); err != nil {
			t.Fatal(err)
		}
		c := Config{Env: "development", DataDir: dir}
		if _, err := ensureDevMasterKey(&c); err == nil {
			t.Fatal("accepted")
		} else {
			assertNoCanary(t, "error", err.Error())
		}
	})

	t.Run("keeps an explicit key and writes nothing", func(t *testing.T) {
		dir := t.TempDir()
		c := Config{Env: "development", DataDir: dir, MasterKey: Secret(canaryKey)}
		if created, err := ensureDevMasterKey(&c); err != nil || created || c.MasterKey.Reveal() != canaryKey {
			t.Fatalf("created=%v err=%v", created, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("wrote files: %v", entries)
		}
	})

	t.Run("never in production", func(t *testing.T) {
		c := Config{Env: "production", DataDir: t.TempDir()}
		if _, err := ensureDevMasterKey(&c); err == nil {
			t.Fatal("created a key in production")
		}
	})
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
}

// TestEmptySecretFileIsNotSet: `NAME_FILE=` (as a compose file or a shell
// leaves it) means "not set": no file is read, it does not clash with NAME,
// and the default or NAME applies.
func TestEmptySecretFileIsNotSet(t *testing.T) {
	c, err := load(t, "RAMPART_MASTER_KEY="+canaryKey, "RAMPART_MASTER_KEY_FILE=",
		"RAMPART_DATABASE_URL_FILE=", "RAMPART_REDIS_URL_FILE=")
	if err != nil {
		t.Fatalf("empty NAME_FILE refused: %v", err)
	}
	if c.MasterKey.Reveal() != canaryKey || c.DatabaseExplicit || c.DatabaseURL != defaultDatabaseURL || c.RedisURL != "" {
		t.Errorf("empty NAME_FILE changed the configuration: key set %v, database %v explicit %v, redis set %v",
			c.MasterKey.Reveal() == canaryKey, maskURL(c.DatabaseURL.Reveal()), c.DatabaseExplicit, c.RedisURL != "")
	}
	// In production an empty NAME_FILE is reported as the missing NAME,
	// not as an unreadable file.
	env := safeProduction()
	delete(env, "RAMPART_MASTER_KEY")
	env["RAMPART_MASTER_KEY_FILE"] = ""
	_, err = loadConfig(environ(env))
	if err == nil || !strings.Contains(err.Error(), "RAMPART_MASTER_KEY: missing") || strings.Contains(err.Error(), "RAMPART_MASTER_KEY_FILE:") {
		t.Errorf("production with RAMPART_MASTER_KEY_FILE empty: %v", err)
	}
}

// TestSignupRateDefaultPerEnv: outside production a newcomer whose first
// passwords were refused can still sign up within the minute; production
// keeps 5 an hour per address; `config check` shows both.
func TestSignupRateDefaultPerEnv(t *testing.T) {
	for env, want := range map[string]Rate{"development": {100, time.Minute}, "test": {100, time.Minute}, "production": {5, time.Hour}} {
		c, _ := load(t, "RAMPART_ENV="+env) // production refuses this environment; the rates still parse
		if got := c.Rates["SIGNUP"]; got != want {
			t.Errorf("%s: RAMPART_RATE_SIGNUP defaults to %v, want %v", env, got, want)
		}
		if c, _ := load(t, "RAMPART_ENV="+env, "RAMPART_RATE_SIGNUP=7/1h"); c.Rates["SIGNUP"] != (Rate{7, time.Hour}) {
			t.Errorf("%s: an explicit RAMPART_RATE_SIGNUP is not used: %v", env, c.Rates["SIGNUP"])
		}
	}
	var out, errOut bytes.Buffer
	_ = configCheck([]string{"HOME=/home/tester"}, &out, &errOut)
	for _, want := range []string{"RAMPART_RATE_SIGNUP=100/1m\n", "default RAMPART_RATE_SIGNUP: 5/1h in production, 100/1m in development and test",
		"NOT enforced in RAMPART_ENV=development"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config check does not say %q:\n%s", want, &out)
		}
	}
	out.Reset()
	_ = configCheck(environ(safeProduction()), &out, &errOut)
	for _, want := range []string{"RAMPART_RATE_SIGNUP=5/1h\n", "ENFORCED in RAMPART_ENV=production"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config check in production does not say %q:\n%s", want, &out)
		}
	}
}

// `config check` must not PASS cookie mode without origins: outside
// production it shows the failing rule, in production it fails.
func TestConfigCheckRefreshCookieNeedsOrigins(t *testing.T) {
	for _, envName := range []string{"development", "production"} {
		t.Run(envName, func(t *testing.T) {
			env := safeProduction()
			env["RAMPART_ENV"] = envName
			env["RAMPART_REFRESH_COOKIE"] = "true"
			delete(env, "RAMPART_CORS_ORIGINS")
			var out, errOut strings.Builder
			err := configCheck(environ(env), &out, &errOut)
			if !strings.Contains(out.String(), "FAIL refresh_cookie") {
				t.Errorf("no failing refresh_cookie rule in:\n%s", out.String())
			}
			if (err != nil) != (envName == "production") {
				t.Errorf("configCheck in %s: %v; stderr %s", envName, err, errOut.String())
			}
			assertNoCanary(t, "config check", out.String()+errOut.String())
		})
	}
}
