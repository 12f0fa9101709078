package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// keysRotate is `rampart keys rotate`: a new signing key starts signing and
// the old one only verifies until the tokens it signed have expired, so
// nobody is logged out. Running replicas pick the new key up within
// token.RefreshEvery.
func keysRotate(ctx context.Context, environ []string, stdout, stderr io.Writer) error {
	cfg, st, err := configuredStore(ctx, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.Env == "development" {
		if _, err := ensureDevMasterKey(&cfg); err != nil {
			return err
		}
	}
	if err := requireCurrentSchema(ctx, st); err != nil {
		return err
	}
	k, err := loadKeys(ctx, cfg, st)
	if err != nil {
		return err
	}
	if err := k.tokens.Rotate(ctx, time.Now()); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "signing key rotated; the previous key verifies existing tokens until they expire")
	return nil
}
