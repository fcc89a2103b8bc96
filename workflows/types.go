package workflows

import (
	"time"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// Names of the order workflow's updates, signals and query.
const (
	// UpdateAwaitCheckout waits until the payment session exists (or the order
	// ended) and returns a CheckoutResult; the API sends it with Update-with-Start.
	UpdateAwaitCheckout = "AwaitCheckout"
	// UpdateCancel cancels the order before shipment (payload Cancel).
	UpdateCancel = "Cancel"
	// UpdateRequestRefund asks for a refund (payload RefundRequest, result RefundView).
	UpdateRequestRefund = "RequestRefund"
	// UpdateShipped records the shipment (payload Shipment).
	UpdateShipped = "Shipped"
	// UpdateConfirmReceipt is the buyer confirming receipt (payload Confirmation).
	UpdateConfirmReceipt = "ConfirmReceipt"
	// UpdateExtendConfirmation extends the auto-confirm deadline (payload Extension).
	UpdateExtendConfirmation = "ExtendConfirmation"
	// UpdateRedeclare re-declares after DECLARATION FAILED (payload Redeclaration).
	UpdateRedeclare = "Redeclare"
	// UpdateRetryStep re-runs a step that needs attention (payload RetryStep).
	UpdateRetryStep = "RetryStep"
	// UpdateForceRelease releases the held funds now (payload ForceRelease).
	UpdateForceRelease = "ForceRelease"

	// SignalPaymentNotified carries a verified payment notification (providers.Payment).
	SignalPaymentNotified = "PaymentNotified"
	// SignalCustomsResult carries customs' verdict from its callback (providers.Clearance).
	SignalCustomsResult = "CustomsResult"
	// SignalRefundNotified carries a verified refund notification (providers.Refund);
	// the order forwards it to the refund it belongs to.
	SignalRefundNotified = "RefundNotified"
	// SignalReturnDecision carries customs' decision on a return (providers.Return);
	// the order forwards it to the refund it belongs to.
	SignalReturnDecision = "ReturnDecision"

	// QueryState returns the OrderView (on the order) or RefundView (on a refund).
	QueryState = "state"

	// UpdateReturnShipped records the return shipment on a refund workflow
	// (payload ReturnShipment); the API sends it to RefundWorkflowID directly.
	UpdateReturnShipped = "ReturnShipped"
)

// Default order settings.
const (
	// DefaultPaymentExpiry is how long the buyer has to pay.
	DefaultPaymentExpiry = 15 * time.Minute
	// DefaultAutoConfirmAfter is the escrow auto-confirm delay after shipment.
	DefaultAutoConfirmAfter = 10 * 24 * time.Hour
	// DefaultMaxExtensions bounds how often the buyer may extend the deadline.
	DefaultMaxExtensions = 2
	// DefaultMaxExtensionTotal bounds the total extension.
	DefaultMaxExtensionTotal = 10 * 24 * time.Hour
	// DefaultClearanceTimeout is how long to wait for customs' verdict.
	DefaultClearanceTimeout = 72 * time.Hour
	// DefaultReturnWindow is how long after customs release a return may be declared (30 days).
	DefaultReturnWindow = 30 * 24 * time.Hour
	// DefaultReturnDecisionTimeout is how long after filing customs has to accept a return (45 days).
	DefaultReturnDecisionTimeout = 45 * 24 * time.Hour
)

// Polling holds the fallback polling intervals used while waiting for a
// notification or callback. Zero values take the defaults.
type Polling struct {
	// Payment is the payment query interval while awaiting payment (default 30s).
	Payment time.Duration `json:"payment,omitempty"`
	// Clearance is the declaration and clearance query interval (default 1h).
	Clearance time.Duration `json:"clearance,omitempty"`
	// Refund is the first refund query interval; it doubles up to RefundMax (default 1m).
	Refund time.Duration `json:"refund,omitempty"`
	// RefundMax caps the refund query interval (default 1h).
	RefundMax time.Duration `json:"refundMax,omitempty"`
	// Return is the return decision query interval (default 6h).
	Return time.Duration `json:"return,omitempty"`
}

func (p Polling) withDefaults() Polling {
	if p.Payment <= 0 {
		p.Payment = 30 * time.Second
	}
	if p.Clearance <= 0 {
		p.Clearance = time.Hour
	}
	if p.Refund <= 0 {
		p.Refund = time.Minute
	}
	if p.RefundMax <= 0 {
		p.RefundMax = time.Hour
	}
	if p.RefundMax < p.Refund {
		p.RefundMax = p.Refund
	}
	if p.Return <= 0 {
		p.Return = 6 * time.Hour
	}
	return p
}

// OrderInput starts an OrderWorkflow. Buyer, Payer and BuyerPhone are
// personal data: they travel only inside encrypted payloads and are never
// logged, exposed in queries or used as search attributes.
type OrderInput struct {
	// MerchantID identifies the merchant ([A-Za-z0-9_], 1-32).
	MerchantID string `json:"merchantId"`
	// MerchantOrderNo is the merchant's order number ([A-Za-z0-9_-], 1-64).
	MerchantOrderNo string `json:"merchantOrderNo"`
	// Provider takes the payment.
	Provider providers.Name `json:"provider"`
	// Scene is how the buyer pays (QR code or pay page).
	Scene providers.Scene `json:"scene"`
	// Instalments are Huabei options (Alipay only); nil for none.
	Instalments *providers.Instalments `json:"instalments,omitempty"`
	// Buyer is the person the order is for.
	Buyer providers.Identity `json:"buyer"`
	// Payer is the person who pays; CBEC requires the buyer.
	Payer providers.Identity `json:"payer"`
	// BuyerPhone is the buyer's phone number.
	BuyerPhone string `json:"buyerPhone,omitempty"`
	// BuyerIDHash is the buyer's pseudonymous id (activities.BuyerIDHash); when
	// empty the workflow computes it with the HashBuyerID activity.
	BuyerIDHash string `json:"buyerIdHash,omitempty"`
	// Items are the goods, with category and registration number.
	Items []providers.Item `json:"items"`
	// Freight is the freight charged (CNY); the zero Amount means none.
	Freight money.Amount `json:"freight"`
	// Insurance is the insurance charged (CNY); the zero Amount means none.
	Insurance money.Amount `json:"insurance"`
	// HomeCurrency is the merchant's settlement currency.
	HomeCurrency money.Currency `json:"homeCurrency"`
	// PaymentExpiry is how long the buyer has to pay (default 15m).
	PaymentExpiry time.Duration `json:"paymentExpiry,omitempty"`
	// AutoConfirmAfter is the escrow auto-confirm delay after shipment (default 10 days).
	AutoConfirmAfter time.Duration `json:"autoConfirmAfter,omitempty"`
	// MaxExtensions bounds the buyer's extensions of the deadline (default 2; negative means none).
	MaxExtensions int `json:"maxExtensions,omitempty"`
	// MaxExtensionTotal bounds the total extension (default 10 days).
	MaxExtensionTotal time.Duration `json:"maxExtensionTotal,omitempty"`
	// ClearanceTimeout is how long to wait for customs' verdict (default 72h).
	ClearanceTimeout time.Duration `json:"clearanceTimeout,omitempty"`
	// ReturnWindow is how long after customs release a return may be
	// declared (default 30 days, the regulation; shorter only in tests).
	ReturnWindow time.Duration `json:"returnWindow,omitempty"`
	// ReturnDecisionTimeout is how long after filing customs has to accept a
	// return (default 45 days, the regulation; shorter only in tests).
	ReturnDecisionTimeout time.Duration `json:"returnDecisionTimeout,omitempty"`
	// Polling holds the fallback polling intervals.
	Polling Polling `json:"polling"`
}

func (in OrderInput) withDefaults() OrderInput {
	if in.PaymentExpiry <= 0 {
		in.PaymentExpiry = DefaultPaymentExpiry
	}
	if in.AutoConfirmAfter <= 0 {
		in.AutoConfirmAfter = DefaultAutoConfirmAfter
	}
	if in.MaxExtensions == 0 {
		in.MaxExtensions = DefaultMaxExtensions
	}
	if in.MaxExtensions < 0 {
		in.MaxExtensions = 0
	}
	if in.MaxExtensionTotal <= 0 {
		in.MaxExtensionTotal = DefaultMaxExtensionTotal
	}
	if in.ClearanceTimeout <= 0 {
		in.ClearanceTimeout = DefaultClearanceTimeout
	}
	if in.ReturnWindow <= 0 {
		in.ReturnWindow = DefaultReturnWindow
	}
	if in.ReturnDecisionTimeout <= 0 {
		in.ReturnDecisionTimeout = DefaultReturnDecisionTimeout
	}
	if in.Scene == "" {
		in.Scene = providers.SceneQR
	}
	in.Freight = orZero(in.Freight)
	in.Insurance = orZero(in.Insurance)
	in.Polling = in.Polling.withDefaults()
	return in
}

// orZero returns a, or zero CNY for the zero Amount.
func orZero(a money.Amount) money.Amount {
	if a.Currency() == "" && a.IsZero() {
		return money.Zero(money.CNY)
	}
	return a
}

// OrderState is an order's lifecycle state (the OrderState search attribute).
type OrderState string

// Order states.
const (
	// StateValidating checks the CBEC rules.
	StateValidating OrderState = "Validating"
	// StateRejected broke a CBEC rule or had bad input; no provider was called. Final.
	StateRejected OrderState = "Rejected"
	// StateAwaitingPayment waits for the buyer to pay.
	StateAwaitingPayment OrderState = "AwaitingPayment"
	// StateExpired was not paid in time; the trade is closed. Final.
	StateExpired OrderState = "Expired"
	// StatePaymentMismatch was paid a different amount, which was refunded. Final.
	StatePaymentMismatch OrderState = "PaymentMismatch"
	// StatePaid is paid; the funds are being held and the payment declared.
	StatePaid OrderState = "Paid"
	// StateAwaitingClearance waits for customs' verdict.
	StateAwaitingClearance OrderState = "AwaitingClearance"
	// StateDeclarationFailed waits for an operator's Redeclare.
	StateDeclarationFailed OrderState = "DeclarationFailed"
	// StateCustomsRejected was refused by customs and refunded. Final.
	StateCustomsRejected OrderState = "CustomsRejected"
	// StateAwaitingShipment is cleared and waits for the store to ship.
	StateAwaitingShipment OrderState = "AwaitingShipment"
	// StateAwaitingConfirmation is shipped and waits for the buyer or the auto-confirm deadline.
	StateAwaitingConfirmation OrderState = "AwaitingConfirmation"
	// StateReleasing releases the held funds to the merchant.
	StateReleasing OrderState = "Releasing"
	// StateCompleted has released the funds: ready for settlement. Final.
	StateCompleted OrderState = "Completed"
	// StateCancelling undoes the order after a Cancel.
	StateCancelling OrderState = "Cancelling"
	// StateCancelled was cancelled; nothing is captured any more. Final.
	StateCancelled OrderState = "Cancelled"
	// StateRefunding refunds the whole order before shipment.
	StateRefunding OrderState = "Refunding"
	// StateRefunded was refunded in full before shipment. Final.
	StateRefunded OrderState = "Refunded"
	// StateCompensating refunds after a customs rejection or a payment mismatch.
	StateCompensating OrderState = "Compensating"
	// StateNeedsAttention has a step that failed for good; see LastError and RetryStep.
	StateNeedsAttention OrderState = "NeedsAttention"
)

// Final reports whether s is an end state of the order's life (the workflow
// may stay open a little longer for refunds still running, or the return window).
func (s OrderState) Final() bool {
	switch s {
	case StateRejected, StateExpired, StatePaymentMismatch, StateCustomsRejected,
		StateCompleted, StateCancelled, StateRefunded:
		return true
	}
	return false
}

// QuotaFreeStates returns the OrderState values whose orders do not count
// against the buyer's annual CBEC limit (activities.VisibilityBuyerHistory.ExcludedStates).
func QuotaFreeStates() []string {
	return []string{string(StateRejected), string(StateExpired), string(StatePaymentMismatch),
		string(StateCustomsRejected), string(StateCancelled), string(StateRefunded)}
}

// CustomsStatus is the state of the order's customs declaration (the CustomsStatus search attribute).
type CustomsStatus string

// Customs states.
const (
	// CustomsNotDeclared has not been pushed yet.
	CustomsNotDeclared CustomsStatus = "NotDeclared"
	// CustomsDeclaring is being pushed or processed by the provider.
	CustomsDeclaring CustomsStatus = "Declaring"
	// CustomsDeclared was received by customs; the verdict is pending.
	CustomsDeclared CustomsStatus = "Declared"
	// CustomsDeclaredOutOfBand is declared by the payment company outside this system (card PSP).
	CustomsDeclaredOutOfBand CustomsStatus = "DeclaredOutOfBand"
	// CustomsDeclarationFailed was refused by the provider for correctable data.
	CustomsDeclarationFailed CustomsStatus = "DeclarationFailed"
	// CustomsCleared released the goods.
	CustomsCleared CustomsStatus = "Cleared"
	// CustomsRejected refused the order.
	CustomsRejected CustomsStatus = "Rejected"
	// CustomsCancelled withdrew the declaration and manifest.
	CustomsCancelled CustomsStatus = "Cancelled"
)

// Step names a step of the order; NeedsAttention and RetryStep refer to it.
type Step string

// Steps.
const (
	// StepValidate is the CBEC validation (year-to-date query and rules).
	StepValidate Step = "validate"
	// StepFX is the FX quote.
	StepFX Step = "fx"
	// StepPayment creates the payment and confirms a late one.
	StepPayment Step = "payment"
	// StepClose closes the unpaid trade.
	StepClose Step = "close"
	// StepHold holds the funds in escrow.
	StepHold Step = "hold"
	// StepManifest submits the manifest to customs.
	StepManifest Step = "manifest"
	// StepDeclare declares (or re-declares) the payment to customs.
	StepDeclare Step = "declare"
	// StepClearance waits for customs' verdict.
	StepClearance Step = "clearance"
	// StepRelease releases the held funds.
	StepRelease Step = "release"
	// StepRefund is a compensating refund.
	StepRefund Step = "refund"
)

// Rejection names the rule an order broke.
type Rejection struct {
	// Rule is the rule (a cbec.Rule, or "input" for a malformed order).
	Rule string `json:"rule"`
	// Field is the offending field.
	Field string `json:"field"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// StepError describes a step that failed for good.
type StepError struct {
	// Step is the failed step.
	Step Step `json:"step"`
	// Type is the error type (a providers.ErrorType name, or a Temporal failure kind).
	Type string `json:"type"`
	// Message is the error text.
	Message string `json:"message"`
	// At is when it failed.
	At time.Time `json:"at"`
}

// Event is one entry of an order's or refund's timeline.
type Event struct {
	// At is the workflow time of the event.
	At time.Time `json:"at"`
	// Step is what happened ("payment", "customs", "refund", ...).
	Step string `json:"step"`
	// Detail says more; it never holds personal data.
	Detail string `json:"detail"`
}

// Amounts are an order's money, all in CNY.
type Amounts struct {
	// Goods is the sum of the items.
	Goods money.Amount `json:"goods"`
	// Freight is the freight charged.
	Freight money.Amount `json:"freight"`
	// Insurance is the insurance charged.
	Insurance money.Amount `json:"insurance"`
	// Tax is the composite tax collected.
	Tax money.Amount `json:"tax"`
	// Total is what the buyer pays: goods + freight + insurance + tax.
	Total money.Amount `json:"total"`
	// Captured is what the buyer paid.
	Captured money.Amount `json:"captured"`
	// Refunded is what refunds have returned.
	Refunded money.Amount `json:"refunded"`
	// Held is what is frozen in escrow.
	Held money.Amount `json:"held"`
	// Refundable is what may still be refunded: captured − refunded − refunds in progress.
	Refundable money.Amount `json:"refundable"`
	// TotalHome is Total in the merchant's home currency at the locked FX quote.
	TotalHome money.Amount `json:"totalHome"`
}

// Deadlines are an order's pending deadlines.
type Deadlines struct {
	// PaymentExpiresAt is when the unpaid trade is closed.
	PaymentExpiresAt time.Time `json:"paymentExpiresAt,omitzero"`
	// ClearanceDeadline is when waiting for customs needs attention.
	ClearanceDeadline time.Time `json:"clearanceDeadline,omitzero"`
	// AutoConfirmAt is when receipt is confirmed automatically.
	AutoConfirmAt time.Time `json:"autoConfirmAt,omitzero"`
	// ReturnWindowEndsAt is the last moment a return may be requested.
	ReturnWindowEndsAt time.Time `json:"returnWindowEndsAt,omitzero"`
}

// OrderView is what the state query returns: everything an operator needs,
// and no personal data.
type OrderView struct {
	// OrderID is the workflow id.
	OrderID string `json:"orderId"`
	// MerchantID owns the order.
	MerchantID string `json:"merchantId"`
	// MerchantOrderNo is the merchant's number.
	MerchantOrderNo string `json:"merchantOrderNo"`
	// State is the lifecycle state.
	State OrderState `json:"state"`
	// Provider takes the payment.
	Provider providers.Name `json:"provider"`
	// Instalments is the Huabei count requested (0 for none).
	Instalments int `json:"instalments,omitempty"`
	// BuyerIDHash is the buyer's pseudonymous id.
	BuyerIDHash string `json:"buyerIdHash,omitempty"`
	// Amounts are the order's money.
	Amounts Amounts `json:"amounts"`
	// Tax is the composite tax breakdown.
	Tax *cbec.TaxBreakdown `json:"tax,omitempty"`
	// FX is the locked CNY → home currency quote.
	FX *money.Quote `json:"fx,omitempty"`
	// OutTradeNo is our trade number at the provider.
	OutTradeNo string `json:"outTradeNo,omitempty"`
	// TransactionID is the provider's trade number.
	TransactionID string `json:"transactionId,omitempty"`
	// CustomsStatus is the customs declaration's state.
	CustomsStatus CustomsStatus `json:"customsStatus"`
	// Clearance is customs' verdict, once known.
	Clearance *providers.Clearance `json:"clearance,omitempty"`
	// Shipment is the outbound shipment, once shipped.
	Shipment *Shipment `json:"shipment,omitempty"`
	// Deadlines are the pending deadlines.
	Deadlines Deadlines `json:"deadlines"`
	// Extensions is how often the buyer extended the deadline.
	Extensions int `json:"extensions"`
	// Refunds are the refunds in the order they were requested.
	Refunds []RefundView `json:"refunds"`
	// Rejection is the rule the order broke, when Rejected.
	Rejection *Rejection `json:"rejection,omitempty"`
	// Cancellation is the cancel request, once one was accepted.
	Cancellation *Cancel `json:"cancellation,omitempty"`
	// Timeline is what happened, oldest first.
	Timeline []Event `json:"timeline"`
	// LastError is the last step that failed for good.
	LastError *StepError `json:"lastError,omitempty"`
}

// CheckoutResult answers AwaitCheckout: what the buyer needs to pay, or why not.
type CheckoutResult struct {
	// OrderID is the workflow id.
	OrderID string `json:"orderId"`
	// State is the order's state.
	State OrderState `json:"state"`
	// Total is what the buyer pays (CNY).
	Total money.Amount `json:"total"`
	// Tax is the composite tax included in Total.
	Tax money.Amount `json:"tax"`
	// QRCode is the content to render as a QR code.
	QRCode string `json:"qrCode,omitempty"`
	// PayURL is the page to send the buyer to.
	PayURL string `json:"payUrl,omitempty"`
	// ExpiresAt is when the unpaid trade closes.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Rejection is the rule the order broke, when Rejected.
	Rejection *Rejection `json:"rejection,omitempty"`
	// LastError is set when a step needs attention before the buyer could pay.
	LastError *StepError `json:"lastError,omitempty"`
}

// Cancel asks to cancel an order before shipment.
type Cancel struct {
	// Reason is why.
	Reason string `json:"reason"`
	// By is who asks (merchant, operator, buyer).
	By string `json:"by"`
}

// Shipment is the outbound shipment.
type Shipment struct {
	// Carrier is the logistics company.
	Carrier string `json:"carrier"`
	// TrackingNo is the waybill number.
	TrackingNo string `json:"trackingNo"`
	// ShippedAt is when the order recorded it.
	ShippedAt time.Time `json:"shippedAt,omitzero"`
}

// Confirmation is the buyer confirming receipt.
type Confirmation struct {
	// By is who confirms (the buyer's channel).
	By string `json:"by,omitempty"`
}

// Extension asks to extend the auto-confirm deadline.
type Extension struct {
	// Days is the number of days to add (at least 1).
	Days int `json:"days"`
	// Reason is why (e.g. parcel delayed).
	Reason string `json:"reason"`
}

// Redeclaration corrects a failed payment declaration. Empty fields keep their value.
type Redeclaration struct {
	// Payer is the corrected payer identity.
	Payer *providers.Identity `json:"payer,omitempty"`
	// CustomsCode is the corrected customs office.
	CustomsCode string `json:"customsCode,omitempty"`
	// MerchantCustomsCode is the corrected platform customs code.
	MerchantCustomsCode string `json:"merchantCustomsCode,omitempty"`
	// MerchantCustomsName is the corrected platform name.
	MerchantCustomsName string `json:"merchantCustomsName,omitempty"`
	// Reason says what was corrected.
	Reason string `json:"reason"`
}

// RetryStep asks to re-run the step that needs attention, after its data was fixed.
type RetryStep struct {
	// Step must be the step in LastError.
	Step Step `json:"step"`
	// Note says what was fixed.
	Note string `json:"note,omitempty"`
}

// ForceRelease asks to release the held funds now, without waiting for the buyer.
type ForceRelease struct {
	// Reason is why.
	Reason string `json:"reason"`
	// By is the operator.
	By string `json:"by"`
}

// ItemRef names a quantity of one item of the order.
type ItemRef struct {
	// SKU is the item's SKU.
	SKU string `json:"sku"`
	// Quantity is how many units.
	Quantity int `json:"quantity"`
}

// RefundRequest asks for a refund.
type RefundRequest struct {
	// RefundNo is the merchant's refund number ([A-Za-z0-9_], 1-64): the idempotency key.
	RefundNo string `json:"refundNo"`
	// Amount is the refund (CNY, whole fen, positive).
	Amount money.Amount `json:"amount"`
	// Items are the goods concerned (for a return: the goods sent back; empty means all).
	Items []ItemRef `json:"items,omitempty"`
	// Reason is shown to the buyer.
	Reason string `json:"reason"`
	// ReturnGoods asks for a cross-border return with customs re-import.
	ReturnGoods bool `json:"returnGoods"`
	// OperatorApproved allows a refund without return after shipment (goods lost).
	OperatorApproved bool `json:"operatorApproved"`
}

// ReturnShipment is the return parcel's tracking.
type ReturnShipment struct {
	// TrackingNo is the return waybill number.
	TrackingNo string `json:"trackingNo"`
	// Carrier is the logistics company.
	Carrier string `json:"carrier,omitempty"`
}
