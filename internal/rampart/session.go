package rampart

import (
	"net/netip"
	"strings"
	"time"
	"unicode"
)

// Session is one refresh-token family: a sign-in and every refresh token
// rotated from it. Only hashes of refresh tokens are stored. Besides the two
// below, the store keeps the hash of every earlier token of the family, so
// that the reuse of any of them is recognised (see
// Store.FindSessionByTokenHash).
type Session struct {
	ID       string
	TenantID string
	UserID   string
	// TokenHash is the SHA-256 hash of the current refresh token.
	TokenHash []byte
	// PreviousTokenHash is the hash of the token that TokenHash replaced, and
	// RotatedAt is when. Together they let a refresh that raced a rotation
	// succeed within a short grace window, while a later reuse of the old
	// token is recognised as theft. Both are zero before the first rotation.
	PreviousTokenHash []byte
	RotatedAt         time.Time
	CreatedAt         time.Time
	LastUsedAt        time.Time
	IdleExpiresAt     time.Time // the session ends if not used before this
	ExpiresAt         time.Time // the session ends at this time, used or not
	RevokedAt         time.Time // zero while not revoked
	RevokedReason     string
	// AuthTime is when this session last proved the password (and the
	// second factor when the account has one): at sign-in and at each
	// reauthentication, never at a refresh. Access tokens carry it as
	// auth_time for step-up checks (RFC 9470). Zero for a session an older
	// build created: such a session must reauthenticate before a sensitive
	// change.
	AuthTime time.Time
	// ClientAddress (a coarse network, see CoarseAddress) and UserAgent
	// (see ShortUserAgent) describe where the session last obtained tokens,
	// so that a person can tell their sessions apart. They are updated
	// together with LastUsedAt.
	ClientAddress string
	UserAgent     string
}

// EndsAt is when the session ends if it is not used again (and not
// revoked): the earlier of its idle and absolute deadlines.
func (s *Session) EndsAt() time.Time {
	if s.IdleExpiresAt.Before(s.ExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.ExpiresAt
}

// CoarseAddress returns the network a client address belongs to, coarse
// enough not to pinpoint a person but fine enough to tell "home" from
// "office": the IPv4 /24 or IPv6 /48 ("203.0.113.0/24"). An IPv4-mapped
// IPv6 address counts as IPv4. Anything unparsable gives "".
func CoarseAddress(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	addr = addr.Unmap().WithZone("")
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	prefix, err := addr.Prefix(bits)
	if err != nil {
		return ""
	}
	return prefix.String()
}

// MaxUserAgentRunes bounds a stored user agent, in characters.
const MaxUserAgentRunes = 200

// ShortUserAgent makes a User-Agent header fit for storing and showing:
// invalid UTF-8 becomes U+FFFD (PostgreSQL text and JSON refuse it),
// control characters go, and the result is cut to MaxUserAgentRunes
// characters, on a character boundary.
func ShortUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range ua {
		if unicode.IsControl(r) {
			continue
		}
		if n == MaxUserAgentRunes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
