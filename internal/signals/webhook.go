package signals

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SignatureHeader carries the webhook signature:
//
//	Rampart-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// A receiver recomputes the HMAC over the timestamp, a dot and the raw
// body, compares in constant time, and refuses a timestamp more than five
// minutes from its own clock (a replay); VerifySignature does all three.
const SignatureHeader = "Rampart-Signature"

// Defaults of WebhookConfig.
const (
	DefaultWebhookQueue    = 256
	DefaultWebhookAttempts = 5
	DefaultWebhookBackoff  = time.Second
	maxWebhookBackoff      = time.Minute
)

// WebhookConfig configures alert delivery to a webhook.
type WebhookConfig struct {
	URL    string
	Secret []byte // signs every delivery; at least 16 bytes
	// Client sends the requests. Inject the one whose dialer enforces the
	// egress allowlist; nil: a client with a 10 s timeout.
	Client      *http.Client
	QueueSize   int           // alerts waiting; more are dropped and counted. 0: DefaultWebhookQueue
	MaxAttempts int           // tries per alert before giving up (counted). 0: DefaultWebhookAttempts
	Backoff     time.Duration // wait before the first retry, doubled each time up to a minute. 0: DefaultWebhookBackoff
	// Sleep waits d or until ctx ends; nil: a timer. Tests inject one that
	// records the waits instead of taking them.
	Sleep func(ctx context.Context, d time.Duration) error
}

type webhook struct {
	cfg        WebhookConfig
	now        func() time.Time
	log        *slog.Logger
	queue      chan Alert
	deliveries *prometheus.CounterVec
	gaveUp     func(Alert) // nil: nothing more than the log line and the count
}

func newWebhook(cfg WebhookConfig, now func() time.Time, log *slog.Logger, gaveUp func(Alert)) (*webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("signals: webhook URL must be an absolute http(s) URL") // never echo it: it may hold a token
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("signals: webhook secret must be at least 16 bytes")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultWebhookQueue
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultWebhookAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultWebhookBackoff
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	w := &webhook{cfg: cfg, now: now, log: log, gaveUp: gaveUp, queue: make(chan Alert, cfg.QueueSize),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "rampart", Name: "alert_webhook_deliveries_total",
			Help: "Alert webhook outcomes: delivered, retried (one per failed attempt that is tried again), failed (given up), dropped (queue full).",
		}, []string{"result"})}
	for _, r := range []string{"delivered", "retried", "failed", "dropped"} {
		w.deliveries.WithLabelValues(r)
	}
	return w, nil
}

// enqueue never blocks: a full queue drops the alert, counted (the log line
// and the metric of the alert are already out).
func (w *webhook) enqueue(a Alert) {
	select {
	case w.queue <- a:
	default:
		w.deliveries.WithLabelValues("dropped").Inc()
	}
}

func (w *webhook) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-w.queue:
			w.deliver(ctx, a)
		}
	}
}

// deliver tries a up to MaxAttempts times with exponential backoff.
func (w *webhook) deliver(ctx context.Context, a Alert) {
	body, err := json.Marshal(a)
	if err != nil {
		w.giveUp(a, 0, err)
		return
	}
	wait := w.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, body)
		if err == nil {
			w.deliveries.WithLabelValues("delivered").Inc()
			return
		}
		if attempt >= w.cfg.MaxAttempts || ctx.Err() != nil {
			w.giveUp(a, attempt, err)
			return
		}
		w.deliveries.WithLabelValues("retried").Inc()
		if err := w.cfg.Sleep(ctx, wait); err != nil {
			w.giveUp(a, attempt, err)
			return
		}
		wait = min(2*wait, maxWebhookBackoff)
	}
}

func (w *webhook) giveUp(a Alert, attempts int, err error) {
	w.deliveries.WithLabelValues("failed").Inc()
	w.log.Error("alert webhook given up", "rule", a.Rule, "attempts", attempts, "error", err.Error())
	if w.gaveUp != nil {
		w.gaveUp(a)
	}
}

// post sends one signed attempt, signed afresh so a retry is not refused
// as a replay. Its errors never carry the URL, which may hold a token.
func (w *webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.cfg.Secret, w.now(), body))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("transport: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Sign is the SignatureHeader value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of VerifySignature.
var (
	ErrSignatureMalformed = errors.New("signature header malformed")
	ErrSignatureStale     = errors.New("signature timestamp outside tolerance")
	ErrSignatureMismatch  = errors.New("signature does not match")
)

// VerifySignature checks a SignatureHeader value against body: the
// timestamp must be within tolerance of now (either way: an old one is a
// replay), and some v1 value must be the HMAC of "<t>.<body>" under secret.
// Receivers use it with tolerance 5 minutes.
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			s, err := hex.DecodeString(v)
			if err != nil {
				return ErrSignatureMalformed
			}
			sigs = append(sigs, s)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return ErrSignatureStale
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}
