package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// errReported marks an error whose explanation has already been written
// (to the log or to stderr), so main only sets the exit code.
var errReported = errors.New("reported")

// errUsage is a command line that names no known command.
var errUsage = errors.New("usage")

// errSchemaPending is `migrate status` (or `up` stopping short) finding
// migrations not applied: exit code exitSchemaPending, so a deployment
// script can tell "needs migrating" from "failed".
var errSchemaPending = fmt.Errorf("migrations pending: %w", errReported)

const exitSchemaPending = 3

const usage = `usage: rampart [command]

commands:
  serve          run the API server (the default)
  migrate up     apply pending schema migrations
  migrate status show the schema version (exit code 3: migrations pending)
  auditlog verify [--checkpoints FILE]
                 check every tenant's audit hash chain, and against exported checkpoints; prints each chain's head
  keys rotate    start signing with a new key and print its id; running replicas use it within 5s;
                 tokens signed by the old one stay valid until they expire
  blocks list    list the sources automatic blocking refuses (needs RAMPART_REDIS_URL)
  blocks remove SOURCE
                 lift the block of an address (an IPv6 address: its /64) on every replica
  users reset-mfa EMAIL
                 turn off the account's TOTP and recovery codes and revoke all its sessions (audited)
  users revoke-sessions EMAIL
                 revoke every session of the account, in every tenant (audited)
  tenants create --name NAME --admin-email EMAIL
                 create a tenant and invite its first admin (the link goes by mail; audited)
  config check   print the effective configuration (secrets masked), the blocking mode and the production posture checks
  healthcheck    exit 0 if this container's server answers GET /healthz with 200 (for HEALTHCHECK)
  version        print the version, source revision and the modules this binary was built from

Configuration comes from RAMPART_* environment variables; see README.md.
`

// run is the whole program behind main. It takes the environment as a
// slice, not a getenv function, because configuration rejects unknown
// RAMPART_* names (typos), which needs the full list.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cmd := args[1:]
	if len(cmd) == 0 {
		cmd = []string{"serve"}
	}
	if len(cmd) == 3 && cmd[0] == "blocks" && cmd[1] == "remove" {
		return blocksCommand(ctx, cmd[1:], environ, stdout, stderr)
	}
	if len(cmd) > 0 && cmd[0] == "tenants" {
		return tenantsCommand(ctx, cmd[1:], environ, stdout, stderr)
	}
	if len(cmd) > 0 && cmd[0] == "users" {
		return usersCommand(ctx, cmd[1:], environ, stdout, stderr)
	}
	if len(cmd) > 2 && cmd[0] == "auditlog" && cmd[1] == "verify" {
		return auditlogVerify(ctx, cmd[2:], environ, stdout, stderr)
	}
	switch strings.Join(cmd, " ") {
	case "serve":
		return serve(ctx, environ, stdout, stderr)
	case "migrate up":
		return migrate(ctx, environ, stdout, stderr, true)
	case "migrate status":
		return migrate(ctx, environ, stdout, stderr, false)
	case "auditlog verify":
		return auditlogVerify(ctx, nil, environ, stdout, stderr)
	case "keys rotate":
		return keysRotate(ctx, environ, stdout, stderr)
	case "blocks list":
		return blocksCommand(ctx, cmd[1:], environ, stdout, stderr)
	case "config check":
		return configCheck(environ, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, environ, stdout, stderr)
	case "version":
		return version(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "rampart: unknown command %q\n\n%s", strings.Join(cmd, " "), usage)
		return errUsage
	}
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	if errors.Is(err, errSchemaPending) {
		return exitSchemaPending
	}
	return 1
}

// version prints the main module's version, the source revision and its
// time, the toolchain and whether cgo was on, then every dependency
// compiled in, as recorded by the Go toolchain in the binary. A build
// from a checkout gets a pseudo-version or "(devel)": its revision is what
// identifies it.
func version(stdout io.Writer) error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("no build information in this binary")
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	fmt.Fprintf(stdout, "rampart %s\n", bi.Main.Version)
	if rev := settings["vcs.revision"]; rev != "" {
		modified := ""
		if settings["vcs.modified"] == "true" {
			modified = " (with uncommitted changes)"
		}
		fmt.Fprintf(stdout, "revision %s %s%s\n", rev, settings["vcs.time"], modified)
	} else {
		fmt.Fprintln(stdout, "revision unknown (built outside a checkout or with -buildvcs=false)")
	}
	fmt.Fprintf(stdout, "%s CGO_ENABLED=%s\n", bi.GoVersion, cmp.Or(settings["CGO_ENABLED"], "unknown"))
	for _, dep := range bi.Deps {
		if dep.Replace != nil {
			dep = dep.Replace
		}
		fmt.Fprintf(stdout, "%s %s\n", dep.Path, dep.Version)
	}
	return nil
}

// buildVersion is the main module's version for the OpenAPI document.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
