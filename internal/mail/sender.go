package mail

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
)

// Defaults of Config. With them a message is tried 8 times over about an
// hour (30 s, 1, 2, 4, 8, 16 and 30 minutes apart, each less up to half of
// it at random) before it is given up on: long enough to ride out a relay's
// restart or a greylisting, short enough that a reset link (30 minutes) is
// not still arriving when it has long expired.
const (
	DefaultPoll        = 5 * time.Second
	DefaultMaxAttempts = 8
	DefaultFirstRetry  = 30 * time.Second
	DefaultMaxRetry    = 30 * time.Minute
	DefaultSendTimeout = 30 * time.Second
)

// Notifier wakes a Sender (rampart.MailNotifier). Notify never blocks: one
// pending wake-up is as good as many.
type Notifier struct{ c chan struct{} }

// NewNotifier returns a Notifier for one Sender.
func NewNotifier() *Notifier { return &Notifier{c: make(chan struct{}, 1)} }

// Notify wakes the sender.
func (n *Notifier) Notify() {
	select {
	case n.c <- struct{}{}:
	default:
	}
}

// Config configures a Sender. Store, Sealer, Transport and From are
// required. The sender does not delete settled rows: housekeeping does
// (rampart.Identity.Housekeeping), in batches, with the sessions and links.
type Config struct {
	Store     rampart.Store
	Sealer    rampart.Sealer // opens what rampart.Outbox sealed
	Transport Transport
	From      string // the From address
	Wake      *Notifier
	Events    rampart.SecurityEvents // a message given up on is a delivery_failure event
	Logger    *slog.Logger
	Registry  prometheus.Registerer // nil: no metrics
	Now       func() time.Time

	Poll        time.Duration // how often due messages are looked for without a wake-up
	MaxAttempts int
	FirstRetry  time.Duration // the wait after the first failed attempt; it doubles after each
	MaxRetry    time.Duration // the longest wait
	SendTimeout time.Duration // one attempt, connection included
	// Lease is how long a claimed message is held before another sender
	// may take it (this one died); 0: 2 × SendTimeout + 30 s.
	Lease time.Duration
}

// Sender delivers the outbox. Run it once per process; every replica may
// run one (claims are leased, see rampart.Store.ClaimMail).
type Sender struct {
	cfg                   Config
	sent, failed, retries *prometheus.CounterVec
	backlog               prometheus.Gauge
	mu                    sync.Mutex // one pass at a time; guards claimFailing
	claimFailing          bool
	randMu                sync.Mutex
	rnd                   *rand.Rand
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Sender, error) {
	if cfg.Store == nil || cfg.Sealer == nil || cfg.Transport == nil || cfg.From == "" {
		return nil, errors.New("mail: the sender needs a store, a sealer, a transport and a From address")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wake == nil {
		cfg.Wake = NewNotifier()
	}
	cfg.Poll = orDefault(cfg.Poll, DefaultPoll)
	cfg.FirstRetry = orDefault(cfg.FirstRetry, DefaultFirstRetry)
	cfg.MaxRetry = orDefault(cfg.MaxRetry, DefaultMaxRetry)
	cfg.SendTimeout = orDefault(cfg.SendTimeout, DefaultSendTimeout)
	cfg.Lease = orDefault(cfg.Lease, 2*cfg.SendTimeout+30*time.Second)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Lease <= cfg.SendTimeout || cfg.MaxRetry < cfg.FirstRetry {
		return nil, errors.New("mail: the lease must outlast an attempt, and the longest wait the first")
	}
	s := &Sender{cfg: cfg, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	s.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rampart_mail_sent_total",
		Help: "Messages from the outbox handed over to the transport, by kind."}, []string{"kind"})
	s.failed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rampart_mail_failed_total",
		Help: "Messages given up on after every attempt failed, by kind (each is also a delivery_failure security event)."}, []string{"kind"})
	s.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rampart_mail_retries_total",
		Help: "Failed delivery attempts that were scheduled again, by kind."}, []string{"kind"})
	s.backlog = prometheus.NewGauge(prometheus.GaugeOpts{Name: "rampart_mail_outbox_backlog",
		Help: "Messages in the outbox neither sent nor given up on, as of this replica's last pass."})
	for _, k := range rampart.MailKinds() {
		s.sent.WithLabelValues(string(k))
		s.failed.WithLabelValues(string(k))
		s.retries.WithLabelValues(string(k))
	}
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{s.sent, s.failed, s.retries, s.backlog} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Notify wakes the sender (rampart.MailNotifier).
func (s *Sender) Notify() { s.cfg.Wake.Notify() }

