// Package secevents is the one security-event stream (issue 13): every
// rampart.SecurityEvent, from the edge and from the domain, goes through a
// Recorder, which writes it to the log in one schema, counts it by type,
// and hands it to the observers (the detector) without ever blocking the
// request that caused it.
package secevents

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/rampart"
)

// Observer is told of every security event, on the Recorder's own
// goroutine, one event at a time. Package internal/signals (detection)
// implements it. Observe should be quick; while it is slow, events queue
// and, once the queue is full, are dropped and counted.
type Observer interface{ Observe(rampart.SecurityEvent) }

// DefaultQueue is how many events may wait for the observers.
const DefaultQueue = 4096

// unknownType labels, in the metric, a type outside the closed set: a
// programming error, but one that must not add a label value per mistake.
const unknownType = "unknown"

// Recorder implements rampart.SecurityEvents.
type Recorder struct {
	logger    *slog.Logger
	total     *prometheus.CounterVec
	dropped   prometheus.Counter
	now       func() time.Time
	known     map[rampart.SecurityEventType]bool
	observers []Observer
	queue     chan rampart.SecurityEvent
	done      chan struct{}
	closeOnce sync.Once
}

// Config is what a Recorder is built from. Logger and Registry are
// required; Queue 0 means DefaultQueue, Now nil means time.Now.
type Config struct {
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	Observers []Observer
	Queue     int
	Now       func() time.Time
}

// New builds a Recorder and, when there are observers, starts the one
// goroutine that delivers to them; Close stops it.
func New(cfg Config) (*Recorder, error) {
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Recorder{
		logger: cfg.Logger,
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "rampart", Name: "security_events_total",
			Help: "Security events recorded, by type (a closed set).",
		}, []string{"type"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "rampart", Name: "security_events_dropped_total",
			Help: "Security events not handed to the observers (detection) because their queue was full.",
		}),
		now:       cfg.Now,
		known:     map[rampart.SecurityEventType]bool{},
		observers: slices.Clone(cfg.Observers),
		queue:     make(chan rampart.SecurityEvent, cfg.Queue),
		done:      make(chan struct{}),
	}
	// Every type is exported from the start at 0, so a rate() over it
	// and a dashboard query see the series before the first event.
	for _, t := range rampart.SecurityEventTypes() {
		r.known[t] = true
		r.total.WithLabelValues(string(t))
	}
	for _, c := range []prometheus.Collector{r.total, r.dropped} {
		if err := cfg.Registry.Register(c); err != nil {
			return nil, err
		}
	}
	if len(r.observers) > 0 {
		go r.deliver()
	}
	return r, nil
}

// Record logs and counts e at once, and queues it for the observers,
// dropping it (counted) when the queue is full. It never blocks.
func (r *Recorder) Record(ctx context.Context, e rampart.SecurityEvent) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	label := string(e.Type)
	if !r.known[e.Type] {
		label = unknownType
	}
	r.total.WithLabelValues(label).Inc()
	source := ""
	if e.Source.IsValid() {
		source = e.Source.String()
	}
	// One schema for every event; each field is an id, a pattern or a
	// fixed phrase, never request data (see rampart.SecurityEvent).
	r.logger.LogAttrs(ctx, slog.LevelInfo, "security event",
		slog.String("type", string(e.Type)),
		slog.String("source", source),
		slog.String("account", e.AccountID),
		slog.String("tenant", e.TenantID),
		slog.String("route", e.Route),
		slog.String("request_id", e.RequestID),
		slog.Int("status", e.Status),
		slog.String("detail", e.Detail),
	)
	if len(r.observers) == 0 {
		return
	}
	select {
	case <-r.done:
		r.dropped.Inc()
		return
	default:
	}
	select {
	case r.queue <- e:
	default:
		r.dropped.Inc()
	}
}

func (r *Recorder) deliver() {
	for {
		select {
		case <-r.done:
			return
		case e := <-r.queue:
			for _, o := range r.observers {
				r.observe(o, e)
			}
		}
	}
}

// observe hands e to o; a panicking observer is logged, and neither takes
// the server down nor stops delivery to the others.
func (r *Recorder) observe(o Observer, e rampart.SecurityEvent) {
	defer func() {
		if p := recover(); p != nil {
			r.logger.Error("security event observer panicked", slog.String("type", string(e.Type)),
				slog.Any("panic", p))
		}
	}()
	o.Observe(e)
}

// Close stops delivery to the observers; events still queued are not
// delivered. It does not wait for an observer that is stuck. Record stays
// safe to call (it logs, counts and drops).
func (r *Recorder) Close() {
	r.closeOnce.Do(func() { close(r.done) })
}
