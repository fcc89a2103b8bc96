package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// MaxRefunds bounds the refunds of one order (merchant and compensating
// ones), and with them the order's history.
const MaxRefunds = 50

// sameRefund reports whether two requests have the same content.
func sameRefund(a, b RefundRequest) bool {
	if a.RefundNo != b.RefundNo || !a.Amount.Equal(b.Amount) || a.Reason != b.Reason ||
		a.ReturnGoods != b.ReturnGoods || a.OperatorApproved != b.OperatorApproved || len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Items {
		if a.Items[i] != b.Items[i] {
			return false
		}
	}
	return true
}

// refundOpen reports whether a refund may be asked in the order's state.
func (o *order) refundOpen() bool {
	if o.compensating {
		return false
	}
	switch o.state {
	case StatePaid, StateAwaitingClearance, StateDeclarationFailed, StateAwaitingShipment,
		StateAwaitingConfirmation, StateReleasing, StateCompleted, StateNeedsAttention:
		return o.captured.IsPositive()
	}
	return false
}

// validateRefund is the RequestRefund validator; it must not change the order.
func (o *order) validateRefund(ctx workflow.Context, req RefundRequest) error {
	if err := ValidateRefundNo(req.RefundNo); err != nil {
		return violation(RuleRefundNo, "refundNo", "%v", err)
	}
	if r := o.findRefund(req.RefundNo); r != nil {
		if sameRefund(r.req, req) {
			return nil
		}
		return violation(RuleRefundNoReused, "refundNo", "refund %s already exists with different content", req.RefundNo)
	}
	if o.closing || o.stop != nil || !o.refundOpen() {
		return violation(RuleRefundState, "state", "the order cannot be refunded in state %s", o.state)
	}
	if len(o.refunds) >= MaxRefunds {
		return violation(RuleRefundCount, "refundNo", "at most %d refunds per order", MaxRefunds)
	}
	if len(req.Reason) > 256 {
		return violation(RuleRequestFields, "reason", "at most 256 characters")
	}
	a := req.Amount
	switch {
	case a.Currency() != money.CNY:
		return violation(RuleRefundAmount, "amount", "must be in CNY, got %q", string(a.Currency()))
	case !a.IsWhole():
		return violation(RuleRefundAmount, "amount", "%s is finer than one fen", a)
	case !a.IsPositive():
		return violation(RuleRefundAmount, "amount", "must be positive, got %s", a)
	}
	if c, _ := a.Cmp(o.refundable()); c > 0 {
		return violation(RuleRefundExceedsCaptured, "amount", "%s is more than the %s still refundable (captured %s, refunded %s, in progress %s)",
			a, o.refundable(), o.captured, o.refunded(), o.inFlight())
	}
	if req.ReturnGoods {
		if o.shipment == nil {
			return violation(RuleReturnBeforeShipment, "returnGoods", "nothing to return before shipment: refund without return")
		}
		if now := workflow.Now(ctx); now.After(o.returnWindowEnd) {
			return violation(RuleReturnWindow, "returnGoods",
				"a return must be declared within %d days of the customs release (%s); the window closed at %s",
				int(o.in.ReturnWindow/(24*time.Hour)), o.clearance.ReleasedAt.Format("2006-01-02"), o.returnWindowEnd.Format(time.RFC3339))
		}
	} else if o.shipment != nil && !req.OperatorApproved {
		return violation(RuleRefundNeedsApproval, "operatorApproved",
			"after shipment a refund needs the goods returned, or an operator's approval (goods lost)")
	}
	if _, rej := o.resolveItems(req); rej != nil {
		return violation(rej.Rule, rej.Field, "%s", rej.Message)
	}
	return nil
}

// returnedQty is how many units of sku are being or have been returned.
func (o *order) returnedQty(sku string) int {
	n := 0
	for _, r := range o.refunds {
		if !r.req.ReturnGoods || (!r.active() && r.state != RefundSucceeded) {
			continue
		}
		for _, it := range r.items {
			if it.SKU == sku {
				n += it.Quantity
			}
		}
	}
	return n
}

