package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// Settlement batches settle a merchant's released orders in its home
// currency. The model, as booked in the ledger:
//
//   - The merchant is owed, per order, its released CNY payable converted at
//     the rate locked for the order (AtLockedRate): the price it quoted in its
//     home currency. That is what it is paid out.
//   - The provider converts the same CNY at the settlement-date rate
//     (AtSettlementRate) and remits it less its fee (Fee, the provider's rate
//     of the converted amount), so the platform bears the fees and realises
//     the difference between the two rates as FX gain or loss (FXGainLoss =
//     AtSettlementRate - AtLockedRate).
//   - A refund after settlement was clawed back into escrow from the
//     merchant's payable; the next batch takes it back: a negative line,
//     converted the same way (the provider nets the refund out of what it
//     remits and gives the fee back).
//
// One posting per line (kind settled, carrying the order id, key
// "<order>:settled" or "<order>:settled:clawback:<round>"):
//
//	CNY   Dr merchant_payable:<merchant>  X          (the order's payable is settled)
//	      Cr buyer_receivable:<provider>  X          (out of what the provider holds)
//	home  Dr settlement_in_transit        S - F      (what the provider remits)
//	      Dr provider_fees:<provider>     F          (its fee, an expense)
//	      Cr fx_clearing                  L          (owed to the merchant until the batch is totalled)
//	      Cr fx_gain_loss                 S - L      (gain; a debit when negative: a loss)
//
// with X the CNY amount (negative for a clawback), L, S and F as above. Then
// per batch and currency "<batch>:due:<CUR>" moves the total owed from
// fx_clearing to merchant_payable:<merchant>, and once the payout is
// confirmed "<batch>:payout:<CUR>" (kind payout) pays it out of
// settlement_in_transit. What stays on settlement_in_transit is the
// platform's result of the batch (FX gains less losses and fees).
//
// A clawback's round numbers the order's clawbacks (1 for its first): every
// refund made after a clawback batch is taken back by a later round, and two
// batches listing the same round collide on its key and its membership.
// (Its key is not "<order>:clawback:<n>": that is the refund's own clawback
// posting, keyed by the merchant's refund number.)
//
// Batch membership (ledger.MarkSettled) is recorded after the postings: an
// order is in one settled batch at most and each clawback round in one batch,
// and each line's posting key is unique, so a batch crashing anywhere and run
// again settles nothing twice.

// Settlement document kind and batch statuses.
const (
	// DocSettlement is the ledger document kind of settlement batches.
	DocSettlement = "settlement"
	// SettlementPrepared has its lines computed and frozen in the document.
	SettlementPrepared = "prepared"
	// SettlementPosted has every line booked.
	SettlementPosted = "posted"
	// SettlementMarked has its batch membership recorded; payouts follow.
	SettlementMarked = "marked"
	// SettlementPaid has every payout confirmed. Final.
	SettlementPaid = "paid"
	// SettlementPayoutFailed has a payout the PSP returned. Final.
	SettlementPayoutFailed = "payout_failed"
	// SettlementEmpty had nothing to settle. Final.
	SettlementEmpty = "empty"
)

// Line kinds of a settlement batch (the ledger's batch kinds).
const (
	// LineSettled pays an order's released money to the merchant.
	LineSettled = ledger.KindSettled
	// LineClawback takes back a refund made after the order was settled.
	LineClawback = ledger.KindClawback
)

// DefaultTradeType is the trade type of the SAFE report: 1210, cross-border
// e-commerce bonded import. The project's orders ship from the bonded zone
// (returns go back into it), which is 1210; direct-mail imports would be 9610.
const DefaultTradeType = "1210"

// oneRate converts CNY to CNY.
var oneRate = decimal.NewFromInt(1)

// SettlementConfig is how settlements are computed.
type SettlementConfig struct {
	// Delays is T+N per provider: a settlement on day D includes what was
	// released up to the end of day D-N (China time). Missing providers take
	// DefaultSettlementConfig's.
	Delays map[providers.Name]int `json:"delays,omitempty"`
	// FeeRates is the provider fee per provider, a fraction of the converted amount.
	FeeRates map[providers.Name]decimal.Decimal `json:"feeRates,omitempty"`
	// TradeType is the SAFE trade type (DefaultTradeType when empty).
	TradeType string `json:"tradeType,omitempty"`
}

