package rampart_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// linkPattern is what a secret scanner would look for.
var linkPattern = regexp.MustCompile(`^rpl_[A-Za-z0-9_-]{49}$`)

func TestNewLinkToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		token, hash := rampart.NewLinkToken()
		if !linkPattern.MatchString(token) || len(token) != rampart.LinkTokenLen {
			t.Fatalf("token %q does not have the form rpl_ + 49 base64url characters", token)
		}
		want := sha256.Sum256([]byte(token))
		if string(hash) != string(want[:]) {
			t.Fatalf("hash is not the SHA-256 of the token")
		}
		parsed, err := rampart.ParseLinkToken(token)
		if err != nil || string(parsed) != string(hash) {
			t.Fatalf("ParseLinkToken of a new token: %x, %v; want its hash", parsed, err)
		}
		secret, err := base64.RawURLEncoding.DecodeString(token[4:47])
		if err != nil || len(secret) != 32 {
			t.Fatalf("the secret part is not 256 bits of base64url: %v", err)
		}
		if seen[token] {
			t.Fatal("NewLinkToken repeated a token")
		}
		seen[token] = true
	}
}

// sameAsInvalidLink fails unless err is exactly the one answer every bad
// link gets, and names nothing of what was sent.
func sameAsInvalidLink(t *testing.T, what string, err error, sent ...string) {
	t.Helper()
	want := rampart.InvalidLinkError()
	if !reflect.DeepEqual(err, want) {
		t.Errorf("%s: got %#v, want %#v", what, err, want)
		return
	}
	for _, s := range sent {
		if len(s) >= 8 && (strings.Contains(err.Error(), s) || strings.Contains(err.Error(), s[4:min(len(s), 47)])) {
			t.Errorf("%s: the error %q repeats the token", what, err)
		}
	}
}

// malformedLinks are variations of a good token that ParseLinkToken must
// refuse on their form alone.
func malformedLinks(t *testing.T) map[string]string {
	t.Helper()
	token, _ := rampart.NewLinkToken()
	body, sum := token[:47], token[47:]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// A secret whose last character carries stray low bits decodes to the
	// same 32 bytes when decoding is lax: a second spelling of one token.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", body[46])
	stray := body[:46] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1])
	return map[string]string{
		"empty":                   "",
		"prefix only":             "rpl_",
		"wrong prefix":            "rpk_" + token[4:],
		"upper-case prefix":       "RPL_" + token[4:],
		"API key prefix":          "rk_" + token[3:],
		"one character short":     token[:len(token)-1],
		"one character long":      token + "A",
		"trailing newline":        token + "\n",
		"newline inside":          token[:20] + "\n" + token[21:],
		"carriage return inside":  token[:20] + "\r" + token[21:],
		"space inside":            token[:20] + " " + token[21:],
		"standard base64 +":       token[:20] + "+" + token[21:],
		"standard base64 /":       token[:20] + "/" + token[21:],
		"padding":                 token[:52] + "=",
		"non-ASCII":               token[:20] + "é" + token[22:],
		"NUL":                     token[:20] + "\x00" + token[21:],
		"altered secret":          flip(body, 10) + sum,
		"altered checksum":        body + flip(sum, 2),
		"secret and checksum":     flip(body, 10) + flip(sum, 2),
		"stray bits, fixed sum":   stray + rampart.LinkChecksumForTest(stray),
		"a token twice":           token + token,
		"URL-encoded":             strings.ReplaceAll(token, "_", "%5F"),
		"quoted":                  `"` + token[1:len(token)-1] + `"`,
		"hash instead of token":   base64.RawURLEncoding.EncodeToString([]byte(token))[:len(token)],
		"good body, empty sum":    body + "AAAAAA",
		"lower-case copy of good": strings.ToLower(token),
	}
}

