package money_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
)

// FuzzMinorRoundTrip checks that any int64 of minor units survives FromMinor and
// MinorUnits unchanged in every currency, and that the provider text form
// (Number) parses back to the same amount.
func FuzzMinorRoundTrip(f *testing.F) {
	for _, u := range []int64{0, 1, -1, 99, 100, -12345, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, units int64) {
		for _, c := range money.Currencies() {
			a, err := money.FromMinor(units, c)
			require.NoError(t, err)
			require.True(t, a.IsWhole())
			back, err := a.MinorUnits()
			require.NoError(t, err, "%s", c)
			require.Equal(t, units, back, "%s", c)

			parsed, err := money.Parse(a.Number(), c)
			require.NoError(t, err, "%s %q", c, a.Number())
			require.True(t, parsed.Equal(a), "%s: %s parsed back as %s", c, a, parsed)
		}
	})
}

// fuzzWeights reads up to 12 weights from raw: two bytes each, the i-th with
// i%3 decimal places, so that weights of mixed exponents and zeros both occur.
func fuzzWeights(raw []byte) []decimal.Decimal {
	n := min(len(raw)/2, 12)
	ws := make([]decimal.Decimal, n)
	for i := range n {
		ws[i] = decimal.New(int64(binary.BigEndian.Uint16(raw[2*i:])), -int32(i%3))
	}
	return ws
}

// FuzzAllocateSums checks the allocation invariants: the parts sum exactly to
// the amount, each part is within one minor unit of its exact share (and has
// its sign), and a zero weight gets nothing.
func FuzzAllocateSums(f *testing.F) {
	f.Add(int64(10000), false, []byte{0, 1, 0, 1, 0, 1})
	f.Add(int64(-10000), false, []byte{0, 1, 0, 2, 0, 3})
	f.Add(int64(1), true, []byte{0, 0, 0, 1, 0, 1})
	f.Add(int64(0), false, []byte{0, 5})
	f.Add(int64(7), false, []byte{0, 0, 0, 0})
	f.Add(int64(7), false, []byte{})
	f.Add(int64(math.MaxInt64), false, []byte{255, 255, 0, 1, 0, 3})
	f.Add(int64(math.MinInt64), false, []byte{0, 1, 0, 1})
	f.Add(int64(math.MinInt64+1), true, []byte{1, 0, 0, 7, 0, 0, 3, 3})
	f.Fuzz(func(t *testing.T, units int64, yen bool, raw []byte) {
		c := money.CNY
		if yen {
			c = money.JPY
		}
		a, err := money.FromMinor(units, c)
		require.NoError(t, err)
		ws := fuzzWeights(raw)
		total := decimal.Zero
		for _, w := range ws {
			total = total.Add(w)
		}

		parts, err := a.Allocate(ws...)
		switch {
		case len(ws) == 0 || total.IsZero():
			require.ErrorIs(t, err, money.ErrInvalidAllocation)
			return
		case units == math.MinInt64:
			require.ErrorIs(t, err, money.ErrOverflow)
			return
		}
		require.NoError(t, err)
		require.Len(t, parts, len(ws))

		sum, err := money.Sum(c, parts...)
		require.NoError(t, err)
		require.True(t, sum.Equal(a), "parts %v sum to %s, want %s", parts, sum, a)

		// |part - units*w/W| < 1 unit  <=>  |part*W - units*w| < W (exact, no division).
		u := decimal.NewFromInt(units)
		for i, p := range parts {
			pu, err := p.MinorUnits()
			require.NoError(t, err)
			dev := decimal.NewFromInt(pu).Mul(total).Sub(u.Mul(ws[i])).Abs()
			require.True(t, dev.LessThan(total), "part %d = %d units is not within one unit of %s x %s / %s", i, pu, u, ws[i], total)
			if ws[i].IsZero() {
				require.Zero(t, pu, "part %d has zero weight", i)
			}
			require.False(t, pu != 0 && (pu < 0) != (units < 0), "part %d = %d has the wrong sign for %d", i, pu, units)
		}
	})
}

// FuzzConvertMonotonic checks that conversion at a positive rate preserves
// order (a <= b implies Convert(a) <= Convert(b)) under every rounding rule,
// and that the three rules are symmetric about zero.
func FuzzConvertMonotonic(f *testing.F) {
	f.Add(int64(100), int64(101), uint32(138), uint8(3), false)
	f.Add(int64(-5), int64(5), uint32(125), uint8(3), false)
	f.Add(int64(1001), int64(1002), uint32(205), uint8(1), true)
	f.Add(int64(0), int64(0), uint32(1), uint8(9), true)
	f.Add(int64(math.MinInt64), int64(math.MaxInt64), uint32(999999999), uint8(0), false)
	f.Fuzz(func(t *testing.T, x, y int64, rateDigits uint32, rateScale uint8, toYen bool) {
		if x > y {
			x, y = y, x
		}
		// A positive rate with up to 9 significant digits and up to 9 places.
		rate := decimal.New(int64(rateDigits%1_000_000_000)+1, -int32(rateScale%10))
		q := money.Quote{Base: money.CNY, Counter: money.USD, Rate: rate}
		if toYen {
			q.Counter = money.JPY
		}
		a, err := money.FromMinor(x, money.CNY)
		require.NoError(t, err)
		b, err := money.FromMinor(y, money.CNY)
		require.NoError(t, err)

		for _, rule := range []money.RoundingRule{money.HalfUp, money.HalfEven, money.Down} {
			ca, err := q.Convert(a, rule)
			require.NoError(t, err)
			cb, err := q.Convert(b, rule)
			require.NoError(t, err)
			require.True(t, ca.IsWhole() && cb.IsWhole())
			cmp, err := ca.Cmp(cb)
			require.NoError(t, err)
			require.LessOrEqual(t, cmp, 0, "%s: %s <= %s but %s > %s at %s", rule, a, b, ca, cb, rate)

			neg, err := q.Convert(a.Neg(), rule)
			require.NoError(t, err)
			require.True(t, neg.Equal(ca.Neg()), "%s: Convert(-%s) = %s, want %s", rule, a, neg, ca.Neg())
		}
	})
}
