package cbec

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/xhspay/xhspay/money"
)

// cbecFactor is the share of the statutory CT and VAT charged within the CBEC limits.
var cbecFactor = decimal.RequireFromString("0.7")

// divPlaces is the precision of the one inexact step, the division by (1 − r).
const divPlaces = 30

// LineTax is the tax on one line, each component rounded once to the fen.
type LineTax struct {
	// SKU is the line's SKU.
	SKU string `json:"sku"`
	// Dutiable is the line's goods value plus its share of freight and insurance.
	Dutiable money.Amount `json:"dutiable"`
	// ConsumptionTax is the consumption tax the buyer pays on the line.
	ConsumptionTax money.Amount `json:"consumptionTax"`
	// VAT is the import VAT the buyer pays on the line.
	VAT money.Amount `json:"vat"`
	// Duty is the import duty, zero unless general trade.
	Duty money.Amount `json:"duty"`
	// Total is Duty + ConsumptionTax + VAT.
	Total money.Amount `json:"total"`
}

// TaxBreakdown is the tax the buyer pays on an order: every component is the
// sum of the lines' components, and Total = Duty + ConsumptionTax + VAT exactly.
type TaxBreakdown struct {
	// Dutiable is goods + freight + insurance.
	Dutiable money.Amount `json:"dutiable"`
	// Duty is the import duty, zero unless general trade.
	Duty money.Amount `json:"duty"`
	// ConsumptionTax is the consumption tax.
	ConsumptionTax money.Amount `json:"consumptionTax"`
	// VAT is the import VAT.
	VAT money.Amount `json:"vat"`
	// Total is the tax the buyer pays.
	Total money.Amount `json:"total"`
	// GeneralTrade reports full general-trade taxation (an indivisible item above the single-order limit).
	GeneralTrade bool `json:"generalTrade"`
	// Lines are the per-line taxes, in the order of the lines.
	Lines []LineTax `json:"lines"`
}

// CompositeTax computes the tax the buyer pays on the lines, with freight and
// insurance (the zero Amount for none) allocated to the lines in proportion to
// line value. With generalTrade false it is the CBEC composite tax (duty 0,
// 70% of CT and VAT); with generalTrade true, full duty, CT and VAT. It checks
// RuleCurrency and RuleQuantity on its inputs and that each category is known
// (RulePositiveList), but not the positive list itself nor the limits: that is
// Validate's job. Rounding is per line and component, see the package doc.
func CompositeTax(lines []Line, freight, insurance money.Amount, generalTrade bool) (TaxBreakdown, error) {
	freight, insurance = orZero(freight), orZero(insurance)
	if err := checkAmounts(lines, freight, insurance); err != nil {
		return TaxBreakdown{}, err
	}
	if err := checkQuantities(lines, freight, insurance); err != nil {
		return TaxBreakdown{}, err
	}
	cats := make([]Category, len(lines))
	for i, l := range lines {
		c, ok := LookupCategory(l.Category)
		if !ok {
			return TaxBreakdown{}, ruleErr(RulePositiveList, lineField(i, "Category"), "unknown category code %q", l.Category)
		}
		cats[i] = c
	}

	values := lineValues(lines)
	weights := make([]decimal.Decimal, len(values))
	for i, v := range values {
		weights[i] = v.Decimal()
	}
	freightParts, err := freight.Allocate(weights...)
	if err != nil {
		return TaxBreakdown{}, fmt.Errorf("cbec: allocate freight %s: %w", freight, err)
	}
	insuranceParts, err := insurance.Allocate(weights...)
	if err != nil {
		return TaxBreakdown{}, fmt.Errorf("cbec: allocate insurance %s: %w", insurance, err)
	}

	zero := money.Zero(money.CNY)
	tb := TaxBreakdown{
		Dutiable: zero, Duty: zero, ConsumptionTax: zero, VAT: zero, Total: zero,
		GeneralTrade: generalTrade,
		Lines:        make([]LineTax, len(lines)),
	}
	for i, l := range lines {
		dutiable, err := money.Sum(money.CNY, values[i], freightParts[i], insuranceParts[i])
		if err != nil {
			return TaxBreakdown{}, fmt.Errorf("cbec: line %d dutiable value: %w", i, err)
		}
		lt, err := lineTax(l.SKU, dutiable, cats[i], generalTrade)
		if err != nil {
			return TaxBreakdown{}, fmt.Errorf("cbec: line %d tax: %w", i, err)
		}
		tb.Lines[i] = lt
		if tb.Dutiable, err = tb.Dutiable.Add(lt.Dutiable); err != nil {
			return TaxBreakdown{}, err
		}
		if tb.Duty, err = tb.Duty.Add(lt.Duty); err != nil {
			return TaxBreakdown{}, err
		}
		if tb.ConsumptionTax, err = tb.ConsumptionTax.Add(lt.ConsumptionTax); err != nil {
			return TaxBreakdown{}, err
		}
		if tb.VAT, err = tb.VAT.Add(lt.VAT); err != nil {
			return TaxBreakdown{}, err
		}
		if tb.Total, err = tb.Total.Add(lt.Total); err != nil {
			return TaxBreakdown{}, err
		}
	}
	return tb, nil
}

// lineTax computes one line's tax on its dutiable value v (whole fen, CNY).
//
//	CBEC:          D = 0,     CT = 0.7 × v/(1−r) × r,     VAT = 0.7 × v/(1−r) × t
//	general trade: D = v × d, CT = (v + D)/(1−r) × r,      VAT = (v + D)/(1−r) × t
//
// (VAT's base v + D + CT equals (v + D)/(1−r).) Each component is computed from
// exact values and rounded once, half up, to the fen.
func lineTax(sku string, v money.Amount, c Category, generalTrade bool) (LineTax, error) {
	factor, dutyRate := cbecFactor, decimal.Zero
	if generalTrade {
		factor, dutyRate = decimal.NewFromInt(1), c.DutyRate
	}
	exactDuty := v.Decimal().Mul(dutyRate)
	// taxBase(rate) = factor × (v + D) × rate / (1 − r), exact but for the division.
	notCT := decimal.NewFromInt(1).Sub(c.ConsumptionTaxRate)
	taxBase := func(rate decimal.Decimal) decimal.Decimal {
		num := factor.Mul(v.Decimal().Add(exactDuty)).Mul(rate)
		if num.IsZero() {
			return decimal.Zero
		}
		return num.DivRound(notCT, divPlaces)
	}
	duty, err := roundFen(exactDuty)
	if err != nil {
		return LineTax{}, err
	}
	ct, err := roundFen(taxBase(c.ConsumptionTaxRate))
	if err != nil {
		return LineTax{}, err
	}
	vat, err := roundFen(taxBase(c.VATRate))
	if err != nil {
		return LineTax{}, err
	}
	total, err := money.Sum(money.CNY, duty, ct, vat)
	if err != nil {
		return LineTax{}, err
	}
	return LineTax{SKU: sku, Dutiable: v, Duty: duty, ConsumptionTax: ct, VAT: vat, Total: total}, nil
}

// roundFen rounds an exact CNY value once, half up, to the fen.
func roundFen(d decimal.Decimal) (money.Amount, error) {
	a, err := money.New(d, money.CNY)
	if err != nil {
		return money.Amount{}, err
	}
	return a.Round(money.HalfUp)
}

// decimalInt returns n as a decimal.
func decimalInt(n int) decimal.Decimal { return decimal.NewFromInt(int64(n)) }
