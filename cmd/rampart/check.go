package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// errChecksFailed means `config check` found problems; they are printed.
var errChecksFailed = errors.New("configuration check failed")

// configCheck is `rampart config check`: the effective configuration with
// secrets masked, then one pass/fail line per production posture rule. It
// fails when the configuration does not load, or when it is a production
// configuration and any rule fails; outside production the rules are shown
// so an operator can see what production would refuse.
func configCheck(environ []string, stdout, stderr io.Writer) error {
	cfg, loadErr := loadConfig(environ)
	cfg.writeEffective(stdout)
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "mail:", cfg.mailMode())
	fmt.Fprintln(stdout, "signup:", cfg.Signup)
	for _, v := range variables {
		// Only the rate classes, as before the table: this output is an
		// interface operators script against. RAMPART_AUTO_MIGRATE also
		// differs by environment; its effective line above shows its value.
		if v.ProdDefault != "" && strings.HasPrefix(v.Name, "RAMPART_RATE_") {
			fmt.Fprintf(stdout, "default %s: %s in production, %s in development and test\n", v.Name, v.ProdDefault, v.Default)
		}
	}
	for _, line := range cfg.blockMode() {
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintln(stdout, enforcement(cfg.Env))
	failed := 0
	for _, pc := range cfg.postureChecks() {
		verdict := "PASS"
		if !pc.OK {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(stdout, "%s %-18s %s\n", verdict, pc.Name, pc.Detail)
	}
	if loadErr != nil {
		fmt.Fprintf(stderr, "rampart: configuration refused:\n%v\n", loadErr)
		return errChecksFailed
	}
	if failed > 0 && cfg.Env == "production" {
		return errChecksFailed
	}
	return nil
}

// enforcement says whether the production rules below it bind the
// environment being checked, so that a PASS/FAIL list read in development
// is not mistaken for what this server enforces.
func enforcement(env string) string {
	if env == envProduction {
		return "production rules, ENFORCED in RAMPART_ENV=production: the server refuses to start while any one FAILs"
	}
	return "production rules, NOT enforced in RAMPART_ENV=" + env + ": shown for what RAMPART_ENV=production would refuse"
}

// writeEffective prints every setting as RAMPART_X=value, in the order of
// the table, for `rampart config check`. Secrets are masked: the database
// and Redis URLs keep scheme, user, host and database but lose any
// password; the master key is REDACTED.
func (c Config) writeEffective(w io.Writer) {
	for _, v := range variables {
		fmt.Fprintf(w, "%s=%s\n", v.Name, v.show(c))
	}
}

// maskURL replaces the password in a URL's user info and in query
// parameters such as password= and sslpassword= (libpq accepts both).
// Anything unparsable is masked whole.
func maskURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		masked := false
		for k := range q {
			if lk := strings.ToLower(k); strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") {
				q[k] = []string{redacted}
				masked = true
			}
		}
		if masked {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}
