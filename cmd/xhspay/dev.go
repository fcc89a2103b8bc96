package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/xhspay/xhspay/internal/devstack"
	"github.com/xhspay/xhspay/internal/temporalserver"
	"github.com/xhspay/xhspay/sandbox"
)

// devConfig holds the dev command's flags.
type devConfig struct {
	host      string
	port      int
	uiPort    int
	apiPort   int
	dataDir   string
	inMemory  bool
	exit      bool
	scenarios bool
	logFile   string
}

// runDev starts the whole stack in this process (embedded Temporal server and
// Web UI, sandboxes, worker, API), plays the scripted demo orders through the
// API and prints where each ended; then it keeps everything up until
// interrupted, or with -exit stops at once. It fails when a scenario did not
// end in its expected state.
func runDev(ctx context.Context, _ *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var cfg devConfig
	fs.StringVar(&cfg.host, "host", temporalserver.DefaultHost, "address the servers listen on")
	fs.IntVar(&cfg.port, "port", temporalserver.DefaultPort, "Temporal frontend port")
	fs.IntVar(&cfg.uiPort, "ui-port", temporalserver.DefaultUIPort, "Temporal Web UI port (-1 disables the UI)")
	fs.IntVar(&cfg.apiPort, "api-port", 8080, "store API port")
	fs.StringVar(&cfg.dataDir, "data-dir", ".xhspay", "folder for the demo's databases, secrets and log")
	fs.BoolVar(&cfg.inMemory, "in-memory", false, "keep every database in memory (nothing is written to -data-dir)")
	fs.BoolVar(&cfg.exit, "exit", false, "stop after the scripted orders instead of waiting for Ctrl-C")
	fs.BoolVar(&cfg.scenarios, "scenarios", true, "play the scripted demo orders")
	fs.StringVar(&cfg.logFile, "log-file", "", `log file (default <data-dir>/dev.log, with -in-memory xhspay-dev.log in the temporary folder; "-" logs warnings to stderr)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, closeLog, err := devLogger(cfg)
	if err != nil {
		return err
	}
	defer closeLog()
	// Libraries that log through the default logger (the ledger) log there too.
	slog.SetDefault(logger)

	stackCfg := devstack.Config{
		Host: cfg.host, TemporalPort: cfg.port, UIPort: cfg.uiPort, APIPort: cfg.apiPort,
		Logger: logger, Fast: true,
	}
	if cfg.inMemory {
		stackCfg.InMemory = true
	} else {
		stackCfg.DataDir = cfg.dataDir
	}
	began := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	stack, err := devstack.Start(startCtx, stackCfg)
	cancel()
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer func() {
		if err := stack.Close(); err != nil {
			logger.Warn("stop", "err", err)
		}
	}()
	out := os.Stdout
	fmt.Fprintf(out, "xhspay dev: everything up in %s\n", time.Since(began).Round(100*time.Millisecond))
	fmt.Fprintf(out, "  Temporal frontend  %s (namespace %q)\n", stack.FrontendAddress, stack.Namespace)
	if stack.UIURL != "" {
		fmt.Fprintf(out, "  Temporal Web UI    %s\n", stack.WorkflowsURL(""))
	}
	fmt.Fprintf(out, "  store API          %s\n", stack.APIURL)
	if cfg.logFile != "-" {
		fmt.Fprintf(out, "  log                %s\n", logPath(cfg))
	}

	var failures int
	if cfg.scenarios {
		failures = playScenarios(ctx, out, stack)
	}
	if cfg.exit {
		if failures > 0 {
			return fmt.Errorf("dev: %d of %d scenarios did not end in their expected state", failures, len(devstack.Scenarios()))
		}
		return nil
	}
	printUsage(out, stack)
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping")
	if failures > 0 {
		return fmt.Errorf("dev: %d scenarios did not end in their expected state", failures)
	}
	return nil
}

// logPath is where the demo logs.
func logPath(cfg devConfig) string {
	switch {
	case cfg.logFile != "":
		return cfg.logFile
	case cfg.inMemory:
		return filepath.Join(os.TempDir(), "xhspay-dev.log")
	}
	return filepath.Join(cfg.dataDir, "dev.log")
}

// devLogger returns the stack's logger: info and above to the log file, or
// warnings and above to stderr.
func devLogger(cfg devConfig) (*slog.Logger, func(), error) {
	if cfg.logFile == "-" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), func() {}, nil
	}
	path := logPath(cfg)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("dev: log folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("dev: log file: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})), func() { _ = f.Close() }, nil
}

// isTerminal reports whether f is a terminal (progress then redraws one line).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// playScenarios runs the scripted orders, shows their progress, prints the
// results and returns how many failed.
func playScenarios(ctx context.Context, out *os.File, stack *devstack.Stack) int {
	scenarios := devstack.Scenarios()
	runID := devstack.NewRunID()
	fmt.Fprintf(out, "\nPlaying %d scripted orders (run %s) through the API...\n", len(scenarios), runID)
	tty := isTerminal(out)
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	// On a terminal one line shows what is still running, redrawn as
	// scenarios end and every half second; otherwise one line per scenario.
	var mu sync.Mutex
	var last devstack.Progress
	draw := func() {
		line := fmt.Sprintf("[%d/%d done, %s] %s", last.Done, last.Total, time.Since(began).Round(100*time.Millisecond), strings.Join(last.Running, ", "))
		if len(line) > 110 {
			line = line[:107] + "..."
		}
		fmt.Fprintf(out, "\r\033[K%s", line)
	}
	stopTicker := make(chan struct{})
	var ticking sync.WaitGroup
	if tty {
		ticking.Go(func() {
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopTicker:
					return
				case <-t.C:
					mu.Lock()
					draw()
					mu.Unlock()
				}
			}
		})
	}
	results := devstack.RunScenarios(ctx, stack, runID, scenarios, func(p devstack.Progress) {
		mu.Lock()
		defer mu.Unlock()
		last = p
		if tty {
			draw()
			return
		}
		if r := p.Finished; r != nil {
			mark := "ok"
			if !r.OK() {
				mark = "FAIL"
			}
			fmt.Fprintf(out, "[%d/%d done, %s] %s: %s %s\n", p.Done, p.Total, time.Since(began).Round(100*time.Millisecond), r.Scenario.Name, r.Outcome.State, mark)
		}
	})
	close(stopTicker)
	ticking.Wait()
	if tty {
		fmt.Fprint(out, "\r\033[K")
	}
	failures := printResults(out, stack, results)
	fmt.Fprintf(out, "\n%d of %d scenarios in their expected state; scripted run took %s\n",
		len(results)-failures, len(results), time.Since(began).Round(100*time.Millisecond))
	return failures
}

// printResults prints the results table, what happened in each scenario and
// where to see it in the Web UI; it returns the number of failures.
func printResults(w io.Writer, stack *devstack.Stack, results []devstack.Result) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\n#\tSCENARIO\tORDER ID\tPROVIDER\tEXPECTED\tFINAL\tRESULT\tTIME")
	failures := 0
	for i, r := range results {
		mark := "OK"
		if !r.OK() {
			mark = "FAIL"
			failures++
		}
		state := r.Outcome.State
		if state == "" {
			state = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, r.Scenario.Name, orDash(r.Outcome.OrderID), r.Scenario.Provider,
			r.Scenario.Expected, state, mark, r.Elapsed.Round(100*time.Millisecond))
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for i, r := range results {
		fmt.Fprintf(w, "%d. %s", i+1, r.Scenario.Title)
		if r.Outcome.Detail != "" {
			fmt.Fprintf(w, ": %s", r.Outcome.Detail)
		}
		fmt.Fprintln(w)
		if r.Err != nil {
			fmt.Fprintf(w, "   error: %v\n", r.Err)
		}
		switch q := r.UIQuery(); {
		case q != "" && stack.UIURL != "":
			fmt.Fprintf(w, "   %s\n", stack.WorkflowsURL(q))
		case q == "" && r.Err == nil:
			fmt.Fprintln(w, "   (no workflow: the API refused the order before starting anything)")
		}
	}
	return failures
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printUsage tells how to use the running stack from elsewhere.
func printUsage(w io.Writer, stack *devstack.Stack) {
	fmt.Fprintln(w, "\nEverything stays up until Ctrl-C:")
	if stack.UIURL != "" {
		fmt.Fprintf(w, "  Web UI        %s\n", stack.WorkflowsURL(""))
		fmt.Fprintf(w, "                %s (orders by state)\n", stack.WorkflowsURL(`OrderState="Completed"`))
	}
	fmt.Fprintf(w, "  Temporal      %s, namespace %q (any Temporal client; payloads are encrypted, decode with %s/codec)\n",
		stack.FrontendAddress, stack.Namespace, stack.APIURL)
	fmt.Fprintf(w, "  store API     %s (metrics %s/metrics)\n", stack.APIURL, stack.APIURL)
	for _, m := range stack.Merchants {
		fmt.Fprintf(w, "  API key       %-8s %s  (%s, settled in %s)\n", m.ID, m.APIKey, m.Name, m.HomeCurrency)
	}
	for _, name := range sandbox.Names() {
		fmt.Fprintf(w, "  sandbox       %-9s %s\n", name, stack.Sandbox.BaseURL(name))
	}
	if len(stack.Merchants) > 0 {
		fmt.Fprintf(w, "\nList the orders of %s:\n  curl -s -H 'Authorization: Bearer %s' %s/v1/orders\n",
			stack.Merchants[0].ID, stack.Merchants[0].APIKey, stack.APIURL)
	}
	if stack.Timings.PaymentExpiry > 0 {
		fmt.Fprintf(w, "\nDemo timings: unpaid orders expire after %s.\n", stack.Timings.PaymentExpiry)
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}
