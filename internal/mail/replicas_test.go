package mail_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/mail"
	"example.com/rampart/internal/postgres"
	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/smtptest"
)

// TestReplicasSendEachMessageOnce: three senders over one PostgreSQL
// outbox, as three replicas run them, deliver every message exactly once.
func TestReplicasSendEachMessageOnce(t *testing.T) {
	pg, err := postgres.Open(t.Context(), testutil.PostgresURL(t))
	pg = testutil.Migrated(t, pg, err)
	r := newRig(t)
	r.store = pg
	const n = 30
	for range n {
		r.enqueue()
	}
	srv := smtptest.Start(t, smtptest.Options{})
	var wg sync.WaitGroup
	for range 3 {
		replica := *r
		replica.reg = prometheus.NewRegistry()
		s := replica.sender(smtpTransport(t, srv, mail.LoopbackPlain, "", ""), nil)
		wg.Go(func() { s.Pass(t.Context()) })
	}
	wg.Wait()
	got := srv.Wait(t, n, 10*time.Second)
	ids := map[string]int{}
	for _, m := range got {
		_, id, _ := strings.Cut(string(m.Data), "Message-ID: <")
		id, _, _ = strings.Cut(id, "@")
		ids[id]++
	}
	if len(got) != n || len(ids) != n {
		t.Errorf("received %d messages with %d distinct ids, want %d each", len(got), len(ids), n)
	}
	if pending, _ := pg.CountPendingMail(t.Context()); pending != 0 {
		t.Errorf("%d messages still pending", pending)
	}
}
