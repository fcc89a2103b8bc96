package ledger

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Ledger is the journal on one database. It is safe for concurrent use by
// many goroutines and by several processes on the same database.
type Ledger struct {
	db  *sql.DB
	d   *dialect
	log *slog.Logger
}

// Open connects to the ledger database named by dsn and applies any pending
// schema migrations:
//
//	sqlite:path/to/ledger.db    a SQLite file (WAL, busy timeout, created if missing)
//	sqlite::memory:             a new, private in-memory SQLite database per Open
//	postgres://user:pw@host/db  PostgreSQL (postgresql:// too; search_path=... selects a schema)
func Open(ctx context.Context, dsn string) (*Ledger, error) {
	d, driverDSN, memory, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(d.driver, driverDSN)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", d.name, err)
	}
	d.configure(db, memory)
	l := &Ledger{db: db, d: d, log: slog.Default().With("component", "ledger", "backend", d.name)}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("ledger: connect to %s: %w", d.name, err)
	}
	if d.prepare != nil {
		if err := d.prepare(ctx, db, memory); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	if err := l.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return l, nil
}

// Close closes the database connections.
func (l *Ledger) Close() error { return l.db.Close() }

// Backend returns "sqlite" or "postgres".
func (l *Ledger) Backend() string { return l.d.name }

//go:embed migrations
var migrationFiles embed.FS

// migration is one numbered SQL file of a dialect.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order. Files are
// named NNNN_name.sql; versions must be unique.
func (d *dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", d.name)
	files, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("ledger: read migrations: %w", err)
	}
	var out []migration
	for _, f := range files {
		num, name, ok := strings.Cut(strings.TrimSuffix(f.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(f.Name(), ".sql") {
			return nil, fmt.Errorf("ledger: migration file %s: name must be NNNN_name.sql", f.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, f.Name()))
		if err != nil {
			return nil, fmt.Errorf("ledger: read migration %s: %w", f.Name(), err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("ledger: two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// migrate applies the pending migrations in one transaction. Concurrent
// starters serialise on the migration lock (PostgreSQL: an advisory lock;
// SQLite: the writer lock of the IMMEDIATE transaction), so the second one
// finds everything applied.
func (l *Ledger) migrate(ctx context.Context) error {
	ms, err := l.d.migrations()
	if err != nil {
		return err
	}
	return l.inTx(ctx, "migrate", func(tx *sql.Tx) error {
		if l.d.migrationLock != "" {
			if _, err := tx.ExecContext(ctx, l.d.migrationLock); err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, l.d.migrationsTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		applied, err := appliedVersions(ctx, tx)
		if err != nil {
			return err
		}
		if n := len(applied); n > 0 && applied[n-1] > ms[len(ms)-1].version {
			return fmt.Errorf("database schema version %d is newer than this program knows (%d)", applied[n-1], ms[len(ms)-1].version)
		}
		for _, m := range ms {
			if slices.Contains(applied, m.version) {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %04d_%s: %w", m.version, m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("record migration %04d_%s: %w", m.version, m.name, err)
			}
			l.log.InfoContext(ctx, "ledger migration applied", "version", m.version, "name", m.name)
		}
		return nil
	})
}

func appliedVersions(ctx context.Context, tx *sql.Tx) ([]int, error) {
	var vs []int
	err := eachRow(ctx, tx, func(rows *sql.Rows) error {
		var v int
		if err := rows.Scan(&v); err != nil {
			return err
		}
		vs = append(vs, v)
		return nil
	}, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return vs, nil
}

// SchemaVersion returns the highest applied migration.
func (l *Ledger) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := l.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("ledger: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// inTx runs fn in a transaction, committing when it returns nil.
func (l *Ledger) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: %s: begin: %w", op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("ledger: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: %s: commit: %w", op, err)
	}
	return nil
}

// errExists tells Post that the key was already recorded.
var errExists = errors.New("posting key exists")

// Post records p once under p.Key. It returns the recorded posting (in
// canonical form: At in UTC to the microsecond, amounts at their currency's
// scale) and whether this call created it. Posting a key again with the same
// content (entries in any order, 1.0 and 1.00 alike) returns the existing
// posting and created=false; with other content it fails with
// ErrConflictingPosting naming the key and the first difference. An invalid
// posting fails with ErrInvalidPosting, an unbalanced one with ErrUnbalanced.
func (l *Ledger) Post(ctx context.Context, p Posting) (posting Posting, created bool, err error) {
	np, err := p.normalize()
	if err != nil {
		return Posting{}, false, err
	}
	err = l.inTx(ctx, "post "+strconv.Quote(np.Key), func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO postings (posting_key, order_id, merchant_id, kind, effective_at, memo)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (posting_key) DO NOTHING RETURNING id`,
			np.Key, np.OrderID, np.MerchantID, np.Kind, l.d.timeArg(np.At), np.Memo).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errExists
		}
		if err != nil {
			return err
		}
		for i, e := range np.Entries {
			amt, err := l.d.amountArg(e.Amount)
			if err != nil {
				return fmt.Errorf("entries[%d]: %w", i, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO entries (posting_id, seq, account, account_type, currency, amount)
				VALUES ($1, $2, $3, $4, $5, $6)`,
				id, i, string(e.Account), string(e.Account.Type()), string(e.Amount.Currency()), amt); err != nil {
				return fmt.Errorf("entries[%d]: %w", i, err)
			}
		}
		return nil
	})
	if err == nil {
		return np, true, nil
	}
	if !errors.Is(err, errExists) {
		return Posting{}, false, err
	}
	stored, found, err := l.PostingByKey(ctx, np.Key)
	if err != nil {
		return Posting{}, false, err
	}
	if !found {
		return Posting{}, false, fmt.Errorf("ledger: post %q: key reported taken but not found", np.Key)
	}
	if d := diff(stored, np); d != "" {
		return Posting{}, false, fmt.Errorf("%w: key %q: %s", ErrConflictingPosting, np.Key, d)
	}
	return stored, false, nil
}
