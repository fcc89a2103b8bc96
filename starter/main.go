// Command starter serves the xhspay HTTP API: the store API merchants' backends
// call to create and drive orders, the notification endpoints of the payment
// providers and customs, /healthz and /metrics. It starts, updates, signals
// and queries the order workflows in Temporal; the worker runs them.
//
// Flags take their defaults from the environment: XHSPAY_API_ADDR
// (127.0.0.1:8080), XHSPAY_TASK_QUEUE (xhspay-orders), XHSPAY_MERCHANTS_FILE,
// XHSPAY_PROVIDERS_DIR (the provider credentials, as the sandbox writes them),
// TEMPORAL_ADDRESS and the other Temporal settings, and XHSPAY_CODEC_KEYS (the
// payload encryption keyring, which must be the worker's) and XHSPAY_LEDGER_DSN
// (the worker's ledger, read for the finance reports; "none" disables those
// routes). SIGHUP reloads the
// merchants file (API key rotation); SIGINT and SIGTERM stop it gracefully.
//
//	starter -new-api-key   prints a new API key and the hash to put in the merchants file
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/internal/app"
	"github.com/xhspay/xhspay/internal/codec"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/tclient"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/starter/api"
)

// Server timeouts. The write timeout exceeds the API's order creation
// timeout, which waits for the provider to create the payment.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 75 * time.Second
	idleTimeout       = 2 * time.Minute
	createTimeout     = 60 * time.Second
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		logger.Error("starter failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("starter", flag.ContinueOnError)
	var tc tclient.Config
	tc.RegisterFlags(fs)
	taskQueue := fs.String("task-queue", app.Env("XHSPAY_TASK_QUEUE", app.DefaultTaskQueue), "orders' task queue (env XHSPAY_TASK_QUEUE)")
	providersDir := fs.String("providers-dir", app.Env("XHSPAY_PROVIDERS_DIR", "sandbox-credentials"), "folder of provider credentials (env XHSPAY_PROVIDERS_DIR)")
	addr := fs.String("addr", app.Env("XHSPAY_API_ADDR", "127.0.0.1:8080"), "listen address (env XHSPAY_API_ADDR)")
	merchantsFile := fs.String("merchants-file", app.Env("XHSPAY_MERCHANTS_FILE", ""), "merchants and API key hashes, JSON (env XHSPAY_MERCHANTS_FILE)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 20*time.Second, "how long running requests may take to finish on shutdown")
	newKey := fs.Bool("new-api-key", false, "print a new API key and its hash for the merchants file, and exit")
	ledgerDSN := fs.String("ledger-dsn", app.Env("XHSPAY_LEDGER_DSN", app.DefaultLedgerDSN),
		`the worker's ledger, read for the finance reports; "none" disables them (env XHSPAY_LEDGER_DSN)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *newKey {
		key, hash, err := api.GenerateAPIKey()
		if err != nil {
			return err
		}
		fmt.Printf("api key (give to the merchant, store nowhere): %s\nkey hash (add to keyHashes):                 %s\n", key, hash)
		return nil
	}
	if *merchantsFile == "" {
		return errors.New("-merchants-file (XHSPAY_MERCHANTS_FILE) is required")
	}
	merchants, err := api.LoadMerchantsFile(*merchantsFile)
	if err != nil {
		return err
	}

	rt, err := app.Connect(ctx, tc, *providersDir, logger)
	if err != nil {
		return err
	}
	defer rt.Close()
	cl, reg, cdc, provs := rt.Client, rt.Metrics, rt.Codec, rt.Providers
	books, err := app.OpenLedger(ctx, *ledgerDSN)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}

	cfg := api.Config{
		Temporal:  cl,
		TaskQueue: *taskQueue,
		Merchants: merchants,
		Notifiers: map[providers.Name]api.NotificationParser{
			providers.Alipay: provs.Alipay, providers.WeChatPay: provs.WeChatPay, providers.Card: provs.Card,
		},
		Customs:       provs.Customs,
		Payouts:       provs.Card,
		Logger:        logger,
		Metrics:       reg,
		CreateTimeout: createTimeout,
	}
	if cdc != nil {
		cfg.DataConverter = cdc.DataConverter()
	}
	if books != nil {
		defer books.Close()
		cfg.Finance = &activities.FinanceReports{Ledger: books, Rates: provs.FX}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", api.New(cfg))
	mux.Handle("GET /metrics", metrics.Handler(reg))
	mux.HandleFunc("GET /healthz", healthz(cl))
	if cdc != nil {
		codecHandler, err := codec.NewHandler(codec.ServerOptionsFromEnv(os.Getenv, cdc, tc.Namespace))
		switch {
		case errors.Is(err, codec.ErrNoAuth):
			logger.Warn("codec server not served: set XHSPAY_CODEC_DECODE_TOKENS (and XHSPAY_CODEC_ORIGINS) to let the Web UI decode payloads")
		case err != nil:
			return err
		default:
			mux.Handle("/codec/", http.StripPrefix("/codec", codecHandler))
		}
	}

	srv := &http.Server{
		Addr:              *addr,
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	go reloadOnHangup(ctx, logger, merchants)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("api listening", "addr", ln.Addr().String(), "temporal", tc.Address, "namespace", tc.Namespace,
		"taskQueue", *taskQueue, "encrypted", cdc != nil)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("api stopping", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("api stopped")
	return nil
}

// healthz answers 200 while Temporal answers, 503 otherwise.
func healthz(cl client.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if _, err := cl.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable","temporal":"unreachable"}` + "\n"))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}
}

// reloadOnHangup re-reads the merchants file on SIGHUP.
func reloadOnHangup(ctx context.Context, logger *slog.Logger, m *api.FileMerchantStore) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := m.Reload(); err != nil {
				logger.Error("merchants file reload failed; keeping the previous merchants", "err", err)
				continue
			}
			logger.Info("merchants file reloaded")
		}
	}
}
