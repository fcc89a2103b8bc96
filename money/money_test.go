package money_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// amt builds an amount with an arbitrary (possibly sub-minor-unit) value.
func amt(t *testing.T, s string, c money.Currency) money.Amount {
	t.Helper()
	a, err := money.New(dec(s), c)
	require.NoError(t, err)
	return a
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		cur     money.Currency
		want    string // Amount.String() on success
		wantErr error
	}{
		{"plain", "12.34", money.CNY, "12.34 CNY", nil},
		{"integer", "100", money.CNY, "100.00 CNY", nil},
		{"one place", "12.3", money.CNY, "12.30 CNY", nil},
		{"trailing zero beyond the minor unit is still whole", "12.340", money.CNY, "12.34 CNY", nil},
		{"negative", "-0.5", money.CNY, "-0.50 CNY", nil},
		{"explicit plus", "+7", money.CNY, "7.00 CNY", nil},
		{"no integer digits", ".5", money.CNY, "0.50 CNY", nil},
		{"zero", "0", money.CNY, "0.00 CNY", nil},
		{"JPY integer", "12", money.JPY, "12 JPY", nil},
		{"JPY with zero decimals", "12.0", money.JPY, "12 JPY", nil},
		{"thirty integer digits", strings.Repeat("9", 30), money.USD, strings.Repeat("9", 30) + ".00 USD", nil},
		{"CNY three places", "12.345", money.CNY, "", money.ErrPrecisionLoss},
		{"JPY fraction", "12.5", money.JPY, "", money.ErrPrecisionLoss},
		{"KRW fraction", "0.1", money.KRW, "", money.ErrPrecisionLoss},
		{"exponent", "1e3", money.CNY, "", money.ErrInvalidAmount},
		{"upper-case exponent", "1E3", money.CNY, "", money.ErrInvalidAmount},
		{"thousands separator", "1,000", money.CNY, "", money.ErrInvalidAmount},
		{"decimal comma", "12,50", money.CNY, "", money.ErrInvalidAmount},
		{"empty", "", money.CNY, "", money.ErrInvalidAmount},
		{"leading space", " 12", money.CNY, "", money.ErrInvalidAmount},
		{"trailing space", "12 ", money.CNY, "", money.ErrInvalidAmount},
		{"trailing dot", "12.", money.CNY, "", money.ErrInvalidAmount},
		{"only dot", ".", money.CNY, "", money.ErrInvalidAmount},
		{"only sign", "-", money.CNY, "", money.ErrInvalidAmount},
		{"double sign", "--1", money.CNY, "", money.ErrInvalidAmount},
		{"two dots", "1.2.3", money.CNY, "", money.ErrInvalidAmount},
		{"hex", "0x10", money.CNY, "", money.ErrInvalidAmount},
		{"NaN", "NaN", money.CNY, "", money.ErrInvalidAmount},
		{"infinity", "Inf", money.CNY, "", money.ErrInvalidAmount},
		{"full-width digits", "１２", money.CNY, "", money.ErrInvalidAmount},
		{"currency symbol", "¥12", money.CNY, "", money.ErrInvalidAmount},
		{"thirty-one integer digits", strings.Repeat("9", 31), money.CNY, "", money.ErrInvalidAmount},
		{"unknown currency", "12", money.Currency("XYZ"), "", money.ErrUnknownCurrency},
		{"lower-case currency code", "12", money.Currency("cny"), "", money.ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.Parse(tt.in, tt.cur)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Panics(t, func() { money.MustParse(tt.in, tt.cur) })
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
			assert.Equal(t, tt.cur, got.Currency())
			assert.True(t, got.IsWhole())
		})
	}
}

func TestParseCurrency(t *testing.T) {
	c, err := money.ParseCurrency(" usd ")
	require.NoError(t, err)
	assert.Equal(t, money.USD, c)
	_, err = money.ParseCurrency("RMB")
	require.ErrorIs(t, err, money.ErrUnknownCurrency)
	for _, c := range money.Currencies() {
		assert.True(t, c.Known(), c)
	}
	assert.Panics(t, func() { money.Currency("XYZ").Exponent() })
}

