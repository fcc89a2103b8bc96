package ledger

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/xhspay/xhspay/money"
)

// Errors returned by Post; test them with errors.Is.
var (
	// ErrInvalidPosting is returned for a posting with a missing or malformed field.
	ErrInvalidPosting = errors.New("ledger: invalid posting")
	// ErrUnbalanced is returned for a posting whose entries do not sum to zero in every currency.
	ErrUnbalanced = errors.New("ledger: posting does not balance")
	// ErrConflictingPosting is returned when a key is posted again with different content.
	ErrConflictingPosting = errors.New("ledger: conflicting posting for an existing key")
)

// Posting kinds. The set is open (any lower-case snake_case word is accepted),
// but the order flows in CheckInvariants give captured and refunded a meaning.
const (
	// KindCaptured moves a buyer's payment in: Dr buyer_receivable:<provider>, Cr escrow_held.
	KindCaptured = "captured"
	// KindHeld records a provider-side hold (freeze) of captured money.
	KindHeld = "held"
	// KindReleased moves money out of escrow to the merchant (and tax, fees).
	KindReleased = "released"
	// KindRefunded returns money to the buyer out of escrow: Dr escrow_held, Cr buyer_receivable:<provider> or refunds.
	KindRefunded = "refunded"
	// KindTax books CBEC composite tax.
	KindTax = "tax"
	// KindFee books a provider fee.
	KindFee = "fee"
	// KindSettled books a provider's settlement of an order to the merchant's currency.
	KindSettled = "settled"
	// KindClawback takes released money back from the merchant into escrow for a refund.
	KindClawback = "clawback"
	// KindFXGainLoss books the difference between the quoted and the settlement rate.
	KindFXGainLoss = "fx_gain_loss"
	// KindPayout books money paid to a merchant's bank.
	KindPayout = "payout"
)

// Field limits.
const (
	maxKeyLen   = 200
	maxIDLen    = 128
	maxKindLen  = 64
	maxMemoLen  = 2000
	maxEntries  = 1000
	minYear     = 1970
	maxYear     = 9999
	timePrecise = time.Microsecond
)

// Entry is one line of a posting. Amount is signed: a debit is positive, a
// credit negative, so the entries of a balanced posting sum to zero in each
// currency and an account's balance is the sum of its entries (positive for
// assets and expenses, negative for liabilities and income).
type Entry struct {
	// Account is the account debited or credited.
	Account Account `json:"account"`
	// Amount is the signed amount: debit positive, credit negative; a whole
	// number of the currency's minor units, never zero.
	Amount money.Amount `json:"amount"`
}

// Posting is one journal transaction: a set of entries that balance per
// currency, recorded once under its idempotency key.
type Posting struct {
	// Key is the idempotency key: posting the same key again with the same
	// content is a no-op, with other content an ErrConflictingPosting.
	Key string `json:"key"`
	// OrderID ties the posting to an order ("" for postings of no single order).
	OrderID string `json:"order_id,omitempty"`
	// MerchantID ties the posting to a merchant ("" for none).
	MerchantID string `json:"merchant_id,omitempty"`
	// Kind says what happened (KindCaptured, KindReleased, ...).
	Kind string `json:"kind"`
	// At is when the movement took effect; stored in UTC with microsecond precision.
	At time.Time `json:"at"`
	// Memo is free text for people.
	Memo string `json:"memo,omitempty"`
	// Entries are the lines; at least two, summing to zero in every currency.
	Entries []Entry `json:"entries"`
}

// normalize validates p and returns it in canonical form: At in UTC truncated
// to microseconds, amounts rebuilt from minor units (so 1.0 and 1.00 are one value).
func (p Posting) normalize() (Posting, error) {
	if err := checkText("key", p.Key, maxKeyLen, true); err != nil {
		return Posting{}, err
	}
	if err := checkText("order_id", p.OrderID, maxIDLen, false); err != nil {
		return Posting{}, err
	}
	if err := checkText("merchant_id", p.MerchantID, maxIDLen, false); err != nil {
		return Posting{}, err
	}
	if err := checkKind(p.Kind); err != nil {
		return Posting{}, err
	}
	if len(p.Memo) > maxMemoLen {
		return Posting{}, fmt.Errorf("%w: memo: longer than %d bytes", ErrInvalidPosting, maxMemoLen)
	}
	at := p.At.UTC().Truncate(timePrecise)
	if p.At.IsZero() || at.Year() < minYear || at.Year() > maxYear {
		return Posting{}, fmt.Errorf("%w: at: must be set, between years %d and %d (got %s)", ErrInvalidPosting, minYear, maxYear, p.At)
	}
	if len(p.Entries) < 2 || len(p.Entries) > maxEntries {
		return Posting{}, fmt.Errorf("%w: entries: need 2 to %d entries, got %d", ErrInvalidPosting, maxEntries, len(p.Entries))
	}
	out := p
	out.At = at
	out.Entries = make([]Entry, len(p.Entries))
	for i, e := range p.Entries {
		ne, err := e.normalize()
		if err != nil {
			return Posting{}, fmt.Errorf("entries[%d]: %w", i, err)
		}
		out.Entries[i] = ne
	}
	if err := checkBalanced(out.Key, out.Entries); err != nil {
		return Posting{}, err
	}
	return out, nil
}

