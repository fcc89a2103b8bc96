package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/providers"
)

var (
	trackingPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	carrierPattern  = regexp.MustCompile(`^[\p{L}\p{N} ._&()-]{1,64}$`)
)

// register installs the query, update and signal handlers. It runs before the
// main flow blocks, so that an update sent with the start (Update-with-Start)
// finds its handler.
func (o *order) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (OrderView, error) { return o.view(), nil }); err != nil {
		return err
	}
	updates := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateAwaitCheckout, o.awaitCheckout, nil},
		{UpdateCancel, o.cancel, o.validateCancel},
		{UpdateRequestRefund, o.requestRefund, o.validateRefund},
		{UpdateShipped, o.ship, o.validateShip},
		{UpdateConfirmReceipt, o.confirm, o.validateConfirm},
		{UpdateExtendConfirmation, o.extend, o.validateExtend},
		{UpdateRedeclare, o.redeclareUpdate, o.validateRedeclare},
		{UpdateRetryStep, o.retryStep, o.validateRetryStep},
		{UpdateForceRelease, o.forceRelease, o.validateForceRelease},
	}
	for _, u := range updates {
		opts := workflow.UpdateHandlerOptions{Validator: u.validator}
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, opts); err != nil {
			return fmt.Errorf("register update %s: %w", u.name, err)
		}
	}
	// Signals keep flowing (and are forwarded to refunds) even after a
	// Temporal cancellation request, which only cancels the root context.
	listenCtx, _ := workflow.NewDisconnectedContext(ctx)
	o.listen(listenCtx)
	o.watchCancellation(ctx)
	return nil
}

// listen drains the notification signals into the order.
func (o *order) listen(ctx workflow.Context) {
	payCh := workflow.GetSignalChannel(ctx, SignalPaymentNotified)
	customsCh := workflow.GetSignalChannel(ctx, SignalCustomsResult)
	refundCh := workflow.GetSignalChannel(ctx, SignalRefundNotified)
	returnCh := workflow.GetSignalChannel(ctx, SignalReturnDecision)
	workflow.Go(ctx, func(ctx workflow.Context) {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(payCh, func(c workflow.ReceiveChannel, _ bool) {
			var p providers.Payment
			c.Receive(ctx, &p)
			// Keep a paid notice over a pending one that arrives after it.
			if o.paymentNotice == nil || !isPaid(o.paymentNotice.Status) {
				o.paymentNotice = &p
			}
		})
		sel.AddReceive(customsCh, func(c workflow.ReceiveChannel, _ bool) {
			var cl providers.Clearance
			c.Receive(ctx, &cl)
			if cl.OrderNo != "" && cl.OrderNo != o.id {
				workflow.GetLogger(ctx).Warn("customs result for another order ignored", "OrderID", o.id)
				return
			}
			if cl.Status == providers.ClearanceCleared || cl.Status == providers.ClearanceRejected {
				o.clearanceNotice = &cl
			}
		})
		sel.AddReceive(refundCh, func(c workflow.ReceiveChannel, _ bool) {
			var r providers.Refund
			c.Receive(ctx, &r)
			for _, rec := range o.refunds {
				if rec.outRefundNo == r.OutRefundNo && rec.active() {
					o.forward(ctx, rec, SignalRefundNotified, r)
				}
			}
		})
		sel.AddReceive(returnCh, func(c workflow.ReceiveChannel, _ bool) {
			var r providers.Return
			c.Receive(ctx, &r)
			for _, rec := range o.refunds {
				if rec.outReturnNo == r.OutReturnNo && rec.active() {
					o.forward(ctx, rec, SignalReturnDecision, r)
				}
			}
		})
		for {
			sel.Select(ctx)
		}
	})
}

// forward passes a notification on to the refund workflow it belongs to.
func (o *order) forward(ctx workflow.Context, rec *refundRecord, signal string, payload any) {
	f := workflow.SignalExternalWorkflow(ctx, rec.workflowID, "", signal, payload)
	workflow.Go(ctx, func(ctx workflow.Context) {
		err := f.Get(ctx, nil)
		var ended *temporal.UnknownExternalWorkflowExecutionError
		switch {
		case err == nil:
		case errors.As(err, &ended):
			// The refund ended between our check and the signal: a late or
			// duplicated notification it no longer needs.
			workflow.GetLogger(ctx).Info("refund already ended; notification not forwarded", "OrderID", o.id, "RefundNo", rec.req.RefundNo)
		default:
			// The refund polls as well; a lost forward only delays it.
			workflow.GetLogger(ctx).Warn("forward to refund failed", "OrderID", o.id, "RefundNo", rec.req.RefundNo, "Error", err)
		}
	})
}

