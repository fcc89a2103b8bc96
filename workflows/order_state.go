package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// errStopped unwinds the main flow when a Cancel, or a full refund before
// shipment, was accepted; the flow then undoes what the order did so far.
var errStopped = errors.New("order stopped")

type stopKind int

const (
	stopCancel stopKind = iota + 1
	stopRefund
)

// stopRequest is an accepted Cancel or full refund before shipment.
type stopRequest struct {
	kind   stopKind
	cancel *Cancel
	refund *refundRecord
}

// refundRecord is the order's book of one refund.
type refundRecord struct {
	req         RefundRequest
	system      bool
	state       RefundState
	workflowID  string
	outRefundNo string
	outReturnNo string
	items       []providers.Item
	requestedAt time.Time
	result      *RefundResult
}

func (r *refundRecord) active() bool { return !r.state.Final() }

// order is the state of one OrderWorkflow. The main flow, the update and
// signal handlers and the refund watchers all run as workflow coroutines, one
// at a time, so plain fields need no locking.
type order struct {
	in OrderInput
	id string

	state     OrderState
	resume    OrderState
	customs   CustomsStatus
	rejection *Rejection
	lastErr   *StepError
	timeline  []Event

	buyerHash string
	validated bool
	tax       *cbec.TaxBreakdown
	goods     money.Amount
	total     money.Amount
	quote     *money.Quote

	session          *providers.PaymentSession
	outTradeNo       string
	transactionID    string
	captured         money.Amount
	held             money.Amount
	paymentExpiresAt time.Time
	paymentNotice    *providers.Payment

	manifestSubmitted  bool
	customsCancelAsked bool
	declaration        *providers.DeclarationRequest
	declarations       int
	customsCancelled   bool
	clearance          *providers.Clearance
	clearanceNotice    *providers.Clearance
	clearanceDeadline  time.Time
	redeclare          *Redeclaration

	shipment        *Shipment
	autoConfirmAt   time.Time
	extensions      int
	extended        time.Duration
	confirmedBy     string
	forced          bool
	returnWindowEnd time.Time

	refunds    []*refundRecord
	sysRefunds int

	books books

	stop         *stopRequest
	stopHandled  bool
	compensating bool
	retry        Step
	closing      bool
}

func newOrder(ctx workflow.Context, in OrderInput) *order {
	in = in.withDefaults()
	return &order{
		in:        in,
		id:        workflow.GetInfo(ctx).WorkflowExecution.ID,
		state:     StateValidating,
		customs:   CustomsNotDeclared,
		buyerHash: in.BuyerIDHash,
		goods:     money.Zero(money.CNY),
		total:     money.Zero(money.CNY),
		captured:  money.Zero(money.CNY),
		held:      money.Zero(money.CNY),
	}
}

// event appends to the timeline.
func (o *order) event(ctx workflow.Context, step, detail string) {
	o.timeline = append(o.timeline, Event{At: workflow.Now(ctx), Step: step, Detail: detail})
}

// transition moves to state s, records it and upserts the search attributes.
func (o *order) transition(ctx workflow.Context, s OrderState, step, detail string) {
	o.state = s
	o.event(ctx, step, detail)
	o.upsert(ctx)
	// The workflow's metrics handler records nothing during replay.
	metrics.OrderTransition(workflow.GetMetricsHandler(ctx), string(s), string(o.in.Provider))
	workflow.GetLogger(ctx).Info("order state", "OrderID", o.id, "State", string(s), "Step", step)
}

// upsert writes the typed search attributes; the buyer is only ever its hash.
func (o *order) upsert(ctx workflow.Context) {
	sa := []temporal.SearchAttributeUpdate{
		searchattr.OrderState.ValueSet(string(o.state)),
		searchattr.CustomsStatus.ValueSet(string(o.customs)),
		searchattr.Provider.ValueSet(string(o.in.Provider)),
		searchattr.MerchantId.ValueSet(o.in.MerchantID),
	}
	if o.validated {
		// AmountCNY is a Double only because visibility has no decimal type; it
		// is for search and the annual-limit query, never for arithmetic.
		sa = append(sa, searchattr.AmountCNY.ValueSet(o.total.Decimal().InexactFloat64()),
			searchattr.BuyerIdHash.ValueSet(o.buyerHash))
	}
	if rs := o.refundSummary(); rs != "" {
		sa = append(sa, searchattr.RefundState.ValueSet(rs))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, sa...); err != nil {
		workflow.GetLogger(ctx).Error("upsert search attributes", "OrderID", o.id, "Error", err)
	}
}

