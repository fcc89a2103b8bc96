package providers

import (
	"context"
	"time"

	"github.com/xhspay/xhspay/money"
)

// BillKind is what a bill line records.
type BillKind string

// Bill line kinds.
const (
	// BillPayment is a payment the provider received.
	BillPayment BillKind = "payment"
	// BillRefund is a refund the provider paid back.
	BillRefund BillKind = "refund"
)

// BillLine is one line of a provider's daily trade bill.
type BillLine struct {
	// TransactionID is the provider's transaction id of the trade.
	TransactionID string `json:"transactionId"`
	// OutTradeNo is our trade number.
	OutTradeNo string `json:"outTradeNo"`
	// OutRefundNo is our refund number, for refunds.
	OutRefundNo string `json:"outRefundNo,omitempty"`
	// Kind says whether the line is a payment or a refund.
	Kind BillKind `json:"kind"`
	// Amount is the money the line moves, positive for both kinds, in CNY.
	Amount money.Amount `json:"amount"`
	// Fee is the provider's service fee on the line: positive when charged
	// (payments), negative when given back (refunds); in CNY.
	Fee money.Amount `json:"fee"`
	// At is when the payment or refund happened.
	At time.Time `json:"at"`
}

// BillSource downloads a provider's daily trade bill.
type BillSource interface {
	// DownloadBill returns the lines of the trade bill of the calendar day of
	// day in China time: every payment and refund of that day. A day without
	// trades has no lines. A bill not issued yet fails with a retryable error.
	DownloadBill(ctx context.Context, day time.Time) ([]BillLine, error)
}