func TestParseLinkTokenRefusesMalformed(t *testing.T) {
	for name, bad := range malformedLinks(t) {
		hash, err := rampart.ParseLinkToken(bad)
		if hash != nil {
			t.Errorf("%s: a hash for a malformed token", name)
		}
		sameAsInvalidLink(t, name, err, bad)
	}
}

// spyStore counts the lookups a redemption makes.
type spyStore struct {
	rampart.Store
	lookups atomic.Int32
}

func (s *spyStore) RedeemLinkToken(ctx context.Context, hash []byte, purpose rampart.LinkPurpose, at time.Time) (*rampart.LinkToken, error) {
	s.lookups.Add(1)
	return s.Store.RedeemLinkToken(ctx, hash, purpose, at)
}

func linkStore(t *testing.T) (*spyStore, *rampart.Tenant) {
	t.Helper()
	st, _ := sqliteStore(t)
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme", CreatedAt: time.Now()}
	admin := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: rampart.NewID() + "@example.com",
		Role: rampart.RoleAdmin, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := rampart.CreateTenantWithAdmin(t.Context(), st, tenant, admin); err != nil {
		t.Fatal(err)
	}
	return &spyStore{Store: st}, tenant
}

// TestRedeemLinkOneAnswer: every link that cannot be used gets the same
// error, byte for byte; a malformed one is refused without a lookup; the
// error never repeats the token.
func TestRedeemLinkOneAnswer(t *testing.T) {
	ctx := t.Context()
	s, tenant := linkStore(t)
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

	for name, bad := range malformedLinks(t) {
		l, err := rampart.RedeemLink(ctx, s, bad, rampart.LinkPasswordReset, now)
		if l != nil {
			t.Errorf("%s: redeemed", name)
		}
		sameAsInvalidLink(t, name, err, bad)
	}
	if n := s.lookups.Load(); n != 0 {
		t.Errorf("malformed tokens were looked up %d times; want none", n)
	}

	issue := func(purpose rampart.LinkPurpose, at time.Time) (*rampart.LinkToken, string) {
		l, token := rampart.NewLink(purpose, "Someone@Example.com", at)
		if purpose == rampart.LinkInvitation {
			l.TenantID, l.Role = tenant.ID, rampart.RoleMember
		}
		if err := s.CreateLinkToken(ctx, l); err != nil {
			t.Fatal(err)
		}
		return l, token
	}
	unknown, _ := rampart.NewLinkToken()
	_, used := issue(rampart.LinkVerifyEmail, now)
	if _, err := rampart.RedeemLink(ctx, s, used, rampart.LinkVerifyEmail, now); err != nil {
		t.Fatal(err)
	}
	_, expired := issue(rampart.LinkPasswordReset, now.Add(-rampart.PasswordResetTTL))
	_, justExpired := issue(rampart.LinkPasswordReset, now.Add(-rampart.PasswordResetTTL+time.Microsecond))
	revokedLink, revoked := issue(rampart.LinkInvitation, now)
	if err := s.RevokeInvitation(ctx, tenant.ID, revokedLink.ID, now); err != nil {
		t.Fatal(err)
	}
	_, invitation := issue(rampart.LinkInvitation, now)
	_, reset := issue(rampart.LinkPasswordReset, now)
	before := s.lookups.Load()
	for _, c := range []struct {
		name, token string
		purpose     rampart.LinkPurpose
		at          time.Time
	}{
		{"unknown", unknown, rampart.LinkPasswordReset, now},
		{"used", used, rampart.LinkVerifyEmail, now},
		{"expired", expired, rampart.LinkPasswordReset, now},
		{"expired a microsecond ago", justExpired, rampart.LinkPasswordReset, now.Add(time.Microsecond)},
		{"revoked", revoked, rampart.LinkInvitation, now},
		{"invitation as reset", invitation, rampart.LinkPasswordReset, now},
		{"invitation as signup", invitation, rampart.LinkSignup, now},
		{"reset as verification", reset, rampart.LinkVerifyEmail, now},
		{"reset after 30 minutes", reset, rampart.LinkPasswordReset, now.Add(30 * time.Minute)},
	} {
		l, err := rampart.RedeemLink(ctx, s, c.token, c.purpose, c.at)
		if l != nil {
			t.Errorf("%s: redeemed", c.name)
		}
		sameAsInvalidLink(t, c.name, err, c.token)
	}
	if n := s.lookups.Load() - before; n != 9 {
		t.Errorf("well-formed tokens: %d lookups, want 9", n)
	}
	// The refusals used nothing up: the invitation and the reset still
	// work for their own purpose within their time.
	for token, purpose := range map[string]rampart.LinkPurpose{invitation: rampart.LinkInvitation, reset: rampart.LinkPasswordReset} {
		if _, err := rampart.RedeemLink(ctx, s, token, purpose, now.Add(29*time.Minute)); err != nil {
			t.Errorf("%s after refusals for other purposes: %v", purpose, err)
		}
	}
}