// DefaultSettlementConfig is T+1 for Alipay and WeChat Pay and T+2 for the
// card PSP, fees of 0.6%, 0.6% and 2.9%, trade type 1210.
func DefaultSettlementConfig() SettlementConfig {
	return SettlementConfig{
		Delays: map[providers.Name]int{providers.Alipay: 1, providers.WeChatPay: 1, providers.Card: 2},
		FeeRates: map[providers.Name]decimal.Decimal{
			providers.Alipay:    decimal.RequireFromString("0.006"),
			providers.WeChatPay: decimal.RequireFromString("0.006"),
			providers.Card:      decimal.RequireFromString("0.029"),
		},
		TradeType: DefaultTradeType,
	}
}

// withDefaults fills what c leaves out from DefaultSettlementConfig.
func (c SettlementConfig) withDefaults() SettlementConfig {
	d := DefaultSettlementConfig()
	out := SettlementConfig{Delays: map[providers.Name]int{}, FeeRates: map[providers.Name]decimal.Decimal{}, TradeType: c.TradeType}
	for p, n := range d.Delays {
		out.Delays[p] = n
	}
	for p, n := range c.Delays {
		out.Delays[p] = n
	}
	for p, r := range d.FeeRates {
		out.FeeRates[p] = r
	}
	for p, r := range c.FeeRates {
		out.FeeRates[p] = r
	}
	if out.TradeType == "" {
		out.TradeType = d.TradeType
	}
	return out
}

// Validate checks the delays and rates.
func (c SettlementConfig) Validate() error {
	for p, n := range c.Delays {
		if !p.Valid() || n < 0 || n > 60 {
			return fmt.Errorf("settlement config: delays[%s]: must be a known provider with 0 to 60 days, got %d", p, n)
		}
	}
	for p, r := range c.FeeRates {
		if !p.Valid() || r.IsNegative() || r.GreaterThanOrEqual(decimal.NewFromInt(1)) {
			return fmt.Errorf("settlement config: feeRates[%s]: must be a known provider with a rate in [0, 1), got %s", p, r)
		}
	}
	return nil
}

// Settlement holds the settlement activities: prepare a batch from the
// ledger, book it, record its membership, pay it out and confirm the payout.
type Settlement struct {
	// Ledger is the system of record (required).
	Ledger *ledger.Ledger
	// Rates quotes the settlement-date rates (required).
	Rates providers.FXRates
	// Payouts pays merchants (required for payouts).
	Payouts providers.Payouts
	// Config sets delays, fees and the SAFE trade type.
	Config SettlementConfig
}

// SettlementLine is one order of a batch.
type SettlementLine struct {
	// OrderID is the order.
	OrderID string `json:"orderId"`
	// MerchantOrderNo is the merchant's order number.
	MerchantOrderNo string `json:"merchantOrderNo"`
	// Kind is LineSettled or LineClawback.
	Kind string `json:"kind"`
	// Round numbers a clawback among the order's clawbacks (1 for its first);
	// 0 for a settled line (and for clawbacks of batches prepared before rounds).
	Round int `json:"round,omitempty"`
	// Provider took the payment.
	Provider providers.Name `json:"provider"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId"`
	// PayerRef is the payer's pseudonymous reference.
	PayerRef string `json:"payerRef"`
	// Category is the goods category.
	Category string `json:"category"`
	// CapturedAt is when the payment was captured.
	CapturedAt time.Time `json:"capturedAt"`
	// AmountCNY is the RMB settled: positive paid, negative clawed back.
	AmountCNY money.Amount `json:"amountCny"`
	// LockedRate is the CNY → home rate locked for the order.
	LockedRate decimal.Decimal `json:"lockedRate"`
	// SettlementRate is the batch's CNY → home rate.
	SettlementRate decimal.Decimal `json:"settlementRate"`
	// AtLockedRate is AmountCNY at LockedRate: what the merchant is paid (or gives back).
	AtLockedRate money.Amount `json:"atLockedRate"`
	// AtSettlementRate is AmountCNY at SettlementRate: what the provider converts.
	AtSettlementRate money.Amount `json:"atSettlementRate"`
	// Fee is the provider's fee on AtSettlementRate (negative: given back on a clawback).
	Fee money.Amount `json:"fee"`
	// FXGainLoss is AtSettlementRate - AtLockedRate: positive a gain, negative a loss.
	FXGainLoss money.Amount `json:"fxGainLoss"`
}

