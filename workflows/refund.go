package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// RefundState is a refund's state (the RefundState search attribute of a refund workflow).
type RefundState string

// Refund states.
const (
	// RefundRequested is booked by the order and not started yet.
	RefundRequested RefundState = "Requested"
	// RefundRunning is started; the refund workflow has the detail.
	RefundRunning RefundState = "Running"
	// RefundCancellingCustoms withdraws the declaration and manifest.
	RefundCancellingCustoms RefundState = "CancellingCustoms"
	// RefundAwaitingReturnShipment waits for the buyer to send the goods back.
	RefundAwaitingReturnShipment RefundState = "AwaitingReturnShipment"
	// RefundReturnFiled waits for customs to accept the re-import.
	RefundReturnFiled RefundState = "ReturnFiled"
	// RefundRefunding waits for the provider to return the money.
	RefundRefunding RefundState = "Refunding"
	// RefundSucceeded returned the money. Final.
	RefundSucceeded RefundState = "Succeeded"
	// RefundFailed did not return the money. Final.
	RefundFailed RefundState = "Failed"
	// RefundReturnRejected was refused by customs; no money returned. Final.
	RefundReturnRejected RefundState = "ReturnRejected"
	// RefundReturnExpired saw no return shipment, or no customs decision, in time. Final.
	RefundReturnExpired RefundState = "ReturnExpired"
)

// Final reports whether s is an end state.
func (s RefundState) Final() bool {
	switch s {
	case RefundSucceeded, RefundFailed, RefundReturnRejected, RefundReturnExpired:
		return true
	}
	return false
}

// CustomsCancellation names the customs filings a refund withdraws before
// paying back (a full refund before shipment, a cancellation, a customs rejection).
type CustomsCancellation struct {
	// Declaration is the payment declaration to withdraw; nil when none was made through the provider.
	Declaration *providers.DeclarationRequest `json:"declaration,omitempty"`
	// ManifestOrderNo is the order whose manifest to withdraw; empty when none was filed.
	ManifestOrderNo string `json:"manifestOrderNo,omitempty"`
}

// RefundInput starts a RefundWorkflow; the order fills it in.
type RefundInput struct {
	// OrderID is the order workflow id.
	OrderID string `json:"orderId"`
	// MerchantID owns the order.
	MerchantID string `json:"merchantId"`
	// RefundNo is the refund number.
	RefundNo string `json:"refundNo"`
	// OutRefundNo is the provider refund's idempotency key, providers.Key(orderID, "refund", refundNo).
	OutRefundNo string `json:"outRefundNo"`
	// OutReturnNo is the customs return's idempotency key, providers.Key(orderID, "return", refundNo).
	OutReturnNo string `json:"outReturnNo"`
	// Provider took the payment.
	Provider providers.Name `json:"provider"`
	// OutTradeNo is the trade refunded.
	OutTradeNo string `json:"outTradeNo"`
	// TransactionID is the provider's trade number.
	TransactionID string `json:"transactionId"`
	// TradeTotal is what the buyer paid.
	TradeTotal money.Amount `json:"tradeTotal"`
	// Amount is the refund.
	Amount money.Amount `json:"amount"`
	// Reason is shown to the buyer.
	Reason string `json:"reason"`
	// ReturnGoods runs the cross-border return (re-import) first.
	ReturnGoods bool `json:"returnGoods"`
	// OperatorApproved records an operator's approval (refund without return after shipment).
	OperatorApproved bool `json:"operatorApproved"`
	// Items are the goods concerned (returned goods for a return).
	Items []providers.Item `json:"items,omitempty"`
	// OrderTax is the composite tax collected on the order.
	OrderTax money.Amount `json:"orderTax"`
	// ReturnFileBy is the last moment the return may be declared (customs release + 30 days).
	ReturnFileBy time.Time `json:"returnFileBy,omitzero"`
	// ReturnDecisionTimeout is how long customs has to accept the return (default 45 days).
	ReturnDecisionTimeout time.Duration `json:"returnDecisionTimeout,omitempty"`
	// CancelCustoms, when set, withdraws these customs filings first.
	CancelCustoms *CustomsCancellation `json:"cancelCustoms,omitempty"`
	// Polling holds the fallback polling intervals.
	Polling Polling `json:"polling"`
}

