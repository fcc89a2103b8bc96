// Package cardpsp is the adapter for the card PSP (a cross-border acquirer in
// the style of PingPong or LianLian): it implements providers.PaymentProvider
// for international card payments in CNY through the PSP's hosted checkout,
// providers.CustomsDeclarer for the payments' customs declarations, and
// providers.Payouts for paying merchants in their home currency, over the
// PSP's HMAC-signed JSON API, and verifies and decodes its signed payment,
// refund and payout notifications. Amounts travel as integer minor units.
//
// The PSP has no escrow hold (PaymentRequest.Hold is ignored) and no
// instalments (a request with Instalments is refused as not supported).
package cardpsp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/internal/hmacsig"
)

// provider names the PSP in errors.
const provider = string(providers.Card)

// NotifyPayout is the kind of a payout notification, beside
// providers.NotifyPayment and providers.NotifyRefund.
const NotifyPayout providers.NotificationKind = "payout"

// Config configures the adapter: BaseURL is the PSP's API base URL, KeyID and
// Secret are the merchant's HMAC credentials (all three required); HTTPClient
// sends requests (nil: a client with a 15-second timeout), Now is the signing
// clock (nil: time.Now) and Logger logs (nil: slog.Default()).
type Config hmacsig.Config

// Client implements providers.PaymentProvider, providers.CustomsDeclarer and providers.Payouts.
type Client struct {
	api *hmacsig.Client
}

var (
	_ providers.PaymentProvider = (*Client)(nil)
	_ providers.Payouts         = (*Client)(nil)
)

// New returns a card PSP adapter.
func New(cfg Config) (*Client, error) {
	api, err := hmacsig.NewClient(provider, hmacsig.Config(cfg), Classify)
	if err != nil {
		return nil, err
	}
	return &Client{api: api}, nil
}

// Name identifies the provider.
func (c *Client) Name() providers.Name { return providers.Card }

// errorTypes classifies the PSP's codes beyond the common ones.
var errorTypes = map[string]providers.ErrorType{
	"CURRENCY_NOT_SUPPORTED":   providers.ErrTypeNotSupported,
	"PAYMENT_NOT_FOUND":        providers.ErrTypeTradeNotFound,
	"REFUND_NOT_FOUND":         providers.ErrTypeTradeNotFound,
	"PAYOUT_NOT_FOUND":         providers.ErrTypeTradeNotFound,
	"DUPLICATE_OUT_TRADE_NO":   providers.ErrTypeDuplicateRequest,
	"DUPLICATE_OUT_REFUND_NO":  providers.ErrTypeDuplicateRequest,
	"DUPLICATE_OUT_PAYOUT_NO":  providers.ErrTypeDuplicateRequest,
	"PAYMENT_ALREADY_PAID":     providers.ErrTypeTradePaid,
	"PAYMENT_CLOSED":           providers.ErrTypeTradeClosed,
	"PAYMENT_NOT_PAID":         providers.ErrTypeRejected,
	"REFUND_EXCEEDED":          providers.ErrTypeRefundExceeded,
	"DECLARATION_NOT_FOUND":    providers.ErrTypeTradeNotFound,
	"DUPLICATE_OUT_REQUEST_NO": providers.ErrTypeDuplicateRequest,
}

// Classify types a PSP error code: its own codes, the codes common to the
// HMAC providers, then by HTTP status (429 and 5xx retryable, else a rejection).
func Classify(status int, code string) providers.ErrorType {
	return hmacsig.ClassifyWith(errorTypes, status, code)
}