// SettlementTotal sums a batch's lines in one home currency, with its payout.
type SettlementTotal struct {
	// Currency is the home currency.
	Currency money.Currency `json:"currency"`
	// Lines counts the lines.
	Lines int `json:"lines"`
	// AmountCNY is the RMB settled.
	AmountCNY money.Amount `json:"amountCny"`
	// AtLockedRate is owed to the merchant: the payout.
	AtLockedRate money.Amount `json:"atLockedRate"`
	// AtSettlementRate is what the providers converted.
	AtSettlementRate money.Amount `json:"atSettlementRate"`
	// Fees are the providers' fees.
	Fees money.Amount `json:"fees"`
	// FXGainLoss is the realised FX result.
	FXGainLoss money.Amount `json:"fxGainLoss"`
	// PayoutNo is the payout's idempotency key ("<batch>-<currency>"); empty when nothing is paid.
	PayoutNo string `json:"payoutNo,omitempty"`
	// PayoutStatus is the payout's state (empty until started).
	PayoutStatus providers.PayoutStatus `json:"payoutStatus,omitempty"`
	// PayoutID is the PSP's payout id.
	PayoutID string `json:"payoutId,omitempty"`
	// PaidAt is when the payout reached the merchant.
	PaidAt time.Time `json:"paidAt,omitzero"`
}

// SAFERecord is one transaction of a batch's SAFE (State Administration of
// Foreign Exchange) report.
type SAFERecord struct {
	// OrderNo is the merchant's order number.
	OrderNo string `json:"orderNo"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId"`
	// PayerRef is the payer's identity reference (pseudonymous).
	PayerRef string `json:"payerRef"`
	// Direction is "receipt" (payment settled) or "refund" (clawed back).
	Direction string `json:"direction"`
	// Amount is the RMB amount (positive).
	Amount money.Amount `json:"amount"`
	// SettledAmount is the foreign-currency amount remitted to the merchant (positive).
	SettledAmount money.Amount `json:"settledAmount"`
	// GoodsCategory is the goods category.
	GoodsCategory string `json:"goodsCategory"`
	// TradeType is the customs trade type (1210 or 9610).
	TradeType string `json:"tradeType"`
	// SettlementDate is the batch's day (YYYY-MM-DD).
	SettlementDate string `json:"settlementDate"`
}

// DeferredLine is a negative line a batch left for a later one, because
// netting it would have made the batch's payout negative.
type DeferredLine struct {
	// OrderID is the order.
	OrderID string `json:"orderId"`
	// AmountCNY is the RMB it would take back.
	AmountCNY money.Amount `json:"amountCny"`
}

// SettlementBatch is a settlement batch as stored in the ledger (document
// kind DocSettlement, id BatchID): its lines are computed once, when it is
// prepared, and never change; its status and payouts are updated as it runs.
type SettlementBatch struct {
	// BatchID is the batch ("settlement-<merchant>-<yyyymmdd>").
	BatchID string `json:"batchId"`
	// MerchantID is the merchant settled.
	MerchantID string `json:"merchantId"`
	// Day is the settlement day (YYYY-MM-DD, China time).
	Day string `json:"day"`
	// SettledAt is the effective time of the batch's postings.
	SettledAt time.Time `json:"settledAt"`
	// Status is the batch's state (Settlement* constants).
	Status string `json:"status"`
	// Cutoffs are the release cut-offs per provider (end of day D-N).
	Cutoffs map[providers.Name]time.Time `json:"cutoffs"`
	// Rates are the settlement-date rates per home currency.
	Rates []money.Quote `json:"rates"`
	// Lines are the orders settled and clawed back.
	Lines []SettlementLine `json:"lines"`
	// Deferred are negative lines left for a later batch.
	Deferred []DeferredLine `json:"deferred,omitempty"`
	// Skipped lists orders that could not be settled, with the reason.
	Skipped []string `json:"skipped,omitempty"`
	// Totals sums the lines per home currency, with the payouts.
	Totals []SettlementTotal `json:"totals"`
	// SAFE is the batch's SAFE report, one record per line.
	SAFE []SAFERecord `json:"safe"`
	// Error explains a failed payout.
	Error string `json:"error,omitempty"`
}

// Summary is the batch without its lines and SAFE report.
func (b SettlementBatch) Summary() SettlementBatch {
	b.Lines, b.SAFE, b.Deferred, b.Skipped = nil, nil, nil, nil
	return b
}

// SettlementWorkflowID is the id of a merchant's settlement for a day
// ("settlement-<merchant>-<yyyymmdd>"), also the batch id.
func SettlementWorkflowID(merchantID, day string) string {
	return "settlement-" + merchantID + "-" + strings.ReplaceAll(day, "-", "")
}

// PayoutNo is the payout idempotency key of a batch in one currency.
func PayoutNo(batchID string, c money.Currency) string { return batchID + "-" + string(c) }

// BatchOfPayout returns the batch id of a payout number made by PayoutNo.
func BatchOfPayout(payoutNo string) (string, bool) {
	i := strings.LastIndexByte(payoutNo, '-')
	if i < 0 || !strings.HasPrefix(payoutNo, "settlement-") || !money.Currency(payoutNo[i+1:]).Known() {
		return "", false
	}
	return payoutNo[:i], true
}

