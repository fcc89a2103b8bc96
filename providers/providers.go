// Package providers holds the ports (interfaces) through which orders reach the
// outside world — payment providers, customs, the card PSP and the FX rate
// feed — with the request and result types they share and the classification
// of provider failures into retryable and non-retryable named error types.
// Adapters in the sub-packages implement the ports.
package providers

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/http"
	"time"

	"github.com/xhspay/xhspay/money"
)

// Name identifies a payment provider.
type Name string

// The payment providers an order may use.
const (
	// Alipay is Alipay (including Huabei instalments).
	Alipay Name = "alipay"
	// WeChatPay is WeChat Pay APIv3.
	WeChatPay Name = "wechatpay"
	// Card is an international card through the card PSP.
	Card Name = "card"
)

// Valid reports whether n is a known provider.
func (n Name) Valid() bool { return n == Alipay || n == WeChatPay || n == Card }

// Key derives a provider-side idempotency key (out_trade_no, out_refund_no,
// out_request_no, ...) from an order id and a step. The same inputs always give
// the same key, so a retried activity repeats the same request. Keys are 32
// characters of [A-Z2-7], within every provider's length and charset limits.
func Key(orderID string, step ...string) string {
	// Every part is length-prefixed, so no two different part lists hash the
	// same input (Key("a", "bc") != Key("ab", "c"), Key("o") != Key("o", "")).
	h := sha256.New()
	for _, part := range append([]string{orderID}, step...) {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil))[:32]
}

// Identity is a person's real name and 18-digit PRC resident ID number, as
// customs matches them between the order and the payment.
type Identity struct {
	// Name is the real name as on the ID card.
	Name string `json:"name"`
	// IDNumber is the 18-digit resident ID number.
	IDNumber string `json:"idNumber"`
}

// Scene is how the buyer is asked to pay.
type Scene string

// Payment scenes.
const (
	// SceneQR shows a QR code the buyer scans (Alipay precreate, WeChat native).
	SceneQR Scene = "qr"
	// ScenePage redirects the buyer to a pay page (Alipay page/wap pay, WeChat h5, card hosted page).
	ScenePage Scene = "page"
)

// FeeBearer says who pays the Huabei instalment fee.
type FeeBearer string

// Instalment fee bearers.
const (
	// FeeBuyer makes the buyer pay the instalment fee (hb_fq_seller_percent 0).
	FeeBuyer FeeBearer = "buyer"
	// FeeSeller makes the merchant pay it (hb_fq_seller_percent 100).
	FeeSeller FeeBearer = "seller"
)

// Instalments are Alipay Huabei instalment options.
type Instalments struct {
	// Count is the number of instalments: 3, 6 or 12 (hb_fq_num).
	Count int `json:"count"`
	// FeeBearer says who pays the instalment fee.
	FeeBearer FeeBearer `json:"feeBearer"`
}

// PaymentRequest asks a provider to create a payment for an order.
type PaymentRequest struct {
	// OutTradeNo is our trade number at the provider, from Key(orderID, "pay", attempt).
	OutTradeNo string `json:"outTradeNo"`
	// Subject is the short description the buyer sees.
	Subject string `json:"subject"`
	// Amount is what the buyer pays, in CNY.
	Amount money.Amount `json:"amount"`
	// ExpireAt is when the unpaid trade closes at the provider.
	ExpireAt time.Time `json:"expireAt"`
	// NotifyURL receives the provider's asynchronous notification.
	NotifyURL string `json:"notifyUrl"`
	// Scene is how the buyer pays.
	Scene Scene `json:"scene"`
	// Instalments are Huabei options (Alipay only); nil for none.
	Instalments *Instalments `json:"instalments,omitempty"`
	// Payer is the buyer's identity, for providers that verify the payer's real name.
	Payer Identity `json:"payer"`
	// Hold asks the provider to keep the funds frozen after payment (escrow) where it supports it.
	Hold bool `json:"hold"`
}

// PaymentSession is what the buyer needs to pay.
type PaymentSession struct {
	// OutTradeNo echoes the request.
	OutTradeNo string `json:"outTradeNo"`
	// QRCode is the content to render as a QR code (SceneQR).
	QRCode string `json:"qrCode,omitempty"`
	// PayURL is the page to send the buyer to (ScenePage).
	PayURL string `json:"payUrl,omitempty"`
	// PrepayID is WeChat Pay's prepay id where one is issued.
	PrepayID string `json:"prepayId,omitempty"`
}

// PaymentStatus is a trade's state at the provider.
type PaymentStatus string