func TestMinorUnits(t *testing.T) {
	tests := []struct {
		name  string
		units int64
		cur   money.Currency
		want  string // Number()
	}{
		{"fen", 1234, money.CNY, "12.34"},
		{"one fen", 1, money.CNY, "0.01"},
		{"minus one fen", -1, money.CNY, "-0.01"},
		{"zero", 0, money.CNY, "0.00"},
		{"yen", 1234, money.JPY, "1234"},
		{"won", -5, money.KRW, "-5"},
		{"max int64", math.MaxInt64, money.CNY, "92233720368547758.07"},
		{"min int64", math.MinInt64, money.USD, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := money.FromMinor(tt.units, tt.cur)
			require.NoError(t, err)
			assert.Equal(t, tt.want, a.Number())
			back, err := a.MinorUnits()
			require.NoError(t, err)
			assert.Equal(t, tt.units, back)
		})
	}
}

func TestMinorUnitsErrors(t *testing.T) {
	_, err := money.FromMinor(1, money.Currency("XYZ"))
	require.ErrorIs(t, err, money.ErrUnknownCurrency)

	_, err = amt(t, "12.345", money.CNY).MinorUnits()
	require.ErrorIs(t, err, money.ErrPrecisionLoss)

	_, err = amt(t, "0.5", money.JPY).MinorUnits()
	require.ErrorIs(t, err, money.ErrPrecisionLoss)

	// One fen past the int64 range in each direction.
	_, err = amt(t, "92233720368547758.08", money.CNY).MinorUnits()
	require.ErrorIs(t, err, money.ErrOverflow)
	_, err = amt(t, "-92233720368547758.09", money.CNY).MinorUnits()
	require.ErrorIs(t, err, money.ErrOverflow)

	_, err = money.Amount{}.MinorUnits()
	require.ErrorIs(t, err, money.ErrUnknownCurrency)

	_, err = money.New(decimal.NewFromInt(1), money.Currency("XYZ"))
	require.ErrorIs(t, err, money.ErrUnknownCurrency)
}

func TestArithmeticCurrencyMismatch(t *testing.T) {
	cny := money.MustParse("10.00", money.CNY)
	usd := money.MustParse("10.00", money.USD)

	_, err := cny.Add(usd)
	require.ErrorIs(t, err, money.ErrCurrencyMismatch)
	_, err = cny.Sub(usd)
	require.ErrorIs(t, err, money.ErrCurrencyMismatch)
	_, err = cny.Cmp(usd)
	require.ErrorIs(t, err, money.ErrCurrencyMismatch)
	_, err = cny.Add(money.Amount{})
	require.ErrorIs(t, err, money.ErrCurrencyMismatch)
	_, err = money.Sum(money.CNY, cny, usd)
	require.ErrorIs(t, err, money.ErrCurrencyMismatch)
	assert.False(t, cny.Equal(usd), "same value in different currencies is not equal")
}

func TestArithmetic(t *testing.T) {
	a := money.MustParse("10.05", money.CNY)
	b := money.MustParse("2.10", money.CNY)

	sum, err := a.Add(b)
	require.NoError(t, err)
	assert.Equal(t, "12.15 CNY", sum.String())

	diff, err := b.Sub(a)
	require.NoError(t, err)
	assert.Equal(t, "-7.95 CNY", diff.String())
	assert.True(t, diff.IsNegative())

	for _, tt := range []struct {
		x, y money.Amount
		want int
	}{{a, b, 1}, {b, a, -1}, {a, money.MustParse("10.050", money.CNY), 0}} {
		got, err := tt.x.Cmp(tt.y)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%s cmp %s", tt.x, tt.y)
	}

	total, err := money.Sum(money.CNY, a, b, b.Neg())
	require.NoError(t, err)
	assert.True(t, total.Equal(a))
	none, err := money.Sum(money.JPY)
	require.NoError(t, err)
	assert.True(t, none.IsZero())
	assert.Equal(t, money.JPY, none.Currency())

	assert.Equal(t, "1.5075", a.Mul(dec("0.15")).Decimal().String(), "Mul stays unrounded")
	assert.True(t, money.Zero(money.CNY).IsZero())
	assert.False(t, money.Zero(money.CNY).IsPositive())
}

