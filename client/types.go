package client

import "time"

// Providers an order may be paid with.
const (
	// Alipay is Alipay (with Huabei instalments).
	Alipay = "alipay"
	// WeChatPay is WeChat Pay.
	WeChatPay = "wechatpay"
	// Card is an international card through the card PSP.
	Card = "card"
)

// Payment scenes.
const (
	// SceneQR shows a QR code the buyer scans.
	SceneQR = "qr"
	// ScenePage sends the buyer to a pay page.
	ScenePage = "page"
)

// Order states, as Order.State and Checkout.State report them.
const (
	// StateValidating checks the CBEC rules.
	StateValidating = "Validating"
	// StateRejected broke a CBEC rule. Final.
	StateRejected = "Rejected"
	// StateAwaitingPayment waits for the buyer to pay.
	StateAwaitingPayment = "AwaitingPayment"
	// StateExpired was not paid in time. Final.
	StateExpired = "Expired"
	// StatePaymentMismatch was paid another amount, which was refunded. Final.
	StatePaymentMismatch = "PaymentMismatch"
	// StatePaid is paid; the funds are held and the payment declared.
	StatePaid = "Paid"
	// StateAwaitingClearance waits for customs' verdict.
	StateAwaitingClearance = "AwaitingClearance"
	// StateDeclarationFailed waits for an operator to correct the payment declaration.
	StateDeclarationFailed = "DeclarationFailed"
	// StateCustomsRejected was refused by customs and refunded. Final.
	StateCustomsRejected = "CustomsRejected"
	// StateAwaitingShipment is cleared and waits for the shipment.
	StateAwaitingShipment = "AwaitingShipment"
	// StateAwaitingConfirmation is shipped and waits for the buyer's confirmation.
	StateAwaitingConfirmation = "AwaitingConfirmation"
	// StateReleasing releases the held funds to the merchant.
	StateReleasing = "Releasing"
	// StateCompleted has released the funds. Final.
	StateCompleted = "Completed"
	// StateCancelling undoes the order after a cancel.
	StateCancelling = "Cancelling"
	// StateCancelled was cancelled. Final.
	StateCancelled = "Cancelled"
	// StateRefunding refunds the whole order before shipment.
	StateRefunding = "Refunding"
	// StateRefunded was refunded in full before shipment. Final.
	StateRefunded = "Refunded"
	// StateCompensating refunds after a customs rejection or payment mismatch.
	StateCompensating = "Compensating"
	// StateNeedsAttention has a step that failed for good; an operator must act.
	StateNeedsAttention = "NeedsAttention"
)

// Refund states, as Refund.State reports them.
const (
	// RefundRequested is booked and not started yet.
	RefundRequested = "Requested"
	// RefundRunning is started.
	RefundRunning = "Running"
	// RefundCancellingCustoms withdraws the customs filings.
	RefundCancellingCustoms = "CancellingCustoms"
	// RefundAwaitingReturnShipment waits for the buyer to send the goods back.
	RefundAwaitingReturnShipment = "AwaitingReturnShipment"
	// RefundReturnFiled waits for customs to accept the re-import.
	RefundReturnFiled = "ReturnFiled"
	// RefundRefunding waits for the provider to return the money.
	RefundRefunding = "Refunding"
	// RefundSucceeded returned the money. Final.
	RefundSucceeded = "Succeeded"
	// RefundFailed did not return the money. Final.
	RefundFailed = "Failed"
	// RefundReturnRejected was refused by customs; no money returned. Final.
	RefundReturnRejected = "ReturnRejected"
	// RefundReturnExpired saw no return shipment or customs decision in time. Final.
	RefundReturnExpired = "ReturnExpired"
)

// Amount is a money amount: a decimal string and an ISO 4217 currency.
type Amount struct {
	// Value is the amount as a decimal string, e.g. "199.00".
	Value string `json:"value"`
	// Currency is the ISO 4217 code, e.g. "CNY".
	Currency string `json:"currency"`
}

// CNY returns an amount in yuan, e.g. CNY("199.00").
func CNY(value string) Amount { return Amount{Value: value, Currency: "CNY"} }

// String formats the amount as "199.00 CNY".
func (a Amount) String() string { return a.Value + " " + a.Currency }

// Identity is a person's real name and 18-digit PRC resident ID number.
type Identity struct {
	// Name is the real name as on the ID card.
	Name string `json:"name"`
	// IDNumber is the resident ID number.
	IDNumber string `json:"idNumber"`
}

// Buyer is the person the order is for.
type Buyer struct {
	// Name is the real name as on the ID card.
	Name string `json:"name"`
	// IDNumber is the resident ID number.
	IDNumber string `json:"idNumber"`
	// Phone is a mainland mobile number (optional).
	Phone string `json:"phone,omitempty"`
}

