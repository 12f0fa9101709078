// Package totp implements time-based one-time passwords (RFC 6238, on HOTP
// from RFC 4226) and single-use recovery codes for MFA (security baseline
// MFA-01, MFA-02, MFA-03 and MFA-05).
//
// The parameters are fixed, not configurable: HMAC-SHA1, 6 digits, 30 s
// steps. Those are the only values every authenticator app supports, and
// authenticators ignore or mishandle other values silently.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

const (
	// SecretSize is the seed length in bytes: 160 bits, the length RFC 4226
	// §4 R6 recommends and MFA-03 requires, and the HMAC-SHA1 block output.
	SecretSize = 20
	// Digits is the code length (MFA-01).
	Digits = 6
	// Period is the time step X of RFC 6238 §4.1 (MFA-01).
	Period = 30 * time.Second
	// Skew is how many steps either side of the current one Verify accepts:
	// RFC 6238 §5.2 recommends at most one step of network delay (MFA-01).
	Skew = 1
)

// b32 is the alphabet authenticator apps expect. Padding is dropped because
// some apps reject '=' in the otpauth URI; 20 bytes encode to exactly 32
// characters anyway.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// GenerateSecret returns a new SecretSize-byte seed from crypto/rand. The
// caller shows it once (EncodeSecret / KeyURI) and stores it encrypted.
func GenerateSecret() ([]byte, error) {
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("totp: generate secret: %w", err)
	}
	return secret, nil
}

// EncodeSecret is the base32 form of secret (no padding) that a user types
// into an authenticator app when they cannot scan the QR code.
func EncodeSecret(secret []byte) string {
	return b32.EncodeToString(secret)
}

// Code returns the 6-digit TOTP for secret at time t.
func Code(secret []byte, t time.Time) string {
	return hotp(secret, uint64(timeStep(t)), Digits)
}

// timeStep is the RFC 6238 time counter T = floor(unix / X), with T0 = 0.
// The server clock is the only input (MFA-01): never pass a client-supplied
// time.
func timeStep(t time.Time) int64 {
	return t.Unix() / int64(Period/time.Second)
}

// hotp is RFC 4226 §5.3: HMAC-SHA1 over the big-endian 8-byte counter, then
// dynamic truncation to a 31-bit integer, reduced to digits decimal digits
// (digits ≤ 9 so the modulus fits in a uint32).
func hotp(secret []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)

	// The low nibble of the last byte picks where to read 4 bytes; the top
	// bit is masked so signed and unsigned implementations agree.
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff

	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// Verify checks code against secret at the server time now.
//
// It accepts the codes of the current step and of Skew steps either side,
// but never a step ≤ lastStep: each code is accepted once, and a code older
// than the last accepted one is refused too (MFA-02, RFC 6238 §5.2). On
// success it returns the matched step, which the caller must store as the
// user's new lastStep. Store it with a compare-and-set (for example
// "UPDATE … SET totp_last_step = $new WHERE id = $1 AND totp_last_step <
// $new", success only if one row changed); otherwise two concurrent requests
// with the same code can both pass. Use 0 as lastStep before the first use.
//
// Anything but exactly Digits ASCII digits is refused without computing an
// HMAC, and so is a secret shorter than SecretSize: a missing or truncated
// secret (say, a decryption bug yielding an empty key) must not turn into a
// key an attacker can compute codes for.
func Verify(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	if len(secret) < SecretSize || !isDigits(code, Digits) {
		return 0, false
	}
	cur := timeStep(now)
	for s := cur - Skew; s <= cur+Skew; s++ {
		if s <= lastStep {
			continue // already used, or older than a used code
		}
		want := hotp(secret, uint64(s), Digits)
		// Constant time so response timing does not reveal how many leading
		// digits of a guess are right. No early return: if two steps share
		// a code (1 in 10^6), the later one is kept, which burns more steps.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// isDigits reports whether s is exactly n ASCII digits. Unicode digits
// (such as "٣") are refused: authenticator codes are ASCII.
func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// KeyURI returns the otpauth:// URI (Google Authenticator Key URI format)
// that the enrolment QR code encodes:
//
//	otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30
//
// The issuer appears both as the label prefix (older apps read only that)
// and as the issuer parameter (newer apps prefer it). Every part is
// percent-encoded, including ':' so that a colon inside the issuer or the
// account cannot move the label's one literal separator, and spaces become
// %20 rather than '+', which some apps show literally.
func KeyURI(secret []byte, issuer, account string) string {
	return "otpauth://totp/" + escape(issuer) + ":" + escape(account) +
		"?secret=" + EncodeSecret(secret) +
		"&issuer=" + escape(issuer) +
		"&algorithm=SHA1" +
		fmt.Sprintf("&digits=%d&period=%d", Digits, int(Period/time.Second))
}

// escape percent-encodes everything but RFC 3986 unreserved characters.
// QueryEscape already leaves only those plus '+' for space, and encodes a
// literal '+' as %2B, so any '+' left came from a space.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
