package cbec_test

import (
	"regexp"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/money"
)

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

func line(sku, category string, qty int, price string) cbec.Line {
	l := cbec.Line{SKU: sku, Category: category, Quantity: qty, UnitPrice: cny(price)}
	if c, ok := cbec.LookupCategory(category); ok && c.NeedsRegistration {
		l.RegistrationNo = "国妆网备进字2024001234"
	}
	return l
}

// breakdown is a TaxBreakdown as Number() strings, for readable table tests.
type breakdown struct {
	dutiable, duty, ct, vat, total string
}

func numbersOf(tb cbec.TaxBreakdown) breakdown {
	return breakdown{tb.Dutiable.Number(), tb.Duty.Number(), tb.ConsumptionTax.Number(), tb.VAT.Number(), tb.Total.Number()}
}

// requireConsistent checks the breakdown's own arithmetic: every order
// component is the sum of the lines', and Total = Duty + CT + VAT, exactly.
func requireConsistent(t *testing.T, tb cbec.TaxBreakdown) {
	t.Helper()
	sum := func(get func(cbec.LineTax) money.Amount) money.Amount {
		total := money.Zero(money.CNY)
		for _, lt := range tb.Lines {
			var err error
			total, err = total.Add(get(lt))
			require.NoError(t, err)
			require.True(t, get(lt).IsWhole())
			require.False(t, get(lt).IsNegative())
		}
		return total
	}
	require.True(t, tb.Dutiable.Equal(sum(func(l cbec.LineTax) money.Amount { return l.Dutiable })), "dutiable")
	require.True(t, tb.Duty.Equal(sum(func(l cbec.LineTax) money.Amount { return l.Duty })), "duty")
	require.True(t, tb.ConsumptionTax.Equal(sum(func(l cbec.LineTax) money.Amount { return l.ConsumptionTax })), "consumption tax")
	require.True(t, tb.VAT.Equal(sum(func(l cbec.LineTax) money.Amount { return l.VAT })), "VAT")
	require.True(t, tb.Total.Equal(sum(func(l cbec.LineTax) money.Amount { return l.Total })), "total")
	parts, err := money.Sum(money.CNY, tb.Duty, tb.ConsumptionTax, tb.VAT)
	require.NoError(t, err)
	require.True(t, tb.Total.Equal(parts), "Total %s != Duty + CT + VAT = %s", tb.Total, parts)
	for _, lt := range tb.Lines {
		p, err := money.Sum(money.CNY, lt.Duty, lt.ConsumptionTax, lt.VAT)
		require.NoError(t, err)
		require.True(t, lt.Total.Equal(p), "line %s total", lt.SKU)
	}
}

func TestCompositeTax(t *testing.T) {
	tests := []struct {
		name      string
		lines     []cbec.Line
		freight   string
		insurance string
		general   bool
		want      breakdown
	}{
		// VAT = 70% × 100 × 13% = 9.10.
		{"ordinary goods", []cbec.Line{line("a", "apparel", 1, "100.00")}, "0", "0", false,
			breakdown{"100.00", "0.00", "0.00", "9.10", "9.10"}},
		// CT = 70% × 1000/0.85 × 0.15 = 123.5294.. -> 123.53; VAT = 70% × 1000/0.85 × 0.13 = 107.0588.. -> 107.06.
		{"high-end cosmetics, CT 15%", []cbec.Line{line("c", "cosmetics_high_end", 1, "1000.00")}, "0", "0", false,
			breakdown{"1000.00", "0.00", "123.53", "107.06", "230.59"}},
		// Books at 9% VAT: 70% × 100 × 9% = 6.30.
		{"books at 9% VAT", []cbec.Line{line("b", "books", 2, "50.00")}, "0", "0", false,
			breakdown{"100.00", "0.00", "0.00", "6.30", "6.30"}},
		// Infant formula at 13%: 70% × 300 × 13% = 27.30 (the quoted 9.1%).
		{"infant formula", []cbec.Line{line("f", "infant_formula", 1, "300.00")}, "0", "0", false,
			breakdown{"300.00", "0.00", "0.00", "27.30", "27.30"}},
		// 9.1% × 15.00 = 1.365, a tie: half up gives 1.37 (half-even would give 1.36).
		{"half-fen tie rounds up", []cbec.Line{line("a", "apparel", 1, "15.00")}, "0", "0", false,
			breakdown{"15.00", "0.00", "0.00", "1.37", "1.37"}},
		// Per line, then sum: two lines of 15.00 pay 1.37 + 1.37 = 2.74, where
		// rounding the order's exact 2.73 once would give 2.73 ...
		{"per-line rounding, two lines", []cbec.Line{line("a", "apparel", 1, "15.00"), line("b", "apparel", 1, "15.00")}, "0", "0", false,
			breakdown{"30.00", "0.00", "0.00", "2.74", "2.74"}},
		// ... while one line of quantity 2 is one dutiable value of 30.00: 2.73.
		{"per-line rounding, one line of two", []cbec.Line{line("a", "apparel", 2, "15.00")}, "0", "0", false,
			breakdown{"30.00", "0.00", "0.00", "2.73", "2.73"}},
		// Freight and insurance are dutiable: V = 90 + 8.50 + 1.50 = 100 -> 9.10.
		{"freight and insurance are dutiable", []cbec.Line{line("a", "apparel", 1, "90.00")}, "8.50", "1.50", false,
			breakdown{"100.00", "0.00", "0.00", "9.10", "9.10"}},
		// General trade, bag at 10% duty: D = 600, VAT = (6000 + 600) × 13% = 858.
		{"general trade bag", []cbec.Line{line("g", "bags", 1, "6000.00")}, "0", "0", true,
			breakdown{"6000.00", "600.00", "0.00", "858.00", "1458.00"}},
		// General trade, high-end watch (duty 8%, CT 20%): D = 960; (12000 + 960)/0.8 = 16200;
		// CT = 16200 × 20% = 3240; VAT = 16200 × 13% = 2106.
		{"general trade high-end watch", []cbec.Line{line("w", "watches_high_end", 1, "12000.00")}, "0", "0", true,
			breakdown{"12000.00", "960.00", "3240.00", "2106.00", "6306.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := cbec.CompositeTax(tt.lines, cny(tt.freight), cny(tt.insurance), tt.general)
			require.NoError(t, err)
			assert.Equal(t, tt.want, numbersOf(tb))
			assert.Equal(t, tt.general, tb.GeneralTrade)
			require.Len(t, tb.Lines, len(tt.lines))
			for i := range tt.lines {
				assert.Equal(t, tt.lines[i].SKU, tb.Lines[i].SKU)
			}
			requireConsistent(t, tb)
		})
	}
}