// Instalments asks for Alipay Huabei instalments.
type Instalments struct {
	// Count is 3, 6 or 12.
	Count int `json:"count"`
	// FeeBearer is "buyer" (default) or "seller".
	FeeBearer string `json:"feeBearer,omitempty"`
}

// Item is one order line.
type Item struct {
	// SKU is the product code.
	SKU string `json:"sku"`
	// Name is the product name.
	Name string `json:"name"`
	// Category is the CBEC category code.
	Category string `json:"category"`
	// RegistrationNo is the registration or filing number, where the category needs one.
	RegistrationNo string `json:"registrationNo,omitempty"`
	// Quantity is the number of units.
	Quantity int `json:"quantity"`
	// UnitPrice is the price of one unit, in CNY.
	UnitPrice Amount `json:"unitPrice"`
}

// CreateOrderRequest creates an order.
type CreateOrderRequest struct {
	// MerchantOrderNo is the store's order number ([A-Za-z0-9_-], 1-32): the idempotency key.
	MerchantOrderNo string `json:"merchantOrderNo"`
	// Provider is Alipay, WeChatPay or Card.
	Provider string `json:"provider"`
	// Scene is SceneQR (default) or ScenePage.
	Scene string `json:"scene,omitempty"`
	// Instalments are Huabei options (Alipay only).
	Instalments *Instalments `json:"instalments,omitempty"`
	// Buyer is the person the order is for.
	Buyer Buyer `json:"buyer"`
	// Payer is who pays; nil means the buyer (CBEC requires the buyer).
	Payer *Identity `json:"payer,omitempty"`
	// Items are the goods.
	Items []Item `json:"items"`
	// Freight is the freight charged, in CNY (optional).
	Freight *Amount `json:"freight,omitempty"`
	// Insurance is the insurance charged, in CNY (optional).
	Insurance *Amount `json:"insurance,omitempty"`
	// PaymentExpirySeconds is how long the buyer has to pay (60-86400); 0 means the server's default.
	PaymentExpirySeconds int `json:"paymentExpirySeconds,omitempty"`
}

// StepError is a step of the order that failed for good.
type StepError struct {
	// Step is the failed step.
	Step string `json:"step"`
	// Type is the error type.
	Type string `json:"type"`
	// Message is the error text.
	Message string `json:"message"`
	// At is when it failed.
	At time.Time `json:"at"`
}