// Payment states, common to all providers.
const (
	// PaymentPending waits for the buyer (WAIT_BUYER_PAY, NOTPAY, USERPAYING).
	PaymentPending PaymentStatus = "PENDING"
	// PaymentPaid is paid (TRADE_SUCCESS, SUCCESS); refunds may follow.
	PaymentPaid PaymentStatus = "PAID"
	// PaymentClosed was closed unpaid, or fully refunded (TRADE_CLOSED, CLOSED, REVOKED).
	PaymentClosed PaymentStatus = "CLOSED"
	// PaymentFinished is paid and no longer refundable (TRADE_FINISHED).
	PaymentFinished PaymentStatus = "FINISHED"
	// PaymentRefunded has had refunds (WeChat REFUND); still a paid trade.
	PaymentRefunded PaymentStatus = "REFUNDED"
	// PaymentNotFound is unknown to the provider (never created, or not yet visible).
	PaymentNotFound PaymentStatus = "NOT_FOUND"
)

// Payment is a trade as the provider reports it.
type Payment struct {
	// OutTradeNo is our trade number.
	OutTradeNo string `json:"outTradeNo"`
	// TransactionID is the provider's trade number (trade_no, transaction_id).
	TransactionID string `json:"transactionId,omitempty"`
	// Status is the trade state.
	Status PaymentStatus `json:"status"`
	// Amount is the trade's total amount.
	Amount money.Amount `json:"amount"`
	// PaidAt is when the buyer paid (zero if unpaid).
	PaidAt time.Time `json:"paidAt,omitzero"`
	// PayerAccount is the buyer's masked account or openid at the provider.
	PayerAccount string `json:"payerAccount,omitempty"`
	// Instalments is the Huabei instalment count the buyer paid with (0 for none).
	Instalments int `json:"instalments,omitempty"`
}

// RefundRequest asks for a (partial) refund of a paid trade.
type RefundRequest struct {
	// OutTradeNo is the trade refunded.
	OutTradeNo string `json:"outTradeNo"`
	// TransactionID is the provider's trade number, where known.
	TransactionID string `json:"transactionId,omitempty"`
	// OutRefundNo is our refund number, from Key(orderID, "refund", refundNo): the idempotency key.
	OutRefundNo string `json:"outRefundNo"`
	// Amount is what to refund now.
	Amount money.Amount `json:"amount"`
	// Total is the trade's total amount (WeChat Pay requires it).
	Total money.Amount `json:"total"`
	// Reason is shown to the buyer.
	Reason string `json:"reason,omitempty"`
	// NotifyURL receives the refund notification, where the provider sends one.
	NotifyURL string `json:"notifyUrl,omitempty"`
}

// RefundStatus is a refund's state at the provider.
type RefundStatus string

// Refund states.
const (
	// RefundProcessing is accepted and not yet final.
	RefundProcessing RefundStatus = "PROCESSING"
	// RefundSucceeded has returned the money.
	RefundSucceeded RefundStatus = "SUCCEEDED"
	// RefundFailed ended without returning the money (CLOSED, ABNORMAL).
	RefundFailed RefundStatus = "FAILED"
	// RefundNotFound is unknown to the provider.
	RefundNotFound RefundStatus = "NOT_FOUND"
)

// Refund is a refund as the provider reports it.
type Refund struct {
	// OutTradeNo is the refunded trade.
	OutTradeNo string `json:"outTradeNo"`
	// OutRefundNo is our refund number.
	OutRefundNo string `json:"outRefundNo"`
	// RefundID is the provider's refund id, where it issues one.
	RefundID string `json:"refundId,omitempty"`
	// Status is the refund state.
	Status RefundStatus `json:"status"`
	// Amount is the refunded amount.
	Amount money.Amount `json:"amount"`
	// RefundedAt is when it succeeded (zero until then).
	RefundedAt time.Time `json:"refundedAt,omitzero"`
}

// HoldRequest asks to keep a paid trade's funds frozen (escrow) or to release them.
type HoldRequest struct {
	// OutTradeNo is the trade.
	OutTradeNo string `json:"outTradeNo"`
	// TransactionID is the provider's trade number.
	TransactionID string `json:"transactionId"`
	// OutRequestNo is our request number, from Key(orderID, "hold"|"release").
	OutRequestNo string `json:"outRequestNo"`
	// Amount is the amount held or released.
	Amount money.Amount `json:"amount"`
}

// HoldStatus is the state of held funds.
type HoldStatus string

// Hold states.
const (
	// HoldHeld means the funds are frozen.
	HoldHeld HoldStatus = "HELD"
	// HoldReleased means the funds went to the merchant.
	HoldReleased HoldStatus = "RELEASED"
	// HoldProcessing means the release is not final yet.
	HoldProcessing HoldStatus = "PROCESSING"
)