// Wire forms.
type (
	identity struct {
		Name     string `json:"name"`
		IDNumber string `json:"idNumber"`
	}
	paymentRequest struct {
		OutTradeNo string    `json:"outTradeNo"`
		Subject    string    `json:"subject"`
		Amount     int64     `json:"amount"`
		Currency   string    `json:"currency"`
		ExpireAt   time.Time `json:"expireAt,omitzero"`
		NotifyURL  string    `json:"notifyUrl,omitempty"`
		Scene      string    `json:"scene"`
		Payer      *identity `json:"payer,omitempty"`
	}
	paymentBody struct {
		OutTradeNo string     `json:"outTradeNo"`
		PaymentID  string     `json:"paymentId"`
		Status     string     `json:"status"`
		Amount     int64      `json:"amount"`
		Currency   string     `json:"currency"`
		PayURL     string     `json:"payUrl"`
		QRCode     string     `json:"qrCode"`
		PaidAt     *time.Time `json:"paidAt"`
		Card       *struct {
			Brand string `json:"brand"`
			Last4 string `json:"last4"`
		} `json:"card"`
	}
	refundRequest struct {
		OutTradeNo  string `json:"outTradeNo"`
		OutRefundNo string `json:"outRefundNo"`
		Amount      int64  `json:"amount"`
		Currency    string `json:"currency"`
		Reason      string `json:"reason,omitempty"`
		NotifyURL   string `json:"notifyUrl,omitempty"`
	}
	refundBody struct {
		OutRefundNo string     `json:"outRefundNo"`
		OutTradeNo  string     `json:"outTradeNo"`
		RefundID    string     `json:"refundId"`
		Status      string     `json:"status"`
		Amount      int64      `json:"amount"`
		Currency    string     `json:"currency"`
		RefundedAt  *time.Time `json:"refundedAt"`
	}
	payoutRequest struct {
		OutPayoutNo string `json:"outPayoutNo"`
		MerchantID  string `json:"merchantId"`
		Amount      int64  `json:"amount"`
		Currency    string `json:"currency"`
		Reference   string `json:"reference,omitempty"`
	}
	payoutBody struct {
		OutPayoutNo   string     `json:"outPayoutNo"`
		PayoutID      string     `json:"payoutId"`
		Status        string     `json:"status"`
		Amount        int64      `json:"amount"`
		Currency      string     `json:"currency"`
		PaidAt        *time.Time `json:"paidAt"`
		FailureReason string     `json:"failureReason"`
	}
	notificationBody struct {
		Payment *paymentBody `json:"payment"`
		Refund  *refundBody  `json:"refund"`
		Payout  *payoutBody  `json:"payout"`
	}
)

// minor converts a positive amount to minor units, naming the field on failure.
func minor(field string, a money.Amount) (int64, error) {
	v, err := a.MinorUnits()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	if v <= 0 {
		return 0, fmt.Errorf("%s must be positive, got %s", field, a)
	}
	return v, nil
}

func (c *Client) amount(field string, units int64, currency string) (money.Amount, error) {
	a, err := money.FromMinor(units, money.Currency(currency))
	if err != nil {
		return money.Amount{}, providers.NewError(provider, "decode", providers.ErrTypeUnavailable, "", field, err)
	}
	return a, nil
}

// CreatePayment creates a hosted checkout and returns its pay URL (ScenePage)
// or the QR code content encoding it (SceneQR).
func (c *Client) CreatePayment(ctx context.Context, req providers.PaymentRequest) (providers.PaymentSession, error) {
	const op = "create"
	switch {
	case req.OutTradeNo == "":
		return providers.PaymentSession{}, c.api.Invalid(op, "OutTradeNo is required")
	case req.Subject == "":
		return providers.PaymentSession{}, c.api.Invalid(op, "Subject is required")
	case req.Amount.Currency() != money.CNY:
		return providers.PaymentSession{}, c.api.Invalid(op, "Amount must be in CNY, got %q", req.Amount.Currency())
	case req.Scene != providers.ScenePage && req.Scene != providers.SceneQR:
		return providers.PaymentSession{}, c.api.Invalid(op, "Scene must be %q or %q, got %q", providers.ScenePage, providers.SceneQR, req.Scene)
	case req.Instalments != nil:
		return providers.PaymentSession{}, providers.NewError(provider, op, providers.ErrTypeNotSupported, "", "the card PSP offers no instalments", nil)
	}
	units, err := minor("Amount", req.Amount)
	if err != nil {
		return providers.PaymentSession{}, c.api.Invalid(op, "%v", err)
	}
	body := paymentRequest{
		OutTradeNo: req.OutTradeNo, Subject: req.Subject, Amount: units, Currency: string(money.CNY),
		ExpireAt: req.ExpireAt.UTC(), NotifyURL: req.NotifyURL, Scene: string(req.Scene),
	}
	if req.Payer != (providers.Identity{}) {
		body.Payer = &identity{Name: req.Payer.Name, IDNumber: req.Payer.IDNumber}
	}
	var out paymentBody
	if err := c.api.Do(ctx, op, http.MethodPost, "/psp/v1/payments", nil, body, &out); err != nil {
		return providers.PaymentSession{}, err
	}
	c.api.Log.InfoContext(ctx, "card payment created", "outTradeNo", req.OutTradeNo, "paymentId", out.PaymentID)
	s := providers.PaymentSession{OutTradeNo: out.OutTradeNo, PayURL: out.PayURL}
	if req.Scene == providers.SceneQR {
		s.QRCode = out.QRCode
	}
	return s, nil
}

