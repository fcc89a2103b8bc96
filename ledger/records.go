package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/xhspay/xhspay/money"
)

// ErrConflictingRecord is returned by RecordOrder when an order was already
// recorded with other content.
var ErrConflictingRecord = errors.New("ledger: conflicting order record")

// OrderRecord is the reference data of one order that settlement and the
// finance reports need beside its postings: who took the payment under which
// transaction id, the payer's pseudonymous reference, the goods category, the
// merchant's home currency and the FX quote locked for the order. It holds no
// personal data.
type OrderRecord struct {
	// OrderID is the order.
	OrderID string `json:"order_id"`
	// MerchantID owns the order.
	MerchantID string `json:"merchant_id"`
	// MerchantOrderNo is the merchant's order number.
	MerchantOrderNo string `json:"merchant_order_no,omitempty"`
	// Provider took the payment.
	Provider string `json:"provider"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transaction_id,omitempty"`
	// PayerRef is the payer's pseudonymous identity reference (never the clear ID number).
	PayerRef string `json:"payer_ref,omitempty"`
	// Category is the goods category (categories joined by ";" for mixed orders).
	Category string `json:"category,omitempty"`
	// HomeCurrency is the currency the merchant is settled in.
	HomeCurrency money.Currency `json:"home_currency"`
	// Quote is the CNY → HomeCurrency rate locked for the order; nil when
	// HomeCurrency is CNY.
	Quote *money.Quote `json:"quote,omitempty"`
	// CapturedAt is when the payment was captured; stored in UTC to the microsecond.
	CapturedAt time.Time `json:"captured_at"`
}

// normalize validates r and returns it in canonical form.
func (r OrderRecord) normalize() (OrderRecord, error) {
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"order_id", r.OrderID, true}, {"merchant_id", r.MerchantID, true},
		{"merchant_order_no", r.MerchantOrderNo, false}, {"provider", r.Provider, true},
		{"transaction_id", r.TransactionID, false}, {"payer_ref", r.PayerRef, false},
	} {
		if err := checkText(f.name, f.value, maxIDLen, f.required); err != nil {
			return OrderRecord{}, err
		}
	}
	if err := checkText("category", r.Category, maxMemoLen, false); err != nil {
		return OrderRecord{}, err
	}
	if !r.HomeCurrency.Known() {
		return OrderRecord{}, fmt.Errorf("%w: home_currency: unknown currency %q", ErrInvalidPosting, string(r.HomeCurrency))
	}
	out := r
	at := r.CapturedAt.UTC().Truncate(timePrecise)
	if r.CapturedAt.IsZero() || at.Year() < minYear || at.Year() > maxYear {
		return OrderRecord{}, fmt.Errorf("%w: captured_at: must be set, between years %d and %d", ErrInvalidPosting, minYear, maxYear)
	}
	out.CapturedAt = at
	if r.Quote != nil {
		q := *r.Quote
		if err := q.Validate(); err != nil {
			return OrderRecord{}, fmt.Errorf("%w: quote: %w", ErrInvalidPosting, err)
		}
		if q.Base != money.CNY || q.Counter != r.HomeCurrency {
			return OrderRecord{}, fmt.Errorf("%w: quote: must be CNY/%s, got %s", ErrInvalidPosting, r.HomeCurrency, q.Pair())
		}
		if q.At.IsZero() {
			return OrderRecord{}, fmt.Errorf("%w: quote.at: required", ErrInvalidPosting)
		}
		if err := checkText("quote.source", q.Source, maxIDLen, false); err != nil {
			return OrderRecord{}, err
		}
		q.At = q.At.UTC().Truncate(timePrecise)
		out.Quote = &q
	} else if r.HomeCurrency != money.CNY {
		return OrderRecord{}, fmt.Errorf("%w: quote: required for home currency %s", ErrInvalidPosting, r.HomeCurrency)
	}
	return out, nil
}

// differs describes the first difference between two normalised records, "" when equal.
func (r OrderRecord) differs(o OrderRecord) string {
	fields := []struct{ name, a, b string }{
		{"merchant_id", r.MerchantID, o.MerchantID}, {"merchant_order_no", r.MerchantOrderNo, o.MerchantOrderNo},
		{"provider", r.Provider, o.Provider}, {"transaction_id", r.TransactionID, o.TransactionID},
		{"payer_ref", r.PayerRef, o.PayerRef}, {"category", r.Category, o.Category},
		{"home_currency", string(r.HomeCurrency), string(o.HomeCurrency)},
	}
	for _, f := range fields {
		if f.a != f.b {
			return fmt.Sprintf("%s: stored %q, given %q", f.name, f.a, f.b)
		}
	}
	if !r.CapturedAt.Equal(o.CapturedAt) {
		return fmt.Sprintf("captured_at: stored %s, given %s", r.CapturedAt.Format(time.RFC3339Nano), o.CapturedAt.Format(time.RFC3339Nano))
	}
	switch {
	case (r.Quote == nil) != (o.Quote == nil):
		return "quote: stored and given differ in presence"
	case r.Quote != nil && (!r.Quote.Rate.Equal(o.Quote.Rate) || !r.Quote.At.Equal(o.Quote.At) || r.Quote.Source != o.Quote.Source):
		return fmt.Sprintf("quote: stored %s at %s, given %s at %s", r.Quote.Rate, r.Quote.At.Format(time.RFC3339), o.Quote.Rate, o.Quote.At.Format(time.RFC3339))
	}
	return ""
}

