package money

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// RoundingRule names how a value is rounded to a currency's minor unit.
type RoundingRule string

const (
	// HalfUp rounds halves away from zero (commercial rounding, as Chinese
	// customs and most payment providers round fen). It is the project's rule
	// for tax and FX conversion.
	HalfUp RoundingRule = "half-up"
	// HalfEven rounds halves to the even neighbour (banker's rounding).
	HalfEven RoundingRule = "half-even"
	// Down truncates toward zero; used where a party must never be given more
	// than it is owed (for example the last-but-one instalment of an allocation).
	Down RoundingRule = "down"
)

// DefaultRounding is the rule the project applies when it must round once:
// conversion of an FX quote and computed taxes.
const DefaultRounding = HalfUp

// roundTo rounds d to places decimal places under rule.
func roundTo(d decimal.Decimal, places int32, rule RoundingRule) (decimal.Decimal, error) {
	switch rule {
	case HalfUp:
		return d.Round(places), nil
	case HalfEven:
		return d.RoundBank(places), nil
	case Down:
		return d.Truncate(places), nil
	default:
		return decimal.Decimal{}, fmt.Errorf("money: unknown rounding rule %q", string(rule))
	}
}