// Hold is the result of a hold or release.
type Hold struct {
	// OutRequestNo echoes the request.
	OutRequestNo string `json:"outRequestNo"`
	// HoldID is the provider's id for the operation.
	HoldID string `json:"holdId,omitempty"`
	// Status is the state of the funds.
	Status HoldStatus `json:"status"`
}

// NotificationKind says what a provider notification reports.
type NotificationKind string

// Notification kinds.
const (
	// NotifyPayment reports a trade's state (paid, closed).
	NotifyPayment NotificationKind = "payment"
	// NotifyRefund reports a refund's state.
	NotifyRefund NotificationKind = "refund"
)

// Notification is a verified asynchronous provider notification.
type Notification struct {
	// ID is the provider's notification id, for duplicate detection.
	ID string `json:"id"`
	// Provider is who sent it.
	Provider Name `json:"provider"`
	// Kind says which of Payment or Refund is set.
	Kind NotificationKind `json:"kind"`
	// Payment is the trade state, for NotifyPayment.
	Payment *Payment `json:"payment,omitempty"`
	// Refund is the refund state, for NotifyRefund.
	Refund *Refund `json:"refund,omitempty"`
	// SentAt is when the provider says it sent it.
	SentAt time.Time `json:"sentAt,omitzero"`
}

// PaymentProvider is a payment provider: Alipay, WeChat Pay or the card PSP.
// Every call is idempotent by the request's out_* number.
type PaymentProvider interface {
	// Name identifies the provider.
	Name() Name
	// CreatePayment creates a trade and returns what the buyer needs to pay it.
	CreatePayment(ctx context.Context, req PaymentRequest) (PaymentSession, error)
	// QueryPayment returns the trade's state; an unknown trade is PaymentNotFound, not an error.
	QueryPayment(ctx context.Context, outTradeNo string) (Payment, error)
	// ClosePayment closes an unpaid trade. Closing a paid trade fails with ErrTradePaid.
	ClosePayment(ctx context.Context, outTradeNo string) error
	// Refund refunds part or all of a paid trade; repeating the same OutRefundNo returns the same refund.
	Refund(ctx context.Context, req RefundRequest) (Refund, error)
	// QueryRefund returns a refund's state.
	QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (Refund, error)
	// ParseNotification verifies (signature, and decryption where the provider encrypts)
	// and decodes an asynchronous notification; forged or malformed ones fail with ErrSignature or ErrInvalidRequest.
	ParseNotification(ctx context.Context, r *http.Request) (Notification, error)
}

// EscrowHolder is implemented by providers that can freeze paid funds until the
// buyer confirms receipt (WeChat Pay profit-sharing freeze, Alipay delayed settlement).
type EscrowHolder interface {
	// HoldFunds keeps a paid trade's funds frozen.
	HoldFunds(ctx context.Context, req HoldRequest) (Hold, error)
	// ReleaseFunds releases frozen funds to the merchant.
	ReleaseFunds(ctx context.Context, req HoldRequest) (Hold, error)
}

// DeclarationRequest is the payment record a payment company pushes to customs
// for a CBEC order (one half of the three-document match).
type DeclarationRequest struct {
	// OutRequestNo is our declaration request number, from Key(orderID, "declare", attempt).
	OutRequestNo string `json:"outRequestNo"`
	// OrderNo is the order number customs matches with the platform's order record.
	OrderNo string `json:"orderNo"`
	// OutTradeNo is our trade number at the provider.
	OutTradeNo string `json:"outTradeNo"`
	// TransactionID is the provider's trade number.
	TransactionID string `json:"transactionId"`
	// Payer is the payer's identity.
	Payer Identity `json:"payer"`
	// Amount is the declared payment amount (CNY).
	Amount money.Amount `json:"amount"`
	// CustomsCode is the customs office (e.g. "HANGZHOU", "GUANGZHOU").
	CustomsCode string `json:"customsCode"`
	// MerchantCustomsCode is the e-commerce platform's customs registration code.
	MerchantCustomsCode string `json:"merchantCustomsCode"`
	// MerchantCustomsName is the e-commerce platform's registered name.
	MerchantCustomsName string `json:"merchantCustomsName"`
}

// DeclarationStatus is the payment declaration's state at the provider.
type DeclarationStatus string