func TestRound(t *testing.T) {
	tests := []struct {
		in   string
		cur  money.Currency
		rule money.RoundingRule
		want string
	}{
		{"2.345", money.CNY, money.HalfUp, "2.35"},
		{"2.345", money.CNY, money.HalfEven, "2.34"},
		{"2.345", money.CNY, money.Down, "2.34"},
		{"-2.345", money.CNY, money.HalfUp, "-2.35"},
		{"-2.345", money.CNY, money.HalfEven, "-2.34"},
		{"-2.345", money.CNY, money.Down, "-2.34"},
		{"2.355", money.CNY, money.HalfEven, "2.36"},
		{"-2.355", money.CNY, money.HalfEven, "-2.36"},
		{"2.3449999", money.CNY, money.HalfUp, "2.34"},
		{"2.3450001", money.CNY, money.HalfEven, "2.35"},
		{"-2.3450001", money.CNY, money.HalfEven, "-2.35"},
		{"2.349", money.CNY, money.Down, "2.34"},
		{"-2.349", money.CNY, money.Down, "-2.34"},
		{"0.005", money.CNY, money.HalfUp, "0.01"},
		{"-0.005", money.CNY, money.HalfUp, "-0.01"},
		{"0.005", money.CNY, money.HalfEven, "0.00"},
		{"2.5", money.JPY, money.HalfUp, "3"},
		{"2.5", money.JPY, money.HalfEven, "2"},
		{"3.5", money.JPY, money.HalfEven, "4"},
		{"-2.5", money.JPY, money.HalfUp, "-3"},
		{"-2.5", money.JPY, money.HalfEven, "-2"},
		{"2.99", money.JPY, money.Down, "2"},
		{"12.3", money.CNY, money.HalfUp, "12.30"},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule)+" "+tt.in+" "+string(tt.cur), func(t *testing.T) {
			got, err := amt(t, tt.in, tt.cur).Round(tt.rule)
			require.NoError(t, err)
			assert.True(t, got.Decimal().Equal(dec(tt.want)), "got %s want %s", got.Decimal(), tt.want)
			assert.True(t, got.IsWhole())
			assert.Equal(t, tt.cur, got.Currency())
		})
	}
	assert.Equal(t, money.HalfUp, money.DefaultRounding)
}

func TestRoundErrors(t *testing.T) {
	_, err := money.MustParse("1.00", money.CNY).Round(money.RoundingRule("ceiling"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ceiling")

	// The zero Amount has no currency and so no minor unit: an error, not a panic.
	_, err = money.Amount{}.Round(money.HalfUp)
	require.ErrorIs(t, err, money.ErrUnknownCurrency)
}

func numbers(parts []money.Amount) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.Number()
	}
	return out
}

