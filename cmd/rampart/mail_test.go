package main

import (
	"bytes"
	"maps"
	"strings"
	"testing"
)

const canarySMTPPassword = "canary-smtp-pass-0c4d"

// TestMailSettings: SMTP can only be configured safely, its errors never
// repeat the URL, and what goes together is demanded together.
func TestMailSettings(t *testing.T) {
	smtp := "RAMPART_SMTP_URL=smtp://rampart:" + canarySMTPPassword + "@mail.example.com"
	for _, tt := range []struct {
		name string
		prod bool
		env  map[string]string
		want string // the variable named by the problem; "" for none
	}{
		{"smtp with from", false, kv(smtp, "RAMPART_MAIL_FROM=Rampart <no-reply@example.com>"), ""},
		{"smtp without from", false, kv(smtp), "RAMPART_MAIL_FROM"},
		{"not smtp", false, kv("RAMPART_SMTP_URL=http://rampart:"+canarySMTPPassword+"@mail.example.com", "RAMPART_MAIL_FROM=a@example.com"), "RAMPART_SMTP_URL"},
		{"a query asking for less", false, kv(smtp+"?tls=off", "RAMPART_MAIL_FROM=a@example.com"), "RAMPART_SMTP_URL"},
		{"from with a header", false, kv("RAMPART_MAIL_FROM=a@example.com\r\nBcc: eve@example.com"), "RAMPART_MAIL_FROM"},
		{"two froms", false, kv("RAMPART_MAIL_FROM=a@example.com, b@example.com"), "RAMPART_MAIL_FROM"},
		{"public url with a query", false, kv("RAMPART_PUBLIC_URL=https://id.example.com/?x=1"), "RAMPART_PUBLIC_URL"},
		{"production: smtp, from, https", true, kv(smtp, "RAMPART_MAIL_FROM=a@example.com", "RAMPART_PUBLIC_URL=https://id.example.com"), ""},
		{"production: smtps", true, kv("RAMPART_SMTP_URL=smtps://u:"+canarySMTPPassword+"@mail.example.com", "RAMPART_MAIL_FROM=a@example.com", "RAMPART_PUBLIC_URL=https://id.example.com"), ""},
		{"production: no public url", true, kv(smtp, "RAMPART_MAIL_FROM=a@example.com"), "RAMPART_PUBLIC_URL"},
		{"production: http public url", true, kv(smtp, "RAMPART_MAIL_FROM=a@example.com", "RAMPART_PUBLIC_URL=http://id.example.com"), "RAMPART_PUBLIC_URL"},
		{"production: no smtp at all", true, kv(), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": "/home/tester"}
			if tt.prod {
				env = safeProduction()
			}
			maps.Copy(env, tt.env)
			_, err := loadConfig(environ(env))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want+":")):
				t.Fatalf("want a problem naming %s, got %v", tt.want, err)
			case err != nil && strings.Contains(err.Error(), canarySMTPPassword):
				t.Fatalf("the error repeats the password: %v", err)
			}
		})
	}
}

func kv(pairs ...string) map[string]string {
	m := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return m
}

// TestConfigCheckShowsTheMailMode: where mail goes, never the password; the
// SMTP host is allowed outbound.
func TestConfigCheckShowsTheMailMode(t *testing.T) {
	var out, errOut bytes.Buffer
	env := []string{"HOME=/home/tester", "RAMPART_SMTP_URL=smtp://rampart:" + canarySMTPPassword + "@mail.example.com",
		"RAMPART_MAIL_FROM=no-reply@example.com"}
	if err := configCheck(env, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "\nmail: smtp mail.example.com:587 (STARTTLS required)\n") {
		t.Errorf("no mail line:\n%s", out.String())
	}
	if strings.Contains(out.String(), canarySMTPPassword) {
		t.Errorf("config check prints the SMTP password:\n%s", out.String())
	}
	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := egressRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := joinRules(rules); !strings.Contains(got, "mail.example.com:587") {
		t.Errorf("egress allowlist %q lacks the SMTP server", got)
	}

	out.Reset()
	if err := configCheck([]string{"HOME=/home/tester", "RAMPART_DATA_DIR=/srv/rampart"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\nmail: eml files in /srv/rampart/mail\n") {
		t.Errorf("no mail line:\n%s", out.String())
	}
}