// Declaration states.
const (
	// DeclarationProcessing is submitted and being pushed to customs.
	DeclarationProcessing DeclarationStatus = "PROCESSING"
	// DeclarationSucceeded was received by customs.
	DeclarationSucceeded DeclarationStatus = "SUCCEEDED"
	// DeclarationFailed was refused (bad data; may be re-declared after correction).
	DeclarationFailed DeclarationStatus = "FAILED"
	// DeclarationCancelled was withdrawn.
	DeclarationCancelled DeclarationStatus = "CANCELLED"
	// DeclarationNotFound is unknown.
	DeclarationNotFound DeclarationStatus = "NOT_FOUND"
)

// Declaration is a payment declaration's state.
type Declaration struct {
	// OutRequestNo is our request number.
	OutRequestNo string `json:"outRequestNo"`
	// DeclarationID is the provider's declaration id.
	DeclarationID string `json:"declarationId,omitempty"`
	// Status is its state.
	Status DeclarationStatus `json:"status"`
	// Reason explains a failure.
	Reason string `json:"reason,omitempty"`
}

// CustomsDeclarer pushes payment declarations to customs; Alipay and WeChat Pay
// each implement it for their own payments.
type CustomsDeclarer interface {
	// Declare pushes the payment record; repeating the same OutRequestNo is the same declaration.
	Declare(ctx context.Context, req DeclarationRequest) (Declaration, error)
	// QueryDeclaration returns the declaration's state.
	QueryDeclaration(ctx context.Context, req DeclarationRequest) (Declaration, error)
	// Redeclare pushes corrected data for an order already declared.
	Redeclare(ctx context.Context, req DeclarationRequest) (Declaration, error)
	// CancelDeclaration withdraws the declaration.
	CancelDeclaration(ctx context.Context, req DeclarationRequest) (Declaration, error)
}

// Item is one line of an order as customs sees it.
type Item struct {
	// SKU is the merchant's product code.
	SKU string `json:"sku"`
	// Name is the product name.
	Name string `json:"name"`
	// Category is the CBEC category code (see package cbec).
	Category string `json:"category"`
	// RegistrationNo is the registration or filing number where the category needs one.
	RegistrationNo string `json:"registrationNo,omitempty"`
	// Quantity is the number of units.
	Quantity int `json:"quantity"`
	// UnitPrice is the price of one unit (CNY).
	UnitPrice money.Amount `json:"unitPrice"`
}

// Manifest is the platform's order record that customs matches with the
// payment and logistics records.
type Manifest struct {
	// OrderNo is the order number (the same as in the payment declaration).
	OrderNo string `json:"orderNo"`
	// Buyer is the buyer's identity.
	Buyer Identity `json:"buyer"`
	// Items are the goods.
	Items []Item `json:"items"`
	// Goods is the goods value (CNY).
	Goods money.Amount `json:"goods"`
	// Freight is the freight charged (CNY).
	Freight money.Amount `json:"freight"`
	// Tax is the composite tax collected (CNY).
	Tax money.Amount `json:"tax"`
	// CustomsCode is the customs office.
	CustomsCode string `json:"customsCode"`
	// PlatformCode is the e-commerce platform's customs code.
	PlatformCode string `json:"platformCode"`
}

// ClearanceStatus is customs' verdict on an order.
type ClearanceStatus string

// Clearance states.
const (
	// ClearancePending is still being matched.
	ClearancePending ClearanceStatus = "PENDING"
	// ClearanceCleared released the goods.
	ClearanceCleared ClearanceStatus = "CLEARED"
	// ClearanceRejected refused the order.
	ClearanceRejected ClearanceStatus = "REJECTED"
	// ClearanceNotFound is unknown to customs.
	ClearanceNotFound ClearanceStatus = "NOT_FOUND"
)

// Customs rejection codes.
const (
	// RejectIdentityMismatch means the payer is not the buyer.
	RejectIdentityMismatch = "IDENTITY_MISMATCH"
	// RejectQuotaExceeded means the buyer's annual CBEC quota is used up.
	RejectQuotaExceeded = "QUOTA_EXCEEDED"
	// RejectMissingRegistration means an item needs a registration number it lacks.
	RejectMissingRegistration = "MISSING_REGISTRATION"
	// RejectNoPaymentRecord means no payment declaration arrived for the order.
	RejectNoPaymentRecord = "NO_PAYMENT_RECORD"
)

// Clearance is customs' result for an order.
type Clearance struct {
	// OrderNo is the order.
	OrderNo string `json:"orderNo"`
	// Status is the verdict.
	Status ClearanceStatus `json:"status"`
	// Code is the rejection code (Reject*), empty unless rejected.
	Code string `json:"code,omitempty"`
	// Reason is customs' text.
	Reason string `json:"reason,omitempty"`
	// ReleasedAt is when the goods were released (cleared).
	ReleasedAt time.Time `json:"releasedAt,omitzero"`
}

