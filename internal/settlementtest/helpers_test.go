package settlementtest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/temporaltest"
	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/providerset"
	"github.com/xhspay/xhspay/sandbox"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	temporaltest.Main(m)
}

var quiet = slog.New(slog.DiscardHandler)

// chinaTime is UTC+8, the providers' business days.
var chinaTime = time.FixedZone("CST", 8*3600)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// openLedger opens a ledger on a SQLite file of the test (workers and the
// API share it, as they share the database in production).
func openLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// startSandboxes starts the provider sandboxes on the clock now and builds
// the real adapters on them.
func startSandboxes(t *testing.T, cfg sandbox.EnvConfig) (*sandbox.Env, *providerset.Set) {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	cfg.Logger = quiet
	env, err := sandbox.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(env.Close)
	set, err := providerset.Build(ctx, env.Credentials(), providerset.Options{Logger: quiet})
	require.NoError(t, err)
	return env, set
}

// metricsClient is a client of the package's server that records the SDK's
// and the workflows' metrics in reg.
func metricsClient(t *testing.T, reg *metrics.Registry) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: temporaltest.Address(), Namespace: temporaltest.Namespace(),
		MetricsHandler: metrics.TemporalHandler(reg), Logger: slogAdapter{}})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// slogAdapter discards the SDK's logs.
type slogAdapter struct{}

func (slogAdapter) Debug(string, ...any) {}
func (slogAdapter) Info(string, ...any)  {}
func (slogAdapter) Warn(string, ...any)  {}
func (slogAdapter) Error(string, ...any) {}

// scrape returns the metrics exposition of reg.
func scrape(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(b)
}

// rates is an FX feed whose rates the test sets per currency.
type rates struct {
	mu sync.Mutex
	r  map[money.Currency]string
}

func newRates(r map[money.Currency]string) *rates { return &rates{r: r} }

// Quote implements providers.FXRates.
func (f *rates) Quote(_ context.Context, base, counter money.Currency, at time.Time) (money.Quote, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.r[counter]
	if !ok || base != money.CNY {
		return money.Quote{}, providers.NewError("fx", "quote", providers.ErrTypeInvalidRequest, "", "no rate for "+base.String()+"/"+counter.String(), nil)
	}
	return money.Quote{Base: base, Counter: counter, Rate: decimal.RequireFromString(r), At: at, Source: "test-feed"}, nil
}

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

// settleDay is day d of China time, as YYYY-MM-DD.
func settleDay(d time.Time) string { return d.In(chinaTime).Format(time.DateOnly) }

// counterValue returns the value of the series of name whose labels include
// every one of labels ("" when there is none). The SDK adds its own labels
// (namespace, task queue, workflow type) to the workflows' metrics.
func counterValue(exposition, name string, labels ...string) string {
	for line := range strings.Lines(exposition) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), name+"{")
		if !ok {
			continue
		}
		set, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(","+set+",", ","+l+",")
		}
		if all {
			return value
		}
	}
	return ""
}