// RefundResult is a RefundWorkflow's outcome; the workflow returns it rather
// than failing, whatever the outcome.
type RefundResult struct {
	// RefundNo is the refund number.
	RefundNo string `json:"refundNo"`
	// State is the final state.
	State RefundState `json:"state"`
	// Amount is the refund asked.
	Amount money.Amount `json:"amount"`
	// Refund is the provider's refund, once asked.
	Refund providers.Refund `json:"refund"`
	// Return is the customs return, for a return.
	Return *providers.Return `json:"return,omitempty"`
	// TaxReversed is the composite tax not levied or given back on the refunded
	// part (proportional to the refund), for a return accepted by customs or
	// withdrawn customs filings; zero otherwise.
	TaxReversed money.Amount `json:"taxReversed"`
	// CustomsCancelled is true when the requested customs withdrawals all succeeded.
	CustomsCancelled bool `json:"customsCancelled"`
	// Error explains a failure.
	Error string `json:"error,omitempty"`
	// Warnings are non-blocking problems (a customs withdrawal that failed).
	Warnings []string `json:"warnings,omitempty"`
	// FinishedAt is when it ended.
	FinishedAt time.Time `json:"finishedAt"`
}

// RefundView describes a refund: one entry of OrderView.Refunds, or the
// state query of a refund workflow (which also fills the return fields and
// the timeline).
type RefundView struct {
	// RefundNo is the refund number.
	RefundNo string `json:"refundNo"`
	// WorkflowID is the refund workflow's id.
	WorkflowID string `json:"workflowId"`
	// Amount is the refund.
	Amount money.Amount `json:"amount"`
	// Reason is the refund reason.
	Reason string `json:"reason"`
	// ReturnGoods is true for a return.
	ReturnGoods bool `json:"returnGoods"`
	// OperatorApproved records an operator's approval.
	OperatorApproved bool `json:"operatorApproved"`
	// Items are the goods concerned.
	Items []ItemRef `json:"items,omitempty"`
	// System is true for a refund the order issued itself (compensation).
	System bool `json:"system"`
	// State is the refund's state.
	State RefundState `json:"state"`
	// RequestedAt is when it was asked.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// FinishedAt is when it ended.
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// TaxReversed is the composite tax reversed.
	TaxReversed money.Amount `json:"taxReversed"`
	// ProviderRefundID is the provider's refund id.
	ProviderRefundID string `json:"providerRefundId,omitempty"`
	// Error explains a failure.
	Error string `json:"error,omitempty"`
	// ReturnTrackingNo is the return parcel's tracking number.
	ReturnTrackingNo string `json:"returnTrackingNo,omitempty"`
	// ReturnDeadline is the pending return deadline (shipment, then customs decision).
	ReturnDeadline time.Time `json:"returnDeadline,omitzero"`
	// Timeline is what happened (refund workflow only).
	Timeline []Event `json:"timeline,omitempty"`
}

// refund is the state of one RefundWorkflow.
type refund struct {
	in          RefundInput
	id          string
	state       RefundState
	res         RefundResult
	shipment    *ReturnShipment
	deadline    time.Time
	refundNote  *providers.Refund
	returnNote  *providers.Return
	timeline    []Event
	outRefundNo string
	outReturnNo string
}

