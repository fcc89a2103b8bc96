package money

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/shopspring/decimal"
)

// ErrInvalidAllocation is returned for an allocation with no parts or a negative or all-zero weight.
var ErrInvalidAllocation = errors.New("money: invalid allocation")

// Split divides a whole-minor-unit amount into n parts that differ by at most one
// minor unit and sum exactly to a; the larger parts come first (for instalments).
func (a Amount) Split(n int) ([]Amount, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: %d parts", ErrInvalidAllocation, n)
	}
	weights := make([]decimal.Decimal, n)
	for i := range weights {
		weights[i] = decimal.NewFromInt(1)
	}
	return a.Allocate(weights...)
}

// Allocate divides a whole-minor-unit amount in proportion to weights, so the
// parts sum exactly to a. Each part is first rounded toward zero to the minor
// unit; the remaining minor units go one each to the parts with the largest
// remainders (ties to the earlier part) — the largest-remainder method.
func (a Amount) Allocate(weights ...decimal.Decimal) ([]Amount, error) {
	if len(weights) == 0 {
		return nil, fmt.Errorf("%w: no parts", ErrInvalidAllocation)
	}
	total := decimal.Zero
	for i, w := range weights {
		if w.IsNegative() {
			return nil, fmt.Errorf("%w: weight %d is negative", ErrInvalidAllocation, i)
		}
		total = total.Add(w)
	}
	if total.IsZero() {
		return nil, fmt.Errorf("%w: weights sum to zero", ErrInvalidAllocation)
	}
	units, err := a.MinorUnits()
	if err != nil {
		return nil, err
	}
	if units == math.MinInt64 {
		// Its magnitude does not fit in an int64, so the sign cannot be split off.
		return nil, fmt.Errorf("%w: cannot allocate %s", ErrOverflow, a)
	}
	sign := int64(1)
	if units < 0 {
		sign, units = -1, -units
	}
	// Exact integer arithmetic: scale every weight to a common exponent, then
	// part_i = floor(units * w_i / W) with remainder (units * w_i) mod W.
	minExp := int32(0)
	for _, w := range weights {
		minExp = min(minExp, w.Exponent())
	}
	scaled := make([]*big.Int, len(weights))
	sumW := new(big.Int)
	for i, w := range weights {
		scaled[i] = w.Shift(-minExp).BigInt()
		sumW.Add(sumW, scaled[i])
	}
	bigUnits := big.NewInt(units)
	parts := make([]int64, len(weights))
	rems := make([]*big.Int, len(weights))
	var given int64
	for i := range weights {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(bigUnits, scaled[i]), sumW, new(big.Int))
		parts[i] = q.Int64()
		rems[i] = r
		given += parts[i]
	}
	for left := units - given; left > 0; left-- {
		best := -1
		for i := range rems {
			if scaled[i].Sign() == 0 {
				continue
			}
			if best == -1 || rems[i].Cmp(rems[best]) > 0 {
				best = i
			}
		}
		parts[best]++
		rems[best] = big.NewInt(-1)
	}
	out := make([]Amount, len(parts))
	for i, p := range parts {
		out[i] = Amount{value: decimal.New(sign*p, -a.currency.Exponent()), currency: a.currency}
	}
	return out, nil
}

// Sum adds amounts of one currency; it returns the zero amount of c for none.
func Sum(c Currency, amounts ...Amount) (Amount, error) {
	total := Zero(c)
	for _, x := range amounts {
		var err error
		if total, err = total.Add(x); err != nil {
			return Amount{}, err
		}
	}
	return total, nil
}
