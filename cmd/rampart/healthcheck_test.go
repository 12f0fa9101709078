package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestHealthzURL(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"", "http://127.0.0.1:8080/healthz"},
		{":8080", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:9000", "http://127.0.0.1:9000/healthz"},
		{"10.0.1.11:8080", "http://10.0.1.11:8080/healthz"},
		{"[::1]:8080", "http://[::1]:8080/healthz"},
	} {
		got, err := healthzURL(tc.addr)
		if err != nil || got != tc.want {
			t.Errorf("healthzURL(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
		}
	}
	for _, bad := range []string{"127.0.0.1:0", "8080", "127.0.0.1:http"} {
		if got, err := healthzURL(bad); err == nil {
			t.Errorf("healthzURL(%q) = %q, want an error", bad, got)
		}
	}
}

// TestHealthcheckCommand runs the subcommand against a stand-in server:
// it must probe /healthz on the port of RAMPART_ADDR and exit non-zero for
// anything but 200 and for a port nobody listens on.
func TestHealthcheckCommand(t *testing.T) {
	var status atomic.Int32
	var paths atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths.Store(r.Method + " " + r.URL.Path)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	environ := []string{"RAMPART_ADDR=:" + port}

	check := func() error {
		var out, errOut bytes.Buffer
		return run(context.Background(), []string{"rampart", "healthcheck"}, environ, &out, &errOut)
	}
	status.Store(200)
	if err := check(); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	if got := paths.Load(); got != "GET /healthz" {
		t.Fatalf("probe sent %v, want GET /healthz", got)
	}
	status.Store(503)
	if err := check(); err == nil || exitCode(err) != 1 {
		t.Fatalf("503 from the server: err = %v, want exit code 1", err)
	}

	srv.Close()
	var errOut bytes.Buffer
	err := run(context.Background(), []string{"rampart", "healthcheck"}, environ, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(errOut.String(), "/healthz") {
		t.Fatalf("closed port: err = %v, stderr %q; want a failure naming the URL", err, errOut.String())
	}
}

// TestHealthcheckAgainstServer probes the real server started by run.
func TestHealthcheckAgainstServer(t *testing.T) {
	env := testEnviron(t)
	l, _, _ := startRun(t, env)
	var out, errOut bytes.Buffer
	probeEnv := append(env, "RAMPART_ADDR="+l.Addr)
	if err := run(context.Background(), []string{"rampart", "healthcheck"}, probeEnv, &out, &errOut); err != nil {
		t.Fatalf("healthcheck against the running server: %v (%s)", err, errOut.String())
	}
}