// QueryPayment returns the payment's state; an unknown one is PaymentNotFound.
func (c *Client) QueryPayment(ctx context.Context, outTradeNo string) (providers.Payment, error) {
	const op = "query"
	if outTradeNo == "" {
		return providers.Payment{}, c.api.Invalid(op, "outTradeNo is required")
	}
	var out paymentBody
	switch found, err := c.api.Query(ctx, op, "/psp/v1/payments/"+url.PathEscape(outTradeNo), "PAYMENT_NOT_FOUND", &out); {
	case err != nil:
		return providers.Payment{}, err
	case !found:
		return providers.Payment{OutTradeNo: outTradeNo, Status: providers.PaymentNotFound}, nil
	}
	return c.payment(out)
}

func (c *Client) payment(b paymentBody) (providers.Payment, error) {
	amt, err := c.amount("payment amount", b.Amount, b.Currency)
	if err != nil {
		return providers.Payment{}, err
	}
	p := providers.Payment{OutTradeNo: b.OutTradeNo, TransactionID: b.PaymentID, Amount: amt}
	switch b.Status {
	case "PENDING":
		p.Status = providers.PaymentPending
	case "SUCCEEDED":
		p.Status = providers.PaymentPaid
	case "PARTIALLY_REFUNDED", "REFUNDED":
		p.Status = providers.PaymentRefunded
	case "CLOSED":
		p.Status = providers.PaymentClosed
	default:
		return providers.Payment{}, providers.NewError(provider, "decode", providers.ErrTypeUnavailable, "", fmt.Sprintf("unknown payment status %q", b.Status), nil)
	}
	if b.PaidAt != nil {
		p.PaidAt = *b.PaidAt
	}
	if b.Card != nil {
		p.PayerAccount = b.Card.Brand + " ****" + b.Card.Last4
	}
	return p, nil
}

// ClosePayment closes an unpaid payment; closing a closed one is a no-op and
// a paid one fails with ErrTypeTradePaid.
func (c *Client) ClosePayment(ctx context.Context, outTradeNo string) error {
	const op = "close"
	if outTradeNo == "" {
		return c.api.Invalid(op, "outTradeNo is required")
	}
	if err := c.api.Do(ctx, op, http.MethodPost, "/psp/v1/payments/"+url.PathEscape(outTradeNo)+"/close", nil, struct{}{}, nil); err != nil {
		return err
	}
	c.api.Log.InfoContext(ctx, "card payment closed", "outTradeNo", outTradeNo)
	return nil
}

