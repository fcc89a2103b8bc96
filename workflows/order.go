package workflows

import (
	"errors"
	"fmt"
	"regexp"

	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// maxItems bounds an order's lines (and with them the payloads in history).
const maxItems = 100

// OrderWorkflow runs one CBEC order from validation to settlement-ready:
// validate (CBEC rules, annual limit, composite tax) → lock the FX rate →
// create the payment and wait for it (notification signal, polling fallback,
// expiry closes the trade and honours a late payment) → hold the funds in
// escrow → manifest and payment declaration to customs, wait for clearance
// (rejection refunds everything; a failed declaration waits for Redeclare) →
// wait for shipment → wait for the buyer's confirmation or the extendable
// auto-confirm deadline → release the funds → stay open for returns until the
// return window closes and every refund has ended. Its id is
// OrderWorkflowID(merchantID, merchantOrderNo); see the package doc for the
// updates, signals and the versioning rule.
func OrderWorkflow(ctx workflow.Context, in OrderInput) (OrderView, error) {
	o := newOrder(ctx, in)
	if err := o.register(ctx); err != nil {
		return OrderView{}, err
	}
	o.initBooks(ctx)
	o.event(ctx, "order", "order received")
	o.upsert(ctx)

	// The main flow ignores Temporal cancellation (a cancel request becomes a
	// Cancel, see watchCancellation): compensation must run to its end.
	main, _ := workflow.NewDisconnectedContext(ctx)
	err := o.lifecycle(main)
	if errors.Is(err, errStopped) {
		err = o.unwind(main)
	}
	if err != nil {
		return o.view(), err
	}
	o.closing = true
	if err := workflow.Await(main, func() bool {
		return o.activeRefunds() == 0 && workflow.AllHandlersFinished(main)
	}); err != nil {
		return o.view(), err
	}
	return o.view(), nil
}

// lifecycle is the happy path; each step returns errStopped when a stop was
// requested, and false when the order ended early (rejected, expired, ...).
func (o *order) lifecycle(ctx workflow.Context) error {
	if rej := o.checkInput(); rej != nil {
		o.reject(ctx, *rej)
		return nil
	}
	if ok, err := o.validate(ctx); err != nil || !ok {
		return err
	}
	if err := o.lockFX(ctx); err != nil {
		return err
	}
	if paid, err := o.authorize(ctx); err != nil || !paid {
		return err
	}
	if err := o.holdFunds(ctx); err != nil {
		return err
	}
	if cleared, err := o.clearCustoms(ctx); err != nil || !cleared {
		return err
	}
	if err := o.awaitShipment(ctx); err != nil {
		return err
	}
	o.awaitConfirmation(ctx)
	if err := o.release(ctx); err != nil {
		return err
	}
	return o.awaitReturnWindow(ctx)
}

var buyerIDHashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkInput rejects malformed input before any activity runs.
func (o *order) checkInput() *Rejection {
	in := o.in
	bad := func(field, format string, args ...any) *Rejection {
		return &Rejection{Rule: RuleInput, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if err := ValidateOrderRef(in.MerchantID, in.MerchantOrderNo); err != nil {
		return bad("merchantOrderNo", "%v", err)
	}
	if want := OrderWorkflowID(in.MerchantID, in.MerchantOrderNo); o.id != want {
		return bad("workflowId", "the workflow id must be %q", want)
	}
	if !in.Provider.Valid() {
		return bad("provider", "unknown provider %q", in.Provider)
	}
	if in.Scene != providers.SceneQR && in.Scene != providers.ScenePage {
		return bad("scene", "must be %q or %q, got %q", providers.SceneQR, providers.ScenePage, in.Scene)
	}
	if in.Instalments != nil {
		if in.Provider != providers.Alipay {
			return bad("instalments", "Huabei instalments are offered by alipay only")
		}
		if c := in.Instalments.Count; c != 3 && c != 6 && c != 12 {
			return bad("instalments.count", "must be 3, 6 or 12, got %d", c)
		}
		if fb := in.Instalments.FeeBearer; fb != providers.FeeBuyer && fb != providers.FeeSeller {
			return bad("instalments.feeBearer", "must be %q or %q, got %q", providers.FeeBuyer, providers.FeeSeller, fb)
		}
	}
	if !in.HomeCurrency.Known() {
		return bad("homeCurrency", "unknown currency %q", in.HomeCurrency)
	}
	if in.BuyerIDHash != "" && !buyerIDHashPattern.MatchString(in.BuyerIDHash) {
		return bad("buyerIdHash", "must be 64 lower-case hex characters")
	}
	if in.Buyer.Name == "" || in.Buyer.IDNumber == "" {
		return bad("buyer", "name and idNumber are required")
	}
	if in.Payer.Name == "" || in.Payer.IDNumber == "" {
		return bad("payer", "name and idNumber are required")
	}
	if len(in.Items) == 0 || len(in.Items) > maxItems {
		return bad("items", "must have 1 to %d items, got %d", maxItems, len(in.Items))
	}
	goods := money.Zero(money.CNY)
	for i, it := range in.Items {
		f := fmt.Sprintf("items[%d]", i)
		if it.SKU == "" || len(it.SKU) > 64 {
			return bad(f+".sku", "must be 1-64 characters")
		}
		for _, prev := range in.Items[:i] {
			if prev.SKU == it.SKU {
				return bad(f+".sku", "SKU %q appears twice", it.SKU)
			}
		}
		if it.Quantity < 1 {
			return bad(f+".quantity", "must be at least 1, got %d", it.Quantity)
		}
		if rej := checkCNY(f+".unitPrice", it.UnitPrice, false); rej != nil {
			return rej
		}
		goods = mustAdd(goods, it.UnitPrice.Mul(decimalInt(it.Quantity)))
	}
	if rej := checkCNY("freight", in.Freight, true); rej != nil {
		return rej
	}
	if rej := checkCNY("insurance", in.Insurance, true); rej != nil {
		return rej
	}
	o.goods = goods
	return nil
}

// checkCNY checks a is a whole number of fen in CNY, positive (or >= 0 when zeroOK).
func checkCNY(field string, a money.Amount, zeroOK bool) *Rejection {
	switch {
	case a.Currency() != money.CNY:
		return &Rejection{Rule: RuleInput, Field: field, Message: fmt.Sprintf("must be in CNY, got %q", string(a.Currency()))}
	case !a.IsWhole():
		return &Rejection{Rule: RuleInput, Field: field, Message: fmt.Sprintf("%s is finer than one fen", a)}
	case a.IsNegative() || (!zeroOK && a.IsZero()):
		return &Rejection{Rule: RuleInput, Field: field, Message: fmt.Sprintf("must be positive, got %s", a)}
	}
	return nil
}

// reject ends the order as Rejected; no provider has been called.
func (o *order) reject(ctx workflow.Context, r Rejection) {
	o.rejection = &r
	o.transition(ctx, StateRejected, string(StepValidate), fmt.Sprintf("rejected: %s on %s: %s", r.Rule, r.Field, r.Message))
}

// validate computes the buyer's hash and year-to-date total and applies the CBEC rules.
func (o *order) validate(ctx workflow.Context) (bool, error) {
	if o.buyerHash == "" {
		err := o.step(ctx, StepValidate, func(ctx workflow.Context) error {
			return run(ctx, visibilityOptions, identityAct.HashBuyerID, &o.buyerHash, o.in.Buyer.IDNumber)
		})
		if err != nil {
			return false, err
		}
	}
	var ytd money.Amount
	year := workflow.Now(ctx).In(activities.ChinaTime).Year()
	err := o.step(ctx, StepValidate, func(ctx workflow.Context) error {
		return run(ctx, visibilityOptions, validateAct.BuyerYearToDate, &ytd,
			activities.YearToDateInput{BuyerIDHash: o.buyerHash, Year: year})
	})
	if err != nil {
		return false, err
	}
	var res activities.ValidateResult
	err = o.step(ctx, StepValidate, func(ctx workflow.Context) error {
		return run(ctx, validateOptions, validateAct.ValidateOrder, &res, activities.ValidateInput{Order: o.cbecOrder(ytd)})
	})
	if err != nil {
		return false, err
	}
	if v := res.Violation; v != nil {
		o.reject(ctx, Rejection{Rule: v.Rule, Field: v.Field, Message: v.Message})
		return false, nil
	}
	tax := res.Tax
	o.tax = &tax
	o.total = mustAdd(mustAdd(mustAdd(o.goods, o.in.Freight), o.in.Insurance), tax.Total)
	o.validated = true
	detail := fmt.Sprintf("CBEC rules passed; tax %s, total %s", tax.Total, o.total)
	if tax.GeneralTrade {
		detail += " (general trade taxation)"
	}
	o.event(ctx, string(StepValidate), detail)
	o.upsert(ctx)
	return true, nil
}

// cbecOrder is the order as the CBEC rules see it.
func (o *order) cbecOrder(ytd money.Amount) cbec.Order {
	lines := make([]cbec.Line, len(o.in.Items))
	for i, it := range o.in.Items {
		lines[i] = cbec.Line{SKU: it.SKU, Category: it.Category, RegistrationNo: it.RegistrationNo,
			Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	return cbec.Order{
		Lines: lines, Freight: o.in.Freight, Insurance: o.in.Insurance,
		Buyer:           cbec.Identity{Name: o.in.Buyer.Name, IDNumber: o.in.Buyer.IDNumber},
		Payer:           cbec.Identity{Name: o.in.Payer.Name, IDNumber: o.in.Payer.IDNumber},
		BuyerYearToDate: ytd,
	}
}

// lockFX locks the CNY → home currency rate for the order.
func (o *order) lockFX(ctx workflow.Context) error {
	if o.in.HomeCurrency == money.CNY {
		return nil
	}
	var q money.Quote
	err := o.step(ctx, StepFX, func(ctx workflow.Context) error {
		return run(ctx, fxOptions, fxAct.QuoteFX, &q, activities.QuoteInput{
			Base: money.CNY, Counter: o.in.HomeCurrency, At: workflow.Now(ctx)})
	})
	if err != nil {
		return err
	}
	o.quote = &q
	o.event(ctx, string(StepFX), fmt.Sprintf("rate %s locked at %s (%s)", q.Pair(), q.Rate, q.Source))
	return nil
}

// holdFunds freezes the captured funds where the provider offers escrow.
func (o *order) holdFunds(ctx workflow.Context) error {
	var res activities.HoldResult
	holdKey := key(ctx, o.id, "hold")
	err := o.step(ctx, StepHold, func(ctx workflow.Context) error {
		return run(ctx, moneyOptions, payAct.HoldFunds, &res, activities.HoldInput{Provider: o.in.Provider,
			Request: providers.HoldRequest{OutTradeNo: o.outTradeNo, TransactionID: o.transactionID,
				OutRequestNo: holdKey, Amount: o.captured}})
	})
	if err != nil {
		return err
	}
	switch {
	case !res.Supported:
		o.event(ctx, string(StepHold), "provider offers no escrow hold: funds settle normally")
	case res.Hold.Status == providers.HoldHeld:
		o.held = o.captured
		o.event(ctx, string(StepHold), fmt.Sprintf("%s held in escrow", o.held))
		o.bookHeld(ctx)
	default:
		o.event(ctx, string(StepHold), fmt.Sprintf("hold answered %s", res.Hold.Status))
	}
	return nil
}
