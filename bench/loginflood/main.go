// Command loginflood is a bounded load benchmark of Rampart's login path.
//
// It takes an already built rampart binary, starts it on loopback with a
// throw-away data directory and SQLite database (RAMPART_ENV=test), signs up
// a few users and then, in the same run:
//
//  1. measures raw argon2id throughput on all cores (IDKey at
//     password.DefaultParams in NumCPU goroutines) while the server is idle,
//     twice: with golang.org/x/crypto/argon2, the library the issue names
//     (the ratio's baseline), and with the server's own copy,
//     internal/password/argon2, which reuses its work memory and so is
//     faster, ~17 % here (the stricter ratio, also printed);
//  2. floods POST /v1/auth/login with -clients concurrent clients using the
//     correct passwords, for -flood;
//  3. meanwhile probes GET /v1/me with a valid token at -me-rate requests/s
//     (open loop: one goroutine per request, so a slow answer does not delay
//     the next probe) and records the latencies;
//  4. samples the server's VmRSS and VmHWM from /proc/<pid>/status every
//     100 ms.
//
// It prints login successes/s against raw hashes/s, the 503 share, /v1/me
// p50/p99 and the server's peak RSS, and checks them against the targets
// (peak RSS < 128 MiB, ratio ≥ 0.8, /v1/me p99 < 50 ms).
//
// Usage:
//
//	go build -o /tmp/rampart ./cmd/rampart
//	go run ./bench/loginflood -bin /tmp/rampart
//
// Every target is the server it started itself on 127.0.0.1; every phase is
// bounded in time and count, and the whole run stops by itself.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	xargon2 "golang.org/x/crypto/argon2"

	"example.com/rampart/bench/internal/procfs"
	"example.com/rampart/internal/password"
	"example.com/rampart/internal/password/argon2"
)

// Targets from the identity issue.
const (
	targetRSSBytes = 128 << 20
	targetRatio    = 0.8
	targetMeP99    = 50 * time.Millisecond
)

// Hard bounds on the knobs, so that no invocation runs away.
const (
	maxClients = 2000
	maxFlood   = 120 * time.Second
	maxRaw     = 30 * time.Second
	maxUsers   = 100
	maxMeRate  = 200
)

type options struct {
	bin         string
	users       int
	clients     int
	flood       time.Duration
	raw         time.Duration
	meRate      float64
	retry       string // "honour" or a fixed pause such as "50ms"
	retryPause  time.Duration
	retryCap    time.Duration
	raiseRates  bool
	serverEnv   []string
	profileDir  string
	keep        bool
	check       bool
	jsonOut     string
	idleMeProbe time.Duration
}

type envList []string

func (e *envList) String() string { return strings.Join(*e, ",") }
func (e *envList) Set(s string) error {
	if !strings.Contains(s, "=") {
		return errors.New("want NAME=VALUE")
	}
	*e = append(*e, s)
	return nil
}