// ReturnRequest files a customs return (re-import) declaration for goods sent back.
type ReturnRequest struct {
	// OutReturnNo is our return number, from Key(orderID, "return", refundNo).
	OutReturnNo string `json:"outReturnNo"`
	// OrderNo is the original order.
	OrderNo string `json:"orderNo"`
	// Items are the returned goods.
	Items []Item `json:"items"`
	// TrackingNo is the return shipment's tracking number.
	TrackingNo string `json:"trackingNo"`
	// Reason is the return reason.
	Reason string `json:"reason,omitempty"`
}

// ReturnStatus is a return declaration's state.
type ReturnStatus string

// Return states.
const (
	// ReturnFiled is filed; the goods are on their way back.
	ReturnFiled ReturnStatus = "FILED"
	// ReturnAccepted means the goods are back in the bonded zone and customs accepted the return.
	ReturnAccepted ReturnStatus = "ACCEPTED"
	// ReturnRejected means customs refused the return.
	ReturnRejected ReturnStatus = "REJECTED"
	// ReturnNotFound is unknown.
	ReturnNotFound ReturnStatus = "NOT_FOUND"
)

// Return is a return declaration's state.
type Return struct {
	// OutReturnNo is our return number.
	OutReturnNo string `json:"outReturnNo"`
	// Status is its state.
	Status ReturnStatus `json:"status"`
	// Reason explains a rejection.
	Reason string `json:"reason,omitempty"`
	// DecidedAt is when customs accepted or rejected it.
	DecidedAt time.Time `json:"decidedAt,omitzero"`
}

// CustomsClearance is the customs side: the order manifest, the clearance
// verdict of the three-document match, and return (re-import) declarations.
type CustomsClearance interface {
	// SubmitManifest files the platform's order record; repeating it for the same order is a no-op.
	SubmitManifest(ctx context.Context, m Manifest) error
	// QueryClearance returns customs' verdict on the order.
	QueryClearance(ctx context.Context, orderNo string) (Clearance, error)
	// CancelManifest withdraws an order not yet released.
	CancelManifest(ctx context.Context, orderNo string) error
	// FileReturn files a return declaration; repeating the same OutReturnNo is the same return.
	FileReturn(ctx context.Context, req ReturnRequest) (Return, error)
	// QueryReturn returns the return declaration's state.
	QueryReturn(ctx context.Context, outReturnNo string) (Return, error)
}

// PayoutRequest pays a merchant's settlement to its home-currency account.
type PayoutRequest struct {
	// OutPayoutNo is our payout number, from the settlement batch: the idempotency key.
	OutPayoutNo string `json:"outPayoutNo"`
	// MerchantID is the merchant paid.
	MerchantID string `json:"merchantId"`
	// Amount is the amount in the merchant's home currency.
	Amount money.Amount `json:"amount"`
	// Reference is shown on the merchant's bank statement.
	Reference string `json:"reference,omitempty"`
}

// PayoutStatus is a payout's state.
type PayoutStatus string

// Payout states.
const (
	// PayoutProcessing is on its way.
	PayoutProcessing PayoutStatus = "PROCESSING"
	// PayoutPaid reached the merchant's account.
	PayoutPaid PayoutStatus = "PAID"
	// PayoutFailed was returned.
	PayoutFailed PayoutStatus = "FAILED"
	// PayoutNotFound is unknown.
	PayoutNotFound PayoutStatus = "NOT_FOUND"
)

// Payout is a payout's state.
type Payout struct {
	// OutPayoutNo is our payout number.
	OutPayoutNo string `json:"outPayoutNo"`
	// PayoutID is the PSP's id.
	PayoutID string `json:"payoutId,omitempty"`
	// Status is its state.
	Status PayoutStatus `json:"status"`
	// Amount is what was paid.
	Amount money.Amount `json:"amount"`
	// PaidAt is when it reached the merchant.
	PaidAt time.Time `json:"paidAt,omitzero"`
}

// Payouts pays settlements out to merchants in their home currency.
type Payouts interface {
	// Payout starts a payout; repeating the same OutPayoutNo is the same payout.
	Payout(ctx context.Context, req PayoutRequest) (Payout, error)
	// QueryPayout returns its state.
	QueryPayout(ctx context.Context, outPayoutNo string) (Payout, error)
}

// FXRates quotes exchange rates.
type FXRates interface {
	// Quote returns the rate from base to counter at (or just before) at.
	Quote(ctx context.Context, base, counter money.Currency, at time.Time) (money.Quote, error)
}
