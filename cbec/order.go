package cbec

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xhspay/xhspay/money"
)

// maxRegistrationRunes bounds a registration or filing number's length.
const maxRegistrationRunes = 64

// Line is one product line of an order.
type Line struct {
	// SKU is the merchant's product code.
	SKU string `json:"sku"`
	// Category is a category code known to LookupCategory.
	Category string `json:"category"`
	// RegistrationNo is the product's registration or filing number, where the category needs one.
	RegistrationNo string `json:"registrationNo,omitempty"`
	// Quantity is the number of units, at least 1.
	Quantity int `json:"quantity"`
	// UnitPrice is the price of one unit in CNY, positive.
	UnitPrice money.Amount `json:"unitPrice"`
}

// Order is what the CBEC rules see of an order.
type Order struct {
	// Lines are the product lines, at least one.
	Lines []Line `json:"lines"`
	// Freight is the international freight charged, in CNY; the zero Amount means none.
	Freight money.Amount `json:"freight"`
	// Insurance is the insurance charged, in CNY; the zero Amount means none.
	Insurance money.Amount `json:"insurance"`
	// Buyer is the person the order is for (the customs "orderer").
	Buyer Identity `json:"buyer"`
	// Payer is the person who pays; customs requires the buyer.
	Payer Identity `json:"payer"`
	// BuyerYearToDate is the buyer's CBEC dutiable total so far this calendar year, in CNY; the zero Amount means none.
	BuyerYearToDate money.Amount `json:"buyerYearToDate"`
}

// Validate applies every rule to the order in this fixed order and returns the
// first failure as a *RuleError: RuleCurrency (unit prices, freight, insurance,
// year-to-date), RuleQuantity, RuleRealName, RuleIDNumber, RulePayerIsBuyer,
// RulePositiveList, RuleRegistrationRequired, RuleOrderLimit, RuleAnnualLimit.
// On success it returns the tax the buyer pays (see CompositeTax).
func Validate(o Order) (TaxBreakdown, error) {
	freight, insurance := orZero(o.Freight), orZero(o.Insurance)
	if err := checkAmounts(o.Lines, freight, insurance); err != nil {
		return TaxBreakdown{}, err
	}
	if err := checkCNY("BuyerYearToDate", orZero(o.BuyerYearToDate)); err != nil {
		return TaxBreakdown{}, err
	}
	if err := checkQuantities(o.Lines, freight, insurance); err != nil {
		return TaxBreakdown{}, err
	}
	if err := CheckIdentity(o.Buyer, o.Payer); err != nil {
		return TaxBreakdown{}, err
	}
	if err := CheckCategories(o.Lines); err != nil {
		return TaxBreakdown{}, err
	}
	dutiable, err := dutiableValue(o.Lines, freight, insurance)
	if err != nil {
		return TaxBreakdown{}, err
	}
	generalTrade, err := CheckOrderLimit(dutiable, o.Lines)
	if err != nil {
		return TaxBreakdown{}, err
	}
	if err := CheckAnnualLimit(o.BuyerYearToDate, dutiable); err != nil {
		return TaxBreakdown{}, err
	}
	return CompositeTax(o.Lines, freight, insurance, generalTrade)
}

// CheckCategories applies RulePositiveList to every line, then
// RuleRegistrationRequired: a category that needs registration must carry a
// registration or filing number (up to 64 printable characters).
func CheckCategories(lines []Line) error {
	for i, l := range lines {
		c, ok := LookupCategory(l.Category)
		if !ok {
			return ruleErr(RulePositiveList, lineField(i, "Category"), "unknown category code %q", l.Category)
		}
		if !c.PositiveList {
			return ruleErr(RulePositiveList, lineField(i, "Category"), "category %q is not on the CBEC positive list", l.Category)
		}
	}
	for i, l := range lines {
		c, _ := LookupCategory(l.Category)
		if !c.NeedsRegistration {
			continue
		}
		reg := strings.TrimSpace(l.RegistrationNo)
		if reg == "" {
			return ruleErr(RuleRegistrationRequired, lineField(i, "RegistrationNo"), "category %q needs a registration or filing number", l.Category)
		}
		if !utf8.ValidString(reg) || utf8.RuneCountInString(reg) > maxRegistrationRunes || strings.IndexFunc(reg, notPrintable) >= 0 {
			return ruleErr(RuleRegistrationRequired, lineField(i, "RegistrationNo"), "registration number must be up to %d printable characters", maxRegistrationRunes)
		}
	}
	return nil
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) }

// checkAmounts applies RuleCurrency to the unit prices, freight and insurance.
func checkAmounts(lines []Line, freight, insurance money.Amount) error {
	for i, l := range lines {
		if err := checkCNY(lineField(i, "UnitPrice"), l.UnitPrice); err != nil {
			return err
		}
	}
	if err := checkCNY("Freight", freight); err != nil {
		return err
	}
	return checkCNY("Insurance", insurance)
}

// checkQuantities applies RuleQuantity; the amounts are already known to be CNY.
func checkQuantities(lines []Line, freight, insurance money.Amount) error {
	if len(lines) == 0 {
		return ruleErr(RuleQuantity, "Lines", "order has no lines")
	}
	for i, l := range lines {
		if l.Quantity < 1 {
			return ruleErr(RuleQuantity, lineField(i, "Quantity"), "quantity must be at least 1, got %d", l.Quantity)
		}
		if !l.UnitPrice.IsPositive() {
			return ruleErr(RuleQuantity, lineField(i, "UnitPrice"), "unit price must be positive, got %s", l.UnitPrice)
		}
	}
	if freight.IsNegative() {
		return ruleErr(RuleQuantity, "Freight", "freight must not be negative, got %s", freight)
	}
	if insurance.IsNegative() {
		return ruleErr(RuleQuantity, "Insurance", "insurance must not be negative, got %s", insurance)
	}
	return nil
}

// lineValues returns each line's goods value, unit price × quantity.
func lineValues(lines []Line) []money.Amount {
	out := make([]money.Amount, len(lines))
	for i, l := range lines {
		out[i] = l.UnitPrice.Mul(decimalInt(l.Quantity))
	}
	return out
}

// dutiableValue returns goods + freight + insurance.
func dutiableValue(lines []Line, freight, insurance money.Amount) (money.Amount, error) {
	total, err := money.Sum(money.CNY, lineValues(lines)...)
	if err != nil {
		return money.Amount{}, fmt.Errorf("cbec: sum of line values: %w", err)
	}
	return money.Sum(money.CNY, total, freight, insurance)
}

func lineField(i int, name string) string { return fmt.Sprintf("Lines[%d].%s", i, name) }