func (e Entry) normalize() (Entry, error) {
	if err := e.Account.Validate(); err != nil {
		return Entry{}, fmt.Errorf("%w: account: %w", ErrInvalidPosting, err)
	}
	c := e.Amount.Currency()
	if !c.Known() {
		return Entry{}, fmt.Errorf("%w: amount: unknown currency %q", ErrInvalidPosting, string(c))
	}
	if e.Amount.IsZero() {
		return Entry{}, fmt.Errorf("%w: amount: must not be zero", ErrInvalidPosting)
	}
	minor, err := e.Amount.MinorUnits()
	if err != nil {
		return Entry{}, fmt.Errorf("%w: amount: must be a whole number of minor units: %w", ErrInvalidPosting, err)
	}
	a, err := money.FromMinor(minor, c)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: amount: %w", ErrInvalidPosting, err)
	}
	return Entry{Account: e.Account, Amount: a}, nil
}

// checkBalanced sums entries per currency and names every currency that does not balance.
func checkBalanced(key string, entries []Entry) error {
	sums := map[money.Currency]money.Amount{}
	for _, e := range entries {
		c := e.Amount.Currency()
		s, ok := sums[c]
		if !ok {
			s = money.Zero(c)
		}
		s, err := s.Add(e.Amount)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidPosting, err)
		}
		sums[c] = s
	}
	var off []string
	for _, c := range slices.Sorted(maps.Keys(sums)) {
		if s := sums[c]; !s.IsZero() {
			off = append(off, describeImbalance(s))
		}
	}
	if len(off) > 0 {
		return fmt.Errorf("%w: key %q: %s", ErrUnbalanced, key, strings.Join(off, "; "))
	}
	return nil
}

// describeImbalance phrases a non-zero per-currency sum of entries.
func describeImbalance(sum money.Amount) string {
	if sum.IsPositive() {
		return fmt.Sprintf("%s: debits exceed credits by %s", sum.Currency(), sum)
	}
	return fmt.Sprintf("%s: credits exceed debits by %s", sum.Currency(), sum.Neg())
}

func checkText(field, s string, maxLen int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fmt.Errorf("%w: %s: required", ErrInvalidPosting, field)
	}
	if len(s) > maxLen {
		return fmt.Errorf("%w: %s: longer than %d bytes", ErrInvalidPosting, field, maxLen)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %s: must not contain control character %q", ErrInvalidPosting, field, r)
		}
	}
	return nil
}

// checkKind accepts lower-case snake_case: [a-z][a-z0-9_]*, at most 64 bytes.
func checkKind(k string) error {
	if k == "" || len(k) > maxKindLen {
		return fmt.Errorf("%w: kind: must be 1 to %d characters", ErrInvalidPosting, maxKindLen)
	}
	for i, r := range k {
		ok := (r >= 'a' && r <= 'z') || (i > 0 && ((r >= '0' && r <= '9') || r == '_'))
		if !ok {
			return fmt.Errorf("%w: kind: %q must be lower-case snake_case", ErrInvalidPosting, k)
		}
	}
	return nil
}

// diff describes the first difference between two normalised postings, "" when
// their content is the same. Entries are compared as a multiset: their order
// does not matter.
func diff(stored, given Posting) string {
	fields := []struct{ name, a, b string }{
		{"order_id", stored.OrderID, given.OrderID},
		{"merchant_id", stored.MerchantID, given.MerchantID},
		{"kind", stored.Kind, given.Kind},
		{"memo", stored.Memo, given.Memo},
	}
	for _, f := range fields {
		if f.a != f.b {
			return fmt.Sprintf("%s: stored %q, given %q", f.name, f.a, f.b)
		}
	}
	if !stored.At.Equal(given.At) {
		return fmt.Sprintf("at: stored %s, given %s", stored.At.Format(time.RFC3339Nano), given.At.Format(time.RFC3339Nano))
	}
	a, b := sortedEntries(stored.Entries), sortedEntries(given.Entries)
	if len(a) != len(b) {
		return fmt.Sprintf("entries: stored %d, given %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Account != b[i].Account || !a[i].Amount.Equal(b[i].Amount) {
			return fmt.Sprintf("entries: stored %s, given %s", describeEntries(a), describeEntries(b))
		}
	}
	return ""
}

func sortedEntries(es []Entry) []Entry {
	out := slices.Clone(es)
	slices.SortFunc(out, func(x, y Entry) int {
		if c := strings.Compare(string(x.Account), string(y.Account)); c != 0 {
			return c
		}
		if c := strings.Compare(string(x.Amount.Currency()), string(y.Amount.Currency())); c != 0 {
			return c
		}
		return x.Amount.Decimal().Cmp(y.Amount.Decimal())
	})
	return out
}

func describeEntries(es []Entry) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprintf("%s %s", e.Account, e.Amount)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
