package rampart_test

import (
	"context"
	"encoding/base32"
	"testing"
	"time"

	"example.com/rampart/internal/app"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/totp"
)

// The domain on its own: the services as app.Build wires them for
// production, over a SQLite store in a temporary directory, driven by
// method calls and a clock the test moves. No HTTP.

type world struct {
	t     *testing.T
	ctx   context.Context
	clock *testutil.Clock
	store rampart.Store
	path  string // the SQLite file under store
	id    *rampart.Identity
	res   *rampart.Resources
	auth  *rampart.Authenticator
	box   rampart.Sealer // seals the outbox's mail
}

var meta = rampart.RequestMeta{SourceIP: "192.0.2.7", RequestID: "req-1", UserAgent: "test"}

// newWorld builds the domain; edit, when not nil, changes its identity
// settings.
func newWorld(t *testing.T, edit func(*rampart.IdentityConfig)) *world {
	t.Helper()
	st, path := sqliteStore(t)
	c := testutil.NewClock(time.Now())
	a := buildApp(t, st, func(cfg *app.Config) {
		cfg.Now = c.Now
		if edit != nil {
			edit(&cfg.Identity)
		}
	})
	return &world{t: t, ctx: t.Context(), clock: c, store: a.Store, path: path, id: a.Services.Identity, res: a.Services.Resources, auth: a.Services.Auth,
		box: a.Deps.Sealer}
}

// signup creates a tenant whose first admin has email and testPassword.
func (w *world) signup(email string) *rampart.User {
	w.t.Helper()
	u, _, err := w.id.Signup(w.ctx, meta, rampart.SignupInput{Email: email, Password: testPassword,
		DisplayName: "Someone", Organization: "Org of " + email})
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// login signs in and returns the tokens and the principal they carry.
func (w *world) login(email, pw, code string) (*rampart.Tokens, rampart.Principal) {
	w.t.Helper()
	tok, err := w.id.Login(w.ctx, meta, rampart.LoginInput{Email: email, Password: pw, TOTP: code})
	if err != nil {
		w.t.Fatalf("login %s: %v", email, err)
	}
	return tok, w.principal(tok.AccessToken)
}

func (w *world) principal(credential string) rampart.Principal {
	w.t.Helper()
	p, err := w.auth.Authenticate(w.ctx, credential)
	if err != nil {
		w.t.Fatalf("authenticate: %v", err)
	}
	return p
}

// addUser invites a new address into admin's tenant with role and accepts
// the invitation with testPassword.
func (w *world) addUser(admin rampart.Principal, email string, role rampart.Role) *rampart.User {
	w.t.Helper()
	if _, err := w.res.Invite(w.ctx, meta, admin, rampart.InviteInput{Email: email, DisplayName: "Someone", Role: role}); err != nil {
		w.t.Fatal(err)
	}
	u, _, err := w.id.AcceptInvitation(w.ctx, meta, nil, rampart.AcceptInvitationInput{
		Token: mailedLink(w.t, w.store, w.box, email), Password: testPassword})
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// events counts the tenant's audit events of type typ.
func (w *world) events(tenantID, typ string) int {
	w.t.Helper()
	es, _, err := w.store.ListAuditEvents(w.ctx, tenantID, rampart.AuditFilter{Type: typ}, rampart.Page{Limit: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	return len(es)
}

// enableTOTP enrols and confirms a second factor for p; it returns the
// secret and the recovery codes.
func (w *world) enableTOTP(p rampart.Principal) ([]byte, []string) {
	w.t.Helper()
	enrol, err := w.id.EnrolTOTP(w.ctx, p)
	if err != nil {
		w.t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enrol.Secret)
	if err != nil {
		w.t.Fatal(err)
	}
	codes, err := w.id.ConfirmTOTP(w.ctx, meta, p, totp.Code(secret, w.clock.Now()))
	if err != nil {
		w.t.Fatal(err)
	}
	return secret, codes
}

// wantCode fails unless err is a domain error of kind with code ("" for
// any code). It converts through string so that it reads both plain and
// typed error codes.
func wantCode[C ~string](t *testing.T, what string, err error, kind rampart.Kind, code C) {
	t.Helper()
	if rampart.ErrorKind(err) != kind || (code != "" && string(rampart.ErrorOf(err).Code) != string(code)) {
		t.Fatalf("%s: got %v, want kind %v code %q", what, err, kind, code)
	}
}
