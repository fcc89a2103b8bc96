package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// ErrTypeLedgerRejected is the application error type of a posting the
// ledger refuses for good (invalid, unbalanced, or conflicting with what is
// recorded under its key). It is not retryable: the posting must change.
const ErrTypeLedgerRejected = "LedgerRejected"

// Ledger holds the activities that book the order workflows' money steps in
// the ledger: each is one ledger.Post (one database transaction) under a key
// derived from the order and the step (and the refund number), so a retried
// activity records its posting once. The order flows follow the ledger's
// conventions (package ledger): captured, held, released (to the merchant's
// payable and composite tax), refunded out of escrow, and after release a
// clawback of the merchant's (and customs') share back into escrow before the
// refund. Provider fees are recognised at settlement (see Settlement).
//
// With a nil L every activity does nothing: a worker without a ledger runs
// the orders without bookkeeping.
type Ledger struct {
	// L is the ledger; nil disables the postings.
	L *ledger.Ledger
}

// LedgerOrder names the order a posting belongs to.
type LedgerOrder struct {
	// OrderID is the order workflow id.
	OrderID string `json:"orderId"`
	// MerchantID owns the order.
	MerchantID string `json:"merchantId"`
	// Provider took the payment.
	Provider providers.Name `json:"provider"`
}

func (o LedgerOrder) check() error {
	if o.OrderID == "" || o.MerchantID == "" || !o.Provider.Valid() {
		return invalidInput("ledger posting: orderId, merchantId and a known provider are required (got %q, %q, %q)",
			o.OrderID, o.MerchantID, o.Provider)
	}
	return nil
}

// CaptureInput is the input of PostCaptured.
type CaptureInput struct {
	LedgerOrder
	// MerchantOrderNo is the merchant's order number.
	MerchantOrderNo string `json:"merchantOrderNo"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId"`
	// Amount is what the buyer paid (CNY).
	Amount money.Amount `json:"amount"`
	// At is when the payment was made (the provider's time when known).
	At time.Time `json:"at"`
	// PayerRef is the payer's pseudonymous reference (the buyer ID hash).
	PayerRef string `json:"payerRef"`
	// Category is the goods category (several joined by ";").
	Category string `json:"category"`
	// HomeCurrency is the merchant's settlement currency.
	HomeCurrency money.Currency `json:"homeCurrency"`
	// Quote is the CNY → HomeCurrency rate locked for the order (nil for CNY).
	Quote *money.Quote `json:"quote,omitempty"`
}

// HeldInput is the input of PostHeld.
type HeldInput struct {
	LedgerOrder
	// Amount is what the provider holds frozen (CNY).
	Amount money.Amount `json:"amount"`
	// At is when the hold was confirmed.
	At time.Time `json:"at"`
}

// ReleaseInput is the input of PostReleased.
type ReleaseInput struct {
	LedgerOrder
	// Amount is what leaves escrow: captured less refunded (CNY).
	Amount money.Amount `json:"amount"`
	// Tax is the part of Amount owed to customs as composite tax (CNY, >= 0);
	// the rest is owed to the merchant.
	Tax money.Amount `json:"tax"`
	// HeldAtProvider is true when the escrow was frozen at the provider (PostHeld).
	HeldAtProvider bool `json:"heldAtProvider"`
	// At is when receipt was confirmed.
	At time.Time `json:"at"`
}

// RefundPostingInput is the input of PostClawback and PostRefunded.
type RefundPostingInput struct {
	LedgerOrder
	// RefundNo is the refund number.
	RefundNo string `json:"refundNo"`
	// Amount is the refund (CNY).
	Amount money.Amount `json:"amount"`
	// TaxReversed is the composite tax not levied on the refunded part: a
	// clawback takes it back from tax payable instead of from the merchant.
	TaxReversed money.Amount `json:"taxReversed"`
	// HeldAtProvider is true when the refund comes out of escrow frozen at the
	// provider (a refund before release of a held order).
	HeldAtProvider bool `json:"heldAtProvider"`
	// At is when the refund succeeded.
	At time.Time `json:"at"`
}

// escrow is the escrow account the order's money sits on.
func escrow(provider providers.Name, heldAtProvider bool) ledger.Account {
	if heldAtProvider {
		return ledger.Account(string(ledger.TypeEscrowHeld) + ":" + string(provider))
	}
	return ledger.EscrowHeld()
}

// PostCaptured records the order's reference data (ledger.RecordOrder) and
// books the payment: Dr buyer_receivable:<provider>, Cr escrow_held.
func (a *Ledger) PostCaptured(ctx context.Context, in CaptureInput) error {
	if a.L == nil {
		return nil
	}
	if err := in.check(); err != nil {
		return err
	}
	_, err := a.L.RecordOrder(ctx, ledger.OrderRecord{
		OrderID: in.OrderID, MerchantID: in.MerchantID, MerchantOrderNo: in.MerchantOrderNo,
		Provider: string(in.Provider), TransactionID: in.TransactionID, PayerRef: in.PayerRef,
		Category: in.Category, HomeCurrency: in.HomeCurrency, Quote: in.Quote, CapturedAt: in.At,
	})
	if err != nil {
		return ledgerError(err)
	}
	return a.post(ctx, in.LedgerOrder, in.OrderID+":"+ledger.KindCaptured, ledger.KindCaptured, in.At,
		fmt.Sprintf("paid at %s, transaction %s", in.Provider, in.TransactionID),
		entry(ledger.BuyerReceivable(string(in.Provider)), in.Amount),
		entry(ledger.EscrowHeld(), in.Amount.Neg()))
}