func parseFlags() options {
	var o options
	var env envList
	flag.StringVar(&o.bin, "bin", "", "path of a rampart binary (build it with: go build -o /tmp/rampart ./cmd/rampart)")
	flag.IntVar(&o.users, "users", 10, "accounts the flood logs in to, round-robin (1..100)")
	flag.IntVar(&o.clients, "clients", 500, "concurrent login clients (1..2000)")
	flag.DurationVar(&o.flood, "flood", 40*time.Second, "length of the login flood (1s..2m)")
	flag.DurationVar(&o.raw, "raw", 5*time.Second, "length of the raw argon2id measurement (1s..30s)")
	flag.Float64Var(&o.meRate, "me-rate", 20, "GET /v1/me probes per second during the flood (1..200)")
	flag.StringVar(&o.retry, "retry", "honour", `on 503/429: "honour" sleeps Retry-After (capped by -retry-cap) plus 0..50% jitter; a duration such as "50ms" ignores Retry-After and retries after that fixed pause`)
	flag.DurationVar(&o.retryCap, "retry-cap", 2*time.Second, "longest Retry-After honoured")
	flag.BoolVar(&o.raiseRates, "raise-rates", true, "set RAMPART_RATE_{AUTH,SIGNUP,API,PUBLIC}=1000000/1m so per-IP limiters stay in the path without deciding the result (all clients share 127.0.0.1)")
	flag.Var(&env, "server-env", "extra NAME=VALUE for the server's environment (repeatable), e.g. GOMEMLIMIT=96MiB; the server gets no other inherited variables")
	flag.StringVar(&o.profileDir, "profile-dir", "", "if set, enable RAMPART_PPROF and save a CPU profile and a heap profile of the server taken during the flood into this directory")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directory and server log")
	flag.BoolVar(&o.check, "check", false, "exit with status 1 if a target is missed")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.DurationVar(&o.idleMeProbe, "idle-me", 2*time.Second, "length of the idle GET /v1/me baseline before the flood (0 to skip, at most 10s)")
	flag.Parse()
	o.serverEnv = env

	var bad []string
	if o.bin == "" {
		bad = append(bad, "-bin is required (go build -o /tmp/rampart ./cmd/rampart)")
	}
	if o.users < 1 || o.users > maxUsers {
		bad = append(bad, "-users must be 1..100")
	}
	if o.clients < 1 || o.clients > maxClients {
		bad = append(bad, "-clients must be 1..2000")
	}
	if o.flood < time.Second || o.flood > maxFlood {
		bad = append(bad, "-flood must be 1s..2m")
	}
	if o.raw < time.Second || o.raw > maxRaw {
		bad = append(bad, "-raw must be 1s..30s")
	}
	if o.meRate < 1 || o.meRate > maxMeRate {
		bad = append(bad, "-me-rate must be 1..200")
	}
	if o.idleMeProbe < 0 || o.idleMeProbe > 10*time.Second {
		bad = append(bad, "-idle-me must be 0..10s")
	}
	if o.retryCap < 0 || o.retryCap > 10*time.Second {
		bad = append(bad, "-retry-cap must be 0..10s")
	}
	if o.retry != "honour" {
		d, err := time.ParseDuration(o.retry)
		if err != nil || d < time.Millisecond || d > 10*time.Second {
			bad = append(bad, `-retry must be "honour" or a duration from 1ms to 10s`)
		}
		o.retryPause = d
	}
	for _, kv := range o.serverEnv {
		if strings.HasPrefix(kv, "RAMPART_ADDR=") || strings.HasPrefix(kv, "RAMPART_ADMIN_ADDR=") {
			bad = append(bad, "-server-env must not move the listeners off loopback")
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(os.Stderr, "loginflood: "+strings.Join(bad, "\n  "))
		os.Exit(2)
	}
	return o
}

func main() {
	o := parseFlags()
	// Everything, server start-up and shut-down included, ends within this.
	budget := o.raw + o.flood + o.idleMeProbe + 3*time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	res, err := run(ctx, o)
	stopSignals()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loginflood:", err)
		os.Exit(1)
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loginflood:", err)
			os.Exit(1)
		}
	}
	if o.check && !res.Pass {
		os.Exit(1)
	}
}

// Results is what a run reports (also written by -json).
type Results struct {
	Go         string   `json:"go"`
	NumCPU     int      `json:"numCPU"`
	Clients    int      `json:"clients"`
	Users      int      `json:"users"`
	Retry      string   `json:"retry"`
	ServerEnv  []string `json:"serverEnv,omitempty"`
	FloodSecs  float64  `json:"floodSeconds"`
	RawBefore  float64  `json:"rawHashesPerSecondBefore"`
	RawAfter   float64  `json:"rawHashesPerSecondAfter"`
	RawPerSec  float64  `json:"rawHashesPerSecond"` // the higher of the two: the stricter ratio
	RawForeign float64  `json:"foreignCPUSecondsDuringRaw"`
	RawPerCPU  float64  `json:"rawHashesPerCPUSecond"`
	LoginOK    int64    `json:"loginOK"`
	LoginPerS  float64  `json:"loginOKPerSecond"`
	Ratio      float64  `json:"ratio"`
	Attempts   int64    `json:"attempts"`
	Busy503    int64    `json:"busy503"`
	Share503   float64  `json:"share503"`
	Throttled  int64    `json:"throttled429"`
	Unauth401  int64    `json:"unauthorized401"`
	OtherCode  int64    `json:"otherStatus"`
	NetErrors  int64    `json:"transportErrors"`
	LoginP50   float64  `json:"loginOKp50ms"`
	LoginP99   float64  `json:"loginOKp99ms"`
	LoginMax   float64  `json:"loginOKmaxMs"`
	PerSecond  []int64  `json:"loginOKPerSecondTimeline"`
	MeIdleP50  float64  `json:"meIdleP50ms,omitempty"`
	MeIdleP99  float64  `json:"meIdleP99ms,omitempty"`
	MeCount    int      `json:"meCount"`
	MeNon200   int      `json:"meNon200"`
	MeP50      float64  `json:"meP50ms"`
	MeP90      float64  `json:"meP90ms"`
	MeP99      float64  `json:"meP99ms"`
	MeMax      float64  `json:"meMaxMs"`
	RSSIdle    int64    `json:"rssIdleBytes"`
	RSSFlood   int64    `json:"rssPeakSampledDuringFloodBytes"`
	HWM        int64    `json:"vmHWMBytes"`
	RSSAnon    int64    `json:"rssAnonAtFloodPeakBytes"`
	RSSFile    int64    `json:"rssFileAtFloodPeakBytes"`
	ServerCPU  float64  `json:"serverCPUSecondsDuringFlood"`
	ServerSys  float64  `json:"serverSystemCPUSecondsDuringFlood"`
	ClientCPU  float64  `json:"benchCPUSecondsDuringFlood"`
	ForeignCPU float64  `json:"foreignCPUSecondsDuringFlood"`
	// CPUEfficiency is (logins per server CPU-second) / (raw hashes per
	// CPU-second): the share of the server's CPU that went into useful
	// hashes. It moves much less than Ratio when other processes take CPU
	// (only through shared caches and memory bandwidth).
	CPUEfficiency float64  `json:"cpuEfficiency"`
	MetricsEnd    []string `json:"serverMetricsAfterFlood,omitempty"`
	Pass          bool     `json:"pass"`
	// Disturbed is set when other processes used more than 5% of the
	// machine during the flood or the raw phases: the ratio and latencies
	// of such a run are not Rampart's alone.
	Disturbed bool `json:"disturbed"`

	// The raw measurement and the ratio with the server's copy of argon2
	// (internal/password/argon2), which is faster than x/crypto.
	RawCopyBefore float64 `json:"rawCopyHashesPerSecondBefore"`
	RawCopyAfter  float64 `json:"rawCopyHashesPerSecondAfter"`
	RatioCopy     float64 `json:"ratioCopy"`
}

