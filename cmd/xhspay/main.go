// Command xhspay is the project's all-in-one tool:
//
//	xhspay dev                 the demo: embedded Temporal server + Web UI and everything else in one process
//	xhspay search-attributes   registers the project's search attributes on an external cluster
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	// Signals are caught before anything starts, so a Ctrl-C during start-up
	// stops cleanly instead of killing the process half-way.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch os.Args[1] {
	case "dev":
		err = runDev(ctx, logger, os.Args[2:])
	case "search-attributes":
		err = runSearchAttributes(ctx, logger, os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "xhspay: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		logger.Error("xhspay failed", "command", os.Args[1], "err", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: xhspay <command> [flags]

commands:
  dev                 run the demo: embedded Temporal server and Web UI, sandboxes, worker and API
  search-attributes   register the project's search attributes on a Temporal namespace

Run "xhspay <command> -h" for a command's flags.
`)
}