// PrepareSettlementInput is the input of PrepareSettlement.
type PrepareSettlementInput struct {
	// MerchantID is the merchant settled.
	MerchantID string `json:"merchantId"`
	// Day is the settlement day (YYYY-MM-DD, China time).
	Day string `json:"day"`
	// At is the effective time of the batch's postings and of the settlement rates.
	At time.Time `json:"at"`
}

// SettlementMerchants lists the merchants that have a payable in the ledger:
// those a settlement run considers.
func (s *Settlement) SettlementMerchants(ctx context.Context) ([]string, error) {
	if s.Ledger == nil {
		return nil, notConfiguredLedger()
	}
	ms, err := s.Ledger.AccountSubs(ctx, ledger.TypeMerchantPayable)
	if err != nil {
		return nil, ledgerError(err)
	}
	return ms, nil
}

func notConfiguredLedger() error {
	return temporal.NewNonRetryableApplicationError("no ledger configured on this worker", ErrTypeNotConfigured, nil)
}

// PrepareSettlement returns the batch of the merchant for the day (as a
// summary: its lines stay in the ledger document), computing
// and saving it first when it does not exist yet: the merchant's released
// orders not yet settled up to each provider's cut-off and the clawbacks
// owed, converted at the settlement-date rates. Once saved the batch's lines
// never change, so a batch run again (even by a new workflow) settles exactly
// what it prepared the first time.
func (s *Settlement) PrepareSettlement(ctx context.Context, in PrepareSettlementInput) (SettlementBatch, error) {
	if s.Ledger == nil || s.Rates == nil {
		return SettlementBatch{}, notConfiguredLedger()
	}
	day, err := time.ParseInLocation(time.DateOnly, in.Day, ChinaTime)
	if err != nil || in.MerchantID == "" || in.At.IsZero() {
		return SettlementBatch{}, invalidInput("prepare settlement: merchantId, day (YYYY-MM-DD) and at are required, got %q %q %s", in.MerchantID, in.Day, in.At)
	}
	batchID := SettlementWorkflowID(in.MerchantID, in.Day)
	if b, ok, err := s.loadBatch(ctx, batchID); err != nil || ok {
		return b.Summary(), err
	}
	cfg := s.Config.withDefaults()
	b := SettlementBatch{BatchID: batchID, MerchantID: in.MerchantID, Day: in.Day, SettledAt: in.At.UTC().Truncate(time.Microsecond),
		Status: SettlementPrepared, Cutoffs: map[providers.Name]time.Time{}}

	owed, err := s.owed(ctx, in.MerchantID, day, cfg, &b)
	if err != nil {
		return SettlementBatch{}, err
	}
	recs, err := s.Ledger.OrderRecords(ctx, slices.Sorted(maps.Keys(owed)))
	if err != nil {
		return SettlementBatch{}, ledgerError(err)
	}
	rates := map[money.Currency]money.Quote{}
	for _, id := range slices.Sorted(maps.Keys(owed)) {
		u := owed[id]
		rec, ok := recs[id]
		switch {
		case !ok:
			b.Skipped = append(b.Skipped, id+": no order record in the ledger")
			continue
		case rec.HomeCurrency != money.CNY && rec.Quote == nil:
			b.Skipped = append(b.Skipped, id+": no locked rate")
			continue
		case u.Amount.Currency() != money.CNY:
			b.Skipped = append(b.Skipped, fmt.Sprintf("%s: payable in %s, not CNY", id, u.Amount.Currency()))
			continue
		}
		q, err := s.rate(ctx, rates, rec.HomeCurrency, b.SettledAt)
		if err != nil {
			return SettlementBatch{}, err
		}
		line, err := settlementLine(u, rec, q, cfg.FeeRates[providers.Name(rec.Provider)])
		if err != nil {
			return SettlementBatch{}, invalidInput("order %s: %v", id, err)
		}
		b.Lines = append(b.Lines, line)
	}
	for _, c := range slices.Sorted(maps.Keys(rates)) {
		b.Rates = append(b.Rates, rates[c])
	}
	b.Lines, b.Deferred = netLines(b.Lines)
	if b.Totals, err = totals(batchID, b.Lines); err != nil {
		return SettlementBatch{}, invalidInput("batch %s: %v", batchID, err)
	}
	b.SAFE = safeRecords(b, cfg.TradeType)
	if len(b.Lines) == 0 {
		b.Status = SettlementEmpty
	}
	if err := s.saveBatch(ctx, b); err != nil {
		return SettlementBatch{}, err
	}
	return b.Summary(), nil
}

