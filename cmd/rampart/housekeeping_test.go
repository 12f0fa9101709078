package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/testutil"
)

// TestHousekeepingAtStart: serve purges at start-up, without waiting for
// its hourly tick, a link token past expiry and retention (and keeps a
// pending one) and a mail outbox row given up on as long ago, counts them
// in rampart_housekeeping_purged_total and logs the counts without the
// link's address.
func TestHousekeepingAtStart(t *testing.T) {
	env := testEnviron(t)
	var dir string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RAMPART_DATA_DIR="); ok {
			dir = v
		}
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "rampart.db"))
	st = testutil.Migrated(t, st, err)
	const address = "purged-canary@example.com"
	old, _ := rampart.NewLink(rampart.LinkPasswordReset, address, time.Now().Add(-rampart.PurgeRetention-time.Hour))
	pending, _ := rampart.NewLink(rampart.LinkPasswordReset, "pending@example.com", time.Now())
	for _, l := range []*rampart.LinkToken{old, pending} {
		if err := st.CreateLinkToken(t.Context(), l); err != nil {
			t.Fatal(err)
		}
	}
	settled := &rampart.OutboxMessage{ID: rampart.NewID(), Kind: rampart.MailNotice, Sealed: []byte{1},
		CreatedAt: old.CreatedAt, NextAttemptAt: old.CreatedAt}
	if err := st.EnqueueMail(t.Context(), settled); err != nil {
		t.Fatal(err)
	}
	if err := st.FailMail(t.Context(), settled.ID, old.CreatedAt, "gave up"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	l, out, _ := startRun(t, env)
	waitLogged(t, out, nil, "housekeeping: purged expired records")
	metrics := "http://" + l.AdminAddr + "/metrics"
	if got := metricValue(t, metrics, `rampart_housekeeping_purged_total{kind="links"}`); got != 1 {
		t.Errorf("link tokens purged at start: %v, want 1", got)
	}
	if got := metricValue(t, metrics, `rampart_housekeeping_purged_total{kind="mail"}`); got != 1 {
		t.Errorf("mail outbox rows purged at start: %v, want 1", got)
	}
	if got := metricValue(t, metrics, `rampart_housekeeping_purged_total{kind="sessions"}`); got != 0 {
		t.Errorf("sessions purged at start: %v, want 0", got)
	}
	if !strings.Contains(out.String(), `"links":1`) || strings.Contains(out.String(), address) {
		t.Errorf("the housekeeping log line lacks the count or names the address:\n%s", out)
	}
}
