package workflows

import (
	"context"
	"io"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// testPayouts is a PSP whose payouts stay PROCESSING until paid.
type testPayouts struct {
	mu      sync.Mutex
	payouts map[string]providers.Payout
	// payOnQuery makes a query find the payout paid; except the payouts in manual.
	payOnQuery bool
	manual     map[string]bool
	requests   int
}

func newTestPayouts() *testPayouts { return &testPayouts{payouts: map[string]providers.Payout{}} }

func (p *testPayouts) Payout(_ context.Context, req providers.PayoutRequest) (providers.Payout, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if po, ok := p.payouts[req.OutPayoutNo]; ok {
		return po, nil
	}
	po := providers.Payout{OutPayoutNo: req.OutPayoutNo, PayoutID: "PO" + req.OutPayoutNo, Status: providers.PayoutProcessing, Amount: req.Amount}
	p.payouts[req.OutPayoutNo] = po
	return po, nil
}

func (p *testPayouts) QueryPayout(_ context.Context, no string) (providers.Payout, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	po, ok := p.payouts[no]
	if !ok {
		return providers.Payout{OutPayoutNo: no, Status: providers.PayoutNotFound}, nil
	}
	if p.payOnQuery && !p.manual[no] && po.Status == providers.PayoutProcessing {
		po.Status, po.PaidAt = providers.PayoutPaid, testStart.Add(time.Hour)
		p.payouts[no] = po
	}
	return po, nil
}

// pay marks a payout paid and returns it as its notification says.
func (p *testPayouts) pay(no string) providers.Payout {
	p.mu.Lock()
	defer p.mu.Unlock()
	po := p.payouts[no]
	po.Status, po.PaidAt = providers.PayoutPaid, testStart.Add(time.Hour)
	p.payouts[no] = po
	return po
}

// testRates quotes fixed rates per counter currency.
type testRates map[money.Currency]string

func (r testRates) Quote(_ context.Context, base, counter money.Currency, at time.Time) (money.Quote, error) {
	return money.Quote{Base: base, Counter: counter, Rate: decimal.RequireFromString(r[counter]), At: at, Source: "test"}, nil
}

// financeEnv is a test environment with a ledger and the finance activities.
type financeEnv struct {
	env     *testsuite.TestWorkflowEnvironment
	l       *ledger.Ledger
	payouts *testPayouts
	bills   map[providers.Name]providers.BillSource
	reg     *metrics.Registry
}

func newFinanceEnv(t *testing.T) *financeEnv {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	f := &financeEnv{l: newLedger(t), payouts: newTestPayouts(), bills: map[providers.Name]providers.BillSource{}, reg: metrics.NewRegistry()}
	suite.SetMetricsHandler(metrics.TemporalHandler(f.reg))
	f.env = suite.NewTestWorkflowEnvironment()
	f.env.SetStartTime(testStart)
	f.env.SetTestTimeout(30 * time.Second)
	rates := testRates{money.USD: "0.1390", money.EUR: "0.1260"}
	require.NoError(t, Register(f.env, activities.Deps{
		Payments:   &activities.Payments{},
		Customs:    &activities.Customs{},
		Validation: &activities.Validation{},
		FX:         &activities.FX{Rates: &fakes.FXRates{Rate: decimal.RequireFromString("0.1275")}},
		Ledger:     &activities.Ledger{L: f.l},
		Settlement: &activities.Settlement{Ledger: f.l, Rates: rates, Payouts: f.payouts, Config: activities.SettlementConfig{
			Delays: map[providers.Name]int{providers.Alipay: 0, providers.WeChatPay: 0, providers.Card: 0}}},
		Reconciliation: &activities.Reconciliation{Ledger: f.l, Bills: f.bills},
	}))
	return f
}

// releasedOrder books a captured and released order for merchant.
func (f *financeEnv) releasedOrder(t *testing.T, id, merchant string, p providers.Name, home money.Currency, rate, amount string) {
	t.Helper()
	ctx := context.Background()
	post := &activities.Ledger{L: f.l}
	o := activities.LedgerOrder{OrderID: id, MerchantID: merchant, Provider: p}
	q := &money.Quote{Base: money.CNY, Counter: home, Rate: decimal.RequireFromString(rate), At: testStart.Add(-48 * time.Hour), Source: "test"}
	require.NoError(t, post.PostCaptured(ctx, activities.CaptureInput{LedgerOrder: o, MerchantOrderNo: "no-" + id, TransactionID: "tx-" + id,
		Amount: cny(amount), At: testStart.Add(-24 * time.Hour), PayerRef: "hash", Category: "skincare", HomeCurrency: home, Quote: q}))
	require.NoError(t, post.PostReleased(ctx, activities.ReleaseInput{LedgerOrder: o, Amount: cny(amount), Tax: cny("0.00"), At: testStart.Add(-time.Hour)}))
}

func TestSettlementWorkflowPaysOutByNotificationAndByPolling(t *testing.T) {
	f := newFinanceEnv(t)
	f.releasedOrder(t, "order-acme-1", "acme", providers.Alipay, money.USD, "0.1380", "100.00")
	f.releasedOrder(t, "order-acme-2", "acme", providers.Card, money.EUR, "0.1270", "200.00")
	batch := activities.SettlementWorkflowID("acme", "2026-03-02")
	usd, eur := activities.PayoutNo(batch, money.USD), activities.PayoutNo(batch, money.EUR)
	// The EUR payout (first) is confirmed by a query; the USD one by its
	// notification, which comes while its queries still find it processing.
	f.payouts.payOnQuery, f.payouts.manual = true, map[string]bool{usd: true}
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(SignalPayoutNotified, f.payouts.pay(usd))
	}, 10*time.Minute)
	f.env.ExecuteWorkflow(SettlementWorkflow, SettlementInput{MerchantID: "acme", PayoutPoll: time.Minute})
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	var res SettlementResult
	require.NoError(t, f.env.GetWorkflowResult(&res))

	assert.Equal(t, batch, res.BatchID)
	assert.Equal(t, "2026-03-02", res.Day, "the day the workflow started, in China time")
	assert.Equal(t, activities.SettlementPaid, res.Status)
	require.Len(t, res.Totals, 2)
	assert.Equal(t, eur, res.Totals[0].PayoutNo)
	assert.Equal(t, "25.40 EUR", res.Totals[0].AtLockedRate.String())
	assert.Equal(t, providers.PayoutPaid, res.Totals[0].PayoutStatus)
	assert.Equal(t, "13.80 USD", res.Totals[1].AtLockedRate.String())
	assert.Equal(t, "0.10 USD", res.Totals[1].FXGainLoss.String())
	assert.Equal(t, providers.PayoutPaid, res.Totals[1].PayoutStatus)
	assert.Equal(t, 2, f.payouts.requests)

	r, err := f.l.CheckInvariants(context.Background())
	require.NoError(t, err)
	require.True(t, r.OK(), "%v", r.Violations)
	for _, c := range []money.Currency{money.CNY, money.USD, money.EUR} {
		b, err := f.l.Balance(context.Background(), ledger.MerchantPayable("acme"), c, time.Time{})
		require.NoError(t, err)
		assert.True(t, b.IsZero(), "merchant_payable in %s: %s", c, b)
	}
}

