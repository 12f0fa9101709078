package sessioncache

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/testutil"
)

// countingStore counts the GetSession calls that reach the database.
type countingStore struct {
	rampart.Store
	reads atomic.Int64
}

func (c *countingStore) GetSession(ctx context.Context, tenantID, id string) (*rampart.Session, error) {
	c.reads.Add(1)
	return c.Store.GetSession(ctx, tenantID, id)
}

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

// fixture is a database with one user and two sessions.
func fixture(t *testing.T) (*countingStore, *rampart.Session, *rampart.Session) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	st = testutil.Migrated(t, st, err)
	now := time.Now()
	tenant := &rampart.Tenant{ID: rampart.NewID(), Name: "T", CreatedAt: now}
	admin := &rampart.User{ID: rampart.NewID(), TenantID: tenant.ID, Email: rampart.NewID() + "@example.com",
		DisplayName: "A", Role: rampart.RoleAdmin, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := rampart.CreateTenantWithAdmin(ctx, st, tenant, admin); err != nil {
		t.Fatal(err)
	}
	var sessions []*rampart.Session
	for i := range 2 {
		s := &rampart.Session{ID: rampart.NewID(), TenantID: tenant.ID, UserID: admin.ID, TokenHash: []byte{byte(i), 1, 2, 3},
			CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	return &countingStore{Store: st}, sessions[0], sessions[1]
}

// secondTenant creates another tenant and makes accountID a member of it.
func secondTenant(t *testing.T, db rampart.Store, accountID string) *rampart.Tenant {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	other := &rampart.Tenant{ID: rampart.NewID(), Name: "Other", CreatedAt: now}
	otherAdmin := &rampart.User{ID: rampart.NewID(), TenantID: other.ID, Email: rampart.NewID() + "@example.com",
		DisplayName: "B", Role: rampart.RoleAdmin, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := rampart.CreateTenantWithAdmin(ctx, db, other, otherAdmin); err != nil {
		t.Fatal(err)
	}
	if err := db.AddMembership(ctx, &rampart.Membership{TenantID: other.ID, AccountID: accountID, Role: rampart.RoleMember,
		DisplayName: "A", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return other
}

func TestCachedUntilTTL(t *testing.T) {
	db, s1, _ := fixture(t)
	c := &clock{}
	c.t.Store(time.Now().UnixNano())
	cache := New(db, nil, c.now)
	for range 5 {
		if _, err := cache.GetSession(t.Context(), s1.TenantID, s1.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.reads.Load(); n != 1 {
		t.Fatalf("%d database reads for 5 lookups within the TTL, want 1", n)
	}
	c.advance(TTL)
	cache.GetSession(t.Context(), s1.TenantID, s1.ID)
	if n := db.reads.Load(); n != 2 {
		t.Fatalf("%d reads after the TTL, want 2", n)
	}
	if _, err := cache.GetSession(t.Context(), "other-tenant", s1.ID); rampart.ErrorKind(err) != rampart.KindNotFound {
		t.Errorf("another tenant's lookup: %v, want NotFound (the cache is keyed by tenant too)", err)
	}
}

func TestRevocationIsSeenOnTheNextRead(t *testing.T) {
	db, s1, s2 := fixture(t)
	cache := New(db, nil, nil)
	ctx := t.Context()
	cache.GetSession(ctx, s1.TenantID, s1.ID)
	cache.GetSession(ctx, s2.TenantID, s2.ID)

	if _, err := cache.UpdateSession(ctx, s1.TenantID, s1.ID, func(s *rampart.Session) error {
		s.RevokedAt, s.RevokedReason = time.Now(), "logout"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := cache.GetSession(ctx, s1.TenantID, s1.ID); got.RevokedAt.IsZero() {
		t.Fatal("a revoked session came back live from the cache")
	}
	if err := cache.RevokeUserSessions(ctx, s2.TenantID, s2.UserID, "", time.Now(), "password changed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := cache.GetSession(ctx, s2.TenantID, s2.ID); got.RevokedAt.IsZero() {
		t.Fatal("a session revoked with its user's came back live from the cache")
	}
}

// TestRevocationInsideAUnitIsSeenOnTheNextRead shows that a revocation made
// through Atomically's tx, which the domain uses to write a change together
// with its audit event, clears the cache as a direct one does.
func TestRevocationInsideAUnitIsSeenOnTheNextRead(t *testing.T) {
	db, s1, s2 := fixture(t)
	cache := New(db, nil, nil)
	ctx := t.Context()
	cache.GetSession(ctx, s1.TenantID, s1.ID)
	cache.GetSession(ctx, s2.TenantID, s2.ID)

	err := cache.Atomically(ctx, func(tx rampart.Store) error {
		if _, err := tx.UpdateSession(ctx, s1.TenantID, s1.ID, func(s *rampart.Session) error {
			s.RevokedAt, s.RevokedReason = time.Now(), "logout"
			return nil
		}); err != nil {
			return err
		}
		return tx.Atomically(ctx, func(tx rampart.Store) error { // joins the unit
			return tx.RevokeUserSessions(ctx, s2.TenantID, s2.UserID, s1.ID, time.Now(), "password changed")
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cache.GetSession(ctx, s1.TenantID, s1.ID); got.RevokedAt.IsZero() {
		t.Fatal("a session revoked inside a unit came back live from the cache")
	}
	if got, _ := cache.GetSession(ctx, s2.TenantID, s2.ID); got.RevokedAt.IsZero() {
		t.Fatal("a session revoked with its user's inside a unit came back live from the cache")
	}
}

func TestRevocationCrossesReplicasThroughRedis(t *testing.T) {
	client, prefix := testutil.Redis(t)
	db, s1, _ := fixture(t)
	bus := NewRedisBus(client, prefix+"revocations")
	replica1, replica2 := New(db, bus, nil), New(db, bus, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go bus.Listen(ctx, replica2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	time.Sleep(100 * time.Millisecond) // let the subscription start

	replica2.GetSession(ctx, s1.TenantID, s1.ID) // cached live on replica 2
	if _, err := replica1.UpdateSession(ctx, s1.TenantID, s1.ID, func(s *rampart.Session) error {
		s.RevokedAt = time.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seenRevokedWithinHalfTTL(t, replica2, s1.TenantID, s1.ID)
}

// seenRevokedWithinHalfTTL polls replica until it reads the session as
// revoked, and fails if that takes TTL/2: well inside the TTL, so the bus
// message, not the cached copy's expiry, did it.
func seenRevokedWithinHalfTTL(t *testing.T, replica *Store, tenantID, id string) {
	t.Helper()
	deadline := time.Now().Add(TTL / 2)
	for {
		got, err := replica.GetSession(t.Context(), tenantID, id)
		if err != nil {
			t.Fatal(err)
		}
		if !got.RevokedAt.IsZero() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica still serves the revoked session %s of tenant %s from its cache", id, tenantID)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAccountRevocationCrossesReplicasThroughRedis: revoking an account's
// sessions in every tenant on one replica (the "a" message) makes another
// replica forget its cached copy of the account's session in a second
// tenant well before the TTL would have.
func TestAccountRevocationCrossesReplicasThroughRedis(t *testing.T) {
	client, prefix := testutil.Redis(t)
	db, s1, _ := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := time.Now()
	other := secondTenant(t, db, s1.UserID)
	// The account's session in the second tenant.
	inOther := &rampart.Session{ID: rampart.NewID(), TenantID: other.ID, UserID: s1.UserID, TokenHash: []byte{9, 1, 2, 3},
		CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, inOther); err != nil {
		t.Fatal(err)
	}

	bus := NewRedisBus(client, prefix+"revocations")
	replica1, replica2 := New(db, bus, nil), New(db, bus, nil)
	go bus.Listen(ctx, replica2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	time.Sleep(100 * time.Millisecond) // let the subscription start

	if got, err := replica2.GetSession(ctx, other.ID, inOther.ID); err != nil || !got.RevokedAt.IsZero() {
		t.Fatalf("before the revocation: %+v, %v", got, err) // and now cached live on replica 2
	}
	if err := replica1.RevokeAccountSessions(ctx, s1.UserID, "", time.Now(), "password changed"); err != nil {
		t.Fatal(err)
	}
	seenRevokedWithinHalfTTL(t, replica2, other.ID, inOther.ID)
}

// TestAccountWideChangesAreSeenOnTheNextRead: revoking an account's
// sessions in every tenant, and moving a session to another tenant, clear
// the cached copies at once, directly and inside a unit, so that the
// moved session's old tenant no longer finds it.
func TestAccountWideChangesAreSeenOnTheNextRead(t *testing.T) {
	for _, inUnit := range []bool{false, true} {
		db, s1, s2 := fixture(t)
		cache := New(db, nil, nil)
		ctx := t.Context()
		via := func(f func(st rampart.Store) error) {
			t.Helper()
			var err error
			if inUnit {
				err = cache.Atomically(ctx, f)
			} else {
				err = f(cache)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		other := secondTenant(t, db, s1.UserID)
		cache.GetSession(ctx, s1.TenantID, s1.ID)
		cache.GetSession(ctx, s2.TenantID, s2.ID)

		via(func(st rampart.Store) error {
			_, err := st.MoveSession(ctx, s1.TenantID, s1.ID, other.ID, func(*rampart.Session) error { return nil })
			return err
		})
		if _, err := cache.GetSession(ctx, s1.TenantID, s1.ID); rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Fatalf("in unit %v: a moved session is still found in its old tenant: %v", inUnit, err)
		}
		via(func(st rampart.Store) error {
			return st.RevokeAccountSessions(ctx, s2.UserID, "", time.Now(), "password changed")
		})
		if got, _ := cache.GetSession(ctx, s2.TenantID, s2.ID); got.RevokedAt.IsZero() {
			t.Fatalf("in unit %v: a session revoked with its account's came back live from the cache", inUnit)
		}
	}
}
