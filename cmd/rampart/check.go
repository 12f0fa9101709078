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