// owed collects the merchant's unsettled orders per provider cut-off.
func (s *Settlement) owed(ctx context.Context, merchantID string, day time.Time, cfg SettlementConfig, b *SettlementBatch) (map[string]ledger.Unsettled, error) {
	byCutoff := map[time.Time][]providers.Name{}
	for _, p := range []providers.Name{providers.Alipay, providers.WeChatPay, providers.Card} {
		cut := day.AddDate(0, 0, 1-cfg.Delays[p]) // the end of day D-N
		b.Cutoffs[p] = cut.UTC()
		byCutoff[cut] = append(byCutoff[cut], p)
	}
	out := map[string]ledger.Unsettled{}
	for cut, provs := range byCutoff {
		us, err := s.Ledger.UnsettledOrders(ctx, merchantID, cut)
		if err != nil {
			return nil, ledgerError(err)
		}
		if len(us) == 0 {
			continue
		}
		ids := make([]string, len(us))
		for i, u := range us {
			ids[i] = u.OrderID
		}
		recs, err := s.Ledger.OrderRecords(ctx, ids)
		if err != nil {
			return nil, ledgerError(err)
		}
		for _, u := range us {
			rec, ok := recs[u.OrderID]
			if !ok || slices.Contains(provs, providers.Name(rec.Provider)) {
				out[u.OrderID] = u
			}
		}
	}
	return out, nil
}

// rate returns the settlement rate into c, quoting it once per batch.
func (s *Settlement) rate(ctx context.Context, rates map[money.Currency]money.Quote, c money.Currency, at time.Time) (money.Quote, error) {
	if c == money.CNY {
		return money.Quote{Base: money.CNY, Counter: money.CNY, Rate: oneRate, At: at, Source: "identity"}, nil
	}
	if q, ok := rates[c]; ok {
		return q, nil
	}
	q, err := (&FX{Rates: s.Rates}).QuoteFX(ctx, QuoteInput{Base: money.CNY, Counter: c, At: at})
	if err != nil {
		return money.Quote{}, err
	}
	rates[c] = q
	return q, nil
}

// settlementLine converts one order's payable.
func settlementLine(u ledger.Unsettled, rec ledger.OrderRecord, settle money.Quote, feeRate decimal.Decimal) (SettlementLine, error) {
	locked := settle
	if rec.Quote != nil {
		locked = *rec.Quote
	}
	abs := u.Amount
	if abs.IsNegative() {
		abs = abs.Neg()
	}
	atLocked, err := locked.Convert(abs, money.HalfUp)
	if err != nil {
		return SettlementLine{}, err
	}
	atSettle, err := settle.Convert(abs, money.HalfUp)
	if err != nil {
		return SettlementLine{}, err
	}
	fee, err := atSettle.Mul(feeRate).Round(money.HalfUp)
	if err != nil {
		return SettlementLine{}, err
	}
	if u.Amount.IsNegative() {
		atLocked, atSettle, fee = atLocked.Neg(), atSettle.Neg(), fee.Neg()
	}
	fx, err := atSettle.Sub(atLocked)
	if err != nil {
		return SettlementLine{}, err
	}
	return SettlementLine{
		OrderID: rec.OrderID, MerchantOrderNo: rec.MerchantOrderNo, Kind: u.Kind, Round: u.Round,
		Provider: providers.Name(rec.Provider), TransactionID: rec.TransactionID, PayerRef: rec.PayerRef,
		Category: rec.Category, CapturedAt: rec.CapturedAt, AmountCNY: u.Amount,
		LockedRate: locked.Rate, SettlementRate: settle.Rate,
		AtLockedRate: atLocked, AtSettlementRate: atSettle, Fee: fee, FXGainLoss: fx,
	}, nil
}

// netLines keeps every positive line and, oldest order id first, each
// negative line that leaves its currency's payout at or above zero; the
// others are deferred to a later batch.
func netLines(lines []SettlementLine) (kept []SettlementLine, deferred []DeferredLine) {
	sum := map[money.Currency]decimal.Decimal{}
	for _, l := range lines {
		if l.AtLockedRate.IsPositive() {
			sum[l.AtLockedRate.Currency()] = sum[l.AtLockedRate.Currency()].Add(l.AtLockedRate.Decimal())
		}
	}
	for _, l := range lines {
		if !l.AtLockedRate.IsNegative() {
			kept = append(kept, l)
			continue
		}
		c := l.AtLockedRate.Currency()
		if next := sum[c].Add(l.AtLockedRate.Decimal()); !next.IsNegative() {
			sum[c] = next
			kept = append(kept, l)
			continue
		}
		deferred = append(deferred, DeferredLine{OrderID: l.OrderID, AmountCNY: l.AmountCNY})
	}
	return kept, deferred
}

