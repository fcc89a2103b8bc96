package cbec_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/money"
)

func TestLimits(t *testing.T) {
	assert.Equal(t, "5000.00 CNY", cbec.SingleOrderLimit().String())
	assert.Equal(t, "26000.00 CNY", cbec.AnnualLimit().String())
}

func TestCheckOrderLimit(t *testing.T) {
	two := []cbec.Line{line("a", "apparel", 1, "1.00"), line("b", "apparel", 1, "1.00")}
	tests := []struct {
		name     string
		dutiable money.Amount
		lines    []cbec.Line
		general  bool
		rule     cbec.Rule
		field    string
	}{
		{"well below", cny("100.00"), two, false, "", ""},
		{"exactly 5000.00", cny("5000.00"), two, false, "", ""},
		{"5000.01, two lines", cny("5000.01"), two, false, cbec.RuleOrderLimit, "Dutiable"},
		{"5000.01, one line of two", cny("5000.01"), []cbec.Line{line("a", "apparel", 2, "2500.00")}, false, cbec.RuleOrderLimit, "Dutiable"},
		{"5000.01, one indivisible item", cny("5000.01"), []cbec.Line{line("a", "bags", 1, "5000.01")}, true, "", ""},
		{"exactly 5000.00, one item, stays CBEC", cny("5000.00"), []cbec.Line{line("a", "bags", 1, "5000.00")}, false, "", ""},
		{"above, no lines", cny("6000.00"), nil, false, cbec.RuleOrderLimit, "Dutiable"},
		{"in USD", money.MustParse("1.00", money.USD), two, false, cbec.RuleCurrency, "Dutiable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			general, err := cbec.CheckOrderLimit(tt.dutiable, tt.lines)
			if tt.rule != "" {
				requireRule(t, err, tt.rule, tt.field)
				assert.False(t, general)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.general, general)
		})
	}

	_, err := cbec.CheckOrderLimit(cny("5000.01"), two)
	assert.Contains(t, err.Error(), "5000.01 CNY", "names the actual value")
	assert.Contains(t, err.Error(), "5000.00 CNY", "names the limit")
}

func TestCheckAnnualLimit(t *testing.T) {
	tests := []struct {
		name  string
		ytd   money.Amount
		order money.Amount
		rule  cbec.Rule
		field string
	}{
		{"first order", cny("0"), cny("5000.00"), "", ""},
		{"unset year-to-date is none", money.Amount{}, cny("5000.00"), "", ""},
		{"reaching 26000.00 exactly", cny("21000.00"), cny("5000.00"), "", ""},
		{"one fen over", cny("21000.01"), cny("5000.00"), cbec.RuleAnnualLimit, "BuyerYearToDate"},
		{"already over", cny("26000.01"), cny("0.01"), cbec.RuleAnnualLimit, "BuyerYearToDate"},
		{"general-trade item counts", cny("20000.00"), cny("6000.00"), "", ""},
		{"general-trade item over the annual limit", cny("20000.01"), cny("6000.00"), cbec.RuleAnnualLimit, "BuyerYearToDate"},
		{"one item above the annual limit alone", cny("0"), cny("26000.01"), cbec.RuleAnnualLimit, "BuyerYearToDate"},
		{"negative year-to-date", cny("-1.00"), cny("1.00"), cbec.RuleAnnualLimit, "BuyerYearToDate"},
		{"year-to-date in USD", money.MustParse("1.00", money.USD), cny("1.00"), cbec.RuleCurrency, "BuyerYearToDate"},
		{"order unset", cny("0"), money.Amount{}, cbec.RuleCurrency, "Dutiable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cbec.CheckAnnualLimit(tt.ytd, tt.order)
			if tt.rule == "" {
				require.NoError(t, err)
				return
			}
			requireRule(t, err, tt.rule, tt.field)
		})
	}
	err := cbec.CheckAnnualLimit(cny("21000.01"), cny("5000.00"))
	assert.Contains(t, err.Error(), "26000.01 CNY", "names the actual total")
	assert.Contains(t, err.Error(), "26000.00 CNY", "names the limit")
}

