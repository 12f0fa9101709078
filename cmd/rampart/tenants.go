package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"example.com/rampart/internal/mail"
	"example.com/rampart/internal/rampart"
)

// tenantsCommand is `rampart tenants create --name N --admin-email E`: a
// new tenant and the invitation of its first admin (for RAMPART_SIGNUP=
// closed, where nobody signs up). The tenant has no member until the
// invitation is accepted (rampart.CreateTenantInvitation says why); the
// mail is queued in the outbox in the same transaction, and the running
// server's sender delivers it. It prints the tenant's and invitation's
// ids and where the mail goes, never the link.
func tenantsCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	name, email, err := parseTenantsCreate(args)
	if err != nil {
		fmt.Fprintf(stderr, "rampart: %v\nrampart: usage: rampart tenants create --name NAME --admin-email EMAIL\n", err)
		return errUsage
	}
	cfg, st, box, _, err := keyedStore(ctx, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	publicURL := cfg.PublicURL
	if publicURL == "" {
		return errors.New("RAMPART_PUBLIC_URL is required: the invitation's link points there")
	}
	tenant, inv, err := rampart.CreateTenantInvitation(ctx, st, rampart.NewOutbox(box, nil, nil), publicURL, name, email, time.Now())
	if err != nil {
		if e := rampart.ErrorOf(err); e != nil && e.Kind == rampart.KindInvalid {
			return fmt.Errorf("%s: %s", e.Field, e.Message)
		}
		return err
	}
	fmt.Fprintf(stdout, "tenant %s created: %q, no member yet\n", tenant.ID, tenant.Name)
	fmt.Fprintf(stdout, "invitation %s: %s as its first admin, expires %s; recorded in the tenant's audit log\n",
		inv.ID, inv.Email, inv.ExpiresAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "the mail is queued in the outbox; the running server delivers it (%s) within %s\n",
		cfg.mailMode(), mail.DefaultPoll)
	return nil
}

// parseTenantsCreate reads `create --name N --admin-email E` (flags in
// either order, `--flag value` or `--flag=value`).
func parseTenantsCreate(args []string) (name, email string, err error) {
	if len(args) == 0 || args[0] != "create" {
		return "", "", errors.New("unknown tenants command")
	}
	rest := args[1:]
	for len(rest) > 0 {
		flag, value, has := strings.Cut(rest[0], "=")
		rest = rest[1:]
		if !has {
			if len(rest) == 0 {
				return "", "", fmt.Errorf("%s needs a value", flag)
			}
			value, rest = rest[0], rest[1:]
		}
		switch flag {
		case "--name":
			name = value
		case "--admin-email":
			email = value
		default:
			return "", "", fmt.Errorf("unknown flag %s", flag)
		}
	}
	if strings.TrimSpace(name) == "" || strings.TrimSpace(email) == "" {
		return "", "", errors.New("both --name and --admin-email are required")
	}
	return name, email, nil
}
