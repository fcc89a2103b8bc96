package settlementtest

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/xhspay/xhspay/activities"
	xhsclient "github.com/xhspay/xhspay/client"
	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/internal/temporaltest"
	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/providerset"
	"github.com/xhspay/xhspay/sandbox"
	"github.com/xhspay/xhspay/starter/api"
	"github.com/xhspay/xhspay/workflows"
)

const testIDNumber = "110105199003071239"

// stack runs orders with in-memory payment providers and customs, books
// them in a ledger, and settles them with the card PSP sandbox's payouts.
type stack struct {
	t        *testing.T
	c        client.Client
	tq       string
	l        *ledger.Ledger
	set      *providerset.Set
	env      *sandbox.Env
	wallets  map[providers.Name]*fakes.Wallet
	customs  *fakes.Customs
	buyers   *activities.MemoryBuyerHistory
	orderFX  *rates
	settleFX *rates
	suffix   string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	env, set := startSandboxes(t, sandbox.EnvConfig{PayoutDelay: 100 * time.Millisecond})
	s := &stack{
		t: t, c: temporaltest.Client(t), tq: temporaltest.TaskQueue(t), l: openLedger(t), set: set, env: env,
		wallets: map[providers.Name]*fakes.Wallet{providers.Alipay: fakes.NewWallet(providers.Alipay), providers.WeChatPay: fakes.NewWallet(providers.WeChatPay)},
		customs: fakes.NewCustoms(), buyers: activities.NewMemoryBuyerHistory(),
		// The rates locked at checkout, and those of the settlement date:
		// the dollar gained against the yuan in between, the euro lost.
		orderFX:  newRates(map[money.Currency]string{money.USD: "0.1380", money.EUR: "0.1270"}),
		settleFX: newRates(map[money.Currency]string{money.USD: "0.1390", money.EUR: "0.1260"}),
		suffix:   uuid.NewString()[:8],
	}
	for _, w := range s.wallets {
		w.Clock = time.Now
	}
	return s
}

// deps are the activities of a worker of the stack.
func (s *stack) deps() activities.Deps {
	pay := map[providers.Name]providers.PaymentProvider{}
	decl := map[providers.Name]providers.CustomsDeclarer{}
	for n, w := range s.wallets {
		pay[n], decl[n] = w, w
	}
	return activities.Deps{
		Payments: &activities.Payments{Providers: pay},
		Customs: &activities.Customs{Declarers: decl, Clearance: s.customs, CustomsCode: "HANGZHOU",
			PlatformCode: "3301960001", PlatformName: "Acme CBEC"},
		Validation: &activities.Validation{Buyers: s.buyers},
		FX:         &activities.FX{Rates: s.orderFX},
		Identity:   &activities.Identity{Key: []byte("settlement-test-" + s.suffix)},
		Ledger:     &activities.Ledger{L: s.l},
		Settlement: &activities.Settlement{Ledger: s.l, Rates: s.settleFX, Payouts: s.set.Card,
			Config: activities.SettlementConfig{Delays: map[providers.Name]int{providers.Alipay: 0, providers.WeChatPay: 0, providers.Card: 0}}},
	}
}

// worker starts a worker of the stack with the interceptors.
func (s *stack) worker(interceptors ...interceptor.WorkerInterceptor) worker.Worker {
	s.t.Helper()
	// A short sticky timeout hands a dead worker's workflows to the next one quickly.
	w := worker.New(s.c, s.tq, worker.Options{Interceptors: interceptors, WorkerStopTimeout: 200 * time.Millisecond,
		StickyScheduleToStartTimeout: time.Second})
	require.NoError(s.t, workflows.Register(w, s.deps()))
	require.NoError(s.t, w.Start())
	return w
}

func (s *stack) query(id string) workflows.OrderView {
	s.t.Helper()
	var v workflows.OrderView
	require.Eventually(s.t, func() bool {
		resp, err := s.c.QueryWorkflow(ctxT(s.t, 10*time.Second), id, "", workflows.QueryState)
		return err == nil && resp.Get(&v) == nil
	}, 30*time.Second, 20*time.Millisecond)
	return v
}

