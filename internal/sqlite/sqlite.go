// Package sqlite implements rampart.Store on an embedded SQLite database,
// through the cgo-free modernc.org/sqlite driver so that the server stays a
// single static binary.
//
// SQLite allows one writer at a time. The store therefore keeps two pools:
// one connection for every write, so writers queue in Go instead of failing
// with SQLITE_BUSY, and a pool of read-only connections, which WAL mode lets
// read while the writer writes.
//
// The methods of Store are documented on rampart.Store.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"example.com/rampart/internal/rampart"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Connection settings, applied by the driver to every new connection.
//
//   - journal_mode=WAL lets readers read while the writer writes.
//   - synchronous=NORMAL: in WAL mode this still never corrupts the database,
//     and a process crash loses nothing; only a power loss or OS crash can
//     roll back the last few commits. It saves an fsync per commit (WAL syncs
//     at checkpoints), which is most of the cost of a small write.
//   - foreign_keys=ON: SQLite leaves foreign keys unchecked unless asked.
//   - busy_timeout=5000: wait up to 5 s for a lock held by another process
//     (a migration, a backup) instead of failing at once.
//   - _txlock=immediate: a write transaction takes the write lock when it
//     begins, so a read-then-write transaction cannot fail half way with
//     SQLITE_BUSY when another process wrote in between.
//   - query_only=ON on reader connections, so no write can take the path
//     that bypasses the single writer.
const (
	writerParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	readerParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)&_pragma=query_only(ON)"
)

// Store is a rampart.Store on SQLite.
//
// The methods reach the database through writer and reader. On the Store
// that Open returns they are the two pools; on the Store that Atomically
// hands to its function both are the unit's transaction, so that every
// method, reads included, takes part in it unchanged.
type Store struct {
	writerDB *sql.DB // exactly one connection
	readerDB *sql.DB
	writer   querier
	reader   querier
	tx       *sql.Tx // the unit's transaction inside Atomically, else nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	execer
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var _ rampart.Store = (*Store)(nil)

// Open opens or creates the database file at path and checks that it can be
// used. It does not migrate the schema; see Migrate. The path must name a
// file: an in-memory database would give each connection a database of its
// own.
//
// The database holds password hashes, so a new database file is created
// readable and writable by its owner only (0600), whatever the umask; SQLite
// gives its -wal, -shm and -journal files the mode of the database file, so
// they are 0600 too. An empty file counts as new. An existing database
// file is opened with the mode it has, since an operator may have chosen it
// (a backup group, say), and Open does not check it: a database file that
// other users can read or write is the deployment's to fix, as is a
// directory that lets them replace the file.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, rampart.Errorf(rampart.KindInvalid, "sqlite: the database path must name a file")
	}
	if err := createFile(path); err != nil {
		return nil, rampart.WrapError(rampart.KindUnavailable, fmt.Errorf("sqlite: open: %w", err), "the database is unavailable")
	}
	// A URI, so that the driver reads the parameters; the path is escaped
	// so that a "?" or "#" in it is not taken for their start.
	uri := "file:" + (&url.URL{Path: path}).EscapedPath() + "?"

	writer, err := sql.Open("sqlite", uri+writerParams)
	if err != nil {
		return nil, dbError("open", err)
	}
	writer.SetMaxOpenConns(1)
	// The writer opens first: it turns on WAL mode, which the read-only
	// connections cannot.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, dbError("open", err)
	}

	reader, err := sql.Open("sqlite", uri+readerParams)
	if err != nil {
		writer.Close()
		return nil, dbError("open", err)
	}
	// More readers than cores gains nothing: SQLite reads are CPU-bound.
	n := max(4, runtime.NumCPU())
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	return &Store{writerDB: writer, readerDB: reader, writer: writer, reader: reader}, nil
}

// createFile creates the database file at path with mode 0600 if there is
// none. A file that exists but is empty is a new database as well (one made
// with touch, say) and is given mode 0600 too. A file that has content is
// left alone.
//
// Without this, SQLite would create the file with mode 0644 less the umask,
// and the -wal and -shm files after it.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > 0 {
		return nil
	}
	// Exactly 0600: an empty file made before may have any mode, and the
	// umask may have cleared bits of a new one.
	return f.Chmod(0o600)
}