func run(ctx context.Context, o options) (*Results, error) {
	res := &Results{Go: runtime.Version(), NumCPU: runtime.NumCPU(), Clients: o.clients, Users: o.users,
		Retry: o.retry, ServerEnv: o.serverEnv}

	srv, err := startServer(ctx, o)
	if err != nil {
		return nil, err
	}
	defer srv.stop(o.keep)
	fmt.Printf("server pid %d on http://%s (admin %s), data %s\n", srv.cmd.Process.Pid, srv.addr, srv.adminAddr, srv.dir)

	rss := newRSSSampler(srv.cmd.Process.Pid)
	go rss.run(ctx)

	base := "http://" + srv.addr
	users, err := signUp(ctx, base, o.users+1)
	if err != nil {
		return nil, srv.withLog(err)
	}
	probeUser, users := users[0], users[1:]
	token, err := loginOnce(ctx, base, probeUser)
	if err != nil {
		return nil, srv.withLog(err)
	}
	fmt.Printf("signed up %d users (+1 for the /v1/me probe)\n", len(users))

	// (a) raw argon2id on all cores, server idle; again after the flood, so
	// that load from other processes in one window shows up.
	var foreign, perCPU float64
	res.RawBefore, perCPU, foreign = rawPhase(ctx, srv, o.raw, "before the flood", xargon2.IDKey)
	res.RawForeign += foreign
	res.RawPerCPU = perCPU
	res.RawCopyBefore, _, foreign = rawPhase(ctx, srv, o.raw, "before the flood (server's copy)", argon2.IDKey)
	res.RawForeign += foreign

	if o.idleMeProbe > 0 {
		idle := probeMe(ctx, base, token, o.meRate, o.idleMeProbe)
		res.MeIdleP50, res.MeIdleP99 = ms(pct(idle.lat, 50)), ms(pct(idle.lat, 99))
		fmt.Printf("idle GET /v1/me: n=%d p50 %.2f ms p99 %.2f ms\n", len(idle.lat), res.MeIdleP50, res.MeIdleP99)
	}
	res.RSSIdle = rss.current()

	// (b)+(c)+(d) the flood, the probe and the sampler together.
	rss.resetFloodPeak()
	user0, sysT0 := procfs.CPUSeconds(srv.cmd.Process.Pid)
	self0 := selfCPUSeconds()
	sys0 := procfs.MachineBusySeconds()
	var profWG sync.WaitGroup
	if o.profileDir != "" {
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			saveProfiles(ctx, o, srv.adminAddr)
		}()
	}
	meCh := make(chan probeResult, 1)
	go func() { meCh <- probeMe(ctx, base, token, o.meRate, o.flood) }()
	fl := flood(ctx, base, users, o)
	me := <-meCh
	user1, sysT1 := procfs.CPUSeconds(srv.cmd.Process.Pid)
	res.ServerCPU = user1 + sysT1 - user0 - sysT0
	res.ServerSys = sysT1 - sysT0
	res.ClientCPU = selfCPUSeconds() - self0
	res.ForeignCPU = max(0, procfs.MachineBusySeconds()-sys0-res.ServerCPU-res.ClientCPU)
	profWG.Wait()
	res.RSSFlood, res.RSSAnon, res.RSSFile = rss.floodPeak()
	time.Sleep(time.Second) // let the server finish the queue it still holds
	res.RawAfter, perCPU, foreign = rawPhase(ctx, srv, o.raw, "after the flood", xargon2.IDKey)
	res.RawForeign += foreign
	res.RawCopyAfter, _, foreign = rawPhase(ctx, srv, o.raw, "after the flood (server's copy)", argon2.IDKey)
	res.RawForeign += foreign
	res.RawPerCPU = max(res.RawPerCPU, perCPU)
	res.RawPerSec = max(res.RawBefore, res.RawAfter)
	res.HWM = rss.hwm()
	res.MetricsEnd = scrapeMetrics(ctx, srv.adminAddr)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("stopped early: %w", context.Cause(ctx))
	}

	res.FloodSecs = fl.elapsed.Seconds()
	res.LoginOK = fl.ok.Load()
	res.LoginPerS = float64(res.LoginOK) / res.FloodSecs
	res.Ratio = res.LoginPerS / res.RawPerSec
	res.RatioCopy = res.LoginPerS / max(res.RawCopyBefore, res.RawCopyAfter)
	if res.ServerCPU > 0 && res.RawPerCPU > 0 {
		res.CPUEfficiency = float64(res.LoginOK) / res.ServerCPU / res.RawPerCPU
	}
	res.Attempts = fl.attempts.Load()
	res.Busy503 = fl.busy.Load()
	res.Throttled = fl.throttled.Load()
	res.Unauth401 = fl.unauth.Load()
	res.OtherCode = fl.other.Load()
	res.NetErrors = fl.neterr.Load()
	if res.Attempts > 0 {
		res.Share503 = float64(res.Busy503) / float64(res.Attempts)
	}
	res.LoginP50, res.LoginP99, res.LoginMax = ms(pct(fl.lat, 50)), ms(pct(fl.lat, 99)), ms(pct(fl.lat, 100))
	res.PerSecond = fl.perSecond
	res.MeCount, res.MeNon200 = len(me.lat), me.non200
	res.MeP50, res.MeP90, res.MeP99, res.MeMax = ms(pct(me.lat, 50)), ms(pct(me.lat, 90)), ms(pct(me.lat, 99)), ms(pct(me.lat, 100))

	peak := max(res.HWM, res.RSSFlood)
	okRSS := peak < targetRSSBytes
	okRatio := res.Ratio >= targetRatio
	okMe := time.Duration(res.MeP99*float64(time.Millisecond)) < targetMeP99 && me.non200 == 0 && len(me.lat) > 0
	res.Pass = okRSS && okRatio && okMe

	fmt.Printf("\nlogin flood: %d clients, %d users, retry=%s, %.1fs\n", o.clients, len(users), o.retry, res.FloodSecs)
	fmt.Printf("  attempts %d: 200 %d, 503 %d (%.1f%%), 429 %d, 401 %d, other %d, transport errors %d\n",
		res.Attempts, res.LoginOK, res.Busy503, 100*res.Share503, res.Throttled, res.Unauth401, res.OtherCode, res.NetErrors)
	fmt.Printf("  successful login latency: p50 %.1f ms p99 %.1f ms max %.1f ms\n", res.LoginP50, res.LoginP99, res.LoginMax)
	fmt.Printf("  successes per second: %v\n", res.PerSecond)
	fmt.Printf("  CPU during the flood: server %.1fs (%.1fs of it in the kernel), bench %.1fs, other processes %.1fs (of %.0fs available)\n",
		res.ServerCPU, res.ServerSys, res.ClientCPU, res.ForeignCPU, res.FloodSecs*float64(runtime.NumCPU()))
	fmt.Printf("  raw argon2id (x/crypto): %.1f hashes/s before, %.1f after (the ratio uses the higher); server's copy: %.1f and %.1f; other processes used %.1f CPU-s during them\n",
		res.RawBefore, res.RawAfter, res.RawCopyBefore, res.RawCopyAfter, res.RawForeign)
	fmt.Printf("  CPU efficiency: %.1f logins per server CPU-s vs %.1f raw hashes per CPU-s = %.3f (less sensitive than the ratio to other processes' load)\n",
		float64(res.LoginOK)/res.ServerCPU, res.RawPerCPU, res.CPUEfficiency)
	for _, l := range res.MetricsEnd {
		fmt.Printf("  server %s\n", l)
	}
	fmt.Printf("\n%-42s %s\n", "RESULT", "")
	fmt.Printf("%-42s %.1f/s vs raw x/crypto %.1f hashes/s = ratio %.3f (target ≥ %.2f) %s; vs the server's copy %.3f\n", "login throughput",
		res.LoginPerS, res.RawPerSec, res.Ratio, targetRatio, verdict(okRatio), res.RatioCopy)
	fmt.Printf("%-42s p50 %.2f ms p90 %.2f ms p99 %.2f ms max %.2f ms, n=%d non-200=%d (target p99 < 50 ms) %s\n",
		"GET /v1/me during the flood", res.MeP50, res.MeP90, res.MeP99, res.MeMax, len(me.lat), me.non200, verdict(okMe))
	fmt.Printf("%-42s %.1f MiB (VmHWM %.1f MiB; flood-sampled VmRSS max %.1f MiB = anon %.1f + file %.1f; idle %.1f MiB; target < 128 MiB) %s\n",
		"server peak RSS", mib(peak), mib(res.HWM), mib(res.RSSFlood), mib(res.RSSAnon), mib(res.RSSFile), mib(res.RSSIdle), verdict(okRSS))
	fmt.Printf("%-42s %.1f%%\n", "503 share of login attempts", 100*res.Share503)
	machineFlood := res.FloodSecs * float64(runtime.NumCPU())
	machineRaw := 2 * o.raw.Seconds() * float64(runtime.NumCPU())
	if res.ForeignCPU > 0.05*machineFlood || res.RawForeign > 0.05*machineRaw {
		res.Disturbed = true
		fmt.Printf("WARNING: other processes used %.0f%% of the machine during the flood and %.0f%% during the raw phases; "+
			"this run's ratio and latencies are not Rampart's alone: run again on a quiet machine\n",
			100*res.ForeignCPU/machineFlood, 100*res.RawForeign/machineRaw)
	}
	if res.Throttled > 0 {
		fmt.Printf("NOTE: the server answered 429 to %d login attempts (per-IP or per-account throttling)\n", res.Throttled)
	}
	return res, nil
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// ---------------------------------------------------------------------------
// The server under test.

