package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain keeps the migration log lines out of the test output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// defaultPostgresDSN is where scripts/postgres.sh puts the test database.
const defaultPostgresDSN = "postgres://xhspay:xhspay@127.0.0.1:5432/xhspay_test?sslmode=disable"

// backend gives each test a fresh, empty ledger database of one kind.
type backend struct {
	name string
	// newDSN returns the DSN of a new empty database, removed when t ends.
	newDSN func(t *testing.T) string
}

// open opens a ledger on dsn, closed when t ends.
func open(t *testing.T, dsn string) *Ledger {
	t.Helper()
	l, err := Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

// fresh opens a ledger on a new empty database of b.
func (b backend) fresh(t *testing.T) *Ledger {
	t.Helper()
	return open(t, b.newDSN(t))
}

var sqliteBackend = backend{
	name: "sqlite",
	newDSN: func(t *testing.T) string {
		// A file, not memory: the suite exercises WAL, several connections
		// and reopening; memory databases have their own test.
		return "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	},
}

var postgresBackend = backend{
	name: "postgres",
	newDSN: func(t *testing.T) string {
		t.Helper()
		admin, dsn := postgresAdmin(t)
		schema := "ledger_test_" + randomHex(t, 8)
		_, err := admin.Exec("CREATE SCHEMA " + schema)
		require.NoError(t, err)
		t.Cleanup(func() {
			_, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			require.NoError(t, err)
		})
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	},
}

var (
	pgOnce  sync.Once
	pgAdmin *sql.DB
	pgDSN   string
	pgErr   error
)

// postgresAdmin returns a connection to the test PostgreSQL and its DSN. When
// none answers the test is skipped, unless CI is set: then it fails.
func postgresAdmin(t *testing.T) (*sql.DB, string) {
	t.Helper()
	pgOnce.Do(func() {
		pgDSN = os.Getenv("XHSPAY_TEST_POSTGRES_DSN")
		if pgDSN == "" {
			pgDSN = defaultPostgresDSN
		}
		pgAdmin, pgErr = sql.Open("pgx", pgDSN)
		if pgErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		pgErr = pgAdmin.PingContext(ctx)
	})
	if pgErr != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("CI is set and the test PostgreSQL (%s) is unreachable: %v; start it with scripts/postgres.sh", redact(pgDSN), pgErr)
		}
		t.Skipf("no PostgreSQL at %s (%v); run scripts/postgres.sh to include the postgres backend", redact(pgDSN), pgErr)
	}
	return pgAdmin, pgDSN
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// suite is the table of tests every backend passes.
var suite = []struct {
	name string
	fn   func(t *testing.T, b backend)
}{
	{"BalancedAndUnbalanced", testBalancedAndUnbalanced},
	{"IdempotentRepost", testIdempotentRepost},
	{"ConflictingRepost", testConflictingRepost},
	{"ConcurrentPosting", testConcurrentPosting},
	{"BalancesAsOf", testBalancesAsOf},
	{"PostingsFilter", testPostingsFilter},
	{"InvariantsClean", testInvariantsClean},
	{"InvariantsViolations", testInvariantsViolations},
	{"MigrationsReapplied", testMigrationsReapplied},
	{"ConcurrentOpen", testConcurrentOpen},
	{"BatchMembershipUnique", testBatchMembershipUnique},
	{"UnsettledOrders", testUnsettledOrders},
	{"AppendOnly", testAppendOnly},
	{"LargeAmountsExact", testLargeAmountsExact},
	{"OrderRecords", testOrderRecords},
	{"OrderTypeBalances", testOrderTypeBalances},
	{"Documents", testDocuments},
}

// TestLedger runs the suite on SQLite and on PostgreSQL.
func TestLedger(t *testing.T) {
	for _, b := range []backend{sqliteBackend, postgresBackend} {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "postgres" {
				postgresAdmin(t) // skip (or fail under CI) once, not per test
			}
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
			}
		})
	}
}
