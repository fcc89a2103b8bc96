package settlementtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/xhspay/xhspay/activities"
	xhsclient "github.com/xhspay/xhspay/client"
	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/temporaltest"
	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/providerset"
	"github.com/xhspay/xhspay/sandbox"
	alipaysb "github.com/xhspay/xhspay/sandbox/alipay"
	wechatsb "github.com/xhspay/xhspay/sandbox/wechatpay"
	"github.com/xhspay/xhspay/starter/api"
	"github.com/xhspay/xhspay/workflows"
)

// reconEnv is the Alipay and WeChat Pay sandboxes on a clock the test moves,
// a ledger, and a worker running the reconciliation.
type reconEnv struct {
	t      *testing.T
	env    *sandbox.Env
	set    *providerset.Set
	l      *ledger.Ledger
	c      client.Client
	tq     string
	reg    *metrics.Registry
	offset atomic.Int64
	day    time.Time
	runs   int
}

func (e *reconEnv) now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

// at moves the sandboxes' clock to t.
func (e *reconEnv) at(t time.Time) { e.offset.Store(int64(time.Until(t))) }

func newReconEnv(t *testing.T) *reconEnv {
	t.Helper()
	e := &reconEnv{t: t, reg: metrics.NewRegistry(), tq: temporaltest.TaskQueue(t)}
	n := time.Now().In(chinaTime)
	e.day = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, chinaTime)
	e.at(e.day.Add(10 * time.Hour)) // the trades happen in the morning of the day
	// The merchant's notification endpoint: acknowledges everything (the
	// test reads the trades back with queries).
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("success"))
	}))
	t.Cleanup(notify.Close)
	e.env, e.set = startSandboxes(t, sandbox.EnvConfig{Now: e.now, RefundDelay: -1, NotifyBaseURL: notify.URL + "/notify/"})
	e.l = openLedger(t)
	e.c = metricsClient(t, e.reg)
	w := worker.New(e.c, e.tq, worker.Options{})
	require.NoError(t, workflows.Register(w, activities.Deps{
		Payments: &activities.Payments{}, Customs: &activities.Customs{}, Validation: &activities.Validation{},
		FX:             &activities.FX{Rates: &fakes.FXRates{}},
		Reconciliation: &activities.Reconciliation{Ledger: e.l, Bills: e.set.Bills()},
	}))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return e
}

// pay creates and pays a trade at the sandbox through the adapter, and books
// it in the ledger as the order workflow does.
func (e *reconEnv) pay(p providers.Name, outTradeNo, amount string) providers.Payment {
	e.t.Helper()
	ctx := ctxT(e.t, 30*time.Second)
	adapter := e.set.Payments()[p]
	_, err := adapter.CreatePayment(ctx, providers.PaymentRequest{OutTradeNo: outTradeNo, Subject: "Face cream", Amount: cny(amount),
		ExpireAt: later(e.now(), time.Now()).Add(30 * time.Minute), Scene: providers.SceneQR,
		Payer: providers.Identity{Name: "张三", IDNumber: testIDNumber}})
	require.NoError(e.t, err)
	require.NoError(e.t, e.env.Pay(ctx, p, outTradeNo, "", 0))
	var paid providers.Payment
	require.Eventually(e.t, func() bool {
		paid, err = adapter.QueryPayment(ctx, outTradeNo)
		return err == nil && paid.Status == providers.PaymentPaid
	}, 10*time.Second, 20*time.Millisecond)
	order := activities.LedgerOrder{OrderID: "order-acme-" + outTradeNo, MerchantID: "acme", Provider: p}
	require.NoError(e.t, (&activities.Ledger{L: e.l}).PostCaptured(ctx, activities.CaptureInput{LedgerOrder: order,
		MerchantOrderNo: outTradeNo, TransactionID: paid.TransactionID, Amount: paid.Amount, At: paid.PaidAt,
		HomeCurrency: money.CNY}))
	return paid
}

// later returns the later of two times (the adapters check expiries on the
// real clock, the sandboxes on theirs).
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// refund refunds part of a trade and books it.
func (e *reconEnv) refund(p providers.Name, outTradeNo, outRefundNo, amount, total string) {
	e.t.Helper()
	ctx := ctxT(e.t, 30*time.Second)
	adapter := e.set.Payments()[p]
	_, err := adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: outTradeNo, OutRefundNo: outRefundNo, Amount: cny(amount),
		Total: cny(total), Reason: "partial return"})
	require.NoError(e.t, err)
	var rf providers.Refund
	require.Eventually(e.t, func() bool {
		rf, err = adapter.QueryRefund(ctx, outTradeNo, outRefundNo)
		return err == nil && rf.Status == providers.RefundSucceeded
	}, 10*time.Second, 20*time.Millisecond)
	order := activities.LedgerOrder{OrderID: "order-acme-" + outTradeNo, MerchantID: "acme", Provider: p}
	require.NoError(e.t, (&activities.Ledger{L: e.l}).PostRefunded(ctx, activities.RefundPostingInput{LedgerOrder: order,
		RefundNo: outRefundNo, Amount: cny(amount), At: rf.RefundedAt}))
}

// reconcile runs the day's reconciliation workflow and returns its report per provider.
func (e *reconEnv) reconcile() map[providers.Name]activities.ProviderReconciliation {
	e.t.Helper()
	e.runs++
	ctx := ctxT(e.t, time.Minute)
	day := e.day.Format(time.DateOnly)
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d", workflows.ReconciliationWorkflowID(day), e.runs), TaskQueue: e.tq},
		workflows.ReconciliationWorkflow, workflows.ReconciliationInput{Day: day})
	require.NoError(e.t, err)
	var rep activities.ReconciliationReport
	require.NoError(e.t, run.Get(ctx, &rep))
	out := map[providers.Name]activities.ProviderReconciliation{}
	for _, p := range rep.Providers {
		require.Empty(e.t, p.Error, "%s", p.Provider)
		out[p.Provider] = p
	}
	require.Len(e.t, out, 2)
	return out
}