// nullableTime is the argument of a time column that may be empty: the zero
// time is the empty string in SQLite and NULL in PostgreSQL.
func (d *dialect) nullableTime(t time.Time) any {
	if t.IsZero() {
		if d.timeAsText {
			return ""
		}
		return nil
	}
	return d.timeArg(t)
}

// RecordOrder records an order's reference data once. Recording the same
// content again is a no-op (created=false); other content fails with
// ErrConflictingRecord naming the first difference.
func (l *Ledger) RecordOrder(ctx context.Context, r OrderRecord) (created bool, err error) {
	nr, err := r.normalize()
	if err != nil {
		return false, err
	}
	rate, source := "", ""
	var quoteAt time.Time
	if nr.Quote != nil {
		rate, quoteAt, source = nr.Quote.Rate.String(), nr.Quote.At, nr.Quote.Source
	}
	res, err := l.db.ExecContext(ctx, `INSERT INTO order_records (order_id, merchant_id, merchant_order_no, provider,
			transaction_id, payer_ref, category, home_currency, quote_rate, quote_at, quote_source, captured_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (order_id) DO NOTHING`,
		nr.OrderID, nr.MerchantID, nr.MerchantOrderNo, nr.Provider, nr.TransactionID, nr.PayerRef, nr.Category,
		string(nr.HomeCurrency), rate, l.d.nullableTime(quoteAt), source, l.d.timeArg(nr.CapturedAt))
	if err != nil {
		return false, fmt.Errorf("ledger: record order %s: %w", nr.OrderID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("ledger: record order %s: %w", nr.OrderID, err)
	} else if n == 1 {
		return true, nil
	}
	stored, err := l.OrderRecords(ctx, []string{nr.OrderID})
	if err != nil {
		return false, err
	}
	s, ok := stored[nr.OrderID]
	if !ok {
		return false, fmt.Errorf("ledger: record order %s: reported recorded but not found", nr.OrderID)
	}
	if d := s.differs(nr); d != "" {
		return false, fmt.Errorf("%w: order %q: %s", ErrConflictingRecord, nr.OrderID, d)
	}
	return false, nil
}

// maxIDsPerQuery bounds the placeholders of one IN list.
const maxIDsPerQuery = 500

// OrderRecords returns the records of the orders named, by order id; orders
// never recorded are absent.
func (l *Ledger) OrderRecords(ctx context.Context, orderIDs []string) (map[string]OrderRecord, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(orderIDs)))
	out := make(map[string]OrderRecord, len(ids))
	for chunk := range slices.Chunk(ids, maxIDsPerQuery) {
		var w where
		marks := make([]string, len(chunk))
		for i, id := range chunk {
			w.args = append(w.args, id)
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
		err := l.scanRecords(ctx, func(r OrderRecord) { out[r.OrderID] = r },
			`WHERE order_id IN (`+strings.Join(marks, ", ")+`)`, w.args...)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OrderRecordFilter selects order records; zero fields select everything.
type OrderRecordFilter struct {
	// MerchantID selects one merchant's orders.
	MerchantID string
	// Provider selects one provider's orders.
	Provider string
	// TransactionID selects the order paid under one transaction id.
	TransactionID string
	// CapturedFrom selects orders captured at or after it.
	CapturedFrom time.Time
	// CapturedTo selects orders captured before it.
	CapturedTo time.Time
}

// FindOrderRecords returns the records f selects, ordered by order id.
func (l *Ledger) FindOrderRecords(ctx context.Context, f OrderRecordFilter) ([]OrderRecord, error) {
	var w where
	addIf(&w, "merchant_id = ?", f.MerchantID)
	addIf(&w, "provider = ?", f.Provider)
	addIf(&w, "transaction_id = ?", f.TransactionID)
	if !f.CapturedFrom.IsZero() {
		w.add("captured_at >= ?", l.d.timeArg(f.CapturedFrom))
	}
	if !f.CapturedTo.IsZero() {
		w.add("captured_at < ?", l.d.timeArg(f.CapturedTo))
	}
	var out []OrderRecord
	if err := l.scanRecords(ctx, func(r OrderRecord) { out = append(out, r) }, w.sql(), w.args...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b OrderRecord) int { return strings.Compare(a.OrderID, b.OrderID) })
	return out, nil
}

// scanRecords reads the order records a WHERE clause selects.
func (l *Ledger) scanRecords(ctx context.Context, each func(OrderRecord), whereSQL string, args ...any) error {
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var (
			r                      OrderRecord
			home, rate, source, at string
			quoteAt                sql.NullString
		)
		if err := rows.Scan(&r.OrderID, &r.MerchantID, &r.MerchantOrderNo, &r.Provider, &r.TransactionID,
			&r.PayerRef, &r.Category, &home, &rate, &quoteAt, &source, &at); err != nil {
			return err
		}
		r.HomeCurrency = money.Currency(home)
		var err error
		if r.CapturedAt, err = parseTime(at); err != nil {
			return err
		}
		if rate != "" {
			v, err := decimal.NewFromString(rate)
			if err != nil {
				return fmt.Errorf("ledger: stored rate %q of order %s: %w", rate, r.OrderID, err)
			}
			q := money.Quote{Base: money.CNY, Counter: r.HomeCurrency, Rate: v, Source: source}
			if quoteAt.Valid && quoteAt.String != "" {
				if q.At, err = parseTime(quoteAt.String); err != nil {
					return err
				}
			}
			r.Quote = &q
		}
		each(r)
		return nil
	}, `SELECT order_id, merchant_id, merchant_order_no, provider, transaction_id, payer_ref, category,
			home_currency, quote_rate, quote_at, quote_source, captured_at
		FROM order_records `+whereSQL, args...)
	if err != nil {
		return fmt.Errorf("ledger: order records: %w", err)
	}
	return nil
}

