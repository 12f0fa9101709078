// Command compare is the "Show" benchmark (issue 5): the same wrk workload
// against Rampart, against the Express reference (run tuned, JWT_KEY_OBJECT=1)
// and, for GET /healthz, against a bare net/http handler, all in one run and
// on the same PostgreSQL.
//
// It creates two throw-away databases on the PostgreSQL at -pg (trust auth,
// user postgres), starts the three servers on loopback ports, seeds one
// user and one order per server over HTTP, then for each round and test
// runs wrk (un-measured warm-up, then a measured run) and reads each
// server's utime+stime from /proc/<pid>/stat before and after. It prints
// one markdown table (req/s, p50, p99, server CPU per request, PostgreSQL
// CPU per request, wrk and "other" CPU) and the target ratios, then stops
// the servers and drops the databases.
//
// Rampart runs with RAMPART_ENV=test, the access log at info with stdout
// sent to /dev/null, and every rate-limit class raised to 1000000/1s so the
// limiter stays in the path but never decides. The Express reference logs
// at info to /dev/null too (its LOG_FILE default).
//
// Usage:
//
//	export GOTOOLCHAIN=go1.27.3
//	go build -o /tmp/rampart ./cmd/rampart
//	go run ./bench/compare -bin /tmp/rampart [-runs 2] [-duration 15s] [-profile /tmp/get.pprof]
//
// The Express reference is taken from -express (default
// ../shared/bench/express-ref beside the repository root, the nearest folder
// above the working directory that holds go.mod); when that directory has no
// node_modules it is copied to -workdir and `npm ci` is run there once.
//
// Every target is a server this program started on 127.0.0.1; every wrk run
// has a fixed duration, every wait is bounded, and the whole run ends within
// a budget computed from the flags.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"example.com/rampart/bench/internal/procfs"
	"example.com/rampart/internal/postgres"
)

// Targets from issue 5, as ratios from the same run.
const (
	targetGetRPS   = 6.0       // Rampart GET /v1/orders/{id} req/s ≥ 6× the reference's
	targetGetP99   = 1.0 / 3.0 // … with ≤ 1/3 of its p99
	targetGetCPU   = 1.0 / 8.0 // … and ≤ 1/8 of its server CPU per request
	targetPostRPS  = 4.0       // POST /v1/orders req/s ≥ 4×
	targetHealthzR = 0.6       // GET /healthz through the full chain ≥ 60% of bare net/http
)

const orderBody = `{"items":[{"sku":"SKU-0001","quantity":2},{"sku":"SKU-0042","quantity":1},{"sku":"SKU-1337","quantity":10}],"note":"benchmark order"}`

type options struct {
	bin, express, workdir, pg string
	tests, targets            []string
	runs, conns, threads      int
	duration, warmup          time.Duration
	quietPct, noisyPct        float64
	quietWait                 time.Duration
	retries                   int
	tasksetWrk, tasksetSrv    string
	profile                   string
	mdOut                     string
	strict                    bool
	serveBare, barePG         string
	pgURL                     *url.URL // -pg, parsed
	rampartEnv                []string
	rampartPool               int
}

