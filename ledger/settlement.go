package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/xhspay/xhspay/money"
)

// ErrAlreadyInBatch is returned by MarkSettled for an order already in another
// batch of the same kind.
var ErrAlreadyInBatch = errors.New("ledger: order already in a settlement batch")

// ClawbackKind is the batch kind of an order's round-th clawback (1 for its
// first): KindClawback for round 1 (and below), "clawback_<round>" after it.
// Each refund made after an order was settled is taken back in its own round,
// so an order can be clawed back any number of times, once per round.
func ClawbackKind(round int) string {
	if round <= 1 {
		return KindClawback
	}
	return fmt.Sprintf("%s_%d", KindClawback, round)
}

// clawbackKindPattern matches, with ESCAPE '\', the kinds ClawbackKind makes
// after round 1.
const clawbackKindPattern = KindClawback + `\_%`

// MarkSettled records that orderIDs belong to settlement batch batchID for
// kind (KindSettled for the first settlement of an order, ClawbackKind(n) for
// taking back the n-th refund made after it). An order is in at most one batch
// per kind: marking it again in the same batch is a no-op; in another batch the
// whole call fails with ErrAlreadyInBatch naming the order and that batch, and
// nothing is recorded.
func (l *Ledger) MarkSettled(ctx context.Context, batchID, kind string, orderIDs []string) error {
	if err := checkText("batch_id", batchID, maxIDLen, true); err != nil {
		return err
	}
	if err := checkKind(kind); err != nil {
		return err
	}
	for i, id := range orderIDs {
		if err := checkText(fmt.Sprintf("order_ids[%d]", i), id, maxIDLen, true); err != nil {
			return err
		}
	}
	// One lock order for every caller: two batches racing over the same
	// orders wait for each other instead of deadlocking.
	orders := slices.Compact(slices.Sorted(slices.Values(orderIDs)))
	return l.inTx(ctx, "mark settled "+batchID, func(tx *sql.Tx) error {
		for _, order := range orders {
			res, err := tx.ExecContext(ctx, `INSERT INTO settlement_members (order_id, kind, batch_id) VALUES ($1, $2, $3)
				ON CONFLICT (order_id, kind) DO NOTHING`, order, kind, batchID)
			if err != nil {
				return fmt.Errorf("order %s: %w", order, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("order %s: %w", order, err)
			} else if n == 1 {
				continue
			}
			var other string
			if err := tx.QueryRowContext(ctx, `SELECT batch_id FROM settlement_members WHERE order_id = $1 AND kind = $2`,
				order, kind).Scan(&other); err != nil {
				return fmt.Errorf("order %s: %w", order, err)
			}
			if other != batchID {
				return fmt.Errorf("%w: order %q is in %s batch %q", ErrAlreadyInBatch, order, kind, other)
			}
		}
		return nil
	})
}

// BatchOf returns the batch an order is in for kind, and whether it is in one.
func (l *Ledger) BatchOf(ctx context.Context, orderID, kind string) (string, bool, error) {
	var batch string
	err := l.db.QueryRowContext(ctx, `SELECT batch_id FROM settlement_members WHERE order_id = $1 AND kind = $2`,
		orderID, kind).Scan(&batch)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("ledger: batch of %s: %w", orderID, err)
	}
	return batch, true, nil
}

// Unsettled is an order with money on its merchant's payable account that no
// settlement batch covers yet.
type Unsettled struct {
	// OrderID is the order.
	OrderID string `json:"order_id"`
	// Kind is the batch kind to settle it with: KindSettled for an order never
	// settled, KindClawback for a settled order whose payable went negative
	// afterwards (a refund clawed back).
	Kind string `json:"kind"`
	// Round numbers a clawback among the order's clawbacks (1 for its first;
	// its batch kind is ClawbackKind(Round)); 0 for KindSettled.
	Round int `json:"round,omitempty"`
	// Amount is the merchant_payable balance as owed to the merchant: positive
	// to pay, negative to claw back.
	Amount money.Amount `json:"amount"`
}

// UnsettledOrders lists, per order and currency, the merchant_payable:<merchantID>
// balance of postings effective at or before upTo, for orders not yet in a
// settled batch (Kind settled) and for settled orders whose payable is negative
// (Kind clawback, Round one more than the order's clawback batches so far).
// Settlement postings must carry the order id, so that a settled order's
// payable returns to zero once a clawback is posted and the same refund is not
// listed again. Ordered by order and currency.
func (l *Ledger) UnsettledOrders(ctx context.Context, merchantID string, upTo time.Time) ([]Unsettled, error) {
	if merchantID == "" {
		return nil, fmt.Errorf("ledger: unsettled orders: %w: merchant_id: required", ErrInvalidPosting)
	}
	if upTo.IsZero() {
		return nil, fmt.Errorf("ledger: unsettled orders: %w: up_to: required", ErrInvalidPosting)
	}
	var out []Unsettled
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var (
			order, cur, sum   string
			settled, clawback int
		)
		if err := rows.Scan(&order, &cur, &sum, &settled, &clawback); err != nil {
			return err
		}
		bal, err := l.d.amount(sum, money.Currency(cur))
		if err != nil {
			return err
		}
		owed := bal.Neg() // a liability's credit balance is what the merchant is owed
		switch {
		case settled == 0:
			out = append(out, Unsettled{OrderID: order, Kind: KindSettled, Amount: owed})
		case owed.IsNegative():
			out = append(out, Unsettled{OrderID: order, Kind: KindClawback, Round: clawback + 1, Amount: owed})
		}
		return nil
	}, `SELECT p.order_id, e.currency, SUM(e.amount),
			(SELECT COUNT(*) FROM settlement_members m WHERE m.order_id = p.order_id AND m.kind = $3),
			(SELECT COUNT(*) FROM settlement_members m WHERE m.order_id = p.order_id
				AND (m.kind = $4 OR m.kind LIKE $5 ESCAPE '\'))
		FROM entries e JOIN postings p ON p.id = e.posting_id
		WHERE e.account = $1 AND p.effective_at <= $2 AND p.order_id <> ''
		GROUP BY p.order_id, e.currency
		HAVING SUM(e.amount) <> 0`,
		string(MerchantPayable(merchantID)), l.d.timeArg(upTo), KindSettled, KindClawback, clawbackKindPattern)
	if err != nil {
		return nil, fmt.Errorf("ledger: unsettled orders: %w", err)
	}
	sortByName(out, func(u Unsettled) (string, money.Currency) { return u.OrderID, u.Amount.Currency() })
	return out, nil
}
