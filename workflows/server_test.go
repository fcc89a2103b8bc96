package workflows

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/internal/temporaltest"
	"github.com/xhspay/xhspay/providers"
)

var identityField = regexp.MustCompile(`"identity":\s*"[^"]*"`)

var record = flag.Bool("record", false, "write the histories of the server scenarios to testdata/ for the replay tests")

func TestMain(m *testing.M) { temporaltest.Main(m) }

// serverEnv runs the workflows on the package's Temporal server with a real
// worker and in-memory providers; annual limits go through visibility.
type serverEnv struct {
	c       client.Client
	tq      string
	suffix  string
	hashKey []byte
	alipay  *fakes.Wallet
	customs *fakes.Customs
	buyers  *activities.VisibilityBuyerHistory
}

// newServerEnv starts a worker on the package's server; mods adjust its
// activity dependencies before they are registered.
func newServerEnv(t *testing.T, mods ...func(*activities.Deps)) *serverEnv {
	t.Helper()
	s := &serverEnv{
		c: temporaltest.Client(t), tq: temporaltest.TaskQueue(t),
		suffix:  uuid.NewString()[:8],
		hashKey: []byte(uuid.NewString()), // a fresh buyer hash per run keeps annual totals apart
		alipay:  fakes.NewWallet(providers.Alipay),
		customs: fakes.NewCustoms(),
	}
	s.buyers = &activities.VisibilityBuyerHistory{Client: s.c, WorkflowType: OrderWorkflowType, ExcludedStates: QuotaFreeStates()}
	w := worker.New(s.c, s.tq, worker.Options{})
	deps := activities.Deps{
		Payments: &activities.Payments{Providers: map[providers.Name]providers.PaymentProvider{providers.Alipay: s.alipay}},
		Customs: &activities.Customs{
			Declarers: map[providers.Name]providers.CustomsDeclarer{providers.Alipay: s.alipay},
			Clearance: s.customs, CustomsCode: "HANGZHOU", PlatformCode: "3301960001", PlatformName: "Acme CBEC",
		},
		Validation: &activities.Validation{Buyers: s.buyers},
		FX:         &activities.FX{Rates: &fakes.FXRates{Rate: decimalRate("0.1275")}},
	}
	for _, m := range mods {
		m(&deps)
	}
	require.NoError(t, Register(w, deps))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return s
}

func (s *serverEnv) buyerHash(t *testing.T) string {
	h, err := activities.BuyerIDHash(s.hashKey, testIDNumber)
	require.NoError(t, err)
	return h
}

