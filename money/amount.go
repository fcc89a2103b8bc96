package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/shopspring/decimal"
)

// Errors returned by amount operations; test them with errors.Is.
var (
	// ErrCurrencyMismatch is returned when two amounts of different currencies meet.
	ErrCurrencyMismatch = errors.New("money: currency mismatch")
	// ErrPrecisionLoss is returned when a value has more decimals than its currency's minor unit allows.
	ErrPrecisionLoss = errors.New("money: precision finer than the currency's minor unit")
	// ErrInvalidAmount is returned for text that is not a decimal number.
	ErrInvalidAmount = errors.New("money: invalid amount")
	// ErrOverflow is returned when minor units do not fit in an int64.
	ErrOverflow = errors.New("money: amount overflows int64 minor units")
)

// Amount is an exact decimal value in one currency. The zero Amount has no
// currency and is only useful as "no amount"; build amounts with New, Parse or
// FromMinor.
type Amount struct {
	value    decimal.Decimal
	currency Currency
}

// New returns an amount of value in currency c. The value may carry more
// precision than c's minor unit (an intermediate result); MinorUnits and
// Round bring it back to the minor unit.
func New(value decimal.Decimal, c Currency) (Amount, error) {
	if !c.Known() {
		return Amount{}, fmt.Errorf("%w: %q", ErrUnknownCurrency, string(c))
	}
	return Amount{value: value, currency: c}, nil
}

// Zero returns the zero amount in currency c.
func Zero(c Currency) Amount { return Amount{value: decimal.Zero, currency: c} }

// Parse reads a plain decimal string ("12.34", "-0.5", "100") as an amount in
// currency c. It rejects exponents, thousands separators and more decimal
// places than c's minor unit.
func Parse(s string, c Currency) (Amount, error) {
	if !c.Known() {
		return Amount{}, fmt.Errorf("%w: %q", ErrUnknownCurrency, string(c))
	}
	if !isPlainDecimal(s) {
		return Amount{}, fmt.Errorf("%w: %q is not a plain decimal number", ErrInvalidAmount, s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Amount{}, fmt.Errorf("%w: %q: %w", ErrInvalidAmount, s, err)
	}
	a := Amount{value: d, currency: c}
	if !a.IsWhole() {
		return Amount{}, fmt.Errorf("%w: %q has more than %d decimal places for %s", ErrPrecisionLoss, s, c.Exponent(), c)
	}
	return a, nil
}

// MustParse is Parse that panics on error; for constants and tests.
func MustParse(s string, c Currency) Amount {
	a, err := Parse(s, c)
	if err != nil {
		panic(err)
	}
	return a
}

// isPlainDecimal accepts an optional sign, digits, and at most one dot with digits on at least one side.
func isPlainDecimal(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return false
	}
	if hasDot && frac == "" {
		return false
	}
	for _, part := range []string{intPart, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return false
			}
		}
	}
	return len(intPart) <= 30
}

// FromMinor returns the amount of units minor units (fen for CNY) in currency c.
func FromMinor(units int64, c Currency) (Amount, error) {
	if !c.Known() {
		return Amount{}, fmt.Errorf("%w: %q", ErrUnknownCurrency, string(c))
	}
	return Amount{value: decimal.New(units, -c.Exponent()), currency: c}, nil
}

// Currency returns the amount's currency.
func (a Amount) Currency() Currency { return a.currency }

// Decimal returns the amount's exact value.
func (a Amount) Decimal() decimal.Decimal { return a.value }

// IsWhole reports whether the amount is a whole number of minor units.
func (a Amount) IsWhole() bool {
	if !a.currency.Known() {
		return false
	}
	return a.value.Equal(a.value.Truncate(a.currency.Exponent()))
}

// MinorUnits returns the amount in minor units (fen for CNY), failing with
// ErrPrecisionLoss when it is not a whole number of them and ErrOverflow when
// it does not fit in an int64. This is the only way amounts reach a provider.
func (a Amount) MinorUnits() (int64, error) {
	if !a.currency.Known() {
		return 0, fmt.Errorf("%w: %q", ErrUnknownCurrency, string(a.currency))
	}
	if !a.IsWhole() {
		return 0, fmt.Errorf("%w: %s", ErrPrecisionLoss, a)
	}
	units := a.value.Shift(a.currency.Exponent())
	if units.GreaterThan(decimal.NewFromInt(math.MaxInt64)) || units.LessThan(decimal.NewFromInt(math.MinInt64)) {
		return 0, fmt.Errorf("%w: %s", ErrOverflow, a)
	}
	return units.IntPart(), nil
}

