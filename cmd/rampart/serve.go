package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/app"
	"example.com/rampart/internal/httpapi"
	"example.com/rampart/internal/logging"
	"example.com/rampart/internal/mail"
	"example.com/rampart/internal/password"
	"example.com/rampart/internal/periodic"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/secevents"
	"example.com/rampart/internal/sessioncache"
	"example.com/rampart/internal/token"
)

// Server timeouts against slow clients (security baseline HTTP-04). The
// zero values of http.Server mean "no timeout", so each is set explicitly.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

func serve(ctx context.Context, environ []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(environ)
	if err != nil {
		fmt.Fprintf(stderr, "rampart: configuration refused:\n%v\n", err)
		return errReported
	}
	logger := logging.New(stdout, cfg.LogLevel)
	if cfg.Env == "development" {
		created, err := ensureDevMasterKey(&cfg)
		if err != nil {
			logger.Error("development master key", slog.String("error", err.Error()))
			return errReported
		}
		logger.Warn("DEVELOPMENT MODE: not for production; the master key is generated and kept in the data directory",
			slog.String("data_dir", cfg.DataDir), slog.Bool("key_created", created))
	}

	// Listen first, so that while the database is not reachable yet the
	// process answers as alive but not ready instead of crash-looping.
	publicLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		logger.Error("listen", slog.String("addr", cfg.Addr), slog.String("error", err.Error()))
		return errReported
	}
	adminLn, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		publicLn.Close()
		logger.Error("listen (admin)", slog.String("addr", cfg.AdminAddr), slog.String("error", err.Error()))
		return errReported
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// rampart_ready says what /readyz says, for alerting (deploy/prometheus):
	// 0 while the server waits for its store, then whether the store answers
	// a ping at scrape time.
	var readyCheck atomic.Pointer[func() bool]
	registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_ready",
		Help: "1 when this replica can serve (the store answers), 0 while starting or when the store does not answer."},
		func() float64 {
			check := readyCheck.Load()
			return boolGauge(check != nil && (*check)())
		}))
	if cfg.dialer, err = newEgress(cfg, registry); err != nil {
		publicLn.Close()
		adminLn.Close()
		logger.Error("outbound allowlist", slog.String("error", err.Error()))
		return errReported
	}
	var current atomic.Pointer[http.Handler]
	starting := httpapi.Starting()
	current.Store(&starting)
	errorLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	public := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*current.Load()).ServeHTTP(w, r) }), errorLog)
	admin := newHTTPServer(adminHandler(registry, cfg.Pprof), errorLog)
	serveErr := make(chan error, 2)
	go func() { serveErr <- public.Serve(publicLn) }()
	go func() { serveErr <- admin.Serve(adminLn) }()
	defer func() { _ = public.Close(); _ = admin.Close() }() // after a failed start; a no-op after Shutdown
	logger.Info("starting", slog.String("addr", publicLn.Addr().String()), slog.String("admin_addr", adminLn.Addr().String()))

	st, err := waitForStore(ctx, cfg, logger)
	if err != nil {
		logger.Error("open store", slog.String("error", err.Error()))
		return errReported
	}
	defer st.Close()
	if err := prepareSchema(ctx, cfg, st, logger); err != nil {
		logger.Error("schema", slog.String("error", err.Error()))
		return errReported
	}

	lim, err := buildLimits(cfg, logger)
	if err != nil {
		logger.Error("rate limits", slog.String("error", err.Error()))
		return errReported
	}
	defer lim.close()
	go probeRedis(ctx, lim)
	registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_redis_degraded",
		Help: "1 while a configured Redis does not answer (limits are per replica), 0 otherwise."},
		func() float64 { return boolGauge(!lim.healthy()) }))

	checkpoints, err := openCheckpointExporter(cfg, logger)
	if err != nil {
		logger.Error("audit checkpoints", slog.String("error", err.Error()))
		return errReported
	}
	defer checkpoints.Close()
	master, err := masterKey(cfg)
	if err != nil {
		logger.Error("identity", slog.String("error", err.Error()))
		return errReported
	}
	idCfg := rampart.DefaultIdentityConfig
	idCfg.StepUpMaxAge, idCfg.RefreshGrace = cfg.StepUpMaxAge, cfg.RefreshReuseGrace
	if cfg.PublicURL != "" {
		idCfg.PublicURL = cfg.PublicURL
	}
	idCfg.Signup, idCfg.SendVerification = cfg.Signup, cfg.SMTPURL != ""
	// One security-event stream for the domain and the edge: log, metrics
	// and the detector, which turns what the events add up to into alerts.
	// Detection and blocking talk to Redis off the request path, through
	// their own client without its 50 ms deadline.
	var background *redis.Client
	if cfg.RedisURL != "" {
		if background, err = newBackgroundRedisClient(cfg); err != nil {
			logger.Error("detection", slog.String("error", err.Error()))
			return errReported
		}
		defer background.Close()
	}
	detector, err := newDetector(cfg, registry, logger, background)
	if err != nil {
		logger.Error("detection", slog.String("error", err.Error()))
		return errReported
	}
	if cfg.AutoBlock {
		// The automatic answer: a blocking rule's alert blocks its source,
		// shared through Redis when configured.
		if detector.blocks, err = newBlocker(cfg, background, registry, logger, detector.announceBlock); err != nil {
			logger.Error("automatic blocking", slog.String("error", err.Error()))
			return errReported
		}
	}
	events, err := secevents.New(secevents.Config{Logger: logger, Registry: registry,
		Observers: []secevents.Observer{detector}})
	if err != nil {
		logger.Error("security events", slog.String("error", err.Error()))
		return errReported
	}
	defer events.Close()
	detector.events = events
	cfg.dialer.SetEvents(events)
	go detector.Run(ctx)
	var blocks httpapi.SourceBlocks // a nil *Blocker must not become a non-nil interface
	if detector.blocks != nil {
		blocks = detector.blocks
		go detector.blocks.Run(ctx)
	}
	// The outbox's sender is woken by the domain after each commit that
	// queues mail (rampart.MailNotifier), and polls in any case.
	mailWake := mail.NewNotifier()
	appCfg := app.Config{Store: st, MasterKey: master, Argon2: cfg.Argon2,
		Policy: password.Policy{MinLength: cfg.PasswordMinLength}, Identity: idCfg,
		Throttle: lim.throttle, Checkpoints: checkpoints, Events: events, Mail: mailWake}
	// Revocations reach the other replicas' session caches through Redis.
	var bus *sessioncache.RedisBus
	if lim.redis != nil {
		bus = sessioncache.NewRedisBus(lim.redis, cfg.RedisPrefix+revocationsChannel)
		appCfg.Revocations = bus
	}
	parts, err := app.Build(ctx, appCfg)
	if err != nil {
		logger.Error("identity", slog.String("error", err.Error()))
		return errReported
	}
	if bus != nil {
		go bus.Listen(ctx, parts.Sessions, logger)
		registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rampart_session_revocations_received_total",
			Help: "Session revocations received over Redis and applied to this replica's session cache.",
		}, func() float64 { return float64(bus.Received()) }))
	}
	sender, err := newMailSender(cfg, st, parts.Deps.Sealer, mailWake, events, registry, logger)
	if err != nil {
		logger.Error("mail", slog.String("error", err.Error()))
		return errReported
	}
	senderCtx, stopSender := context.WithCancel(ctx)
	defer stopSender()
	senderDone := runSender(senderCtx, sender)
	setMemoryLimit(cfg.Argon2, logger)
	startHousekeeping(ctx, parts.Services.Identity, registry, logger)
	// Another replica or `rampart keys rotate` may rotate the signing keys:
	// pick them up at once when Redis tells, and by polling in any case.
	go refreshKeys(ctx, parts, logger, keyReloadEvery)
	if lim.redis != nil {
		go followKeyRotations(ctx, lim.redis, cfg.RedisPrefix+keyRotationsChannel, parts, logger)
	}

	registry.MustRegister(
		// A login flood shows here first: every slot busy, the queue full.
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_password_hashes_running", Help: "argon2id hashes computing now."},
			func() float64 { return float64(parts.Hasher.Stats().Running) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_password_hashes_queued", Help: "Password hashes waiting for a slot."},
			func() float64 { return float64(parts.Hasher.Stats().Queued) }))
	handler, err := httpapi.NewServer(httpapi.Options{
		Logger:         logger,
		Store:          st,
		Services:       parts.Services,
		Tokens:         parts.Tokens,
		CursorKey:      parts.CursorKey,
		Registry:       registry,
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Version:        buildVersion(),
		RateLimits:     lim.http,
		RefreshCookie:  cfg.RefreshCookie,
		SecurityEvents: parts.Events,
		Blocks:         blocks,
		Degraded:       func() bool { return !lim.healthy() },
	})
	if err != nil {
		logger.Error("build HTTP server", slog.String("error", err.Error()))
		return errReported
	}

	current.Store(&handler)
	storeAnswers := func() bool {
		pingCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyPingTimeout)
		defer cancel()
		return st.Ping(pingCtx) == nil
	}
	readyCheck.Store(&storeAnswers)
	logger.Info("listening", slog.String("env", cfg.Env),
		slog.String("addr", publicLn.Addr().String()), slog.String("admin_addr", adminLn.Addr().String()),
		slog.Bool("pprof", cfg.Pprof))

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		logger.Error("listener stopped", slog.String("error", err.Error()))
	}
	// Stop accepting, then let in-flight requests finish up to the deadline.
	logger.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = errors.Join(public.Shutdown(shutdownCtx), admin.Shutdown(shutdownCtx))
	// The sender stops after the attempt in progress; what it did not
	// claim stays queued for the next start.
	stopSender()
	select {
	case <-senderDone:
	case <-shutdownCtx.Done():
		logger.Warn("mail sender still busy at the shutdown deadline; its message is retried after its lease")
	}
	if err != nil {
		logger.Error("shutdown", slog.String("error", err.Error()))
		return errReported
	}
	logger.Info("stopped")
	return nil
}

