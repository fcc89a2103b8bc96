package workflows

import (
	"fmt"
	"strconv"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// isPaid reports a trade state in which the buyer's money was taken.
func isPaid(s providers.PaymentStatus) bool {
	return s == providers.PaymentPaid || s == providers.PaymentFinished || s == providers.PaymentRefunded
}

func (o *order) paymentRef() activities.PaymentRef {
	return activities.PaymentRef{Provider: o.in.Provider, OutTradeNo: o.outTradeNo}
}

// authorize creates the payment and waits for it. It returns true once the
// order is paid; false when it ended Expired or PaymentMismatch.
func (o *order) authorize(ctx workflow.Context) (bool, error) {
	attempt := 0
	err := o.step(ctx, StepPayment, func(ctx workflow.Context) error {
		// An operator retry after a final failure is a new attempt with a new
		// out_trade_no and a fresh expiry; Temporal's own retries of one
		// attempt repeat the same request.
		attempt++
		o.outTradeNo = key(ctx, o.id, "pay", strconv.Itoa(attempt))
		expireAt := workflow.Now(ctx).Add(o.in.PaymentExpiry)
		req := providers.PaymentRequest{
			OutTradeNo:  o.outTradeNo,
			Subject:     fmt.Sprintf("%s order %s", o.in.MerchantID, o.in.MerchantOrderNo),
			Amount:      o.total,
			ExpireAt:    expireAt,
			Scene:       o.in.Scene,
			Instalments: o.in.Instalments,
			Payer:       o.in.Payer,
			Hold:        true,
		}
		var s providers.PaymentSession
		if err := run(ctx, createPaymentOptions, payAct.CreatePayment, &s,
			activities.CreatePaymentInput{OrderID: o.id, Provider: o.in.Provider, Request: req}); err != nil {
			return err
		}
		o.session = &s
		o.paymentExpiresAt = expireAt
		return nil
	})
	if err != nil {
		return false, err
	}
	detail := fmt.Sprintf("payment of %s created at %s", o.total, o.in.Provider)
	if o.in.Instalments != nil {
		detail += fmt.Sprintf(" with %d Huabei instalments (fee: %s)", o.in.Instalments.Count, o.in.Instalments.FeeBearer)
	}
	o.transition(ctx, StateAwaitingPayment, string(StepPayment), detail)
	return o.awaitPayment(ctx)
}

// takePaymentNotice returns the pending notification for the current trade, if any.
func (o *order) takePaymentNotice(ctx workflow.Context) *providers.Payment {
	p := o.paymentNotice
	o.paymentNotice = nil
	if p == nil {
		return nil
	}
	if p.OutTradeNo != o.outTradeNo {
		workflow.GetLogger(ctx).Warn("payment notification for another trade ignored", "OrderID", o.id)
		return nil
	}
	return p
}

// awaitPayment waits for the payment notification, polls as a fallback, and
// closes the trade at expiry.
func (o *order) awaitPayment(ctx workflow.Context) (bool, error) {
	for {
		if p := o.takePaymentNotice(ctx); p != nil {
			if isPaid(p.Status) {
				return o.paid(ctx, *p, "notification")
			}
			if p.Status == providers.PaymentClosed {
				break
			}
		}
		now := workflow.Now(ctx)
		if !now.Before(o.paymentExpiresAt) {
			break
		}
		got, err := o.await(ctx, min(o.in.Polling.Payment, o.paymentExpiresAt.Sub(now)),
			func() bool { return o.paymentNotice != nil })
		if err != nil {
			return false, err
		}
		if got || !workflow.Now(ctx).Before(o.paymentExpiresAt) {
			continue
		}
		var p providers.Payment
		if err := run(ctx, pollOptions, payAct.QueryPayment, &p, o.paymentRef()); err != nil {
			workflow.GetLogger(ctx).Warn("payment poll failed", "OrderID", o.id, "ErrorType", errorType(err))
			continue
		}
		if isPaid(p.Status) {
			return o.paid(ctx, p, "query")
		}
	}
	return o.expire(ctx)
}

// expire closes the unpaid trade. When the provider refuses because the trade
// is paid, the late payment is confirmed by a query and honoured.
func (o *order) expire(ctx workflow.Context) (bool, error) {
	p, err := o.closeTrade(ctx)
	if err != nil {
		return false, err
	}
	if p != nil {
		o.event(ctx, string(StepPayment), "late payment found while closing the expired trade: honoured")
		return o.paid(ctx, *p, "late")
	}
	o.transition(ctx, StateExpired, string(StepClose), "not paid in time: trade closed")
	return false, nil
}

// closeTrade closes the trade; it returns the payment when the trade turned out paid.
func (o *order) closeTrade(ctx workflow.Context) (*providers.Payment, error) {
	var res activities.CloseResult
	err := o.step(ctx, StepClose, func(ctx workflow.Context) error {
		return run(ctx, moneyOptions, payAct.ClosePayment, &res, o.paymentRef())
	})
	if err != nil || !res.AlreadyPaid {
		return nil, err
	}
	var p providers.Payment
	err = o.step(ctx, StepPayment, func(ctx workflow.Context) error {
		if err := run(ctx, moneyOptions, payAct.QueryPayment, &p, o.paymentRef()); err != nil {
			return err
		}
		if !isPaid(p.Status) || p.Amount.Currency() != money.CNY {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"the provider refused to close the trade as paid, but reports it %s %s", p.Status, p.Amount),
				"PaymentStateUnclear", nil)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// paid records the payment. A payment of another amount than the order is
// refunded in full and ends the order PaymentMismatch.
func (o *order) paid(ctx workflow.Context, p providers.Payment, how string) (bool, error) {
	if p.Amount.Currency() != money.CNY {
		// Adapters report CNY; anything else cannot be booked or refunded here.
		o.attention(ctx, StepPayment, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("payment reported in %q", string(p.Amount.Currency())), "PaymentStateUnclear", nil))
		_, err := o.await(ctx, 0, func() bool { return false })
		return false, err
	}
	o.transactionID = p.TransactionID
	o.captured = p.Amount
	o.bookCaptured(ctx, p.PaidAt)
	if !p.Amount.Equal(o.total) {
		o.compensating = true
		o.transition(ctx, StateCompensating, string(StepPayment),
			fmt.Sprintf("paid %s but the order is %s (%s): refunding", p.Amount, o.total, how))
		if err := o.compensate(ctx, "mismatch", "payment amount differs from the order", nil); err != nil {
			return false, err
		}
		o.transition(ctx, StatePaymentMismatch, string(StepRefund), "mismatched payment refunded")
		return false, nil
	}
	detail := fmt.Sprintf("paid %s (%s)", p.Amount, how)
	if p.Instalments > 0 {
		detail += fmt.Sprintf(" in %d instalments", p.Instalments)
	}
	o.transition(ctx, StatePaid, string(StepPayment), detail)
	return true, nil
}
