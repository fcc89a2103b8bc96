package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/internal/tclient"
)

// runSearchAttributes registers the project's custom search attributes on a
// namespace of an external cluster (the embedded server registers them itself).
func runSearchAttributes(ctx context.Context, logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("search-attributes", flag.ContinueOnError)
	var cfg tclient.Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl, err := cfg.Dial(ctx, logger, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	defs := searchattr.Definitions()
	if err := tclient.EnsureSearchAttributes(ctx, cl, cfg.Namespace, defs); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		fmt.Printf("%-14s %s\n", name, defs[name])
	}
	logger.Info("search attributes registered", "namespace", cfg.Namespace, "address", cfg.Address)
	return nil
}
