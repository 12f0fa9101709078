package sessioncache

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
)

// gatedStore holds the next GetSession, after it has read the session from
// the database and before it returns it, until the test releases it.
type gatedStore struct {
	*countingStore
	mu   sync.Mutex
	gate *gate
}

type gate struct{ read, release chan struct{} }

func (g *gatedStore) hold() *gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = &gate{read: make(chan struct{}), release: make(chan struct{})}
	return g.gate
}

func (g *gatedStore) GetSession(ctx context.Context, tenantID, id string) (*rampart.Session, error) {
	sess, err := g.countingStore.GetSession(ctx, tenantID, id)
	g.mu.Lock()
	gt := g.gate
	g.gate = nil
	g.mu.Unlock()
	if gt != nil {
		close(gt.read)
		<-gt.release
	}
	return sess, err
}

// fixedClock never moves, so nothing leaves the cache by age during a test:
// only invalidation can make a read go to the database.
func fixedClock() func() time.Time {
	t := time.Now()
	return func() time.Time { return t }
}

func cached(s *Store, tenantID, id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.entries[key{tenantID, id}]
	return ok
}

// TestReadRacingRevocationIsNotCached: a read that got the session from the
// database before a revocation, and finishes after it, must not put the
// live session back into the cache (the generation guard): the next read
// goes to the database and sees the revocation.
func TestReadRacingRevocationIsNotCached(t *testing.T) {
	revoke := func(s *rampart.Session) error {
		s.RevokedAt, s.RevokedReason = time.Now(), "logout"
		return nil
	}
	for _, tc := range []struct {
		name   string
		revoke func(t *testing.T, cache *Store, db *countingStore, s *rampart.Session)
	}{
		{"UpdateSession on this replica", func(t *testing.T, cache *Store, _ *countingStore, s *rampart.Session) {
			if _, err := cache.UpdateSession(t.Context(), s.TenantID, s.ID, revoke); err != nil {
				t.Fatal(err)
			}
		}},
		{"RevokeUserSessions on this replica", func(t *testing.T, cache *Store, _ *countingStore, s *rampart.Session) {
			if err := cache.RevokeUserSessions(t.Context(), s.TenantID, s.UserID, "", time.Now(), "password changed"); err != nil {
				t.Fatal(err)
			}
		}},
		{"another replica's revocation, through the bus", func(t *testing.T, cache *Store, db *countingStore, s *rampart.Session) {
			if _, err := db.UpdateSession(t.Context(), s.TenantID, s.ID, revoke); err != nil {
				t.Fatal(err)
			}
			cache.Forget(Message{Kind: "s", TenantID: s.TenantID, ID: s.ID})
		}},
		{"another replica's user revocation, through the bus", func(t *testing.T, cache *Store, db *countingStore, s *rampart.Session) {
			if err := db.RevokeUserSessions(t.Context(), s.TenantID, s.UserID, "", time.Now(), "password changed"); err != nil {
				t.Fatal(err)
			}
			cache.Forget(Message{Kind: "u", TenantID: s.TenantID, ID: s.UserID})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, s1, _ := fixture(t)
			gated := &gatedStore{countingStore: db}
			cache := New(gated, nil, fixedClock())

			g := gated.hold()
			type result struct {
				sess *rampart.Session
				err  error
			}
			done := make(chan result, 1)
			go func() {
				sess, err := cache.GetSession(context.Background(), s1.TenantID, s1.ID)
				done <- result{sess, err}
			}()
			<-g.read // the read has the live session in hand
			tc.revoke(t, cache, db, s1)
			close(g.release)
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !r.sess.RevokedAt.IsZero() {
				t.Fatal("the gated read was meant to see the session before the revocation")
			}
			if cached(cache, s1.TenantID, s1.ID) {
				t.Error("a read that raced a revocation cached the live session")
			}

			reads := db.reads.Load()
			got, err := cache.GetSession(t.Context(), s1.TenantID, s1.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.RevokedAt.IsZero() {
				t.Fatal("the session revoked during a read came back live from the cache")
			}
			if n := db.reads.Load() - reads; n != 1 {
				t.Errorf("the read after the revocation made %d database reads, want 1", n)
			}
		})
	}
}

// recordingBus records what is published.
type recordingBus struct {
	mu   sync.Mutex
	msgs []Message
}

func (b *recordingBus) Publish(_ context.Context, m Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	return nil
}

// TestDeleteUserForgetsSessions: deleting a user forgets that user's cached
// sessions at once, here and (through the bus) on the other replicas, and
// only that user's.
func TestDeleteUserForgetsSessions(t *testing.T) {
	db, admin, _ := fixture(t)
	ctx := t.Context()
	now := time.Now()
	member := &rampart.User{ID: rampart.NewID(), TenantID: admin.TenantID, Email: rampart.NewID() + "@example.com",
		DisplayName: "M", Role: rampart.RoleMember, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(ctx, member); err != nil {
		t.Fatal(err)
	}
	ms := &rampart.Session{ID: rampart.NewID(), TenantID: member.TenantID, UserID: member.ID, TokenHash: []byte{9, 9, 9},
		CreatedAt: now, LastUsedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, ms); err != nil {
		t.Fatal(err)
	}
	bus := &recordingBus{}
	cache := New(db, bus, fixedClock())
	for _, s := range []*rampart.Session{admin, ms} {
		if _, err := cache.GetSession(ctx, s.TenantID, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	reads := db.reads.Load()

	if err := cache.DeleteUser(ctx, member.TenantID, member.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.GetSession(ctx, ms.TenantID, ms.ID); rampart.ErrorKind(err) != rampart.KindNotFound {
		t.Fatalf("a deleted user's session: %v, want NotFound (it came from the cache)", err)
	}
	if n := db.reads.Load() - reads; n != 1 {
		t.Errorf("%d database reads for the deleted user's session, want 1", n)
	}
	if _, err := cache.GetSession(ctx, admin.TenantID, admin.ID); err != nil {
		t.Fatal(err)
	}
	if n := db.reads.Load() - reads; n != 1 {
		t.Errorf("deleting one user forgot another user's session (%d reads, want 1)", n)
	}
	want := []Message{{Kind: "u", TenantID: member.TenantID, ID: member.ID}}
	bus.mu.Lock()
	defer bus.mu.Unlock()
	if len(bus.msgs) != 1 || bus.msgs[0] != want[0] {
		t.Errorf("published %v, want %v", bus.msgs, want)
	}
}

// TestListenForgetsAllOnSubscribe: when the subscription starts, and when it
// comes back after a break (in which messages may have been lost), the
// whole cache is forgotten.
func TestListenForgetsAllOnSubscribe(t *testing.T) {
	client, prefix := testutil.Redis(t)
	name := strings.NewReplacer(":", "-").Replace(prefix) + "listener"
	opts := *client.Options()
	opts.ClientName = name
	listener := redis.NewClient(&opts)

	db, s1, s2 := fixture(t)
	cache := New(db, nil, fixedClock())
	var logs testutil.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		listener.Close() // ends the Receive that ctx does not interrupt
		<-stopped
	})

	for _, s := range []*rampart.Session{s1, s2} {
		if _, err := cache.GetSession(ctx, s.TenantID, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		defer close(stopped)
		NewRedisBus(listener, prefix+"revocations").Listen(ctx, cache, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	waitFor(t, "the first subscription to forget the cache", func() bool {
		return !cached(cache, s1.TenantID, s1.ID) && !cached(cache, s2.TenantID, s2.ID)
	})

	// Break the subscriber's connection from the server's side. The bus
	// forgets everything, logs, and waits TTL before it receives again.
	killClient(t, client, name)
	waitFor(t, "the lost subscription to be logged", func() bool { return strings.Contains(logs.String(), "subscription lost") })

	// Cached during the break; nothing but the resubscription can drop it
	// now, as the clock does not move.
	if _, err := cache.GetSession(ctx, s1.TenantID, s1.ID); err != nil {
		t.Fatal(err)
	}
	if !cached(cache, s1.TenantID, s1.ID) {
		t.Fatal("not cached")
	}
	waitFor(t, "the subscription to be restored", func() bool { return strings.Contains(logs.String(), "subscription restored") })
	if cached(cache, s1.TenantID, s1.ID) {
		t.Error("a session cached while the subscription was down survived the resubscription")
	}
}

// killClient closes, on the server, every connection of the client named
// name.
func killClient(t *testing.T, client *redis.Client, name string) {
	t.Helper()
	list, err := client.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for line := range strings.SplitSeq(list, "\n") {
		var id string
		named := false
		for field := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(field, "=")
			switch {
			case k == "id":
				id = v
			case k == "name" && v == name:
				named = true
			}
		}
		if named && id != "" {
			if err := client.Do(t.Context(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no connection named %q", name)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
