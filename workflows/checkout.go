package workflows

import "go.temporal.io/sdk/workflow"

// checkoutReady reports when AwaitCheckout can answer: the payment session
// exists, or the order cannot reach one now (ended, needs attention, paid,
// cancelled).
func (o *order) checkoutReady() bool {
	return o.session != nil || o.state.Final() || o.state == StateNeedsAttention ||
		o.captured.IsPositive() || o.stop != nil
}

// awaitCheckout is the AwaitCheckout handler. It has no side effects, so any
// number of calls (a retried Update-with-Start of the same order) get the same
// answer.
func (o *order) awaitCheckout(ctx workflow.Context) (CheckoutResult, error) {
	if err := workflow.Await(ctx, o.checkoutReady); err != nil {
		return CheckoutResult{}, err
	}
	return o.checkout(), nil
}

func (o *order) checkout() CheckoutResult {
	r := CheckoutResult{OrderID: o.id, State: o.state, Total: o.total, Rejection: o.rejection}
	if o.tax != nil {
		r.Tax = o.tax.Total
	}
	if o.state == StateNeedsAttention {
		r.LastError = o.lastErr
	}
	if o.session != nil && o.state == StateAwaitingPayment {
		r.QRCode = o.session.QRCode
		r.PayURL = o.session.PayURL
		r.ExpiresAt = o.paymentExpiresAt
	}
	return r
}
