package cbec

import (
	"github.com/xhspay/xhspay/money"
)

var (
	singleOrderLimit = money.MustParse("5000.00", money.CNY)
	annualLimit      = money.MustParse("26000.00", money.CNY)
)

// SingleOrderLimit returns the CBEC single-order limit on dutiable value, RMB 5,000.
func SingleOrderLimit() money.Amount { return singleOrderLimit }

// AnnualLimit returns the CBEC limit on a buyer's dutiable purchases per calendar year, RMB 26,000.
func AnnualLimit() money.Amount { return annualLimit }

// CheckOrderLimit applies RuleOrderLimit to an order's dutiable value (goods +
// freight + insurance). Up to and including RMB 5,000 the order clears as CBEC
// retail. Above it, an order of one indivisible item (exactly one line with
// quantity 1) still clears but is taxed in full as general trade, reported by
// generalTrade; any other order is rejected. Either way the order counts
// towards the annual limit.
func CheckOrderLimit(dutiable money.Amount, lines []Line) (generalTrade bool, err error) {
	if err := checkCNY("Dutiable", dutiable); err != nil {
		return false, err
	}
	if cmp, _ := dutiable.Cmp(singleOrderLimit); cmp <= 0 {
		return false, nil
	}
	if len(lines) == 1 && lines[0].Quantity == 1 {
		return true, nil
	}
	items := 0
	for _, l := range lines {
		items += l.Quantity
	}
	return false, ruleErr(RuleOrderLimit, "Dutiable",
		"dutiable value %s exceeds the single-order limit of %s, and the order is not one indivisible item (%d lines, %d items)",
		dutiable, singleOrderLimit, len(lines), items)
}

// CheckAnnualLimit applies RuleAnnualLimit: the buyer's dutiable purchases so far
// this calendar year plus this order's dutiable value may not exceed RMB 26,000
// (reaching it exactly is allowed). A zero Amount yearToDate counts as none.
func CheckAnnualLimit(yearToDate, order money.Amount) error {
	yearToDate = orZero(yearToDate)
	if err := checkCNY("BuyerYearToDate", yearToDate); err != nil {
		return err
	}
	if err := checkCNY("Dutiable", order); err != nil {
		return err
	}
	if yearToDate.IsNegative() {
		return ruleErr(RuleAnnualLimit, "BuyerYearToDate", "year-to-date total %s must not be negative", yearToDate)
	}
	total, err := yearToDate.Add(order)
	if err != nil {
		return err // unreachable: both are CNY
	}
	if cmp, _ := total.Cmp(annualLimit); cmp > 0 {
		return ruleErr(RuleAnnualLimit, "BuyerYearToDate",
			"year-to-date %s plus this order %s is %s, above the annual limit of %s",
			yearToDate, order, total, annualLimit)
	}
	return nil
}

// checkCNY applies RuleCurrency to one amount: CNY, a whole number of fen.
func checkCNY(field string, a money.Amount) error {
	if a.Currency() != money.CNY {
		cur := string(a.Currency())
		if cur == "" {
			cur = "none"
		}
		return ruleErr(RuleCurrency, field, "amount must be in CNY, got %s", cur)
	}
	if !a.IsWhole() {
		return ruleErr(RuleCurrency, field, "amount %s must be a whole number of fen", a.Decimal())
	}
	return nil
}

// orZero reads the zero Amount (no currency) as 0.00 CNY, for optional amounts
// such as freight, insurance and the year-to-date total.
func orZero(a money.Amount) money.Amount {
	if a.Currency() == "" && a.IsZero() {
		return money.Zero(money.CNY)
	}
	return a
}
