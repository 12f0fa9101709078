package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/sessioncache"
)

// revocationsChannel (after RAMPART_REDIS_PREFIX) carries session
// revocations between replicas (see sessioncache.RedisBus).
const revocationsChannel = "revocations"

// usersCommand is `rampart users reset-mfa EMAIL` and `rampart users
// revoke-sessions EMAIL`: an operator's recovery for one account, in every
// tenant of it. Each prints what it did (ids and counts, never a secret)
// and is audited in each of the account's tenants with the actor
// "operator". An email with no account is an error (exit 1).
func usersCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || (args[0] != "reset-mfa" && args[0] != "revoke-sessions") || strings.TrimSpace(args[1]) == "" {
		fmt.Fprintf(stderr, "rampart: usage: rampart users reset-mfa EMAIL | rampart users revoke-sessions EMAIL\n")
		return errUsage
	}
	cfg, st, err := configuredStore(ctx, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := requireCurrentSchema(ctx, st); err != nil {
		return err
	}
	// Through the session cache's store, so that running replicas forget
	// the revoked sessions at once when Redis carries the notice; without
	// Redis they re-read sessions within sessioncache.TTL. The notice goes
	// through the background client: an operator command is off the
	// request path and should not lose it to the request path's deadline.
	var bus sessioncache.Bus
	if cfg.RedisURL != "" {
		client, err := newBackgroundRedisClient(cfg)
		if err != nil {
			return err
		}
		defer client.Close()
		bus = sessioncache.NewRedisBus(client, cfg.RedisPrefix+revocationsChannel)
	}
	through := sessioncache.New(st, bus, nil)
	email := args[1]
	var act *rampart.OperatorAction
	switch args[0] {
	case "reset-mfa":
		act, err = rampart.ResetMFA(ctx, through, email, time.Now())
	default:
		act, err = rampart.RevokeAccountSessions(ctx, through, email, time.Now())
	}
	if rampart.ErrorKind(err) == rampart.KindNotFound {
		return fmt.Errorf("no account has the email %q", email)
	}
	if err != nil {
		return err
	}
	if args[0] == "reset-mfa" {
		if act.HadMFA {
			fmt.Fprintf(stdout, "account %s: second factor turned off, recovery codes deleted\n", act.AccountID)
		} else {
			fmt.Fprintf(stdout, "account %s: had no second factor; nothing to turn off\n", act.AccountID)
		}
	}
	fmt.Fprintf(stdout, "account %s: every session revoked, in %d tenants; recorded in the audit log of each: %s\n",
		act.AccountID, len(act.Tenants), strings.Join(act.Tenants, ", "))
	return nil
}
