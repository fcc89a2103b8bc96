package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/providers"
)

// awaitShipment waits for the Shipped update, which moves the order to
// AwaitingConfirmation and starts the auto-confirm deadline.
func (o *order) awaitShipment(ctx workflow.Context) error {
	_, err := o.await(ctx, 0, func() bool { return o.shipment != nil })
	return err
}

// awaitConfirmation waits for ConfirmReceipt, ForceRelease or the auto-confirm
// deadline; ExtendConfirmation moves the deadline (an updatable timer: each
// wait ends when the deadline it started with changes). Then, unless forced, it
// waits for refunds in progress: money that may go back to the buyer stays held.
func (o *order) awaitConfirmation(ctx workflow.Context) {
	for o.confirmedBy == "" {
		deadline := o.autoConfirmAt
		wait := deadline.Sub(workflow.Now(ctx))
		if wait > 0 {
			_, _ = workflow.AwaitWithTimeout(ctx, wait, func() bool {
				return o.confirmedBy != "" || !o.autoConfirmAt.Equal(deadline)
			})
		}
		if o.confirmedBy == "" && o.autoConfirmAt.Equal(deadline) && !workflow.Now(ctx).Before(deadline) {
			o.confirmedBy = "auto-confirm"
			o.event(ctx, "confirmation", "receipt confirmed automatically at the deadline")
		}
	}
	if !o.forced && o.activeRefunds() > 0 {
		o.event(ctx, "release", "waiting for refunds in progress before releasing the funds")
		_ = workflow.Await(ctx, func() bool { return o.activeRefunds() == 0 || o.forced })
	}
}

// release releases the held funds (less what was refunded) to the merchant.
func (o *order) release(ctx workflow.Context) error {
	o.transition(ctx, StateReleasing, string(StepRelease), "receipt confirmed by "+o.confirmedBy)
	amount := o.held
	if amount.IsPositive() {
		amount = mustSub(amount, o.refunded())
	}
	if amount.IsPositive() {
		releaseKey := key(ctx, o.id, "release")
		var res activities.HoldResult
		err := o.step(ctx, StepRelease, func(ctx workflow.Context) error {
			return run(ctx, moneyOptions, payAct.ReleaseFunds, &res, activities.HoldInput{Provider: o.in.Provider,
				Request: providers.HoldRequest{OutTradeNo: o.outTradeNo, TransactionID: o.transactionID,
					OutRequestNo: releaseKey, Amount: amount}})
		})
		if err != nil {
			return err
		}
		o.event(ctx, string(StepRelease), fmt.Sprintf("%s released to the merchant (%s)", amount, res.Hold.Status))
	}
	o.held = mustSub(o.held, o.held)
	o.bookReleased(ctx)
	o.transition(ctx, StateCompleted, string(StepRelease), "completed: ready for settlement")
	return nil
}

// awaitReturnWindow keeps the order open until the return window closes, so
// that returns can still be requested.
func (o *order) awaitReturnWindow(ctx workflow.Context) error {
	if d := o.returnWindowEnd.Sub(workflow.Now(ctx)); d > 0 {
		return workflow.Sleep(ctx, d)
	}
	return nil
}