func (s *stack) waitFor(id string, cond func(workflows.OrderView) bool) workflows.OrderView {
	s.t.Helper()
	var v workflows.OrderView
	require.Eventually(s.t, func() bool {
		resp, err := s.c.QueryWorkflow(ctxT(s.t, 10*time.Second), id, "", workflows.QueryState)
		return err == nil && resp.Get(&v) == nil && cond(v)
	}, 30*time.Second, 20*time.Millisecond, "order %s", id)
	return v
}

func (s *stack) update(id, name string, arg, out any) {
	s.t.Helper()
	h, err := s.c.UpdateWorkflow(ctxT(s.t, 30*time.Second), client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(s.t, err)
	require.NoError(s.t, h.Get(ctxT(s.t, 30*time.Second), out))
}

// completeOrder runs an order of amount (goods, no tax category) from
// checkout to the release of its funds, and returns its id.
func (s *stack) completeOrder(merchant, no string, p providers.Name, home money.Currency, price string) string {
	s.t.Helper()
	ctx := ctxT(s.t, time.Minute)
	buyer := providers.Identity{Name: "张三", IDNumber: testIDNumber}
	in := workflows.OrderInput{
		MerchantID: merchant, MerchantOrderNo: no + "-" + s.suffix, Provider: p, Scene: providers.SceneQR,
		Buyer: buyer, Payer: buyer, BuyerPhone: "13800000000",
		Items: []providers.Item{{SKU: "CREAM-50", Name: "Face cream", Category: "skincare", RegistrationNo: "G-2024-0001",
			Quantity: 1, UnitPrice: cny(price)}},
		HomeCurrency: home, PaymentExpiry: time.Minute, AutoConfirmAfter: time.Hour, ReturnWindow: 10 * time.Minute,
		Polling: workflows.Polling{Payment: time.Minute, Clearance: time.Minute, Refund: 200 * time.Millisecond, RefundMax: time.Second, Return: time.Minute},
	}
	id := workflows.OrderWorkflowID(in.MerchantID, in.MerchantOrderNo)
	opts, err := workflows.OrderStartOptions(in, s.tq)
	require.NoError(s.t, err)
	h, err := s.c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: s.c.NewWithStartWorkflowOperation(opts, workflows.OrderWorkflow, in),
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: workflows.UpdateAwaitCheckout, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	require.NoError(s.t, err)
	var co workflows.CheckoutResult
	require.NoError(s.t, h.Get(ctx, &co))
	require.Equal(s.t, workflows.StateAwaitingPayment, co.State)

	paid, err := s.wallets[p].Pay(providers.Key(id, "pay", "1"))
	require.NoError(s.t, err)
	require.NoError(s.t, s.c.SignalWorkflow(ctx, id, "", workflows.SignalPaymentNotified, paid))
	s.waitFor(id, func(v workflows.OrderView) bool { return v.State == workflows.StateAwaitingClearance })
	require.NoError(s.t, s.c.SignalWorkflow(ctx, id, "", workflows.SignalCustomsResult, s.customs.SetVerdict(providers.Clearance{
		OrderNo: id, Status: providers.ClearanceCleared, ReleasedAt: time.Now().UTC()})))
	s.waitFor(id, func(v workflows.OrderView) bool { return v.State == workflows.StateAwaitingShipment })
	s.update(id, workflows.UpdateShipped, workflows.Shipment{Carrier: "SF Express", TrackingNo: "SF1"}, &workflows.OrderView{})
	s.update(id, workflows.UpdateConfirmReceipt, workflows.Confirmation{By: "app"}, &workflows.OrderView{})
	v := s.waitFor(id, func(v workflows.OrderView) bool { return v.State == workflows.StateCompleted })
	require.NotContains(s.t, timelineOf(v), "not booked")
	return id
}

func timelineOf(v workflows.OrderView) string {
	var b strings.Builder
	for _, e := range v.Timeline {
		b.WriteString(e.Step + ": " + e.Detail + "\n")
	}
	return b.String()
}

// settle runs a merchant's settlement of day to its end.
func (s *stack) settle(merchant, day string) workflows.SettlementResult {
	s.t.Helper()
	ctx := ctxT(s.t, time.Minute)
	run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: activities.SettlementWorkflowID(merchant, day), TaskQueue: s.tq},
		workflows.SettlementWorkflow, workflows.SettlementInput{MerchantID: merchant, Day: day, PayoutPoll: 100 * time.Millisecond, PayoutPollMax: time.Second})
	require.NoError(s.t, err)
	var res workflows.SettlementResult
	require.NoError(s.t, run.Get(ctx, &res))
	return res
}

