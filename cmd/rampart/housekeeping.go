package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/periodic"
	"example.com/rampart/internal/rampart"
)

// housekeepingEvery is how often serve deletes the sessions and link tokens
// that expired, and the mail outbox rows settled, more than
// rampart.PurgeRetention ago. An hour keeps what an
// attacker can pile up with decoy resets to retention plus an hour of the
// reset rate limit, at one short batch loop an hour.
const housekeepingEvery = time.Hour

// startHousekeeping runs Identity.Housekeeping once now, off the start-up
// path (after migrations; a backlog must not delay readiness), then every
// housekeepingEvery until ctx ends. Every replica runs it: the deletes are
// idempotent, and on PostgreSQL replicas skip the rows another is deleting.
// It counts what it deleted in rampart_housekeeping_purged_total{kind}.
func startHousekeeping(ctx context.Context, id *rampart.Identity, registry *prometheus.Registry, logger *slog.Logger) {
	purged := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rampart_housekeeping_purged_total",
		Help: "Expired sessions and link tokens, and settled mail outbox rows, this replica deleted (kind: sessions, links, mail)."}, []string{"kind"})
	registry.MustRegister(purged)
	sessions, links, settled := purged.WithLabelValues("sessions"), purged.WithLabelValues("links"), purged.WithLabelValues("mail")
	run := func() {
		p, err := id.Housekeeping(ctx)
		sessions.Add(float64(p.Sessions))
		links.Add(float64(p.LinkTokens))
		settled.Add(float64(p.Mail))
		// Counts only: never an id or an address. (The logger redacts
		// any key that names a token, hence "links".)
		attrs := []any{slog.Int("sessions", p.Sessions), slog.Int("links", p.LinkTokens), slog.Int("mail", p.Mail)}
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("housekeeping: purge stopped; the next run goes on", append(attrs, slog.String("error", err.Error()))...)
		case err == nil && p != (rampart.Purged{}):
			logger.Info("housekeeping: purged expired records", attrs...)
		}
	}
	go func() {
		run()
		periodic.Every(ctx, housekeepingEvery, run)
	}()
}