// resolveItems turns item references into order items with the requested
// quantities; an empty list means every unit not yet returned (for a return).
func (o *order) resolveItems(req RefundRequest) ([]providers.Item, *Rejection) {
	bad := func(field, format string, args ...any) *Rejection {
		return &Rejection{Rule: RuleRefundItems, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if len(req.Items) == 0 {
		if !req.ReturnGoods {
			return nil, nil
		}
		var out []providers.Item
		for _, it := range o.in.Items {
			if left := it.Quantity - o.returnedQty(it.SKU); left > 0 {
				it.Quantity = left
				out = append(out, it)
			}
		}
		if len(out) == 0 {
			return nil, bad("items", "every unit of the order is already being returned")
		}
		return out, nil
	}
	if len(req.Items) > maxItems {
		return nil, bad("items", "at most %d items", maxItems)
	}
	out := make([]providers.Item, 0, len(req.Items))
	for i, ref := range req.Items {
		f := fmt.Sprintf("items[%d]", i)
		var found *providers.Item
		for j := range o.in.Items {
			if o.in.Items[j].SKU == ref.SKU {
				found = &o.in.Items[j]
			}
		}
		if found == nil {
			return nil, bad(f+".sku", "SKU %q is not in the order", ref.SKU)
		}
		for _, prev := range req.Items[:i] {
			if prev.SKU == ref.SKU {
				return nil, bad(f+".sku", "SKU %q appears twice", ref.SKU)
			}
		}
		limit := found.Quantity
		if req.ReturnGoods {
			limit -= o.returnedQty(ref.SKU)
		}
		if ref.Quantity < 1 || ref.Quantity > limit {
			return nil, bad(f+".quantity", "must be 1 to %d, got %d", limit, ref.Quantity)
		}
		it := *found
		it.Quantity = ref.Quantity
		out = append(out, it)
	}
	return out, nil
}

// newRefundRecord books a refund.
func (o *order) newRefundRecord(ctx workflow.Context, req RefundRequest, items []providers.Item, system bool) *refundRecord {
	rec := &refundRecord{
		req: req, system: system, state: RefundRequested, items: items,
		workflowID:  RefundWorkflowID(o.id, req.RefundNo),
		outRefundNo: key(ctx, o.id, "refund", req.RefundNo),
		outReturnNo: key(ctx, o.id, "return", req.RefundNo),
		requestedAt: workflow.Now(ctx),
	}
	o.refunds = append(o.refunds, rec)
	kind := "refund"
	if req.ReturnGoods {
		kind = "return and refund"
	}
	o.event(ctx, "refund", fmt.Sprintf("%s %s of %s requested: %s", kind, req.RefundNo, req.Amount, req.Reason))
	return rec
}

// requestRefund is the RequestRefund handler. A refund that takes everything
// still refundable before shipment stops the order (it ends Refunded, the
// customs filings withdrawn); any other refund runs at once beside the order.
func (o *order) requestRefund(ctx workflow.Context, req RefundRequest) (RefundView, error) {
	if r := o.findRefund(req.RefundNo); r != nil {
		return r.view(), nil
	}
	items, _ := o.resolveItems(req)
	rec := o.newRefundRecord(ctx, req, items, false)
	if o.shipment == nil && o.refundable().IsZero() {
		o.stop = &stopRequest{kind: stopRefund, refund: rec}
	} else {
		o.startRefund(ctx, rec, nil)
	}
	o.upsert(ctx)
	return rec.view(), nil
}

// addSystemRefund books a compensating refund issued by the order itself.
func (o *order) addSystemRefund(ctx workflow.Context, kind, reason string, amount money.Amount) *refundRecord {
	o.sysRefunds++
	no := fmt.Sprintf("%s%s_%d", systemRefundPrefix, kind, o.sysRefunds)
	return o.newRefundRecord(ctx, RefundRequest{RefundNo: no, Amount: amount, Reason: reason, OperatorApproved: true}, nil, true)
}

// customsToCancel returns the customs filings a compensating refund must
// withdraw, once: later refunds of the same order get nil.
func (o *order) customsToCancel() *CustomsCancellation {
	if o.customsCancelAsked || (!o.manifestSubmitted && o.declaration == nil) {
		return nil
	}
	o.customsCancelAsked = true
	cc := &CustomsCancellation{}
	if o.declaration != nil {
		d := *o.declaration
		cc.Declaration = &d
	}
	if o.manifestSubmitted {
		cc.ManifestOrderNo = o.id
	}
	return cc
}

// startRefund starts the refund's child workflow and a coroutine that books its result.
func (o *order) startRefund(ctx workflow.Context, rec *refundRecord, cc *CustomsCancellation) {
	tax := money.Zero(money.CNY)
	if o.tax != nil {
		tax = o.tax.Total
	}
	in := RefundInput{
		OrderID:               o.id,
		MerchantID:            o.in.MerchantID,
		RefundNo:              rec.req.RefundNo,
		OutRefundNo:           rec.outRefundNo,
		OutReturnNo:           rec.outReturnNo,
		Provider:              o.in.Provider,
		OutTradeNo:            o.outTradeNo,
		TransactionID:         o.transactionID,
		TradeTotal:            o.captured,
		Amount:                rec.req.Amount,
		Reason:                rec.req.Reason,
		ReturnGoods:           rec.req.ReturnGoods,
		OperatorApproved:      rec.req.OperatorApproved,
		Items:                 rec.items,
		OrderTax:              tax,
		ReturnFileBy:          o.returnWindowEnd,
		ReturnDecisionTimeout: o.in.ReturnDecisionTimeout,
		CancelCustoms:         cc,
		Polling:               o.in.Polling,
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	cctx := workflow.WithChildOptions(dctx, workflow.ChildWorkflowOptions{
		WorkflowID: rec.workflowID,
		// The order waits for its refunds before it closes; should it be
		// terminated anyway, a refund that already started still finishes.
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.RefundState.ValueSet(string(RefundRequested)),
			searchattr.MerchantId.ValueSet(o.in.MerchantID),
			searchattr.Provider.ValueSet(string(o.in.Provider))),
	})
	fut := workflow.ExecuteChildWorkflow(cctx, RefundWorkflow, in)
	rec.state = RefundRunning
	workflow.Go(dctx, func(ctx workflow.Context) {
		var res RefundResult
		if err := fut.Get(ctx, &res); err != nil {
			res = RefundResult{RefundNo: rec.req.RefundNo, State: RefundFailed, Amount: rec.req.Amount,
				Error: err.Error(), FinishedAt: workflow.Now(ctx)}
		}
		o.refundDone(ctx, rec, res)
	})
}

// refundDone books a refund's result.
func (o *order) refundDone(ctx workflow.Context, rec *refundRecord, res RefundResult) {
	o.bookRefund(ctx, rec, res)
	rec.result = &res
	rec.state = res.State
	if !rec.state.Final() {
		rec.state = RefundFailed
	}
	if res.CustomsCancelled {
		o.customsCancelled = true
		if o.customs != CustomsRejected {
			o.customs = CustomsCancelled
		}
	}
	detail := fmt.Sprintf("refund %s %s", rec.req.RefundNo, rec.state)
	if res.TaxReversed.IsPositive() {
		detail += fmt.Sprintf(" (tax reversed %s)", res.TaxReversed)
	}
	if res.Error != "" {
		detail += ": " + res.Error
	}
	o.event(ctx, "refund", detail)
	o.upsert(ctx)
}

// compensate refunds everything the buyer paid and has not got back,
// withdrawing the customs filings with the first refund. first, when set, is
// a booked refund to run first (a full refund before shipment). A refund that
// fails puts the order in NeedsAttention; RetryStep("refund") issues a new one.
func (o *order) compensate(ctx workflow.Context, kind, reason string, first *refundRecord) error {
	return o.step(ctx, StepRefund, func(ctx workflow.Context) error {
		for {
			rec := first
			first = nil
			if rec == nil {
				// Refunds already running count: let them end first.
				if err := workflow.Await(ctx, func() bool { return o.activeRefunds() == 0 }); err != nil {
					return err
				}
				due := o.outstanding()
				if !due.IsPositive() {
					// Everything paid went back: nothing stays held.
					o.held = money.Zero(money.CNY)
					return nil
				}
				rec = o.addSystemRefund(ctx, kind, reason, due)
			}
			o.startRefund(ctx, rec, o.customsToCancel())
			if err := workflow.Await(ctx, func() bool { return !rec.active() }); err != nil {
				return err
			}
			if rec.state != RefundSucceeded {
				msg := fmt.Sprintf("refund %s ended %s", rec.req.RefundNo, rec.state)
				if rec.result != nil && rec.result.Error != "" {
					msg += ": " + rec.result.Error
				}
				return temporal.NewNonRetryableApplicationError(msg, "RefundFailed", nil)
			}
		}
	})
}

// unwind undoes the order after an accepted stop: a full refund before
// shipment ends Refunded; a Cancel closes the trade if unpaid (a late payment
// found then is refunded), refunds what was paid, withdraws the customs
// filings and ends Cancelled.
func (o *order) unwind(ctx workflow.Context) error {
	o.stopHandled = true
	s := o.stop
	if s.kind == stopRefund {
		o.transition(ctx, StateRefunding, string(StepRefund), "refunding the whole order before shipment")
		if err := o.compensate(ctx, "refund", s.refund.req.Reason, s.refund); err != nil {
			return err
		}
		o.transition(ctx, StateRefunded, string(StepRefund), "refunded in full before shipment")
		return nil
	}
	o.transition(ctx, StateCancelling, "cancel", fmt.Sprintf("cancel requested by %s: %s", s.cancel.By, s.cancel.Reason))
	if o.captured.IsZero() && o.outTradeNo != "" {
		p, err := o.closeTrade(ctx)
		if err != nil {
			return err
		}
		if p != nil {
			o.transactionID = p.TransactionID
			o.captured = p.Amount
			o.bookCaptured(ctx, p.PaidAt)
			o.event(ctx, "payment", fmt.Sprintf("trade found paid (%s) while cancelling: refunding", p.Amount))
		} else {
			o.event(ctx, string(StepClose), "unpaid trade closed")
		}
	}
	if err := o.compensate(ctx, "cancel", "order cancelled: "+s.cancel.Reason, nil); err != nil {
		return err
	}
	o.transition(ctx, StateCancelled, "cancel", "order cancelled")
	return nil
}