// totals sums the lines per home currency.
func totals(batchID string, lines []SettlementLine) ([]SettlementTotal, error) {
	by := map[money.Currency]*SettlementTotal{}
	for _, l := range lines {
		c := l.AtLockedRate.Currency()
		t, ok := by[c]
		if !ok {
			t = &SettlementTotal{Currency: c, AmountCNY: money.Zero(money.CNY), AtLockedRate: money.Zero(c),
				AtSettlementRate: money.Zero(c), Fees: money.Zero(c), FXGainLoss: money.Zero(c)}
			by[c] = t
		}
		t.Lines++
		var err error
		for _, add := range []struct {
			dst *money.Amount
			v   money.Amount
		}{
			{&t.AmountCNY, l.AmountCNY}, {&t.AtLockedRate, l.AtLockedRate}, {&t.AtSettlementRate, l.AtSettlementRate},
			{&t.Fees, l.Fee}, {&t.FXGainLoss, l.FXGainLoss},
		} {
			if *add.dst, err = add.dst.Add(add.v); err != nil {
				return nil, err
			}
		}
	}
	out := make([]SettlementTotal, 0, len(by))
	for _, c := range slices.Sorted(maps.Keys(by)) {
		t := *by[c]
		if t.AtLockedRate.IsPositive() {
			t.PayoutNo = PayoutNo(batchID, c)
		}
		out = append(out, t)
	}
	return out, nil
}

// safeRecords is the SAFE report of the batch's lines.
func safeRecords(b SettlementBatch, tradeType string) []SAFERecord {
	out := make([]SAFERecord, 0, len(b.Lines))
	for _, l := range b.Lines {
		r := SAFERecord{OrderNo: l.MerchantOrderNo, TransactionID: l.TransactionID, PayerRef: l.PayerRef,
			Direction: "receipt", Amount: l.AmountCNY, SettledAmount: l.AtLockedRate,
			GoodsCategory: l.Category, TradeType: tradeType, SettlementDate: b.Day}
		if l.AmountCNY.IsNegative() {
			r.Direction, r.Amount, r.SettledAmount = "refund", l.AmountCNY.Neg(), l.AtLockedRate.Neg()
		}
		out = append(out, r)
	}
	return out
}

// PostSettlement books the batch: one posting per line, then per currency the
// total owed moved to the merchant's payable. Every posting is idempotent,
// so a retry after a crash books only what is missing.
func (s *Settlement) PostSettlement(ctx context.Context, batchID string) error {
	b, err := s.batch(ctx, batchID)
	if err != nil {
		return err
	}
	if b.Status != SettlementPrepared {
		return nil // posted already
	}
	for _, l := range b.Lines {
		if _, _, err := s.Ledger.Post(ctx, linePosting(b, l)); err != nil {
			return ledgerError(err)
		}
	}
	for _, t := range b.Totals {
		if t.AtLockedRate.IsZero() {
			continue
		}
		p := ledger.Posting{Key: b.BatchID + ":due:" + string(t.Currency), MerchantID: b.MerchantID, Kind: ledger.KindSettled,
			At: b.SettledAt, Memo: fmt.Sprintf("batch %s: %d lines owed to the merchant", b.BatchID, t.Lines),
			Entries: []ledger.Entry{
				{Account: ledger.FXClearing(), Amount: t.AtLockedRate},
				{Account: ledger.MerchantPayable(b.MerchantID), Amount: t.AtLockedRate.Neg()},
			}}
		if _, _, err := s.Ledger.Post(ctx, p); err != nil {
			return ledgerError(err)
		}
	}
	b.Status = SettlementPosted
	return s.saveBatch(ctx, b)
}

// linePosting is the posting of one line (see the package's settlement model).
func linePosting(b SettlementBatch, l SettlementLine) ledger.Posting {
	key := l.OrderID + ":" + ledger.KindSettled
	memo := fmt.Sprintf("batch %s: settled at %s (locked %s)", b.BatchID, l.SettlementRate, l.LockedRate)
	if l.Kind == LineClawback {
		key = clawbackKey(b, l)
		memo = fmt.Sprintf("batch %s: refund after settlement taken back at %s (locked %s)", b.BatchID, l.SettlementRate, l.LockedRate)
	}
	remitted, _ := l.AtSettlementRate.Sub(l.Fee)
	entries := []ledger.Entry{
		{Account: ledger.MerchantPayable(b.MerchantID), Amount: l.AmountCNY},
		{Account: ledger.BuyerReceivable(string(l.Provider)), Amount: l.AmountCNY.Neg()},
		{Account: ledger.SettlementInTransit(), Amount: remitted},
		{Account: ledger.ProviderFees(string(l.Provider)), Amount: l.Fee},
		{Account: ledger.FXClearing(), Amount: l.AtLockedRate.Neg()},
		{Account: ledger.FXGainLoss(), Amount: l.FXGainLoss.Neg()},
	}
	p := ledger.Posting{Key: key, OrderID: l.OrderID, MerchantID: b.MerchantID, Kind: ledger.KindSettled, At: b.SettledAt, Memo: memo}
	for _, e := range entries {
		if !e.Amount.IsZero() {
			p.Entries = append(p.Entries, e)
		}
	}
	return p
}