// watchCancellation turns a Temporal cancellation request into a Cancel while
// the order may still be cancelled; later ones are logged and ignored, as the
// order must run its course once shipped.
func (o *order) watchCancellation(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		_ = workflow.Await(ctx, func() bool { return false })
		c := Cancel{Reason: "workflow cancellation requested", By: "temporal"}
		if err := o.validateCancel(ctx, c); err != nil {
			workflow.GetLogger(ctx).Warn("cancellation request ignored", "OrderID", o.id, "State", string(o.state))
			return
		}
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_, _ = o.cancel(dctx, c)
	})
}

// requireFields checks name/value pairs: each value present and at most 256 bytes.
func requireFields(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" || len(fields[i+1]) > 256 {
			return violation(RuleRequestFields, fields[i], "required, up to 256 characters")
		}
	}
	return nil
}

// validateCancel allows a Cancel before shipment, while nothing final happened.
func (o *order) validateCancel(_ workflow.Context, c Cancel) error {
	if err := requireFields("reason", c.Reason, "by", c.By); err != nil {
		return err
	}
	if o.stop != nil && o.stop.kind == stopCancel {
		return nil // idempotent: already cancelling
	}
	if o.shipment != nil {
		return violation(RuleCancelAfterShipment, "state", "the order has shipped: ask for a refund with return instead")
	}
	if o.stop != nil || o.closing || o.compensating || o.state.Final() {
		return violation(RuleCancelState, "state", "the order cannot be cancelled in state %s", o.state)
	}
	return nil
}

// cancel is the Cancel handler: it records the request; the main flow picks
// it up at its next step boundary and moves to Cancelling.
func (o *order) cancel(ctx workflow.Context, c Cancel) (OrderView, error) {
	if o.stop == nil {
		o.stop = &stopRequest{kind: stopCancel, cancel: &c}
		o.event(ctx, "cancel", fmt.Sprintf("cancel accepted from %s: %s", c.By, c.Reason))
	}
	return o.view(), nil
}

// validateShip allows the shipment once cleared; the same shipment again is accepted.
func (o *order) validateShip(_ workflow.Context, s Shipment) error {
	if !carrierPattern.MatchString(s.Carrier) {
		return violation(RuleShipmentData, "carrier", "must be 1-64 letters, digits, spaces or ._&()-")
	}
	if !trackingPattern.MatchString(s.TrackingNo) {
		return violation(RuleShipmentData, "trackingNo", "must be 1-64 characters of [A-Za-z0-9_-]")
	}
	if o.shipment != nil {
		if o.shipment.Carrier == s.Carrier && o.shipment.TrackingNo == s.TrackingNo {
			return nil
		}
		return violation(RuleShipmentState, "trackingNo", "the order already shipped with another tracking number")
	}
	if o.state != StateAwaitingShipment || o.stop != nil {
		return violation(RuleShipmentState, "state", "only a cleared order that is not cancelled can ship (state %s)", o.state)
	}
	return nil
}

// ship is the Shipped handler: the auto-confirm deadline starts.
func (o *order) ship(ctx workflow.Context, s Shipment) (OrderView, error) {
	if o.shipment != nil {
		return o.view(), nil
	}
	now := workflow.Now(ctx)
	s.ShippedAt = now
	o.shipment = &s
	o.autoConfirmAt = now.Add(o.in.AutoConfirmAfter)
	o.transition(ctx, StateAwaitingConfirmation, "shipment",
		fmt.Sprintf("shipped by %s %s; auto-confirm at %s", s.Carrier, s.TrackingNo, o.autoConfirmAt.Format(time.RFC3339)))
	return o.view(), nil
}

func (o *order) awaitingConfirmation() bool {
	return o.state == StateAwaitingConfirmation && o.confirmedBy == ""
}

// validateConfirm allows ConfirmReceipt while awaiting confirmation (and again after it).
func (o *order) validateConfirm(_ workflow.Context, _ Confirmation) error {
	if o.awaitingConfirmation() || (o.shipment != nil && o.confirmedBy != "") {
		return nil
	}
	return violation(RuleConfirmState, "state", "the order is not awaiting confirmation (state %s)", o.state)
}

// confirm is the ConfirmReceipt handler.
func (o *order) confirm(ctx workflow.Context, c Confirmation) (OrderView, error) {
	if o.confirmedBy == "" {
		o.confirmedBy = "buyer"
		if c.By != "" {
			o.confirmedBy = "buyer via " + c.By
		}
		o.event(ctx, "confirmation", "receipt confirmed by the buyer")
	}
	return o.view(), nil
}

