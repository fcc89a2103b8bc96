package activities

import (
	"context"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// Payments holds the activities that talk to payment providers: create, query
// and close a trade, refund it, and hold or release its funds (escrow).
type Payments struct {
	// Providers are the payment providers by name.
	Providers map[providers.Name]providers.PaymentProvider
	// NotifyURL returns the notification URL for an order at a provider. The
	// order id is part of the URL path (providers refuse query strings in
	// notify URLs), so the API can route a verified notification to the order
	// workflow without a lookup. Nil leaves the request's NotifyURL as it is.
	NotifyURL func(provider providers.Name, orderID string) string
}

// CreatePaymentInput is the input of CreatePayment.
type CreatePaymentInput struct {
	// OrderID is the order workflow id, for the notify URL.
	OrderID string `json:"orderId"`
	// Provider is who takes the payment.
	Provider providers.Name `json:"provider"`
	// Request is the payment request; OutTradeNo is the idempotency key.
	Request providers.PaymentRequest `json:"request"`
}

// PaymentRef names a trade at a provider.
type PaymentRef struct {
	// Provider holds the trade.
	Provider providers.Name `json:"provider"`
	// OutTradeNo is our trade number.
	OutTradeNo string `json:"outTradeNo"`
}

// CloseResult is the outcome of ClosePayment.
type CloseResult struct {
	// Closed is true when the trade is closed (or never existed): it can no longer be paid.
	Closed bool `json:"closed"`
	// AlreadyPaid is true when the provider refused to close because the trade is paid.
	AlreadyPaid bool `json:"alreadyPaid"`
}

// RefundInput is the input of Refund.
type RefundInput struct {
	// OrderID is the order workflow id, for the notify URL.
	OrderID string `json:"orderId"`
	// Provider holds the trade.
	Provider providers.Name `json:"provider"`
	// Request is the refund request; OutRefundNo is the idempotency key.
	Request providers.RefundRequest `json:"request"`
}

// RefundRef names a refund at a provider.
type RefundRef struct {
	// Provider holds the trade.
	Provider providers.Name `json:"provider"`
	// OutTradeNo is the refunded trade.
	OutTradeNo string `json:"outTradeNo"`
	// OutRefundNo is our refund number.
	OutRefundNo string `json:"outRefundNo"`
}

// HoldInput is the input of HoldFunds and ReleaseFunds.
type HoldInput struct {
	// Provider holds the trade.
	Provider providers.Name `json:"provider"`
	// Request names the trade, the amount and our request number (the idempotency key).
	Request providers.HoldRequest `json:"request"`
}

// HoldResult is the outcome of HoldFunds and ReleaseFunds.
type HoldResult struct {
	// Supported is false when the provider offers no escrow hold; nothing was done.
	Supported bool `json:"supported"`
	// Hold is the provider's answer when supported.
	Hold providers.Hold `json:"hold"`
}

func (p *Payments) provider(name providers.Name) (providers.PaymentProvider, error) {
	pp, ok := p.Providers[name]
	if !ok || pp == nil {
		return nil, notConfigured("payment provider", name)
	}
	return pp, nil
}

// CreatePayment creates the trade at the provider and returns what the buyer
// needs to pay (QR code or pay URL). Repeating it with the same OutTradeNo
// returns the same session.
func (p *Payments) CreatePayment(ctx context.Context, in CreatePaymentInput) (providers.PaymentSession, error) {
	pp, err := p.provider(in.Provider)
	if err != nil {
		return providers.PaymentSession{}, err
	}
	if in.Request.OutTradeNo == "" {
		return providers.PaymentSession{}, invalidInput("request.outTradeNo: required")
	}
	if err := requireCNY("request.amount", in.Request.Amount); err != nil {
		return providers.PaymentSession{}, err
	}
	req := in.Request
	if p.NotifyURL != nil {
		req.NotifyURL = p.NotifyURL(in.Provider, in.OrderID)
	}
	done := observe(ctx, string(in.Provider), "create_payment")
	s, err := pp.CreatePayment(ctx, req)
	done(&err)
	return s, ProviderError(err)
}

// QueryPayment returns the trade's state; an unknown trade is PaymentNotFound.
func (p *Payments) QueryPayment(ctx context.Context, ref PaymentRef) (providers.Payment, error) {
	pp, err := p.provider(ref.Provider)
	if err != nil {
		return providers.Payment{}, err
	}
	done := observe(ctx, string(ref.Provider), "query_payment")
	pay, err := pp.QueryPayment(ctx, ref.OutTradeNo)
	done(&err)
	return pay, ProviderError(err)
}

// ClosePayment closes an unpaid trade. A trade that is already closed or was
// never created counts as closed; a paid trade is reported as AlreadyPaid (a
// result, not an error) so that the workflow can honour the late payment.
func (p *Payments) ClosePayment(ctx context.Context, ref PaymentRef) (CloseResult, error) {
	pp, err := p.provider(ref.Provider)
	if err != nil {
		return CloseResult{}, err
	}
	done := observe(ctx, string(ref.Provider), "close_payment")
	err = pp.ClosePayment(ctx, ref.OutTradeNo)
	done(&err)
	switch {
	case err == nil, providers.IsType(err, providers.ErrTypeTradeClosed), providers.IsType(err, providers.ErrTypeTradeNotFound):
		return CloseResult{Closed: true}, nil
	case providers.IsType(err, providers.ErrTypeTradePaid):
		return CloseResult{AlreadyPaid: true}, nil
	}
	return CloseResult{}, ProviderError(err)
}

// Refund refunds part or all of a paid trade. A refund the provider still
// processes comes back with status PROCESSING; one it refused as a final
// business decision comes back as a non-retryable error.
func (p *Payments) Refund(ctx context.Context, in RefundInput) (providers.Refund, error) {
	pp, err := p.provider(in.Provider)
	if err != nil {
		return providers.Refund{}, err
	}
	if in.Request.OutRefundNo == "" {
		return providers.Refund{}, invalidInput("request.outRefundNo: required")
	}
	if err := requireCNY("request.amount", in.Request.Amount); err != nil {
		return providers.Refund{}, err
	}
	if !in.Request.Amount.IsPositive() {
		return providers.Refund{}, invalidInput("request.amount: must be positive, got %s", in.Request.Amount)
	}
	req := in.Request
	if p.NotifyURL != nil {
		req.NotifyURL = p.NotifyURL(in.Provider, in.OrderID)
	}
	done := observe(ctx, string(in.Provider), "refund")
	r, err := pp.Refund(ctx, req)
	done(&err)
	return r, ProviderError(err)
}

// QueryRefund returns a refund's state.
func (p *Payments) QueryRefund(ctx context.Context, ref RefundRef) (providers.Refund, error) {
	pp, err := p.provider(ref.Provider)
	if err != nil {
		return providers.Refund{}, err
	}
	done := observe(ctx, string(ref.Provider), "query_refund")
	r, err := pp.QueryRefund(ctx, ref.OutTradeNo, ref.OutRefundNo)
	done(&err)
	return r, ProviderError(err)
}

// HoldFunds keeps a paid trade's funds frozen where the provider implements
// providers.EscrowHolder; for other providers it answers Supported=false.
func (p *Payments) HoldFunds(ctx context.Context, in HoldInput) (HoldResult, error) {
	return p.hold(ctx, in, false)
}

// ReleaseFunds releases frozen funds to the merchant where the provider
// implements providers.EscrowHolder; for other providers it answers Supported=false.
func (p *Payments) ReleaseFunds(ctx context.Context, in HoldInput) (HoldResult, error) {
	return p.hold(ctx, in, true)
}

func (p *Payments) hold(ctx context.Context, in HoldInput, release bool) (HoldResult, error) {
	pp, err := p.provider(in.Provider)
	if err != nil {
		return HoldResult{}, err
	}
	eh, ok := pp.(providers.EscrowHolder)
	if !ok {
		return HoldResult{Supported: false}, nil
	}
	if in.Request.OutRequestNo == "" {
		return HoldResult{}, invalidInput("request.outRequestNo: required")
	}
	var h providers.Hold
	if release {
		done := observe(ctx, string(in.Provider), "release_funds")
		h, err = eh.ReleaseFunds(ctx, in.Request)
		done(&err)
	} else {
		done := observe(ctx, string(in.Provider), "hold_funds")
		h, err = eh.HoldFunds(ctx, in.Request)
		done(&err)
	}
	if providers.IsType(err, providers.ErrTypeNotSupported) {
		return HoldResult{Supported: false}, nil
	}
	if err != nil {
		return HoldResult{}, ProviderError(err)
	}
	return HoldResult{Supported: true, Hold: h}, nil
}

// requireCNY checks that a is a whole number of fen in CNY.
func requireCNY(field string, a money.Amount) error {
	if a.Currency() != money.CNY {
		return invalidInput("%s: must be in CNY, got %q", field, string(a.Currency()))
	}
	if !a.IsWhole() {
		return invalidInput("%s: %s is finer than one fen", field, a)
	}
	return nil
}