// clawbackKey is the posting key of a clawback line: per order and round, so
// that two batches taking back the same round conflict. A line without a
// round (frozen before rounds existed) keeps its batch-scoped key.
func clawbackKey(b SettlementBatch, l SettlementLine) string {
	if l.Round == 0 {
		return l.OrderID + ":" + ledger.KindClawback + ":" + b.BatchID
	}
	return fmt.Sprintf("%s:%s:%s:%d", l.OrderID, ledger.KindSettled, ledger.KindClawback, l.Round)
}

// memberKind is the ledger batch kind a line is marked with.
func memberKind(l SettlementLine) string {
	if l.Kind == LineClawback {
		return ledger.ClawbackKind(l.Round)
	}
	return l.Kind
}

// MarkSettlement records the batch's membership: its settled orders in the
// settled batch kind, each clawback in its round's kind
// (ledger.ClawbackKind). Orders already in this batch are a no-op; an order
// in another batch fails for good.
func (s *Settlement) MarkSettlement(ctx context.Context, batchID string) error {
	b, err := s.batch(ctx, batchID)
	if err != nil {
		return err
	}
	if b.Status != SettlementPosted {
		if b.Status == SettlementPrepared {
			return invalidInput("batch %s is not posted yet", batchID)
		}
		return nil // marked already
	}
	byKind := map[string][]string{}
	for _, l := range b.Lines {
		if l.Kind != LineSettled && l.Kind != LineClawback {
			return invalidInput("batch %s: order %s: unknown line kind %q", batchID, l.OrderID, l.Kind)
		}
		k := memberKind(l)
		byKind[k] = append(byKind[k], l.OrderID)
	}
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		if err := s.Ledger.MarkSettled(ctx, batchID, kind, byKind[kind]); err != nil {
			return ledgerError(err)
		}
	}
	b.Status = SettlementMarked
	return s.saveBatch(ctx, b)
}

// PayoutInput names one payout of a batch.
type PayoutInput struct {
	// BatchID is the batch.
	BatchID string `json:"batchId"`
	// Currency is the payout's currency.
	Currency money.Currency `json:"currency"`
}

// StartPayout asks the PSP to pay the batch's total in currency to the
// merchant; the payout number makes a repeated request the same payout.
func (s *Settlement) StartPayout(ctx context.Context, in PayoutInput) (providers.Payout, error) {
	if s.Payouts == nil {
		return providers.Payout{}, notConfigured("payout service", "card")
	}
	b, err := s.batch(ctx, in.BatchID)
	if err != nil {
		return providers.Payout{}, err
	}
	t, ok := findTotal(b, in.Currency)
	if !ok || t.PayoutNo == "" {
		return providers.Payout{}, invalidInput("batch %s has no payout in %s", in.BatchID, in.Currency)
	}
	po, err := s.Payouts.Payout(ctx, providers.PayoutRequest{OutPayoutNo: t.PayoutNo, MerchantID: b.MerchantID,
		Amount: t.AtLockedRate, Reference: "xhspay " + b.BatchID})
	if err != nil {
		return providers.Payout{}, ProviderError(err)
	}
	return po, nil
}

// QuerySettlementPayout returns a payout's state at the PSP.
func (s *Settlement) QuerySettlementPayout(ctx context.Context, payoutNo string) (providers.Payout, error) {
	if s.Payouts == nil {
		return providers.Payout{}, notConfigured("payout service", "card")
	}
	po, err := s.Payouts.QueryPayout(ctx, payoutNo)
	if err != nil {
		return providers.Payout{}, ProviderError(err)
	}
	return po, nil
}

// CompletePayoutInput is the input of CompletePayout.
type CompletePayoutInput struct {
	PayoutInput
	// Payout is the payout's final state (PAID or FAILED).
	Payout providers.Payout `json:"payout"`
}

