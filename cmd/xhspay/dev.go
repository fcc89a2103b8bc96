package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/xhspay/xhspay/internal/temporalserver"
)

// devConfig holds the dev command's flags.
type devConfig struct {
	host     string
	port     int
	uiPort   int
	dataDir  string
	inMemory bool
	exit     bool
}

// runDev starts the embedded Temporal server and Web UI and keeps them up
// until interrupted (or, with -exit, until the demo finished).
func runDev(ctx context.Context, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var cfg devConfig
	fs.StringVar(&cfg.host, "host", temporalserver.DefaultHost, "address the servers listen on")
	fs.IntVar(&cfg.port, "port", temporalserver.DefaultPort, "Temporal frontend port")
	fs.IntVar(&cfg.uiPort, "ui-port", temporalserver.DefaultUIPort, "Temporal Web UI port (-1 disables the UI)")
	fs.StringVar(&cfg.dataDir, "data-dir", ".xhspay", "folder for the demo's Temporal database")
	fs.BoolVar(&cfg.inMemory, "in-memory", false, "keep the Temporal database in memory")
	fs.BoolVar(&cfg.exit, "exit", false, "stop after the demo instead of waiting for Ctrl-C")
	if err := fs.Parse(args); err != nil {
		return err
	}

	opts := temporalserver.Options{
		Host: cfg.host, Port: cfg.port, UIPort: cfg.uiPort,
		Logger: logger.With("component", "temporal"),
	}
	if !cfg.inMemory {
		if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
			return fmt.Errorf("dev: create data dir: %w", err)
		}
		opts.DBFile = filepath.Join(cfg.dataDir, "temporal.db")
	}
	began := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	srv, err := temporalserver.Start(startCtx, opts)
	cancel()
	if err != nil {
		return fmt.Errorf("dev: start Temporal: %w", err)
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			logger.Warn("stop Temporal", "err", err)
		}
	}()
	logger.Info("Temporal server ready", "frontend", srv.FrontendAddress(), "namespace", srv.Namespace(), "startup", time.Since(began).Round(time.Millisecond))
	if ui := srv.UIAddress(); ui != "" {
		fmt.Printf("Temporal Web UI: http://%s/namespaces/%s/workflows\n", ui, srv.Namespace())
	}
	fmt.Printf("Temporal frontend: %s (namespace %q)\n", srv.FrontendAddress(), srv.Namespace())

	if cfg.exit {
		return nil
	}
	fmt.Println("Press Ctrl-C to stop.")
	<-ctx.Done()
	logger.Info("stopping")
	return nil
}
