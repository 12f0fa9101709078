package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"debug/buildinfo"
	"debug/elf"
	"encoding/base64"
	"encoding/json/v2"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
)

// testEnviron is a complete test configuration on loopback ports chosen by
// the kernel, with its own data directory and SQLite file.
func testEnviron(t *testing.T, extra ...string) []string {
	t.Helper()
	return environFor(t, "test", extra...)
}

// environFor is testEnviron for any RAMPART_ENV.
func environFor(t *testing.T, rampartEnv string, extra ...string) []string {
	t.Helper()
	dir := t.TempDir()
	env := []string{
		"RAMPART_ENV=" + rampartEnv,
		"RAMPART_ADDR=127.0.0.1:0",
		"RAMPART_ADMIN_ADDR=127.0.0.1:0",
		"RAMPART_DATA_DIR=" + dir,
		"RAMPART_DATABASE_URL=sqlite:" + filepath.Join(dir, "rampart.db"),
		"RAMPART_MASTER_KEY=" + base64.StdEncoding.EncodeToString(randomBytes(t, 32)),
	}
	return append(env, extra...)
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

type listening struct {
	Addr      string `json:"addr"`
	AdminAddr string `json:"admin_addr"`
}

// waitListening polls the server's log for its "listening" line: it is
// ready to serve.
func waitListening(t *testing.T, out interface{ String() string }, done <-chan error) listening {
	t.Helper()
	return waitLogged(t, out, done, "listening")
}

// waitLogged polls the server's log for a line with msg and the listeners'
// addresses ("starting" when they are open, "listening" when it is ready).
func waitLogged(t *testing.T, out interface{ String() string }, done <-chan error, msg string) listening {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var line struct {
				Msg string `json:"msg"`
				listening
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == msg {
				return line.listening
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server stopped before listening: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server did not log %q:\n%s", msg, out.String())
	return listening{}
}

// startRun runs the server in-process through run, as main does. stop
// cancels its context and returns what run returned; it may be called more
// than once and is called at cleanup.
func startRun(t *testing.T, environ []string) (l listening, out *testutil.SyncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out = &testutil.SyncBuffer{}
	done := make(chan error, 1)   // for waitListening, which may take the result
	exited := make(chan struct{}) // closed when run returns, for stop
	var result error
	go func() {
		result = run(ctx, []string{"rampart", "serve"}, environ, out, out)
		done <- result
		close(exited)
	}()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case <-exited:
			return result
		case <-time.After(20 * time.Second):
			return errors.New("server did not stop within 20s")
		}
	})
	t.Cleanup(func() { _ = stop() })
	return waitListening(t, out, done), out, stop
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeEndToEnd(t *testing.T) {
	l, out, stop := startRun(t, testEnviron(t))
	base := "http://" + l.Addr

	if code, body := get(t, base+"/healthz"); code != 200 || body != `{"status":"ok"}` {
		t.Errorf("healthz: %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Errorf("readyz: %d %s", code, body)
	}
	if code, _ := get(t, base+"/v1/openapi.json"); code != 200 {
		t.Errorf("openapi: %d", code)
	}
	if code, _ := get(t, base+"/metrics"); code != 404 {
		t.Errorf("public /metrics: %d, want 404", code)
	}
	// The security-event stream is wired: a forged token is one event,
	// logged without the token and counted by type.
	if code, _ := get(t, base+"/v1/me", "Authorization", "Bearer CANARY.forged.token"); code != 401 {
		t.Errorf("forged token: %d", code)
	}
	code, metrics := get(t, "http://"+l.AdminAddr+"/metrics")
	if code != 200 || !strings.Contains(metrics, `rampart_http_requests_total{code="200",method="GET",route="GET /healthz"}`) ||
		!strings.Contains(metrics, "rampart_password_hashes_queued 0") ||
		!strings.Contains(metrics, `rampart_security_events_total{type="auth_failure"} 1`) ||
		!strings.Contains(metrics, "rampart_security_events_dropped_total 0") {
		t.Errorf("admin /metrics: %d\n%s", code, metrics)
	}
	if code, _ := get(t, "http://"+l.AdminAddr+"/debug/pprof/"); code != 404 {
		t.Errorf("pprof served while disabled: %d", code)
	}

	if err := stop(); err != nil {
		t.Fatalf("run returned %v", err)
	}
	if !strings.Contains(out.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", out)
	}
	if !strings.Contains(out.String(), `"msg":"security event","type":"auth_failure"`) || strings.Contains(out.String(), "CANARY") {
		t.Errorf("no security event, or the token in the log:\n%s", out)
	}
}

func TestPprofOnlyOnAdminListener(t *testing.T) {
	l, _, _ := startRun(t, testEnviron(t, "RAMPART_PPROF=true"))
	if code, _ := get(t, "http://"+l.AdminAddr+"/debug/pprof/"); code != 200 {
		t.Errorf("admin pprof: %d", code)
	}
	if code, _ := get(t, "http://"+l.Addr+"/debug/pprof/"); code != 404 {
		t.Errorf("public pprof: %d, want 404", code)
	}
}

func TestCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "version"}, nil, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "rampart ") {
		t.Errorf("version: %v %q", err, out.String())
	}
	out.Reset()
	err := run(t.Context(), []string{"rampart", "frobnicate"}, nil, &out, &errOut)
	if !errors.Is(err, errUsage) || exitCode(err) != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("unknown command: %v %q", err, errOut.String())
	}
}

func TestProductionRefusesUnsafeConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	environ := []string{
		"RAMPART_ENV=production",
		"RAMPART_ADDR=127.0.0.1:0",
		"RAMPART_ADMIN_ADDR=127.0.0.1:0",
		"RAMPART_DATA_DIR=" + t.TempDir(),
		"RAMPART_CORS_ORIGINS=*",
	}
	err := run(t.Context(), []string{"rampart", "serve"}, environ, &out, &errOut)
	if !errors.Is(err, errReported) {
		t.Fatalf("production with unsafe config started: %v", err)
	}
	for _, name := range []string{"RAMPART_MASTER_KEY", "RAMPART_CORS_ORIGINS", "RAMPART_DATABASE_URL"} {
		if !strings.Contains(errOut.String(), name) {
			t.Errorf("refusal does not name %s:\n%s", name, errOut.String())
		}
	}
	if strings.Contains(out.String(), "listening") {
		t.Error("it listened")
	}
}

// The canaries are secrets handed to the server in its configuration and in
// requests. None of them may appear in anything it prints.
const (
	runCanaryKey      = "CANARY-MASTER-KEY-0123456789abcd" // 32 bytes, used base64-encoded
	runCanaryRedisPW  = "CANARY-REDIS-PW"
	runCanaryBearer   = "CANARY-BEARER-TOKEN"
	runCanaryCookie   = "CANARY-COOKIE"
	runCanaryPassword = "CANARY-PW-correct-horse"
	runCanarySMTPPW   = "CANARY-SMTP-PW"
)

func runCanaryEnviron(t *testing.T) []string {
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString([]byte(runCanaryKey))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnviron(t, "RAMPART_REDIS_URL=redis://:"+runCanaryRedisPW+"@127.0.0.1:6379/0",
		"RAMPART_SMTP_URL=smtp://rampart:"+runCanarySMTPPW+"@127.0.0.1:2525", "RAMPART_MAIL_FROM=no-reply@rampart.example")
	for i, kv := range env {
		if strings.HasPrefix(kv, "RAMPART_MASTER_KEY=") {
			env[i] = "RAMPART_MASTER_KEY_FILE=" + keyFile
		}
	}
	return env
}

func assertNoRunCanary(t *testing.T, where, s string) {
	t.Helper()
	for _, c := range []string{runCanaryKey, base64.StdEncoding.EncodeToString([]byte(runCanaryKey)), runCanaryRedisPW, runCanarySMTPPW,
		runCanaryBearer, runCanaryCookie, runCanaryPassword} {
		if strings.Contains(s, c) {
			t.Errorf("%s contains the canary %q", where, c)
		}
	}
}

