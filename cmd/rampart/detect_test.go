package main

import (
	"encoding/json/v2"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/signals"
)

// TestAttackRaisesASignedAlert replays an attack (forged bearer tokens from
// one source) against the real binary, with the unauthorized_spike rule set
// to 5 a minute: the webhook receives the alert, signed so that the
// receiver can verify it, through the egress allowlist that the webhook's
// URL opened.
func TestAttackRaisesASignedAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	const secret = "a webhook secret of some length"
	alerts := make(chan signals.Alert, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := signals.VerifySignature([]byte(secret), r.Header.Get(signals.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("the alert's signature does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var a signals.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("alert body %s: %v", body, err)
		}
		alerts <- a
	}))
	defer receiver.Close()

	l, out, _, _ := startBinary(t, testEnviron(t, "RAMPART_ALERT_UNAUTHORIZED_SPIKE=5/1m",
		"RAMPART_ALERT_WEBHOOK_URL="+receiver.URL+"/alerts", "RAMPART_ALERT_WEBHOOK_SECRET="+secret))
	forged := "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	attack := func(n int) {
		for range n {
			if code, _ := get(t, "http://"+l.Addr+"/v1/me", "Authorization", "Bearer "+forged); code != http.StatusUnauthorized {
				t.Fatalf("forged token: %d", code)
			}
		}
	}
	// Thresholds and cool-downs are tested exactly in internal/signals, on
	// a clock of their own; this proves the wiring: the edge's events reach
	// the detector, its alert reaches the webhook, signed.
	attack(6)
	select {
	case a := <-alerts:
		if a.Rule != "unauthorized_spike" || a.Subject != "127.0.0.1" || a.Threshold != 5 || a.Count < 5 {
			t.Errorf("alert %+v, want unauthorized_spike for 127.0.0.1 at 5", a)
		}
	case <-time.After(10 * time.Second): // only against a hang
		t.Fatalf("no alert reached the webhook\n%s", out)
	}
	if got := metricValue(t, "http://"+l.AdminAddr+"/metrics", `rampart_alerts_total{rule="unauthorized_spike"}`); got != 1 {
		t.Errorf("rampart_alerts_total for unauthorized_spike = %v, want 1", got)
	}
	if !strings.Contains(out.String(), `"msg":"security alert"`) || strings.Contains(out.String(), secret) {
		t.Errorf("the log has no alert line, or shows the webhook secret:\n%s", out)
	}
}

// metricValue reads one series from a /metrics page; -1 when it is absent.
func metricValue(t *testing.T, metricsURL, series string) float64 {
	t.Helper()
	_, body := get(t, metricsURL)
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if err := json.Unmarshal([]byte(strings.TrimSpace(v)), &f); err != nil {
				t.Fatalf("%s: %q", series, line)
			}
			return f
		}
	}
	return -1
}

// TestAlertWebhookSettings: the URL and its secret go together (an unsigned
// alert could be forged by anyone who can reach the receiver), production
// sends alerts only over https, no error repeats the URL (it may carry a
// token), and the webhook's host alone is added to the outbound allowlist.
func TestAlertWebhookSettings(t *testing.T) {
	const tokenInURL = "canary-url-token-5b1f"
	url := "https://hooks.example/alerts?token=" + tokenInURL
	for _, tt := range []struct {
		name string
		env  []string
		want string // "" for no problem
	}{
		{"URL without secret", []string{"RAMPART_ALERT_WEBHOOK_URL=" + url}, "RAMPART_ALERT_WEBHOOK_SECRET"},
		{"secret without URL", []string{"RAMPART_ALERT_WEBHOOK_SECRET=0123456789abcdef"}, "RAMPART_ALERT_WEBHOOK_SECRET"},
		{"short secret", []string{"RAMPART_ALERT_WEBHOOK_URL=" + url, "RAMPART_ALERT_WEBHOOK_SECRET=short"}, "at least 16 bytes"},
		{"not a URL", []string{"RAMPART_ALERT_WEBHOOK_URL=hooks.example/" + tokenInURL, "RAMPART_ALERT_WEBHOOK_SECRET=0123456789abcdef"}, "absolute http or https URL"},
		{"both", []string{"RAMPART_ALERT_WEBHOOK_URL=" + url, "RAMPART_ALERT_WEBHOOK_SECRET=0123456789abcdef"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, tt.env...)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				rules, err := egressRules(cfg)
				if err != nil || joinRules(rules) != "hooks.example:443" {
					t.Errorf("allowlist %q (%v), want the webhook's host only", joinRules(rules), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tokenInURL) {
				t.Errorf("got %v, want a problem naming %q and not the URL", err, tt.want)
			}
		})
	}
	env := safeProduction()
	env["RAMPART_ALERT_WEBHOOK_URL"] = "http://hooks.example/alerts"
	env["RAMPART_ALERT_WEBHOOK_SECRET"] = "0123456789abcdef"
	if _, err := loadConfig(environ(env)); err == nil || !strings.Contains(err.Error(), "must be https in production") {
		t.Errorf("production with an http webhook: %v", err)
	}
}