type server struct {
	cmd       *exec.Cmd
	dir       string
	logPath   string
	addr      string
	adminAddr string
	done      chan error
}

func startServer(ctx context.Context, o options) (*server, error) {
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return nil, fmt.Errorf("-bin %s: not a file (build it with: go build -o /tmp/rampart ./cmd/rampart)", o.bin)
	}
	dir, err := os.MkdirTemp("", "loginflood-")
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	env := []string{
		"RAMPART_ENV=test",
		"RAMPART_ADDR=127.0.0.1:0",
		"RAMPART_ADMIN_ADDR=127.0.0.1:0",
		"RAMPART_DATA_DIR=" + dir,
		"RAMPART_DATABASE_URL=sqlite:" + filepath.Join(dir, "rampart.db"),
		"RAMPART_MASTER_KEY=" + base64.StdEncoding.EncodeToString(key),
	}
	if o.raiseRates {
		for _, c := range []string{"AUTH", "SIGNUP", "API", "PUBLIC"} {
			env = append(env, "RAMPART_RATE_"+c+"=1000000/1m")
		}
	}
	if o.profileDir != "" {
		env = append(env, "RAMPART_PPROF=true")
	}
	env = append(env, o.serverEnv...)

	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = procfs.KillWithParent()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	logFile.Close()
	s := &server{cmd: cmd, dir: dir, logPath: logPath, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		if l, ok := s.listening(); ok {
			s.addr, s.adminAddr = l.Addr, l.AdminAddr
			break
		}
		select {
		case err := <-s.done:
			s.done <- err
			s.stop(true)
			return nil, s.withLog(fmt.Errorf("server exited before listening: %v", err))
		case <-ctx.Done():
			s.stop(o.keep)
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(true)
			return nil, s.withLog(errors.New("server did not start listening within 30s"))
		}
	}
	for _, a := range []string{s.addr, s.adminAddr} {
		ap, err := netip.ParseAddrPort(a)
		if err != nil || !ap.Addr().IsLoopback() {
			s.stop(o.keep)
			return nil, fmt.Errorf("server listens on %q, not loopback; refusing to load it", a)
		}
	}
	return s, nil
}