func TestSplit(t *testing.T) {
	tests := []struct {
		amount string
		cur    money.Currency
		n      int
		want   []string
	}{
		{"100.00", money.CNY, 3, []string{"33.34", "33.33", "33.33"}},
		{"100.00", money.CNY, 1, []string{"100.00"}},
		{"0.02", money.CNY, 3, []string{"0.01", "0.01", "0.00"}},
		{"-100.00", money.CNY, 3, []string{"-33.34", "-33.33", "-33.33"}},
		{"0.00", money.CNY, 2, []string{"0.00", "0.00"}},
		{"10", money.JPY, 3, []string{"4", "3", "3"}},
		{"100.00", money.CNY, 6, []string{"16.67", "16.67", "16.67", "16.67", "16.66", "16.66"}},
	}
	for _, tt := range tests {
		t.Run(tt.amount+"/"+string(rune('0'+tt.n)), func(t *testing.T) {
			parts, err := money.MustParse(tt.amount, tt.cur).Split(tt.n)
			require.NoError(t, err)
			assert.Equal(t, tt.want, numbers(parts))
		})
	}
	_, err := money.MustParse("1.00", money.CNY).Split(0)
	require.ErrorIs(t, err, money.ErrInvalidAllocation)
	_, err = money.MustParse("1.00", money.CNY).Split(-1)
	require.ErrorIs(t, err, money.ErrInvalidAllocation)
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		name    string
		amount  money.Amount
		weights []string
		want    []string
	}{
		// exact shares 16.666.., 33.333.., 50: floors 16.66+33.33+50.00 = 99.99; the
		// spare fen goes to the largest remainder (0.666.. fen, the first part).
		{"weights 1:2:3", money.MustParse("100.00", money.CNY), []string{"1", "2", "3"}, []string{"16.67", "33.33", "50.00"}},
		{"fractional weights", money.MustParse("1.00", money.CNY), []string{"0.5", "0.25", "0.25"}, []string{"0.50", "0.25", "0.25"}},
		{"mixed exponents", money.MustParse("10.00", money.CNY), []string{"1.5", "2", "0.05"}, []string{"4.23", "5.63", "0.14"}},
		{"zero weight gets nothing", money.MustParse("10.00", money.CNY), []string{"0", "1", "1"}, []string{"0.00", "5.00", "5.00"}},
		{"spare unit never goes to a zero weight", money.MustParse("0.01", money.CNY), []string{"0", "1", "1"}, []string{"0.00", "0.01", "0.00"}},
		{"negative amount", money.MustParse("-100.00", money.CNY), []string{"1", "2", "3"}, []string{"-16.67", "-33.33", "-50.00"}},
		{"negative odd fen", money.MustParse("-0.05", money.CNY), []string{"1", "1"}, []string{"-0.03", "-0.02"}},
		{"yen", money.MustParse("1000", money.JPY), []string{"1", "1", "1"}, []string{"334", "333", "333"}},
		{"largest remainder not first", money.MustParse("1.00", money.CNY), []string{"1", "2"}, []string{"0.33", "0.67"}},
		{"max int64 fen", mustMinor(t, math.MaxInt64, money.CNY), []string{"1", "1"}, []string{"46116860184273879.04", "46116860184273879.03"}},
		{"min int64 + 1 fen", mustMinor(t, math.MinInt64+1, money.CNY), []string{"1", "1"}, []string{"-46116860184273879.04", "-46116860184273879.03"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := make([]decimal.Decimal, len(tt.weights))
			for i, w := range tt.weights {
				ws[i] = dec(w)
			}
			parts, err := tt.amount.Allocate(ws...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, numbers(parts))
			sum, err := money.Sum(tt.amount.Currency(), parts...)
			require.NoError(t, err)
			assert.True(t, sum.Equal(tt.amount), "parts sum to %s, want %s", sum, tt.amount)
		})
	}
}

func mustMinor(t *testing.T, units int64, c money.Currency) money.Amount {
	t.Helper()
	a, err := money.FromMinor(units, c)
	require.NoError(t, err)
	return a
}

