// Command ledger inspects the ledger from a shell:
//
//	ledger check    -dsn DSN              check the journal's invariants; exit 1 listing the violations
//	ledger balances -dsn DSN -order X     an order's balances per account and its money by stage
//	ledger balances -dsn DSN [-account A] [-type T] [-merchant M] [-currency C] [-as-of TIME]
//	ledger postings -dsn DSN [-order X] [-merchant M] [-kind K] [-from TIME] [-to TIME] [-limit N]
//
// DSN defaults to $XHSPAY_LEDGER_DSN (sqlite:path, sqlite::memory: or
// postgres://...). TIME is RFC 3339. -json prints JSON instead of text.
// Opening the ledger applies pending schema migrations, as every program does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
)

// Exit codes.
const (
	exitOK        = 0
	exitFailed    = 1 // violations found, or the command failed
	exitUsage     = 2
	dsnEnv        = "XHSPAY_LEDGER_DSN"
	usageCommands = `usage: ledger <command> [flags]

commands:
  check      check the journal's invariants (exit 1 listing the violations)
  balances   balances per account (-order X: an order's balances and money by stage)
  postings   list postings

Run "ledger <command> -h" for a command's flags.
`
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageCommands)
		return exitUsage
	}
	cmds := map[string]func(context.Context, *flag.FlagSet, []string, io.Writer) (int, error){
		"check":    runCheck,
		"balances": runBalances,
		"postings": runPostings,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] != "-h" && args[0] != "-help" && args[0] != "--help" && args[0] != "help" {
			fmt.Fprintf(stderr, "ledger: unknown command %q\n\n", args[0])
		}
		fmt.Fprint(stderr, usageCommands)
		return exitUsage
	}
	fs := flag.NewFlagSet("ledger "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	code, err := cmd(ctx, fs, args[1:], stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitUsage
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "ledger %s: %v\n", args[0], err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "ledger %s: %v\n", args[0], err)
		return exitFailed
	}
	return code
}

// usageError is a bad flag value.
type usageError struct{ msg string }

// Error returns the message.
func (e usageError) Error() string { return e.msg }

// common holds the flags every command takes.
type common struct {
	dsn  string
	json bool
}

func (c *common) register(fs *flag.FlagSet) {
	// The environment is read after parsing, so -h never prints a password.
	fs.StringVar(&c.dsn, "dsn", "", "ledger DSN: sqlite:path, sqlite::memory: or postgres://... (default $"+dsnEnv+")")
	fs.BoolVar(&c.json, "json", false, "print JSON")
}

// parse parses the flags and opens the ledger.
func (c *common) parse(ctx context.Context, fs *flag.FlagSet, args []string) (*ledger.Ledger, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	if c.dsn == "" {
		c.dsn = os.Getenv(dsnEnv)
	}
	if c.dsn == "" {
		return nil, usageError{"-dsn: required (or set $" + dsnEnv + ")"}
	}
	return ledger.Open(ctx, c.dsn)
}

// timeFlag is an optional RFC 3339 time flag.
type timeFlag struct{ t time.Time }

// String formats the time for flag defaults.
func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

// Set parses an RFC 3339 time.
func (f *timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want RFC 3339 (2006-01-02T15:04:05Z07:00): %w", err)
	}
	f.t = t
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runCheck(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) (int, error) {
	var c common
	c.register(fs)
	l, err := c.parse(ctx, fs, args)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	r, err := l.CheckInvariants(ctx)
	if err != nil {
		return 0, err
	}
	code := exitOK
	if !r.OK() {
		code = exitFailed
	}
	if c.json {
		return code, writeJSON(stdout, r)
	}
	for _, v := range r.Violations {
		fmt.Fprintln(stdout, v)
	}
	verdict := "OK"
	if !r.OK() {
		verdict = fmt.Sprintf("FAILED: %d violations", len(r.Violations))
	}
	_, err = fmt.Fprintf(stdout, "%s (%d postings, %d orders checked)\n", verdict, r.Postings, r.Orders)
	return code, err
}

func runBalances(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) (int, error) {
	var (
		c        common
		f        ledger.BalanceFilter
		account  string
		typ      string
		currency string
		asOf     timeFlag
	)
	c.register(fs)
	fs.StringVar(&f.OrderID, "order", "", "one order's balances, and its money by stage")
	fs.StringVar(&f.MerchantID, "merchant", "", "one merchant's postings")
	fs.StringVar(&account, "account", "", "one account (e.g. merchant_payable:acme)")
	fs.StringVar(&typ, "type", "", "every account of a type (e.g. merchant_payable)")
	fs.StringVar(&currency, "currency", "", "one currency (ISO 4217)")
	fs.Var(&asOf, "as-of", "postings effective at or before this time (RFC 3339)")
	l, err := c.parse(ctx, fs, args)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	if account != "" {
		if f.Account, err = ledger.ParseAccount(account); err != nil {
			return 0, usageError{"-account: " + err.Error()}
		}
	}
	f.Type = ledger.AccountType(typ)
	if currency != "" {
		if f.Currency, err = money.ParseCurrency(currency); err != nil {
			return 0, usageError{"-currency: " + err.Error()}
		}
	}
	f.AsOf = asOf.t
	bs, err := l.Balances(ctx, f)
	if err != nil {
		return 0, err
	}
	var flows []ledger.OrderFlow
	if f.OrderID != "" {
		if flows, err = l.OrderFlows(ctx, f.OrderID); err != nil {
			return 0, err
		}
	}
	if c.json {
		return exitOK, writeJSON(stdout, struct {
			Balances []ledger.AccountBalance `json:"balances"`
			Flows    []ledger.OrderFlow      `json:"flows,omitempty"`
		}{bs, flows})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tCURRENCY\tBALANCE")
	for _, b := range bs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", b.Account, b.Amount.Currency(), b.Amount.Number())
	}
	if err := tw.Flush(); err != nil || len(flows) == 0 {
		return exitOK, err
	}
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tCURRENCY\tCAPTURED\tRELEASED\tREFUNDED\tHELD")
	for _, fl := range flows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", fl.OrderID, fl.Captured.Currency(),
			fl.Captured.Number(), fl.Released.Number(), fl.Refunded.Number(), fl.Held.Number())
	}
	return exitOK, tw.Flush()
}

func runPostings(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) (int, error) {
	var (
		c        common
		f        ledger.PostingFilter
		from, to timeFlag
	)
	c.register(fs)
	fs.StringVar(&f.OrderID, "order", "", "one order's postings")
	fs.StringVar(&f.MerchantID, "merchant", "", "one merchant's postings")
	fs.StringVar(&f.Kind, "kind", "", "one kind (captured, released, ...)")
	fs.Var(&from, "from", "effective at or after (RFC 3339)")
	fs.Var(&to, "to", "effective before (RFC 3339)")
	fs.IntVar(&f.Limit, "limit", 100, "at most this many postings (0: all)")
	l, err := c.parse(ctx, fs, args)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	f.From, f.To = from.t, to.t
	ps, err := l.Postings(ctx, f)
	if err != nil {
		return 0, err
	}
	if c.json {
		return exitOK, writeJSON(stdout, ps)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tKEY\tORDER\tKIND\tACCOUNT\tAMOUNT")
	for _, p := range ps {
		for i, e := range p.Entries {
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t", p.At.Format(time.RFC3339Nano), p.Key, p.OrderID, p.Kind)
			} else {
				fmt.Fprint(tw, "\t\t\t\t")
			}
			fmt.Fprintf(tw, "%s\t%s\n", e.Account, e.Amount)
		}
	}
	return exitOK, tw.Flush()
}
