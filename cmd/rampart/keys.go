package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"example.com/rampart/internal/seal"
	"example.com/rampart/internal/token"
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
	if current, latest, err := st.SchemaStatus(ctx); err != nil {
		return err
	} else if current != latest {
		return errors.New("the schema is out of date: run `rampart migrate up` first")
	}
	masterKey, err := decodeMasterKey(cfg.MasterKey.Reveal())
	if err != nil {
		return errors.New("RAMPART_MASTER_KEY: not a usable key")
	}
	box, err := seal.New(masterKey)
	if err != nil {
		return err
	}
	m, err := token.New(st, box, token.Config{Issuer: tokenIssuer, Audience: tokenAudience, Lifetime: accessTokenTTL})
	if err != nil {
		return err
	}
	if err := m.Load(ctx); err != nil {
		return err
	}
	if err := m.Rotate(ctx, time.Now()); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "signing key rotated; the previous key verifies existing tokens until they expire")
	return nil
}
