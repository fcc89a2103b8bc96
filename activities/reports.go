package activities

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// FinanceReports reads the finance side of the ledger for the API: the
// settlement batches with their SAFE reports, the open FX exposure and the
// reconciliation reports. It only reads.
type FinanceReports struct {
	// Ledger is the system of record.
	Ledger *ledger.Ledger
	// Rates values the exposure at the current rate.
	Rates providers.FXRates
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// SettlementQuery selects settlement batches.
type SettlementQuery struct {
	// MerchantID selects one merchant's batches ("" for every merchant).
	MerchantID string
	// From selects settlement days at or after it (YYYY-MM-DD).
	From string
	// To selects settlement days before it (YYYY-MM-DD).
	To string
	// Limit caps the number of batches (0: 100).
	Limit int
}

// Settlements lists batches, the latest day first, as summaries (no lines).
func (f *FinanceReports) Settlements(ctx context.Context, q SettlementQuery) ([]SettlementBatch, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	docs, err := f.Ledger.Documents(ctx, ledger.DocumentFilter{Kind: DocSettlement, MerchantID: q.MerchantID,
		From: q.From, To: q.To, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]SettlementBatch, 0, len(docs))
	for _, d := range docs {
		var b SettlementBatch
		if err := json.Unmarshal(d.Body, &b); err != nil {
			return nil, fmt.Errorf("settlement batch %s: %w", d.ID, err)
		}
		b.Status = d.Status
		out = append(out, b.Summary())
	}
	return out, nil
}

// Settlement returns one batch with its lines and SAFE report.
func (f *FinanceReports) Settlement(ctx context.Context, batchID string) (SettlementBatch, bool, error) {
	b, ok, err := loadBatch(ctx, f.Ledger, batchID)
	if err != nil {
		return SettlementBatch{}, false, fmt.Errorf("settlement batch %s: %w", batchID, err)
	}
	return b, ok, nil
}

// Reconciliation returns the reconciliation report of a day (YYYY-MM-DD).
func (f *FinanceReports) Reconciliation(ctx context.Context, day string) (ReconciliationReport, bool, error) {
	d, ok, err := f.Ledger.Document(ctx, DocReconciliation, day)
	if err != nil || !ok {
		return ReconciliationReport{}, false, err
	}
	var r ReconciliationReport
	if err := json.Unmarshal(d.Body, &r); err != nil {
		return ReconciliationReport{}, false, fmt.Errorf("reconciliation %s: %w", day, err)
	}
	return r, true, nil
}

// SAFEColumns are the columns of the SAFE report as CSV.
var SAFEColumns = []string{"order_no", "transaction_id", "payer_ref", "direction", "amount", "currency",
	"settled_amount", "settled_currency", "goods_category", "trade_type", "settlement_date"}

// SAFECSV renders a batch's SAFE report as CSV with a header row. Text that
// a spreadsheet would read as a formula is quoted with a leading apostrophe.
func SAFECSV(b SettlementBatch) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(SAFEColumns); err != nil {
		return nil, err
	}
	for _, r := range b.SAFE {
		if err := w.Write([]string{
			cell(r.OrderNo), cell(r.TransactionID), cell(r.PayerRef), r.Direction,
			r.Amount.Number(), string(r.Amount.Currency()), r.SettledAmount.Number(), string(r.SettledAmount.Currency()),
			cell(r.GoodsCategory), cell(r.TradeType), r.SettlementDate,
		}); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// cell defuses spreadsheet formulas in a text cell.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Exposure age buckets, in days since capture.
const (
	// AgeUpTo7 is 0 to 7 days.
	AgeUpTo7 = "0-7"
	// AgeUpTo30 is 8 to 30 days.
	AgeUpTo30 = "8-30"
	// AgeOver30 is more than 30 days.
	AgeOver30 = ">30"
)

// ExposureBucket is RMB not yet settled of one age bucket (or all of them).
type ExposureBucket struct {
	// Age is the bucket (Age* constants, "all" for the total).
	Age string `json:"age"`
	// Orders counts the orders.
	Orders int `json:"orders"`
	// AmountCNY is the RMB held in escrow or payable and not yet settled.
	AmountCNY money.Amount `json:"amountCny"`
	// AtLockedRate is its value at the orders' locked rates: what the merchant will be paid.
	AtLockedRate money.Amount `json:"atLockedRate"`
	// AtCurrentRate is its value at the current rate.
	AtCurrentRate money.Amount `json:"atCurrentRate"`
	// Unrealized is AtCurrentRate - AtLockedRate: the FX gain (loss when
	// negative) settling now would realise, before fees.
	Unrealized money.Amount `json:"unrealized"`
}

// MerchantExposure is one merchant's exposure in one home currency.
type MerchantExposure struct {
	// MerchantID is the merchant.
	MerchantID string `json:"merchantId"`
	// HomeCurrency is the currency it is settled in.
	HomeCurrency money.Currency `json:"homeCurrency"`
	// CurrentRate is the CNY → HomeCurrency rate used.
	CurrentRate money.Quote `json:"currentRate"`
	// Buckets are the age buckets, youngest first (empty ones included).
	Buckets []ExposureBucket `json:"buckets"`
	// Total sums the buckets.
	Total ExposureBucket `json:"total"`
}

// ExposureReport is the open FX exposure: RMB held in escrow or payable to
// merchants and not yet settled, valued at the current rate, by merchant and
// age since capture.
type ExposureReport struct {
	// AsOf is when it was computed.
	AsOf time.Time `json:"asOf"`
	// Merchants are the exposures by merchant and home currency.
	Merchants []MerchantExposure `json:"merchants"`
}

// ageBucket returns the bucket of an order captured at captured, seen at now.
func ageBucket(captured, now time.Time) string {
	days := int(now.Sub(captured).Hours() / 24)
	switch {
	case days <= 7:
		return AgeUpTo7
	case days <= 30:
		return AgeUpTo30
	}
	return AgeOver30
}

// Exposure computes the exposure of one merchant ("" for every merchant).
func (f *FinanceReports) Exposure(ctx context.Context, merchantID string) (ExposureReport, error) {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	asOf := now().UTC()
	bals, err := f.Ledger.OrderTypeBalances(ctx, ledger.OrderTypeBalanceFilter{MerchantID: merchantID, Currency: money.CNY,
		Types: []ledger.AccountType{ledger.TypeEscrowHeld, ledger.TypeMerchantPayable}, AsOf: asOf})
	if err != nil {
		return ExposureReport{}, err
	}
	// Liabilities carry credit (negative) balances: the RMB at stake is their negation.
	open := map[string]money.Amount{}
	for _, b := range bals {
		cur, ok := open[b.OrderID]
		if !ok {
			cur = money.Zero(money.CNY)
		}
		if open[b.OrderID], err = cur.Sub(b.Amount); err != nil {
			return ExposureReport{}, err
		}
	}
	recs, err := f.Ledger.OrderRecords(ctx, slices.Collect(maps.Keys(open)))
	if err != nil {
		return ExposureReport{}, err
	}
	type key struct {
		merchant string
		home     money.Currency
	}
	groups := map[key]*MerchantExposure{}
	current := map[money.Currency]money.Quote{}
	fx := &FX{Rates: f.Rates}
	for _, id := range slices.Sorted(maps.Keys(open)) {
		amount := open[id]
		rec, ok := recs[id]
		if !ok || amount.IsZero() {
			continue
		}
		k := key{rec.MerchantID, rec.HomeCurrency}
		g, ok := groups[k]
		if !ok {
			q, ok := current[rec.HomeCurrency]
			if !ok {
				if rec.HomeCurrency == money.CNY {
					q = money.Quote{Base: money.CNY, Counter: money.CNY, Rate: oneRate, At: asOf, Source: "identity"}
				} else if q, err = fx.QuoteFX(ctx, QuoteInput{Base: money.CNY, Counter: rec.HomeCurrency, At: asOf}); err != nil {
					return ExposureReport{}, err
				}
				current[rec.HomeCurrency] = q
			}
			g = &MerchantExposure{MerchantID: rec.MerchantID, HomeCurrency: rec.HomeCurrency, CurrentRate: q}
			for _, age := range []string{AgeUpTo7, AgeUpTo30, AgeOver30} {
				g.Buckets = append(g.Buckets, emptyBucket(age, rec.HomeCurrency))
			}
			g.Total = emptyBucket("all", rec.HomeCurrency)
			groups[k] = g
		}
		locked := g.CurrentRate
		if rec.Quote != nil {
			locked = *rec.Quote
		}
		atLocked, err := convertSigned(locked, amount)
		if err != nil {
			return ExposureReport{}, err
		}
		atCurrent, err := convertSigned(g.CurrentRate, amount)
		if err != nil {
			return ExposureReport{}, err
		}
		age := ageBucket(rec.CapturedAt, asOf)
		for i := range g.Buckets {
			if g.Buckets[i].Age == age {
				if err := g.Buckets[i].add(amount, atLocked, atCurrent); err != nil {
					return ExposureReport{}, err
				}
			}
		}
		if err := g.Total.add(amount, atLocked, atCurrent); err != nil {
			return ExposureReport{}, err
		}
	}
	out := ExposureReport{AsOf: asOf, Merchants: []MerchantExposure{}}
	for _, g := range groups {
		out.Merchants = append(out.Merchants, *g)
	}
	slices.SortFunc(out.Merchants, func(a, b MerchantExposure) int {
		if c := strings.Compare(a.MerchantID, b.MerchantID); c != 0 {
			return c
		}
		return strings.Compare(string(a.HomeCurrency), string(b.HomeCurrency))
	})
	return out, nil
}

func emptyBucket(age string, c money.Currency) ExposureBucket {
	return ExposureBucket{Age: age, AmountCNY: money.Zero(money.CNY), AtLockedRate: money.Zero(c),
		AtCurrentRate: money.Zero(c), Unrealized: money.Zero(c)}
}

// add adds one order to the bucket.
func (b *ExposureBucket) add(amount, atLocked, atCurrent money.Amount) error {
	diff, err := atCurrent.Sub(atLocked)
	if err != nil {
		return err
	}
	b.Orders++
	for _, x := range []struct {
		dst *money.Amount
		v   money.Amount
	}{{&b.AmountCNY, amount}, {&b.AtLockedRate, atLocked}, {&b.AtCurrentRate, atCurrent}, {&b.Unrealized, diff}} {
		if *x.dst, err = x.dst.Add(x.v); err != nil {
			return err
		}
	}
	return nil
}

// convertSigned converts a possibly negative amount, rounding its magnitude half up.
func convertSigned(q money.Quote, a money.Amount) (money.Amount, error) {
	if a.IsNegative() {
		c, err := q.Convert(a.Neg(), money.HalfUp)
		return c.Neg(), err
	}
	return q.Convert(a, money.HalfUp)
}
