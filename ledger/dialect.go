package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	// Drivers: pgx for PostgreSQL, modernc for SQLite (pure Go).
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/shopspring/decimal"
	"modernc.org/sqlite"

	"github.com/xhspay/xhspay/money"
)

// dialect holds what differs between the backends. The SQL itself is shared:
// both accept $1-style placeholders, ON CONFLICT ... DO NOTHING RETURNING and
// the aggregate queries; only DDL (the embedded migrations), the lock taken
// while migrating and the encoding of amounts and times differ.
type dialect struct {
	// name is the backend ("sqlite" or "postgres"), also the migrations folder.
	name string
	// driver is the database/sql driver name.
	driver string
	// migrationLock is run first in the migration transaction ("" for none).
	migrationLock string
	// migrationsTable creates the schema_migrations table if it is missing.
	migrationsTable string
	// minorUnits is true when amounts are stored as integer minor units
	// (SQLite) and false when stored as exact decimals (PostgreSQL numeric).
	minorUnits bool
	// timeAsText is true when times are stored as fixed-width UTC text.
	timeAsText bool
	// configure sets the connection pool for the backend.
	configure func(db *sql.DB, memory bool)
	// prepare runs once after connecting, before migrating (nil for nothing).
	prepare func(ctx context.Context, db *sql.DB, memory bool) error
}

// sqliteTime is the stored form of a time in SQLite: fixed width, so text
// order is time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// migrationLockKey is the PostgreSQL advisory lock key held while migrating.
const migrationLockKey = 7_513_418_926_033_210_411

var (
	postgresDialect = &dialect{
		name:          "postgres",
		driver:        "pgx",
		migrationLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey),
		migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
		configure: func(db *sql.DB, _ bool) {
			db.SetMaxOpenConns(16)
			db.SetMaxIdleConns(4)
			db.SetConnMaxIdleTime(5 * time.Minute)
		},
	}
	sqliteDialect = &dialect{
		name:   "sqlite",
		driver: "sqlite",
		// Transactions begin IMMEDIATE (see sqliteDSN): the migration
		// transaction holds the single writer lock from its first statement.
		migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))) STRICT`,
		minorUnits: true,
		timeAsText: true,
		configure: func(db *sql.DB, memory bool) {
			if memory {
				// One connection is one in-memory database: keep exactly one, forever.
				db.SetMaxOpenConns(1)
				db.SetMaxIdleConns(1)
				db.SetConnMaxLifetime(0)
				db.SetConnMaxIdleTime(0)
				return
			}
			db.SetMaxOpenConns(8)
			db.SetMaxIdleConns(8)
		},
		prepare: func(ctx context.Context, db *sql.DB, memory bool) error {
			if memory {
				return nil
			}
			return sqliteWAL(ctx, db)
		},
	}
)

// sqliteWAL switches a SQLite file to WAL, which persists in the file. The
// switch needs the file to itself and SQLite may refuse it with SQLITE_BUSY
// without waiting for the busy timeout (two processes creating the file at
// once), so it is retried until ctx ends or 10 seconds pass.
func sqliteWAL(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil && strings.EqualFold(mode, "wal") {
			return nil
		}
		if err == nil {
			return fmt.Errorf("ledger: sqlite journal mode is %q, want wal", mode)
		}
		var se *sqlite.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqliteBusy {
			return fmt.Errorf("ledger: sqlite journal mode: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ledger: sqlite journal mode: %w (%w)", err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY.
const sqliteBusy = 5

// sqliteDSN is the driver DSN for a SQLite file: a busy timeout so writers
// queue instead of failing, IMMEDIATE transactions so a writer takes the lock
// up front (no upgrade deadlocks). WAL, so that readers never wait for the
// writer, is set once by sqliteWAL.
func sqliteDSN(path string) string {
	if path == ":memory:" {
		return ":memory:?_pragma=foreign_keys(1)"
	}
	return path + "?_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// parseDSN picks the dialect for dsn and returns the driver's DSN.
func parseDSN(dsn string) (d *dialect, driverDSN string, memory bool, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgresDialect, dsn, false, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" || strings.ContainsAny(path, "?#") {
			return nil, "", false, fmt.Errorf("ledger: dsn %q: sqlite path must be non-empty and contain no '?' or '#'", dsn)
		}
		return sqliteDialect, sqliteDSN(path), path == ":memory:", nil
	default:
		return nil, "", false, fmt.Errorf("ledger: dsn %q: must start with sqlite: or postgres://", redact(dsn))
	}
}

// redact hides a password in a URL-style DSN for error messages.
func redact(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return dsn
	}
	user, _, _ := strings.Cut(userinfo, ":")
	return scheme + "://" + user + ":***@" + host
}

// amountArg is the query argument storing a (whole, normalised) amount.
func (d *dialect) amountArg(a money.Amount) (any, error) {
	if d.minorUnits {
		return a.MinorUnits()
	}
	return a.Decimal().String(), nil
}

// amount reads a stored amount or sum: minor units or a decimal, as text.
func (d *dialect) amount(s string, c money.Currency) (money.Amount, error) {
	if d.minorUnits {
		units, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return money.Amount{}, fmt.Errorf("ledger: stored amount %q %s: %w", s, c, err)
		}
		return money.FromMinor(units, c)
	}
	v, err := decimal.NewFromString(s)
	if err != nil {
		return money.Amount{}, fmt.Errorf("ledger: stored amount %q %s: %w", s, c, err)
	}
	a, err := money.New(v, c)
	if err != nil {
		return money.Amount{}, fmt.Errorf("ledger: stored amount %q: %w", s, err)
	}
	if units, err := a.MinorUnits(); err == nil {
		// Canonical scale: numeric(28,8) reads back as 12.30000000.
		return money.FromMinor(units, c)
	}
	return a, nil
}

// timeArg is the query argument storing or comparing a time.
func (d *dialect) timeArg(t time.Time) any {
	t = t.UTC().Truncate(timePrecise)
	if d.timeAsText {
		return t.Format(sqliteTime)
	}
	return t
}

// parseTime reads a stored time scanned into a string: SQLite's text as
// stored, PostgreSQL's timestamptz as database/sql formats it (RFC 3339).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("ledger: stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}