func parseFlags() options {
	var o options
	var tests, targets string
	flag.StringVar(&o.bin, "bin", "", "rampart binary (go build -o /tmp/rampart ./cmd/rampart)")
	flag.StringVar(&o.express, "express", "", "Express reference directory (server.js, schema.sql, package-lock.json); default "+defaultExpress+" from the repository root")
	flag.StringVar(&o.workdir, "workdir", filepath.Join(os.TempDir(), "rampart-compare"), "scratch directory (logs, wrk scripts, Express copy)")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL admin URL (loopback) used to create and drop the databases")
	flag.StringVar(&tests, "tests", "healthz,get_order,post_order", "tests to run")
	flag.StringVar(&targets, "targets", "bare,rampart,express", "servers to run")
	flag.IntVar(&o.runs, "runs", 2, "rounds (the target order is reversed every other round)")
	flag.IntVar(&o.conns, "c", 64, "wrk connections")
	flag.IntVar(&o.threads, "t", 2, "wrk threads")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "measured wrk run")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "un-measured wrk warm-up before each run (0: none)")
	flag.Float64Var(&o.quietPct, "quiet", 15, "wait before each run until other processes use less than this % of one core")
	flag.DurationVar(&o.quietWait, "quiet-wait", 60*time.Second, "longest wait for a quiet machine; then measure anyway")
	flag.Float64Var(&o.noisyPct, "noisy", 25, "a run during which other processes used more than this % of one core is repeated (see -retries)")
	flag.IntVar(&o.retries, "retries", 2, "how often a noisy run is repeated at most (0..5); the quietest attempt is kept")
	flag.StringVar(&o.tasksetWrk, "cpus-wrk", "", "pin wrk to this CPU list (taskset -c); empty: not pinned")
	flag.StringVar(&o.tasksetSrv, "cpus-server", "", "pin the servers to this CPU list (taskset -c); empty: not pinned")
	flag.StringVar(&o.profile, "profile", "", "after the rounds, write a 10 s CPU profile of Rampart under GET /v1/orders/{id} to this file (enables RAMPART_PPROF on the admin listener)")
	flag.StringVar(&o.mdOut, "md", "", "also write the markdown report to this file")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a target is missed")
	flag.Func("rampart-env", "extra NAME=VALUE for Rampart's environment, e.g. GOGC=400 (repeatable; for experiments)", func(v string) error {
		if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
			return errors.New("want NAME=VALUE")
		}
		o.rampartEnv = append(o.rampartEnv, v)
		return nil
	})
	flag.IntVar(&o.rampartPool, "rampart-pool", 0, "pgxpool pool_max_conns for Rampart (0: its default, max(16, 4 × GOMAXPROCS)); for experiments")
	flag.StringVar(&o.serveBare, "serve-bare", "", "internal: serve the bare net/http handler on this loopback address")
	flag.StringVar(&o.barePG, "bare-pg", "", "internal: the database the bare handler's GET /v1/orders/{id} reads")
	flag.Parse()
	o.tests = splitList(tests)
	o.targets = splitList(targets)
	switch {
	case o.serveBare != "":
	case o.runs < 1 || o.runs > 5:
		fail("-runs must be 1..5")
	case o.duration < time.Second || o.duration > time.Minute:
		fail("-duration must be 1s..1m")
	case o.warmup < 0 || o.warmup > 30*time.Second:
		fail("-warmup must be 0..30s")
	case o.conns < 1 || o.conns > 1000 || o.threads < 1 || o.threads > o.conns:
		fail("-c must be 1..1000 and -t 1..c")
	case o.quietWait > 5*time.Minute:
		fail("-quiet-wait must be at most 5m")
	case o.retries < 0 || o.retries > 5:
		fail("-retries must be 0..5")
	case slices.Contains(o.targets, "rampart") && o.bin == "":
		fail("-bin is required (go build -o /tmp/rampart ./cmd/rampart)")
	}
	if o.express == "" && o.serveBare == "" && slices.Contains(o.targets, "express") {
		wd, err := os.Getwd()
		if err != nil {
			fail("-express is required: " + err.Error())
		}
		root, ok := repoRoot(wd)
		if !ok {
			fail("-express is required outside the repository")
		}
		o.express = filepath.Join(root, defaultExpress)
	}
	if o.serveBare == "" {
		// Checked before anything is created: the database URLs are made
		// from it by replacing its path.
		u, err := url.Parse(o.pg)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" || u.Opaque != "" {
			fail("-pg must be a postgres://host/database URL")
		}
		o.pgURL = u
	}
	for _, t := range o.tests {
		if !slices.Contains([]string{"healthz", "get_order", "post_order"}, t) {
			fail("unknown test " + t)
		}
	}
	for _, t := range o.targets {
		if !slices.Contains([]string{"bare", "rampart", "express"}, t) {
			fail("unknown target " + t)
		}
	}
	return o
}

// defaultExpress is where the Express reference lives, relative to the
// repository root: the shared folder beside the checkout, so that no path of
// one machine is written into the program.
const defaultExpress = "../shared/bench/express-ref"

// repoRoot returns the nearest folder at or above dir that holds go.mod.
func repoRoot(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "compare:", msg)
	os.Exit(2)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func main() {
	o := parseFlags()
	if o.serveBare != "" {
		serveBare(o.serveBare, o.barePG)
		return
	}
	// Everything ends within this: per run a quiet wait, warm-up, the run
	// and its slack; plus set-up (npm ci, migrations) and the profile pass.
	perRun := time.Duration(1+o.retries) * (o.quietWait + o.warmup + o.duration + 30*time.Second)
	budget := time.Duration(o.runs*len(o.tests)*len(o.targets))*perRun + 8*time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	missed, err := run(ctx, o)
	stop()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
	if o.strict && missed > 0 {
		os.Exit(1)
	}
}

// serveBare is the floor: plain net/http, no middleware, no logging.
// GET /healthz has the same body and headers as Rampart's handler (the same
// code as go-limits' barehttp). GET /v1/orders/{id} does the least any Go
// server must do for that route on PostgreSQL: one pgx point read of the
// order (Rampart's table, row and pool size), JSON out. No authentication,
// authorization, deadline, headers or log: what is left when all of that
// costs nothing, so that Rampart ÷ floor shows what they cost, and floor ÷
// reference what the targets leave for them.
func serveBare(addr, pgURL string) {
	body := []byte(`{"status":"ok"}`)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	if pgURL != "" {
		cfg, err := pgxpool.ParseConfig(pgURL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bare:", err)
			os.Exit(1)
		}
		// The size Rampart's pool has: the URL's pool_max_conns (Rampart's
		// URL is passed here unchanged), else Rampart's default.
		if u, err := url.Parse(pgURL); err != nil || !u.Query().Has("pool_max_conns") {
			cfg.MaxConns = postgres.DefaultMaxConns()
		}
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bare:", err)
			os.Exit(1)
		}
		type item struct {
			SKU      string `json:"sku"`
			Quantity int    `json:"quantity"`
		}
		type order struct {
			ID        string    `json:"id"`
			TenantID  string    `json:"tenantId"`
			OwnerID   string    `json:"ownerId"`
			Items     []item    `json:"items"`
			Note      string    `json:"note,omitempty"`
			Status    string    `json:"status"`
			CreatedAt time.Time `json:"createdAt"`
			UpdatedAt time.Time `json:"updatedAt"`
		}
		mux.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
			var o order
			err := pool.QueryRow(r.Context(), "SELECT id, tenant_id, owner_id, items, note, status, created_at, updated_at FROM orders WHERE id = $1",
				r.PathValue("id")).Scan(&o.ID, &o.TenantID, &o.OwnerID, &o.Items, &o.Note, &o.Status, &o.CreatedAt, &o.UpdatedAt)
			if err != nil {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			b, _ := json.Marshal(o)
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["Content-Length"] = []string{strconv.Itoa(len(b))}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b)
		})
	}
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