// Close closes both pools; inside Atomically it does nothing.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	return errors.Join(s.readerDB.Close(), s.writerDB.Close())
}

// Ping checks that the database file can be read.
func (s *Store) Ping(ctx context.Context) error {
	if s.tx != nil {
		return nil
	}
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return dbError("ping", err)
	}
	return nil
}

// Migrate applies every migration the database lacks.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return s.afterMigration(ctx, err)
}

// afterMigration restores the writer connection after goose ran
// migrations, given goose's error. A migration that runs outside goose's
// transaction (00004) turns foreign keys off around a transaction of its
// own; if one of its statements failed, that transaction may still be open
// and foreign keys still off on the one writer connection, which every
// later write would then inherit. So: roll back whatever is open (an error
// here just means nothing was), and turn foreign keys on again.
func (s *Store) afterMigration(ctx context.Context, err error) error {
	if err != nil {
		_, _ = s.writerDB.ExecContext(ctx, "ROLLBACK")
	}
	if _, ferr := s.writerDB.ExecContext(ctx, "PRAGMA foreign_keys = ON"); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return dbError("migrate", err)
	}
	return nil
}

// SchemaStatus reports the schema version of the database and the latest
// version this build knows.
func (s *Store) SchemaStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := s.migrator()
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, dbError("schema status", err)
	}
	return current, latest, nil
}

// migrator returns a goose provider on the writer connection, which is the
// only one allowed to change the schema.
func (s *Store) migrator() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, rampart.WrapError(rampart.KindInternal, err, "")
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writerDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, rampart.WrapError(rampart.KindInternal, err, "")
	}
	return p, nil
}

// inTx runs fn in a write transaction and commits it when fn returns nil.
// fn returns errors ready for the caller: they pass through unchanged.
//
// The transaction is rolled back on every other way out, a panic in fn
// included: it holds the only writer connection, so a transaction left open
// would block every later write.
//
// Inside Atomically it runs fn within a savepoint of the unit's
// transaction instead, so that a failing method undoes its own writes, as
// it does on PostgreSQL, and the unit decides about the rest.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if s.tx != nil {
		return s.inSavepoint(ctx, op, fn)
	}
	tx, err := s.writerDB.BeginTx(ctx, nil)
	if err != nil {
		return dbError(op, err)
	}
	defer tx.Rollback() // does nothing after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError(op, err)
	}
	return nil
}

func (s *Store) inSavepoint(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if _, err := s.tx.ExecContext(ctx, "SAVEPOINT store_method"); err != nil {
		return dbError(op, err)
	}
	if err := fn(s.tx); err != nil {
		// The unit is rolled back as a whole if these fail as well.
		_, _ = s.tx.ExecContext(ctx, "ROLLBACK TO store_method")
		_, _ = s.tx.ExecContext(ctx, "RELEASE store_method")
		return err
	}
	if _, err := s.tx.ExecContext(ctx, "RELEASE store_method"); err != nil {
		return dbError(op, err)
	}
	return nil
}

// unit is the store whose methods run in tx: Atomically's unit, and the
// store a multi-method write such as MoveSession calls on inside inTx.
func (s *Store) unit(tx *sql.Tx) *Store {
	return &Store{writerDB: s.writerDB, readerDB: s.readerDB, writer: tx, reader: tx, tx: tx}
}

// Atomically runs fn in one write transaction (see rampart.Store). The
// transaction holds the single writer connection, so fn's reads go through
// it as well: they see what fn wrote, and a read on the pools would wait
// for a connection that fn holds.
func (s *Store) Atomically(ctx context.Context, fn func(tx rampart.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	tx, err := s.writerDB.BeginTx(ctx, nil)
	if err != nil {
		return dbError("begin", err)
	}
	defer tx.Rollback() // does nothing after Commit
	if err := fn(s.unit(tx)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError("commit", err)
	}
	return nil
}
