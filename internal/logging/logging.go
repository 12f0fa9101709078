// Package logging builds the server's structured logger: JSON, one event
// per line, with secrets redacted in one place (the handler's ReplaceAttr)
// rather than at every call site, where one forgotten call would leak
// (security baseline LOG-01, LOG-02).
//
// What is redacted, by attribute key (case-insensitive, at any depth; a
// group whose name is sensitive redacts everything inside it). The key is
// split into words at separators and camelCase boundaries ("X-Api-Key" and
// "privateKey" both end in the word "key"):
//
//   - keys containing authorization, bearer, cookie, credential, password,
//     passwd, passphrase, secret, token, apikey (api_key, apiKey), totp,
//     pepper, databaseurl (database_url) or redisurl;
//   - keys with a whole word key, dsn, jwt, otp or code, plural or not.
//     Whole words only, so "monkey", "keyboard" and "encode" are kept.
//     "code" is kept after status, error, err, exit, http, response,
//     country, currency, lang or language ("status_code" is not a TOTP code);
//   - a key whose last word is "id" or "ids" names an identifier, not the
//     secret, and is kept: "keyId", "api_key_id", "token_id". ("kid" is a
//     single word and never matched.) Name a rate-limit bucket "bucket",
//     not "key".
//
// Boolean, duration and time values are never redacted: they cannot carry a
// secret, and "key_created=true" is worth seeing. Durations are written as
// Go duration strings ("15s", "1.5ms"), not as a count of nanoseconds.
//
// Values: a type that implements slog.LogValuer (such as the server's
// Secret) redacts itself whatever its key. Email addresses under a key with
// the word "email" are masked to "a***@example.com". Headers and query
// values (http.Header, url.Values, map[string][]string, map[string]string)
// are logged as groups so each name goes through the key rules: logging a
// whole header map does not leak Authorization or Cookie. Other structs and
// maps are marshalled whole by slog and are not inspected: log fields, not
// domain objects.
//
// Every string value (messages and errors included) is capped at 1 KiB so a
// client cannot bloat lines. CR, LF, quotes and ANSI escapes are escaped by
// slog's JSON encoder, so a value can never start a new line or a fake event.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// TimeKey is the key of the event time. It is slog's default; if the log
// pipeline wants "ts" (LOG-01), change it here.
const TimeKey = slog.TimeKey

const (
	// Redacted replaces the value of a sensitive attribute.
	Redacted = "REDACTED"

	// MaxValueBytes caps every string value, marker included.
	MaxValueBytes = 1 << 10
	truncMarker   = "…(truncated)"
)

// New returns a logger that writes one JSON object per line to w, at level
// and above, with time in UTC RFC 3339 with milliseconds and every attribute
// passed through the redaction rules above.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: replaceAttr,
	}))
}

// replaceAttr is the one place where log output is made safe. slog calls it
// for every non-group attribute with the names of the enclosing groups, after
// resolving LogValuers.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.TimeKey:
			if a.Value.Kind() == slog.KindTime {
				// UTC in RFC 3339 with at most millisecond digits, so every
				// line reads the same clock. Returned as a time (not a
				// formatted string) because slog appends it without
				// allocating, once per log line.
				return slog.Time(TimeKey, a.Value.Time().UTC().Truncate(time.Millisecond))
			}
		case slog.LevelKey:
			// A string, not the Level value: slog would marshal that
			// through encoding/json on every line.
			if l, ok := a.Value.Any().(slog.Level); ok {
				return slog.String(slog.LevelKey, l.String())
			}
			return a
		}
	}

	switch a.Value.Kind() {
	case slog.KindBool, slog.KindTime:
		return a // cannot carry a secret
	case slog.KindDuration:
		return slog.String(a.Key, a.Value.Duration().String()) // a person reads "15s", not 15000000000
	}

	class := classify(a.Key)
	if class.sensitive || slices.ContainsFunc(groups, func(g string) bool { return classify(g).sensitive }) {
		return slog.String(a.Key, Redacted)
	}

	if a.Value.Kind() == slog.KindAny {
		switch v := a.Value.Any().(type) {
		case error:
			// Error text often quotes user input; cap it like any string.
			a.Value = slog.StringValue(v.Error())
		case http.Header:
			return slog.Attr{Key: a.Key, Value: multiMapGroup(v)}
		case url.Values:
			return slog.Attr{Key: a.Key, Value: multiMapGroup(v)}
		case map[string][]string:
			return slog.Attr{Key: a.Key, Value: multiMapGroup(v)}
		case map[string]string:
			attrs := make([]slog.Attr, 0, len(v))
			for _, k := range slices.Sorted(maps.Keys(v)) {
				attrs = append(attrs, slog.String(k, v[k]))
			}
			return slog.Attr{Key: a.Key, Value: slog.GroupValue(attrs...)}
		}
	}

	if a.Value.Kind() == slog.KindString {
		s := a.Value.String()
		if class.email {
			s = maskEmail(s)
		}
		a.Value = slog.StringValue(truncate(s))
	}
	return a
}