// server is one process under test.
type server struct {
	name    string
	base    string
	admin   string // Rampart only
	cmd     *exec.Cmd
	logPath string
	// seeded state
	email, password, token, orderID string
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// result is one measured wrk run.
type result struct {
	target, test          string
	round                 int
	requests              int64
	secs, rps             float64
	p50, p90, p99, max    float64 // ms
	non2xx, errs          int64
	srvCPU, pgCPU, wrkCPU float64 // seconds
	busy                  float64 // whole-machine busy core-seconds
	srvPct, pgPct, wrkPct float64 // % of one core
	otherPct              float64
	srvPerReq, pgPerReq   float64 // µs
}

func run(ctx context.Context, o options) (missed int, err error) {
	for _, tool := range []string{"wrk", "node"} {
		if _, err := exec.LookPath(tool); err != nil && (tool == "wrk" || slices.Contains(o.targets, "express")) {
			return 0, fmt.Errorf("%s not found (apt-get install -y wrk; node from the image)", tool)
		}
	}
	if err := os.MkdirAll(o.workdir, 0o700); err != nil {
		return 0, err
	}
	if err := loopbackOnly(o.pg); err != nil {
		return 0, err
	}
	scripts, err := writeScripts(o.workdir)
	if err != nil {
		return 0, err
	}

	// Databases: created here, dropped on the way out whatever happens.
	suffix := randHex(4)
	dbs := map[string]string{}
	for _, t := range o.targets {
		if t == "rampart" || t == "express" {
			dbs[t] = "cmp_" + t + "_" + suffix
		}
	}
	admin, err := pgx.Connect(ctx, o.pg)
	if err != nil {
		return 0, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	var pgVersion string
	_ = admin.QueryRow(ctx, "SHOW server_version").Scan(&pgVersion)
	for _, db := range dbs {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
			return 0, fmt.Errorf("create database %s: %w", db, err)
		}
		defer func(db string) {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, err := admin.Exec(dctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
				fmt.Fprintf(os.Stderr, "compare: drop database %s: %v\n", db, err)
			}
		}(db)
	}
	// Rampart's URL, with -rampart-pool; the floor reads Rampart's order
	// through a pool of the same size.
	rampartURL := dbURL(o.pgURL, dbs["rampart"], o.rampartPool)

	// Servers: started once, kept for the whole run; stopped on the way out.
	servers := map[string]*server{}
	defer func() {
		for _, s := range servers {
			stopServer(s)
		}
	}()
	for _, t := range o.targets {
		var s *server
		switch t {
		case "bare":
			// It reads Rampart's order, so Rampart must run too for the
			// floor of GET /v1/orders/{id}.
			s, err = startBare(ctx, o, rampartURL)
		case "rampart":
			s, err = startRampart(ctx, o, rampartURL)
		case "express":
			s, err = startExpress(ctx, o, dbURL(o.pgURL, dbs[t], 0), admin)
		}
		if s != nil {
			servers[t] = s
		}
		if err != nil {
			return 0, fmt.Errorf("start %s: %w", t, err)
		}
	}
	needsSeed := slices.Contains(o.tests, "get_order") || slices.Contains(o.tests, "post_order")
	if needsSeed {
		for _, t := range []string{"rampart", "express"} {
			if s := servers[t]; s != nil {
				if err := seed(ctx, s); err != nil {
					return 0, fmt.Errorf("seed %s: %w", t, err)
				}
			}
		}
		if b, r := servers["bare"], servers["rampart"]; b != nil && r != nil {
			b.orderID = r.orderID
		}
	}

	env := describeEnv(o, pgVersion)
	fmt.Println(env)

	var results []result
	for round := 1; round <= o.runs; round++ {
		for _, test := range o.tests {
			order := slices.Clone(o.targets)
			if round%2 == 0 {
				slices.Reverse(order)
			}
			for _, t := range order {
				s := servers[t]
				if s == nil || (t == "bare" && (test == "post_order" || servers["rampart"] == nil)) {
					continue
				}
				if t == "bare" && test == "get_order" {
					s.token = servers["rampart"].token // sent, not read
				} else if test != "healthz" {
					if err := login(ctx, s); err != nil { // a fresh token per run
						return 0, fmt.Errorf("%s login: %w", t, err)
					}
				}
				// A run disturbed by other work on the machine is repeated
				// (bounded); the quietest attempt is kept and reported.
				var r result
				for attempt := 0; attempt <= o.retries; attempt++ {
					a, err := measure(ctx, o, servers, s, test, scripts[test], round)
					if err != nil {
						return 0, err
					}
					if attempt == 0 || a.otherPct < r.otherPct {
						r = a
					}
					if a.otherPct <= o.noisyPct {
						break
					}
					fmt.Fprintf(os.Stderr, "  (round %d %s %s: other processes used %.0f%% of a core during the run; repeating)\n", round, test, t, a.otherPct)
				}
				results = append(results, r)
				fmt.Printf("  round %d %-10s %-8s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  non2xx %d err %d  srv %5.1f µs/req (%3.0f%%)  pg %5.1f µs/req  wrk %3.0f%%  other %3.0f%%\n",
					round, test, t, r.rps, r.p50, r.p99, r.non2xx, r.errs, r.srvPerReq, r.srvPct, r.pgPerReq, r.wrkPct, r.otherPct)
			}
		}
	}

	report, missed := buildReport(o, env, results, servers)
	fmt.Println()
	fmt.Print(report)
	if o.mdOut != "" {
		if err := os.WriteFile(o.mdOut, []byte(report), 0o644); err != nil {
			return missed, err
		}
	}

	if o.profile != "" && servers["rampart"] != nil {
		if err := profileRampart(ctx, o, servers["rampart"], scripts["get_order"]); err != nil {
			return missed, fmt.Errorf("profile: %w", err)
		}
		fmt.Printf("\nCPU profile of Rampart under GET /v1/orders/{id}: %s\n  go tool pprof -top -nodecount=40 %s %s\n", o.profile, o.bin, o.profile)
	}
	return missed, nil
}

// dbURL returns the admin URL with the database db instead of its own and,
// when pool > 0, pool_max_conns=pool.
func dbURL(admin *url.URL, db string, pool int) string {
	u := *admin
	u.Path, u.RawPath = "/"+db, ""
	if pool > 0 {
		q := u.Query()
		q.Set("pool_max_conns", strconv.Itoa(pool))
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func loopbackOnly(pgURL string) error {
	cfg, err := pgx.ParseConfig(pgURL)
	if err != nil {
		return errors.New("-pg is not a PostgreSQL URL")
	}
	if ip := net.ParseIP(cfg.Host); (ip == nil || !ip.IsLoopback()) && cfg.Host != "localhost" {
		return errors.New("-pg must point at a loopback PostgreSQL")
	}
	return nil
}

// ---------------------------------------------------------------- servers

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func command(o options, name string, args ...string) *exec.Cmd {
	if o.tasksetSrv != "" {
		return exec.Command("taskset", append([]string{"-c", o.tasksetSrv, name}, args...)...)
	}
	return exec.Command(name, args...)
}

// startProc starts cmd with stdout discarded and stderr to logPath, then
// waits (bounded) until GET base/healthz answers 200.
func startProc(ctx context.Context, s *server, cmd *exec.Cmd) error {
	logf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout = nil // /dev/null: the access log is written, then discarded
	cmd.Stderr = logf
	cmd.SysProcAttr = procfs.KillWithParent()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			b, _ := os.ReadFile(s.logPath)
			return fmt.Errorf("exited: %s", tail(b, 2000))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if code, _, err := do(ctx, "GET", s.base+"/healthz", "", nil); err == nil && code == 200 {
			return nil
		}
	}
	return errors.New("not ready within 60 s")
}

func stopServer(s *server) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	for i := 0; i < 50; i++ {
		if s.cmd.ProcessState != nil || syscall.Kill(s.pid(), 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = s.cmd.Process.Kill()
}

func startBare(ctx context.Context, o options, dbURL string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s := &server{name: "bare", base: "http://" + addr, logPath: filepath.Join(o.workdir, "bare.stderr")}
	cmd := command(o, self, "-serve-bare", addr, "-bare-pg", dbURL)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	return s, startProc(ctx, s, cmd)
}

func startRampart(ctx context.Context, o options, dbURL string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	adminAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(o.workdir, "rampart-data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &server{name: "rampart", base: "http://" + addr, admin: "http://" + adminAddr, logPath: filepath.Join(o.workdir, "rampart.stderr")}
	cmd := command(o, o.bin, "serve")
	cmd.Env = append(rampartEnv(addr, adminAddr, dbURL, dataDir, o.profile != ""),
		"RAMPART_MASTER_KEY="+base64.StdEncoding.EncodeToString(key))
	cmd.Env = append(cmd.Env, o.rampartEnv...)
	return s, startProc(ctx, s, cmd)
}

// rampartEnv is Rampart's whole environment (nothing inherited, so no stray
// RAMPART_* variable changes the configuration): test mode, PostgreSQL, the
// access log at info (stdout goes to /dev/null), limits that stay in the
// path but never decide.
func rampartEnv(addr, adminAddr, dbURL, dataDir string, pprof bool) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"RAMPART_ENV=test",
		"RAMPART_ADDR=" + addr,
		"RAMPART_ADMIN_ADDR=" + adminAddr,
		"RAMPART_DATABASE_URL=" + dbURL,
		"RAMPART_DATA_DIR=" + dataDir,
		"RAMPART_LOG_LEVEL=info",
		"RAMPART_RATE_API=1000000/1s",
		"RAMPART_RATE_AUTH=1000000/1s",
		"RAMPART_RATE_SIGNUP=1000000/1s",
		"RAMPART_RATE_PUBLIC=1000000/1s",
	}
	if pprof {
		env = append(env, "RAMPART_PPROF=true")
	}
	return env
}

// expressDir returns a directory with the reference app and its
// node_modules, running `npm ci` in a copy under workdir when needed.
func expressDir(ctx context.Context, o options) (string, error) {
	if _, err := os.Stat(filepath.Join(o.express, "node_modules", "express")); err == nil {
		return o.express, nil
	}
	dir := filepath.Join(o.workdir, "express-ref")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "express")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	for _, f := range []string{"server.js", "schema.sql", "package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(o.express, f))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return "", err
		}
	}
	fmt.Fprintln(os.Stderr, "compare: npm ci for the Express reference in", dir)
	nctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(nctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci: %v: %s", err, tail(out, 2000))
	}
	return dir, nil
}

