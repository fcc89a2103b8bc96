package app

import (
	"context"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
)

func TestFinanceSettings(t *testing.T) {
	t.Setenv("XHSPAY_SETTLEMENT_EVERY", "12h")
	var s FinanceSettings
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	s.RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"-settlement-delays", "alipay=2, card=3", "-settlement-fees", "card=0.025"}))
	assert.Equal(t, DefaultLedgerDSN, s.LedgerDSN)
	assert.Equal(t, 12*time.Hour, s.SettlementEvery)
	assert.Equal(t, 18*time.Hour, s.SettlementOffset)
	cfg, err := s.SettlementConfig()
	require.NoError(t, err)
	assert.Equal(t, map[providers.Name]int{providers.Alipay: 2, providers.Card: 3}, cfg.Delays)
	assert.Equal(t, "0.025", cfg.FeeRates[providers.Card].String())
	assert.Equal(t, "1210", cfg.TradeType)

	for _, bad := range []FinanceSettings{
		{Delays: "paypal=1"}, {Delays: "alipay"}, {Delays: "alipay=x"}, {Delays: "alipay=-1"},
		{Fees: "card=1.5"}, {Fees: "card=abc"}, {TradeType: "0110"},
	} {
		_, err := bad.SettlementConfig()
		assert.Error(t, err, "%+v", bad)
	}
}

func TestOpenLedger(t *testing.T) {
	ctx := context.Background()
	l, err := OpenLedger(ctx, "none")
	require.NoError(t, err)
	assert.Nil(t, l)
	l, err = OpenLedger(ctx, "sqlite:"+filepath.Join(t.TempDir(), "nested", "dir", "ledger.db"))
	require.NoError(t, err, "the folder is created")
	require.NoError(t, l.Close())
	_, err = OpenLedger(ctx, "mysql://x")
	require.Error(t, err)
}

func TestEnsureSchedulesRefusesAnOffsetOutsideTheInterval(t *testing.T) {
	err := EnsureSchedules(context.Background(), nil, FinanceSchedules{SettlementEvery: time.Hour, SettlementOffset: 2 * time.Hour}, nil)
	require.ErrorContains(t, err, "offset 2h0m0s must be within the interval 1h0m0s")
}