// Rejection is the rule an order broke.
type Rejection struct {
	// Rule is the rule.
	Rule string `json:"rule"`
	// Field is the offending field.
	Field string `json:"field"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// Checkout is what the buyer needs to pay a new order.
type Checkout struct {
	// OrderID is the order's id.
	OrderID string `json:"orderId"`
	// MerchantOrderNo is the store's order number.
	MerchantOrderNo string `json:"merchantOrderNo"`
	// State is the order's state.
	State string `json:"state"`
	// Total is what the buyer pays (CNY).
	Total Amount `json:"total"`
	// Tax is the composite tax included in Total.
	Tax Amount `json:"tax"`
	// QRCode is the content to render as a QR code (SceneQR).
	QRCode string `json:"qrCode,omitempty"`
	// PayURL is the page to send the buyer to (ScenePage).
	PayURL string `json:"payUrl,omitempty"`
	// ExpiresAt is when the unpaid trade closes.
	ExpiresAt *time.Time `json:"expiresAt,omitzero"`
	// LastError is set when the payment could not be created (state NeedsAttention).
	LastError *StepError `json:"lastError,omitempty"`
	// Rejection is the rule the order broke.
	Rejection *Rejection `json:"rejection,omitempty"`
	// Created is true when this call created the order (201), false when it existed (200).
	Created bool `json:"-"`
}

// MaskedBuyer is the buyer as the API shows it: name, ID number and phone masked.
type MaskedBuyer struct {
	// Name is the first character and "*".
	Name string `json:"name"`
	// IDNumber keeps the first 3 and last 4 characters.
	IDNumber string `json:"idNumber"`
	// Phone keeps the first 3 and last 4 digits.
	Phone string `json:"phone,omitempty"`
}

// Amounts are an order's money, in CNY (TotalHome in the home currency).
type Amounts struct {
	// Goods is the sum of the items.
	Goods Amount `json:"goods"`
	// Freight is the freight charged.
	Freight Amount `json:"freight"`
	// Insurance is the insurance charged.
	Insurance Amount `json:"insurance"`
	// Tax is the composite tax.
	Tax Amount `json:"tax"`
	// Total is what the buyer pays.
	Total Amount `json:"total"`
	// Captured is what the buyer paid.
	Captured Amount `json:"captured"`
	// Refunded is what refunds returned.
	Refunded Amount `json:"refunded"`
	// Held is what is frozen in escrow.
	Held Amount `json:"held"`
	// Refundable is what may still be refunded.
	Refundable Amount `json:"refundable"`
	// TotalHome is Total in the merchant's home currency at the locked rate.
	TotalHome Amount `json:"totalHome"`
}

// Clearance is customs' verdict.
type Clearance struct {
	// OrderNo is the order.
	OrderNo string `json:"orderNo"`
	// Status is PENDING, CLEARED, REJECTED or NOT_FOUND.
	Status string `json:"status"`
	// Code is the rejection code.
	Code string `json:"code,omitempty"`
	// Reason is customs' text.
	Reason string `json:"reason,omitempty"`
	// ReleasedAt is when the goods were released.
	ReleasedAt time.Time `json:"releasedAt,omitzero"`
}

// Shipment is the outbound shipment.
type Shipment struct {
	// Carrier is the logistics company.
	Carrier string `json:"carrier"`
	// TrackingNo is the waybill number.
	TrackingNo string `json:"trackingNo"`
	// ShippedAt is when it was recorded.
	ShippedAt time.Time `json:"shippedAt,omitzero"`
}

// Deadlines are an order's pending deadlines.
type Deadlines struct {
	// PaymentExpiresAt is when the unpaid trade closes.
	PaymentExpiresAt time.Time `json:"paymentExpiresAt,omitzero"`
	// ClearanceDeadline is when waiting for customs needs attention.
	ClearanceDeadline time.Time `json:"clearanceDeadline,omitzero"`
	// AutoConfirmAt is when receipt is confirmed automatically.
	AutoConfirmAt time.Time `json:"autoConfirmAt,omitzero"`
	// ReturnWindowEndsAt is the last moment a return may be asked.
	ReturnWindowEndsAt time.Time `json:"returnWindowEndsAt,omitzero"`
}

// Event is one entry of a timeline.
type Event struct {
	// At is when.
	At time.Time `json:"at"`
	// Step is what happened.
	Step string `json:"step"`
	// Detail says more.
	Detail string `json:"detail"`
}

// Cancellation is an accepted cancel request.
type Cancellation struct {
	// Reason is why.
	Reason string `json:"reason"`
	// By is who asked.
	By string `json:"by"`
}

// ItemRef names a quantity of one item of the order.
type ItemRef struct {
	// SKU is the item's SKU.
	SKU string `json:"sku"`
	// Quantity is how many units.
	Quantity int `json:"quantity"`
}

// Refund is a refund of an order.
type Refund struct {
	// RefundNo is the store's refund number.
	RefundNo string `json:"refundNo"`
	// WorkflowID is the refund's workflow id (for operators).
	WorkflowID string `json:"workflowId"`
	// Amount is the refund.
	Amount Amount `json:"amount"`
	// Reason is the refund reason.
	Reason string `json:"reason"`
	// ReturnGoods is true for a refund with return.
	ReturnGoods bool `json:"returnGoods"`
	// OperatorApproved is true for an approved refund without return after shipment.
	OperatorApproved bool `json:"operatorApproved"`
	// Items are the goods concerned.
	Items []ItemRef `json:"items,omitempty"`
	// System is true for a refund the order issued itself (compensation).
	System bool `json:"system"`
	// State is the refund's state (Refund* constants).
	State string `json:"state"`
	// RequestedAt is when it was asked.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// FinishedAt is when it ended.
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// TaxReversed is the composite tax reversed.
	TaxReversed Amount `json:"taxReversed"`
	// ProviderRefundID is the provider's refund id.
	ProviderRefundID string `json:"providerRefundId,omitempty"`
	// Error explains a failure.
	Error string `json:"error,omitempty"`
	// ReturnTrackingNo is the return parcel's tracking number.
	ReturnTrackingNo string `json:"returnTrackingNo,omitempty"`
	// ReturnDeadline is the pending return deadline.
	ReturnDeadline time.Time `json:"returnDeadline,omitzero"`
	// Timeline is what happened to the refund.
	Timeline []Event `json:"timeline,omitempty"`
}

// Order is an order's full state.
type Order struct {
	// OrderID is the order's id.
	OrderID string `json:"orderId"`
	// MerchantID owns the order.
	MerchantID string `json:"merchantId"`
	// MerchantOrderNo is the store's order number.
	MerchantOrderNo string `json:"merchantOrderNo"`
	// State is the order's state (State* constants).
	State string `json:"state"`
	// Open reports whether the order still takes changes.
	Open bool `json:"open"`
	// Provider takes the payment.
	Provider string `json:"provider"`
	// Instalments is the Huabei count asked (0 for none).
	Instalments int `json:"instalments,omitempty"`
	// Buyer is the buyer, masked.
	Buyer *MaskedBuyer `json:"buyer,omitempty"`
	// BuyerIDHash is the buyer's pseudonymous id.
	BuyerIDHash string `json:"buyerIdHash,omitempty"`
	// Amounts are the order's money.
	Amounts Amounts `json:"amounts"`
	// OutTradeNo is the trade number at the provider.
	OutTradeNo string `json:"outTradeNo,omitempty"`
	// TransactionID is the provider's trade number.
	TransactionID string `json:"transactionId,omitempty"`
	// CustomsStatus is the customs declaration's state.
	CustomsStatus string `json:"customsStatus"`
	// Clearance is customs' verdict, once known.
	Clearance *Clearance `json:"clearance,omitempty"`
	// Shipment is the outbound shipment, once shipped.
	Shipment *Shipment `json:"shipment,omitempty"`
	// Deadlines are the pending deadlines.
	Deadlines Deadlines `json:"deadlines"`
	// Extensions is how often the deadline was extended.
	Extensions int `json:"extensions"`
	// Refunds are the refunds, in the order they were asked.
	Refunds []Refund `json:"refunds"`
	// Rejection is the rule the order broke, when Rejected.
	Rejection *Rejection `json:"rejection,omitempty"`
	// Cancellation is the accepted cancel request.
	Cancellation *Cancellation `json:"cancellation,omitempty"`
	// Timeline is what happened, oldest first.
	Timeline []Event `json:"timeline"`
	// LastError is the last step that failed for good.
	LastError *StepError `json:"lastError,omitempty"`
}

// OrderSummary is one order of a list.
type OrderSummary struct {
	// OrderID is the order's id.
	OrderID string `json:"orderId"`
	// MerchantOrderNo is the store's order number.
	MerchantOrderNo string `json:"merchantOrderNo"`
	// State is the order's state.
	State string `json:"state,omitempty"`
	// Provider takes the payment.
	Provider string `json:"provider,omitempty"`
	// CustomsStatus is the customs declaration's state.
	CustomsStatus string `json:"customsStatus,omitempty"`
	// CreatedAt is when the order was created.
	CreatedAt time.Time `json:"createdAt"`
	// ClosedAt is when the order's workflow ended.
	ClosedAt *time.Time `json:"closedAt,omitzero"`
	// Open reports whether the order still takes changes.
	Open bool `json:"open"`
}

// OrderList is a page of orders.
type OrderList struct {
	// Orders are the orders, newest first.
	Orders []OrderSummary `json:"orders"`
	// NextPageToken fetches the next page; empty on the last.
	NextPageToken string `json:"nextPageToken,omitempty"`
}

// ListOrdersParams filters a list of orders; zero fields do not filter.
type ListOrdersParams struct {
	// State is an order state.
	State string
	// Provider is a provider.
	Provider string
	// Customs is a customs status.
	Customs string
	// From keeps orders created at or after it.
	From time.Time
	// To keeps orders created before it.
	To time.Time
	// PageSize is 1-100 (default 20).
	PageSize int
	// PageToken is the previous page's NextPageToken.
	PageToken string
}

// ShipmentRequest records the shipment.
type ShipmentRequest struct {
	// Carrier is the logistics company.
	Carrier string `json:"carrier"`
	// TrackingNo is the waybill number.
	TrackingNo string `json:"trackingNo"`
}

// ConfirmRequest records the buyer's confirmation of receipt.
type ConfirmRequest struct {
	// By is the buyer's channel (optional).
	By string `json:"by,omitempty"`
}

// ExtendRequest extends the auto-confirm deadline.
type ExtendRequest struct {
	// Days to add (1-30).
	Days int `json:"days"`
	// Reason is why.
	Reason string `json:"reason"`
}

// CancelRequest cancels an order before shipment.
type CancelRequest struct {
	// Reason is why.
	Reason string `json:"reason"`
}

// RefundRequest asks for a refund.
type RefundRequest struct {
	// RefundNo is the store's refund number ([A-Za-z0-9_], 1-64): the idempotency key.
	RefundNo string `json:"refundNo"`
	// Amount is the refund, in CNY.
	Amount Amount `json:"amount"`
	// Items are the goods concerned (for a return: the goods sent back).
	Items []ItemRef `json:"items,omitempty"`
	// Reason is shown to the buyer.
	Reason string `json:"reason"`
	// ReturnGoods asks for a refund with return (customs re-import).
	ReturnGoods bool `json:"returnGoods,omitempty"`
	// OperatorApproved allows a refund without return after shipment (goods lost).
	OperatorApproved bool `json:"operatorApproved,omitempty"`
}

// ReturnShipmentRequest records a refund's return parcel.
type ReturnShipmentRequest struct {
	// TrackingNo is the return waybill number.
	TrackingNo string `json:"trackingNo"`
	// Carrier is the logistics company (optional).
	Carrier string `json:"carrier,omitempty"`
}