// validateExtend bounds the extensions in count and total days.
func (o *order) validateExtend(_ workflow.Context, e Extension) error {
	if !o.awaitingConfirmation() {
		return violation(RuleExtensionState, "state", "the order is not awaiting confirmation (state %s)", o.state)
	}
	if err := requireFields("reason", e.Reason); err != nil {
		return err
	}
	if e.Days < 1 {
		return violation(RuleExtensionDays, "days", "must be at least 1, got %d", e.Days)
	}
	if o.extensions >= o.in.MaxExtensions {
		return violation(RuleExtensionCount, "days", "at most %d extensions, %d used", o.in.MaxExtensions, o.extensions)
	}
	add := time.Duration(e.Days) * 24 * time.Hour
	if add > o.in.MaxExtensionTotal || o.extended+add > o.in.MaxExtensionTotal {
		return violation(RuleExtensionTotal, "days", "at most %s in total, %s used, %d days asked",
			o.in.MaxExtensionTotal, o.extended, e.Days)
	}
	return nil
}

// extend is the ExtendConfirmation handler: it moves the deadline, which ends
// the current timer in awaitConfirmation and starts a new one.
func (o *order) extend(ctx workflow.Context, e Extension) (OrderView, error) {
	add := time.Duration(e.Days) * 24 * time.Hour
	o.extensions++
	o.extended += add
	o.autoConfirmAt = o.autoConfirmAt.Add(add)
	o.event(ctx, "confirmation", fmt.Sprintf("deadline extended by %d days to %s: %s",
		e.Days, o.autoConfirmAt.Format(time.RFC3339), e.Reason))
	return o.view(), nil
}

// validateForceRelease allows an operator release while awaiting confirmation.
func (o *order) validateForceRelease(_ workflow.Context, f ForceRelease) error {
	if err := requireFields("reason", f.Reason, "by", f.By); err != nil {
		return err
	}
	if !o.awaitingConfirmation() && !(o.confirmedBy != "" && o.state == StateAwaitingConfirmation && !o.forced) {
		return violation(RuleConfirmState, "state", "the order is not awaiting confirmation (state %s)", o.state)
	}
	return nil
}

// forceRelease is the ForceRelease handler: it confirms on the operator's
// authority and releases without waiting for refunds in progress.
func (o *order) forceRelease(ctx workflow.Context, f ForceRelease) (OrderView, error) {
	if o.confirmedBy == "" {
		o.confirmedBy = "operator " + f.By
	}
	o.forced = true
	o.event(ctx, "confirmation", fmt.Sprintf("release forced by %s: %s", f.By, f.Reason))
	return o.view(), nil
}

// validateRedeclare allows a correction while the declaration has failed.
func (o *order) validateRedeclare(_ workflow.Context, r Redeclaration) error {
	if o.state != StateDeclarationFailed || o.declaration == nil || o.redeclare != nil || o.stop != nil {
		return violation(RuleRedeclareState, "state", "the payment declaration has not failed (state %s)", o.state)
	}
	if err := requireFields("reason", r.Reason); err != nil {
		return err
	}
	if r.Payer == nil && r.CustomsCode == "" && r.MerchantCustomsCode == "" && r.MerchantCustomsName == "" {
		return violation(RuleRedeclareData, "payer", "nothing to correct: give the payer or a customs code")
	}
	if r.Payer != nil {
		if r.Payer.Name == "" {
			return violation(RuleRedeclareData, "payer.name", "required")
		}
		if err := cbec.ValidateIDNumber(r.Payer.IDNumber); err != nil {
			return violation(RuleRedeclareData, "payer.idNumber", "not a valid resident ID number")
		}
	}
	for _, f := range []struct{ name, v string }{
		{"customsCode", r.CustomsCode}, {"merchantCustomsCode", r.MerchantCustomsCode}, {"merchantCustomsName", r.MerchantCustomsName},
	} {
		if len(f.v) > 128 {
			return violation(RuleRedeclareData, f.name, "at most 128 characters")
		}
	}
	return nil
}

// redeclareUpdate is the Redeclare handler; the main flow re-declares.
func (o *order) redeclareUpdate(ctx workflow.Context, r Redeclaration) (OrderView, error) {
	o.redeclare = &r
	o.event(ctx, "customs", "re-declaration requested: "+r.Reason)
	return o.view(), nil
}

// validateRetryStep allows re-running the step named in LastError.
func (o *order) validateRetryStep(_ workflow.Context, r RetryStep) error {
	if o.state != StateNeedsAttention || o.lastErr == nil || o.retry != "" {
		return violation(RuleRetryState, "state", "no step needs attention (state %s)", o.state)
	}
	if r.Step != o.lastErr.Step {
		return violation(RuleRetryState, "step", "the step that needs attention is %q, not %q", o.lastErr.Step, r.Step)
	}
	return nil
}

// retryStep is the RetryStep handler; the waiting step runs again.
func (o *order) retryStep(ctx workflow.Context, r RetryStep) (OrderView, error) {
	o.retry = r.Step
	detail := fmt.Sprintf("retry of %s requested", r.Step)
	if r.Note != "" {
		detail += ": " + r.Note
	}
	o.event(ctx, string(r.Step), detail)
	return o.view(), nil
}
