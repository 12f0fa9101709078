package rampart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"time"
)

// LinkPurpose says what a link, sent by mail, lets its holder do. A token
// of one purpose is never accepted for another.
type LinkPurpose string

const (
	LinkInvitation    LinkPurpose = "invitation"     // join a tenant with a role
	LinkSignup        LinkPurpose = "signup"         // confirm a signup (RAMPART_SIGNUP=verify)
	LinkPasswordReset LinkPurpose = "password_reset" // choose a new password
	LinkVerifyEmail   LinkPurpose = "verify_email"   // prove the account's address
)

// How long a link lasts from when it is issued (api.md, "Accounts and
// memberships"). A reset link is short-lived: it stands in for the
// password.
const (
	InvitationTTL    = 72 * time.Hour
	SignupLinkTTL    = 24 * time.Hour
	VerifyEmailTTL   = 24 * time.Hour
	PasswordResetTTL = 30 * time.Minute
)

// TTL is how long a link of purpose p lasts; 0 for an unknown purpose.
func (p LinkPurpose) TTL() time.Duration {
	switch p {
	case LinkInvitation:
		return InvitationTTL
	case LinkSignup:
		return SignupLinkTTL
	case LinkVerifyEmail:
		return VerifyEmailTTL
	case LinkPasswordReset:
		return PasswordResetTTL
	}
	return 0
}

// LinkToken is the stored side of a link: everything but the token itself,
// of which only the SHA-256 hash is kept. One record type serves every
// purpose; the fields a purpose does not use stay empty.
type LinkToken struct {
	ID      string
	Hash    []byte // SHA-256 of the token's text
	Purpose LinkPurpose
	// Email is the address the link was sent to, as entered; the store
	// also keeps its EmailKey.
	Email string
	// AccountID is the account the link is for, "" when there is none yet
	// (an invitation or signup for a new address).
	AccountID string
	TenantID  string // invitation: the tenant to join; else ""
	Role      Role   // invitation: the role in it; else ""
	// DisplayName and Organization: a signup's; DisplayName may also be
	// an invitation's suggestion.
	DisplayName  string
	Organization string
	// PasswordHash is, for a signup in verify mode, the argon2id hash of
	// the password chosen at signup, kept until the link confirms it.
	PasswordHash string
	// PasswordStamp binds the link to the account's password when it was
	// issued (see PasswordStamp): once the password changes, the link is
	// dead.
	PasswordStamp []byte
	CreatedBy     string // the user who issued it (an invitation's admin); "" for the public flows
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time // zero until redeemed
	RevokedAt     time.Time // zero unless revoked
}

func (l *LinkToken) roundTimes() { roundEach(&l.CreatedAt, &l.ExpiresAt, &l.UsedAt, &l.RevokedAt) }

// ListCursor returns l's position in a listing.
func (l *LinkToken) ListCursor() Cursor { return Cursor{CreatedAt: l.CreatedAt, ID: l.ID} }

// Invitation is the public view of an invitation link (api.md
// "Invitation").
type Invitation struct {
	ID        string
	Email     string
	Role      Role
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Invitation returns the public view of l, an invitation.
func (l *LinkToken) Invitation() *Invitation {
	return &Invitation{ID: l.ID, Email: l.Email, Role: l.Role, ExpiresAt: l.ExpiresAt, CreatedAt: l.CreatedAt}
}

// Link tokens have the form
//
//	rpl_<secret><checksum>
//
// where <secret> is 256 bits from crypto/rand in 43 characters of unpadded
// base64url and <checksum> the CRC-32 of everything before it in 6 more.
// The prefix lets secret scanners recognise a leaked link token (the
// pattern is rpl_[A-Za-z0-9_-]{49}); the checksum lets them, and this
// server, refuse a mistyped or altered token without a lookup (GH-TOK, as
// for API keys). Only the SHA-256 of the whole text is stored.
const (
	LinkTokenPrefix    = "rpl_"
	linkSecretLen      = 32 // bytes
	linkSecretEnc      = 43 // base64url characters of the secret
	linkSumEnc         = 6  // base64url characters of the checksum
	LinkTokenLen       = len(LinkTokenPrefix) + linkSecretEnc + linkSumEnc
	linkStampDomain    = "rampart link password stamp v1\x00"
	invalidLinkMessage = "this link is invalid or has expired"
)

var b64url = base64.RawURLEncoding.Strict()

// InvalidLinkError is the one answer to every link that cannot be used:
// unknown, malformed, altered, used, revoked, expired, of another purpose,
// or issued before the account's password changed. Telling them apart
// would tell an attacker which tokens exist. It names no token.
func InvalidLinkError() error {
	return &Error{Kind: KindInvalid, Code: CodeInvalidLink, Field: "token", Message: invalidLinkMessage}
}

// NewLinkToken returns the text of a new link token, to be sent once and
// never stored, and the hash to store.
func NewLinkToken() (token string, hash []byte) {
	secret := make([]byte, linkSecretLen)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go ≥ 1.24)
	body := LinkTokenPrefix + b64url.EncodeToString(secret)
	token = body + linkChecksum(body)
	return token, hashToken(token)
}

