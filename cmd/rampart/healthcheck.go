package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// healthcheckTimeout bounds the whole probe, so a hung server fails the
// container's HEALTHCHECK instead of stalling it.
const healthcheckTimeout = 3 * time.Second

// healthcheck is for a container HEALTHCHECK in an image without a shell or
// curl: it asks this container's own server for /healthz and succeeds only
// on 200. It reads RAMPART_ADDR alone (not the whole configuration), so it
// needs no secrets and cannot fail on them.
func healthcheck(ctx context.Context, environ []string, stdout, stderr io.Writer) error {
	url, err := healthzURL(lookupEnv(environ, "RAMPART_ADDR"))
	if err != nil {
		fmt.Fprintf(stderr, "rampart healthcheck: %v\n", err)
		return errReported
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "rampart healthcheck: %v\n", err)
		return errReported
	}
	// No proxy from the environment: the probe must reach this server.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "rampart healthcheck: %s: %v\n", url, err)
		return errReported
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "rampart healthcheck: %s: %s\n", url, resp.Status)
		return errReported
	}
	fmt.Fprintf(stdout, "ok %s\n", url)
	return nil
}

// healthzURL turns the listen address into the URL to probe: an unspecified
// host (":8080", "0.0.0.0:8080", "[::]:8080") is probed on 127.0.0.1, a
// specific one on itself. An empty address is the server's default.
func healthzURL(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	host, port, ok := splitListenAddr(addr)
	if !ok || port == 0 {
		return "", fmt.Errorf("RAMPART_ADDR %q: need HOST:PORT with a fixed port", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/healthz", nil
}

// lookupEnv returns the last value of name in environ, as os.Getenv would.
func lookupEnv(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}
