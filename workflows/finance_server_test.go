package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// TestFinanceOnServer runs an order with its ledger postings, the merchant's
// settlement and the day's reconciliation on the package's Temporal server.
// With -record it writes their histories for TestReplayHistories:
//
//	go test ./workflows -run TestFinanceOnServer -record
func TestFinanceOnServer(t *testing.T) {
	l := newLedger(t)
	payouts := newTestPayouts()
	payouts.payOnQuery = true
	bill := staticBill{}
	var s *serverEnv
	s = newServerEnv(t, func(d *activities.Deps) {
		d.Ledger = &activities.Ledger{L: l}
		d.Settlement = &activities.Settlement{Ledger: l, Rates: testRates{money.EUR: "0.1260"}, Payouts: payouts,
			Config: activities.SettlementConfig{Delays: map[providers.Name]int{providers.Alipay: 0}}}
		d.Reconciliation = &activities.Reconciliation{Ledger: l,
			Bills: map[providers.Name]providers.BillSource{providers.Alipay: billFunc(func() []providers.BillLine { return bill })}}
	})
	s.alipay.Clock = time.Now // payments at the time the bill is asked for
	ctx := ctxT(t)

	// An order, booked as it goes.
	in := s.input(t, "ledger")
	id := OrderWorkflowID(in.MerchantID, in.MerchantOrderNo)
	s.checkout(t, in)
	s.pay(t, id, true)
	s.waitState(t, id, StateAwaitingClearance)
	s.clear(t, id)
	s.shipAndConfirm(t, id)
	v := s.result(t, id)
	require.Equal(t, StateCompleted, v.State, timeline(v))
	s.saveHistory(t, id, "ledger_happy_path")
	flows, err := l.OrderFlows(ctx, id)
	require.NoError(t, err)
	require.Len(t, flows, 1)
	assert.Equal(t, "229.11 CNY", flows[0].Released.String())

	// The merchant's settlement of today.
	day := chinaDay(time.Now())
	sid := activities.SettlementWorkflowID(in.MerchantID, day)
	run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: sid, TaskQueue: s.tq}, SettlementWorkflow,
		SettlementInput{MerchantID: in.MerchantID, Day: day, PayoutPoll: 200 * time.Millisecond, PayoutPollMax: time.Second})
	require.NoError(t, err)
	var res SettlementResult
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, activities.SettlementPaid, res.Status)
	require.Len(t, res.Totals, 1)
	assert.Equal(t, "26.78 EUR", res.Totals[0].AtLockedRate.String(), "210.00 × 0.1275, half up")
	assert.Equal(t, "-0.32 EUR", res.Totals[0].FXGainLoss.String(), "210.00 × 0.1260 = 26.46")
	s.saveHistory(t, sid, "settlement")

	// The day's reconciliation: the bill has the order's payment.
	bill = staticBill{{TransactionID: v.TransactionID, OutTradeNo: v.OutTradeNo, Kind: providers.BillPayment,
		Amount: cny("229.11"), Fee: cny("1.37"), At: time.Now()}}
	rid := ReconciliationWorkflowID(day)
	rrun, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: rid, TaskQueue: s.tq}, ReconciliationWorkflow,
		ReconciliationInput{Day: day, Providers: []providers.Name{providers.Alipay}})
	require.NoError(t, err)
	var rep activities.ReconciliationReport
	require.NoError(t, rrun.Get(ctx, &rep))
	require.Len(t, rep.Providers, 1)
	assert.Zero(t, rep.Mismatches, "%+v", rep.Providers[0].Mismatches)
	assert.Equal(t, 1, rep.Providers[0].Matched)
	s.saveHistory(t, rid, "reconciliation")

	// The schedule's action for the same day finds the merchant's settlement done.
	runID := "settlement-run-" + day
	srun, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: runID, TaskQueue: s.tq}, SettlementRunWorkflow,
		SettlementRunInput{Day: day})
	require.NoError(t, err)
	var sres SettlementRunResult
	require.NoError(t, srun.Get(ctx, &sres))
	assert.Equal(t, []string{sid}, sres.AlreadyRun, "a settlement already run is not started again")
	assert.Empty(t, sres.Started)
	s.saveHistory(t, runID, "settlement_run")

	r, err := l.CheckInvariants(context.Background())
	require.NoError(t, err)
	require.True(t, r.OK(), "%v", r.Violations)
}

// billFunc serves the lines fn returns when asked.
type billFunc func() []providers.BillLine

func (f billFunc) DownloadBill(context.Context, time.Time) ([]providers.BillLine, error) {
	return f(), nil
}