func linkChecksum(body string) string {
	return b64url.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE([]byte(body))))
}

// ParseLinkToken checks the form of a link token and returns the hash to
// look it up by. Anything that is not exactly a token NewLinkToken could
// have made (a wrong prefix or length, a character outside base64url, a
// non-canonical encoding, a wrong checksum) gets InvalidLinkError, the
// same error as a token that is not found, and is never looked up.
func ParseLinkToken(token string) ([]byte, error) {
	if len(token) != LinkTokenLen || !strings.HasPrefix(token, LinkTokenPrefix) {
		return nil, InvalidLinkError()
	}
	body, sum := token[:len(token)-linkSumEnc], token[len(token)-linkSumEnc:]
	// Strict decoding refuses stray bits in the last character, so one
	// secret has one spelling; the decoder skips CR and LF, which the
	// length check alone would not notice, hence the alphabet check.
	for i := len(LinkTokenPrefix); i < len(token); i++ {
		if !isBase64URL(token[i]) {
			return nil, InvalidLinkError()
		}
	}
	if secret, err := b64url.DecodeString(body[len(LinkTokenPrefix):]); err != nil || len(secret) != linkSecretLen {
		return nil, InvalidLinkError()
	}
	if subtle.ConstantTimeCompare([]byte(linkChecksum(body)), []byte(sum)) != 1 {
		return nil, InvalidLinkError()
	}
	return hashToken(token), nil
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// NewLink returns a new link of purpose for the address email, issued at
// now and expiring after the purpose's TTL, bound to no password (a
// caller whose link is for an existing account sets AccountID and
// PasswordStamp to PasswordStamp(its password hash)), and the token to send. The caller fills in what the
// purpose needs and stores it with CreateLinkToken.
func NewLink(purpose LinkPurpose, email string, now time.Time) (*LinkToken, string) {
	token, hash := NewLinkToken()
	return &LinkToken{
		ID:            NewID(),
		Hash:          hash,
		Purpose:       purpose,
		Email:         email,
		PasswordStamp: PasswordStamp(""),
		CreatedAt:     now,
		ExpiresAt:     now.Add(purpose.TTL()),
	}, token
}

// RedeemLink uses up the link token for purpose at the given time, through
// s (a transaction, when the caller goes on to act on it). It returns the
// link only when the token is well formed, exists, has that purpose and is
// unused, unrevoked and unexpired; every other case is InvalidLinkError.
// Of concurrent redemptions of one token exactly one succeeds. A caller
// whose link is bound to an account then checks the stamp against the
// account as it is now (CheckStamp) and returns its error from the same
// transaction.
func RedeemLink(ctx context.Context, s Store, token string, purpose LinkPurpose, at time.Time) (*LinkToken, error) {
	hash, err := ParseLinkToken(token)
	if err != nil {
		return nil, err
	}
	l, err := s.RedeemLinkToken(ctx, hash, purpose, at)
	if err != nil {
		return nil, notFoundAs(err, InvalidLinkError())
	}
	return l, nil
}

// PasswordStamp returns what a link keeps of the account's password hash
// when it is issued: a SHA-256 of the hash, under a label of its own, so
// that a link issued before a password change no longer matches after it
// (argon2id hashes are salted, so even the same password gives a new
// hash). "" (no account, or no password yet) has a stamp too.
func PasswordStamp(passwordHash string) []byte {
	h := sha256.Sum256([]byte(linkStampDomain + passwordHash))
	return h[:]
}

// CheckStamp returns nil when l was issued while the account's password
// hash was passwordHash ("" for an account without one, or none), and
// InvalidLinkError otherwise: a link from before a password change is
// refused like any other dead link. The comparison takes constant time.
func (l *LinkToken) CheckStamp(passwordHash string) error {
	if subtle.ConstantTimeCompare(l.PasswordStamp, PasswordStamp(passwordHash)) != 1 {
		return InvalidLinkError()
	}
	return nil
}
