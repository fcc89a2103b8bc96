package cbec_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/money"
)

// refCheckChar is an independent statement of ISO 7064 MOD 11-2: the check
// value is (12 − Σ dᵢ·2^(17−i) mod 11) mod 11, 10 written X.
func refCheckChar(first17 string) byte {
	sum := 0
	for i := range 17 {
		sum += int(first17[i]-'0') * ((1 << (17 - i)) % 11)
	}
	v := (12 - sum%11) % 11
	if v == 10 {
		return 'X'
	}
	return byte('0' + v)
}

func TestRefCheckChar(t *testing.T) {
	for _, id := range []string{idSample, idShanghai, idLeapDay, idNoLeap1900, idNoLeap2001, idMonth13, id1899, idProvince99} {
		require.Equal(t, id[17], refCheckChar(id[:17]), id)
	}
}

// FuzzValidateIDNumber checks ValidateIDNumber never panics, fails only with a
// RuleIDNumber *RuleError that does not repeat the input, and accepts only
// 18-character numbers whose check character is right. The second half builds
// a number with the right check character from the input's digits, which must
// pass exactly when its region and date are valid.
func FuzzValidateIDNumber(f *testing.F) {
	for _, s := range []string{idSample, strings.ToLower(idSample), idShanghai, idLeapDay, idNoLeap1900, idMonth13, idBadCheck, "", "X", "１１０１０５１９４９１２３１００２Ｘ", "\xff\xfe", " 11010519491231002x "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := cbec.ValidateIDNumber(s)
		n := cbec.NormalizeIDNumber(s)
		if err == nil {
			require.Len(t, n, 18)
			require.Equal(t, refCheckChar(n[:17]), n[17], "accepted %q with a wrong check character", n)
		} else {
			var re *cbec.RuleError
			require.True(t, errors.As(err, &re), "%T", err)
			require.Equal(t, cbec.RuleIDNumber, re.Rule)
			if len(n) >= 8 {
				require.NotContains(t, re.Message, n)
			}
		}

		// Take 17 digits from the input, fix the check character, and the
		// verdict must depend only on region and birth date.
		digits := make([]byte, 0, 17)
		for i := 0; i < len(s) && len(digits) < 17; i++ {
			digits = append(digits, '0'+s[i]%10)
		}
		if len(digits) < 17 {
			return
		}
		id := string(digits) + string(refCheckChar(string(digits)))
		err = cbec.ValidateIDNumber(id)
		if err != nil {
			require.NotContains(t, err.Error(), "check character does not match", id)
			require.NotContains(t, err.Error(), "18 characters", id)
		}
		id2 := id[:17] + string(refCheckChar(id[:17])+1) // any other character is wrong
		if id2[17] != ':' {                              // '9'+1
			require.Error(t, cbec.ValidateIDNumber(id2), id2)
		}
	})
}

// ratOf returns an amount's exact value.
func ratOf(t *testing.T, a money.Amount) *big.Rat { return ratOfDec(t, a.Decimal()) }

// ratOfDec returns a decimal's exact value.
func ratOfDec(t *testing.T, d decimal.Decimal) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(d.String())
	require.True(t, ok, d.String())
	return r
}