// TestLinkDiesWithPassword: a link issued under one password hash is
// refused, with the one answer and inside the redeeming transaction (so
// nothing else happens), once the password has changed.
func TestLinkDiesWithPassword(t *testing.T) {
	ctx := t.Context()
	s, _ := linkStore(t)
	now := time.Now()
	oldHash, newHash := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDE$aGFzaDE", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI"
	l, token := rampart.NewLink(rampart.LinkPasswordReset, "a@example.com", now)
	l.AccountID, l.PasswordStamp = rampart.NewID(), rampart.PasswordStamp(oldHash)
	if err := s.CreateLinkToken(ctx, l); err != nil {
		t.Fatal(err)
	}
	var acted bool
	err := s.Atomically(ctx, func(tx rampart.Store) error {
		got, err := rampart.RedeemLink(ctx, tx, token, rampart.LinkPasswordReset, now)
		if err != nil {
			return err
		}
		if err := got.CheckStamp(newHash); err != nil {
			return err
		}
		acted = true
		return nil
	})
	sameAsInvalidLink(t, "a link from before the password changed", err, token)
	if acted {
		t.Error("acted on a link from before the password changed")
	}
	// Under the password it was issued with, it still works.
	got, err := rampart.RedeemLink(ctx, s, token, rampart.LinkPasswordReset, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.CheckStamp(oldHash); err != nil {
		t.Errorf("CheckStamp with the password it was issued under: %v", err)
	}
}

func TestPasswordStamp(t *testing.T) {
	a, b := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDE$aGFzaDE", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDE"
	if len(rampart.PasswordStamp("")) != 32 || len(rampart.PasswordStamp(a)) != 32 {
		t.Fatal("a stamp is not 32 bytes")
	}
	if first, again := rampart.PasswordStamp(a), rampart.PasswordStamp(a); string(first) != string(again) {
		t.Error("the stamp of one hash changes")
	}
	for _, other := range []string{b, "", a + " ", strings.ToUpper(a)} {
		if string(rampart.PasswordStamp(a)) == string(rampart.PasswordStamp(other)) {
			t.Errorf("two hashes share a stamp: %q", other)
		}
	}
	if plain := sha256.Sum256([]byte(a)); string(plain[:]) == string(rampart.PasswordStamp(a)) {
		t.Error("the stamp is the bare SHA-256 of the hash, with no label of its own")
	}
	l := &rampart.LinkToken{PasswordStamp: rampart.PasswordStamp(a)}
	if err := l.CheckStamp(a); err != nil {
		t.Errorf("CheckStamp with the same hash: %v", err)
	}
	for _, other := range []string{b, ""} {
		sameAsInvalidLink(t, "CheckStamp with another hash", l.CheckStamp(other))
	}
	// A link bound to no password (an invitation to a new address) is
	// dead once the address has one.
	none := &rampart.LinkToken{PasswordStamp: rampart.PasswordStamp("")}
	if err := none.CheckStamp(""); err != nil {
		t.Errorf("CheckStamp of an unbound link with no password: %v", err)
	}
	sameAsInvalidLink(t, "an unbound link once a password exists", none.CheckStamp(a))
	// A record without a stamp matches nothing.
	sameAsInvalidLink(t, "a link without a stamp", (&rampart.LinkToken{}).CheckStamp(""))
}

func TestLinkPurposes(t *testing.T) {
	for purpose, ttl := range map[rampart.LinkPurpose]time.Duration{
		rampart.LinkInvitation:    72 * time.Hour,
		rampart.LinkSignup:        24 * time.Hour,
		rampart.LinkVerifyEmail:   24 * time.Hour,
		rampart.LinkPasswordReset: 30 * time.Minute,
		"":                        0,
		"login":                   0,
	} {
		if got := purpose.TTL(); got != ttl {
			t.Errorf("%q: TTL %v, want %v", purpose, got, ttl)
		}
	}
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	l, token := rampart.NewLink(rampart.LinkInvitation, "x@example.com", now)
	hash, err := rampart.ParseLinkToken(token)
	if err != nil || string(hash) != string(l.Hash) || !rampart.ValidID(l.ID) {
		t.Fatalf("NewLink: hash %x for token, record %+v, %v", hash, l, err)
	}
	if l.Purpose != rampart.LinkInvitation || l.Email != "x@example.com" || l.CreatedAt != now || l.ExpiresAt != now.Add(72*time.Hour) {
		t.Errorf("NewLink: %+v", l)
	}
	if err := l.CheckStamp(""); err != nil {
		t.Errorf("a new link is bound to no password: %v", err)
	}
}

// TestInvitationView: the view has exactly the contract's fields, so
// nothing of the token record (hash, stamp, password hash) can reach a
// response through it.
func TestInvitationView(t *testing.T) {
	now := time.Now()
	l, _ := rampart.NewLink(rampart.LinkInvitation, "Grace@Example.com", now)
	l.TenantID, l.Role, l.PasswordHash = rampart.NewID(), rampart.RoleAdmin, "secret hash"
	want := &rampart.Invitation{ID: l.ID, Email: "Grace@Example.com", Role: rampart.RoleAdmin, ExpiresAt: l.ExpiresAt, CreatedAt: l.CreatedAt}
	if got := l.Invitation(); !reflect.DeepEqual(got, want) {
		t.Errorf("Invitation() = %+v, want %+v", got, want)
	}
	var fields []string
	typ := reflect.TypeFor[rampart.Invitation]()
	for i := range typ.NumField() {
		fields = append(fields, typ.Field(i).Name)
	}
	if strings.Join(fields, ",") != "ID,Email,Role,ExpiresAt,CreatedAt" {
		t.Errorf("Invitation has fields %v; the contract has id, email, role, expiresAt, createdAt", fields)
	}
}

func TestInvalidLinkErrorIsOneCode(t *testing.T) {
	e := rampart.ErrorOf(rampart.InvalidLinkError())
	if e == nil || e.Code != rampart.CodeInvalidLink || e.Kind != rampart.CodeInvalidLink.Kind() || e.Message != "this link is invalid or has expired" {
		t.Errorf("InvalidLinkError: %#v", e)
	}
	// A fresh value each time: no caller can change another's.
	a, b := rampart.ErrorOf(rampart.InvalidLinkError()), rampart.ErrorOf(rampart.InvalidLinkError())
	a.Message = "changed"
	if b.Message == "changed" || errors.Is(rampart.InvalidLinkError(), a) {
		t.Error("InvalidLinkError shares one value")
	}
}

// Mail states each link's lifetime from its TTL constant.
func TestLinkLifetimeInWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		rampart.PasswordResetTTL: "30 minutes",
		rampart.SignupLinkTTL:    "24 hours",
		time.Hour:                "1 hour",
		time.Minute:              "1 minute",
	} {
		if got := rampart.LifetimeForTest(d); got != want {
			t.Errorf("lifetime(%v) = %q, want %q", d, got, want)
		}
	}
}
