package rampart_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// Housekeeping keeps what still answers: until a session's absolute
// expiry plus PurgeRetention, its refresh tokens answer as they did before
// housekeeping existed (reuse detection on a live session, "the session
// has ended" on an ended one), and a pending link still works; once past,
// the session and the link are gone and their tokens are simply unknown.
func TestHousekeepingKeepsWhatStillAnswers(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("keep@example.com")
	first, _ := w.login("keep@example.com", testPassword, "")
	second, err := w.id.Refresh(w.ctx, meta, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := w.login("keep@example.com", testPassword, "")
	if err := w.id.RequestPasswordReset(w.ctx, meta, "keep@example.com"); err != nil {
		t.Fatal(err)
	}
	reset := mailedLink(t, w.store, w.box, "keep@example.com")

	w.housekeeping(rampart.Purged{})
	_, err = w.id.Refresh(w.ctx, meta, first.RefreshToken)
	wantCode(t, "a reused token after housekeeping", err, rampart.KindUnauthenticated, rampart.CodeTokenReused)

	// The reset link (30 min), expired for PurgeRetention, goes, and so
	// does its mail's outbox row (sent within the test's first minutes);
	// the sessions (30 days) stay and still say they ended.
	expiry := w.clock.Now().Add(rampart.DefaultIdentityConfig.SessionMax)
	w.clock.Advance(rampart.PasswordResetTTL + rampart.PurgeRetention + time.Second)
	w.housekeeping(rampart.Purged{LinkTokens: 1, Mail: 1})
	err = w.id.ConfirmPasswordReset(w.ctx, meta, rampart.ResetInput{Token: reset, NewPassword: "a whole new passphrase"})
	wantCode(t, "a purged reset link", err, rampart.KindInvalid, rampart.CodeInvalidLink)

	w.clock.Advance(expiry.Add(rampart.PurgeRetention).Sub(w.clock.Now()))
	w.housekeeping(rampart.Purged{})
	for _, tok := range []*rampart.Tokens{second, other} {
		_, err = w.id.Refresh(w.ctx, meta, tok.RefreshToken)
		wantMessage(t, "a session at expiry + retention", err, "the session has ended; sign in again")
	}

	w.clock.Advance(time.Microsecond)
	w.housekeeping(rampart.Purged{Sessions: 2})
	for _, tok := range []*rampart.Tokens{first, second, other} {
		_, err = w.id.Refresh(w.ctx, meta, tok.RefreshToken)
		wantMessage(t, "a purged session", err, "the refresh token is not valid")
	}
}

// A pending reset link survives housekeeping and still sets the password.
func TestHousekeepingKeepsPendingLinks(t *testing.T) {
	w := newWorld(t, nil)
	w.signup("pending@example.com")
	if err := w.id.RequestPasswordReset(w.ctx, meta, "pending@example.com"); err != nil {
		t.Fatal(err)
	}
	reset := mailedLink(t, w.store, w.box, "pending@example.com")
	w.clock.Advance(rampart.PasswordResetTTL - time.Second)
	w.housekeeping(rampart.Purged{})
	if err := w.id.ConfirmPasswordReset(w.ctx, meta, rampart.ResetInput{Token: reset, NewPassword: "a whole new passphrase"}); err != nil {
		t.Fatalf("a pending reset link after housekeeping: %v", err)
	}
}

// The attack: every reset for an unknown address stores a decoy link, so
// an anonymous client grows the link table at the reset rate limit. After
// expiry and retention, one housekeeping run (in several batches) takes the
// table back to empty; before that, it keeps every row. Each decoy also
// leaves a mail outbox row, given up on at once: those go PurgeRetention
// after the reset, also in several batches.
func TestHousekeepingEmptiesDecoyResets(t *testing.T) {
	w := newWorld(t, nil)
	decoys := rampart.MaxPurgeBatch + 5 // more than one batch
	for i := range decoys {
		if err := w.id.RequestPasswordReset(w.ctx, meta, fmt.Sprintf("nobody-%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.countLinkTokens(); n != decoys {
		t.Fatalf("%d link tokens after %d decoy resets", n, decoys)
	}
	w.clock.Advance(rampart.PasswordResetTTL + rampart.PurgeRetention)
	w.housekeeping(rampart.Purged{Mail: decoys})
	if n := w.countLinkTokens(); n != decoys {
		t.Fatalf("%d link tokens at expiry + retention, want all %d", n, decoys)
	}
	w.clock.Advance(time.Microsecond)
	w.housekeeping(rampart.Purged{LinkTokens: decoys})
	if n := w.countLinkTokens(); n != 0 {
		t.Fatalf("%d link tokens left after housekeeping, want 0", n)
	}
}

// The mail outbox: a row sent or given up on more than PurgeRetention ago
// goes; one settled later, and a pending message however old, stay.
func TestHousekeepingPurgesSettledMail(t *testing.T) {
	w := newWorld(t, nil)
	t0 := w.clock.Now()
	w.signup("mail@example.com")
	for range 3 { // each queues a mail
		if err := w.id.RequestPasswordReset(w.ctx, meta, "mail@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	claim := func() string {
		msgs, err := w.store.ClaimMail(w.ctx, w.clock.Now(), time.Minute, 1)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("claim: %v, %v", msgs, err)
		}
		return msgs[0].ID
	}
	sent, failed, pending := claim(), claim(), claim()
	if err := w.store.MarkMailSent(w.ctx, sent, t0); err != nil {
		t.Fatal(err)
	}
	if err := w.store.FailMail(w.ctx, failed, t0.Add(time.Hour), "gave up"); err != nil {
		t.Fatal(err)
	}
	if err := w.store.RetryMail(w.ctx, pending, t0, "later"); err != nil {
		t.Fatal(err)
	}

	w.clock.Advance(t0.Add(rampart.PurgeRetention).Sub(w.clock.Now()))
	w.housekeeping(rampart.Purged{})
	w.clock.Advance(time.Microsecond)
	w.housekeeping(rampart.Purged{Mail: 1})
	if _, err := w.store.GetMail(w.ctx, sent); rampart.ErrorKind(err) != rampart.KindNotFound {
		t.Errorf("mail sent more than PurgeRetention ago: %v, want it gone", err)
	}
	for _, id := range []string{failed, pending} {
		if _, err := w.store.GetMail(w.ctx, id); err != nil {
			t.Errorf("mail failed later, or pending: %v", err)
		}
	}
	w.clock.Advance(time.Hour) // the reset links (30 min) go as well
	w.housekeeping(rampart.Purged{LinkTokens: 3, Mail: 1})
	if _, err := w.store.GetMail(w.ctx, pending); err != nil {
		t.Errorf("a pending message was purged: %v", err)
	}
}

// The batch loop: it calls until a batch comes back short, adds up what
// each deleted, and stops at the first error with what it had deleted.
func TestPurgeInBatches(t *testing.T) {
	before := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		rows, batch, calls int
	}{{0, 3, 1}, {2, 3, 1}, {3, 3, 2}, {7, 3, 3}, {9, 3, 4}} {
		left, calls := tc.rows, 0
		n, err := rampart.PurgeInBatchesForTest(t.Context(), before, tc.batch, func(_ context.Context, b time.Time, limit int) (int, error) {
			calls++
			if !b.Equal(before) || limit != tc.batch {
				t.Fatalf("purge called with %v, %d; want %v, %d", b, limit, before, tc.batch)
			}
			n := min(left, limit)
			left -= n
			return n, nil
		})
		if err != nil || n != tc.rows || calls != tc.calls || left != 0 {
			t.Errorf("%d rows in batches of %d: deleted %d in %d calls (%v), %d left; want %d in %d",
				tc.rows, tc.batch, n, calls, err, left, tc.rows, tc.calls)
		}
	}
	down := errors.New("database down")
	calls := 0
	n, err := rampart.PurgeInBatchesForTest(t.Context(), before, 3, func(context.Context, time.Time, int) (int, error) {
		calls++
		if calls == 2 {
			return 0, down
		}
		return 3, nil
	})
	if !errors.Is(err, down) || n != 3 || calls != 2 {
		t.Errorf("a failing second batch: deleted %d in %d calls, %v; want 3 in 2, %v", n, calls, err, down)
	}
}

// housekeeping runs Identity.Housekeeping and fails unless it purged want.
func (w *world) housekeeping(want rampart.Purged) {
	w.t.Helper()
	got, err := w.id.Housekeeping(w.ctx)
	if err != nil || got != want {
		w.t.Fatalf("housekeeping at %v: %+v, %v; want %+v", w.clock.Now(), got, err, want)
	}
}

// countLinkTokens counts the rows of link_tokens in the world's SQLite
// file: what the store keeps, whatever its methods would show.
func (w *world) countLinkTokens() int {
	w.t.Helper()
	db, err := sql.Open("sqlite", w.path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(w.ctx, "SELECT count(*) FROM link_tokens").Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func wantMessage(t *testing.T, what string, err error, message string) {
	t.Helper()
	wantCode(t, what, err, rampart.KindUnauthenticated, rampart.CodeInvalidToken)
	if got := rampart.ErrorOf(err).Message; got != message {
		t.Fatalf("%s: %q, want %q", what, got, message)
	}
}
