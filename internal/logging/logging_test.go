package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const canary = "CANARY-SECRET-7f3a9c"

// secret stands in for the server's Secret type: a LogValuer that redacts
// itself. The logging package must not need to know the real type.
type secret string

func (secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// logLines runs fn against a fresh logger and returns each output line
// decoded, failing if any line is not a JSON object.
func logLines(t *testing.T, fn func(l *slog.Logger)) (raw string, events []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	fn(New(&buf, slog.LevelDebug))
	raw = buf.String()
	for line := range strings.Lines(raw) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line is not one JSON object: %v\n%s", err, line)
		}
		events = append(events, m)
	}
	return raw, events
}

func logOne(t *testing.T, fn func(l *slog.Logger)) map[string]any {
	t.Helper()
	_, events := logLines(t, fn)
	if len(events) != 1 {
		t.Fatalf("got %d events, want 1", len(events))
	}
	return events[0]
}

func TestRedactionByKey(t *testing.T) {
	tests := []struct {
		key    string
		redact bool
	}{
		{"authorization", true},
		{"Authorization", true},
		{"proxy-authorization", true},
		{"cookie", true},
		{"Set-Cookie", true},
		{"password", true},
		{"newPassword", true},
		{"current_password", true},
		{"PASSWD", true},
		{"secret", true},
		{"totpSecret", true},
		{"client_secret", true},
		{"token", true},
		{"refresh_token", true},
		{"accessToken", true},
		{"x-csrf-token", true},
		{"apikey", true},
		{"api_key", true},
		{"apiKey", true},
		{"X-Api-Key", true},
		{"APIKey", true},
		{"key", true},
		{"master_key", true},
		{"privateKey", true},
		{"signing-keys", true},
		{"totp", true},
		{"code", true},
		{"recovery_codes", true},
		{"mfaCode", true},
		{"otp", true},
		{"dsn", true},
		{"pg_dsn", true},
		{"database_url", true},
		{"RAMPART_DATABASE_URL", true},
		{"redisURL", true},
		{"jwt", true},
		{"bearer", true},
		{"credentials", true},
		{"pepper", true},

		{"keyId", false},
		{"key_id", false},
		{"api_key_id", false},
		{"token_id", false},
		{"kid", false},
		{"status_code", false},
		{"statusCode", false},
		{"error_code", false},
		{"monkey", false},
		{"keyboard", false},
		{"encoder", false},
		{"user", false},
		{"request_id", false},
		{"route", false},
		{"method", false},
		{"tenant_id", false},
		{"actor", false},
		{"src_ip", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			ev := logOne(t, func(l *slog.Logger) { l.Info("m", slog.String(tt.key, "v-"+canary)) })
			got := ev[tt.key]
			if tt.redact && got != Redacted {
				t.Errorf("%q = %v, want %s", tt.key, got, Redacted)
			}
			if !tt.redact && got != "v-"+canary {
				t.Errorf("%q = %v, want the value kept", tt.key, got)
			}
		})
	}
}

func TestRedactionOfNonStringValues(t *testing.T) {
	raw, _ := logLines(t, func(l *slog.Logger) {
		l.Info("m",
			slog.Int("code", 123456), // a TOTP code as a number
			slog.Any("password", []byte(canary)),
			slog.Any("token", struct{ V string }{canary}),
			slog.Any("user", secret(canary)), // a LogValuer under an innocent key
		)
	})
	for _, leak := range []string{"123456", canary} {
		if strings.Contains(raw, leak) {
			t.Errorf("output contains %q:\n%s", leak, raw)
		}
	}
}

func TestKeptKinds(t *testing.T) {
	// Booleans, durations and times cannot hold a secret and are kept.
	ev := logOne(t, func(l *slog.Logger) {
		l.Info("m", slog.Bool("key_created", true), slog.Duration("token_ttl", time.Second))
	})
	if ev["key_created"] != true {
		t.Errorf("key_created = %v, want true", ev["key_created"])
	}
	// A duration reads as a person writes it, not as nanoseconds.
	if ev["token_ttl"] != "1s" {
		t.Errorf("token_ttl = %v, want \"1s\"", ev["token_ttl"])
	}
}