// TestCompositeTaxAllocation allocates freight 10.01 and insurance 1.00 over
// lines worth 100, 200 and 100 (50 × 2):
//
//	freight   1001 fen × 1/4, 2/4, 1/4 = 250.25, 500.5, 250.25 -> 250, 500, 250 (+1 to the largest remainder, 0.5) -> 2.50, 5.01, 2.50
//	insurance  100 fen × 1/4, 2/4, 1/4 = 25, 50, 25 -> 0.25, 0.50, 0.25
//	dutiable  102.75, 205.51, 102.75 = 411.01 = 400 + 10.01 + 1.00
//	apparel   VAT 9.1% × 102.75 = 9.35025 -> 9.35
//	cosm. HE  CT 70% × 205.51/0.85 × 0.15 = 25.38653 -> 25.39; VAT 70% × 205.51/0.85 × 0.13 = 22.00166 -> 22.00
//	books     VAT 6.3% × 102.75 = 6.47325 -> 6.47
//	order     CT 25.39, VAT 9.35 + 22.00 + 6.47 = 37.82, total 63.21
func TestCompositeTaxAllocation(t *testing.T) {
	lines := []cbec.Line{
		line("A", "apparel", 1, "100.00"),
		line("B", "cosmetics_high_end", 1, "200.00"),
		line("C", "books", 2, "50.00"),
	}
	tb, err := cbec.CompositeTax(lines, cny("10.01"), cny("1.00"), false)
	require.NoError(t, err)
	requireConsistent(t, tb)

	got := make([][4]string, len(tb.Lines))
	for i, lt := range tb.Lines {
		got[i] = [4]string{lt.Dutiable.Number(), lt.ConsumptionTax.Number(), lt.VAT.Number(), lt.Total.Number()}
	}
	assert.Equal(t, [][4]string{
		{"102.75", "0.00", "9.35", "9.35"},
		{"205.51", "25.39", "22.00", "47.39"},
		{"102.75", "0.00", "6.47", "6.47"},
	}, got)
	assert.Equal(t, breakdown{"411.01", "0.00", "25.39", "37.82", "63.21"}, numbersOf(tb))
}

func TestCompositeTaxZeroAmountFreight(t *testing.T) {
	// The zero Amount (unset) stands for no freight or insurance.
	tb, err := cbec.CompositeTax([]cbec.Line{line("a", "apparel", 1, "100.00")}, money.Amount{}, money.Amount{}, false)
	require.NoError(t, err)
	assert.Equal(t, breakdown{"100.00", "0.00", "0.00", "9.10", "9.10"}, numbersOf(tb))
}