// roundHalfUpFen rounds a non-negative exact value half up to whole fen.
func roundHalfUpFen(r *big.Rat) *big.Rat {
	fen := new(big.Rat).Mul(r, big.NewRat(100, 1))
	q, m := new(big.Int).QuoRem(fen.Num(), fen.Denom(), new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(fen.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return new(big.Rat).SetFrac(q, big.NewInt(100))
}

// FuzzCompositeTax checks, for up to three lines of any category, price and
// quantity with any freight and insurance: no panic; on success Total equals
// Duty + CT + VAT and the sum of the line totals exactly, nothing is negative,
// the line dutiable values sum to goods + freight + insurance, and each line's
// components equal the exact rational formula rounded half up to the fen.
func FuzzCompositeTax(f *testing.F) {
	f.Add(uint8(1), uint8(0), uint8(1), uint8(2), uint64(10000), uint64(20000), uint64(5000), uint8(1), uint8(1), uint8(2), uint64(1001), uint64(100), false)
	f.Add(uint8(1), uint8(4), uint8(0), uint8(0), uint64(100000), uint64(1), uint64(1), uint8(1), uint8(1), uint8(1), uint64(0), uint64(0), false)
	f.Add(uint8(3), uint8(16), uint8(14), uint8(1), uint64(1200000), uint64(1), uint64(1), uint8(1), uint8(1), uint8(1), uint64(0), uint64(0), true)
	f.Add(uint8(2), uint8(0), uint8(0), uint8(0), uint64(1500), uint64(1500), uint64(0), uint8(1), uint8(1), uint8(0), uint64(1), uint64(1), false)
	f.Add(uint8(3), uint8(200), uint8(3), uint8(7), uint64(0), uint64(99), uint64(1<<62), uint8(0), uint8(255), uint8(9), uint64(1<<63), uint64(7), true)
	all := cbec.Categories()
	f.Fuzz(func(t *testing.T, n, c0, c1, c2 uint8, p0, p1, p2 uint64, q0, q1, q2 uint8, freightFen, insuranceFen uint64, general bool) {
		cats, prices, qtys := []uint8{c0, c1, c2}, []uint64{p0, p1, p2}, []uint8{q0, q1, q2}
		lines := make([]cbec.Line, int(n%3)+1)
		for i := range lines {
			// One index in len(all)+1 is an unknown code; a price or quantity of 0
			// is invalid: these must fail with a RuleError, not panic.
			code := "no_such_category"
			if k := int(cats[i]) % (len(all) + 1); k < len(all) {
				code = all[k].Code
			}
			price, err := money.FromMinor(int64(prices[i]%10_000_000_000), money.CNY)
			require.NoError(t, err)
			lines[i] = cbec.Line{SKU: string(rune('A' + i)), Category: code, Quantity: int(qtys[i]), UnitPrice: price}
		}
		freight, err := money.FromMinor(int64(freightFen%100_000_000), money.CNY)
		require.NoError(t, err)
		insurance, err := money.FromMinor(int64(insuranceFen%10_000_000), money.CNY)
		require.NoError(t, err)

		tb, err := cbec.CompositeTax(lines, freight, insurance, general)
		if err != nil {
			var re *cbec.RuleError
			require.True(t, errors.As(err, &re), "unexpected error %v", err)
			return
		}
		requireConsistent(t, tb)
		require.Equal(t, general, tb.GeneralTrade)
		if !general {
			require.True(t, tb.Duty.IsZero())
		}

		goods := money.Zero(money.CNY)
		for _, l := range lines {
			goods, err = goods.Add(l.UnitPrice.Mul(decimal.NewFromInt(int64(l.Quantity))))
			require.NoError(t, err)
		}
		want, err := money.Sum(money.CNY, goods, freight, insurance)
		require.NoError(t, err)
		require.True(t, tb.Dutiable.Equal(want), "dutiable %s, want %s", tb.Dutiable, want)

		for i, lt := range tb.Lines {
			c, _ := cbec.LookupCategory(lines[i].Category)
			v := ratOf(t, lt.Dutiable)
			factor, duty := big.NewRat(7, 10), new(big.Rat)
			if general {
				factor = big.NewRat(1, 1)
				duty.Mul(v, ratOfDec(t, c.DutyRate))
			}
			r := ratOfDec(t, c.ConsumptionTaxRate)
			base := new(big.Rat).Add(v, duty)
			base.Mul(base, factor)
			base.Quo(base, new(big.Rat).Sub(big.NewRat(1, 1), r)) // factor × (v + D) / (1 − r)
			ct := new(big.Rat).Mul(base, r)
			vat := new(big.Rat).Mul(base, ratOfDec(t, c.VATRate))
			require.Zero(t, roundHalfUpFen(duty).Cmp(ratOf(t, lt.Duty)), "line %d duty %s, exact %s", i, lt.Duty, duty.FloatString(6))
			require.Zero(t, roundHalfUpFen(ct).Cmp(ratOf(t, lt.ConsumptionTax)), "line %d CT %s, exact %s", i, lt.ConsumptionTax, ct.FloatString(6))
			require.Zero(t, roundHalfUpFen(vat).Cmp(ratOf(t, lt.VAT)), "line %d VAT %s, exact %s", i, lt.VAT, vat.FloatString(6))
		}
	})
}