// RefundWorkflow pays back (part of) an order, as a child of the order with
// id RefundWorkflowID(orderID, refundNo). Before shipment it refunds directly,
// first withdrawing the customs filings when asked (CancelCustoms). With
// ReturnGoods it runs the cross-border return: it waits for the ReturnShipped
// update (until ReturnFileBy), files the return declaration, waits up to 45
// days for customs' decision (ReturnDecision signal forwarded by the order,
// QueryReturn polling as fallback) and refunds only once customs accepted the
// re-import, reversing the composite tax on the refunded part. The provider
// refund is idempotent by out_refund_no (providers.Key(orderID, "refund",
// refundNo), derived and recorded by the order) and is followed
// (RefundNotified signal, QueryRefund polling with backoff) until final.
func RefundWorkflow(ctx workflow.Context, in RefundInput) (RefundResult, error) {
	in.Polling = in.Polling.withDefaults()
	if in.ReturnDecisionTimeout <= 0 {
		in.ReturnDecisionTimeout = DefaultReturnDecisionTimeout
	}
	r := &refund{
		in:          in,
		id:          workflow.GetInfo(ctx).WorkflowExecution.ID,
		state:       RefundRequested,
		outRefundNo: in.OutRefundNo,
		outReturnNo: in.OutReturnNo,
		res:         RefundResult{RefundNo: in.RefundNo, Amount: in.Amount, TaxReversed: money.Zero(money.CNY)},
	}
	if err := r.register(ctx); err != nil {
		return RefundResult{}, err
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	if msg := r.checkInput(); msg != "" {
		return r.finish(ctx, RefundFailed, msg), nil
	}
	if in.CancelCustoms != nil {
		r.cancelCustoms(ctx)
	}
	if in.ReturnGoods {
		if done := r.returnGoods(ctx); done {
			return r.res, nil
		}
	}
	return r.payBack(ctx), nil
}

func (r *refund) checkInput() string {
	in := r.in
	switch {
	case in.Amount.Currency() != money.CNY || !in.Amount.IsWhole() || !in.Amount.IsPositive():
		return fmt.Sprintf("amount %s must be positive whole fen in CNY", in.Amount)
	case in.TradeTotal.Currency() != money.CNY:
		return "tradeTotal must be in CNY"
	case in.OutTradeNo == "" || in.OutRefundNo == "" || in.OutReturnNo == "":
		return "outTradeNo, outRefundNo and outReturnNo are required"
	case in.ReturnGoods && in.ReturnFileBy.IsZero():
		return "returnFileBy is required for a return"
	}
	if c, _ := in.Amount.Cmp(in.TradeTotal); c > 0 {
		return fmt.Sprintf("amount %s exceeds the trade total %s", in.Amount, in.TradeTotal)
	}
	return ""
}

func (r *refund) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (RefundView, error) { return r.view(), nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateReturnShipped, r.returnShipped,
		workflow.UpdateHandlerOptions{Validator: r.validateReturnShipped})
	if err != nil {
		return err
	}
	refundCh := workflow.GetSignalChannel(ctx, SignalRefundNotified)
	returnCh := workflow.GetSignalChannel(ctx, SignalReturnDecision)
	listenCtx, _ := workflow.NewDisconnectedContext(ctx)
	workflow.Go(listenCtx, func(ctx workflow.Context) {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(refundCh, func(c workflow.ReceiveChannel, _ bool) {
			var n providers.Refund
			c.Receive(ctx, &n)
			if n.OutRefundNo == r.outRefundNo {
				r.refundNote = &n
			}
		})
		sel.AddReceive(returnCh, func(c workflow.ReceiveChannel, _ bool) {
			var n providers.Return
			c.Receive(ctx, &n)
			if n.OutReturnNo == r.outReturnNo {
				r.returnNote = &n
			}
		})
		for {
			sel.Select(ctx)
		}
	})
	return nil
}

func (r *refund) event(ctx workflow.Context, detail string) {
	r.timeline = append(r.timeline, Event{At: workflow.Now(ctx), Step: "refund", Detail: detail})
}

func (r *refund) transition(ctx workflow.Context, s RefundState, detail string) {
	r.state = s
	r.event(ctx, detail)
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.RefundState.ValueSet(string(s))); err != nil {
		workflow.GetLogger(ctx).Error("upsert search attributes", "RefundID", r.id, "Error", err)
	}
}

// finish ends the refund in state s.
func (r *refund) finish(ctx workflow.Context, s RefundState, errMsg string) RefundResult {
	r.res.State = s
	r.res.Error = errMsg
	r.res.FinishedAt = workflow.Now(ctx)
	detail := string(s)
	if errMsg != "" {
		detail += ": " + errMsg
	}
	r.transition(ctx, s, detail)
	metrics.Refund(workflow.GetMetricsHandler(ctx), string(r.in.Provider), refundOutcome(s))
	return r.res
}

// refundOutcome is the result label of a finished refund in the refunds metric.
func refundOutcome(s RefundState) string {
	switch s {
	case RefundSucceeded:
		return metrics.RefundSucceeded
	case RefundReturnRejected, RefundReturnExpired:
		return metrics.RefundRejected
	default:
		return metrics.RefundFailed
	}
}

func (r *refund) warn(ctx workflow.Context, what string, err error) {
	msg := fmt.Sprintf("%s failed (%s)", what, errorType(err))
	r.res.Warnings = append(r.res.Warnings, msg)
	r.event(ctx, msg)
	workflow.GetLogger(ctx).Warn("refund warning", "RefundID", r.id, "What", what, "ErrorType", errorType(err))
}