func startExpress(ctx context.Context, o options, dbURL string, admin *pgx.Conn) (*server, error) {
	dir, err := expressDir(ctx, o)
	if err != nil {
		return nil, err
	}
	schema, err := os.ReadFile(filepath.Join(dir, "schema.sql"))
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	_, err = conn.Exec(ctx, string(schema)) // simple protocol: the whole script at once
	conn.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("schema.sql: %w", err)
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	secret := make([]byte, 48)
	_, _ = rand.Read(secret)
	s := &server{name: "express", base: "http://" + addr, logPath: filepath.Join(o.workdir, "express.stderr")}
	cmd := command(o, "node", "server.js")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"HOST=" + host, "PORT=" + port,
		"DATABASE_URL=" + dbURL,
		"JWT_SECRET=" + base64.StdEncoding.EncodeToString(secret),
		"JWT_KEY_OBJECT=1",   // tuned, per its README
		"LOG_FILE=/dev/null", // pino at info, one line per request, discarded
	}
	return s, startProc(ctx, s, cmd)
}

// ---------------------------------------------------------------- seeding

func do(ctx context.Context, method, url, token string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func seed(ctx context.Context, s *server) error {
	id := randHex(8)
	s.email = "bench-" + id + "@example.com"
	s.password = "cmp-" + randHex(12)
	signup, _ := json.Marshal(map[string]string{"email": s.email, "password": s.password,
		"displayName": "Bench User", "organization": "Bench Org " + id})
	code, b, err := do(ctx, "POST", s.base+"/v1/signup", "", signup)
	if err != nil || code != http.StatusCreated {
		return fmt.Errorf("signup: %d %v %s", code, err, tail(b, 300))
	}
	if err := login(ctx, s); err != nil {
		return err
	}
	code, b, err = do(ctx, "POST", s.base+"/v1/orders", s.token, []byte(orderBody))
	if err != nil || code != http.StatusCreated {
		return fmt.Errorf("create order: %d %v %s", code, err, tail(b, 300))
	}
	var order struct{ ID string }
	if err := json.Unmarshal(b, &order); err != nil || order.ID == "" {
		return fmt.Errorf("create order: no id in %s", tail(b, 300))
	}
	s.orderID = order.ID
	code, b, err = do(ctx, "GET", s.base+"/v1/orders/"+s.orderID, s.token, nil)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("get order: %d %v %s", code, err, tail(b, 300))
	}
	return nil
}