// requireBooks checks the ledger's invariants.
func (s *stack) requireBooks() {
	s.t.Helper()
	r, err := s.l.CheckInvariants(context.Background())
	require.NoError(s.t, err)
	require.True(s.t, r.OK(), "ledger invariants: %v", r.Violations)
}

// settledPostings counts an order's settlement postings.
func (s *stack) settledPostings(orderID string) int {
	s.t.Helper()
	ps, err := s.l.Postings(context.Background(), ledger.PostingFilter{OrderID: orderID, Kind: ledger.KindSettled})
	require.NoError(s.t, err)
	return len(ps)
}

func (s *stack) batchOf(orderID, kind string) string {
	s.t.Helper()
	b, _, err := s.l.BatchOf(context.Background(), orderID, kind)
	require.NoError(s.t, err)
	return b
}

// crashAfterPosting is a worker interceptor that kills the worker's first
// PostSettlement once its postings are committed: it puts the batch back to
// "prepared", as if the worker died before recording that it had posted, and
// then hangs until the worker is stopped.
type crashAfterPosting struct {
	interceptor.WorkerInterceptorBase
	l       *ledger.Ledger
	armed   atomic.Bool
	crashed chan string
}

func (c *crashAfterPosting) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &crashActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, root: c}
}

type crashActivity struct {
	interceptor.ActivityInboundInterceptorBase
	root *crashAfterPosting
}

func (a *crashActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if activity.GetInfo(ctx).ActivityType.Name != "PostSettlement" || !a.root.armed.CompareAndSwap(true, false) {
		return a.Next.ExecuteActivity(ctx, in)
	}
	out, err := a.Next.ExecuteActivity(ctx, in)
	if err != nil {
		return out, err
	}
	batchID := in.Args[0].(string)
	d, ok, err := a.root.l.Document(ctx, activities.DocSettlement, batchID)
	if err != nil || !ok {
		panic("crash interceptor: no batch document")
	}
	d.Status = activities.SettlementPrepared
	if _, err := a.root.l.SaveDocument(ctx, d); err != nil {
		panic(err)
	}
	a.root.crashed <- batchID
	<-ctx.Done() // the worker is going down
	return nil, ctx.Err()
}