type listenLine struct {
	Msg       string `json:"msg"`
	Addr      string `json:"addr"`
	AdminAddr string `json:"admin_addr"`
}

func (s *server) listening() (listenLine, bool) {
	f, err := os.Open(s.logPath)
	if err != nil {
		return listenLine{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l listenLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "listening" {
			return l, true
		}
	}
	return listenLine{}, false
}

// withLog appends the tail of the server's log to err.
func (s *server) withLog(err error) error {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return fmt.Errorf("%w\n--- server log (tail) ---\n%s", err, b)
}

// stop sends SIGTERM, waits up to 20 s for a graceful exit, then kills.
func (s *server) stop(keep bool) {
	select {
	case err := <-s.done: // already exited
		s.done <- err
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.done:
			s.done <- err
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			s.done <- <-s.done
		}
	}
	if keep {
		fmt.Printf("kept %s (server log: %s)\n", s.dir, s.logPath)
		return
	}
	os.RemoveAll(s.dir)
}

// ---------------------------------------------------------------------------
// Users and tokens.

type user struct {
	email, password string
}

var jsonClient = &http.Client{Timeout: 30 * time.Second}

func postJSON(ctx context.Context, c *http.Client, url string, body any) (int, http.Header, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, rb, err
}

func signUp(ctx context.Context, base string, n int) ([]user, error) {
	tag := make([]byte, 4)
	rand.Read(tag)
	users := make([]user, n)
	for i := range users {
		pw := make([]byte, 12)
		rand.Read(pw)
		users[i] = user{
			email:    fmt.Sprintf("flood%d-%s@bench.example", i, hex.EncodeToString(tag)),
			password: "loginflood-" + hex.EncodeToString(pw),
		}
		code, _, body, err := postJSON(ctx, jsonClient, base+"/v1/signup", map[string]string{
			"email": users[i].email, "password": users[i].password,
			"displayName": fmt.Sprintf("Flood %d", i), "organization": fmt.Sprintf("Flood org %d", i),
		})
		if err != nil {
			return nil, fmt.Errorf("signup: %w", err)
		}
		if code != http.StatusCreated {
			return nil, fmt.Errorf("signup: status %d: %s", code, body)
		}
	}
	return users, nil
}

