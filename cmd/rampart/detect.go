package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/blocklist"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/signals"
)

// detector is the signals.Detector of a serving process, with the event
// stream it reports failed alert deliveries to (set once the stream exists:
// the stream needs the detector as its observer first).
type detector struct {
	*signals.Detector
	events rampart.SecurityEvents
	// blocks, when automatic blocking is on, takes the alerts of the
	// blocking rules (set before the first event arrives).
	blocks *blocklist.Blocker
}

// detectorRedisTimeout bounds each window operation in Redis. The
// detector is off the request path, so it can wait longer than a request
// would; while Redis hangs it falls back to memory (signals.FailoverStore).
const detectorRedisTimeout = 500 * time.Millisecond

// newDetector builds the detection rules of cfg, with the signed webhook
// when one is configured; webhook requests go through the egress dialer.
// With Redis (client not nil) the windows are shared by the replicas, and
// kept in this process's memory while Redis does not answer.
func newDetector(cfg Config, reg prometheus.Registerer, logger *slog.Logger, client *redis.Client) (*detector, error) {
	d := &detector{}
	var store signals.WindowStore
	if client != nil {
		store = signals.NewFailoverStore(signals.NewRedisStore(client, cfg.RedisPrefix+"sig:"),
			signals.NewMemoryStore(signals.DefaultMaxKeys), logger, detectorRedisTimeout, redisRetryEvery)
	}
	sc := signals.Config{Rules: cfg.AlertRules, Store: store, Registry: reg, Logger: logger,
		OnAlert: func(a signals.Alert) {
			if d.blocks != nil {
				d.blocks.OnAlert(a)
			}
		},
		OnDeliveryFailure: func(signals.Alert) {
			if d.events != nil {
				d.events.Record(context.Background(), rampart.SecurityEvent{Type: rampart.EventDeliveryFailure,
					Time: time.Now(), Detail: "alert webhook delivery failed"})
			}
		}}
	if cfg.AlertWebhookURL != "" {
		sc.Webhook = &signals.WebhookConfig{URL: cfg.AlertWebhookURL.Reveal(),
			Secret: []byte(cfg.AlertWebhookSecret.Reveal()), Client: cfg.dialer.HTTPClient()}
	}
	var err error
	d.Detector, err = signals.New(sc)
	return d, err
}

// announceBlock makes a block placed a source_blocked event on d's stream
// and a source_blocked alert through d's outputs.
func (d *detector) announceBlock(b blocklist.Block) {
	blocklist.Announce(d.events, d.Raise, time.Now)(b)
}

// alertVariables are the RAMPART_ALERT_<RULE> rows, one per built-in
// detection rule, in the rule table's order.
func alertVariables() []variable {
	var vs []variable
	for i, r := range signals.DefaultRules() {
		vs = append(vs, variable{Name: signals.EnvName(r.Name), Default: ruleSetting(r),
			Doc: "`N/DURATION` or `off`: " + r.Meaning, codec: codec{
				set: func(c *Config, v string, bad func(string)) {
					set, err := signals.ParseRule(v)
					if err != nil {
						bad(err.Error())
						return
					}
					if c.AlertRules == nil {
						c.AlertRules = signals.DefaultRules()
					}
					c.AlertRules[i] = c.AlertRules[i].WithSettings(set)
				},
				show: func(c Config) string { return ruleSetting(c.AlertRules[i]) },
			}})
	}
	return vs
}

// ruleSetting writes a rule's setting as an operator would: 10/5m, or off.
func ruleSetting(r signals.Rule) string {
	if r.Off {
		return "off"
	}
	return strconv.Itoa(r.Threshold) + "/" + shortDuration(r.Window)
}
