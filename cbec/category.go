package cbec

import (
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

// Category is a product category with its CBEC status and tax rates. The rates
// are representative rates for the category, not a tariff schedule: the rate
// customs applies follows the HS code of the exact product.
type Category struct {
	// Code is the category's lowercase snake_case code, as orders carry it.
	Code string `json:"code"`
	// Name is a human-readable name.
	Name string `json:"name"`
	// PositiveList reports whether the category is on the CBEC retail import positive list.
	PositiveList bool `json:"positiveList"`
	// NeedsRegistration reports whether each product needs a registration or filing number.
	NeedsRegistration bool `json:"needsRegistration"`
	// VATRate is the statutory import VAT rate.
	VATRate decimal.Decimal `json:"vatRate"`
	// ConsumptionTaxRate is the statutory ad valorem consumption tax rate (0 for most goods).
	ConsumptionTaxRate decimal.Decimal `json:"consumptionTaxRate"`
	// DutyRate is the MFN import duty rate, charged only under general-trade taxation.
	DutyRate decimal.Decimal `json:"dutyRate"`
}

var (
	rate0  = decimal.Zero
	rate5  = decimal.RequireFromString("0.05")
	rate7  = decimal.RequireFromString("0.07")
	rate8  = decimal.RequireFromString("0.08")
	rate9  = decimal.RequireFromString("0.09")
	rate10 = decimal.RequireFromString("0.10")
	rate13 = decimal.RequireFromString("0.13")
	rate15 = decimal.RequireFromString("0.15")
	rate20 = decimal.RequireFromString("0.20")
)

// categories is the registry, sorted by code.
//
// VAT is the standard 13% except for books, which take the 9% reduced rate.
// Infant formula is processed food and takes 13% (the reduced rate covers
// primary agricultural products and fresh milk), which is why CBEC formula is
// commonly quoted at a 9.1% composite tax. Consumption tax applies to high-end
// cosmetics (15%) and high-end watches (20%, retail value RMB 10,000 and up,
// so they only ever clear as a single general-trade item). live_animals and
// medicine_rx stand for categories that are not on the positive list.
var categories = []Category{
	{Code: "apparel", Name: "Apparel and clothing accessories", PositiveList: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate7},
	{Code: "bags", Name: "Handbags and luggage", PositiveList: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate10},
	{Code: "books", Name: "Books and printed matter", PositiveList: true, VATRate: rate9, ConsumptionTaxRate: rate0, DutyRate: rate0},
	{Code: "cosmetics", Name: "Cosmetics (make-up)", PositiveList: true, NeedsRegistration: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate5},
	{Code: "cosmetics_high_end", Name: "High-end cosmetics and skincare", PositiveList: true, NeedsRegistration: true, VATRate: rate13, ConsumptionTaxRate: rate15, DutyRate: rate5},
	{Code: "electronics", Name: "Consumer electronics", PositiveList: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate0},
	{Code: "food", Name: "Prepackaged food", PositiveList: true, NeedsRegistration: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate15},
	{Code: "health_supplements", Name: "Health supplements", PositiveList: true, NeedsRegistration: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate10},
	{Code: "infant_formula", Name: "Infant formula", PositiveList: true, NeedsRegistration: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate15},
	{Code: "jewellery", Name: "Fashion jewellery", PositiveList: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate10},
	{Code: "live_animals", Name: "Live animals", PositiveList: false, VATRate: rate9, ConsumptionTaxRate: rate0, DutyRate: rate10},
	{Code: "medicine_rx", Name: "Prescription medicines", PositiveList: false, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate0},
	{Code: "shoes", Name: "Footwear", PositiveList: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate10},
	{Code: "skincare", Name: "Skincare (ordinary)", PositiveList: true, NeedsRegistration: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate5},
	{Code: "toys", Name: "Toys", PositiveList: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate0},
	{Code: "watches", Name: "Watches", PositiveList: true, VATRate: rate13, ConsumptionTaxRate: rate0, DutyRate: rate8},
	{Code: "watches_high_end", Name: "High-end watches (RMB 10,000 and up)", PositiveList: true, VATRate: rate13, ConsumptionTaxRate: rate20, DutyRate: rate8},
}

// LookupCategory returns the category with exactly this code.
func LookupCategory(code string) (Category, bool) {
	i, ok := slices.BinarySearchFunc(categories, code, func(c Category, code string) int {
		return strings.Compare(c.Code, code)
	})
	if !ok {
		return Category{}, false
	}
	return categories[i], true
}

// Categories returns every known category, sorted by code.
func Categories() []Category {
	return slices.Clone(categories)
}