// refundSummary is the RefundState search attribute of the order.
func (o *order) refundSummary() string {
	if len(o.refunds) == 0 {
		return ""
	}
	for _, r := range o.refunds {
		if r.active() {
			return "Active"
		}
	}
	if o.captured.IsPositive() && o.outstanding().IsZero() {
		return "Refunded"
	}
	if o.refunded().IsPositive() {
		return "PartiallyRefunded"
	}
	return string(o.refunds[len(o.refunds)-1].state)
}

// stopping reports a stop request the main flow has not handled yet.
func (o *order) stopping() bool { return o.stop != nil && !o.stopHandled }

// await blocks until cond holds or timeout passes (timeout <= 0 waits without
// a timer). It returns errStopped when a stop is requested meanwhile, and
// whether cond held.
func (o *order) await(ctx workflow.Context, timeout time.Duration, cond func() bool) (bool, error) {
	c := func() bool { return cond() || o.stopping() }
	ok := true
	var err error
	if timeout > 0 {
		ok, err = workflow.AwaitWithTimeout(ctx, timeout, c)
	} else {
		err = workflow.Await(ctx, c)
	}
	if err != nil {
		return false, err
	}
	if o.stopping() {
		return false, errStopped
	}
	return ok && cond(), nil
}

// step runs fn; when it fails for good the order goes to NeedsAttention and
// waits for RetryStep (or a stop), then runs fn again.
func (o *order) step(ctx workflow.Context, name Step, fn func(workflow.Context) error) error {
	for {
		if o.stopping() {
			return errStopped
		}
		err := fn(ctx)
		if err == nil || errors.Is(err, errStopped) {
			return err
		}
		o.attention(ctx, name, err)
		if _, err := o.await(ctx, 0, func() bool { return o.retry == name }); err != nil {
			return err
		}
		o.retry = ""
		o.transition(ctx, o.resume, string(name), "retrying after operator request")
	}
}

// attention records a step that failed for good and moves to NeedsAttention.
func (o *order) attention(ctx workflow.Context, name Step, err error) {
	o.lastErr = &StepError{Step: name, Type: errorType(err), Message: err.Error(), At: workflow.Now(ctx)}
	if o.state != StateNeedsAttention {
		o.resume = o.state
	}
	workflow.GetLogger(ctx).Warn("step needs attention", "OrderID", o.id, "Step", string(name), "ErrorType", o.lastErr.Type)
	o.transition(ctx, StateNeedsAttention, string(name), fmt.Sprintf("%s failed: %s", name, o.lastErr.Type))
}

// errorType names an activity failure: the application error type, or the Temporal failure kind.
func errorType(err error) string {
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	var canceledErr *temporal.CanceledError
	switch {
	case errors.As(err, &appErr):
		return appErr.Type()
	case errors.As(err, &timeoutErr):
		return "Timeout"
	case errors.As(err, &canceledErr):
		return "Canceled"
	}
	return "Error"
}

// refunded is the sum of refunds that succeeded.
func (o *order) refunded() money.Amount {
	total := money.Zero(money.CNY)
	for _, r := range o.refunds {
		if r.state == RefundSucceeded {
			total = mustAdd(total, r.req.Amount)
		}
	}
	return total
}

// inFlight is the sum of refunds not final yet.
func (o *order) inFlight() money.Amount {
	total := money.Zero(money.CNY)
	for _, r := range o.refunds {
		if r.active() {
			total = mustAdd(total, r.req.Amount)
		}
	}
	return total
}

// outstanding is what the buyer paid and has not got back.
func (o *order) outstanding() money.Amount { return mustSub(o.captured, o.refunded()) }

