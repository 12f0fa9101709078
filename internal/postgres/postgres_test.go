package postgres_test

import (
	"net/url"
	"strings"
	"testing"

	"example.com/rampart/internal/postgres"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/storetest"
	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/sqlcheck"
	"example.com/rampart/internal/testutil/tcpproxy"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) rampart.Store { return postgres.OpenTestStore(t, testutil.PostgresURL(t)) })
}

func TestMigrate(t *testing.T) {
	s := postgres.OpenTestStore(t, testutil.PostgresURL(t))
	current, latest, err := s.SchemaStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if current != latest || latest < 1 {
		t.Errorf("after Migrate: schema version %d of %d, want the latest", current, latest)
	}
	// Migrating an up-to-date database changes nothing.
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestOutage cuts the line to the database under a running store: calls
// fail with KindUnavailable, quickly and without the driver's words in the
// message, and succeed again once the line is back.
func TestOutage(t *testing.T) {
	ctx := t.Context()
	u, err := url.Parse(testutil.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := tcpproxy.Start(t, u.Host)
	u.Host = proxy.Addr()
	s := postgres.OpenTestStore(t, u.String())

	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "Acme"}
	admin := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: rampart.NewID() + "@example.com", Role: rampart.RoleAdmin}
	if err := rampart.CreateTenantWithAdmin(ctx, s, tenant, admin); err != nil {
		t.Fatal(err)
	}
	read := func() error {
		_, err := s.GetUser(ctx, tenant.ID, admin.ID)
		return err
	}

	proxy.Cut()
	for name, call := range map[string]func() error{"Ping": func() error { return s.Ping(ctx) }, "GetUser": read} {
		err := call()
		t.Logf("%s during the outage: %v", name, err)
		if rampart.ErrorKind(err) != rampart.KindUnavailable {
			t.Errorf("%s during the outage: got %v, want KindUnavailable", name, err)
		}
		if msg := rampart.ErrorMessage(err); strings.ContainsAny(msg, ":/") || strings.Contains(msg, "127.0.0.1") {
			t.Errorf("%s during the outage: message %q shows driver or network details", name, msg)
		}
	}

	proxy.Restore()
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after the outage: %v", err)
	}
	if err := read(); err != nil {
		t.Errorf("GetUser after the outage: %v", err)
	}
}

func TestSQLIsConstant(t *testing.T) {
	problems, err := sqlcheck.Check(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