// multiMapGroup turns a header or query map into a group, so that slog calls
// replaceAttr for each name. Multiple values are joined with ", " as in
// HTTP; their total is capped like any string.
func multiMapGroup(m map[string][]string) slog.Value {
	attrs := make([]slog.Attr, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) { // deterministic output
		attrs = append(attrs, slog.String(k, strings.Join(m[k], ", ")))
	}
	return slog.GroupValue(attrs...)
}

// Substrings of the key with separators removed ("api_key" → "apikey").
// Matching inside words is deliberate for these long, unambiguous names:
// "newPassword", "refreshtoken" and "x-csrf-token" must all match.
var sensitiveSubstrings = []string{
	"authorization", "bearer", "cookie", "credential", "password", "passwd", "passphrase",
	"secret", "token", "apikey", "totp", "pepper", "databaseurl", "redisurl",
}

// Short words that are secrets only as whole words of the key.
var sensitiveWords = []string{"key", "dsn", "jwt", "otp", "code"}

// Words before "code" that make it a non-secret code.
var benignCodeQualifiers = []string{
	"status", "error", "err", "exit", "http", "response", "country", "currency", "lang", "language",
}

// keyClass is what the rules say about one attribute key.
type keyClass struct {
	sensitive bool // the value is a secret
	email     bool // the value is an email address to mask
}

// The classes of keys already seen are remembered, since the same few dozen
// keys come by on every log line and splitting them into words is the
// costly part. Header and query names come from clients, so the memory is
// bounded: past maxClassifiedKeys, keys are classified afresh each time.
const maxClassifiedKeys = 4096

var (
	classesMu sync.RWMutex
	classes   = map[string]keyClass{}
)

func classify(key string) keyClass {
	classesMu.RLock()
	c, ok := classes[key]
	classesMu.RUnlock()
	if ok {
		return c
	}
	ws := words(key)
	c = keyClass{sensitive: secretWords(ws), email: hasWord(ws, "email")}
	classesMu.Lock()
	if len(classes) < maxClassifiedKeys {
		classes[key] = c
	}
	classesMu.Unlock()
	return c
}

// secretWords applies the rules to a key already split into words.
func secretWords(ws []string) bool {
	if len(ws) == 0 {
		return false
	}
	if last := ws[len(ws)-1]; last == "id" || last == "ids" {
		return false // an identifier of a key or token, not its value
	}
	joined := strings.Join(ws, "")
	for _, s := range sensitiveSubstrings {
		if strings.Contains(joined, s) {
			return true
		}
	}
	for i, w := range ws {
		w = strings.TrimSuffix(w, "s") // "keys", "codes"
		if !slices.Contains(sensitiveWords, w) {
			continue
		}
		if w == "code" && i > 0 && slices.Contains(benignCodeQualifiers, ws[i-1]) {
			continue
		}
		return true
	}
	return false
}

// words splits a key into lowercase words at any non-letter, non-digit and
// at camelCase boundaries: "X-Api-Key" → x api key, "privateKey" → private
// key, "APIKey" → api key, "recovery_codes" → recovery codes.
func words(key string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			// "fooBar" splits before B; "APIKey" splits before K (an
			// upper-case run ends where a capitalised word begins).
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

func hasWord(ws []string, w string) bool {
	return slices.Contains(ws, w) || slices.Contains(ws, w+"s")
}

// maskEmail keeps the first character of the local part and the domain
// (LOG-02: "a***@x.io"), enough to correlate without storing the address.
func maskEmail(s string) string {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + "***@" + domain
}

// truncate caps s at MaxValueBytes bytes including the marker, cutting on
// a UTF-8 boundary.
func truncate(s string) string {
	if len(s) <= MaxValueBytes {
		return s
	}
	n := MaxValueBytes - len(truncMarker)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + truncMarker
}

// PrintfLogger hands the lines of a library that logs through
// Printf(ctx, format, args...) (go-redis's redis.SetLogger) to the
// structured logger, so they are JSON events that pass the redaction and
// the size cap like any other, instead of free text on stderr. The text
// goes under "detail" with any URL user info (user:password@) masked, since
// the handler cannot see secrets inside a formatted string.
type PrintfLogger struct {
	Logger *slog.Logger
	Msg    string     // the event's message, naming the library: "redis client"
	Level  slog.Level // libraries log failures this way; slog.LevelWarn
}

func (p PrintfLogger) Printf(ctx context.Context, format string, args ...any) {
	if !p.Logger.Enabled(ctx, p.Level) {
		return
	}
	p.Logger.LogAttrs(ctx, p.Level, p.Msg, slog.String("detail", maskUserinfo(fmt.Sprintf(format, args...))))
}

// userinfo is the user:password@ part of a URL in free text.
var userinfo = regexp.MustCompile(`(://)[^/@\s]*@`)

func maskUserinfo(s string) string { return userinfo.ReplaceAllString(s, "${1}"+Redacted+"@") }
