package ledger

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/xhspay/xhspay/money"
)

// Invariant rules a Violation names.
const (
	// RuleUnbalancedPosting: a posting's entries do not sum to zero in a currency.
	RuleUnbalancedPosting = "unbalanced_posting"
	// RuleOrderNotConserved: an order's captured ≠ released + refunded + held.
	RuleOrderNotConserved = "order_not_conserved"
	// RuleEscrowOverdrawn: more left an order's escrow than entered it (held < 0).
	RuleEscrowOverdrawn = "escrow_overdrawn"
	// RuleOverRefunded: an order refunded more than it captured.
	RuleOverRefunded = "over_refunded"
)

// Violation is one broken invariant.
type Violation struct {
	// Rule is the invariant broken (RuleUnbalancedPosting, ...).
	Rule string `json:"rule"`
	// Key is the posting's key for posting rules.
	Key string `json:"key,omitempty"`
	// OrderID is the order for order rules.
	OrderID string `json:"order_id,omitempty"`
	// Currency is the currency in which the rule is broken.
	Currency money.Currency `json:"currency"`
	// Detail says what is wrong, with the amounts.
	Detail string `json:"detail"`
}

// String formats the violation on one line.
func (v Violation) String() string {
	subject := "order " + v.OrderID
	if v.Key != "" {
		subject = "posting " + v.Key
	}
	return fmt.Sprintf("%s: %s: %s", v.Rule, subject, v.Detail)
}

// Report is the outcome of CheckInvariants.
type Report struct {
	// Postings is the number of postings checked.
	Postings int `json:"postings"`
	// Orders is the number of orders (with postings) checked.
	Orders int `json:"orders"`
	// Violations lists every broken invariant, postings first, then orders by id.
	Violations []Violation `json:"violations"`
}

// OK reports whether no invariant is broken.
func (r Report) OK() bool { return len(r.Violations) == 0 }

// OrderFlow is the money of one order in one currency, by stage:
//
//	Captured = Σ debits to buyer_receivable:* by postings of kind captured (what the buyer paid)
//	Refunded = Σ credits to buyer_receivable:* and refunds by postings of kind refunded (what went back)
//	Released = Σ net debits to escrow_held by postings of any other kind (what left escrow
//	           for the merchant, tax or fees; a clawback back into escrow counts negative)
//	Held     = the credit balance of escrow_held (what escrow still holds)
//
// Conservation is Captured = Released + Refunded + Held: a capture must credit
// escrow with what the buyer paid, and a refund must take from escrow what it
// returns (after release, claw the merchant's share back into escrow first).
type OrderFlow struct {
	// OrderID is the order.
	OrderID string `json:"order_id"`
	// Captured is what the buyer paid.
	Captured money.Amount `json:"captured"`
	// Released is what left escrow towards the merchant, tax and fees.
	Released money.Amount `json:"released"`
	// Refunded is what was returned to the buyer.
	Refunded money.Amount `json:"refunded"`
	// Held is what escrow still holds.
	Held money.Amount `json:"held"`
}

// violations checks the flow's invariants.
func (f OrderFlow) violations() ([]Violation, error) {
	var out []Violation
	c := f.Captured.Currency()
	add := func(rule, detail string) {
		out = append(out, Violation{Rule: rule, OrderID: f.OrderID, Currency: c, Detail: detail})
	}
	accounted, err := money.Sum(c, f.Released, f.Refunded, f.Held)
	if err != nil {
		return nil, err
	}
	if !accounted.Equal(f.Captured) {
		diff, err := f.Captured.Sub(accounted)
		if err != nil {
			return nil, err
		}
		add(RuleOrderNotConserved, fmt.Sprintf("captured %s ≠ released %s + refunded %s + held %s (difference %s)",
			f.Captured, f.Released, f.Refunded, f.Held, diff))
	}
	if f.Held.IsNegative() {
		add(RuleEscrowOverdrawn, fmt.Sprintf("escrow holds %s", f.Held))
	}
	if over, err := f.Refunded.Cmp(f.Captured); err != nil {
		return nil, err
	} else if over > 0 {
		add(RuleOverRefunded, fmt.Sprintf("refunded %s > captured %s", f.Refunded, f.Captured))
	}
	return out, nil
}