func TestCompositeTaxRejects(t *testing.T) {
	usd := money.MustParse("10.00", money.USD)
	subFen, err := money.New(decimal.RequireFromString("10.005"), money.CNY)
	require.NoError(t, err)
	ok := line("a", "apparel", 1, "100.00")
	tests := []struct {
		name      string
		lines     []cbec.Line
		freight   money.Amount
		insurance money.Amount
		rule      cbec.Rule
		field     string
	}{
		{"no lines", nil, cny("0"), cny("0"), cbec.RuleQuantity, "Lines"},
		{"zero quantity", []cbec.Line{ok, {SKU: "b", Category: "apparel", Quantity: 0, UnitPrice: cny("1.00")}}, cny("0"), cny("0"), cbec.RuleQuantity, "Lines[1].Quantity"},
		{"zero price", []cbec.Line{{SKU: "b", Category: "apparel", Quantity: 1, UnitPrice: cny("0")}}, cny("0"), cny("0"), cbec.RuleQuantity, "Lines[0].UnitPrice"},
		{"negative freight", []cbec.Line{ok}, cny("-1.00"), cny("0"), cbec.RuleQuantity, "Freight"},
		{"negative insurance", []cbec.Line{ok}, cny("0"), cny("-0.01"), cbec.RuleQuantity, "Insurance"},
		{"price in USD", []cbec.Line{{SKU: "b", Category: "apparel", Quantity: 1, UnitPrice: usd}}, cny("0"), cny("0"), cbec.RuleCurrency, "Lines[0].UnitPrice"},
		{"price unset", []cbec.Line{{SKU: "b", Category: "apparel", Quantity: 1}}, cny("0"), cny("0"), cbec.RuleCurrency, "Lines[0].UnitPrice"},
		{"price finer than a fen", []cbec.Line{{SKU: "b", Category: "apparel", Quantity: 1, UnitPrice: subFen}}, cny("0"), cny("0"), cbec.RuleCurrency, "Lines[0].UnitPrice"},
		{"freight in USD", []cbec.Line{ok}, usd, cny("0"), cbec.RuleCurrency, "Freight"},
		{"insurance finer than a fen", []cbec.Line{ok}, cny("0"), subFen, cbec.RuleCurrency, "Insurance"},
		{"unknown category", []cbec.Line{{SKU: "b", Category: "Apparel", Quantity: 1, UnitPrice: cny("1.00")}}, cny("0"), cny("0"), cbec.RulePositiveList, "Lines[0].Category"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cbec.CompositeTax(tt.lines, tt.freight, tt.insurance, false)
			requireRule(t, err, tt.rule, tt.field)
		})
	}
}

func TestCategories(t *testing.T) {
	all := cbec.Categories()
	require.NotEmpty(t, all)
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	var needReg, notListed []string
	for i, c := range all {
		if i > 0 {
			assert.Less(t, all[i-1].Code, c.Code, "sorted by code")
		}
		assert.Regexp(t, snake, c.Code)
		assert.NotEmpty(t, c.Name)
		for _, r := range []decimal.Decimal{c.VATRate, c.ConsumptionTaxRate, c.DutyRate} {
			assert.False(t, r.IsNegative(), "%s rate %s", c.Code, r)
			assert.True(t, r.LessThan(decimal.NewFromInt(1)), "%s rate %s", c.Code, r)
		}
		assert.True(t, c.VATRate.IsPositive(), c.Code)
		got, ok := cbec.LookupCategory(c.Code)
		require.True(t, ok, c.Code)
		assert.Equal(t, c.Code, got.Code)
		if c.NeedsRegistration {
			needReg = append(needReg, c.Code)
		}
		if !c.PositiveList {
			notListed = append(notListed, c.Code)
		}
	}
	assert.Equal(t, []string{"cosmetics", "cosmetics_high_end", "food", "health_supplements", "infant_formula", "skincare"}, needReg)
	assert.Equal(t, []string{"live_animals", "medicine_rx"}, notListed)

	for code, want := range map[string]string{"books": "0.09", "infant_formula": "0.13", "apparel": "0.13"} {
		c, _ := cbec.LookupCategory(code)
		assert.True(t, c.VATRate.Equal(decimal.RequireFromString(want)), "%s VAT %s", code, c.VATRate)
	}
	for code, want := range map[string]string{"cosmetics_high_end": "0.15", "watches_high_end": "0.20", "cosmetics": "0"} {
		c, _ := cbec.LookupCategory(code)
		assert.True(t, c.ConsumptionTaxRate.Equal(decimal.RequireFromString(want)), "%s CT %s", code, c.ConsumptionTaxRate)
	}

	for _, code := range []string{"", "Apparel", "apparel ", "jewelry", "unknown"} {
		_, ok := cbec.LookupCategory(code)
		assert.False(t, ok, "%q", code)
	}

	// Callers get a copy.
	all[0].Code = "mutated"
	assert.NotEqual(t, "mutated", cbec.Categories()[0].Code)
}
