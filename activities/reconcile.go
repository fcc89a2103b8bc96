package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// DocReconciliation is the ledger document kind of reconciliation reports
// (one per day, id YYYY-MM-DD).
const DocReconciliation = "reconciliation"

// Kinds of reconciliation differences (also the kind label of the
// xhspay_reconcile_mismatches_total metric).
const (
	// MismatchMissingOurs is a bill line the ledger does not have.
	MismatchMissingOurs = "missing_ours"
	// MismatchMissingTheirs is a ledger posting the bill does not have.
	MismatchMissingTheirs = "missing_theirs"
	// MismatchAmount is a transaction both have with different amounts.
	MismatchAmount = "amount"
)

// ReconciliationMismatch is one difference between a provider's bill and the ledger.
type ReconciliationMismatch struct {
	// Kind is the difference (Mismatch* constants).
	Kind string `json:"kind"`
	// LineKind is what differs: payments or refunds of the transaction.
	LineKind providers.BillKind `json:"lineKind"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId"`
	// OutTradeNo is our trade number, when the bill has the line.
	OutTradeNo string `json:"outTradeNo,omitempty"`
	// OrderID is the order, when the ledger has it.
	OrderID string `json:"orderId,omitempty"`
	// Ours is the ledger's amount (zero when missing on our side).
	Ours money.Amount `json:"ours"`
	// Theirs is the bill's amount (zero when missing on theirs).
	Theirs money.Amount `json:"theirs"`
}

// ProviderReconciliation is one provider's bill of one day matched against the ledger.
type ProviderReconciliation struct {
	// Provider is the provider.
	Provider providers.Name `json:"provider"`
	// Day is the bill's day (YYYY-MM-DD, China time).
	Day string `json:"day"`
	// BillLines counts the bill's lines.
	BillLines int `json:"billLines"`
	// LedgerLines counts the ledger's payments and refunds of the provider that day.
	LedgerLines int `json:"ledgerLines"`
	// Matched counts the transactions (payments and refunds apart) that agree.
	Matched int `json:"matched"`
	// Mismatches are the differences, by kind then transaction id.
	Mismatches []ReconciliationMismatch `json:"mismatches"`
	// BillFees sums the bill's fees.
	BillFees money.Amount `json:"billFees"`
	// Error says why the provider could not be reconciled (the bill could not
	// be had, say); its counts are then empty.
	Error string `json:"error,omitempty"`
}

// Counts returns the number of mismatches per kind.
func (p ProviderReconciliation) Counts() map[string]int {
	out := map[string]int{}
	for _, m := range p.Mismatches {
		out[m.Kind]++
	}
	return out
}

// ReconciliationReport is a day's reconciliation of every provider's bill.
type ReconciliationReport struct {
	// Day is the day reconciled (YYYY-MM-DD, China time).
	Day string `json:"day"`
	// Providers are the results per provider.
	Providers []ProviderReconciliation `json:"providers"`
	// Mismatches counts every difference.
	Mismatches int `json:"mismatches"`
	// ReconciledAt is when it ran.
	ReconciledAt time.Time `json:"reconciledAt"`
}

// Reconciliation holds the reconciliation activities.
type Reconciliation struct {
	// Ledger is the system of record (required).
	Ledger *ledger.Ledger
	// Bills are the bill sources by provider.
	Bills map[providers.Name]providers.BillSource
}

// ReconcileInput is the input of ReconcileProvider.
type ReconcileInput struct {
	// Provider is whose bill to reconcile.
	Provider providers.Name `json:"provider"`
	// Day is the day (YYYY-MM-DD, China time).
	Day string `json:"day"`
}

// ReconcileProvider downloads the provider's bill of the day and matches it
// with the ledger's payments and refunds of that provider that day, by
// transaction id and amount (refunds summed per transaction).
func (r *Reconciliation) ReconcileProvider(ctx context.Context, in ReconcileInput) (ProviderReconciliation, error) {
	if r.Ledger == nil {
		return ProviderReconciliation{}, notConfiguredLedger()
	}
	src, ok := r.Bills[in.Provider]
	if !ok || src == nil {
		return ProviderReconciliation{}, notConfigured("bill source", in.Provider)
	}
	day, err := time.ParseInLocation(time.DateOnly, in.Day, ChinaTime)
	if err != nil {
		return ProviderReconciliation{}, invalidInput("reconcile: day must be YYYY-MM-DD, got %q", in.Day)
	}
	bill, err := src.DownloadBill(ctx, day)
	if err != nil {
		return ProviderReconciliation{}, ProviderError(err)
	}
	ours, err := r.ledgerLines(ctx, in.Provider, day)
	if err != nil {
		return ProviderReconciliation{}, err
	}
	res, err := Match(in.Provider, in.Day, bill, ours)
	if err != nil {
		return ProviderReconciliation{}, invalidInput("reconcile %s %s: %v", in.Provider, in.Day, err)
	}
	return res, nil
}

// LedgerLine is a payment or refund of the ledger, as reconciliation sees it.
type LedgerLine struct {
	// OrderID is the order.
	OrderID string `json:"orderId"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId"`
	// Kind is a payment (captured) or a refund (refunded).
	Kind providers.BillKind `json:"kind"`
	// Amount is the money moved (positive).
	Amount money.Amount `json:"amount"`
}

