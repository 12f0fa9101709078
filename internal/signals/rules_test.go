package signals

import (
	"strings"
	"testing"
	"time"
)

func TestParseRule(t *testing.T) {
	good := map[string]Rule{
		"10/5m":     {Threshold: 10, Window: 5 * time.Minute},
		" 1/1s ":    {Threshold: 1, Window: time.Second},
		"10000/24h": {Threshold: 10000, Window: 24 * time.Hour},
		"off":       {Off: true},
	}
	for in, want := range good {
		got, err := ParseRule(in)
		if err != nil || got.Threshold != want.Threshold || got.Window != want.Window || got.Off != want.Off {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "0/1m", "-1/1m", "10001/1m", "10/0s", "10/500ms", "10/25h", "x/1m", "10/x", "OFF", "10/5m/1"} {
		if _, err := ParseRule(in); err == nil {
			t.Errorf("ParseRule(%q) accepted", in)
		}
	}
}

func TestRulesFromEnv(t *testing.T) {
	env := map[string]string{
		"RAMPART_ALERT_CREDENTIAL_STUFFING": "3/1m",
		"RAMPART_ALERT_REFRESH_REUSE":       "off",
		"RAMPART_ALERT_LOCKOUT_STORM":       "",
	}
	rules, err := RulesFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Rule{}
	for _, r := range rules {
		byName[r.Name] = r
	}
	if s := byName["credential_stuffing"].Setting(); s != "3/1m0s" {
		t.Errorf("credential_stuffing = %s", s)
	}
	if !byName["refresh_reuse"].Off || byName["lockout_storm"].Setting() != "20/5m0s" {
		t.Errorf("off or default not kept: %+v %+v", byName["refresh_reuse"], byName["lockout_storm"])
	}
	env["RAMPART_ALERT_PASSWORD_SPRAYING"] = "many"
	env["RAMPART_ALERT_EGRESS_REFUSED"] = "0/1m"
	_, err = RulesFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil || !strings.Contains(err.Error(), "RAMPART_ALERT_PASSWORD_SPRAYING") || !strings.Contains(err.Error(), "RAMPART_ALERT_EGRESS_REFUSED") {
		t.Fatalf("bad settings: %v", err)
	}
}

func TestDefaultRulesAreComplete(t *testing.T) {
	names := map[string]bool{}
	for i, r := range DefaultRules() {
		if names[r.Name] || r.Threshold < 1 || r.Window < minWindow || len(r.Events) == 0 || r.Meaning == "" {
			t.Errorf("rule %d %+v", i, r)
		}
		names[r.Name] = true
	}
	for _, n := range []string{"credential_stuffing", "password_spraying", "unauthorized_spike", "forbidden_spike",
		"validation_burst", "refresh_failures", "refresh_reuse", "lockout_storm", "egress_refused",
		"tenant_sign_in_failures", "tenant_forbidden_sweep", "unauthorized_surge", "forbidden_surge"} {
		if !names[n] {
			t.Errorf("no rule %s", n)
		}
	}
}
