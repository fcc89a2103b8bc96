package fx

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newSandbox(t *testing.T, seed int64) *Sandbox {
	t.Helper()
	s, err := New(Config{KeyID: "k", Secret: "s", Seed: seed})
	require.NoError(t, err)
	return s
}

func TestRateDeterministicAndDrifting(t *testing.T) {
	s := newSandbox(t, 42)
	at := time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC)
	for _, c := range Currencies() {
		t.Run(c, func(t *testing.T) {
			r1, b1, err := s.Rate("CNY", c, at)
			require.NoError(t, err)
			r2, b2, err := newSandbox(t, 42).Rate("cny", c, at.Add(40*time.Minute))
			require.NoError(t, err)
			assert.True(t, r1.Equal(r2), "same bucket, same seed: %s vs %s", r1, r2)
			assert.Equal(t, b1, b2)
			assert.Equal(t, time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), b1)

			r3, _, err := s.Rate("CNY", c, at.Add(time.Hour))
			require.NoError(t, err)
			assert.False(t, r1.Equal(r3), "next hour must drift: %s", r1)
			r4, _, err := newSandbox(t, 7).Rate("CNY", c, at)
			require.NoError(t, err)
			assert.False(t, r1.Equal(r4), "another seed, another series")

			base := baseRates[c]
			lo, hi := base.Mul(decimal.RequireFromString("0.98")), base.Mul(decimal.RequireFromString("1.02"))
			assert.True(t, r1.GreaterThanOrEqual(lo) && r1.LessThanOrEqual(hi), "%s outside ±2%% of %s", r1, base)
			assert.LessOrEqual(t, -r1.Exponent(), int32(Places))

			inv, _, err := s.Rate(c, "CNY", at)
			require.NoError(t, err)
			assert.True(t, inv.Equal(decimal.NewFromInt(1).DivRound(r1, Places)), "inverse %s of %s", inv, r1)
		})
	}
}

func TestRateRealisticLevels(t *testing.T) {
	s := newSandbox(t, 1)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	usd, _, err := s.Rate("CNY", "USD", at)
	require.NoError(t, err)
	assert.True(t, usd.GreaterThan(decimal.RequireFromString("0.135")) && usd.LessThan(decimal.RequireFromString("0.141")), usd.String())
	jpy, _, err := s.Rate("CNY", "JPY", at)
	require.NoError(t, err)
	assert.True(t, jpy.GreaterThan(decimal.NewFromInt(20)) && jpy.LessThan(decimal.NewFromInt(21)), jpy.String())
}

func TestRateErrors(t *testing.T) {
	s := newSandbox(t, 1)
	now := time.Now()
	for _, tc := range []struct {
		base, counter string
		at            time.Time
		want          error
	}{
		{"USD", "EUR", now, ErrPairNotSupported},
		{"CNY", "CNY", now, ErrPairNotSupported},
		{"CNY", "BRL", now, ErrPairNotSupported},
		{"CNY", "USD", now.Add(2 * time.Hour), ErrRateNotAvailable},
	} {
		_, _, err := s.Rate(tc.base, tc.counter, tc.at)
		assert.ErrorIs(t, err, tc.want, "%s/%s", tc.base, tc.counter)
	}
}
