package storetest

// Link tokens: single use, one answer for every refusal, pending
// invitations, revocation.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// newLink returns a link of purpose, issued at created, as the domain makes
// it; an invitation is for tenantID as a member.
func newLink(purpose rampart.LinkPurpose, tenantID string, created time.Time) (*rampart.LinkToken, string) {
	l, token := rampart.NewLink(purpose, "Invitee."+rampart.NewID()+"@Example.com", created)
	if purpose == rampart.LinkInvitation {
		l.TenantID, l.Role, l.CreatedBy = tenantID, rampart.RoleMember, rampart.NewID()
	}
	return l, token
}

// redeemed is l as RedeemLinkToken returns it when redeemed at at.
func redeemed(l *rampart.LinkToken, at time.Time) *rampart.LinkToken {
	c := *l
	c.UsedAt = rampart.Timestamp(at)
	return &c
}

func testLinkTokens(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	// Every purpose round-trips, with every field it may carry.
	for _, purpose := range []rampart.LinkPurpose{rampart.LinkInvitation, rampart.LinkSignup, rampart.LinkPasswordReset, rampart.LinkVerifyEmail} {
		l, _ := newLink(purpose, tenant.ID, base)
		switch purpose {
		case rampart.LinkInvitation:
			l.Role, l.DisplayName, l.CreatedBy = rampart.RoleAdmin, "Grace", admin.ID
		case rampart.LinkSignup:
			l.DisplayName, l.Organization = "Ada", "Analytical Engines"
			l.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
		default:
			l.AccountID = rampart.NewID()
			l.PasswordStamp = rampart.PasswordStamp("$argon2id$v=19$m=19456,t=2,p=1$b2xk$aGFzaA")
		}
		check(t, s.CreateLinkToken(ctx, l))
		if l.CreatedAt != rampart.Timestamp(base) || l.ExpiresAt != rampart.Timestamp(base.Add(purpose.TTL())) {
			t.Errorf("%s: CreateLinkToken left times %v and %v", purpose, l.CreatedAt, l.ExpiresAt)
		}
		wantKind(t, s.CreateLinkToken(ctx, l), rampart.KindConflict)
		at := base.Add(purpose.TTL() - time.Microsecond) // the last moment it is valid
		got, err := s.RedeemLinkToken(ctx, l.Hash, purpose, at)
		check(t, err)
		equal(t, got, redeemed(l, at))
	}

	// The same hash under another id is taken, for any purpose.
	l, _ := newLink(rampart.LinkPasswordReset, "", base)
	check(t, s.CreateLinkToken(ctx, l))
	dup, _ := newLink(rampart.LinkVerifyEmail, "", base)
	dup.Hash = l.Hash
	wantKind(t, s.CreateLinkToken(ctx, dup), rampart.KindConflict)

	// What the schema refuses.
	for name, spoil := range map[string]func(*rampart.LinkToken){
		"unknown purpose":           func(l *rampart.LinkToken) { l.Purpose = "login" },
		"short hash":                func(l *rampart.LinkToken) { l.Hash = l.Hash[:16] },
		"no hash":                   func(l *rampart.LinkToken) { l.Hash = nil },
		"no password stamp":         func(l *rampart.LinkToken) { l.PasswordStamp = nil },
		"invitation without role":   func(l *rampart.LinkToken) { l.Role = "" },
		"invitation unknown role":   func(l *rampart.LinkToken) { l.Role = "owner" },
		"invitation without tenant": func(l *rampart.LinkToken) { l.TenantID = "" },
	} {
		l, _ := newLink(rampart.LinkInvitation, tenant.ID, base)
		spoil(l)
		if err := s.CreateLinkToken(ctx, l); rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("CreateLinkToken with %s: got %v, want Invalid", name, err)
		}
	}
	l, _ = newLink(rampart.LinkInvitation, rampart.NewID(), base)
	wantKind(t, s.CreateLinkToken(ctx, l), rampart.KindNotFound)
}

