// Command detectcost measures what detection and the automatic block cost
// an ordinary request (issue 13, "Show": under 2 % of CPU per request on
// GET /v1/orders/{id}): it starts the same binary twice on one PostgreSQL
// database, each with a Redis prefix of its own, once with detection on
// (the default rules, automatic blocking on) and once with it off (every
// RAMPART_ALERT_<RULE>=off, RAMPART_AUTO_BLOCK=false), and in alternating
// rounds sends each the same fixed number of authenticated
// GET /v1/orders/{id}, reading the server process's CPU time
// (utime+stime, /proc/PID/stat) before and after. It prints CPU
// microseconds per request of each server per round and the ratio on/off.
//
//	go build -o /tmp/rampart ./cmd/rampart
//	go run ./bench/detectcost -bin /tmp/rampart
//
// Loopback only; bounded by -requests × -rounds × 2 and a deadline.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/bench/internal/procfs"
	"example.com/rampart/internal/signals"
)

type options struct {
	bin              string
	pg, redisURL     string
	requests, rounds int
	concurrency      int
	warmup           int
	deadline         time.Duration
	check, together  bool
	aa               bool
	maxRatio         float64
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "the rampart binary (go build -o /tmp/rampart ./cmd/rampart)")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server (a throwaway database is created and dropped)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis server (throwaway key prefixes, deleted afterwards)")
	flag.IntVar(&o.requests, "requests", 5000, "measured requests per server per round (at most 200000)")
	flag.IntVar(&o.rounds, "rounds", 40, "rounds; each measures both servers, alternating which goes first (at most 40): short rounds, many of them, so that both servers see the same neighbours")
	flag.IntVar(&o.concurrency, "c", 4, "concurrent client connections per server")
	flag.IntVar(&o.warmup, "warmup", 2000, "unmeasured requests per server before the first round")
	flag.DurationVar(&o.deadline, "deadline", 15*time.Minute, "the whole run's deadline")
	flag.Float64Var(&o.maxRatio, "max-ratio", 1.02, "the target: CPU per request on ÷ off")
	flag.BoolVar(&o.check, "check", false, "exit 1 when the ratio is above -max-ratio")
	flag.BoolVar(&o.aa, "aa", false, "A/A: both servers with detection off, to see the method's own noise and bias")
	flag.BoolVar(&o.together, "together", true, "load both servers at once in each round (both see the same neighbours on a shared machine); false: one after the other, alternating which goes first")
	flag.Parse()
	if o.bin == "" || o.requests < 1 || o.requests > 200000 || o.rounds < 1 || o.rounds > 40 || o.concurrency < 1 || o.concurrency > 256 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.deadline)
	defer cancel()
	ratio, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "detectcost:", err)
		os.Exit(1)
	}
	if o.check && ratio > o.maxRatio {
		os.Exit(1)
	}
}

// variant is one way of running the server.
type variant struct {
	name string
	env  []string
}

// variants are the two servers: detection on and off or, for an A/A run
// that shows what the method itself sees between two equal servers
// (its noise and any bias), off twice.
func variants(aa bool) []variant {
	off := []string{"RAMPART_AUTO_BLOCK=false"}
	for _, r := range signals.DefaultRules() {
		off = append(off, signals.EnvName(r.Name)+"=off")
	}
	if aa {
		return []variant{{"offA", off}, {"offB", off}}
	}
	return []variant{
		{"on", []string{"RAMPART_AUTO_BLOCK=true"}}, // the default rules
		{"off", off},
	}
}

type server struct {
	variant
	cmd           *exec.Cmd
	base, admin   string
	token, order  string
	dir           string
	done          chan error
	cpu, requests []float64 // per round
}

