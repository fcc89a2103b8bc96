// Package customs is the customs sandbox: it receives payment records from the
// payment sandboxes and order manifests from the platform, matches them, and
// decides clearance and return (re-import) declarations by rules.
package customs

import "time"

// PaymentRecord is the payment declaration a payment company pushes to customs.
// The payment sandboxes forward every successful declaration here through a Sink.
type PaymentRecord struct {
	// Provider is the payment company ("alipay", "wechatpay").
	Provider string `json:"provider"`
	// OrderNo is the order number the merchant declared.
	OrderNo string `json:"orderNo"`
	// TransactionID is the payment company's trade number.
	TransactionID string `json:"transactionId"`
	// PayerName is the payer's real name.
	PayerName string `json:"payerName"`
	// PayerIDNumber is the payer's resident ID number.
	PayerIDNumber string `json:"payerIdNumber"`
	// AmountFen is the declared amount in fen.
	AmountFen int64 `json:"amountFen"`
	// CustomsCode is the customs office.
	CustomsCode string `json:"customsCode"`
	// MerchantCustomsCode is the e-commerce platform's customs code.
	MerchantCustomsCode string `json:"merchantCustomsCode"`
	// Cancelled is true when the payment company withdrew the declaration.
	Cancelled bool `json:"cancelled,omitempty"`
	// At is when it was pushed.
	At time.Time `json:"at"`
}

// Sink receives payment records; the customs sandbox implements it.
type Sink interface {
	// ReceivePaymentRecord takes a (re-)declared or cancelled payment record.
	ReceivePaymentRecord(rec PaymentRecord)
}
