// Package cbec holds the rules of China's cross-border e-commerce (CBEC) retail
// import regime that an order must pass before any money moves: the single-order
// and annual limits, the buyer's and payer's identity, the positive list and
// registration numbers of product categories, and the composite tax the buyer
// pays.
//
// Every rule is a small pure function of its inputs (no clock, no I/O) and
// fails with a *RuleError naming the Rule and the field; test for it with
// errors.As. Messages never repeat a name or an ID number, so they are safe to
// log and to keep in workflow history.
//
// # Composite tax
//
// Within the limits duty is 0% and consumption tax (CT) and import VAT are
// charged at 70% of the statutory amount, on the dutiable value V (goods +
// freight + insurance). CT is levied on the tax-inclusive base:
//
//	CT  = V / (1 − r) × r
//	VAT = (V + CT) × t          = V / (1 − r) × t
//	pay = 70% × CT + 70% × VAT
//
// which is 9.1% of V for goods at 13% VAT without CT and about 23.06% for
// high-end cosmetics (r = 15%). An order above the single-order limit that is
// one indivisible item (one line, quantity 1) is taxed in full as general
// trade instead: duty D = V × d, CT = (V + D) / (1 − r) × r,
// VAT = (V + D + CT) × t, with no 70% factor.
//
// Freight and insurance are allocated to the lines in proportion to line value
// with money.Allocate, so the line dutiable values sum exactly to the order's.
//
// # Rounding: per line, then sum
//
// Each tax component (duty, CT, VAT) of each line is computed from exact
// values and rounded once to the fen with money.HalfUp; a line's Total is the
// sum of its rounded components, and the order's components and Total are the
// sums of the lines'. So Total equals Duty + ConsumptionTax + VAT exactly, and
// equals the sum of the line totals exactly. Per line rather than on the
// order total because customs assesses tax per item of the declaration list,
// and because a line is what is returned and refunded: the tax reversed for a
// returned line must be exactly what was charged for it, with nothing left
// over in a remainder. The cost is that the order total may differ by a few
// fen from rounding the order's exact total once.
//
// The only inexact step is the division by (1 − r); it is carried to 30
// decimal places. For rates of a few decimal places an exact value is either
// exactly on a half-fen tie or at least ~1e-15 fen away from one, so rounding
// the 30-place quotient gives the same fen as exact arithmetic.
package cbec
