package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"example.com/rampart/internal/app"
	"example.com/rampart/internal/postgres"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/seal"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/token"
)

// store is what the composition root needs of a storage adapter: the
// domain's Store plus schema management.
type store interface {
	rampart.Store
	Migrate(ctx context.Context) error
	SchemaStatus(ctx context.Context) (current, latest int64, err error)
}

// openStore opens the store that RAMPART_DATABASE_URL names.
func openStore(ctx context.Context, cfg Config) (store, error) {
	if path, ok := cfg.SQLitePath(); ok {
		return sqlite.Open(ctx, path)
	}
	url := cfg.DatabaseURL.Reveal()
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		dialer, err := cfg.outbound()
		if err != nil {
			return nil, err
		}
		return postgres.Open(ctx, url, dialer.DialContext)
	}
	// Config validation accepts nothing else; this guards a future scheme.
	return nil, errors.New("RAMPART_DATABASE_URL: unsupported scheme")
}

// prepareSchema brings the schema up to date when allowed to: always in
// development and test, in production only with RAMPART_AUTO_MIGRATE=true.
// Otherwise it refuses to serve an out-of-date schema, which would fail in
// ways that are far harder to diagnose than a refusal at start-up.
func prepareSchema(ctx context.Context, cfg Config, st store, logger *slog.Logger) error {
	if cfg.AutoMigrate {
		before, _, err := st.SchemaStatus(ctx)
		if err != nil {
			return err
		}
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		after, _, err := st.SchemaStatus(ctx)
		if err != nil {
			return err
		}
		if after != before {
			logger.Info("schema migrated", slog.Int64("from", before), slog.Int64("to", after))
		}
		return nil
	}
	return requireCurrentSchema(ctx, st)
}

// requireCurrentSchema refuses a schema this binary would misread.
func requireCurrentSchema(ctx context.Context, st store) error {
	current, latest, err := st.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if current != latest {
		return fmt.Errorf("the schema is at version %d but this binary needs %d: run `rampart migrate up` or set RAMPART_AUTO_MIGRATE=true", current, latest)
	}
	return nil
}

// configuredStore loads the configuration and opens its store, for the
// operator commands. A refused configuration is reported on stderr.
func configuredStore(ctx context.Context, environ []string, stderr io.Writer) (Config, store, error) {
	cfg, err := loadConfig(environ)
	if err != nil {
		fmt.Fprintf(stderr, "rampart: configuration refused:\n%v\n", err)
		return cfg, nil, errReported
	}
	st, err := openStore(ctx, cfg)
	return cfg, st, err
}

// keyedStore is configuredStore for the operator commands that also need
// the keys sealed under RAMPART_MASTER_KEY (`keys rotate`, `tenants
// create`): in development it uses the generated master key, it refuses a
// schema this binary would misread, and it opens the keys. When it returns
// no error the caller closes the store.
func keyedStore(ctx context.Context, environ []string, stderr io.Writer) (Config, store, *seal.Box, *token.Manager, error) {
	cfg, st, err := configuredStore(ctx, environ, stderr)
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	box, tokens, err := openOperatorKeys(ctx, &cfg, st)
	if err != nil {
		st.Close()
		return cfg, nil, nil, nil, err
	}
	return cfg, st, box, tokens, nil
}

func openOperatorKeys(ctx context.Context, cfg *Config, st store) (*seal.Box, *token.Manager, error) {
	if cfg.Env == "development" {
		if _, err := ensureDevMasterKey(cfg); err != nil {
			return nil, nil, err
		}
	}
	if err := requireCurrentSchema(ctx, st); err != nil {
		return nil, nil, err
	}
	master, err := masterKey(*cfg)
	if err != nil {
		return nil, nil, err
	}
	return app.OpenKeys(ctx, st, master, rampart.DefaultIdentityConfig.AccessTTL, nil)
}

// migrate is `rampart migrate up` (apply) and `rampart migrate status`.
func migrate(ctx context.Context, environ []string, stdout, stderr io.Writer, apply bool) error {
	_, st, err := configuredStore(ctx, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	before, _, err := st.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if apply {
		if err := st.Migrate(ctx); err != nil {
			return err
		}
	}
	current, latest, err := st.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	for v := before + 1; v <= current; v++ {
		fmt.Fprintf(stdout, "applied migration %d\n", v)
	}
	if apply && current == before {
		fmt.Fprintln(stdout, "no migration to apply")
	}
	state := "up to date"
	if current != latest {
		state = "out of date: run `rampart migrate up`"
	}
	fmt.Fprintf(stdout, "schema version %d of %d (%s)\n", current, latest, state)
	if current != latest {
		return errSchemaPending
	}
	return nil
}