func run(ctx context.Context, o options) (float64, error) {
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return 0, err
	}
	suffix := randHex(4)
	db := "detectcost_" + suffix
	admin, err := pgx.Connect(ctx, o.pg)
	if err != nil {
		return 0, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return 0, fmt.Errorf("create database: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(dctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "detectcost: drop database %s: %v\n", db, err)
		}
	}()
	u, err := url.Parse(o.pg)
	if err != nil {
		return 0, err
	}
	u.Path = "/" + db
	ropts, err := redis.ParseURL(o.redisURL)
	if err != nil {
		return 0, err
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	prefix := "detectcost-" + suffix + ":"
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		iter := rdb.Scan(dctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(dctx) {
			rdb.Del(dctx, iter.Val())
		}
	}()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	// One after the other: the first migrates the schema.
	for _, v := range variants(o.aa) {
		env := append([]string{
			"RAMPART_ENV=test",
			"RAMPART_ADDR=127.0.0.1:0",
			"RAMPART_ADMIN_ADDR=127.0.0.1:0",
			"RAMPART_DATABASE_URL=" + u.String(),
			"RAMPART_REDIS_URL=" + o.redisURL,
			"RAMPART_REDIS_PREFIX=" + prefix + v.name + ":",
			"RAMPART_MASTER_KEY=" + base64.StdEncoding.EncodeToString(key),
			// The limiter stays in the path but never decides.
			"RAMPART_RATE_AUTH=1000000/1s", "RAMPART_RATE_SIGNUP=1000000/1s",
			"RAMPART_RATE_API=1000000/1s", "RAMPART_RATE_PUBLIC=1000000/1s",
		}, v.env...)
		s, err := start(ctx, bin, v, env)
		if err != nil {
			return 0, err
		}
		servers = append(servers, s)
		if err := s.setUp(ctx); err != nil {
			return 0, fmt.Errorf("%s: %w", v.name, err)
		}
	}
	fmt.Printf("detectcost: %s, %d rounds × %d GET /v1/orders/{id} per server, %d connections, PostgreSQL + Redis\n",
		bin, o.rounds, o.requests, o.concurrency)
	for _, s := range servers {
		if _, err := s.load(ctx, o.warmup, o.concurrency); err != nil {
			return 0, fmt.Errorf("%s warm-up: %w", s.name, err)
		}
	}
	fmt.Printf("%-6s %-4s %10s %10s %12s %12s\n", "round", "run", "req/s", "CPU s", "CPU µs/req", "other CPU s")
	for r := range o.rounds {
		var groups [][]*server
		if o.together {
			groups = [][]*server{servers} // both at once: the same neighbours for both
		} else if r%2 == 0 {
			groups = [][]*server{{servers[0]}, {servers[1]}}
		} else {
			groups = [][]*server{{servers[1]}, {servers[0]}}
		}
		for _, g := range groups {
			if err := measure(ctx, g, r, o); err != nil {
				return 0, err
			}
		}
	}
	perReq := func(s *server) float64 {
		var c, n float64
		for i := range s.cpu {
			c, n = c+s.cpu[i], n+s.requests[i]
		}
		return c / n * 1e6
	}
	// Each round's ratio, and the geometric mean of them with a 95 %
	// interval (±2 standard errors of the mean log ratio): how far the
	// neighbours let this run see.
	var ratios []float64
	var sum, sumSq float64
	for i := range servers[0].cpu {
		q := (servers[0].cpu[i] / servers[0].requests[i]) / (servers[1].cpu[i] / servers[1].requests[i])
		ratios = append(ratios, q)
		sum, sumSq = sum+math.Log(q), sumSq+math.Log(q)*math.Log(q)
	}
	n := float64(len(ratios))
	mean := sum / n
	se := 0.0
	if n > 1 {
		se = math.Sqrt(max(0, (sumSq-n*mean*mean)/(n-1)) / n)
	}
	slices.Sort(ratios)
	ratio := perReq(servers[0]) / perReq(servers[1])
	fmt.Printf("CPU per request: %s %.1f µs, %s %.1f µs; ratio %s/%s %.4f (all rounds' CPU ÷ requests)\n",
		servers[0].name, perReq(servers[0]), servers[1].name, perReq(servers[1]), servers[0].name, servers[1].name, ratio)
	fmt.Printf("per round: min %.4f, median %.4f, max %.4f; geometric mean %.4f, 95%% interval %.4f–%.4f\n",
		ratios[0], ratios[len(ratios)/2], ratios[len(ratios)-1], math.Exp(mean), math.Exp(mean-2*se), math.Exp(mean+2*se))
	fmt.Printf("target < %.2f: %s\n", o.maxRatio, map[bool]string{true: "PASS", false: "FAIL"}[ratio < o.maxRatio])
	for _, s := range servers {
		if m, err := procfs.ReadMemory(s.cmd.Process.Pid); err == nil {
			fmt.Printf("%s: VmHWM %.1f MiB\n", s.name, float64(m.HWM)/(1<<20))
		}
	}
	return ratio, nil
}