func TestAllocateErrors(t *testing.T) {
	one := decimal.NewFromInt(1)
	tests := []struct {
		name    string
		amount  money.Amount
		weights []decimal.Decimal
		wantErr error
	}{
		{"no weights", money.MustParse("1.00", money.CNY), nil, money.ErrInvalidAllocation},
		{"negative weight", money.MustParse("1.00", money.CNY), []decimal.Decimal{one, one.Neg()}, money.ErrInvalidAllocation},
		{"all zero", money.MustParse("1.00", money.CNY), []decimal.Decimal{decimal.Zero, decimal.Zero}, money.ErrInvalidAllocation},
		{"sub-fen amount", amt(t, "1.005", money.CNY), []decimal.Decimal{one}, money.ErrPrecisionLoss},
		{"no currency", money.Amount{}, []decimal.Decimal{one}, money.ErrUnknownCurrency},
		// -MinInt64 does not fit in an int64; this used to hand back positive parts.
		{"min int64 fen", mustMinor(t, math.MinInt64, money.CNY), []decimal.Decimal{one, one}, money.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.amount.Allocate(tt.weights...)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestQuoteConvert(t *testing.T) {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	usd := money.Quote{Base: money.CNY, Counter: money.USD, Rate: dec("0.138"), At: at, Source: "test"}
	eighth := money.Quote{Base: money.CNY, Counter: money.USD, Rate: dec("0.125")}
	jpy := money.Quote{Base: money.CNY, Counter: money.JPY, Rate: dec("20.5")}
	tests := []struct {
		name string
		q    money.Quote
		in   string
		rule money.RoundingRule
		want string
	}{
		{"exact", usd, "100.00", money.HalfUp, "13.80 USD"},
		{"12.34 x 0.138 = 1.70292", usd, "12.34", money.HalfUp, "1.70 USD"},
		{"0.20 x 0.125 = 0.025 half-up", eighth, "0.20", money.HalfUp, "0.03 USD"},
		{"0.20 x 0.125 = 0.025 half-even", eighth, "0.20", money.HalfEven, "0.02 USD"},
		{"0.20 x 0.125 = 0.025 down", eighth, "0.20", money.Down, "0.02 USD"},
		{"-0.20 x 0.125 = -0.025 half-up", eighth, "-0.20", money.HalfUp, "-0.03 USD"},
		{"10.01 x 20.5 = 205.205 to yen", jpy, "10.01", money.HalfUp, "205 JPY"},
		{"0.02 x 20.5 = 0.41 yen", jpy, "0.02", money.HalfUp, "0 JPY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.Convert(money.MustParse(tt.in, money.CNY), tt.rule)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
			assert.True(t, got.IsWhole())
		})
	}
	assert.Equal(t, "CNY/USD", usd.Pair())
}

func TestQuoteErrors(t *testing.T) {
	cny := money.MustParse("1.00", money.CNY)
	tests := []struct {
		name    string
		q       money.Quote
		in      money.Amount
		wantErr error
	}{
		{"zero rate", money.Quote{Base: money.CNY, Counter: money.USD, Rate: decimal.Zero}, cny, money.ErrInvalidQuote},
		{"negative rate", money.Quote{Base: money.CNY, Counter: money.USD, Rate: dec("-0.1")}, cny, money.ErrInvalidQuote},
		{"unknown counter", money.Quote{Base: money.CNY, Counter: "XYZ", Rate: dec("1")}, cny, money.ErrInvalidQuote},
		{"amount not in base", money.Quote{Base: money.CNY, Counter: money.USD, Rate: dec("0.138")}, money.MustParse("1.00", money.EUR), money.ErrCurrencyMismatch},
		{"zero Amount", money.Quote{Base: money.CNY, Counter: money.USD, Rate: dec("0.138")}, money.Amount{}, money.ErrCurrencyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.q.Convert(tt.in, money.HalfUp)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
	_, err := money.Quote{Base: money.CNY, Counter: money.USD}.Inverse()
	require.ErrorIs(t, err, money.ErrInvalidQuote)
}

func TestQuoteInverse(t *testing.T) {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		rate string
		want string
	}{
		{"0.138", "7.246376811594"}, // 1/0.138 = 7.24637681159420289.. (13th place 2: down)
		{"8", "0.125"},
		{"7.2", "0.138888888889"}, // 0.1388..8|8.. rounds up at the 12th place
		{"3", "0.333333333333"},
	}
	for _, tt := range tests {
		t.Run(tt.rate, func(t *testing.T) {
			q := money.Quote{Base: money.CNY, Counter: money.USD, Rate: dec(tt.rate), At: at, Source: "feed"}
			inv, err := q.Inverse()
			require.NoError(t, err)
			assert.Equal(t, money.USD, inv.Base)
			assert.Equal(t, money.CNY, inv.Counter)
			assert.True(t, inv.Rate.Equal(dec(tt.want)), "got %s want %s", inv.Rate, tt.want)
			assert.Equal(t, at, inv.At)
			assert.Equal(t, "feed", inv.Source)

			// Converting there and back stays within a fen for an ordinary amount.
			there, err := q.Convert(money.MustParse("1000.00", money.CNY), money.HalfUp)
			require.NoError(t, err)
			back, err := inv.Convert(there, money.HalfUp)
			require.NoError(t, err)
			assert.Equal(t, money.CNY, back.Currency())
		})
	}
	// There and back for 0.138: 1000.00 CNY -> 138.00 USD -> 138 x 7.246376811594 = 999.999999999972 -> 1000.00 CNY.
	q := money.Quote{Base: money.CNY, Counter: money.USD, Rate: dec("0.138")}
	inv, err := q.Inverse()
	require.NoError(t, err)
	back, err := inv.Convert(money.MustParse("138.00", money.USD), money.HalfUp)
	require.NoError(t, err)
	assert.Equal(t, "1000.00 CNY", back.String())
}

func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   money.Amount
		wire string
	}{
		{"minor-unit places kept", money.MustParse("12.30", money.CNY), `{"value":"12.30","currency":"CNY"}`},
		{"integer CNY", money.MustParse("100", money.CNY), `{"value":"100.00","currency":"CNY"}`},
		{"negative", money.MustParse("-0.05", money.USD), `{"value":"-0.05","currency":"USD"}`},
		{"yen", money.MustParse("1234", money.JPY), `{"value":"1234","currency":"JPY"}`},
		{"intermediate precision kept", amt(t, "1.2345", money.CNY), `{"value":"1.2345","currency":"CNY"}`},
		{"zero Amount", money.Amount{}, `{"value":"","currency":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wire, string(b))
			var back money.Amount
			require.NoError(t, json.Unmarshal(b, &back))
			assert.True(t, back.Equal(tt.in), "got %s want %s", back, tt.in)
		})
	}

	// Inside a struct, including an unset amount.
	type order struct {
		Price   money.Amount `json:"price"`
		Freight money.Amount `json:"freight"`
	}
	b, err := json.Marshal(order{Price: money.MustParse("9.90", money.CNY)})
	require.NoError(t, err)
	var back order
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, "9.90 CNY", back.Price.String())
	assert.Equal(t, money.Currency(""), back.Freight.Currency())
	assert.True(t, back.Freight.IsZero())
}

func TestJSONRejects(t *testing.T) {
	tests := []struct {
		name    string
		wire    string
		wantErr error
		msg     string // a fragment the error must carry
	}{
		{"JSON number value", `{"value":12.30,"currency":"CNY"}`, money.ErrInvalidAmount, "number"},
		{"exponent string", `{"value":"1e3","currency":"CNY"}`, money.ErrInvalidAmount, "1e3"},
		{"thousands separator", `{"value":"1,000.00","currency":"CNY"}`, money.ErrInvalidAmount, "1,000.00"},
		{"empty value", `{"value":"","currency":"CNY"}`, money.ErrInvalidAmount, "plain decimal"},
		{"missing currency", `{"value":"1.00"}`, money.ErrUnknownCurrency, `""`},
		{"unknown currency", `{"value":"1.00","currency":"RMB"}`, money.ErrUnknownCurrency, "RMB"},
		{"not an object", `"12.30"`, money.ErrInvalidAmount, "string"},
		{"currency not a string", `{"value":"1.00","currency":156}`, money.ErrInvalidAmount, "number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a money.Amount
			err := json.Unmarshal([]byte(tt.wire), &a)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}
