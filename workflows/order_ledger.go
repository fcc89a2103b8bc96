package workflows

import (
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/money"
)

// ledgerChangeID versions the ledger postings of the order workflow: orders
// started before them (whose recorded histories have no marker) never post,
// so that an order's journal is all or nothing.
const ledgerChangeID = "ledger-postings"

// ledgerOptions: postings are one database transaction each and idempotent
// by key; a database outage is retried for a day. A posting the ledger
// refuses is logged on the timeline and does not stop the order.
var ledgerOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		NonRetryableErrorTypes: append(slices.Clone(finalTypes), activities.ErrTypeLedgerRejected),
	},
}

// ledgerAct names the posting activities.
var ledgerAct *activities.Ledger

// books is the order's bookkeeping: what it has posted to the ledger. Postings
// run one at a time under mu, because the release (main flow) and refunds
// (their own coroutines) decide from what was posted before them.
type books struct {
	on          bool
	mu          workflow.Mutex
	captured    bool
	held        bool
	released    bool
	refunded    money.Amount
	taxReversed money.Amount
}

// initBooks turns bookkeeping on for orders started with the ledger postings.
func (o *order) initBooks(ctx workflow.Context) {
	o.books = books{
		on:          workflow.GetVersion(ctx, ledgerChangeID, workflow.DefaultVersion, 1) >= 1,
		mu:          workflow.NewMutex(ctx),
		refunded:    money.Zero(money.CNY),
		taxReversed: money.Zero(money.CNY),
	}
}

// ledgerOrder names the order in postings.
func (o *order) ledgerOrder() activities.LedgerOrder {
	return activities.LedgerOrder{OrderID: o.id, MerchantID: o.in.MerchantID, Provider: o.in.Provider}
}

// post runs one posting activity under the books' lock. A failure is
// recorded on the timeline and logged; the order goes on.
func (o *order) post(ctx workflow.Context, what string, fn any, in any) bool {
	if err := run(ctx, ledgerOptions, fn, nil, in); err != nil {
		o.event(ctx, "ledger", what+" not booked: "+errorType(err))
		workflow.GetLogger(ctx).Error("ledger posting failed", "OrderID", o.id, "Posting", what, "ErrorType", errorType(err), "Error", err)
		return false
	}
	return true
}

// lockBooks takes the books' lock; false when bookkeeping is off.
func (o *order) lockBooks(ctx workflow.Context) bool {
	if !o.books.on {
		return false
	}
	if err := o.books.mu.Lock(ctx); err != nil {
		return false
	}
	return true
}

// categories is the order's goods categories, sorted and joined by ";".
func (o *order) categories() string {
	var cs []string
	for _, it := range o.in.Items {
		if it.Category != "" && !slices.Contains(cs, it.Category) {
			cs = append(cs, it.Category)
		}
	}
	slices.Sort(cs)
	return strings.Join(cs, ";")
}

// bookCaptured books the payment once the order knows it (paid, or found paid while cancelling).
func (o *order) bookCaptured(ctx workflow.Context, at time.Time) {
	if !o.lockBooks(ctx) {
		return
	}
	defer o.books.mu.Unlock()
	if o.books.captured || !o.captured.IsPositive() {
		return
	}
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	o.books.captured = o.post(ctx, "payment", ledgerAct.PostCaptured, activities.CaptureInput{
		LedgerOrder: o.ledgerOrder(), MerchantOrderNo: o.in.MerchantOrderNo, TransactionID: o.transactionID,
		Amount: o.captured, At: at, PayerRef: o.buyerHash, Category: o.categories(),
		HomeCurrency: o.in.HomeCurrency, Quote: o.quote,
	})
}

// bookHeld books the provider's freeze of the funds.
func (o *order) bookHeld(ctx workflow.Context) {
	if !o.lockBooks(ctx) {
		return
	}
	defer o.books.mu.Unlock()
	if !o.books.captured || o.books.held || o.books.released {
		return
	}
	in := activities.HeldInput{LedgerOrder: o.ledgerOrder(), Amount: mustSub(o.captured, o.books.refunded), At: workflow.Now(ctx)}
	if in.Amount.IsPositive() {
		o.books.held = o.post(ctx, "escrow hold", ledgerAct.PostHeld, in)
	}
}

// bookReleased books the release of what escrow still holds: the composite
// tax not reversed to customs' account, the rest to the merchant.
func (o *order) bookReleased(ctx workflow.Context) {
	if !o.lockBooks(ctx) {
		return
	}
	defer o.books.mu.Unlock()
	if !o.books.captured || o.books.released {
		return
	}
	amount := mustSub(o.captured, o.books.refunded)
	tax := money.Zero(money.CNY)
	if o.tax != nil {
		tax = mustSub(o.tax.Total, o.books.taxReversed)
	}
	if tax.IsNegative() {
		tax = money.Zero(money.CNY)
	}
	if c, _ := tax.Cmp(amount); c > 0 {
		tax = amount
	}
	if amount.IsPositive() {
		o.post(ctx, "release", ledgerAct.PostReleased, activities.ReleaseInput{LedgerOrder: o.ledgerOrder(),
			Amount: amount, Tax: tax, HeldAtProvider: o.books.held, At: workflow.Now(ctx)})
	}
	o.books.released = true
}

// bookRefund books a refund that succeeded: out of escrow before the
// release; after it, clawed back from the merchant (and the reversed tax
// from customs' account) into escrow first.
func (o *order) bookRefund(ctx workflow.Context, rec *refundRecord, res RefundResult) {
	if res.State != RefundSucceeded || !o.lockBooks(ctx) {
		return
	}
	defer o.books.mu.Unlock()
	if !o.books.captured {
		return
	}
	at := res.Refund.RefundedAt
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	tax := res.TaxReversed
	if tax.Currency() == "" {
		tax = money.Zero(money.CNY)
	}
	in := activities.RefundPostingInput{LedgerOrder: o.ledgerOrder(), RefundNo: rec.req.RefundNo, Amount: rec.req.Amount,
		TaxReversed: tax, HeldAtProvider: o.books.held && !o.books.released, At: at}
	if o.books.released && !o.post(ctx, "clawback of refund "+rec.req.RefundNo, ledgerAct.PostClawback, in) {
		return
	}
	if o.post(ctx, "refund "+rec.req.RefundNo, ledgerAct.PostRefunded, in) {
		o.books.refunded = mustAdd(o.books.refunded, rec.req.Amount)
		o.books.taxReversed = mustAdd(o.books.taxReversed, tax)
	}
}
