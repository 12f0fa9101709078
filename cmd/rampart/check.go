package main

import (
	"errors"
	"fmt"
	"io"
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
	for _, rc := range rateClasses {
		if rc.Outside.N > 0 {
			fmt.Fprintf(stdout, "default RAMPART_RATE_%s: %s in production, %s in development and test\n", rc.Class, rc.Default, rc.Outside)
		}
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