func loginOnce(ctx context.Context, base string, u user) (string, error) {
	code, _, body, err := postJSON(ctx, jsonClient, base+"/v1/auth/login", map[string]string{"email": u.email, "password": u.password})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("login: status %d: %s", code, body)
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("login: no access token in %s", body)
	}
	return tok.AccessToken, nil
}

// ---------------------------------------------------------------------------
// (a) Raw argon2id.

// serverCPU is the server's user+system CPU time.
func serverCPU(srv *server) float64 {
	user, sys := procfs.CPUSeconds(srv.cmd.Process.Pid)
	return user + sys
}

// rawPhase measures raw hashes/s and how much CPU other processes (not the
// server, not this benchmark) used meanwhile.
func rawPhase(ctx context.Context, srv *server, d time.Duration, when string, idKey idKeyFunc) (perSec, perCPUSec, foreignCPU float64) {
	sys0, self0 := procfs.MachineBusySeconds(), selfCPUSeconds()
	srv0 := serverCPU(srv)
	n, secs := rawHashes(ctx, d, idKey)
	srv1 := serverCPU(srv)
	self := selfCPUSeconds() - self0
	foreignCPU = max(0, procfs.MachineBusySeconds()-sys0-self-(srv1-srv0))
	perSec = float64(n) / secs
	if self > 0 {
		perCPUSec = float64(n) / self
	}
	runtime.GC()
	debug.FreeOSMemory()
	p := password.DefaultParams
	fmt.Printf("raw argon2id %s (m=%d KiB t=%d p=%d, %d goroutines): %d hashes in %.2fs = %.1f hashes/s, %.1f per CPU-s (server CPU %.2fs, other processes %.1f CPU-s)\n",
		when, p.Memory, p.Time, p.Threads, runtime.NumCPU(), n, secs, perSec, perCPUSec, srv1-srv0, foreignCPU)
	return perSec, perCPUSec, foreignCPU
}

// idKeyFunc is the signature of argon2.IDKey, in x/crypto and in the copy.
type idKeyFunc func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