// PostHeld books the provider's freeze of the paid funds: escrow_held moves
// to escrow_held:<provider> (money held at the provider).
func (a *Ledger) PostHeld(ctx context.Context, in HeldInput) error {
	if a.L == nil {
		return nil
	}
	if err := in.check(); err != nil {
		return err
	}
	return a.post(ctx, in.LedgerOrder, in.OrderID+":"+ledger.KindHeld, ledger.KindHeld, in.At,
		"funds frozen at "+string(in.Provider),
		entry(ledger.EscrowHeld(), in.Amount),
		entry(escrow(in.Provider, true), in.Amount.Neg()))
}

// PostReleased books the release: Dr escrow, Cr tax_payable with the tax and
// Cr merchant_payable:<merchant> with the rest.
func (a *Ledger) PostReleased(ctx context.Context, in ReleaseInput) error {
	if a.L == nil {
		return nil
	}
	if err := in.check(); err != nil {
		return err
	}
	toMerchant, err := in.Amount.Sub(in.Tax)
	if err != nil {
		return invalidInput("release: %v", err)
	}
	return a.post(ctx, in.LedgerOrder, in.OrderID+":"+ledger.KindReleased, ledger.KindReleased, in.At,
		"receipt confirmed: released to the merchant",
		entry(escrow(in.Provider, in.HeldAtProvider), in.Amount),
		entry(ledger.TaxPayable(), in.Tax.Neg()),
		entry(ledger.MerchantPayable(in.MerchantID), toMerchant.Neg()))
}

// PostClawback takes a refund after release back into escrow: Dr
// merchant_payable:<merchant> (the refund less the tax reversed), Dr
// tax_payable (the tax reversed), Cr escrow_held. A settled order's payable
// then owes the clawback to the next settlement.
func (a *Ledger) PostClawback(ctx context.Context, in RefundPostingInput) error {
	if a.L == nil {
		return nil
	}
	if err := in.check(); err != nil {
		return err
	}
	tax := orZeroCNY(in.TaxReversed)
	fromMerchant, err := in.Amount.Sub(tax)
	if err != nil {
		return invalidInput("clawback: %v", err)
	}
	return a.post(ctx, in.LedgerOrder, in.OrderID+":"+ledger.KindClawback+":"+in.RefundNo, ledger.KindClawback, in.At,
		"refund "+in.RefundNo+" after release: clawed back",
		entry(ledger.MerchantPayable(in.MerchantID), fromMerchant),
		entry(ledger.TaxPayable(), tax),
		entry(ledger.EscrowHeld(), in.Amount.Neg()))
}

// PostRefunded books a refund paid back out of escrow: Dr escrow, Cr
// buyer_receivable:<provider>.
func (a *Ledger) PostRefunded(ctx context.Context, in RefundPostingInput) error {
	if a.L == nil {
		return nil
	}
	if err := in.check(); err != nil {
		return err
	}
	return a.post(ctx, in.LedgerOrder, in.OrderID+":"+ledger.KindRefunded+":"+in.RefundNo, ledger.KindRefunded, in.At,
		"refund "+in.RefundNo,
		entry(escrow(in.Provider, in.HeldAtProvider), in.Amount),
		entry(ledger.BuyerReceivable(string(in.Provider)), in.Amount.Neg()))
}

// entry is a ledger entry; a zero amount is dropped by post.
func entry(a ledger.Account, amount money.Amount) ledger.Entry {
	return ledger.Entry{Account: a, Amount: amount}
}

// orZeroCNY is a, or zero CNY for the zero Amount.
func orZeroCNY(a money.Amount) money.Amount {
	if a.Currency() == "" {
		return money.Zero(money.CNY)
	}
	return a
}

// post records one posting of the order, leaving out zero entries.
func (a *Ledger) post(ctx context.Context, o LedgerOrder, key, kind string, at time.Time, memo string, entries ...ledger.Entry) error {
	p := ledger.Posting{Key: key, OrderID: o.OrderID, MerchantID: o.MerchantID, Kind: kind, At: at, Memo: memo}
	for _, e := range entries {
		if e.Amount.Currency() != "" && !e.Amount.IsZero() {
			p.Entries = append(p.Entries, e)
		}
	}
	if _, _, err := a.L.Post(ctx, p); err != nil {
		return ledgerError(err)
	}
	return nil
}

// ledgerError classifies a ledger failure: postings and records the ledger
// refuses are final; anything else (the database) is retried.
func ledgerError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ledger.ErrInvalidPosting), errors.Is(err, ledger.ErrUnbalanced),
		errors.Is(err, ledger.ErrConflictingPosting), errors.Is(err, ledger.ErrInvalidAccount),
		errors.Is(err, ledger.ErrConflictingRecord), errors.Is(err, ledger.ErrAlreadyInBatch):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeLedgerRejected, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	return temporal.NewApplicationErrorWithCause(err.Error(), "LedgerUnavailable", err)
}