func login(ctx context.Context, s *server) error {
	body, _ := json.Marshal(map[string]string{"email": s.email, "password": s.password})
	code, b, err := do(ctx, "POST", s.base+"/v1/auth/login", "", body)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("login: %d %v %s", code, err, tail(b, 300))
	}
	var t struct{ AccessToken string }
	if err := json.Unmarshal(b, &t); err != nil || t.AccessToken == "" {
		return errors.New("login: no accessToken")
	}
	s.token = t.AccessToken
	return nil
}

// ---------------------------------------------------------------- wrk

const luaDone = `
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f p50_us=%d p90_us=%d p99_us=%d max_us=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
`

func writeScripts(dir string) (map[string]string, error) {
	bodies := map[string]string{
		"healthz": "",
		"get_order": `wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("TOKEN"), "TOKEN not set")
`,
		"post_order": `wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("TOKEN"), "TOKEN not set")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '` + orderBody + `'
`,
	}
	paths := map[string]string{}
	for name, b := range bodies {
		p := filepath.Join(dir, name+".lua")
		if err := os.WriteFile(p, []byte(b+luaDone), 0o600); err != nil {
			return nil, err
		}
		paths[name] = p
	}
	return paths, nil
}

func testURL(s *server, test string) string {
	switch test {
	case "get_order":
		return s.base + "/v1/orders/" + s.orderID
	case "post_order":
		return s.base + "/v1/orders"
	}
	return s.base + "/healthz"
}

