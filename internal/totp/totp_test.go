package totp

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA1 seed of RFC 4226 Appendix D and RFC 6238 Appendix B.
var rfcSecret = []byte("12345678901234567890")

func TestHOTPRFC4226(t *testing.T) {
	// RFC 4226 Appendix D, counters 0 to 9.
	want := []string{"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489"}
	for c, w := range want {
		if got := hotp(rfcSecret, uint64(c), 6); got != w {
			t.Errorf("HOTP(count=%d) = %s, want %s", c, got, w)
		}
	}
}

func TestTOTPRFC6238(t *testing.T) {
	// RFC 6238 Appendix B, SHA1 rows (8 digits).
	vectors := []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, v := range vectors {
		tm := time.Unix(v.unix, 0)
		if got := hotp(rfcSecret, uint64(timeStep(tm)), 8); got != v.want {
			t.Errorf("TOTP8(%d) = %s, want %s", v.unix, got, v.want)
		}
		// The 6-digit code is the same value mod 10^6: the last 6 digits.
		if got, w := Code(rfcSecret, tm), v.want[2:]; got != w {
			t.Errorf("Code(%d) = %s, want %s", v.unix, got, w)
		}
	}
}

func TestGenerateSecret(t *testing.T) {
	a, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != SecretSize || len(b) != SecretSize {
		t.Fatalf("lengths %d, %d, want %d", len(a), len(b), SecretSize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two secrets are equal")
	}
	// MFA-03's black-box check: ≥ 32 base32 characters, no padding.
	if enc := EncodeSecret(a); len(enc) != 32 || strings.Contains(enc, "=") {
		t.Fatalf("EncodeSecret = %q, want 32 chars without padding", enc)
	}
}

func TestEncodeSecretRFC(t *testing.T) {
	if got, want := EncodeSecret(rfcSecret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; got != want {
		t.Fatalf("EncodeSecret = %s, want %s", got, want)
	}
}

func TestKeyURI(t *testing.T) {
	issuer, account := "Rampart Test Co", "alice smith:ops@example.com"
	got := KeyURI(rfcSecret, issuer, account)

	const want = "otpauth://totp/Rampart%20Test%20Co:alice%20smith%3Aops%40example.com" +
		"?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Rampart%20Test%20Co" +
		"&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Fatalf("KeyURI =\n %s\nwant\n %s", got, want)
	}

	// Parse it back the way an authenticator would.
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("scheme/host = %s/%s", u.Scheme, u.Host)
	}
	// Exactly one literal ':' separates issuer and account in the label.
	label := strings.TrimPrefix(u.EscapedPath(), "/")
	parts := strings.Split(label, ":")
	if len(parts) != 2 {
		t.Fatalf("label %q has %d ':'-separated parts, want 2", label, len(parts))
	}
	if iss, _ := url.PathUnescape(parts[0]); iss != issuer {
		t.Errorf("label issuer = %q, want %q", iss, issuer)
	}
	if acc, _ := url.PathUnescape(parts[1]); acc != account {
		t.Errorf("label account = %q, want %q", acc, account)
	}
	q := u.Query()
	for k, v := range map[string]string{
		"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "issuer": issuer,
		"algorithm": "SHA1", "digits": "6", "period": "30",
	} {
		if q.Get(k) != v {
			t.Errorf("query %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if strings.Contains(got, "+") {
		t.Error("URI contains '+': spaces must be %20")
	}
}

// secret20 is a SecretSize key; rfcSecret happens to be 20 bytes too.
var secret20 = rfcSecret

// now is in the middle of a step, so ±n steps are exactly n*Period away.
var now = time.Unix(1_700_000_000/30*30+15, 0)

func codeAt(steps int) string {
	return Code(secret20, now.Add(time.Duration(steps)*Period))
}

func TestVerifyWindow(t *testing.T) {
	cur := timeStep(now)
	for _, tc := range []struct {
		steps int
		ok    bool
	}{{-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}} {
		code := codeAt(tc.steps)
		// Guard against a chance collision with an accepted step.
		if !tc.ok && (code == codeAt(-1) || code == codeAt(0) || code == codeAt(1)) {
			t.Fatalf("test vector collision at %+d", tc.steps)
		}
		step, ok := Verify(secret20, code, now, 0)
		if ok != tc.ok {
			t.Errorf("step %+d: ok = %v, want %v", tc.steps, ok, tc.ok)
		}
		if ok && step != cur+int64(tc.steps) {
			t.Errorf("step %+d: returned step %d, want %d", tc.steps, step, cur+int64(tc.steps))
		}
	}
}

func TestVerifyReplay(t *testing.T) {
	code := codeAt(0)
	step, ok := Verify(secret20, code, now, 0)
	if !ok {
		t.Fatal("first use refused")
	}
	// The caller stores step; the same code is refused for the rest of its
	// validity, including a few seconds later in the same step.
	if _, ok := Verify(secret20, code, now, step); ok {
		t.Error("second use of the same code accepted")
	}
	if _, ok := Verify(secret20, code, now.Add(10*time.Second), step); ok {
		t.Error("second use later in the step accepted")
	}
	// After the current step was used, the previous step's code (still in
	// the ±1 window) is refused: a code older than the last used one.
	if _, ok := Verify(secret20, codeAt(-1), now, step); ok {
		t.Error("older code accepted after a newer one was used")
	}
	// The next step's code is still fine.
	next, ok := Verify(secret20, codeAt(1), now, step)
	if !ok || next != step+1 {
		t.Errorf("next-step code: step %d ok %v, want %d true", next, ok, step+1)
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	good := codeAt(0)
	for _, code := range []string{
		"", "12345", "1234567", good + " ", " " + good, good[:5] + "a",
		"12 456", "-12345", "+12345", "١٢٣٤٥٦", // Arabic-Indic digits
		"１２３４５６", // full-width digits
	} {
		if _, ok := Verify(secret20, code, now, 0); ok {
			t.Errorf("Verify(%q) accepted", code)
		}
	}
	// Malformed input is refused before any HMAC is computed.
	if n := testing.AllocsPerRun(10, func() { Verify(secret20, "12a456", now, 0) }); n != 0 {
		t.Errorf("malformed code: %v allocs, want 0 (no HMAC)", n)
	}
}

func TestVerifyRejectsShortSecret(t *testing.T) {
	for _, s := range [][]byte{nil, {}, rfcSecret[:19]} {
		code := Code(s, now)
		if _, ok := Verify(s, code, now, 0); ok {
			t.Errorf("secret of %d bytes accepted", len(s))
		}
	}
}
