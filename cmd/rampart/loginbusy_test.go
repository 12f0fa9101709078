package main

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestLoginFloodIsRefusedAtOnce: more concurrent logins than hash slots plus
// queue places get 503 + Retry-After (not a pile-up, not a 500), known and
// unknown emails alike, and the others still succeed or fail as they
// should.
func TestLoginFloodIsRefusedAtOnce(t *testing.T) {
	l, _, stop := startRun(t, testEnviron(t, "RAMPART_RATE_AUTH=100000/1m"))
	defer stop()
	base := "http://" + l.Addr
	email := uniqueEmail("flood")
	if r := do(t, http.MethodPost, base+"/v1/signup", signupBody(email), ""); r.code != http.StatusCreated {
		t.Fatalf("signup: %d %s", r.code, r.body)
	}

	capacity := runtime.GOMAXPROCS(0) * 17 // hash slots + queue, as wired in internal/app
	n := 3 * capacity
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			who := email
			if i%2 == 1 {
				who = uniqueEmail("nobody")
			}
			results[i] = do(t, http.MethodPost, base+"/v1/auth/login", map[string]string{"email": who, "password": testPassphrase}, "")
		})
	}
	wg.Wait()

	var refused, ok, unauthorized int
	busyBody := map[bool]string{}
	for i, r := range results {
		known := i%2 == 0
		switch {
		case r.code == http.StatusServiceUnavailable:
			refused++
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("503 with Retry-After %q", r.header.Get("Retry-After"))
			}
			if !strings.Contains(r.body, `"type":"https://rampart.dev/problems/busy","title":"Server busy"`) {
				t.Errorf("503 is not the busy problem: %s", r.body)
			}
			busyBody[known] = r.body
		case r.code == http.StatusOK && known:
			ok++
		case r.code == http.StatusUnauthorized && !known:
			unauthorized++
		default:
			t.Errorf("login %d (known email %v): %d %s", i, known, r.code, r.body)
		}
	}
	t.Logf("%d logins at once: %d refused, %d succeeded, %d unknown-email 401s", n, refused, ok, unauthorized)
	if refused == 0 {
		t.Errorf("%d concurrent logins with room for %d: none refused", n, capacity)
	}
	if ok == 0 {
		t.Error("no login succeeded")
	}
	if a, b := scrubRequestID(busyBody[true]), scrubRequestID(busyBody[false]); a != "" && b != "" && a != b {
		t.Errorf("503 bodies differ for known and unknown emails:\n%s\n%s", a, b)
	}
}

// scrubRequestID drops the per-request "requestId" member, the one part of
// a problem body that differs by design.
func scrubRequestID(body string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return body
	}
	delete(m, "requestId")
	b, _ := json.Marshal(m)
	return string(b)
}