// input is a fast order: short expiry and windows, notifications by signal.
func (s *serverEnv) input(t *testing.T, scenario string) OrderInput {
	in := testInput(providers.Alipay)
	in.MerchantOrderNo = scenario + "-" + s.suffix
	in.BuyerIDHash = s.buyerHash(t)
	in.PaymentExpiry = 20 * time.Second
	in.AutoConfirmAfter = time.Minute
	in.ReturnWindow = 2 * time.Second
	in.ReturnDecisionTimeout = time.Minute
	in.Polling = Polling{Payment: time.Minute, Clearance: time.Minute, Refund: 200 * time.Millisecond,
		RefundMax: time.Second, Return: time.Minute}
	return in
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// checkout creates the order the way the API does: Update-with-Start of AwaitCheckout.
func (s *serverEnv) checkout(t *testing.T, in OrderInput) CheckoutResult {
	t.Helper()
	opts, err := OrderStartOptions(in, s.tq)
	require.NoError(t, err)
	op := s.c.NewWithStartWorkflowOperation(opts, OrderWorkflow, in)
	h, err := s.c.UpdateWithStartWorkflow(ctxT(t), client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: UpdateAwaitCheckout,
			WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	require.NoError(t, err)
	var co CheckoutResult
	require.NoError(t, h.Get(ctxT(t), &co))
	return co
}

func (s *serverEnv) update(t *testing.T, workflowID, name string, arg any, out any) {
	t.Helper()
	h, err := s.c.UpdateWorkflow(ctxT(t), client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctxT(t), out))
}

func (s *serverEnv) signal(t *testing.T, id, name string, arg any) {
	t.Helper()
	require.NoError(t, s.c.SignalWorkflow(ctxT(t), id, "", name, arg))
}

// waitFor polls the state query until cond holds.
func waitFor[V any](t *testing.T, s *serverEnv, id string, cond func(V) bool) V {
	t.Helper()
	var v V
	require.Eventually(t, func() bool {
		resp, err := s.c.QueryWorkflow(ctxT(t), id, "", QueryState)
		if err != nil {
			return false
		}
		return resp.Get(&v) == nil && cond(v)
	}, 30*time.Second, 20*time.Millisecond)
	return v
}

func (s *serverEnv) waitState(t *testing.T, id string, want OrderState) OrderView {
	t.Helper()
	return waitFor(t, s, id, func(v OrderView) bool { return v.State == want })
}

func (s *serverEnv) result(t *testing.T, id string) OrderView {
	t.Helper()
	var v OrderView
	require.NoError(t, s.c.GetWorkflow(ctxT(t), id, "").Get(ctxT(t), &v))
	return v
}

func (s *serverEnv) pay(t *testing.T, id string, signal bool) {
	t.Helper()
	p, err := s.alipay.Pay(providers.Key(id, "pay", "1"))
	require.NoError(t, err)
	if signal {
		s.signal(t, id, SignalPaymentNotified, p)
	}
}

func (s *serverEnv) clear(t *testing.T, id string) {
	t.Helper()
	s.signal(t, id, SignalCustomsResult, s.customs.SetVerdict(providers.Clearance{
		OrderNo: id, Status: providers.ClearanceCleared, ReleasedAt: time.Now().UTC()}))
}

func (s *serverEnv) shipAndConfirm(t *testing.T, id string) {
	t.Helper()
	s.waitState(t, id, StateAwaitingShipment)
	s.update(t, id, UpdateShipped, Shipment{Carrier: "SF Express", TrackingNo: "SF1"}, &OrderView{})
	s.update(t, id, UpdateConfirmReceipt, Confirmation{By: "app"}, &OrderView{})
}

// saveHistory writes a workflow's history to testdata/<name>.json when recording.
func (s *serverEnv) saveHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	if !*record {
		return
	}
	it := s.c.GetWorkflowHistory(ctxT(t), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	require.NoError(t, err)
	// Client and worker identities name the recording process and machine.
	b = identityField.ReplaceAll(b, []byte(`"identity": "recorder"`))
	require.NoError(t, os.WriteFile(filepath.Join("testdata", name+".json"), append(b, '\n'), 0o644))
	t.Logf("recorded %s (%d events)", name, len(hist.Events))
}

// TestOnServer runs the main scenarios on a real Temporal server: the
// Update-with-Start handshake, signals, updates, child workflows, search
// attributes and the annual-limit query through visibility. With -record it
// also writes their histories for TestReplayHistories:
//
//	go test ./workflows -run TestOnServer -record
func TestOnServer(t *testing.T) {
	s := newServerEnv(t)
	var mu sync.Mutex
	counted := map[string]bool{}
	count := func(id string, yes bool) { mu.Lock(); counted[id] = yes; mu.Unlock() }

	t.Run("scenarios", func(t *testing.T) {
		t.Run("happy_path", func(t *testing.T) {
			t.Parallel()
			in := s.input(t, "happy")
			id := OrderWorkflowID(in.MerchantID, in.MerchantOrderNo)
			co := s.checkout(t, in)
			assert.Equal(t, StateAwaitingPayment, co.State)
			assert.Equal(t, "qr://alipay/"+providers.Key(id, "pay", "1"), co.QRCode)
			assert.Equal(t, co, s.checkout(t, in), "Update-with-Start of the same order answers the same")
			s.pay(t, id, true)
			s.waitState(t, id, StateAwaitingClearance)
			s.clear(t, id)
			s.shipAndConfirm(t, id)
			v := s.result(t, id)
			require.Equal(t, StateCompleted, v.State, timeline(v))
			count(id, true)
			s.saveHistory(t, id, "happy_path")
			// A late retry of the create must not start the order again.
			opts, err := OrderStartOptions(in, s.tq)
			require.NoError(t, err)
			_, err = s.c.UpdateWithStartWorkflow(ctxT(t), client.UpdateWithStartWorkflowOptions{
				StartWorkflowOperation: s.c.NewWithStartWorkflowOperation(opts, OrderWorkflow, in),
				UpdateOptions: client.UpdateWorkflowOptions{UpdateName: UpdateAwaitCheckout,
					WaitForStage: client.WorkflowUpdateStageCompleted},
			})
			require.Error(t, err)
			var started *serviceerror.WorkflowExecutionAlreadyStarted
			assert.ErrorAs(t, err, &started)
		})
		t.Run("customs_rejection", func(t *testing.T) {
			t.Parallel()
			in := s.input(t, "rejected")
			id := OrderWorkflowID(in.MerchantID, in.MerchantOrderNo)
			s.checkout(t, in)
			s.pay(t, id, true)
			s.waitState(t, id, StateAwaitingClearance)
			s.signal(t, id, SignalCustomsResult, providers.Clearance{OrderNo: id, Status: providers.ClearanceRejected,
				Code: providers.RejectIdentityMismatch, Reason: "payer does not match"})
			v := s.result(t, id)
			require.Equal(t, StateCustomsRejected, v.State, timeline(v))
			require.Len(t, v.Refunds, 1)
			assert.Equal(t, RefundSucceeded, v.Refunds[0].State)
			count(id, false)
			s.saveHistory(t, id, "customs_rejection")
			s.saveHistory(t, v.Refunds[0].WorkflowID, "customs_rejection_refund")
		})
		t.Run("return_refund", func(t *testing.T) {
			t.Parallel()
			in := s.input(t, "return")
			in.ReturnWindow = 5 * time.Second
			id := OrderWorkflowID(in.MerchantID, in.MerchantOrderNo)
			s.checkout(t, in)
			s.pay(t, id, true)
			s.waitState(t, id, StateAwaitingClearance)
			s.clear(t, id)
			s.waitState(t, id, StateAwaitingShipment)
			s.update(t, id, UpdateShipped, Shipment{Carrier: "SF Express", TrackingNo: "SF1"}, &OrderView{})
			var rv RefundView
			s.update(t, id, UpdateRequestRefund, RefundRequest{RefundNo: "R1", Amount: cny("114.56"), Reason: "wrong shade",
				ReturnGoods: true, Items: []ItemRef{{SKU: "CREAM-50", Quantity: 1}}}, &rv)
			refundID := RefundWorkflowID(id, "R1")
			require.Equal(t, refundID, rv.WorkflowID)
			waitFor(t, s, refundID, func(v RefundView) bool { return v.State == RefundAwaitingReturnShipment })
			s.update(t, refundID, UpdateReturnShipped, ReturnShipment{TrackingNo: "RT1"}, &RefundView{})
			waitFor(t, s, refundID, func(v RefundView) bool { return v.State == RefundReturnFiled })
			s.signal(t, id, SignalReturnDecision,
				s.customs.DecideReturn(providers.Key(id, "return", "R1"), providers.ReturnAccepted, ""))
			waitFor(t, s, id, func(v OrderView) bool { return len(v.Refunds) == 1 && v.Refunds[0].State == RefundSucceeded })
			s.update(t, id, UpdateConfirmReceipt, Confirmation{}, &OrderView{})
			v := s.result(t, id)
			require.Equal(t, StateCompleted, v.State, timeline(v))
			assert.Equal(t, "9.56 CNY", v.Refunds[0].TaxReversed.String())
			count(id, true)
			s.saveHistory(t, id, "return_refund")
			s.saveHistory(t, refundID, "return_refund_refund")
		})
		t.Run("late_payment", func(t *testing.T) {
			t.Parallel()
			in := s.input(t, "late")
			in.PaymentExpiry = 3 * time.Second
			id := OrderWorkflowID(in.MerchantID, in.MerchantOrderNo)
			s.checkout(t, in)
			s.pay(t, id, false) // the notification is lost; closing the trade finds it paid
			s.waitState(t, id, StateAwaitingClearance)
			s.clear(t, id)
			s.shipAndConfirm(t, id)
			v := s.result(t, id)
			require.Equal(t, StateCompleted, v.State, timeline(v))
			assert.Contains(t, timeline(v), "late payment found while closing the expired trade: honoured")
			count(id, true)
			s.saveHistory(t, id, "late_payment")
		})
	})

	// The orders that count against the buyer's annual limit, seen through
	// the same visibility query the validation activity uses.
	want := cny("0.00")
	for _, yes := range counted {
		if yes {
			want = mustAdd(want, cny("229.11"))
		}
	}
	year := time.Now().In(activities.ChinaTime).Year()
	require.Eventually(t, func() bool {
		got, err := s.buyers.YearToDate(ctxT(t), s.buyerHash(t), year)
		return err == nil && got.Equal(want)
	}, 10*time.Second, 100*time.Millisecond, "year-to-date should be %s", want)
}

// TestReplayHistories replays the recorded histories against the current
// code: a change that would break running orders fails here (see the
// versioning rule in the package doc).
func TestReplayHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	for _, want := range []string{"happy_path", "customs_rejection", "customs_rejection_refund",
		"return_refund", "return_refund_refund", "late_payment"} {
		assert.Contains(t, names, want, "recorded history missing: run go test ./workflows -run TestOnServer -record")
	}
	for _, want := range []string{"ledger_happy_path", "settlement", "settlement_run", "reconciliation"} {
		assert.Contains(t, names, want, "recorded history missing: run go test ./workflows -run TestFinanceOnServer -record")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			hist, exec := loadHistory(t, f)
			r := worker.NewWorkflowReplayer()
			RegisterWorkflows(r)
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist,
				worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}))
		})
	}
}

