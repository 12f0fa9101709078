// Package postgres implements rampart.Store on PostgreSQL through pgx and its
// connection pool.
//
// When the database stops answering, every method returns a
// KindUnavailable error within queryTimeout, and the pool reconnects by
// itself once the database is back.
//
// The methods of Store are documented on rampart.Store.
package postgres

import (
	"context"
	"embed"
	"io/fs"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"example.com/rampart/internal/rampart"
)

//go:embed migrations/*.sql
var migrations embed.FS

const (
	// queryTimeout bounds every store call on the client side. Only a client
	// deadline helps when the network silently drops packets.
	queryTimeout = 5 * time.Second
	// statementTimeout is a little shorter, so that a slow statement is
	// normally cancelled by the server, which keeps the connection, before
	// the client deadline, which closes it.
	statementTimeout = "4s"
	// idleInTransactionTimeout frees the row locks of a transaction whose
	// client stopped talking.
	idleInTransactionTimeout = "10s"
	connectTimeout           = 5 * time.Second
)

// Store is a rampart.Store on PostgreSQL.
//
// The methods reach the database through pool: the connection pool on the
// Store that Open returns, the unit's transaction on the Store that
// Atomically hands to its function, so that every method takes part in it
// unchanged (a method's own transaction becomes a savepoint of the unit's).
type Store struct {
	db   *pgxpool.Pool
	pool querier
	tx   pgx.Tx // the unit's transaction inside Atomically, else nil
	// migration is the connection config for migrations: like the pool's,
	// but without a statement timeout, as a migration may rightly take long.
	migration *pgx.ConnConfig
}

var _ rampart.Store = (*Store)(nil)

// Open returns a store for the database at url, a PostgreSQL URL or
// keyword/value string. It does not connect: the pool connects on first use
// and reconnects after failures, so a database that is down when the server
// starts is not fatal. Call Ping to check the database.
//
// The pool size and connection lifetimes follow the pgxpool parameters in
// url (pool_max_conns and so on; by default at most DefaultMaxConns
// connections). A connect_timeout, statement_timeout or
// idle_in_transaction_session_timeout in url overrides the defaults above.
//
// With a dial function (the egress allowlist's), every connection, cancel
// requests included, goes through it, and host names reach it unresolved:
// the dialer resolves and checks them itself.
func Open(ctx context.Context, url string, dial ...pgconn.DialFunc) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, rampart.WrapError(rampart.KindInvalid, err, "postgres: the database URL is not valid")
	}
	if len(dial) > 0 && dial[0] != nil {
		cfg.ConnConfig.DialFunc = dial[0]
		cfg.ConnConfig.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	}
	if !setsMaxConns(url) {
		cfg.MaxConns = DefaultMaxConns()
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	params := cfg.ConnConfig.RuntimeParams
	if _, ok := params["idle_in_transaction_session_timeout"]; !ok {
		params["idle_in_transaction_session_timeout"] = idleInTransactionTimeout
	}
	migration := cfg.ConnConfig.Copy()
	migration.RuntimeParams["statement_timeout"] = "0"
	if _, ok := params["statement_timeout"]; !ok {
		params["statement_timeout"] = statementTimeout
	}
	// Times come back in UTC, as stores keep them (see rampart.Timestamp).
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, rampart.WrapError(rampart.KindInvalid, err, "postgres: the database URL is not valid")
	}
	return &Store{db: pool, pool: pool, migration: migration}, nil
}

// Destinations returns the hosts and ports the database URL url connects
// to, fallback hosts included (a host that is an absolute path is a Unix
// socket directory), for the egress allowlist.
func Destinations(url string) ([]string, []uint16, error) {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, nil, rampart.WrapError(rampart.KindInvalid, err, "postgres: the database URL is not valid")
	}
	// sslmode=prefer and allow list each host twice (with and without TLS).
	hosts, ports := []string{cfg.Host}, []uint16{cfg.Port}
	for _, fb := range cfg.Fallbacks {
		if fb.Host != hosts[len(hosts)-1] || fb.Port != ports[len(ports)-1] {
			hosts, ports = append(hosts, fb.Host), append(ports, fb.Port)
		}
	}
	return hosts, ports, nil
}

