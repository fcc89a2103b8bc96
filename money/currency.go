// Package money holds exact monetary amounts: a decimal value with an ISO 4217
// currency, conversion to and from provider minor units, allocation into parts
// that sum exactly, and FX quotes with a named rounding rule. It never uses
// floating point.
package money

import (
	"fmt"
	"strings"
)

// Currency is an ISO 4217 alphabetic currency code such as "CNY".
type Currency string

// The currencies the project knows.
const (
	CNY Currency = "CNY"
	USD Currency = "USD"
	EUR Currency = "EUR"
	GBP Currency = "GBP"
	JPY Currency = "JPY"
	HKD Currency = "HKD"
	KRW Currency = "KRW"
	AUD Currency = "AUD"
	CAD Currency = "CAD"
	SGD Currency = "SGD"
	CHF Currency = "CHF"
)

// exponents maps each known currency to its ISO 4217 minor-unit exponent.
var exponents = map[Currency]int32{
	CNY: 2, USD: 2, EUR: 2, GBP: 2, JPY: 0, HKD: 2, KRW: 0,
	AUD: 2, CAD: 2, SGD: 2, CHF: 2,
}

// ErrUnknownCurrency is returned for a code that is not a known ISO 4217 currency.
var ErrUnknownCurrency = fmt.Errorf("money: unknown currency")

// ParseCurrency returns the known currency for an ISO 4217 code (case-insensitive).
func ParseCurrency(code string) (Currency, error) {
	c := Currency(strings.ToUpper(strings.TrimSpace(code)))
	if _, ok := exponents[c]; !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownCurrency, code)
	}
	return c, nil
}

// Known reports whether c is a currency this package knows.
func (c Currency) Known() bool {
	_, ok := exponents[c]
	return ok
}

// Exponent returns the number of decimal places of the currency's minor unit
// (2 for CNY fen, 0 for JPY). It panics on an unknown currency, which callers
// rule out with ParseCurrency or Known.
func (c Currency) Exponent() int32 {
	e, ok := exponents[c]
	if !ok {
		panic(fmt.Sprintf("money: unknown currency %q", string(c)))
	}
	return e
}

// String returns the ISO code.
func (c Currency) String() string { return string(c) }

// Currencies returns the known currencies in alphabetical order.
func Currencies() []Currency {
	return []Currency{AUD, CAD, CHF, CNY, EUR, GBP, HKD, JPY, KRW, SGD, USD}
}
