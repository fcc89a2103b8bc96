// Command worker runs the order and refund workflows and their activities
// against a Temporal cluster, calling the providers whose credentials it is
// given. It stops gracefully on SIGINT or SIGTERM, letting running activities
// finish within the stop timeout.
//
// The ledger is XHSPAY_LEDGER_DSN (-ledger-dsn): PostgreSQL in production, by
// default a SQLite file .xhspay/ledger.db under the working directory; "none"
// runs the orders without bookkeeping. With a ledger the worker also runs
// the settlements and reconciliations, and on start creates (or updates)
// their Temporal Schedules: settlement daily at 02:00 China time
// (-settlement-every, -settlement-offset), reconciliation of the previous day
// at 03:00 (-reconcile-every, -reconcile-offset); an interval of 0 creates
// none. -settlement-delays and -settlement-fees set T+N and the provider fees
// per provider.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/xhspay/xhspay/internal/app"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/internal/tclient"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger, os.Args[1:]); err != nil {
		logger.Error("worker failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var tc tclient.Config
	var s app.Settings
	var fin app.FinanceSettings
	tc.RegisterFlags(fs)
	s.RegisterFlags(fs)
	fin.RegisterFlags(fs)
	registerSA := fs.Bool("register-search-attributes", app.Env("XHSPAY_REGISTER_SEARCH_ATTRIBUTES", "true") == "true",
		"register the project's search attributes on start when missing (env XHSPAY_REGISTER_SEARCH_ATTRIBUTES)")
	metricsAddr := fs.String("metrics-addr", app.Env("XHSPAY_METRICS_ADDR", "127.0.0.1:9090"), "Prometheus /metrics listen address, empty for none (env XHSPAY_METRICS_ADDR)")
	stopTimeout := fs.Duration("stop-timeout", 30*time.Second, "how long running activities may take to finish on shutdown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hashKey, err := app.DecodeKey("-buyer-hash-key", s.BuyerHashKey)
	if err != nil {
		return err
	}
	settlement, err := fin.SettlementConfig()
	if err != nil {
		return err
	}
	books, err := app.OpenLedger(ctx, fin.LedgerDSN)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if books != nil {
		defer books.Close()
		logger.Info("ledger open", "backend", books.Backend())
	} else {
		logger.Warn("no ledger (-ledger-dsn none): orders are not booked, nothing is settled or reconciled")
	}
	rt, err := app.Connect(ctx, tc, s.ProvidersDir, logger)
	if err != nil {
		return err
	}
	defer rt.Close()
	cl, reg, provs := rt.Client, rt.Metrics, rt.Providers
	if *registerSA {
		if err := tclient.EnsureSearchAttributes(ctx, cl, tc.Namespace, searchattr.Definitions()); err != nil {
			return err
		}
	}
	w, err := app.NewWorker(app.WorkerConfig{
		Client: cl, TaskQueue: s.TaskQueue, Providers: provs,
		PublicBaseURL: s.PublicBaseURL, CustomsCode: s.CustomsCode,
		PlatformCode: s.PlatformCode, PlatformName: s.PlatformName,
		BuyerHashKey: hashKey, Ledger: books, Settlement: settlement,
		Options: worker.Options{WorkerStopTimeout: *stopTimeout},
		Logger:  logger,
	})
	if err != nil {
		return err
	}
	if books != nil {
		if err := app.EnsureSchedules(ctx, cl, app.FinanceSchedules{TaskQueue: s.TaskQueue,
			SettlementEvery: fin.SettlementEvery, SettlementOffset: fin.SettlementOffset,
			ReconcileEvery: fin.ReconcileEvery, ReconcileOffset: fin.ReconcileOffset}, logger); err != nil {
			return err
		}
	}
	if *metricsAddr != "" {
		srv, err := serveMetrics(*metricsAddr, reg, logger)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	logger.Info("worker started", "address", tc.Address, "namespace", tc.Namespace, "taskQueue", s.TaskQueue)
	<-ctx.Done()
	logger.Info("worker stopping", "stopTimeout", *stopTimeout)
	w.Stop()
	return nil
}

// serveMetrics serves /metrics on addr until the returned server is closed.
func serveMetrics(addr string, reg *metrics.Registry, logger *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			logger.Error("metrics server", "err", err)
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return srv, nil
}