func TestRedactionInGroups(t *testing.T) {
	raw, events := logLines(t, func(l *slog.Logger) {
		l.Info("m", slog.Group("req",
			slog.String("method", "POST"),
			slog.Group("headers", slog.String("Authorization", "Bearer "+canary)),
		))
		// A sensitive group name redacts everything inside it.
		l.Info("m", slog.Group("credentials", slog.String("user", canary)))
		// Groups opened with WithGroup and attributes added with With.
		l.WithGroup("auth").With(slog.String("refreshToken", canary)).Info("m", slog.String("ok", "yes"))
	})
	if strings.Contains(raw, canary) {
		t.Fatalf("canary leaked:\n%s", raw)
	}
	req := events[0]["req"].(map[string]any)
	if req["method"] != "POST" {
		t.Errorf("req.method = %v, want POST", req["method"])
	}
	if got := req["headers"].(map[string]any)["Authorization"]; got != Redacted {
		t.Errorf("req.headers.Authorization = %v", got)
	}
	if got := events[2]["auth"].(map[string]any)["ok"]; got != "yes" {
		t.Errorf("auth.ok = %v, want yes", got)
	}
}

func TestHeaderAndQueryMaps(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+canary)
	h.Set("Cookie", "sid="+canary)
	h.Set("User-Agent", "test-agent")
	q := url.Values{"access_token": {canary}, "limit": {"20"}}

	raw, events := logLines(t, func(l *slog.Logger) {
		l.Info("m", slog.Any("headers", h), slog.Any("query", q),
			slog.Any("form", map[string]string{"password": canary, "email": "alice@example.com"}))
	})
	if strings.Contains(raw, canary) {
		t.Fatalf("canary leaked:\n%s", raw)
	}
	ev := events[0]
	if got := ev["headers"].(map[string]any)["User-Agent"]; got != "test-agent" {
		t.Errorf("headers.User-Agent = %v", got)
	}
	if got := ev["query"].(map[string]any)["limit"]; got != "20" {
		t.Errorf("query.limit = %v", got)
	}
	if got := ev["form"].(map[string]any)["email"]; got != "a***@example.com" {
		t.Errorf("form.email = %v", got)
	}
}

func TestEmailMasked(t *testing.T) {
	ev := logOne(t, func(l *slog.Logger) {
		l.Info("m", slog.String("email", "alice@example.com"), slog.String("user_email", "nope"))
	})
	if ev["email"] != "a***@example.com" {
		t.Errorf("email = %v", ev["email"])
	}
	if ev["user_email"] != "***" {
		t.Errorf("user_email = %v", ev["user_email"])
	}
}

func TestTruncation(t *testing.T) {
	long := strings.Repeat("é", 2000) // 2-byte runes: the cut must not split one
	ev := logOne(t, func(l *slog.Logger) {
		l.Info(long, slog.String("ua", long), slog.Any("err", errors.New(long)), slog.String("short", "ok"))
	})
	for _, k := range []string{"msg", "ua", "err"} {
		s := ev[k].(string)
		if len(s) > MaxValueBytes {
			t.Errorf("%s: %d bytes, want at most %d", k, len(s), MaxValueBytes)
		}
		if !strings.HasSuffix(s, truncMarker) {
			t.Errorf("%s: no truncation marker", k)
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
			t.Errorf("%s: cut inside a rune", k)
		}
	}
	if ev["short"] != "ok" {
		t.Errorf("short = %v", ev["short"])
	}
	if got := truncate(strings.Repeat("a", MaxValueBytes)); len(got) != MaxValueBytes || strings.HasSuffix(got, truncMarker) {
		t.Errorf("a value of exactly MaxValueBytes must be kept whole")
	}
}