func TestSettlementWorkflowWithNothingToSettle(t *testing.T) {
	f := newFinanceEnv(t)
	f.env.ExecuteWorkflow(SettlementWorkflow, SettlementInput{MerchantID: "acme", Day: "2026-03-01"})
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	var res SettlementResult
	require.NoError(t, f.env.GetWorkflowResult(&res))
	assert.Equal(t, activities.SettlementEmpty, res.Status)
	assert.Zero(t, f.payouts.requests)
}

func TestSettlementWorkflowRefusesBadInput(t *testing.T) {
	f := newFinanceEnv(t)
	f.env.ExecuteWorkflow(SettlementWorkflow, SettlementInput{MerchantID: "acme-eu", Day: "2026-03-01"})
	require.True(t, f.env.IsWorkflowCompleted())
	require.Error(t, f.env.GetWorkflowError())
	assert.Contains(t, f.env.GetWorkflowError().Error(), "merchantId must be")
}

func TestSettlementRunStartsOneSettlementPerMerchant(t *testing.T) {
	f := newFinanceEnv(t)
	f.payouts.payOnQuery = true
	f.releasedOrder(t, "order-acme-1", "acme", providers.Alipay, money.USD, "0.1380", "100.00")
	f.releasedOrder(t, "order-beta-1", "beta", providers.WeChatPay, money.EUR, "0.1270", "50.00")
	f.env.ExecuteWorkflow(SettlementRunWorkflow, SettlementRunInput{Day: "2026-03-02", PayoutPoll: time.Second})
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	var res SettlementRunResult
	require.NoError(t, f.env.GetWorkflowResult(&res))
	assert.Equal(t, []string{"settlement-acme-20260302", "settlement-beta-20260302"}, res.Started)
	assert.Empty(t, res.AlreadyRun)
}