func wrkCmd(ctx context.Context, o options, d time.Duration, script, url, token string, latency bool) *exec.Cmd {
	args := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.conns),
		"-d" + strconv.Itoa(int(d/time.Second)) + "s", "--timeout", "10s", "-s", script}
	if latency {
		args = append(args, "--latency")
	}
	args = append(args, url)
	name := "wrk"
	if o.tasksetWrk != "" {
		args = append([]string{"-c", o.tasksetWrk, "wrk"}, args...)
		name = "taskset"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TOKEN=" + token}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func measure(ctx context.Context, o options, all map[string]*server, s *server, test, script string, round int) (result, error) {
	url := testURL(s, test)
	if o.warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, o.warmup+20*time.Second)
		_ = wrkCmd(wctx, o, o.warmup, script, url, s.token, false).Run()
		cancel()
	}
	waitQuiet(ctx, o, all)

	s0, p0, m0 := procTicks(s.pid()), pgTicks(), procfs.MachineBusySeconds()
	rctx, cancel := context.WithTimeout(ctx, o.duration+30*time.Second)
	defer cancel()
	cmd := wrkCmd(rctx, o, o.duration, script, url, s.token, true)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	s1, p1, m1 := procTicks(s.pid()), pgTicks(), procfs.MachineBusySeconds()
	if ctx.Err() != nil {
		return result{}, fmt.Errorf("stopped during %s %s: %w", s.name, test, context.Cause(ctx))
	}
	if err != nil {
		return result{}, fmt.Errorf("wrk %s %s: %v: %s", s.name, test, err, tail(out.Bytes(), 1000))
	}
	r := result{target: s.name, test: test, round: round}
	if err := parseResult(out.String(), &r); err != nil {
		return result{}, fmt.Errorf("wrk %s %s: %v: %s", s.name, test, err, tail(out.Bytes(), 1000))
	}
	ps := cmd.ProcessState
	r.wrkCPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	r.srvCPU = float64(s1-s0) / procfs.ClockTicks
	r.pgCPU = float64(p1-p0) / procfs.ClockTicks
	r.busy = m1 - m0
	r.rps = float64(r.requests) / r.secs
	r.srvPct, r.pgPct, r.wrkPct = 100*r.srvCPU/r.secs, 100*r.pgCPU/r.secs, 100*r.wrkCPU/r.secs
	r.otherPct = math.Max(0, 100*(r.busy-r.srvCPU-r.pgCPU-r.wrkCPU)/r.secs)
	if r.requests > 0 {
		r.srvPerReq = 1e6 * r.srvCPU / float64(r.requests)
		r.pgPerReq = 1e6 * r.pgCPU / float64(r.requests)
	}
	return r, nil
}

func parseResult(out string, r *result) error {
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "RESULT ")
		if !ok {
			continue
		}
		kv := map[string]float64{}
		for _, f := range strings.Fields(rest) {
			k, v, _ := strings.Cut(f, "=")
			kv[k], _ = strconv.ParseFloat(v, 64)
		}
		r.requests = int64(kv["requests"])
		r.secs = kv["duration_s"]
		r.p50, r.p90, r.p99, r.max = kv["p50_us"]/1000, kv["p90_us"]/1000, kv["p99_us"]/1000, kv["max_us"]/1000
		r.non2xx = int64(kv["non2xx"])
		r.errs = int64(kv["err_connect"] + kv["err_read"] + kv["err_write"] + kv["err_timeout"])
		if r.secs <= 0 || r.requests <= 0 {
			return errors.New("no requests")
		}
		return nil
	}
	return errors.New("no RESULT line")
}

// ---------------------------------------------------------------- /proc

// procTicks is the user+system CPU time of pid in clock ticks.
func procTicks(pid int) int64 {
	_, f := procfs.Stat(strconv.Itoa(pid))
	return procfs.Ticks(f, 11) + procfs.Ticks(f, 12)
}

// pgTicks is the CPU of the PostgreSQL cluster: every live postgres process
// plus the postmaster's reaped children, so backends that come and go
// between two readings are counted exactly (as express-ref/bench.sh does).
func pgTicks() int64 {
	ents, _ := os.ReadDir("/proc")
	type p struct {
		ppid string
		f    []string
	}
	procs := map[string]p{}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		comm, f := procfs.Stat(e.Name())
		if comm == "postgres" && len(f) >= 15 {
			procs[e.Name()] = p{f[1], f}
		}
	}
	var t int64
	for _, pr := range procs {
		t += procfs.Ticks(pr.f, 11) + procfs.Ticks(pr.f, 12)
		if _, child := procs[pr.ppid]; !child {
			t += procfs.Ticks(pr.f, 13) + procfs.Ticks(pr.f, 14)
		}
	}
	return t
}