// testRedeemLinkTokenRefusals checks that every token that cannot be used
// gets NotFound, one and the same error whatever the reason, and that a
// refusal changes nothing: the token refused for a wrong purpose or too
// early a clock still works afterwards.
func testRedeemLinkTokenRefusals(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)
	now := base.Add(time.Minute)

	live, _ := newLink(rampart.LinkPasswordReset, "", base)
	used, _ := newLink(rampart.LinkPasswordReset, "", base)
	revoked, _ := newLink(rampart.LinkInvitation, tenant.ID, base)
	expired, _ := newLink(rampart.LinkPasswordReset, "", base.Add(-rampart.PasswordResetTTL))
	for _, l := range []*rampart.LinkToken{live, used, revoked, expired} {
		check(t, s.CreateLinkToken(ctx, l))
	}
	_, err := s.RedeemLinkToken(ctx, used.Hash, rampart.LinkPasswordReset, now)
	check(t, err)
	check(t, s.RevokeInvitation(ctx, tenant.ID, revoked.ID, now))
	unknown, _ := rampart.NewLinkToken()

	var messages []string
	for _, c := range []struct {
		name    string
		hash    []byte
		purpose rampart.LinkPurpose
		at      time.Time
	}{
		{"unknown", []byte(unknown), rampart.LinkPasswordReset, now},
		{"unknown hash", bytes.Repeat([]byte{0}, 32), rampart.LinkPasswordReset, now},
		{"used", used.Hash, rampart.LinkPasswordReset, now.Add(time.Second)},
		{"revoked", revoked.Hash, rampart.LinkInvitation, now},
		{"expired", expired.Hash, rampart.LinkPasswordReset, now},
		{"expiring this instant", live.Hash, rampart.LinkPasswordReset, live.ExpiresAt},
		{"wrong purpose", live.Hash, rampart.LinkVerifyEmail, now},
		{"no purpose", live.Hash, "", now},
		{"no hash", nil, rampart.LinkPasswordReset, now},
	} {
		got, err := s.RedeemLinkToken(ctx, c.hash, c.purpose, c.at)
		if rampart.ErrorKind(err) != rampart.KindNotFound || got != nil {
			t.Errorf("RedeemLinkToken %s: got %v, %v; want NotFound", c.name, got, err)
			continue
		}
		messages = append(messages, err.Error())
	}
	slices.Sort(messages)
	if messages = slices.Compact(messages); len(messages) != 1 {
		t.Errorf("refusals differ: %q", messages)
	}

	// The live token was refused for a wrong purpose and at its expiry,
	// and is still good before it.
	got, err := s.RedeemLinkToken(ctx, live.Hash, rampart.LinkPasswordReset, now)
	check(t, err)
	equal(t, got, redeemed(live, now))
}

// testConcurrentLinkRedemption redeems one token from many goroutines at
// once: exactly one gets it, every other one NotFound.
func testConcurrentLinkRedemption(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)
	const n = 32
	// More threads than cores, so that the OS interleaves the redemptions
	// mid-statement and not only where the Go scheduler switches.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	for round := range 30 {
		l, _ := newLink(rampart.LinkInvitation, tenant.ID, base)
		check(t, s.CreateLinkToken(ctx, l))
		var wins, refusals atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				at := base.Add(time.Duration(i+1) * time.Second)
				got, err := s.RedeemLinkToken(ctx, l.Hash, rampart.LinkInvitation, at)
				switch {
				case err == nil && got.ID == l.ID && got.UsedAt == rampart.Timestamp(at):
					wins.Add(1)
				case rampart.ErrorKind(err) == rampart.KindNotFound:
					refusals.Add(1)
				default:
					t.Errorf("round %d: RedeemLinkToken: %v, %v", round, got, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || refusals.Load() != n-1 {
			t.Errorf("round %d: %d of %d concurrent redemptions won and %d were refused; want exactly 1 and %d", round, wins.Load(), n, refusals.Load(), n-1)
		}
	}
}

func testInvitations(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)
	other, _ := newTenant(t, s)
	now := base.Add(time.Hour)

	// Seven pending invitations, in pairs that share a creation time.
	var want []*rampart.LinkToken
	for i := range 7 {
		l, _ := newLink(rampart.LinkInvitation, tenant.ID, base.Add(time.Duration(i/2)*time.Second))
		check(t, s.CreateLinkToken(ctx, l))
		want = append(want, l)
	}
	slices.SortFunc(want, func(a, b *rampart.LinkToken) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	// And what is not pending, or not the tenant's invitation.
	used, _ := newLink(rampart.LinkInvitation, tenant.ID, base.Add(time.Minute))
	revoked, _ := newLink(rampart.LinkInvitation, tenant.ID, base.Add(time.Minute))
	expired, _ := newLink(rampart.LinkInvitation, tenant.ID, now.Add(-rampart.InvitationTTL))
	others, _ := newLink(rampart.LinkInvitation, other.ID, base.Add(time.Minute))
	reset, _ := newLink(rampart.LinkPasswordReset, "", base.Add(time.Minute))
	for _, l := range []*rampart.LinkToken{used, revoked, expired, others, reset} {
		check(t, s.CreateLinkToken(ctx, l))
	}
	_, err := s.RedeemLinkToken(ctx, used.Hash, rampart.LinkInvitation, now)
	check(t, err)
	check(t, s.RevokeInvitation(ctx, tenant.ID, revoked.ID, now))

	var got []*rampart.LinkToken
	pages := 0
	for page := (rampart.Page{Limit: 3}); ; pages++ {
		items, next, err := s.ListInvitations(ctx, tenant.ID, now, page)
		check(t, err)
		got = append(got, items...)
		if next.IsZero() {
			break
		}
		page.After = next
	}
	equal(t, got, want)
	if pages != 2 {
		t.Errorf("7 invitations in pages of 3: %d pages after the first, want 2", pages)
	}
	_, _, err = s.ListInvitations(ctx, tenant.ID, now, rampart.Page{Limit: 0})
	wantKind(t, err, rampart.KindInvalid)

	// Revoking: only a pending invitation of the caller's tenant.
	wantKind(t, s.RevokeInvitation(ctx, tenant.ID, others.ID, now), rampart.KindNotFound)
	wantKind(t, s.RevokeInvitation(ctx, other.ID, want[0].ID, now), rampart.KindNotFound)
	for _, id := range []string{used.ID, revoked.ID, expired.ID, reset.ID, rampart.NewID()} {
		wantKind(t, s.RevokeInvitation(ctx, tenant.ID, id, now), rampart.KindNotFound)
	}
	check(t, s.RevokeInvitation(ctx, tenant.ID, want[0].ID, now))
	items, _, err := s.ListInvitations(ctx, tenant.ID, now, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, items, want[1:])
	_, err = s.RedeemLinkToken(ctx, want[0].Hash, rampart.LinkInvitation, now)
	wantKind(t, err, rampart.KindNotFound)
	// The other tenant's invitation is untouched and its own.
	items, _, err = s.ListInvitations(ctx, other.ID, now, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, items, []*rampart.LinkToken{others})
}