// measure loads the servers of g at once, o.requests each, and records
// each one's CPU time per request.
func measure(ctx context.Context, g []*server, r int, o options) error {
	selfU0, selfS0 := procfs.CPUSeconds(os.Getpid())
	busy0 := procfs.MachineBusySeconds()
	cpu0 := make([]float64, len(g))
	for i, s := range g {
		u, st := procfs.CPUSeconds(s.cmd.Process.Pid)
		cpu0[i] = u + st
	}
	start := time.Now()
	ns := make([]int, len(g))
	errs := make([]error, len(g))
	var wg sync.WaitGroup
	for j := range g {
		i := (j + r) % len(g) // alternate which one starts first
		s := g[i]
		wg.Go(func() { ns[i], errs[i] = s.load(ctx, o.requests, o.concurrency) })
	}
	wg.Wait()
	wall := time.Since(start)
	var servers float64
	for i, s := range g {
		if errs[i] != nil {
			return fmt.Errorf("%s round %d: %w", s.name, r+1, errs[i])
		}
		u, st := procfs.CPUSeconds(s.cmd.Process.Pid)
		cpu := u + st - cpu0[i]
		servers += cpu
		s.cpu = append(s.cpu, cpu)
		s.requests = append(s.requests, float64(ns[i]))
	}
	selfU1, selfS1 := procfs.CPUSeconds(os.Getpid())
	// Everything else on the machine, PostgreSQL and Redis included.
	other := procfs.MachineBusySeconds() - busy0 - servers - ((selfU1 + selfS1) - (selfU0 + selfS0))
	for _, s := range g {
		i := len(s.cpu) - 1
		fmt.Printf("%-6d %-4s %10.0f %10.2f %12.1f %12.2f\n", r+1, s.name, s.requests[i]/wall.Seconds(), s.cpu[i], s.cpu[i]/s.requests[i]*1e6, other)
	}
	return nil
}

// start runs the binary with env and waits for its "listening" line.
func start(ctx context.Context, bin string, v variant, env []string) (*server, error) {
	dir, err := os.MkdirTemp("", "detectcost-")
	if err != nil {
		return nil, err
	}
	env = append(env, "RAMPART_DATA_DIR="+dir)
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = procfs.KillWithParent()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{variant: v, cmd: cmd, dir: dir, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(logPath)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var line struct {
				Msg       string `json:"msg"`
				Addr      string `json:"addr"`
				AdminAddr string `json:"admin_addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				s.base, s.admin = "http://"+line.Addr, "http://"+line.AdminAddr
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("%s stopped before listening: %v\n%s", v.name, err, b)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not listen within 60 s:\n%s", v.name, b)
		}
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
	_ = os.RemoveAll(s.dir)
}

var client = &http.Client{Timeout: 10 * time.Second,
	Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256}}

func (s *server) post(ctx context.Context, path, token string, body any) ([]byte, int, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return out, resp.StatusCode, err
}

// setUp signs up a user, signs in and places the order the load reads.
func (s *server) setUp(ctx context.Context) error {
	email := "bench-" + s.name + "-" + randHex(4) + "@example.com"
	const pw = "a long and unusual passphrase 42"
	if b, code, err := s.post(ctx, "/v1/signup", "", map[string]string{"email": email, "password": pw,
		"displayName": "Bench", "organization": "Bench " + s.name}); err != nil || code != 201 {
		return fmt.Errorf("signup: %d %s %v", code, b, err)
	}
	b, code, err := s.post(ctx, "/v1/auth/login", "", map[string]string{"email": email, "password": pw})
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if err != nil || code != 200 || json.Unmarshal(b, &tok) != nil {
		return fmt.Errorf("login: %d %s %v", code, b, err)
	}
	s.token = tok.AccessToken
	b, code, err = s.post(ctx, "/v1/orders", s.token, map[string]any{"items": []map[string]any{{"sku": "BENCH-1", "quantity": 2}}})
	var o struct {
		ID string `json:"id"`
	}
	if err != nil || code != 201 || json.Unmarshal(b, &o) != nil {
		return fmt.Errorf("create order: %d %s %v", code, b, err)
	}
	s.order = o.ID
	return nil
}

// load sends n authenticated GET /v1/orders/{id} over c connections and
// returns how many were answered 200 (all of them, or an error).
func (s *server) load(ctx context.Context, n, c int) (int, error) {
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range c {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/orders/"+s.order, nil)
				req.Header.Set("Authorization", "Bearer "+s.token)
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("answered %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return int(ok.Load()), firstErr
	}
	return int(ok.Load()), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