func TestCheckCategories(t *testing.T) {
	tests := []struct {
		name  string
		lines []cbec.Line
		rule  cbec.Rule
		field string
	}{
		{"all listed, registered", []cbec.Line{line("a", "apparel", 1, "1.00"), line("b", "skincare", 1, "1.00")}, "", ""},
		{"not on the positive list", []cbec.Line{line("a", "apparel", 1, "1.00"), line("b", "medicine_rx", 1, "1.00")}, cbec.RulePositiveList, "Lines[1].Category"},
		{"live animals", []cbec.Line{line("a", "live_animals", 1, "1.00")}, cbec.RulePositiveList, "Lines[0].Category"},
		{"unknown code", []cbec.Line{line("a", "Cosmetics", 1, "1.00")}, cbec.RulePositiveList, "Lines[0].Category"},
		{"positive list before registration", []cbec.Line{{SKU: "a", Category: "food", Quantity: 1}, line("b", "medicine_rx", 1, "1.00")}, cbec.RulePositiveList, "Lines[1].Category"},
		{"food without registration", []cbec.Line{line("a", "apparel", 1, "1.00"), {SKU: "b", Category: "food", Quantity: 1}}, cbec.RuleRegistrationRequired, "Lines[1].RegistrationNo"},
		{"blank registration", []cbec.Line{{SKU: "a", Category: "infant_formula", RegistrationNo: "  ", Quantity: 1}}, cbec.RuleRegistrationRequired, "Lines[0].RegistrationNo"},
		{"control character in registration", []cbec.Line{{SKU: "a", Category: "health_supplements", RegistrationNo: "国食健注J2024\n0001", Quantity: 1}}, cbec.RuleRegistrationRequired, "Lines[0].RegistrationNo"},
		{"registration too long", []cbec.Line{{SKU: "a", Category: "cosmetics", RegistrationNo: string(make([]byte, 65)), Quantity: 1}}, cbec.RuleRegistrationRequired, "Lines[0].RegistrationNo"},
		{"no registration needed", []cbec.Line{{SKU: "a", Category: "toys", Quantity: 1}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cbec.CheckCategories(tt.lines)
			if tt.rule == "" {
				require.NoError(t, err)
				return
			}
			requireRule(t, err, tt.rule, tt.field)
		})
	}
}

func validOrder() cbec.Order {
	me := cbec.Identity{Name: "张三", IDNumber: idSample}
	return cbec.Order{
		Lines: []cbec.Line{
			line("SKU-1", "cosmetics_high_end", 1, "800.00"),
			line("SKU-2", "apparel", 2, "90.00"),
		},
		Freight:         cny("20.00"),
		Insurance:       money.Amount{},
		Buyer:           me,
		Payer:           me,
		BuyerYearToDate: cny("1000.00"),
	}
}

// TestValidate: lines 800 and 180 share freight 20 as 16.33 / 3.67
// (2000 fen × 800/980 = 1632.65.., × 180/980 = 367.34..; the spare fen goes
// to the larger remainder, 0.65), so dutiable 816.33 and 183.67:
//
//	cosm. HE  CT 70% × 816.33/0.85 × 0.15 = 100.84076 -> 100.84; VAT 70% × 816.33/0.85 × 0.13 = 87.39533 -> 87.40
//	apparel   VAT 9.1% × 183.67 = 16.71397 -> 16.71
//	total     100.84 + 87.40 + 16.71 = 204.95
func TestValidate(t *testing.T) {
	tb, err := cbec.Validate(validOrder())
	require.NoError(t, err)
	requireConsistent(t, tb)
	assert.False(t, tb.GeneralTrade)
	assert.Equal(t, breakdown{"1000.00", "0.00", "100.84", "104.11", "204.95"}, numbersOf(tb))
	assert.Equal(t, "816.33", tb.Lines[0].Dutiable.Number())
	assert.Equal(t, "183.67", tb.Lines[1].Dutiable.Number())
}

func TestValidateGeneralTrade(t *testing.T) {
	o := validOrder()
	o.Lines = []cbec.Line{line("BAG-1", "bags", 1, "6000.00")}
	o.Freight = money.Amount{}
	tb, err := cbec.Validate(o)
	require.NoError(t, err)
	assert.True(t, tb.GeneralTrade)
	// D = 600, VAT = 6600 × 13% = 858.
	assert.Equal(t, breakdown{"6000.00", "600.00", "0.00", "858.00", "1458.00"}, numbersOf(tb))

	// The same item counts towards the annual limit: 20000.01 + 6000 > 26000.
	o.BuyerYearToDate = cny("20000.01")
	_, err = cbec.Validate(o)
	requireRule(t, err, cbec.RuleAnnualLimit, "BuyerYearToDate")
}

