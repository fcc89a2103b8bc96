package money

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// ErrInvalidQuote is returned for a quote with a non-positive rate or unknown currencies.
var ErrInvalidQuote = errors.New("money: invalid FX quote")

// Quote is an FX rate: one unit of Base buys Rate units of Counter, as seen by
// Source at At.
type Quote struct {
	// Base is the currency converted from (CNY for settlements).
	Base Currency `json:"base"`
	// Counter is the currency converted to (the merchant's home currency).
	Counter Currency `json:"counter"`
	// Rate is how many units of Counter one unit of Base buys.
	Rate decimal.Decimal `json:"rate"`
	// At is when the rate was quoted.
	At time.Time `json:"at"`
	// Source names who quoted it (a provider or rate feed).
	Source string `json:"source"`
}

// Pair returns the quote's pair as "CNY/USD".
func (q Quote) Pair() string { return string(q.Base) + "/" + string(q.Counter) }

// Validate checks the currencies are known and the rate positive.
func (q Quote) Validate() error {
	if !q.Base.Known() || !q.Counter.Known() {
		return fmt.Errorf("%w: pair %s", ErrInvalidQuote, q.Pair())
	}
	if !q.Rate.IsPositive() {
		return fmt.Errorf("%w: rate %s must be positive", ErrInvalidQuote, q.Rate)
	}
	return nil
}

// Convert turns an amount in Base into Counter at the quote's rate, rounding
// once to Counter's minor unit under rule.
func (q Quote) Convert(a Amount, rule RoundingRule) (Amount, error) {
	if err := q.Validate(); err != nil {
		return Amount{}, err
	}
	if a.currency != q.Base {
		return Amount{}, fmt.Errorf("%w: quote %s cannot convert %s", ErrCurrencyMismatch, q.Pair(), a.currency)
	}
	return Amount{value: a.value.Mul(q.Rate), currency: q.Counter}.Round(rule)
}

// Inverse returns the quote for the opposite direction (Counter/Base), with the
// rate computed to 12 decimal places under banker's rounding.
func (q Quote) Inverse() (Quote, error) {
	if err := q.Validate(); err != nil {
		return Quote{}, err
	}
	return Quote{
		Base: q.Counter, Counter: q.Base,
		Rate: decimal.NewFromInt(1).DivRound(q.Rate, 12),
		At:   q.At, Source: q.Source,
	}, nil
}