func rawHashes(ctx context.Context, d time.Duration, idKey idKeyFunc) (int64, float64) {
	p := password.DefaultParams
	pw := []byte("correct horse battery staple")
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	idKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen) // warm-up
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range runtime.NumCPU() {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				idKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load(), time.Since(start).Seconds()
}

// ---------------------------------------------------------------------------
// (b) The login flood.

type floodResult struct {
	elapsed                                       time.Duration
	attempts, ok, busy, throttled, unauth, other  atomic.Int64
	neterr                                        atomic.Int64
	perSecondCounters                             []atomic.Int64
	perSecond                                     []int64
	firstErr                                      atomic.Pointer[string]
	retryAfterSum, retryAfterCount, retryAfterMax atomic.Int64

	mu  sync.Mutex
	lat []time.Duration // successful logins
}

// flood runs o.clients login loops until o.flood has passed. Each client
// logs in as users[i % len(users)] with the correct password and loops:
//
//	200       → log in again at once;
//	503, 429  → with -retry=honour, sleep Retry-After (capped by -retry-cap)
//	            plus 0..50% random jitter, so the refused clients do not come
//	            back in one synchronized wave; with -retry=<d>, sleep d;
//	other     → sleep 100 ms (a client bug or a server error; counted).
//
// Only answers received before the end of the flood are counted.
func flood(ctx context.Context, base string, users []user, o options) *floodResult {
	r := &floodResult{perSecondCounters: make([]atomic.Int64, int(o.flood/time.Second)+1)}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        o.clients + 16,
		MaxIdleConnsPerHost: o.clients + 16,
		IdleConnTimeout:     90 * time.Second,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	fctx, cancel := context.WithTimeout(ctx, o.flood)
	defer cancel()
	start := time.Now()
	end := start.Add(o.flood)
	bodies := make([][]byte, len(users))
	for i, u := range users {
		bodies[i], _ = json.Marshal(map[string]string{"email": u.email, "password": u.password})
	}
	var wg sync.WaitGroup
	for i := range o.clients {
		body := bodies[i%len(users)]
		wg.Go(func() {
			var lat []time.Duration
			defer func() {
				r.mu.Lock()
				r.lat = append(r.lat, lat...)
				r.mu.Unlock()
			}()
			for fctx.Err() == nil {
				t0 := time.Now()
				code, retry, err := loginAttempt(fctx, c, base, body)
				t1 := time.Now()
				if t1.After(end) || fctx.Err() != nil {
					return
				}
				r.attempts.Add(1)
				var pause time.Duration
				switch {
				case err != nil:
					r.neterr.Add(1)
					r.noteErr(err.Error())
					pause = 100 * time.Millisecond
				case code == http.StatusOK:
					r.ok.Add(1)
					r.perSecondCounters[int(t1.Sub(start)/time.Second)].Add(1)
					lat = append(lat, t1.Sub(t0))
				case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests:
					if code == http.StatusServiceUnavailable {
						r.busy.Add(1)
					} else {
						r.throttled.Add(1)
					}
					r.retryAfterSum.Add(int64(retry))
					r.retryAfterCount.Add(1)
					if int64(retry) > r.retryAfterMax.Load() {
						r.retryAfterMax.Store(int64(retry)) // racy max; good enough for a report
					}
					if o.retryPause > 0 {
						pause = o.retryPause
					} else {
						pause = min(retry, o.retryCap)
						pause += time.Duration(mrand.Int64N(int64(pause)/2 + 1))
					}
				case code == http.StatusUnauthorized:
					r.unauth.Add(1)
					pause = 100 * time.Millisecond
				default:
					r.other.Add(1)
					r.noteErr("status " + strconv.Itoa(code))
					pause = 100 * time.Millisecond
				}
				if pause > 0 {
					select {
					case <-fctx.Done():
						return
					case <-time.After(pause):
					}
				}
			}
		})
	}
	wg.Wait()
	r.elapsed = min(time.Since(start), o.flood)
	n := int(r.elapsed / time.Second)
	for i := range min(n, len(r.perSecondCounters)) {
		r.perSecond = append(r.perSecond, r.perSecondCounters[i].Load())
	}
	if cnt := r.retryAfterCount.Load(); cnt > 0 {
		fmt.Printf("  Retry-After seen: mean %.2fs, max %.0fs\n",
			time.Duration(r.retryAfterSum.Load()/cnt).Seconds(), time.Duration(r.retryAfterMax.Load()).Seconds())
	}
	if p := r.firstErr.Load(); p != nil {
		fmt.Printf("  first unexpected result: %s\n", *p)
	}
	return r
}