// TestReconciliationFindsEachInjectedMismatch reconciles a day of Alipay and
// WeChat Pay trades with the ledger through the real bill downloads: a clean
// day has no difference, and each mismatch the sandboxes inject is found as
// its kind, on its provider only, and counted in the metric.
func TestReconciliationFindsEachInjectedMismatch(t *testing.T) {
	e := newReconEnv(t)
	a1 := e.pay(providers.Alipay, "RECON_AP1", "109.10")
	e.pay(providers.Alipay, "RECON_AP2", "66.60")
	e.refund(providers.Alipay, "RECON_AP1", "RECON_AP1_R1", "30.00", "109.10")
	w1 := e.pay(providers.WeChatPay, "RECONWX00001", "88.00")
	e.pay(providers.WeChatPay, "RECONWX00002", "20.00")
	e.at(e.day.Add(26 * time.Hour)) // the day is over: its bills are issued

	clean := e.reconcile()
	assert.Empty(t, clean[providers.Alipay].Mismatches)
	assert.Equal(t, 3, clean[providers.Alipay].Matched, "two payments and a refund")
	assert.Equal(t, 3, clean[providers.Alipay].BillLines)
	assert.Equal(t, "0.87 CNY", clean[providers.Alipay].BillFees.String(), "0.65 + 0.40 charged, 0.18 given back")
	assert.Empty(t, clean[providers.WeChatPay].Mismatches)
	assert.Equal(t, 2, clean[providers.WeChatPay].Matched)

	injections := []struct{ kind, alipay, wechat string }{
		{activities.MismatchMissingOurs, alipaysb.MismatchMissingOurs, wechatsb.MismatchMissingOurs},
		{activities.MismatchMissingTheirs, alipaysb.MismatchMissingTheirs, wechatsb.MismatchMissingTheirs},
		{activities.MismatchAmount, alipaysb.MismatchAmount, wechatsb.MismatchAmount},
	}
	for _, inj := range injections {
		kind := inj.kind
		t.Run("alipay "+kind, func(t *testing.T) {
			require.NoError(t, e.env.Alipay.InjectBillMismatch(inj.alipay))
			defer e.env.Alipay.ClearBillMismatches()
			got := e.reconcile()
			assert.Empty(t, got[providers.WeChatPay].Mismatches)
			m := got[providers.Alipay].Mismatches
			require.Len(t, m, 1, "%+v", m)
			assert.Equal(t, kind, m[0].Kind)
			assert.Equal(t, providers.BillPayment, m[0].LineKind)
			checkMismatch(t, m[0], a1.TransactionID, "1.00")
		})
		t.Run("wechatpay "+kind, func(t *testing.T) {
			e.env.WeChatPay.InjectBillMismatch(inj.wechat) // consumed by the next bill
			got := e.reconcile()
			assert.Empty(t, got[providers.Alipay].Mismatches)
			m := got[providers.WeChatPay].Mismatches
			require.Len(t, m, 1, "%+v", m)
			assert.Equal(t, kind, m[0].Kind)
			checkMismatch(t, m[0], w1.TransactionID, "0.01")
		})
	}
	again := e.reconcile()
	assert.Empty(t, again[providers.Alipay].Mismatches, "a clean bill again once the injections are over")
	assert.Empty(t, again[providers.WeChatPay].Mismatches)

	exposition := scrape(t, e.reg)
	for _, p := range []string{"alipay", "wechatpay"} {
		for _, inj := range injections {
			assert.Equal(t, "1", counterValue(exposition, "xhspay_reconcile_mismatches_total",
				`kind="`+inj.kind+`"`, `provider="`+p+`"`), "%s %s", p, inj.kind)
		}
	}

	// The last report is the day's, served to operators by the API.
	store, err := api.NewMemoryMerchantStore(api.Merchant{ID: "ops", HomeCurrency: money.CNY,
		KeyHashes: []string{api.HashAPIKey("ops-key-0123456789abcdef0123456789ab")}, Operator: true})
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Config{Temporal: e.c, TaskQueue: e.tq, Merchants: store, Logger: quiet,
		Finance: &activities.FinanceReports{Ledger: e.l}}))
	t.Cleanup(srv.Close)
	rep, err := xhsclient.New(srv.URL, "ops-key-0123456789abcdef0123456789ab").GetReconciliation(context.Background(), e.day.Format(time.DateOnly))
	require.NoError(t, err)
	assert.Equal(t, 0, rep.Mismatches)
	assert.Len(t, rep.Providers, 2)
}

// checkMismatch checks the details of an injected mismatch: a phantom trade
// only the bill has, one of ours it lacks, or an amount raised by delta.
func checkMismatch(t *testing.T, m activities.ReconciliationMismatch, ourTx, delta string) {
	t.Helper()
	switch m.Kind {
	case activities.MismatchMissingOurs:
		assert.NotEqual(t, ourTx, m.TransactionID)
		assert.True(t, m.Ours.IsZero())
		assert.True(t, m.Theirs.IsPositive())
	case activities.MismatchMissingTheirs:
		assert.NotEmpty(t, m.OrderID)
		assert.True(t, m.Theirs.IsZero())
		assert.True(t, m.Ours.IsPositive())
	case activities.MismatchAmount:
		diff, err := m.Theirs.Sub(m.Ours)
		require.NoError(t, err)
		assert.Equal(t, delta+" CNY", diff.String())
		assert.NotEmpty(t, m.OrderID)
	}
}
