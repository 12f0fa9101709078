package signals

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var secret = []byte("CANARY-SECRET-webhook-7f3a9c")

// receiver is a webhook endpoint as its documentation tells an operator to
// write one: verify the signature, refuse a replay older than 5 minutes.
type receiver struct {
	mu     sync.Mutex
	now    func() time.Time
	got    []string
	failed []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := VerifySignature(secret, r.Header.Get(SignatureHeader), body, rc.now(), 5*time.Minute); err != nil {
		rc.failed = append(rc.failed, err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.got = append(rc.got, string(body))
}

func webhookHarness(t *testing.T, url string, cfg WebhookConfig) *harness {
	cfg.URL, cfg.Secret = url, secret
	var h *harness
	h = newHarness(t, Config{Webhook: &cfg, OnDeliveryFailure: func(a Alert) { h.gaveUp = append(h.gaveUp, a) }})
	return h
}

// drain delivers what the queue holds, on the test's goroutine.
func (h *harness) drain() {
	for {
		select {
		case a := <-h.d.webhook.queue:
			h.d.webhook.deliver(context.Background(), a)
		default:
			return
		}
	}
}

func TestWebhookIsSignedAndReceiverRefusesReplays(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	// One attempt: a refused signature fails at once, not after real backoff.
	h := webhookHarness(t, srv.URL, WebhookConfig{MaxAttempts: 1})
	rc.now = h.clock.Now

	h.observe(attack("refresh_reuse", 0))
	h.drain()
	if len(rc.got) != 1 || len(rc.failed) != 0 || !strings.Contains(rc.got[0], `"rule":"refresh_reuse"`) {
		t.Fatalf("receiver got %q, refused %v", rc.got, rc.failed)
	}
	if got := counter(t, h.reg, "rampart_alert_webhook_deliveries_total", "result", "delivered"); got != 1 {
		t.Fatalf("delivered = %v", got)
	}

	// A captured delivery sent again: accepted within the tolerance (the
	// receiver dedupes by its own means), refused once it is older.
	body := []byte(rc.got[0])
	header := Sign(secret, h.clock.Now().Add(-time.Second), body)
	resend := func() int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set(SignatureHeader, header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	h.clock.Advance(5*time.Minute + 2*time.Second)
	if code := resend(); code != http.StatusUnauthorized || !errors.Is(rc.failed[len(rc.failed)-1], ErrSignatureStale) {
		t.Fatalf("replay after 5 min answered %d, errors %v", code, rc.failed)
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"rule":"refresh_reuse"}`)
	good := Sign(secret, now, body)
	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", secret, good, body, now, nil},
		{"valid with a second v1 (secret rotation)", secret, "v1=00ff," + good, body, now, nil},
		{"body changed", secret, good, []byte(`{"rule":"other"}`), now, ErrSignatureMismatch},
		{"other secret", []byte("another-secret-of-16"), good, body, now, ErrSignatureMismatch},
		{"timestamp changed", secret, strings.Replace(good, "t=1800000000", "t=1800000001", 1), body, now, ErrSignatureMismatch},
		{"too old", secret, good, body, now.Add(5*time.Minute + time.Second), ErrSignatureStale},
		{"from the future", secret, good, body, now.Add(-5*time.Minute - time.Second), ErrSignatureStale},
		{"no v1", secret, "t=1800000000", body, now, ErrSignatureMalformed},
		{"no t", secret, good[strings.Index(good, "v1="):], body, now, ErrSignatureMalformed},
		{"not hex", secret, "t=1800000000,v1=zz", body, now, ErrSignatureMalformed},
		{"empty", secret, "", body, now, ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifySignature(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWebhookRetriesWithBackoffThenGivesUp(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var waits []time.Duration
	h := webhookHarness(t, srv.URL, WebhookConfig{MaxAttempts: 4, Backoff: time.Second,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }})

	h.observe(attack("egress_refused", 0))
	h.drain()
	if hits != 4 || len(waits) != 3 || waits[0] != time.Second || waits[1] != 2*time.Second || waits[2] != 4*time.Second {
		t.Fatalf("%d attempts with waits %v, want 4 with 1s 2s 4s", hits, waits)
	}
	for result, want := range map[string]float64{"failed": 1, "retried": 3, "delivered": 0} {
		if got := counter(t, h.reg, "rampart_alert_webhook_deliveries_total", "result", result); got != want {
			t.Errorf("%s = %v, want %v", result, got, want)
		}
	}
	if len(h.gaveUp) != 1 || h.gaveUp[0].Rule != "egress_refused" {
		t.Fatalf("OnDeliveryFailure got %+v", h.gaveUp)
	}
	if !strings.Contains(h.logs.String(), `"msg":"alert webhook given up"`) {
		t.Fatalf("give-up not logged: %s", h.logs)
	}
}

func TestWebhookRecoversWithinItsAttempts(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits++; hits < 3 {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	h := webhookHarness(t, srv.URL, WebhookConfig{Sleep: func(context.Context, time.Duration) error { return nil }})
	h.observe(attack("egress_refused", 0))
	h.drain()
	if hits != 3 || counter(t, h.reg, "rampart_alert_webhook_deliveries_total", "result", "delivered") != 1 {
		t.Fatalf("%d attempts; want delivered on the third", hits)
	}
}

// Nothing drains the queue here: Observe must still return, and what does
// not fit is dropped and counted, not waited for.
func TestWebhookQueueDropsWhenFullInsteadOfBlocking(t *testing.T) {
	h := webhookHarness(t, "http://127.0.0.1:1/hook", WebhookConfig{QueueSize: 2})
	for i := range 5 {
		e := attack("refresh_reuse", 0)
		e.AccountID = ""
		e.Source = ip("192.0.2." + string(rune('1'+i)))
		h.observe(e)
	}
	if len(h.alerts) != 5 || len(h.d.webhook.queue) != 2 {
		t.Fatalf("%d alerts, %d queued; want 5 and 2", len(h.alerts), len(h.d.webhook.queue))
	}
	if got := counter(t, h.reg, "rampart_alert_webhook_deliveries_total", "result", "dropped"); got != 3 {
		t.Fatalf("dropped = %v, want 3", got)
	}
}

// The webhook URL may hold a token and the secret signs: neither reaches
// the log or an error, even when delivery fails at the transport.
func TestWebhookNeverLogsURLOrSecret(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=CANARY-TOKEN-url"
	srv.Close() // connections are now refused
	h := webhookHarness(t, url, WebhookConfig{MaxAttempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }})
	h.observe(attack("egress_refused", 0))
	h.drain()
	if counter(t, h.reg, "rampart_alert_webhook_deliveries_total", "result", "failed") != 1 {
		t.Fatal("transport failure not counted")
	}
	for _, canary := range []string{"CANARY-TOKEN-url", string(secret)} {
		if strings.Contains(h.logs.String(), canary) {
			t.Fatalf("log holds %q: %s", canary, h.logs)
		}
	}
	_, err := New(Config{Webhook: &WebhookConfig{URL: "ftp://x/?token=CANARY-TOKEN-url", Secret: secret}})
	if err == nil || strings.Contains(err.Error(), "CANARY") {
		t.Fatalf("bad URL: %v", err)
	}
	if _, err := New(Config{Webhook: &WebhookConfig{URL: "https://x/", Secret: []byte("short")}}); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

// Run delivers from the queue on its own goroutine until its context ends.
func TestRunDeliversQueuedAlerts(t *testing.T) {
	got := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- struct{}{} }))
	defer srv.Close()
	h := webhookHarness(t, srv.URL, WebhookConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.d.Run(ctx); close(done) }()
	h.observe(attack("refresh_reuse", 0))
	<-got
	cancel()
	<-done
}