// refundable is what a new refund may still take.
func (o *order) refundable() money.Amount { return mustSub(o.outstanding(), o.inFlight()) }

// activeRefunds counts the refunds not final yet.
func (o *order) activeRefunds() int {
	n := 0
	for _, r := range o.refunds {
		if r.active() {
			n++
		}
	}
	return n
}

func (o *order) findRefund(refundNo string) *refundRecord {
	for _, r := range o.refunds {
		if r.req.RefundNo == refundNo {
			return r
		}
	}
	return nil
}

// mustAdd adds CNY amounts; the order only ever holds CNY, so a mismatch is a bug.
func mustAdd(a, b money.Amount) money.Amount {
	s, err := a.Add(b)
	if err != nil {
		panic(fmt.Sprintf("order arithmetic: %v", err))
	}
	return s
}

// mustSub subtracts CNY amounts.
func mustSub(a, b money.Amount) money.Amount {
	s, err := a.Sub(b)
	if err != nil {
		panic(fmt.Sprintf("order arithmetic: %v", err))
	}
	return s
}

// decimalInt is n as a decimal, for quantity × unit price.
func decimalInt(n int) decimal.Decimal { return decimal.NewFromInt(int64(n)) }

// view builds the OrderView.
func (o *order) view() OrderView {
	v := OrderView{
		OrderID:         o.id,
		MerchantID:      o.in.MerchantID,
		MerchantOrderNo: o.in.MerchantOrderNo,
		State:           o.state,
		Provider:        o.in.Provider,
		BuyerIDHash:     o.buyerHash,
		Tax:             o.tax,
		FX:              o.quote,
		OutTradeNo:      o.outTradeNo,
		TransactionID:   o.transactionID,
		CustomsStatus:   o.customs,
		Clearance:       o.clearance,
		Shipment:        o.shipment,
		Extensions:      o.extensions,
		Rejection:       o.rejection,
		LastError:       o.lastErr,
		Timeline:        append([]Event(nil), o.timeline...),
		Refunds:         make([]RefundView, 0, len(o.refunds)),
		Deadlines: Deadlines{
			PaymentExpiresAt:   o.paymentExpiresAt,
			ClearanceDeadline:  o.clearanceDeadline,
			AutoConfirmAt:      o.autoConfirmAt,
			ReturnWindowEndsAt: o.returnWindowEnd,
		},
		Amounts: Amounts{
			Goods:      o.goods,
			Freight:    o.in.Freight,
			Insurance:  o.in.Insurance,
			Tax:        money.Zero(money.CNY),
			Total:      o.total,
			Captured:   o.captured,
			Refunded:   o.refunded(),
			Held:       o.held,
			Refundable: o.refundable(),
		},
	}
	if o.in.Instalments != nil {
		v.Instalments = o.in.Instalments.Count
	}
	if o.tax != nil {
		v.Amounts.Tax = o.tax.Total
	}
	if o.quote != nil {
		if home, err := o.quote.Convert(o.total, money.DefaultRounding); err == nil {
			v.Amounts.TotalHome = home
		}
	} else if o.in.HomeCurrency == money.CNY {
		v.Amounts.TotalHome = o.total
	}
	if o.stop != nil && o.stop.cancel != nil {
		c := *o.stop.cancel
		v.Cancellation = &c
	}
	for _, r := range o.refunds {
		v.Refunds = append(v.Refunds, r.view())
	}
	return v
}

func (r *refundRecord) view() RefundView {
	v := RefundView{
		RefundNo:         r.req.RefundNo,
		WorkflowID:       r.workflowID,
		Amount:           r.req.Amount,
		Reason:           r.req.Reason,
		ReturnGoods:      r.req.ReturnGoods,
		OperatorApproved: r.req.OperatorApproved,
		Items:            append([]ItemRef(nil), r.req.Items...),
		System:           r.system,
		State:            r.state,
		RequestedAt:      r.requestedAt,
	}
	if r.result != nil {
		v.TaxReversed = r.result.TaxReversed
		v.FinishedAt = r.result.FinishedAt
		v.Error = r.result.Error
		v.ProviderRefundID = r.result.Refund.RefundID
	}
	return v
}