// readyPingTimeout bounds the store ping behind rampart_ready, so a hung
// database shows as not ready instead of hanging the scrape.
const readyPingTimeout = 2 * time.Second

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// memoryLimitBase is what the process needs besides argon2id work memory.
const memoryLimitBase = 48 << 20

// setMemoryLimit caps the Go runtime's memory, unless the operator set
// GOMEMLIMIT, at the argon2id work memory (one reused buffer per hash slot,
// see internal/app) plus memoryLimitBase. Without a limit, GOGC=100 lets
// garbage grow as large as the live heap, which those buffers dominate:
// ~123 MiB RSS under a 500-client login flood on 2 CPUs instead of ~102
// (bench/RESULTS.md).
func setMemoryLimit(p password.Params, logger *slog.Logger) {
	if debug.SetMemoryLimit(-1) != math.MaxInt64 {
		return // GOMEMLIMIT is set
	}
	limit := int64(runtime.GOMAXPROCS(0))*int64(p.Memory)<<10 + memoryLimitBase
	debug.SetMemoryLimit(limit)
	logger.Info("memory limit", slog.Int64("bytes", limit))
}

func newHTTPServer(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}
}

// adminHandler serves the operator-only endpoints on the admin listener:
// metrics always, pprof only when enabled. The public listener has neither.
func adminHandler(registry *prometheus.Registry, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	if withPprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// keyReloadEvery is how often serve reloads the signing keys:
// token.RefreshEvery. A variable so that a test can make the poll the only
// way (long) or a quick one.
var keyReloadEvery = token.RefreshEvery

// refreshKeys reloads the signing keys every interval until ctx ends, so
// keys rotated by another replica (or `rampart keys rotate`) are used
// without a restart.
func refreshKeys(ctx context.Context, parts *app.App, logger *slog.Logger, interval time.Duration) {
	periodic.Every(ctx, interval, func() {
		if err := reloadKeys(ctx, parts); err != nil {
			logger.Warn("reload signing keys", slog.String("error", err.Error()))
		}
	})
}

// Backoff between attempts to reach the database at start-up.
const (
	startupFirstRetry = 250 * time.Millisecond
	startupMaxRetry   = 5 * time.Second
)

// waitForStore opens the store and waits until it answers, retrying with
// doubling waits until cfg.StartupTimeout has passed: a database that
// starts after this process (a fresh deployment, a restart of both) is
// waited for, and one that never comes is reported with the last reason.
// A URL that cannot work, and SQLite (a local file), are not retried.
func waitForStore(ctx context.Context, cfg Config, logger *slog.Logger) (store, error) {
	deadline := time.Now().Add(cfg.StartupTimeout)
	wait := startupFirstRetry
	for attempt := 1; ; attempt++ {
		st, err := openStore(ctx, cfg)
		if err == nil {
			if err = st.Ping(ctx); err == nil {
				return st, nil
			}
			st.Close()
		}
		if _, file := cfg.SQLitePath(); file || rampart.ErrorKind(err) == rampart.KindInvalid {
			return nil, err // a local file or a bad URL: waiting changes nothing
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("stopped while waiting for the database: %w", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("the database did not answer within RAMPART_STARTUP_TIMEOUT=%v (%d attempts); last error: %w",
				cfg.StartupTimeout, attempt, err)
		}
		wait = min(wait, left)
		logger.Warn("database not reachable yet; retrying", slog.Int("attempt", attempt),
			slog.Duration("retry_in", wait), slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, startupMaxRetry)
	}
}