// OrderTypeBalance is the balance of one order's entries on one account type
// in one currency.
type OrderTypeBalance struct {
	// OrderID is the order.
	OrderID string `json:"order_id"`
	// MerchantID is the merchant of the order's postings.
	MerchantID string `json:"merchant_id"`
	// Type is the account type.
	Type AccountType `json:"type"`
	// Amount is the signed balance (debit positive).
	Amount money.Amount `json:"amount"`
}

// OrderTypeBalanceFilter selects what OrderTypeBalances sums; zero fields select everything.
type OrderTypeBalanceFilter struct {
	// MerchantID selects one merchant's postings.
	MerchantID string
	// Types selects these account types (all when empty).
	Types []AccountType
	// Currency selects one currency.
	Currency money.Currency
	// AsOf selects postings effective at or before it.
	AsOf time.Time
}

// OrderTypeBalances returns, per order, merchant, account type and currency,
// the non-zero balance of the entries f selects of postings that carry an
// order id, ordered by order, type and currency.
func (l *Ledger) OrderTypeBalances(ctx context.Context, f OrderTypeBalanceFilter) ([]OrderTypeBalance, error) {
	var w where
	w.conds = append(w.conds, "p.order_id <> ''")
	addIf(&w, "p.merchant_id = ?", f.MerchantID)
	addIf(&w, "e.currency = ?", string(f.Currency))
	if !f.AsOf.IsZero() {
		w.add("p.effective_at <= ?", l.d.timeArg(f.AsOf))
	}
	if len(f.Types) > 0 {
		marks := make([]string, len(f.Types))
		for i, t := range f.Types {
			w.args = append(w.args, string(t))
			marks[i] = fmt.Sprintf("$%d", len(w.args))
		}
		w.conds = append(w.conds, "e.account_type IN ("+strings.Join(marks, ", ")+")")
	}
	var out []OrderTypeBalance
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var order, merchant, typ, cur, sum string
		if err := rows.Scan(&order, &merchant, &typ, &cur, &sum); err != nil {
			return err
		}
		amt, err := l.d.amount(sum, money.Currency(cur))
		if err != nil {
			return err
		}
		out = append(out, OrderTypeBalance{OrderID: order, MerchantID: merchant, Type: AccountType(typ), Amount: amt})
		return nil
	}, `SELECT p.order_id, p.merchant_id, e.account_type, e.currency, SUM(e.amount)
		FROM entries e JOIN postings p ON p.id = e.posting_id`+w.sql()+`
		GROUP BY p.order_id, p.merchant_id, e.account_type, e.currency
		HAVING SUM(e.amount) <> 0`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: order type balances: %w", err)
	}
	slices.SortFunc(out, func(a, b OrderTypeBalance) int {
		if c := strings.Compare(a.OrderID, b.OrderID); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
			return c
		}
		return strings.Compare(string(a.Amount.Currency()), string(b.Amount.Currency()))
	})
	return out, nil
}

// AccountSubs returns the sub-ledgers that have entries on accounts of type t
// (the merchants of merchant_payable, the providers of buyer_receivable),
// sorted.
func (l *Ledger) AccountSubs(ctx context.Context, t AccountType) ([]string, error) {
	if _, ok := accountTypes[t]; !ok {
		return nil, fmt.Errorf("%w: unknown account type %q", ErrInvalidAccount, t)
	}
	var out []string
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var account string
		if err := rows.Scan(&account); err != nil {
			return err
		}
		if sub := Account(account).Sub(); sub != "" {
			out = append(out, sub)
		}
		return nil
	}, `SELECT DISTINCT account FROM entries WHERE account_type = $1`, string(t))
	if err != nil {
		return nil, fmt.Errorf("ledger: account subs: %w", err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