// testRevokeLinkTokens checks revocation by account and by address, of one
// purpose or all, and that it reaches nobody else's links.
func testRevokeLinkTokens(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)
	now := base.Add(time.Minute)
	account, email := rampart.NewID(), "Victim."+rampart.NewID()+"@Example.com"

	mk := func(purpose rampart.LinkPurpose, accountID, to string) *rampart.LinkToken {
		l, _ := newLink(purpose, tenant.ID, base)
		l.AccountID = accountID
		if to != "" {
			l.Email = to
		}
		check(t, s.CreateLinkToken(ctx, l))
		return l
	}
	// alive reports whether l could be redeemed now, without using it up.
	alive := func(l *rampart.LinkToken) bool {
		return errors.Is(s.Atomically(ctx, func(tx rampart.Store) error {
			if _, err := tx.RedeemLinkToken(ctx, l.Hash, l.Purpose, now); err != nil {
				return err
			}
			return errRollBack
		}), errRollBack)
	}

	reset1 := mk(rampart.LinkPasswordReset, account, email)
	reset2 := mk(rampart.LinkPasswordReset, account, strings.ToUpper(email))
	verify := mk(rampart.LinkVerifyEmail, account, email)
	invite := mk(rampart.LinkInvitation, "", strings.ToLower(email)) // to the address, before the account
	bystanderReset := mk(rampart.LinkPasswordReset, rampart.NewID(), "")
	bystanderInvite := mk(rampart.LinkInvitation, "", "")
	for _, l := range []*rampart.LinkToken{reset1, reset2, verify, invite, bystanderReset, bystanderInvite} {
		if !alive(l) {
			t.Fatalf("a new %s link is not redeemable", l.Purpose)
		}
	}

	// A new reset request: the account's reset links die, nothing else.
	check(t, s.RevokeLinkTokens(ctx, rampart.LinkPasswordReset, account, "", now))
	for l, want := range map[*rampart.LinkToken]bool{reset1: false, reset2: false, verify: true, invite: true, bystanderReset: true, bystanderInvite: true} {
		if alive(l) != want {
			t.Errorf("after revoking the account's reset links: %s link alive %v, want %v", l.Purpose, !want, want)
		}
	}
	// A password change: every link of the account or its address dies,
	// matched by the address in any case.
	check(t, s.RevokeLinkTokens(ctx, "", account, strings.ToUpper(email), now))
	for l, want := range map[*rampart.LinkToken]bool{verify: false, invite: false, bystanderReset: true, bystanderInvite: true} {
		if alive(l) != want {
			t.Errorf("after revoking every link of the account: %s link alive %v, want %v", l.Purpose, !want, want)
		}
	}
	items, _, err := s.ListInvitations(ctx, tenant.ID, now, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, items, []*rampart.LinkToken{bystanderInvite})

	// By address alone; a used link stays used, not revoked, and is still
	// refused.
	byMail := mk(rampart.LinkSignup, "", email)
	usedMail := mk(rampart.LinkVerifyEmail, "", email)
	_, err = s.RedeemLinkToken(ctx, usedMail.Hash, rampart.LinkVerifyEmail, now)
	check(t, err)
	check(t, s.RevokeLinkTokens(ctx, "", "", email, now))
	if alive(byMail) || alive(usedMail) {
		t.Error("a link to the address survived its revocation by address")
	}

	// Naming nothing is refused, not taken for "everything".
	wantKind(t, s.RevokeLinkTokens(ctx, "", "", "", now), rampart.KindInvalid)
	if !alive(bystanderReset) || !alive(bystanderInvite) {
		t.Error("a revocation that named nothing revoked links")
	}
}

