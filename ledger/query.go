package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xhspay/xhspay/money"
)

// AccountBalance is the balance of one account in one currency: the sum of its
// entries, debit positive, credit negative.
type AccountBalance struct {
	// Account is the account.
	Account Account `json:"account"`
	// Amount is the signed balance (assets positive, liabilities negative).
	Amount money.Amount `json:"amount"`
}

// BalanceFilter selects the entries Balances sums; zero fields select everything.
type BalanceFilter struct {
	// Account selects one account.
	Account Account
	// Type selects every account of a type (e.g. all merchant_payable:*).
	Type AccountType
	// Currency selects one currency.
	Currency money.Currency
	// OrderID selects the entries of one order's postings.
	OrderID string
	// MerchantID selects the entries of one merchant's postings.
	MerchantID string
	// AsOf selects postings effective at or before it.
	AsOf time.Time
}

// PostingFilter selects postings; zero fields select everything.
type PostingFilter struct {
	// Key selects the posting with this idempotency key.
	Key string
	// OrderID selects one order's postings.
	OrderID string
	// MerchantID selects one merchant's postings.
	MerchantID string
	// Kind selects one kind.
	Kind string
	// From selects postings effective at or after it.
	From time.Time
	// To selects postings effective before it.
	To time.Time
	// Limit caps the number of postings returned (0: no cap).
	Limit int
}

// where builds a conjunction of conditions with $n placeholders.
type where struct {
	conds []string
	args  []any
}

// add appends cond, in which "?" stands for the next placeholder, with its argument.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

// addIf adds cond when the argument is set.
func addIf[T comparable](w *where, cond string, v T) {
	var zero T
	if v != zero {
		w.add(cond, v)
	}
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// eachRow runs query and calls scan for every row.
func eachRow(ctx context.Context, q querier, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sortByName sorts rows by a name and then a currency, in byte order on every
// backend whatever its collation (so sorted here, not in SQL).
func sortByName[T any](s []T, key func(T) (string, money.Currency)) {
	slices.SortFunc(s, func(a, b T) int {
		na, ca := key(a)
		nb, cb := key(b)
		return cmp.Or(strings.Compare(na, nb), strings.Compare(string(ca), string(cb)))
	})
}

// Balance returns the balance of account in currency over the postings
// effective at or before asOf (all postings when asOf is zero).
func (l *Ledger) Balance(ctx context.Context, account Account, currency money.Currency, asOf time.Time) (money.Amount, error) {
	if err := account.Validate(); err != nil {
		return money.Amount{}, err
	}
	if !currency.Known() {
		return money.Amount{}, fmt.Errorf("ledger: balance: %w: %q", money.ErrUnknownCurrency, string(currency))
	}
	bs, err := l.Balances(ctx, BalanceFilter{Account: account, Currency: currency, AsOf: asOf})
	if err != nil {
		return money.Amount{}, err
	}
	if len(bs) == 0 {
		return money.Zero(currency), nil
	}
	return bs[0].Amount, nil
}

// Balances returns the balance per account and currency of the entries f
// selects, ordered by account and currency. Accounts whose selected entries
// net to zero are included.
func (l *Ledger) Balances(ctx context.Context, f BalanceFilter) ([]AccountBalance, error) {
	var w where
	addIf(&w, "e.account = ?", string(f.Account))
	addIf(&w, "e.account_type = ?", string(f.Type))
	addIf(&w, "e.currency = ?", string(f.Currency))
	addIf(&w, "p.order_id = ?", f.OrderID)
	addIf(&w, "p.merchant_id = ?", f.MerchantID)
	if !f.AsOf.IsZero() {
		w.add("p.effective_at <= ?", l.d.timeArg(f.AsOf))
	}
	var out []AccountBalance
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var account, currency, sum string
		if err := rows.Scan(&account, &currency, &sum); err != nil {
			return err
		}
		amt, err := l.d.amount(sum, money.Currency(currency))
		if err != nil {
			return err
		}
		out = append(out, AccountBalance{Account: Account(account), Amount: amt})
		return nil
	}, `SELECT e.account, e.currency, SUM(e.amount)
		FROM entries e JOIN postings p ON p.id = e.posting_id`+w.sql()+`
		GROUP BY e.account, e.currency`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	sortByName(out, func(b AccountBalance) (string, money.Currency) { return string(b.Account), b.Amount.Currency() })
	return out, nil
}

// OrderBalances returns the balance per account and currency of one order's postings.
func (l *Ledger) OrderBalances(ctx context.Context, orderID string) ([]AccountBalance, error) {
	if orderID == "" {
		return nil, fmt.Errorf("ledger: order balances: %w: order_id: required", ErrInvalidPosting)
	}
	return l.Balances(ctx, BalanceFilter{OrderID: orderID})
}

// Postings returns the postings f selects, ordered by effective time and then
// by the order they were recorded in, with their entries in posted order.
func (l *Ledger) Postings(ctx context.Context, f PostingFilter) ([]Posting, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("ledger: postings: limit: must not be negative")
	}
	var w where
	addIf(&w, "posting_key = ?", f.Key)
	addIf(&w, "order_id = ?", f.OrderID)
	addIf(&w, "merchant_id = ?", f.MerchantID)
	addIf(&w, "kind = ?", f.Kind)
	if !f.From.IsZero() {
		w.add("effective_at >= ?", l.d.timeArg(f.From))
	}
	if !f.To.IsZero() {
		w.add("effective_at < ?", l.d.timeArg(f.To))
	}
	ids := `SELECT id FROM postings` + w.sql() + ` ORDER BY effective_at, id`
	if f.Limit > 0 {
		ids += " LIMIT " + strconv.Itoa(f.Limit)
	}
	var (
		out    []Posting
		lastID int64 = -1
	)
	// The join's rows, ordered by posting, fold into postings.
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var (
			id                                int64
			p                                 Posting
			at, account, currency, amountText string
		)
		if err := rows.Scan(&id, &p.Key, &p.OrderID, &p.MerchantID, &p.Kind, &at, &p.Memo, &account, &currency, &amountText); err != nil {
			return err
		}
		amt, err := l.d.amount(amountText, money.Currency(currency))
		if err != nil {
			return err
		}
		if id != lastID {
			if p.At, err = parseTime(at); err != nil {
				return err
			}
			out = append(out, p)
			lastID = id
		}
		last := &out[len(out)-1]
		last.Entries = append(last.Entries, Entry{Account: Account(account), Amount: amt})
		return nil
	}, `SELECT p.id, p.posting_key, p.order_id, p.merchant_id, p.kind, p.effective_at, p.memo,
			e.account, e.currency, e.amount
		FROM postings p JOIN entries e ON e.posting_id = p.id
		WHERE p.id IN (`+ids+`)
		ORDER BY p.effective_at, p.id, e.seq`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: postings: %w", err)
	}
	return out, nil
}

// PostingByKey returns the posting recorded under key and whether there is one.
func (l *Ledger) PostingByKey(ctx context.Context, key string) (Posting, bool, error) {
	if key == "" {
		return Posting{}, false, fmt.Errorf("ledger: posting by key: %w: key: required", ErrInvalidPosting)
	}
	ps, err := l.Postings(ctx, PostingFilter{Key: key})
	if err != nil || len(ps) == 0 {
		return Posting{}, false, err
	}
	return ps[0], true, nil
}
