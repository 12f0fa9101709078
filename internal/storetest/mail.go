package storetest

// The mail outbox.

import (
	"errors"
	"sync"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func newMail(due time.Time) *rampart.OutboxMessage {
	return &rampart.OutboxMessage{ID: rampart.NewID(), Kind: rampart.MailPasswordReset, Sealed: []byte("sealed " + rampart.NewID()),
		CreatedAt: due, NextAttemptAt: due}
}

func ids(ms []*rampart.OutboxMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func testMailOutbox(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	older, newer, later := newMail(base), newMail(base.Add(time.Second)), newMail(base.Add(time.Hour))
	// Whatever the caller says of attempts, claims and outcomes, a new
	// message has none.
	newer.Attempts, newer.SentAt, newer.LastError = 7, base, "x"
	for _, m := range []*rampart.OutboxMessage{newer, older, later} {
		check(t, s.EnqueueMail(ctx, m))
	}
	if newer.Attempts != 0 || !newer.SentAt.IsZero() || newer.LastError != "" {
		t.Errorf("EnqueueMail left %+v, want no attempt or outcome", newer)
	}
	wantKind(t, s.EnqueueMail(ctx, older), rampart.KindConflict)
	wantKind(t, s.EnqueueMail(ctx, &rampart.OutboxMessage{ID: rampart.NewID(), Kind: rampart.MailNotice, CreatedAt: base, NextAttemptAt: base}), rampart.KindInvalid)
	got, err := s.GetMail(ctx, older.ID)
	check(t, err)
	equal(t, got, older)
	countIs(t, s, 3)

	_, err = s.ClaimMail(ctx, base, 0, 10)
	wantKind(t, err, rampart.KindInvalid)
	_, err = s.ClaimMail(ctx, base, time.Minute, rampart.MaxMailClaim+1)
	wantKind(t, err, rampart.KindInvalid)

	// The oldest due is picked first (the sender claims one at a time),
	// though enqueued after newer; not what is due later.
	now := base.Add(time.Minute)
	claimed, err := s.ClaimMail(ctx, now, time.Minute, 1)
	check(t, err)
	older.Attempts, older.ClaimedUntil = 1, rampart.Timestamp(now.Add(time.Minute))
	equal(t, claimed, []*rampart.OutboxMessage{older})
	claimed, err = s.ClaimMail(ctx, now, time.Minute, 10)
	check(t, err)
	newer.Attempts, newer.ClaimedUntil = 1, rampart.Timestamp(now.Add(time.Minute))
	equal(t, claimed, []*rampart.OutboxMessage{newer})
	// Leased: not handed out again while the lease runs.
	again, err := s.ClaimMail(ctx, now.Add(30*time.Second), time.Minute, 10)
	check(t, err)
	equal(t, ids(again), []string{})

	// A failed attempt: due again later, with the reason.
	check(t, s.RetryMail(ctx, newer.ID, now.Add(10*time.Minute), "connection failed"))
	got, err = s.GetMail(ctx, newer.ID)
	check(t, err)
	newer.ClaimedUntil, newer.NextAttemptAt, newer.LastError = time.Time{}, rampart.Timestamp(now.Add(10*time.Minute)), "connection failed"
	equal(t, got, newer)

	// A sender that died holding older: the lease ends and it is claimed
	// again, its attempt counted.
	after := now.Add(2 * time.Minute)
	claimed, err = s.ClaimMail(ctx, after, time.Minute, 1)
	check(t, err)
	equal(t, ids(claimed), []string{older.ID})
	if claimed[0].Attempts != 2 {
		t.Errorf("a second claim counts %d attempts, want 2", claimed[0].Attempts)
	}

	// Sent: the sealed content is erased, and it is settled once.
	check(t, s.MarkMailSent(ctx, older.ID, after.Add(time.Second)))
	got, err = s.GetMail(ctx, older.ID)
	check(t, err)
	if got.Sealed != nil || got.SentAt != rampart.Timestamp(after.Add(time.Second)) || !got.ClaimedUntil.IsZero() {
		t.Errorf("a sent message reads back as %+v, want its content erased and its claim ended", got)
	}
	wantKind(t, s.MarkMailSent(ctx, older.ID, after), rampart.KindNotFound)
	wantKind(t, s.RetryMail(ctx, older.ID, after, "x"), rampart.KindNotFound)
	wantKind(t, s.FailMail(ctx, older.ID, after, "x"), rampart.KindNotFound)
	countIs(t, s, 2)

	// Given up on: erased too, never claimed again.
	check(t, s.FailMail(ctx, newer.ID, after, "gave up"))
	got, err = s.GetMail(ctx, newer.ID)
	check(t, err)
	if got.Sealed != nil || got.FailedAt != rampart.Timestamp(after) || got.LastError != "gave up" {
		t.Errorf("a failed message reads back as %+v", got)
	}
	claimed, err = s.ClaimMail(ctx, base.Add(24*time.Hour), time.Minute, 10)
	check(t, err)
	equal(t, ids(claimed), []string{later.ID})
	countIs(t, s, 1)

	_, err = s.GetMail(ctx, rampart.NewID())
	wantKind(t, err, rampart.KindNotFound)
	wantKind(t, s.MarkMailSent(ctx, rampart.NewID(), after), rampart.KindNotFound)

	// Purging: settled messages before the time go, at most limit at a
	// time and the oldest settled first; pending ones never.
	n, err := s.PurgeMail(ctx, after, rampart.MaxPurgeBatch) // older was sent after it, newer failed at it
	check(t, err)
	if n != 0 {
		t.Errorf("purged %d messages settled at or after the time", n)
	}
	far := base.Add(100 * 24 * time.Hour)
	for _, gone := range []*rampart.OutboxMessage{newer, older} { // newer failed before older was sent
		n, err = s.PurgeMail(ctx, far, 1)
		check(t, err)
		if n != 1 {
			t.Fatalf("a batch of 1 purged %d", n)
		}
		_, err = s.GetMail(ctx, gone.ID)
		wantKind(t, err, rampart.KindNotFound)
	}
	n, err = s.PurgeMail(ctx, far, rampart.MaxPurgeBatch)
	check(t, err)
	if n != 0 {
		t.Errorf("purged %d pending messages", n)
	}
	_, err = s.GetMail(ctx, later.ID)
	check(t, err)
	countIs(t, s, 1)
}

func countIs(t *testing.T, s rampart.Store, want int) {
	t.Helper()
	n, err := s.CountPendingMail(t.Context())
	check(t, err)
	if n != want {
		t.Errorf("CountPendingMail = %d, want %d", n, want)
	}
}

// testMailCommitsWithItsUnit: a message enqueued in a unit that fails is
// not stored, and one in a unit that commits is.
func testMailCommitsWithItsUnit(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)
	dropped, kept := newMail(base), newMail(base)
	errStop := errors.New("stop")
	err := s.Atomically(ctx, func(tx rampart.Store) error {
		check(t, tx.CreateOrder(ctx, newOrder(tenant.ID, admin.ID, base)))
		check(t, tx.EnqueueMail(ctx, dropped))
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("got %v, want fn's own error", err)
	}
	_, err = s.GetMail(ctx, dropped.ID)
	wantKind(t, err, rampart.KindNotFound)
	check(t, s.Atomically(ctx, func(tx rampart.Store) error { return tx.EnqueueMail(ctx, kept) }))
	got, err := s.GetMail(ctx, kept.ID)
	check(t, err)
	equal(t, got, kept)
}

// testConcurrentMailClaims: senders claiming at once (replicas) never get
// the same message.
func testConcurrentMailClaims(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	const n, claimers = 60, 6
	for i := range n {
		check(t, s.EnqueueMail(ctx, newMail(base.Add(time.Duration(i)*time.Millisecond))))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range claimers {
		wg.Go(func() {
			for range n { // bounded: a broken lease would hand out the same messages forever
				claimed, err := s.ClaimMail(ctx, base.Add(time.Minute), time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(claimed) == 0 {
					return
				}
				mu.Lock()
				for _, m := range claimed {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d distinct messages, want %d", len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Errorf("message %s claimed %d times", id, times)
		}
	}
}
