// Package throttle slows down password guessing against one account, as
// the contract says: from the 5th consecutive failure, every further attempt
// waits a delay that starts at 30 s and doubles up to 1 h; the right
// password is refused too while the delay lasts; a success forgets the
// failures. The account is the email key, whether or not such a user
// exists, so the throttle never tells which accounts exist.
//
// Memory is the single-process implementation. Its state is bounded: when it
// tracks maxAccounts accounts, it forgets the ones with no delay pending
// before admitting a new one, so a flood of made-up emails cannot grow it
// without end.
package throttle

import (
	"context"
	"sync"
	"time"
)

// Policy is the shape of the delays.
type Policy struct {
	FreeFailures int           // failures allowed before delays start
	FirstDelay   time.Duration // the delay after FreeFailures failures
	MaxDelay     time.Duration // delays double up to this
}

// DefaultPolicy is the contract's: 5 free failures, then 30 s doubling to 1 h.
var DefaultPolicy = Policy{FreeFailures: 4, FirstDelay: 30 * time.Second, MaxDelay: time.Hour}

// delay is how long an account with n consecutive failures must wait after
// its last one.
func (p Policy) delay(n int) time.Duration {
	if n <= p.FreeFailures {
		return 0
	}
	d := p.FirstDelay
	for i := p.FreeFailures + 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

type account struct {
	failures    int
	lockedUntil time.Time
}

// Memory keeps failure counts in this process.
type Memory struct {
	policy      Policy
	maxAccounts int
	now         func() time.Time

	mu       sync.Mutex
	accounts map[string]*account
}

// NewMemory returns an in-process throttle tracking at most maxAccounts
// accounts; now may be nil (time.Now).
func NewMemory(p Policy, maxAccounts int, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{policy: p, maxAccounts: maxAccounts, now: now, accounts: make(map[string]*account)}
}

// Allow returns how long the account must still wait; zero means go ahead.
// The source address is accepted for implementations that also count per
// address; per-address attempt limits are the rate limiter's job.
func (m *Memory) Allow(_ context.Context, key, _ string) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[key]
	if a == nil {
		return 0, nil
	}
	if wait := a.lockedUntil.Sub(m.now()); wait > 0 {
		return wait, nil
	}
	return 0, nil
}

// Fail counts a failed attempt and starts the next delay.
func (m *Memory) Fail(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[key]
	if a == nil {
		m.makeRoom()
		a = &account{}
		m.accounts[key] = a
	}
	a.failures++
	if d := m.policy.delay(a.failures); d > 0 {
		a.lockedUntil = m.now().Add(d)
	}
	return nil
}

// Reset forgets an account's failures.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.accounts, key)
	return nil
}

// makeRoom keeps the map under maxAccounts. Accounts without a pending
// delay go first: forgetting a few sub-threshold failures costs an attacker
// nothing they could not get by waiting, while a pending delay is kept as
// long as anything else can go. Called with mu held.
func (m *Memory) makeRoom() {
	if len(m.accounts) < m.maxAccounts {
		return
	}
	now := m.now()
	for k, a := range m.accounts {
		if !a.lockedUntil.After(now) {
			delete(m.accounts, k)
		}
	}
	// Every tracked account is delayed: drop one at random (map order)
	// rather than grow.
	for k := range m.accounts {
		if len(m.accounts) < m.maxAccounts {
			break
		}
		delete(m.accounts, k)
	}
}

// Len reports how many accounts are tracked, for metrics and tests.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.accounts)
}