// Refund refunds part or all of a captured payment; the same OutRefundNo is the same refund.
func (c *Client) Refund(ctx context.Context, req providers.RefundRequest) (providers.Refund, error) {
	const op = "refund"
	switch {
	case req.OutTradeNo == "":
		return providers.Refund{}, c.api.Invalid(op, "OutTradeNo is required")
	case req.OutRefundNo == "":
		return providers.Refund{}, c.api.Invalid(op, "OutRefundNo is required")
	case req.Amount.Currency() != money.CNY:
		return providers.Refund{}, c.api.Invalid(op, "Amount must be in CNY, got %q", req.Amount.Currency())
	}
	units, err := minor("Amount", req.Amount)
	if err != nil {
		return providers.Refund{}, c.api.Invalid(op, "%v", err)
	}
	body := refundRequest{OutTradeNo: req.OutTradeNo, OutRefundNo: req.OutRefundNo, Amount: units, Currency: string(money.CNY), Reason: req.Reason, NotifyURL: req.NotifyURL}
	var out refundBody
	if err := c.api.Do(ctx, op, http.MethodPost, "/psp/v1/refunds", nil, body, &out); err != nil {
		return providers.Refund{}, err
	}
	c.api.Log.InfoContext(ctx, "card refund requested", "outRefundNo", req.OutRefundNo, "status", out.Status)
	return c.refund(out)
}

func (c *Client) refund(b refundBody) (providers.Refund, error) {
	amt, err := c.amount("refund amount", b.Amount, b.Currency)
	if err != nil {
		return providers.Refund{}, err
	}
	r := providers.Refund{OutTradeNo: b.OutTradeNo, OutRefundNo: b.OutRefundNo, RefundID: b.RefundID, Amount: amt}
	switch b.Status {
	case "PROCESSING":
		r.Status = providers.RefundProcessing
	case "SUCCEEDED":
		r.Status = providers.RefundSucceeded
	case "FAILED":
		r.Status = providers.RefundFailed
	default:
		return providers.Refund{}, providers.NewError(provider, "decode", providers.ErrTypeUnavailable, "", fmt.Sprintf("unknown refund status %q", b.Status), nil)
	}
	if b.RefundedAt != nil {
		r.RefundedAt = *b.RefundedAt
	}
	return r, nil
}

// QueryRefund returns a refund's state; an unknown one (or one of another
// payment) is RefundNotFound.
func (c *Client) QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (providers.Refund, error) {
	const op = "query-refund"
	if outRefundNo == "" {
		return providers.Refund{}, c.api.Invalid(op, "outRefundNo is required")
	}
	notFound := providers.Refund{OutTradeNo: outTradeNo, OutRefundNo: outRefundNo, Status: providers.RefundNotFound}
	var out refundBody
	switch found, err := c.api.Query(ctx, op, "/psp/v1/refunds/"+url.PathEscape(outRefundNo), "REFUND_NOT_FOUND", &out); {
	case err != nil:
		return providers.Refund{}, err
	case !found:
		return notFound, nil
	}
	if outTradeNo != "" && out.OutTradeNo != outTradeNo {
		return notFound, nil
	}
	return c.refund(out)
}

// Payout pays a merchant in its home currency; the same OutPayoutNo is the same payout.
func (c *Client) Payout(ctx context.Context, req providers.PayoutRequest) (providers.Payout, error) {
	const op = "payout"
	switch {
	case req.OutPayoutNo == "":
		return providers.Payout{}, c.api.Invalid(op, "OutPayoutNo is required")
	case req.MerchantID == "":
		return providers.Payout{}, c.api.Invalid(op, "MerchantID is required")
	}
	units, err := minor("Amount", req.Amount)
	if err != nil {
		return providers.Payout{}, c.api.Invalid(op, "%v", err)
	}
	body := payoutRequest{OutPayoutNo: req.OutPayoutNo, MerchantID: req.MerchantID, Amount: units, Currency: string(req.Amount.Currency()), Reference: req.Reference}
	var out payoutBody
	if err := c.api.Do(ctx, op, http.MethodPost, "/psp/v1/payouts", nil, body, &out); err != nil {
		return providers.Payout{}, err
	}
	c.api.Log.InfoContext(ctx, "payout requested", "outPayoutNo", req.OutPayoutNo, "status", out.Status)
	return c.payout(out)
}