// DefaultMaxConns is the pool size when the URL does not set
// pool_max_conns. A commit waits on PostgreSQL's WAL flush, not on this
// process's CPU, and only the commits in flight together share one flush:
// pgxpool's own default, max(4, NumCPU), held POST /v1/orders to about
// 5.5k/s on 2 cores, where 16 connections gave 8-9.5k/s
// (bench/RESULTS.md). Replicas × this must stay under the server's
// max_connections (100 by default); set pool_max_conns otherwise.
func DefaultMaxConns() int32 { return int32(max(16, 4*runtime.GOMAXPROCS(0))) }

// setsMaxConns reports whether connString, a URL or keyword/value string
// that pgxpool.ParseConfig accepted, sets pool_max_conns. pgconn parses it
// as pgxpool does, so a key that is percent-encoded or spaced ("pool_max_conns
// = 8") counts, and the text in another parameter's value does not.
// pgxpool.ParseConfig itself removes the key from the config it returns.
func setsMaxConns(connString string) bool {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return false
	}
	_, ok := cfg.RuntimeParams["pool_max_conns"]
	return ok
}

// querier is a *pgxpool.Pool or a pgx.Tx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	// Begin starts a transaction on a pool and a savepoint in one.
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Close closes every connection of the pool; inside Atomically it does
// nothing.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	s.db.Close()
	return nil
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if s.tx != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		return s.dbError("ping", err)
	}
	return nil
}

// Migrate applies every migration the database lacks. Servers that start
// together may all call it: a PostgreSQL advisory lock lets one migrate at a
// time.
func (s *Store) Migrate(ctx context.Context) error {
	return s.withMigrator(ctx, "migrate", func(p *goose.Provider) error {
		_, err := p.Up(ctx)
		return err
	})
}

// SchemaStatus reports the schema version of the database and the latest
// version this build knows.
func (s *Store) SchemaStatus(ctx context.Context) (current, latest int64, err error) {
	err = s.withMigrator(ctx, "schema status", func(p *goose.Provider) error {
		current, latest, err = p.GetVersions(ctx)
		return err
	})
	return current, latest, err
}

// withMigrator runs fn with a goose provider on a database/sql connection of
// its own (goose needs database/sql; the store itself uses pgx natively).
func (s *Store) withMigrator(ctx context.Context, op string, fn func(*goose.Provider) error) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return rampart.WrapError(rampart.KindInternal, err, "")
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return rampart.WrapError(rampart.KindInternal, err, "")
	}
	db := stdlib.OpenDB(*s.migration)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return rampart.WrapError(rampart.KindInternal, err, "")
	}
	if err := fn(p); err != nil {
		return s.dbError(op, err)
	}
	return nil
}

// inTx runs fn in a transaction and commits it when fn returns nil. fn
// returns errors ready for the caller: they pass through unchanged.
func (s *Store) inTx(ctx context.Context, op string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.dbError(op, err)
	}
	defer tx.Rollback(ctx) // does nothing after Commit
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return s.dbError(op, err)
	}
	return nil
}

// Optional times are NULL when zero.

func optTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// optTimeColumn scans into the time it points to; NULL is the zero time.
type optTimeColumn struct{ t *time.Time }

func (c optTimeColumn) ScanTimestamptz(v pgtype.Timestamptz) error {
	*c.t = time.Time{}
	if v.Valid {
		*c.t = v.Time
	}
	return nil
}

// unit is the store whose methods run in tx: Atomically's unit, and the
// store a multi-method write such as MoveSession calls on inside inTx.
func (s *Store) unit(tx pgx.Tx) *Store {
	return &Store{db: s.db, pool: tx, tx: tx, migration: s.migration}
}

// Atomically runs fn in one transaction (see rampart.Store). The whole unit
// is bounded by queryTimeout, as a single method is.
func (s *Store) Atomically(ctx context.Context, fn func(tx rampart.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return s.dbError("begin", err)
	}
	defer tx.Rollback(ctx) // does nothing after Commit
	if err := fn(s.unit(tx)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return s.dbError("commit", err)
	}
	return nil
}