// Round returns the amount rounded to its currency's minor unit under rule.
func (a Amount) Round(rule RoundingRule) (Amount, error) {
	if !a.currency.Known() {
		return Amount{}, fmt.Errorf("%w: %q", ErrUnknownCurrency, string(a.currency))
	}
	d, err := roundTo(a.value, a.currency.Exponent(), rule)
	if err != nil {
		return Amount{}, err
	}
	return Amount{value: d, currency: a.currency}, nil
}

// Add returns a + b; both must be in the same currency.
func (a Amount) Add(b Amount) (Amount, error) {
	if err := a.sameCurrency(b); err != nil {
		return Amount{}, err
	}
	return Amount{value: a.value.Add(b.value), currency: a.currency}, nil
}

// Sub returns a - b; both must be in the same currency.
func (a Amount) Sub(b Amount) (Amount, error) {
	if err := a.sameCurrency(b); err != nil {
		return Amount{}, err
	}
	return Amount{value: a.value.Sub(b.value), currency: a.currency}, nil
}

// Cmp compares a and b (-1, 0, +1); both must be in the same currency.
func (a Amount) Cmp(b Amount) (int, error) {
	if err := a.sameCurrency(b); err != nil {
		return 0, err
	}
	return a.value.Cmp(b.value), nil
}

// Mul returns a multiplied by an exact factor, unrounded.
func (a Amount) Mul(factor decimal.Decimal) Amount {
	return Amount{value: a.value.Mul(factor), currency: a.currency}
}

// Neg returns -a.
func (a Amount) Neg() Amount { return Amount{value: a.value.Neg(), currency: a.currency} }

// IsZero reports whether the value is zero.
func (a Amount) IsZero() bool { return a.value.IsZero() }

// IsPositive reports whether the value is greater than zero.
func (a Amount) IsPositive() bool { return a.value.IsPositive() }

// IsNegative reports whether the value is less than zero.
func (a Amount) IsNegative() bool { return a.value.IsNegative() }

// Equal reports whether a and b have the same currency and value.
func (a Amount) Equal(b Amount) bool {
	return a.currency == b.currency && a.value.Equal(b.value)
}

// Number formats the value with exactly the currency's minor-unit places ("12.30"),
// as providers expect in their amount fields.
func (a Amount) Number() string {
	if !a.currency.Known() {
		return a.value.String()
	}
	return a.value.StringFixed(a.currency.Exponent())
}

// String formats the amount as "12.30 CNY".
func (a Amount) String() string {
	if a.currency == "" {
		return a.value.String()
	}
	return a.Number() + " " + string(a.currency)
}

func (a Amount) sameCurrency(b Amount) error {
	if a.currency != b.currency {
		return fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, a.currency, b.currency)
	}
	return nil
}

// amountJSON is the wire form of an Amount: the value as a decimal string so
// that no JSON reader turns it into a float.
type amountJSON struct {
	Value    string   `json:"value"`
	Currency Currency `json:"currency"`
}

// MarshalJSON encodes the amount as {"value":"12.30","currency":"CNY"}: a whole
// number of minor units with exactly the currency's places, an intermediate
// value with all its digits, and the zero Amount as {"value":"","currency":""}.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.currency == "" && a.value.IsZero() {
		// The zero Amount ("no amount") as UnmarshalJSON reads it back.
		return json.Marshal(amountJSON{})
	}
	v := a.value.String()
	if a.IsWhole() {
		v = a.Number()
	}
	return json.Marshal(amountJSON{Value: v, Currency: a.currency})
}

// UnmarshalJSON decodes {"value":"12.30","currency":"CNY"}; the value must be a
// string holding a plain decimal (as Parse accepts, no exponent), never a JSON number.
func (a *Amount) UnmarshalJSON(b []byte) error {
	var w amountJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidAmount, err)
	}
	if w.Currency == "" && w.Value == "" {
		*a = Amount{}
		return nil
	}
	if !w.Currency.Known() {
		return fmt.Errorf("%w: %q", ErrUnknownCurrency, string(w.Currency))
	}
	if !isPlainDecimal(w.Value) {
		return fmt.Errorf("%w: %q is not a plain decimal number", ErrInvalidAmount, w.Value)
	}
	d, err := decimal.NewFromString(w.Value)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidAmount, w.Value, err)
	}
	*a = Amount{value: d, currency: w.Currency}
	return nil
}
