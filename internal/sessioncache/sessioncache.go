// Package sessioncache keeps recently read sessions in memory, so that an
// authenticated request need not read its session from the database every
// time, while revocation still takes effect on the next request.
//
// Store wraps a rampart.Store. GetSession answers from memory for at most
// TTL after the session was read. Every change that can end a session made
// through this Store (UpdateSession, MoveSession, RevokeUserSessions, RevokeAccountSessions,
// DeleteUser, also
// inside Atomically) forgets the cached copies before it returns, and is published on the Bus, so that
// the other replicas forget theirs too. TTL bounds how stale a copy can get
// if a message is lost, or when replicas share no bus.
package sessioncache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"example.com/rampart/internal/rampart"
)

// TTL is how long a session read from the database is trusted: the bound on
// how late another replica learns of a revocation when the bus fails.
const TTL = time.Second

// maxEntries bounds the cache; a full cache forgets everything, which only
// costs reads.
const maxEntries = 100_000

// Bus carries invalidations between replicas.
type Bus interface {
	// Publish tells the other replicas to forget a session ("s" kind) or
	// all of a user's sessions ("u" kind).
	Publish(ctx context.Context, msg Message) error
}

// Message names what to forget.
type Message struct {
	Kind     string // "s": one session, "u": every session of a user in a tenant, "a": of an account in every tenant
	TenantID string // empty for "a"
	ID       string // the session id, or the user (account) id
}

// Store is a rampart.Store whose GetSession is cached.
type Store struct {
	rampart.Store
	bus Bus // nil: this process is the only replica
	now func() time.Time

	// generation changes on every invalidation. A read records it first
	// and caches its result only if it did not change meanwhile, so a read
	// that raced a revocation cannot put the old session back.
	generation atomic.Uint64

	mu      sync.RWMutex
	entries map[key]entry
}

type key struct{ tenantID, id string }

type entry struct {
	session rampart.Session
	readAt  time.Time
}

// New wraps st; bus may be nil, now may be nil (time.Now).
func New(st rampart.Store, bus Bus, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{Store: st, bus: bus, now: now, entries: make(map[key]entry)}
}