// TestSettlementOnEmbeddedServer settles orders paid in RMB to merchants in
// USD and EUR (an FX gain and a loss, with the providers' fees), with the
// worker dying mid-batch after the postings and a new worker finishing it,
// then claws back a refund made after settlement in the next batch. Nothing
// is settled or paid twice.
func TestSettlementOnEmbeddedServer(t *testing.T) {
	s := newStack(t)
	crash := &crashAfterPosting{l: s.l, crashed: make(chan string, 1)}
	w1 := s.worker(crash)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			w1.Stop()
		}
	})

	acme1 := s.completeOrder("acme", "A1", providers.Alipay, money.USD, "100.00")
	acme2 := s.completeOrder("acme", "A2", providers.WeChatPay, money.USD, "50.00")
	lum1 := s.completeOrder("lumiere", "L1", providers.Alipay, money.EUR, "200.00")
	s.requireBooks()

	// Day 1: the worker dies once acme's lines are posted.
	day1 := settleDay(time.Now())
	batch1 := activities.SettlementWorkflowID("acme", day1)
	crash.armed.Store(true)
	ctx := ctxT(t, 2*time.Minute)
	run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: batch1, TaskQueue: s.tq},
		workflows.SettlementWorkflow, workflows.SettlementInput{MerchantID: "acme", Day: day1, PayoutPoll: 100 * time.Millisecond, PayoutPollMax: time.Second})
	require.NoError(t, err)
	select {
	case id := <-crash.crashed:
		require.Equal(t, batch1, id)
	case <-ctx.Done():
		t.Fatal("the batch never reached the crash")
	}
	w1.Stop()
	stopped = true
	// Between the two workers: the lines are booked, the batch not marked, nothing paid.
	assert.Equal(t, 1, s.settledPostings(acme1))
	assert.Empty(t, s.batchOf(acme1, ledger.KindSettled))
	po, err := s.set.Card.QueryPayout(ctx, activities.PayoutNo(batch1, money.USD))
	require.NoError(t, err)
	assert.Equal(t, providers.PayoutNotFound, po.Status)

	w2 := s.worker()
	t.Cleanup(w2.Stop)
	var res1 workflows.SettlementResult
	require.NoError(t, run.Get(ctx, &res1))
	require.Equal(t, activities.SettlementPaid, res1.Status)
	require.Len(t, res1.Totals, 1)
	usd := res1.Totals[0]
	assert.Equal(t, 2, usd.Lines)
	assert.Equal(t, "20.70 USD", usd.AtLockedRate.String(), "150.00 at 0.1380")
	assert.Equal(t, "20.85 USD", usd.AtSettlementRate.String(), "150.00 at 0.1390")
	assert.Equal(t, "0.15 USD", usd.FXGainLoss.String(), "a gain")
	assert.Equal(t, "0.12 USD", usd.Fees.String(), "0.6% of 13.90 and of 6.95")
	assert.Equal(t, providers.PayoutPaid, usd.PayoutStatus)

	res2 := s.settle("lumiere", day1)
	require.Equal(t, activities.SettlementPaid, res2.Status)
	eur := res2.Totals[0]
	assert.Equal(t, "25.40 EUR", eur.AtLockedRate.String())
	assert.Equal(t, "-0.20 EUR", eur.FXGainLoss.String(), "a loss")
	assert.Equal(t, "0.15 EUR", eur.Fees.String())

	// The PSP paid each batch once, the amount owed.
	for _, tc := range []struct {
		no, amount string
	}{{usd.PayoutNo, "20.70 USD"}, {eur.PayoutNo, "25.40 EUR"}} {
		po, err := s.set.Card.QueryPayout(ctx, tc.no)
		require.NoError(t, err)
		assert.Equal(t, providers.PayoutPaid, po.Status, tc.no)
		assert.Equal(t, tc.amount, po.Amount.String(), tc.no)
	}
	// Settled once, each order in its batch, the books balanced.
	for _, id := range []string{acme1, acme2, lum1} {
		assert.Equal(t, 1, s.settledPostings(id), id)
	}
	assert.Equal(t, batch1, s.batchOf(acme1, ledger.KindSettled))
	assert.Equal(t, batch1, s.batchOf(acme2, ledger.KindSettled))
	assert.Equal(t, activities.SettlementWorkflowID("lumiere", day1), s.batchOf(lum1, ledger.KindSettled))
	s.requireBooks()
	for _, c := range []money.Currency{money.CNY, money.USD} {
		b, err := s.l.Balance(ctx, ledger.MerchantPayable("acme"), c, time.Time{})
		require.NoError(t, err)
		assert.True(t, b.IsZero(), "acme's payable in %s is %s", c, b)
	}

	// The whole batch run again settles nothing more.
	before, err := s.l.Postings(ctx, ledger.PostingFilter{})
	require.NoError(t, err)
	again := s.settle("acme", day1)
	assert.Equal(t, activities.SettlementPaid, again.Status)
	after, err := s.l.Postings(ctx, ledger.PostingFilter{})
	require.NoError(t, err)
	assert.Len(t, after, len(before))

	// A refund after settlement: clawed back in the next batch, netted with a new order.
	var rv workflows.RefundView
	s.update(acme1, workflows.UpdateRequestRefund, workflows.RefundRequest{RefundNo: "R1", Amount: cny("30.00"),
		Reason: "parcel damaged", OperatorApproved: true}, &rv)
	s.waitFor(acme1, func(v workflows.OrderView) bool {
		return len(v.Refunds) == 1 && v.Refunds[0].State == workflows.RefundSucceeded
	})
	require.Eventually(t, func() bool {
		ps, err := s.l.Postings(ctx, ledger.PostingFilter{OrderID: acme1, Kind: ledger.KindRefunded})
		return err == nil && len(ps) == 1
	}, 10*time.Second, 20*time.Millisecond)
	acme3 := s.completeOrder("acme", "A3", providers.Alipay, money.USD, "80.00")
	day2 := settleDay(time.Now().Add(24 * time.Hour))
	res3 := s.settle("acme", day2)
	require.Equal(t, activities.SettlementPaid, res3.Status)
	require.Len(t, res3.Totals, 1)
	assert.Equal(t, 2, res3.Totals[0].Lines)
	assert.Equal(t, "50.00 CNY", res3.Totals[0].AmountCNY.String(), "80.00 settled less 30.00 clawed back")
	assert.Equal(t, "6.90 USD", res3.Totals[0].AtLockedRate.String())
	batch3 := activities.SettlementWorkflowID("acme", day2)
	assert.Equal(t, batch3, s.batchOf(acme1, ledger.KindClawback))
	assert.Equal(t, batch3, s.batchOf(acme3, ledger.KindSettled))
	assert.Equal(t, batch1, s.batchOf(acme1, ledger.KindSettled), "the first settlement stands")
	s.requireBooks()

	// The API serves the batches, their SAFE report and the exposure.
	checkAPI(t, s, batch1, batch3)
}