func (r *floodResult) noteErr(s string) { r.firstErr.CompareAndSwap(nil, &s) }

// loginAttempt posts one login and returns the status and Retry-After.
func loginAttempt(ctx context.Context, c *http.Client, base string, body []byte) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // drain, so the connection is reused
	resp.Body.Close()
	var retry time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		retry = time.Duration(s) * time.Second
	}
	return resp.StatusCode, retry, nil
}

// ---------------------------------------------------------------------------
// (c) GET /v1/me probe.

type probeResult struct {
	lat    []time.Duration
	non200 int
}

// probeMe issues GET /v1/me at rate per second for d, each request in its
// own goroutine at its scheduled time (open loop, no coordinated omission),
// over its own keep-alive connections. Latency is from just before the
// request is sent to the end of the body.
func probeMe(ctx context.Context, base, token string, rate float64, d time.Duration) probeResult {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu  sync.Mutex
		res probeResult
		wg  sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / rate)
	t := time.NewTicker(interval)
	defer t.Stop()
	stop := time.After(d)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-stop:
			break loop
		case <-t.C:
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/me", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					mu.Lock()
					res.non200++
					mu.Unlock()
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				mu.Lock()
				defer mu.Unlock()
				if resp.StatusCode != http.StatusOK {
					res.non200++
					return
				}
				res.lat = append(res.lat, el)
			})
		}
	}
	wg.Wait()
	return res
}

// ---------------------------------------------------------------------------
// (d) Server memory and CPU.

type rssSampler struct {
	pid  int
	cur  atomic.Int64
	hwmV atomic.Int64

	mu                          sync.Mutex
	peak, peakAnon, peakFileShm int64 // VmRSS max since resetFloodPeak, and its parts then
}

func newRSSSampler(pid int) *rssSampler { return &rssSampler{pid: pid} }

func (s *rssSampler) sample() {
	m, err := procfs.ReadMemory(s.pid)
	if err != nil {
		return
	}
	s.cur.Store(m.RSS)
	s.hwmV.Store(m.HWM)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.RSS > s.peak {
		s.peak, s.peakAnon, s.peakFileShm = m.RSS, m.Anon, m.File+m.Shmem
	}
}

func (s *rssSampler) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *rssSampler) current() int64 { s.sample(); return s.cur.Load() }
func (s *rssSampler) resetFloodPeak() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak, s.peakAnon, s.peakFileShm = 0, 0, 0
}

// floodPeak returns the largest VmRSS since resetFloodPeak, split into
// RssAnon and RssFile+RssShmem at that sample.
func (s *rssSampler) floodPeak() (rss, anon, file int64) {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.peakAnon, s.peakFileShm
}
func (s *rssSampler) hwm() int64 { s.sample(); return s.hwmV.Load() }

// scrapeMetrics returns a few runtime gauges from the admin listener.
func scrapeMetrics(ctx context.Context, adminAddr string) []string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	resp, err := jsonClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	want := []string{"go_goroutines ", "go_memstats_heap_sys_bytes ", "go_memstats_next_gc_bytes ",
		"go_memstats_sys_bytes ", "go_gc_duration_seconds_count ", "go_gc_gogc_percent ", "go_gc_gomemlimit_bytes ",
		"go_sched_gomaxprocs_threads "}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		for _, w := range want {
			if strings.HasPrefix(l, w) {
				out = append(out, l)
			}
		}
	}
	return out
}

// saveProfiles takes a CPU profile over the middle of the flood and a heap
// profile near its end from the admin listener's pprof.
func saveProfiles(ctx context.Context, o options, adminAddr string) {
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	fetch := func(path, file string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+path, nil)
		resp, err := (&http.Client{Timeout: maxFlood}).Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintf(os.Stderr, "profile %s: status %d\n", path, resp.StatusCode)
			return
		}
		if err := os.WriteFile(filepath.Join(o.profileDir, file), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
		}
	}
	skip := min(5*time.Second, o.flood/4)
	secs := int(math.Max(1, (o.flood - 2*skip - time.Second).Seconds()))
	select {
	case <-ctx.Done():
		return
	case <-time.After(skip):
	}
	fetch("/debug/pprof/profile?seconds="+strconv.Itoa(secs), "cpu.pprof")
	fetch("/debug/pprof/heap", "heap.pprof")
	fetch("/debug/pprof/goroutine", "goroutine.pprof")
}

// ---------------------------------------------------------------------------

// pct is the nearest-rank percentile p (0..100] of ds; 0 for none.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(b int64) float64        { return float64(b) / (1 << 20) }