// GetSession returns a copy of a session read at most TTL ago, or reads it.
func (s *Store) GetSession(ctx context.Context, tenantID, id string) (*rampart.Session, error) {
	k := key{tenantID, id}
	now := s.now()
	s.mu.RLock()
	e, ok := s.entries[k]
	s.mu.RUnlock()
	if ok && now.Sub(e.readAt) < TTL {
		sess := e.session
		return &sess, nil
	}
	gen := s.generation.Load()
	sess, err := s.Store.GetSession(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.generation.Load() == gen {
		if len(s.entries) >= maxEntries {
			clear(s.entries)
		}
		s.entries[k] = entry{session: *sess, readAt: now}
	}
	s.mu.Unlock()
	return sess, nil
}

func (s *Store) UpdateSession(ctx context.Context, tenantID, id string, fn func(*rampart.Session) error) (*rampart.Session, error) {
	sess, err := s.Store.UpdateSession(ctx, tenantID, id, fn)
	s.invalidate(ctx, Message{Kind: "s", TenantID: tenantID, ID: id})
	return sess, err
}

func (s *Store) RevokeUserSessions(ctx context.Context, tenantID, userID, exceptID string, at time.Time, reason string) error {
	err := s.Store.RevokeUserSessions(ctx, tenantID, userID, exceptID, at, reason)
	s.invalidate(ctx, Message{Kind: "u", TenantID: tenantID, ID: userID})
	return err
}

func (s *Store) RevokeAccountSessions(ctx context.Context, accountID, exceptID string, at time.Time, reason string) error {
	err := s.Store.RevokeAccountSessions(ctx, accountID, exceptID, at, reason)
	s.invalidate(ctx, Message{Kind: "a", ID: accountID})
	return err
}

func (s *Store) MoveSession(ctx context.Context, tenantID, id, toTenantID string, fn func(*rampart.Session) error) (*rampart.Session, error) {
	sess, err := s.Store.MoveSession(ctx, tenantID, id, toTenantID, fn)
	s.invalidate(ctx, Message{Kind: "s", TenantID: tenantID, ID: id})
	return sess, err
}

func (s *Store) DeleteUser(ctx context.Context, tenantID, id string) error {
	err := s.Store.DeleteUser(ctx, tenantID, id)
	s.invalidate(ctx, Message{Kind: "u", TenantID: tenantID, ID: id})
	return err
}

// Atomically runs fn in one transaction of the wrapped store. The session
// changes fn makes through tx are forgotten and published once the unit
// has ended, committed or not (a failed commit may still have committed),
// so that no replica caches a session as it was before the unit.
func (s *Store) Atomically(ctx context.Context, fn func(tx rampart.Store) error) error {
	u := &unit{}
	err := s.Store.Atomically(ctx, func(tx rampart.Store) error {
		u.Store = tx
		return fn(u)
	})
	for _, m := range u.changed {
		s.invalidate(ctx, m)
	}
	return err
}

// unit is the store inside Atomically: it notes the changes that can end a
// session, for Atomically to invalidate after the transaction.
type unit struct {
	rampart.Store
	changed []Message
}

func (u *unit) Atomically(_ context.Context, fn func(tx rampart.Store) error) error { return fn(u) }

func (u *unit) UpdateSession(ctx context.Context, tenantID, id string, fn func(*rampart.Session) error) (*rampart.Session, error) {
	u.changed = append(u.changed, Message{Kind: "s", TenantID: tenantID, ID: id})
	return u.Store.UpdateSession(ctx, tenantID, id, fn)
}

func (u *unit) RevokeUserSessions(ctx context.Context, tenantID, userID, exceptID string, at time.Time, reason string) error {
	u.changed = append(u.changed, Message{Kind: "u", TenantID: tenantID, ID: userID})
	return u.Store.RevokeUserSessions(ctx, tenantID, userID, exceptID, at, reason)
}

func (u *unit) RevokeAccountSessions(ctx context.Context, accountID, exceptID string, at time.Time, reason string) error {
	u.changed = append(u.changed, Message{Kind: "a", ID: accountID})
	return u.Store.RevokeAccountSessions(ctx, accountID, exceptID, at, reason)
}

func (u *unit) MoveSession(ctx context.Context, tenantID, id, toTenantID string, fn func(*rampart.Session) error) (*rampart.Session, error) {
	u.changed = append(u.changed, Message{Kind: "s", TenantID: tenantID, ID: id})
	return u.Store.MoveSession(ctx, tenantID, id, toTenantID, fn)
}

func (u *unit) DeleteUser(ctx context.Context, tenantID, id string) error {
	u.changed = append(u.changed, Message{Kind: "u", TenantID: tenantID, ID: id})
	return u.Store.DeleteUser(ctx, tenantID, id)
}

// invalidate forgets locally, then tells the other replicas. It runs even
// when the change failed: the change may have committed before the error.
func (s *Store) invalidate(ctx context.Context, m Message) {
	s.Forget(m)
	if s.bus != nil {
		// A lost message is bounded by TTL; the change itself succeeded.
		_ = s.bus.Publish(ctx, m)
	}
}

// Forget drops what m names from this replica's cache. The bus calls it for
// messages from other replicas.
func (s *Store) Forget(m Message) {
	s.generation.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Kind {
	case "s":
		delete(s.entries, key{m.TenantID, m.ID})
	case "u":
		for k, e := range s.entries {
			if k.tenantID == m.TenantID && e.session.UserID == m.ID {
				delete(s.entries, k)
			}
		}
	case "a":
		for k, e := range s.entries {
			if e.session.UserID == m.ID {
				delete(s.entries, k)
			}
		}
	default:
		clear(s.entries)
	}
}

// ForgetAll drops the whole cache, e.g. when the bus reconnects after a gap
// in which messages may have been lost.
func (s *Store) ForgetAll() { s.Forget(Message{}) }