// cancelCustoms withdraws the declaration and the manifest. It is best
// effort: a failure is recorded and the refund goes on, because the buyer's
// money comes first.
func (r *refund) cancelCustoms(ctx workflow.Context) {
	cc := r.in.CancelCustoms
	r.transition(ctx, RefundCancellingCustoms, "withdrawing the customs filings")
	ok := true
	if cc.Declaration != nil {
		var res activities.DeclareResult
		if err := run(ctx, customsCancelOptions, customsAct.CancelDeclaration, &res,
			activities.DeclareInput{Provider: r.in.Provider, Request: *cc.Declaration}); err != nil {
			r.warn(ctx, "withdrawing the payment declaration", err)
			ok = false
		} else {
			r.event(ctx, "payment declaration withdrawn")
		}
	}
	if cc.ManifestOrderNo != "" {
		if err := run(ctx, customsCancelOptions, customsAct.CancelManifest, nil, cc.ManifestOrderNo); err != nil {
			r.warn(ctx, "withdrawing the manifest", err)
			ok = false
		} else {
			r.event(ctx, "manifest withdrawn")
		}
	}
	r.res.CustomsCancelled = ok
}

// returnGoods runs the cross-border return; it returns true when the refund
// ended without paying back (expired or rejected).
func (r *refund) returnGoods(ctx workflow.Context) bool {
	r.deadline = r.in.ReturnFileBy
	r.transition(ctx, RefundAwaitingReturnShipment, "waiting for the return shipment")
	if wait := r.deadline.Sub(workflow.Now(ctx)); wait > 0 {
		_, _ = workflow.AwaitWithTimeout(ctx, wait, func() bool { return r.shipment != nil })
	}
	if r.shipment == nil {
		r.finish(ctx, RefundReturnExpired, "no return shipment before "+r.deadline.Format(time.RFC3339))
		return true
	}
	req := providers.ReturnRequest{OutReturnNo: r.outReturnNo, OrderNo: r.in.OrderID, Items: r.in.Items,
		TrackingNo: r.shipment.TrackingNo, Reason: r.in.Reason}
	var ret providers.Return
	if err := run(ctx, customsOptions, customsAct.FileReturn, &ret, req); err != nil {
		if errorType(err) == string(providers.ErrTypeRejected) {
			r.finish(ctx, RefundReturnRejected, "customs refused the return declaration: "+err.Error())
		} else {
			r.finish(ctx, RefundFailed, "filing the return declaration: "+err.Error())
		}
		return true
	}
	r.deadline = workflow.Now(ctx).Add(r.in.ReturnDecisionTimeout)
	r.transition(ctx, RefundReturnFiled, "return declaration filed; waiting for customs until "+r.deadline.Format(time.RFC3339))
	for {
		if ret.Status == providers.ReturnAccepted || ret.Status == providers.ReturnRejected {
			break
		}
		now := workflow.Now(ctx)
		if !now.Before(r.deadline) {
			r.res.Return = &ret
			r.finish(ctx, RefundReturnExpired, fmt.Sprintf("customs did not decide on the return within %d days of filing",
				int(r.in.ReturnDecisionTimeout/(24*time.Hour))))
			return true
		}
		got, _ := workflow.AwaitWithTimeout(ctx, min(r.in.Polling.Return, r.deadline.Sub(now)),
			func() bool { return r.returnNote != nil })
		if got {
			ret, r.returnNote = *r.returnNote, nil
			continue
		}
		var q providers.Return
		if err := run(ctx, pollOptions, customsAct.QueryReturn, &q, r.outReturnNo); err != nil {
			workflow.GetLogger(ctx).Warn("return poll failed", "RefundID", r.id, "ErrorType", errorType(err))
			continue
		}
		ret = q
	}
	r.res.Return = &ret
	if ret.Status == providers.ReturnRejected {
		r.finish(ctx, RefundReturnRejected, "customs rejected the return: "+ret.Reason)
		return true
	}
	r.event(ctx, "customs accepted the return")
	return false
}