func (c *Client) payout(b payoutBody) (providers.Payout, error) {
	amt, err := c.amount("payout amount", b.Amount, b.Currency)
	if err != nil {
		return providers.Payout{}, err
	}
	p := providers.Payout{OutPayoutNo: b.OutPayoutNo, PayoutID: b.PayoutID, Amount: amt}
	switch b.Status {
	case "PROCESSING":
		p.Status = providers.PayoutProcessing
	case "PAID":
		p.Status = providers.PayoutPaid
	case "FAILED":
		p.Status = providers.PayoutFailed
	default:
		return providers.Payout{}, providers.NewError(provider, "decode", providers.ErrTypeUnavailable, "", fmt.Sprintf("unknown payout status %q", b.Status), nil)
	}
	if b.PaidAt != nil {
		p.PaidAt = *b.PaidAt
	}
	return p, nil
}

// QueryPayout returns a payout's state; an unknown one is PayoutNotFound.
func (c *Client) QueryPayout(ctx context.Context, outPayoutNo string) (providers.Payout, error) {
	const op = "query-payout"
	if outPayoutNo == "" {
		return providers.Payout{}, c.api.Invalid(op, "outPayoutNo is required")
	}
	var out payoutBody
	switch found, err := c.api.Query(ctx, op, "/psp/v1/payouts/"+url.PathEscape(outPayoutNo), "PAYOUT_NOT_FOUND", &out); {
	case err != nil:
		return providers.Payout{}, err
	case !found:
		return providers.Payout{OutPayoutNo: outPayoutNo, Status: providers.PayoutNotFound}, nil
	}
	return c.payout(out)
}

// Event is a verified PSP notification: a payment or refund Notification, or a payout.
type Event struct {
	// Notification carries the id, kind (NotifyPayment, NotifyRefund or
	// NotifyPayout), sending time and, for payments and refunds, their state.
	providers.Notification
	// Payout is the payout's state, for NotifyPayout.
	Payout *providers.Payout `json:"payout,omitempty"`
}

// ParseEvent verifies and decodes any PSP notification. A forged, stale or
// unsigned one fails with ErrTypeSignature, a malformed one with
// ErrTypeInvalidRequest. Answer 2xx once it is handled; the PSP retries otherwise.
func (c *Client) ParseEvent(ctx context.Context, r *http.Request) (Event, error) {
	var n notificationBody
	env, err := c.api.ReadNotification(ctx, r, &n)
	if err != nil {
		return Event{}, err
	}
	ev := Event{Notification: providers.Notification{ID: env.ID, Provider: providers.Card, SentAt: env.CreatedAt}}
	switch {
	case env.Type == "payment.succeeded" && n.Payment != nil:
		p, err := c.payment(*n.Payment)
		if err != nil {
			return Event{}, c.api.BadNotification("payment", err)
		}
		ev.Kind, ev.Payment = providers.NotifyPayment, &p
	case env.Type == "refund.succeeded" && n.Refund != nil:
		rf, err := c.refund(*n.Refund)
		if err != nil {
			return Event{}, c.api.BadNotification("refund", err)
		}
		ev.Kind, ev.Refund = providers.NotifyRefund, &rf
	case (env.Type == "payout.paid" || env.Type == "payout.failed") && n.Payout != nil:
		po, err := c.payout(*n.Payout)
		if err != nil {
			return Event{}, c.api.BadNotification("payout", err)
		}
		ev.Kind, ev.Payout = NotifyPayout, &po
	default:
		return Event{}, c.api.BadNotification(fmt.Sprintf("unknown notification type %q", env.Type), nil)
	}
	return ev, nil
}

// ParseNotification verifies and decodes a payment or refund notification
// (see ParseEvent); a payout notification fails with ErrTypeNotSupported, as
// the port has no place for it: route payout notifications to ParseEvent.
func (c *Client) ParseNotification(ctx context.Context, r *http.Request) (providers.Notification, error) {
	ev, err := c.ParseEvent(ctx, r)
	if err != nil {
		return providers.Notification{}, err
	}
	if ev.Kind == NotifyPayout {
		return providers.Notification{}, providers.NewError(provider, "notify", providers.ErrTypeNotSupported, "", "payout notification: use ParseEvent", nil)
	}
	return ev.Notification, nil
}