// Run delivers until ctx ends: at once, then whenever woken and every Poll.
// When ctx ends it finishes the attempt in progress (bounded by
// SendTimeout) and returns; messages it had not claimed stay queued.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		s.Pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.Wake.c:
		case <-t.C:
		}
	}
}

// Pass delivers every message due now, one at a time, and returns how many
// it attempted. It stops early when ctx ends or the store fails.
func (s *Sender) Pass(ctx context.Context) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for ctx.Err() == nil {
		// One at a time: a claim is a lease, and a message claimed but not
		// yet tried would wait out the lease if this process stopped.
		claimed, err := s.cfg.Store.ClaimMail(ctx, s.cfg.Now(), s.cfg.Lease, 1)
		if err != nil {
			// Once per outage, not every poll: the store's own health is
			// reported by /readyz and rampart_ready.
			if ctx.Err() == nil && !s.claimFailing {
				s.cfg.Logger.Warn("mail outbox: cannot claim; retrying at each poll", slog.String("error", err.Error()))
			}
			s.claimFailing = true
			break
		}
		if s.claimFailing {
			s.cfg.Logger.Info("mail outbox: claiming again")
			s.claimFailing = false
		}
		if len(claimed) == 0 {
			break
		}
		s.attempt(ctx, claimed[0])
		n++
	}
	s.updateBacklog(ctx)
	return n
}

func (s *Sender) updateBacklog(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if pending, err := s.cfg.Store.CountPendingMail(ctx); err == nil {
		s.backlog.Set(float64(pending))
	}
}

// attempt tries one claimed message and settles it. The settling writes
// run even when ctx has ended, so that a stopping server records what it
// just did.
func (s *Sender) attempt(ctx context.Context, m *rampart.OutboxMessage) {
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SendTimeout)
	defer cancel()
	log := s.cfg.Logger.With(slog.String("mail_id", m.ID), slog.String("kind", string(m.Kind)), slog.Int("attempt", m.Attempts))
	kind := string(m.Kind)
	content, err := rampart.OpenMail(s.cfg.Sealer, m)
	if err != nil {
		// Not a delivery problem: no retry will open it.
		s.giveUp(settle, log, m, "sealed content does not open (master key changed?)")
		return
	}
	err = s.cfg.Transport.Deliver(settle, Message{ID: m.ID, Kind: m.Kind, From: s.cfg.From, To: content.To,
		Subject: content.Subject, Body: content.Body, Date: m.CreatedAt})
	if err == nil {
		if err := s.cfg.Store.MarkMailSent(settle, m.ID, s.cfg.Now()); err != nil {
			// Delivered but not recorded: it may go out again after the lease.
			log.Error("mail sent but not recorded as sent", slog.String("error", err.Error()))
		}
		s.sent.WithLabelValues(kind).Inc()
		log.Info("mail sent", slog.String("transport", s.cfg.Transport.String()))
		return
	}
	reason := Reason(err)
	if m.Attempts >= s.cfg.MaxAttempts {
		s.giveUp(settle, log, m, reason)
		return
	}
	wait := s.backoff(m.Attempts)
	if err := s.cfg.Store.RetryMail(settle, m.ID, s.cfg.Now().Add(wait), reason); err != nil {
		log.Error("mail retry not recorded; the lease will release it", slog.String("error", err.Error()))
	}
	s.retries.WithLabelValues(kind).Inc()
	log.Warn("mail delivery failed; will retry", slog.String("reason", reason), slog.Duration("retry_in", wait))
}

func (s *Sender) giveUp(ctx context.Context, log *slog.Logger, m *rampart.OutboxMessage, reason string) {
	if err := s.cfg.Store.FailMail(ctx, m.ID, s.cfg.Now(), reason); err != nil {
		log.Error("mail failure not recorded", slog.String("error", err.Error()))
	}
	s.failed.WithLabelValues(string(m.Kind)).Inc()
	log.Error("mail delivery failed for good", slog.String("reason", reason))
	if s.cfg.Events != nil {
		s.cfg.Events.Record(ctx, rampart.SecurityEvent{Type: rampart.EventDeliveryFailure, Time: s.cfg.Now(),
			Detail: "mail delivery failed"})
	}
}

// backoff is the wait after the given number of failed attempts:
// FirstRetry doubled for each earlier failure, at most MaxRetry, less up to
// half of it at random so that messages failed together do not retry in
// step.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.cfg.FirstRetry
	for i := 1; i < attempts && d < s.cfg.MaxRetry; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxRetry)
	s.randMu.Lock()
	jitter := time.Duration(s.rnd.Int64N(int64(d/2) + 1))
	s.randMu.Unlock()
	return d - jitter
}