// checkAPI reads the finance reports through the HTTP API and the Go client.
func checkAPI(t *testing.T, s *stack, batch1, batch3 string) {
	t.Helper()
	store, err := api.NewMemoryMerchantStore(
		api.Merchant{ID: "acme", HomeCurrency: money.USD, KeyHashes: []string{api.HashAPIKey("acme-key-0123456789abcdef0123456789")}},
		api.Merchant{ID: "ops", HomeCurrency: money.CNY, KeyHashes: []string{api.HashAPIKey("ops-key-0123456789abcdef0123456789ab")}, Operator: true},
	)
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Config{Temporal: s.c, TaskQueue: s.tq, Merchants: store, Logger: quiet,
		Finance: &activities.FinanceReports{Ledger: s.l, Rates: s.settleFX}}))
	t.Cleanup(srv.Close)
	ctx := ctxT(t, 30*time.Second)
	acme := xhsclient.New(srv.URL, "acme-key-0123456789abcdef0123456789")

	list, err := acme.ListSettlements(ctx, xhsclient.ListSettlementsParams{})
	require.NoError(t, err)
	require.Len(t, list.Settlements, 2)
	assert.Equal(t, batch3, list.Settlements[0].BatchID, "latest day first")

	b, err := acme.GetSettlement(ctx, batch3)
	require.NoError(t, err)
	require.Len(t, b.Lines, 2)
	kinds := map[string]string{}
	for _, l := range b.Lines {
		kinds[l.Kind] = l.AmountCNY.String()
	}
	assert.Equal(t, map[string]string{"clawback": "-30.00 CNY", "settled": "80.00 CNY"}, kinds)
	require.Len(t, b.SAFE, 2)

	csv, err := acme.GetSettlementSAFECSV(ctx, batch1)
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(csv)), "\n")
	require.Len(t, rows, 3, "a header and one record per transaction")
	assert.True(t, strings.HasPrefix(rows[0], "order_no,transaction_id,payer_ref"))
	assert.Contains(t, rows[1], ",receipt,")
	assert.Contains(t, rows[1], ",USD,skincare,1210,")
	assert.NotContains(t, string(csv), testIDNumber, "the payer is a reference, never the ID number")

	_, err = acme.GetSettlement(ctx, activities.SettlementWorkflowID("lumiere", settleDay(time.Now())))
	assert.True(t, xhsclient.IsNotFound(err), "another merchant's batch: %v", err)

	exp, err := acme.GetFXExposure(ctx, "")
	require.NoError(t, err)
	for _, m := range exp.Merchants {
		assert.Equal(t, "acme", m.MerchantID)
	}
	ops := xhsclient.New(srv.URL, "ops-key-0123456789abcdef0123456789ab")
	all, err := ops.ListSettlements(ctx, xhsclient.ListSettlementsParams{})
	require.NoError(t, err)
	assert.Len(t, all.Settlements, 3)
}