// CompletePayout records a payout's outcome: a paid payout is booked (kind
// payout: Dr merchant_payable:<merchant>, Cr settlement_in_transit) and the
// batch's status follows its payouts. It returns the batch's summary.
func (s *Settlement) CompletePayout(ctx context.Context, in CompletePayoutInput) (SettlementBatch, error) {
	b, err := s.batch(ctx, in.BatchID)
	if err != nil {
		return SettlementBatch{}, err
	}
	i := slices.IndexFunc(b.Totals, func(t SettlementTotal) bool { return t.Currency == in.Currency })
	if i < 0 || b.Totals[i].PayoutNo == "" || in.Payout.OutPayoutNo != b.Totals[i].PayoutNo {
		return SettlementBatch{}, invalidInput("batch %s has no payout %s in %s", in.BatchID, in.Payout.OutPayoutNo, in.Currency)
	}
	t := &b.Totals[i]
	switch in.Payout.Status {
	case providers.PayoutPaid:
		if !in.Payout.Amount.Equal(t.AtLockedRate) {
			return SettlementBatch{}, invalidInput("payout %s paid %s, the batch owes %s", t.PayoutNo, in.Payout.Amount, t.AtLockedRate)
		}
		at := in.Payout.PaidAt
		if at.IsZero() {
			at = b.SettledAt
		}
		p := ledger.Posting{Key: b.BatchID + ":payout:" + string(t.Currency), MerchantID: b.MerchantID, Kind: ledger.KindPayout,
			At: at, Memo: fmt.Sprintf("payout %s (%s) of batch %s", t.PayoutNo, in.Payout.PayoutID, b.BatchID),
			Entries: []ledger.Entry{
				{Account: ledger.MerchantPayable(b.MerchantID), Amount: t.AtLockedRate},
				{Account: ledger.SettlementInTransit(), Amount: t.AtLockedRate.Neg()},
			}}
		if _, _, err := s.Ledger.Post(ctx, p); err != nil {
			return SettlementBatch{}, ledgerError(err)
		}
		t.PaidAt = in.Payout.PaidAt
	case providers.PayoutFailed:
		b.Error = fmt.Sprintf("payout %s in %s failed", t.PayoutNo, t.Currency)
	default:
		return SettlementBatch{}, invalidInput("payout %s is %s, not final", t.PayoutNo, in.Payout.Status)
	}
	t.PayoutStatus, t.PayoutID = in.Payout.Status, in.Payout.PayoutID
	b.Status = batchStatus(b)
	if err := s.saveBatch(ctx, b); err != nil {
		return SettlementBatch{}, err
	}
	return b.Summary(), nil
}

// batchStatus is the status a marked batch has from its payouts.
func batchStatus(b SettlementBatch) string {
	status := SettlementPaid
	for _, t := range b.Totals {
		switch {
		case t.PayoutNo == "":
		case t.PayoutStatus == providers.PayoutFailed:
			return SettlementPayoutFailed
		case t.PayoutStatus != providers.PayoutPaid:
			status = SettlementMarked
		}
	}
	return status
}

func findTotal(b SettlementBatch, c money.Currency) (SettlementTotal, bool) {
	for _, t := range b.Totals {
		if t.Currency == c {
			return t, true
		}
	}
	return SettlementTotal{}, false
}

// batch loads a batch that must exist.
func (s *Settlement) batch(ctx context.Context, batchID string) (SettlementBatch, error) {
	if s.Ledger == nil {
		return SettlementBatch{}, notConfiguredLedger()
	}
	b, ok, err := s.loadBatch(ctx, batchID)
	if err != nil {
		return SettlementBatch{}, err
	}
	if !ok {
		return SettlementBatch{}, invalidInput("no settlement batch %s", batchID)
	}
	return b, nil
}

func (s *Settlement) loadBatch(ctx context.Context, batchID string) (SettlementBatch, bool, error) {
	return loadBatch(ctx, s.Ledger, batchID)
}

func loadBatch(ctx context.Context, l *ledger.Ledger, batchID string) (SettlementBatch, bool, error) {
	d, ok, err := l.Document(ctx, DocSettlement, batchID)
	if err != nil || !ok {
		return SettlementBatch{}, false, ledgerError(err)
	}
	var b SettlementBatch
	if err := json.Unmarshal(d.Body, &b); err != nil {
		return SettlementBatch{}, false, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("settlement batch %s: unreadable document: %v", batchID, err), ErrTypeLedgerRejected, err)
	}
	b.Status = cmp.Or(d.Status, b.Status)
	return b, true, nil
}

func (s *Settlement) saveBatch(ctx context.Context, b SettlementBatch) error {
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("encode settlement batch %s: %w", b.BatchID, err)
	}
	_, err = s.Ledger.SaveDocument(ctx, ledger.Document{Kind: DocSettlement, ID: b.BatchID, MerchantID: b.MerchantID,
		Day: b.Day, Status: b.Status, Body: body})
	if err != nil {
		return ledgerError(err)
	}
	return nil
}