// loadHistory reads a recorded history and rebuilds its workflow id from the
// recorded input: the order checks its own id, so replay must use the original one.
func loadHistory(t *testing.T, file string) (*historypb.History, workflow.Execution) {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, hist.Events)
	started := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, started)
	exec := workflow.Execution{RunID: started.GetOriginalExecutionRunId()}
	dc := converter.GetDefaultDataConverter()
	switch started.GetWorkflowType().GetName() {
	case OrderWorkflowType:
		var in OrderInput
		require.NoError(t, dc.FromPayloads(started.GetInput(), &in))
		exec.ID = OrderWorkflowID(in.MerchantID, in.MerchantOrderNo)
	case RefundWorkflowType:
		var in RefundInput
		require.NoError(t, dc.FromPayloads(started.GetInput(), &in))
		exec.ID = RefundWorkflowID(in.OrderID, in.RefundNo)
	case SettlementWorkflowType:
		var in SettlementInput
		require.NoError(t, dc.FromPayloads(started.GetInput(), &in))
		exec.ID = activities.SettlementWorkflowID(in.MerchantID, in.Day)
	case SettlementRunWorkflowType:
		var in SettlementRunInput
		require.NoError(t, dc.FromPayloads(started.GetInput(), &in))
		exec.ID = "settlement-run-" + in.Day
	case ReconciliationWorkflowType:
		var in ReconciliationInput
		require.NoError(t, dc.FromPayloads(started.GetInput(), &in))
		exec.ID = ReconciliationWorkflowID(in.Day)
	default:
		t.Fatalf("unexpected workflow type %q", started.GetWorkflowType().GetName())
	}
	return hist, exec
}
