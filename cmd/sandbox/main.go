// Command sandbox runs every provider sandbox — Alipay, WeChat Pay, customs,
// the card PSP and the FX feed — on fixed local ports, writes their freshly
// generated credentials into a directory, prints the base URLs and runs until
// SIGINT or SIGTERM.
//
//	go run ./cmd/sandbox -dir ./sandbox-credentials -notify-base-url http://127.0.0.1:8080/notify/
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/xhspay/xhspay/sandbox"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

// run parses the flags, starts the environment and waits for a signal or ctx.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ports := sandbox.DefaultPorts()
	dir := fs.String("dir", "./sandbox-credentials", "directory to write the credentials into")
	host := fs.String("host", "127.0.0.1", "interface to listen on")
	fs.IntVar(&ports.Alipay, "alipay-port", ports.Alipay, "Alipay sandbox port (0 = any free port)")
	fs.IntVar(&ports.WeChatPay, "wechatpay-port", ports.WeChatPay, "WeChat Pay sandbox port")
	fs.IntVar(&ports.Customs, "customs-port", ports.Customs, "customs sandbox port")
	fs.IntVar(&ports.CardPSP, "card-port", ports.CardPSP, "card PSP sandbox port")
	fs.IntVar(&ports.FX, "fx-port", ports.FX, "FX sandbox port")
	notify := fs.String("notify-base-url", "", "base URL of the notification endpoints (customs and card notifications go to <base>customs and <base>card)")
	seed := fs.Int64("seed", 1, "seed of the FX rate series")
	clearance := fs.Duration("clearance-delay", 0, "how long customs takes to decide (0 = default 2s, negative = at once)")
	arrival := fs.Duration("return-arrival-delay", 0, "returned goods arrive this long after filing (0 = only when told)")
	payout := fs.Duration("payout-delay", 0, "how long card PSP payouts stay processing (0 = default 2s)")
	notifyRetry := fs.Duration("notify-retry", 5*time.Second, "wait between Alipay and WeChat Pay notification retries (0 = their real schedules)")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	cfg := sandbox.EnvConfig{
		Host: *host, Ports: ports, NotifyBaseURL: *notify, CredentialsDir: *dir, Seed: *seed,
		ClearanceDelay: *clearance, ReturnArrivalDelay: *arrival, PayoutDelay: *payout, Logger: logger,
	}
	if *notifyRetry > 0 {
		cfg.NotifyRetry = []time.Duration{*notifyRetry, *notifyRetry, *notifyRetry, *notifyRetry, *notifyRetry, *notifyRetry, *notifyRetry, *notifyRetry}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := sandbox.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer env.Close()

	fmt.Fprintf(stdout, "credentials written to %s\n", *dir)
	for _, name := range sandbox.Names() {
		fmt.Fprintf(stdout, "%-10s %s\n", name, env.BaseURL(name))
	}
	fmt.Fprintln(stdout, "press Ctrl-C to stop")
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}