func sendCanaryRequests(t *testing.T, base string) {
	t.Helper()
	for _, path := range []string{"/healthz", "/v1/me?access_token=" + runCanaryBearer, "/nope"} {
		req, _ := http.NewRequest(http.MethodPost, base+path,
			strings.NewReader(`{"email":"a@b.example","password":"`+runCanaryPassword+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+runCanaryBearer)
		req.Header.Set("Cookie", "__Host-refresh="+runCanaryCookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assertNoRunCanary(t, "response to "+path, string(body))
	}
}

func TestCanarySecretsNeverInOutput(t *testing.T) {
	env := runCanaryEnviron(t)
	l, out, stop := startRun(t, env)
	sendCanaryRequests(t, "http://"+l.Addr)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	assertNoRunCanary(t, "server output", out.String())

	var check, checkErr bytes.Buffer
	_ = run(t.Context(), []string{"rampart", "config", "check"}, env, &check, &checkErr)
	assertNoRunCanary(t, "config check", check.String()+checkErr.String())
	if !strings.Contains(check.String(), "RAMPART_MASTER_KEY") {
		t.Errorf("config check does not list the master key setting:\n%s", check.String())
	}
}

// releaseBuild is the README's static release build (after "go build").
var releaseBuild = []string{"-trimpath", "-ldflags=-s -w"}

// buildBinary compiles the real rampart binary once per test run, as a
// release is built: CGO_ENABLED=0 and releaseBuild, with the revision
// recorded where the source is a checkout.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "rampart-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "rampart")
	cmd := exec.Command("go", append(append([]string{"build"}, releaseBuild...), "-buildvcs=auto", "-o", bin, ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// TestBinaryCanaryAndGracefulStop starts the compiled binary, sends it the
// canaries, stops it with SIGTERM and checks that it drained and exited 0
// without printing any secret.
func TestBinaryCanaryAndGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	out := &testutil.SyncBuffer{}
	cmd := exec.Command(bin)
	cmd.Env = runCanaryEnviron(t)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	l := waitListening(t, out, done)
	sendCanaryRequests(t, "http://"+l.Addr)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, out)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
	assertNoRunCanary(t, "binary output", out.String())
}

func postJSON(t *testing.T, url, bearer, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// kidOf returns the kid in a JWT's header.
func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	header, _, _ := strings.Cut(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// TestKeysRotateLogsNobodyOut rotates the signing key with the command
// while a token signed by the old key is in use, then starts another
// replica on the same store: the old token still works there, new tokens
// carry the new key, and the JWKS publishes both.
func TestKeysRotateLogsNobodyOut(t *testing.T) {
	env := testEnviron(t)
	l, _, stop := startRun(t, env)
	base := "http://" + l.Addr
	const signup = `{"email":"rot@example.com","password":"a long and unusual passphrase 42","displayName":"Rot","organization":"Rotating"}`
	if code, body := postJSON(t, base+"/v1/signup", "", signup); code != 201 {
		t.Fatalf("signup: %d %s", code, body)
	}
	login := func(base string) string {
		code, body := postJSON(t, base+"/v1/auth/login", "", `{"email":"rot@example.com","password":"a long and unusual passphrase 42"}`)
		var tok struct {
			AccessToken string `json:"accessToken"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &tok) != nil {
			t.Fatalf("login: %d %s", code, body)
		}
		return tok.AccessToken
	}
	old := login(base)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "keys", "rotate"}, env, &out, &errOut); err != nil {
		t.Fatalf("keys rotate: %v %s", err, errOut.String())
	}

	l2, _, _ := startRun(t, env)
	base2 := "http://" + l2.Addr
	if code, body := get(t, base2+"/v1/me", "Authorization", "Bearer "+old); code != 200 {
		t.Fatalf("a token signed before the rotation: %d %s", code, body)
	}
	fresh := login(base2)
	if kidOf(t, fresh) == kidOf(t, old) {
		t.Error("new tokens still use the old key")
	}
	_, jwks := get(t, base2+"/.well-known/jwks.json")
	if !strings.Contains(jwks, kidOf(t, old)) || !strings.Contains(jwks, kidOf(t, fresh)) || strings.Contains(jwks, `"d"`) {
		t.Errorf("jwks: %s", jwks)
	}
}

// TestAuditlogVerifyFindsTampering signs up (which writes audit events),
// verifies the chains, edits one stored event behind the server's back,
// and expects the command to fail naming that event.
func TestAuditlogVerifyFindsTampering(t *testing.T) {
	env := testEnviron(t)
	l, _, stop := startRun(t, env)
	const signup = `{"email":"audit@example.com","password":"a long and unusual passphrase 42","displayName":"Au","organization":"Audited"}`
	if code, body := postJSON(t, "http://"+l.Addr+"/v1/signup", "", signup); code != 201 {
		t.Fatalf("signup: %d %s", code, body)
	}
	if code, body := postJSON(t, "http://"+l.Addr+"/v1/auth/login", "", `{"email":"audit@example.com","password":"a long and unusual passphrase 42"}`); code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "auditlog", "verify"}, env, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "2 events, head seq 2") {
		t.Fatalf("intact chain: %v\n%s%s", err, out.String(), errOut.String())
	}

	var dbPath string
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "RAMPART_DATABASE_URL=sqlite:"); ok {
			dbPath = p
		}
	}
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE audit_events SET source_ip = '203.0.113.66' WHERE seq = 1"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(t.Context(), []string{"rampart", "auditlog", "verify"}, env, &out, &errOut)
	if !errors.Is(err, errChainBroken) || !strings.Contains(out.String(), "BROKEN") || !strings.Contains(out.String(), "at seq 1") {
		t.Fatalf("tampered chain: %v\n%s", err, out.String())
	}
}

// TestWrongMasterKeyIsNamed: a database whose signing keys were sealed under
// another master key is refused with a message that names the variable and
// the likely cause, not a cipher error.
func TestWrongMasterKeyIsNamed(t *testing.T) {
	env := testEnviron(t)
	var out bytes.Buffer
	for _, cmd := range [][]string{{"rampart", "migrate", "up"}, {"rampart", "keys", "rotate"}} {
		if err := run(t.Context(), cmd, env, &out, &out); err != nil {
			t.Fatalf("%v with the first key: %v\n%s", cmd[1:], err, &out)
		}
	}
	other := slices.Clone(env)
	for i, kv := range other {
		if strings.HasPrefix(kv, "RAMPART_MASTER_KEY=") {
			other[i] = "RAMPART_MASTER_KEY=" + base64.StdEncoding.EncodeToString(randomBytes(t, 32))
		}
	}
	for _, cmd := range [][]string{{"rampart", "keys", "rotate"}, {"rampart", "serve"}} {
		out.Reset()
		err := run(t.Context(), cmd, other, &out, &out)
		said := out.String()
		if err != nil && !errors.Is(err, errReported) {
			said += err.Error()
		}
		if err == nil || !strings.Contains(said, "RAMPART_MASTER_KEY does not open the signing keys sealed in this database") {
			t.Errorf("%v with another master key: %v\n%s", cmd[1:], err, said)
		}
		if strings.Contains(said, "seal:") || strings.Contains(said, "authentication failed") {
			t.Errorf("%v shows a cipher error:\n%s", cmd[1:], said)
		}
	}
}

// TestReleaseBinaryIsStatic: the release build is one static executable
// (no ELF interpreter, no shared libraries: it runs on distroless/static
// or scratch), and `rampart version` in it says which source it is.
func TestReleaseBinaryIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("not an ELF executable (this test needs Linux): %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader (PT_INTERP): it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath=true"} {
		found := false
		for _, s := range info.Settings {
			found = found || s.Key+"="+s.Value == want
		}
		if !found {
			t.Errorf("build settings lack %s: %v", want, info.Settings)
		}
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "rampart ") || !strings.HasPrefix(lines[1], "revision ") ||
		!strings.HasSuffix(lines[2], "CGO_ENABLED=0") {
		t.Errorf("version:\n%s", out)
	}
	if _, err := os.Stat("../../.git"); err == nil && strings.Contains(lines[1], "unknown") {
		t.Errorf("built from a checkout, but version does not name the revision:\n%s", out)
	}
}

// TestIdentitySettingsReachTheServer: RAMPART_REFRESH_REUSE_GRACE and
// RAMPART_STEP_UP_MAX_AGE are what the running server applies, not only
// what `config check` shows.
func TestIdentitySettingsReachTheServer(t *testing.T) {
	l, _, _ := startRun(t, testEnviron(t, "RAMPART_REFRESH_REUSE_GRACE=60s", "RAMPART_STEP_UP_MAX_AGE=1s"))
	base := "http://" + l.Addr
	const signup = `{"email":"cfg@example.com","password":"a long and unusual passphrase 42","displayName":"Cfg","organization":"Configured"}`
	if code, body := postJSON(t, base+"/v1/signup", "", signup); code != 201 {
		t.Fatalf("signup: %d %s", code, body)
	}
	type pair struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	var first, second pair
	code, body := postJSON(t, base+"/v1/auth/login", "", `{"email":"cfg@example.com","password":"a long and unusual passphrase 42"}`)
	if code != 200 || json.Unmarshal([]byte(body), &first) != nil {
		t.Fatalf("login: %d %s", code, body)
	}
	code, body = postJSON(t, base+"/v1/auth/refresh", "", `{"refreshToken":"`+first.RefreshToken+`"}`)
	if code != 200 || json.Unmarshal([]byte(body), &second) != nil {
		t.Fatalf("refresh: %d %s", code, body)
	}
	// The grace spares the previous token: refused, but not as a reuse.
	code, body = postJSON(t, base+"/v1/auth/refresh", "", `{"refreshToken":"`+first.RefreshToken+`"}`)
	if code != 401 || !strings.Contains(body, "/invalid-token") {
		t.Errorf("the previous token within a 60s grace: %d %s", code, body)
	}
	// Not a bound on how long anything takes: after two seconds the sign-in
	// is older than the 1s maximum however slow the machine is.
	time.Sleep(2 * time.Second)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/me/mfa/totp", nil)
	req.Header.Set("Authorization", "Bearer "+second.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := `Bearer error="insufficient_user_authentication", max_age=1`; resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Errorf("step-up after 2s with a 1s maximum: %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
}