// staticBill serves fixed lines.
type staticBill []providers.BillLine

func (b staticBill) DownloadBill(context.Context, time.Time) ([]providers.BillLine, error) {
	return b, nil
}

func TestReconciliationWorkflowReportsAndCountsMismatches(t *testing.T) {
	f := newFinanceEnv(t)
	// Captured 2026-03-01 (testStart - 24h is 10:00 China time): yesterday for the workflow.
	f.releasedOrder(t, "order-acme-1", "acme", providers.Alipay, money.USD, "0.1380", "100.00")
	f.releasedOrder(t, "order-acme-2", "acme", providers.WeChatPay, money.USD, "0.1380", "30.00")
	f.bills[providers.Alipay] = staticBill{
		{TransactionID: "tx-order-acme-1", OutTradeNo: "T1", Kind: providers.BillPayment, Amount: cny("101.00"), Fee: cny("0.61")},
		{TransactionID: "tx-phantom", OutTradeNo: "T9", Kind: providers.BillPayment, Amount: cny("66.66"), Fee: cny("0.40")},
	}
	f.bills[providers.WeChatPay] = staticBill{}
	f.env.ExecuteWorkflow(ReconciliationWorkflow, ReconciliationInput{})
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	var rep activities.ReconciliationReport
	require.NoError(t, f.env.GetWorkflowResult(&rep))
	assert.Equal(t, "2026-03-01", rep.Day)
	assert.Equal(t, 3, rep.Mismatches)
	require.Len(t, rep.Providers, 2)
	assert.Equal(t, map[string]int{activities.MismatchAmount: 1, activities.MismatchMissingOurs: 1}, rep.Providers[0].Counts())
	assert.Equal(t, map[string]int{activities.MismatchMissingTheirs: 1}, rep.Providers[1].Counts())

	stored, ok, err := (&activities.FinanceReports{Ledger: f.l}).Reconciliation(context.Background(), "2026-03-01")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 3, stored.Mismatches)

	rec := httptest.NewRecorder()
	metrics.Handler(f.reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`xhspay_reconcile_mismatches_total{kind="amount",provider="alipay"} 1`,
		`xhspay_reconcile_mismatches_total{kind="missing_ours",provider="alipay"} 1`,
		`xhspay_reconcile_mismatches_total{kind="missing_theirs",provider="wechatpay"} 1`,
	} {
		assert.Contains(t, string(body), want)
	}
}

func TestReconciliationWorkflowReportsAProviderItCannotReconcile(t *testing.T) {
	f := newFinanceEnv(t)
	f.env.ExecuteWorkflow(ReconciliationWorkflow, ReconciliationInput{Day: "2026-03-01", Providers: []providers.Name{providers.Card}})
	require.True(t, f.env.IsWorkflowCompleted())
	require.NoError(t, f.env.GetWorkflowError())
	var rep activities.ReconciliationReport
	require.NoError(t, f.env.GetWorkflowResult(&rep))
	require.Len(t, rep.Providers, 1)
	assert.Contains(t, rep.Providers[0].Error, "no bill source configured")
	assert.Equal(t, "reconcile-20260301", ReconciliationWorkflowID("2026-03-01"))
}