// ledgerLines returns the provider's captured and refunded postings of the day.
func (r *Reconciliation) ledgerLines(ctx context.Context, provider providers.Name, day time.Time) ([]LedgerLine, error) {
	from, to := day, day.AddDate(0, 0, 1)
	receivable := ledger.BuyerReceivable(string(provider))
	var out []LedgerLine
	for kind, lineKind := range map[string]providers.BillKind{ledger.KindCaptured: providers.BillPayment, ledger.KindRefunded: providers.BillRefund} {
		ps, err := r.Ledger.Postings(ctx, ledger.PostingFilter{Kind: kind, From: from, To: to})
		if err != nil {
			return nil, ledgerError(err)
		}
		ids := make([]string, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, p.OrderID)
		}
		recs, err := r.Ledger.OrderRecords(ctx, ids)
		if err != nil {
			return nil, ledgerError(err)
		}
		for _, p := range ps {
			rec, ok := recs[p.OrderID]
			if !ok || rec.Provider != string(provider) {
				continue
			}
			for _, e := range p.Entries {
				if e.Account != receivable {
					continue
				}
				amt := e.Amount
				if amt.IsNegative() {
					amt = amt.Neg()
				}
				out = append(out, LedgerLine{OrderID: p.OrderID, TransactionID: rec.TransactionID, Kind: lineKind, Amount: amt})
			}
		}
	}
	return out, nil
}

// Match compares a bill with the ledger's lines: per transaction id and line
// kind, the sums of both sides. A transaction only the bill has is missing on
// our side, one only the ledger has is missing on theirs, one both have with
// different sums is an amount mismatch.
func Match(provider providers.Name, day string, bill []providers.BillLine, ours []LedgerLine) (ProviderReconciliation, error) {
	type key struct {
		kind providers.BillKind
		tx   string
	}
	type side struct {
		sum   money.Amount
		ref   string // out_trade_no (theirs) or order id (ours)
		lines int
	}
	add := func(m map[key]*side, k key, a money.Amount, ref string) error {
		s, ok := m[k]
		if !ok {
			s = &side{sum: money.Zero(money.CNY), ref: ref}
			m[k] = s
		}
		var err error
		s.sum, err = s.sum.Add(a)
		s.lines++
		return err
	}
	res := ProviderReconciliation{Provider: provider, Day: day, BillLines: len(bill), LedgerLines: len(ours),
		BillFees: money.Zero(money.CNY), Mismatches: []ReconciliationMismatch{}}
	theirs, mine := map[key]*side{}, map[key]*side{}
	for _, l := range bill {
		if err := add(theirs, key{l.Kind, l.TransactionID}, l.Amount, l.OutTradeNo); err != nil {
			return ProviderReconciliation{}, fmt.Errorf("bill line %s: %w", l.TransactionID, err)
		}
		if l.Fee.Currency() != "" {
			var err error
			if res.BillFees, err = res.BillFees.Add(l.Fee); err != nil {
				return ProviderReconciliation{}, fmt.Errorf("bill fee of %s: %w", l.TransactionID, err)
			}
		}
	}
	for _, l := range ours {
		if err := add(mine, key{l.Kind, l.TransactionID}, l.Amount, l.OrderID); err != nil {
			return ProviderReconciliation{}, fmt.Errorf("ledger line %s: %w", l.OrderID, err)
		}
	}
	zero := money.Zero(money.CNY)
	for k, t := range theirs {
		m, ok := mine[k]
		switch {
		case !ok:
			res.Mismatches = append(res.Mismatches, ReconciliationMismatch{Kind: MismatchMissingOurs, LineKind: k.kind,
				TransactionID: k.tx, OutTradeNo: t.ref, Ours: zero, Theirs: t.sum})
		case !m.sum.Equal(t.sum):
			res.Mismatches = append(res.Mismatches, ReconciliationMismatch{Kind: MismatchAmount, LineKind: k.kind,
				TransactionID: k.tx, OutTradeNo: t.ref, OrderID: m.ref, Ours: m.sum, Theirs: t.sum})
		default:
			res.Matched++
		}
	}
	for k, m := range mine {
		if _, ok := theirs[k]; !ok {
			res.Mismatches = append(res.Mismatches, ReconciliationMismatch{Kind: MismatchMissingTheirs, LineKind: k.kind,
				TransactionID: k.tx, OrderID: m.ref, Ours: m.sum, Theirs: zero})
		}
	}
	slices.SortFunc(res.Mismatches, func(a, b ReconciliationMismatch) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := strings.Compare(a.TransactionID, b.TransactionID); c != 0 {
			return c
		}
		return strings.Compare(string(a.LineKind), string(b.LineKind))
	})
	return res, nil
}

// SaveReconciliation stores a day's report in the ledger (document kind
// DocReconciliation, id the day), replacing an earlier run's.
func (r *Reconciliation) SaveReconciliation(ctx context.Context, rep ReconciliationReport) error {
	if r.Ledger == nil {
		return notConfiguredLedger()
	}
	if _, err := time.Parse(time.DateOnly, rep.Day); err != nil {
		return invalidInput("reconciliation report: day must be YYYY-MM-DD, got %q", rep.Day)
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encode reconciliation %s: %w", rep.Day, err)
	}
	status := "clean"
	if rep.Mismatches > 0 {
		status = "mismatches"
	}
	if _, err := r.Ledger.SaveDocument(ctx, ledger.Document{Kind: DocReconciliation, ID: rep.Day, Day: rep.Day,
		Status: status, Body: body}); err != nil {
		return ledgerError(err)
	}
	return nil
}