// waitQuiet waits (bounded by -quiet-wait) until everything except our
// servers and PostgreSQL uses less than -quiet % of one core over 1 s.
func waitQuiet(ctx context.Context, o options, all map[string]*server) {
	deadline := time.Now().Add(o.quietWait)
	for {
		ours := func() (t int64) {
			for _, s := range all {
				t += procTicks(s.pid())
			}
			return t + pgTicks()
		}
		o0, m0 := ours(), procfs.MachineBusySeconds()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		other := 100 * (procfs.MachineBusySeconds() - m0 - float64(ours()-o0)/procfs.ClockTicks) // CPU-s in 1 s, as % of a core
		if other < o.quietPct {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "  (warning: other processes still use %.0f%% of a core after %v; measuring anyway)\n", other, o.quietWait)
			return
		}
	}
}

func vmHWM(pid int) string {
	m, err := procfs.ReadMemory(pid)
	if err != nil {
		return "?"
	}
	return strconv.FormatInt(m.HWM>>20, 10) + " MiB"
}

// ---------------------------------------------------------------- profile

func profileRampart(ctx context.Context, o options, s *server, script string) error {
	if err := login(ctx, s); err != nil {
		return err
	}
	const secs = 10
	wctx, cancel := context.WithTimeout(ctx, (secs+35)*time.Second)
	defer cancel()
	cmd := wrkCmd(wctx, o, (secs+4)*time.Second, script, testURL(s, "get_order"), s.token, false)
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Wait() }()
	time.Sleep(2 * time.Second)
	req, _ := http.NewRequestWithContext(wctx, "GET", s.admin+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	return os.WriteFile(o.profile, b, 0o644)
}

// ---------------------------------------------------------------- report

func describeEnv(o options, pgVersion string) string {
	var b strings.Builder
	model := "?"
	if ci, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(ci), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	free, _ := exec.Command("free", "-h").Output()
	nodeV, _ := exec.Command("node", "--version").Output()
	wrkV, _ := exec.Command("wrk", "-v").CombinedOutput()
	rampartGo := "?"
	if o.bin != "" {
		if bi, err := buildinfo.ReadFile(o.bin); err == nil {
			rampartGo = bi.GoVersion
		}
	}
	fmt.Fprintf(&b, "- machine: nproc %d, %s, kernel %s\n", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)))
	fmt.Fprintf(&b, "- free -h:\n\n```\n%s```\n\n", free)
	fmt.Fprintf(&b, "- versions: Rampart built with %s (GOMAXPROCS default = %d); harness and bare handler %s; node %s; PostgreSQL %s; %s\n",
		rampartGo, runtime.NumCPU(), runtime.Version(), strings.TrimSpace(string(nodeV)), pgVersion, firstLine(string(wrkV)))
	pin := "not pinned: wrk, the servers and PostgreSQL share all cores"
	if o.tasksetWrk != "" || o.tasksetSrv != "" {
		pin = fmt.Sprintf("wrk on CPUs %q, servers on CPUs %q (taskset -c); PostgreSQL not pinned", o.tasksetWrk, o.tasksetSrv)
	}
	fmt.Fprintf(&b, "- Rampart binary: %s\n", o.bin)
	if o.rampartPool > 0 {
		fmt.Fprintf(&b, "- Rampart and floor pool_max_conns=%d (default is max(16, 4 × GOMAXPROCS))\n", o.rampartPool)
	}
	if len(o.rampartEnv) > 0 {
		fmt.Fprintf(&b, "- extra Rampart environment: %s\n", strings.Join(o.rampartEnv, " "))
	}
	fmt.Fprintf(&b, "- load: wrk -t%d -c%d -d%v --latency, %v un-measured warm-up per run, %d round(s) (target order reversed every other round); CPUs %s\n",
		o.threads, o.conns, o.duration, o.warmup, o.runs, pin)
	return b.String()
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return strings.TrimSpace(l) }

type agg struct{ rps, p50, p99, srv, pg, srvPct, wrkPct, other float64 }

func mean(rs []result, target, test string) (agg, int) {
	var a agg
	n := 0
	for _, r := range rs {
		if r.target != target || r.test != test {
			continue
		}
		n++
		a.rps += r.rps
		a.p50 += r.p50
		a.p99 += r.p99
		a.srv += r.srvPerReq
		a.pg += r.pgPerReq
		a.srvPct += r.srvPct
		a.wrkPct += r.wrkPct
		a.other += r.otherPct
	}
	if n > 0 {
		f := float64(n)
		a = agg{a.rps / f, a.p50 / f, a.p99 / f, a.srv / f, a.pg / f, a.srvPct / f, a.wrkPct / f, a.other / f}
	}
	return a, n
}