// OrderFlows returns the order's money by stage, one OrderFlow per currency.
func (l *Ledger) OrderFlows(ctx context.Context, orderID string) ([]OrderFlow, error) {
	if orderID == "" {
		return nil, fmt.Errorf("ledger: order flows: %w: order_id: required", ErrInvalidPosting)
	}
	return l.orderFlows(ctx, orderID)
}

// orderFlows computes OrderFlow for one order, or for every order when orderID is "".
func (l *Ledger) orderFlows(ctx context.Context, orderID string) ([]OrderFlow, error) {
	var w where
	w.conds = append(w.conds, "p.order_id <> ''")
	addIf(&w, "p.order_id = ?", orderID)
	var out []OrderFlow
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var (
			f    OrderFlow
			cur  string
			sums [4]string
		)
		if err := rows.Scan(&f.OrderID, &cur, &sums[0], &sums[1], &sums[2], &sums[3]); err != nil {
			return err
		}
		for i, dst := range []*money.Amount{&f.Captured, &f.Released, &f.Refunded, &f.Held} {
			var err error
			if *dst, err = l.d.amount(sums[i], money.Currency(cur)); err != nil {
				return err
			}
		}
		out = append(out, f)
		return nil
	}, `SELECT p.order_id, e.currency,
			COALESCE(SUM(CASE WHEN p.kind = 'captured' AND e.account_type = 'buyer_receivable' THEN e.amount ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN e.account_type = 'escrow_held' AND p.kind NOT IN ('captured', 'refunded') THEN e.amount ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN p.kind = 'refunded' AND e.account_type IN ('buyer_receivable', 'refunds') THEN -e.amount ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN e.account_type = 'escrow_held' THEN -e.amount ELSE 0 END), 0)
		FROM entries e JOIN postings p ON p.id = e.posting_id`+w.sql()+`
		GROUP BY p.order_id, e.currency`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: order flows: %w", err)
	}
	sortByName(out, func(f OrderFlow) (string, money.Currency) { return f.OrderID, f.Captured.Currency() })
	return out, nil
}

// CheckInvariants checks the whole journal: every posting balances in every
// currency, and every order conserves its money (see OrderFlow): captured =
// released + refunded + held, escrow never negative, never more refunded than
// captured. An error means the check could not run; broken invariants are in
// the Report.
func (l *Ledger) CheckInvariants(ctx context.Context) (Report, error) {
	var r Report
	if err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM postings`).Scan(&r.Postings); err != nil {
		return Report{}, fmt.Errorf("ledger: check invariants: %w", err)
	}
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var key, cur, sum string
		if err := rows.Scan(&key, &cur, &sum); err != nil {
			return err
		}
		amt, err := l.d.amount(sum, money.Currency(cur))
		if err != nil {
			return err
		}
		r.Violations = append(r.Violations, Violation{Rule: RuleUnbalancedPosting, Key: key, Currency: amt.Currency(), Detail: describeImbalance(amt)})
		return nil
	}, `SELECT p.posting_key, e.currency, SUM(e.amount)
		FROM entries e JOIN postings p ON p.id = e.posting_id
		GROUP BY p.id, p.posting_key, e.currency
		HAVING SUM(e.amount) <> 0
		ORDER BY p.id, e.currency`)
	if err != nil {
		return Report{}, fmt.Errorf("ledger: check invariants: %w", err)
	}
	flows, err := l.orderFlows(ctx, "")
	if err != nil {
		return Report{}, err
	}
	last := ""
	for _, f := range flows {
		if f.OrderID != last {
			r.Orders++
			last = f.OrderID
		}
		vs, err := f.violations()
		if err != nil {
			return Report{}, fmt.Errorf("ledger: check invariants: order %s: %w", f.OrderID, err)
		}
		r.Violations = append(r.Violations, vs...)
	}
	return r, nil
}