func TestValidateOrderLimitIncludesFreight(t *testing.T) {
	o := validOrder()
	o.Lines = []cbec.Line{line("a", "apparel", 2, "2495.00")} // goods 4990.00
	o.BuyerYearToDate = money.Amount{}
	o.Freight = cny("10.00") // 5000.00: allowed
	tb, err := cbec.Validate(o)
	require.NoError(t, err)
	assert.Equal(t, "5000.00", tb.Dutiable.Number())
	assert.Equal(t, "455.00", tb.Total.Number()) // 9.1% × 5000

	o.Freight = cny("9.00")
	o.Insurance = cny("1.01") // 5000.01: over, and two items
	_, err = cbec.Validate(o)
	requireRule(t, err, cbec.RuleOrderLimit, "Dutiable")
}

// TestValidateRuleOrder starts from an order that breaks every rule and
// repairs one at a time: each step must report the next rule in the documented order.
func TestValidateRuleOrder(t *testing.T) {
	o := cbec.Order{
		Lines: []cbec.Line{
			{SKU: "x", Category: "medicine_rx", Quantity: 0, UnitPrice: money.MustParse("10.00", money.USD)},
			{SKU: "y", Category: "food", Quantity: 1, UnitPrice: cny("3000.00")},
		},
		Freight:         cny("0"),
		Buyer:           cbec.Identity{Name: "", IDNumber: idBadCheck},
		Payer:           cbec.Identity{Name: "李四", IDNumber: idShanghai},
		BuyerYearToDate: cny("25000.00"),
	}
	steps := []struct {
		rule   cbec.Rule
		field  string
		repair func(o *cbec.Order)
	}{
		{cbec.RuleCurrency, "Lines[0].UnitPrice", func(o *cbec.Order) { o.Lines[0].UnitPrice = cny("2500.00") }},
		{cbec.RuleQuantity, "Lines[0].Quantity", func(o *cbec.Order) { o.Lines[0].Quantity = 1 }},
		{cbec.RuleRealName, "Buyer.Name", func(o *cbec.Order) { o.Buyer.Name = "张三" }},
		{cbec.RuleIDNumber, "Buyer.IDNumber", func(o *cbec.Order) { o.Buyer.IDNumber = idSample }},
		{cbec.RulePayerIsBuyer, "Payer.Name", func(o *cbec.Order) { o.Payer = o.Buyer }},
		{cbec.RulePositiveList, "Lines[0].Category", func(o *cbec.Order) { o.Lines[0].Category = "toys" }},
		{cbec.RuleRegistrationRequired, "Lines[1].RegistrationNo", func(o *cbec.Order) { o.Lines[1].RegistrationNo = "食品备案2024-01" }},
		{cbec.RuleOrderLimit, "Dutiable", func(o *cbec.Order) { o.Lines[1].UnitPrice = cny("2000.00") }},       // 4500.00
		{cbec.RuleAnnualLimit, "BuyerYearToDate", func(o *cbec.Order) { o.BuyerYearToDate = cny("21500.00") }}, // 26000.00 exactly
	}
	for _, s := range steps {
		_, err := cbec.Validate(o)
		requireRule(t, err, s.rule, s.field)
		s.repair(&o)
	}
	tb, err := cbec.Validate(o)
	require.NoError(t, err)
	// toys 2500 + food 2000, both 9.1%: 227.50 + 182.00.
	assert.Equal(t, breakdown{"4500.00", "0.00", "0.00", "409.50", "409.50"}, numbersOf(tb))
}

func TestRuleErrorFormat(t *testing.T) {
	e := &cbec.RuleError{Rule: cbec.RuleQuantity, Field: "Lines[0].Quantity", Message: "quantity must be at least 1, got 0"}
	assert.Equal(t, "cbec.quantity: Lines[0].Quantity: quantity must be at least 1, got 0", e.Error())
}