func buildReport(o options, env string, rs []result, servers map[string]*server) (string, int) {
	var b strings.Builder
	labels := map[string]string{"bare": "bare net/http (floor)", "rampart": "**Rampart**", "express": "Express ref (tuned)"}
	tests := map[string]string{"healthz": "GET /healthz", "get_order": "GET /v1/orders/{id}", "post_order": "POST /v1/orders"}
	fmt.Fprintf(&b, "| test | server | round | req/s | p50 ms | p99 ms | max ms | non-2xx / errors | server CPU µs/req | server CPU %% | PG CPU µs/req | wrk CPU %% | other CPU %% |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, test := range o.tests {
		for _, t := range o.targets {
			for _, r := range rs {
				if r.test == test && r.target == t {
					fmt.Fprintf(&b, "| %s | %s | %d | %s | %.2f | %.2f | %.1f | %d / %d | %.1f | %.0f | %.1f | %.0f | %.0f |\n",
						tests[test], labels[t], r.round, thousands(r.rps), r.p50, r.p99, r.max, r.non2xx, r.errs,
						r.srvPerReq, r.srvPct, r.pgPerReq, r.wrkPct, r.otherPct)
				}
			}
		}
	}
	fmt.Fprintf(&b, "\nCPU %% is of one core. Server CPU is the process's utime+stime delta (/proc/<pid>/stat) over the measured run divided by the requests wrk completed; for Rampart it includes the pgx client, for Express node-pg. PG CPU is the whole cluster's (live backends + reaped children). Peak RSS (VmHWM) at the end:")
	for _, t := range o.targets {
		if s := servers[t]; s != nil {
			fmt.Fprintf(&b, " %s %s;", t, vmHWM(s.pid()))
		}
	}
	b.WriteString("\n\n")

	missed := 0
	verdict := func(ok bool) string {
		if ok {
			return "**met**"
		}
		missed++
		return "**MISSED**"
	}
	fmt.Fprintf(&b, "Ratios (means over the rounds of this run):\n\n| target | measured | goal | verdict |\n|---|---|---|---|\n")
	if ra, n := mean(rs, "rampart", "get_order"); n > 0 {
		if ea, m := mean(rs, "express", "get_order"); m > 0 {
			fmt.Fprintf(&b, "| GET /v1/orders/{id} req/s, Rampart ÷ reference | %s ÷ %s = **%.2f×** | ≥ %.0f× | %s |\n", thousands(ra.rps), thousands(ea.rps), ra.rps/ea.rps, targetGetRPS, verdict(ra.rps/ea.rps >= targetGetRPS))
			fmt.Fprintf(&b, "| GET /v1/orders/{id} p99, Rampart ÷ reference | %.2f ÷ %.2f ms = **%.3f** | ≤ %.3f (1/3) | %s |\n", ra.p99, ea.p99, ra.p99/ea.p99, targetGetP99, verdict(ra.p99/ea.p99 <= targetGetP99))
			fmt.Fprintf(&b, "| GET /v1/orders/{id} server CPU/req, Rampart ÷ reference | %.1f ÷ %.1f µs = **%.3f** | ≤ %.3f (1/8) | %s |\n", ra.srv, ea.srv, ra.srv/ea.srv, targetGetCPU, verdict(ra.srv/ea.srv <= targetGetCPU))
			if fa, k := mean(rs, "bare", "get_order"); k > 0 {
				fmt.Fprintf(&b, "| (floor) GET /v1/orders/{id}, bare net/http + one pgx read ÷ reference: req/s, server CPU/req | %s ÷ %s = %.2f×; %.1f ÷ %.1f µs = %.3f | – | – |\n",
					thousands(fa.rps), thousands(ea.rps), fa.rps/ea.rps, fa.srv, ea.srv, fa.srv/ea.srv)
				fmt.Fprintf(&b, "| (info) GET /v1/orders/{id}, Rampart ÷ floor: req/s, server CPU/req | %.2f; %.2f | – | – |\n", ra.rps/fa.rps, ra.srv/fa.srv)
			}
		}
	}
	if ra, n := mean(rs, "rampart", "post_order"); n > 0 {
		if ea, m := mean(rs, "express", "post_order"); m > 0 {
			fmt.Fprintf(&b, "| POST /v1/orders req/s, Rampart ÷ reference | %s ÷ %s = **%.2f×** | ≥ %.0f× | %s |\n", thousands(ra.rps), thousands(ea.rps), ra.rps/ea.rps, targetPostRPS, verdict(ra.rps/ea.rps >= targetPostRPS))
			fmt.Fprintf(&b, "| (info) POST /v1/orders p99 / server CPU per req, Rampart ÷ reference | %.3f / %.3f | – | – |\n", ra.p99/ea.p99, ra.srv/ea.srv)
		}
	}
	if ra, n := mean(rs, "rampart", "healthz"); n > 0 {
		if ba, m := mean(rs, "bare", "healthz"); m > 0 {
			fmt.Fprintf(&b, "| GET /healthz req/s, Rampart full chain ÷ bare net/http | %s ÷ %s = **%.0f%%** | ≥ %.0f%% | %s |\n", thousands(ra.rps), thousands(ba.rps), 100*ra.rps/ba.rps, 100*targetHealthzR, verdict(ra.rps/ba.rps >= targetHealthzR))
			fmt.Fprintf(&b, "| (info) GET /healthz server CPU per req, Rampart vs bare | %.1f vs %.1f µs | – | – |\n", ra.srv, ba.srv)
		}
	}
	return b.String(), missed
}

func thousands(f float64) string {
	s := strconv.FormatInt(int64(math.Round(f)), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