func TestInjectionStaysOneLine(t *testing.T) {
	evil := "Mozilla\n{\"level\":\"ERROR\",\"msg\":\"forged\"}\r\n\x1b[31mred\x1b[0m"
	raw, events := logLines(t, func(l *slog.Logger) {
		l.Info("request", slog.String("user_agent", evil))
		l.Info(evil)
	})
	if n := strings.Count(raw, "\n"); n != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", n, raw)
	}
	if strings.ContainsAny(raw, "\r\x1b") {
		t.Errorf("raw CR or ESC in output: %q", raw)
	}
	if events[0]["user_agent"] != evil || events[1]["msg"] != evil {
		t.Errorf("value not preserved through escaping: %q", events[0]["user_agent"])
	}
	if events[0]["level"] != "INFO" {
		t.Errorf("level = %v", events[0]["level"])
	}
}

func TestEventShape(t *testing.T) {
	ev := logOne(t, func(l *slog.Logger) { l.Warn("hello", slog.String("event", "sys_startup")) })
	ts, ok := ev[TimeKey].(string)
	if !ok {
		t.Fatalf("no %q field: %v", TimeKey, ev)
	}
	parsed, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		t.Fatalf("time %q is not RFC 3339: %v", ts, err)
	}
	// UTC with at most three fractional digits (trailing zeros dropped):
	// 2006-01-02T15:04:05Z up to 2006-01-02T15:04:05.123Z
	if len(ts) < len("2006-01-02T15:04:05Z") || len(ts) > len("2006-01-02T15:04:05.000Z") || !strings.HasSuffix(ts, "Z") {
		t.Errorf("time %q is not UTC with at most milliseconds", ts)
	}
	if d := time.Since(parsed); d < -time.Minute || d > time.Minute {
		t.Errorf("time %v is not now", parsed)
	}
	if ev["level"] != "WARN" || ev["msg"] != "hello" || ev["event"] != "sys_startup" {
		t.Errorf("event = %v", ev)
	}
}

func TestLevel(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, slog.LevelWarn)
	l.Info("dropped")
	l.Error("kept")
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("got %d lines, want 1:\n%s", n, buf.String())
	}
}

func TestWords(t *testing.T) {
	tests := map[string]string{
		"X-Api-Key":      "x api key",
		"privateKey":     "private key",
		"APIKey":         "api key",
		"keyID":          "key id",
		"recovery_codes": "recovery codes",
		"HTTPStatus":     "http status",
		"v2Token":        "v2 token",
	}
	for in, want := range tests {
		if got := strings.Join(words(in), " "); got != want {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPrintfLogger: a library's Printf lines become one JSON event each,
// at the given level, with URL user info masked and the size capped.
func TestPrintfLogger(t *testing.T) {
	raw, events := logLines(t, func(l *slog.Logger) {
		p := PrintfLogger{Logger: l, Msg: "redis client", Level: slog.LevelWarn}
		p.Printf(context.Background(), "redis: dial %s: %v", "rediss://:"+canary+"@cache:6380/0", errors.New("refused\n{\"level\":\"INFO\"}"))
		p.Printf(context.Background(), "%s", strings.Repeat("x", 2*MaxValueBytes))
	})
	if strings.Contains(raw, canary) {
		t.Errorf("output contains the password:\n%s", raw)
	}
	if len(events) != 2 || events[0]["msg"] != "redis client" || events[0]["level"] != "WARN" ||
		!strings.Contains(events[0]["detail"].(string), "rediss://REDACTED@cache:6380/0") {
		t.Fatalf("events: %v", events)
	}
	if d := events[1]["detail"].(string); len(d) > MaxValueBytes {
		t.Errorf("detail is %d bytes, want at most %d", len(d), MaxValueBytes)
	}
	// Below the logger's level nothing is formatted or written.
	var buf bytes.Buffer
	PrintfLogger{Logger: New(&buf, slog.LevelError), Msg: "m", Level: slog.LevelWarn}.Printf(context.Background(), "x")
	if buf.Len() != 0 {
		t.Errorf("a WARN line passed an ERROR logger: %s", &buf)
	}
}