// payBack asks the provider for the refund and follows it until final.
func (r *refund) payBack(ctx workflow.Context) RefundResult {
	r.transition(ctx, RefundRefunding, fmt.Sprintf("refunding %s", r.in.Amount))
	req := providers.RefundRequest{OutTradeNo: r.in.OutTradeNo, TransactionID: r.in.TransactionID,
		OutRefundNo: r.outRefundNo, Amount: r.in.Amount, Total: r.in.TradeTotal, Reason: r.in.Reason}
	var pr providers.Refund
	if err := run(ctx, moneyOptions, payAct.Refund, &pr,
		activities.RefundInput{OrderID: r.in.OrderID, Provider: r.in.Provider, Request: req}); err != nil {
		return r.finish(ctx, RefundFailed, err.Error())
	}
	interval := r.in.Polling.Refund
	for pr.Status != providers.RefundSucceeded && pr.Status != providers.RefundFailed {
		// Unknown outcomes keep the amount reserved: polling goes on (at most
		// once per RefundMax) rather than risk paying twice.
		got, _ := workflow.AwaitWithTimeout(ctx, interval, func() bool { return r.refundNote != nil })
		interval = min(2*interval, r.in.Polling.RefundMax)
		if got {
			pr, r.refundNote = *r.refundNote, nil
			continue
		}
		var q providers.Refund
		if err := run(ctx, pollOptions, payAct.QueryRefund, &q, activities.RefundRef{
			Provider: r.in.Provider, OutTradeNo: r.in.OutTradeNo, OutRefundNo: r.outRefundNo}); err != nil {
			workflow.GetLogger(ctx).Warn("refund poll failed", "RefundID", r.id, "ErrorType", errorType(err))
			continue
		}
		if q.Status != providers.RefundNotFound {
			pr = q
		}
	}
	r.res.Refund = pr
	if pr.Status == providers.RefundFailed {
		return r.finish(ctx, RefundFailed, "the provider reports the refund failed")
	}
	if r.in.ReturnGoods || r.res.CustomsCancelled {
		r.res.TaxReversed = r.taxReversed()
	}
	return r.finish(ctx, RefundSucceeded, "")
}

// taxReversed is the order's tax in proportion to the refund, rounded half up to the fen.
func (r *refund) taxReversed() money.Amount {
	zero := money.Zero(money.CNY)
	if !r.in.TradeTotal.IsPositive() || r.in.OrderTax.Currency() != money.CNY {
		return zero
	}
	share := r.in.OrderTax.Decimal().Mul(r.in.Amount.Decimal()).DivRound(r.in.TradeTotal.Decimal(), 12)
	a, err := money.New(share, money.CNY)
	if err != nil {
		return zero
	}
	if a, err = a.Round(money.HalfUp); err != nil {
		return zero
	}
	return a
}

// validateReturnShipped allows the return shipment while the refund waits for it.
func (r *refund) validateReturnShipped(_ workflow.Context, s ReturnShipment) error {
	if !trackingPattern.MatchString(s.TrackingNo) {
		return violation(RuleShipmentData, "trackingNo", "must be 1-64 characters of [A-Za-z0-9_-]")
	}
	if s.Carrier != "" && !carrierPattern.MatchString(s.Carrier) {
		return violation(RuleShipmentData, "carrier", "must be 1-64 letters, digits, spaces or ._&()-")
	}
	if !r.in.ReturnGoods {
		return violation(RuleReturnShipmentState, "state", "refund %s has no return of goods", r.in.RefundNo)
	}
	if r.shipment != nil {
		if r.shipment.TrackingNo == s.TrackingNo {
			return nil
		}
		return violation(RuleReturnShipmentState, "trackingNo", "the return already shipped with another tracking number")
	}
	if r.state != RefundRequested && r.state != RefundAwaitingReturnShipment {
		return violation(RuleReturnShipmentState, "state", "the refund is not waiting for a return shipment (state %s)", r.state)
	}
	return nil
}

// returnShipped is the ReturnShipped handler.
func (r *refund) returnShipped(ctx workflow.Context, s ReturnShipment) (RefundView, error) {
	if r.shipment == nil {
		r.shipment = &s
		r.event(ctx, "return shipped: "+s.TrackingNo)
	}
	return r.view(), nil
}

func (r *refund) view() RefundView {
	v := RefundView{
		RefundNo: r.in.RefundNo, WorkflowID: r.id, Amount: r.in.Amount, Reason: r.in.Reason,
		ReturnGoods: r.in.ReturnGoods, OperatorApproved: r.in.OperatorApproved, State: r.state,
		FinishedAt: r.res.FinishedAt, TaxReversed: r.res.TaxReversed, ProviderRefundID: r.res.Refund.RefundID,
		Error: r.res.Error, Timeline: append([]Event(nil), r.timeline...),
	}
	for _, it := range r.in.Items {
		v.Items = append(v.Items, ItemRef{SKU: it.SKU, Quantity: it.Quantity})
	}
	if r.shipment != nil {
		v.ReturnTrackingNo = r.shipment.TrackingNo
	}
	if !r.state.Final() {
		v.ReturnDeadline = r.deadline
	}
	return v
}