var errRollBack = errors.New("roll back")

// testLinkTokensAtomically checks that link methods take part in a unit: a
// redemption, a creation and a revocation rolled back leave no trace.
func testLinkTokensAtomically(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, _ := newTenant(t, s)
	now := base.Add(time.Minute)
	l, _ := newLink(rampart.LinkInvitation, tenant.ID, base)
	check(t, s.CreateLinkToken(ctx, l))
	fresh, _ := newLink(rampart.LinkSignup, "", base)

	err := s.Atomically(ctx, func(tx rampart.Store) error {
		got, err := tx.RedeemLinkToken(ctx, l.Hash, rampart.LinkInvitation, now)
		if err != nil {
			return err
		}
		equal(t, got, redeemed(l, now))
		// Used within the unit: a second redemption in it is refused.
		if _, err := tx.RedeemLinkToken(ctx, l.Hash, rampart.LinkInvitation, now); rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("a second redemption in the same unit: %v, want NotFound", err)
		}
		if err := tx.CreateLinkToken(ctx, fresh); err != nil {
			return err
		}
		if err := tx.RevokeLinkTokens(ctx, "", "", fresh.Email, now); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatalf("Atomically: %v", err)
	}
	_, err = s.RedeemLinkToken(ctx, fresh.Hash, rampart.LinkSignup, now)
	wantKind(t, err, rampart.KindNotFound)
	got, err := s.RedeemLinkToken(ctx, l.Hash, rampart.LinkInvitation, now)
	check(t, err)
	equal(t, got, redeemed(l, now))

	// Committed: the redemption holds.
	l2, _ := newLink(rampart.LinkInvitation, tenant.ID, base)
	check(t, s.CreateLinkToken(ctx, l2))
	check(t, s.Atomically(ctx, func(tx rampart.Store) error {
		_, err := tx.RedeemLinkToken(ctx, l2.Hash, rampart.LinkInvitation, now)
		return err
	}))
	_, err = s.RedeemLinkToken(ctx, l2.Hash, rampart.LinkInvitation, now)
	wantKind(t, err, rampart.KindNotFound)
}

// LinkTokenCanary issues, lists, redeems and revokes links through s, then
// reads everything the store holds with dump (the database files, or every
// row as text) and fails when any token's text, or its secret part raw,
// hex or base64-encoded, is there: the store keeps hashes only.
func LinkTokenCanary(t *testing.T, s rampart.Store, dump func() []byte) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	now := base.Add(time.Minute)
	var tokens []string
	for i, purpose := range []rampart.LinkPurpose{rampart.LinkInvitation, rampart.LinkSignup, rampart.LinkPasswordReset, rampart.LinkVerifyEmail, rampart.LinkInvitation} {
		l, token := newLink(purpose, tenant.ID, base)
		l.CreatedBy, l.AccountID = admin.ID, admin.ID
		check(t, s.CreateLinkToken(ctx, l))
		tokens = append(tokens, token)
		switch i {
		case 0, 2:
			_, err := s.RedeemLinkToken(ctx, l.Hash, purpose, now)
			check(t, err)
		case 4:
			check(t, s.RevokeInvitation(ctx, tenant.ID, l.ID, now))
		}
	}
	_, _, err := s.ListInvitations(ctx, tenant.ID, now, rampart.Page{Limit: 10})
	check(t, err)
	check(t, s.RevokeLinkTokens(ctx, rampart.LinkVerifyEmail, admin.ID, "", now))

	held := dump()
	if len(held) == 0 {
		t.Fatal("the dump of the store is empty")
	}
	for i, token := range tokens {
		secret, err := base64.RawURLEncoding.DecodeString(token[len(rampart.LinkTokenPrefix) : len(rampart.LinkTokenPrefix)+43])
		check(t, err)
		for form, canary := range map[string][]byte{
			"text":       []byte(token),
			"secret":     []byte(token[len(rampart.LinkTokenPrefix) : len(rampart.LinkTokenPrefix)+43]),
			"raw secret": secret,
			"hex secret": []byte(hex.EncodeToString(secret)),
			"std base64": []byte(base64.StdEncoding.EncodeToString(secret)),
		} {
			if bytes.Contains(held, canary) || form == "hex secret" && bytes.Contains(bytes.ToLower(held), canary) {
				t.Errorf("token %d: its %s is in the store", i+1, form)
			}
		}
	}
}
