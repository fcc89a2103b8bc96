package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

// seed writes a small journal into a new SQLite file and returns its DSN.
func seed(t *testing.T, ps ...ledger.Posting) string {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	l, err := ledger.Open(context.Background(), dsn)
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()
	for _, p := range ps {
		_, _, err := l.Post(context.Background(), p)
		require.NoError(t, err)
	}
	return dsn
}

func capture(order, amount string) ledger.Posting {
	return ledger.Posting{Key: order + ":captured", OrderID: order, MerchantID: "acme", Kind: ledger.KindCaptured, At: t0,
		Entries: []ledger.Entry{
			{Account: ledger.BuyerReceivable("alipay"), Amount: cny(amount)},
			{Account: ledger.EscrowHeld(), Amount: cny(amount).Neg()},
		}}
}

func release(order, amount string) ledger.Posting {
	return ledger.Posting{Key: order + ":released", OrderID: order, MerchantID: "acme", Kind: ledger.KindReleased, At: t0.Add(time.Hour),
		Entries: []ledger.Entry{
			{Account: ledger.EscrowHeld(), Amount: cny(amount)},
			{Account: ledger.MerchantPayable("acme"), Amount: cny(amount).Neg()},
		}}
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheck(t *testing.T) {
	clean := seed(t, capture("o-1", "109.10"), release("o-1", "109.10"))
	code, out, _ := runCmd(t, "check", "-dsn", clean)
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "OK (2 postings, 1 orders checked)\n", out)

	bypass := capture("o-2", "50.00")
	bypass.Entries[1].Account = ledger.MerchantPayable("acme")
	broken := seed(t, capture("o-1", "109.10"), bypass)
	code, out, _ = runCmd(t, "check", "-dsn", broken)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, "order_not_conserved: order o-2: captured 50.00 CNY")
	assert.Contains(t, out, "FAILED: 1 violations (2 postings, 2 orders checked)")

	t.Setenv("XHSPAY_LEDGER_DSN", broken)
	code, out, _ = runCmd(t, "check", "-json")
	assert.Equal(t, exitFailed, code)
	var r ledger.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Len(t, r.Violations, 1)
	assert.Equal(t, ledger.RuleOrderNotConserved, r.Violations[0].Rule)
}

func TestBalances(t *testing.T) {
	dsn := seed(t, capture("o-1", "109.10"), release("o-1", "100.00"), capture("o-2", "5.00"))
	code, out, errOut := runCmd(t, "balances", "-dsn", dsn, "-order", "o-1")
	require.Equal(t, exitOK, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7, out)
	assert.Equal(t, []string{"ACCOUNT", "CURRENCY", "BALANCE"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"buyer_receivable:alipay", "CNY", "109.10"}, strings.Fields(lines[1]))
	assert.Equal(t, []string{"escrow_held", "CNY", "-9.10"}, strings.Fields(lines[2]))
	assert.Equal(t, []string{"merchant_payable:acme", "CNY", "-100.00"}, strings.Fields(lines[3]))
	assert.Equal(t, []string{"o-1", "CNY", "109.10", "100.00", "0.00", "9.10"}, strings.Fields(lines[6]))

	code, out, _ = runCmd(t, "balances", "-dsn", dsn, "-account", "escrow_held", "-as-of", "2025-03-01T10:30:00Z", "-json")
	require.Equal(t, exitOK, code)
	var got struct {
		Balances []ledger.AccountBalance `json:"balances"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got.Balances, 1)
	assert.True(t, got.Balances[0].Amount.Equal(cny("-114.10")), "both captures, before the release")
}

func TestPostings(t *testing.T) {
	dsn := seed(t, capture("o-1", "109.10"), release("o-1", "100.00"))
	code, out, _ := runCmd(t, "postings", "-dsn", dsn, "-kind", "released")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "o-1:released")
	assert.NotContains(t, out, "o-1:captured")
}

func TestUsage(t *testing.T) {
	cases := [][]string{
		{},
		{"nope"},
		{"check"}, // no DSN
		{"check", "-dsn", "sqlite::memory:", "extra"},
		{"balances", "-dsn", "sqlite::memory:", "-account", "cash"},
		{"balances", "-dsn", "sqlite::memory:", "-currency", "XXX"},
		{"balances", "-dsn", "sqlite::memory:", "-as-of", "yesterday"},
	}
	t.Setenv("XHSPAY_LEDGER_DSN", "")
	for _, args := range cases {
		code, _, errOut := runCmd(t, args...)
		assert.Equal(t, exitUsage, code, "%q: %s", args, errOut)
		assert.NotEmpty(t, errOut)
	}
	code, _, errOut := runCmd(t, "check", "-dsn", "mysql://x")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errOut, "must start with sqlite: or postgres://")
}
