package fx_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/fx"
	"github.com/xhspay/xhspay/providers/internal/hmacsig/hmacsigtest"
	"github.com/xhspay/xhspay/sandbox/fault"
	fxsandbox "github.com/xhspay/xhspay/sandbox/fx"
)

const (
	keyID  = "fx-key"
	secret = "fx-secret-0123456789"
)

type harness struct {
	tap    *hmacsigtest.Tap
	faults *fault.Injector
	url    string
}

func start(t *testing.T) harness {
	t.Helper()
	faults := fault.New()
	_, tap, url := hmacsigtest.Start(t, fxsandbox.New, fxsandbox.Config{KeyID: keyID, Secret: secret, Seed: 2025, Faults: faults, Logger: slog.New(slog.DiscardHandler)})
	return harness{tap: tap, faults: faults, url: url}
}

func client(t *testing.T, h harness, mod func(*fx.Config)) *fx.Client {
	t.Helper()
	return hmacsigtest.Build(t, fx.New, fx.Config{BaseURL: h.url, KeyID: keyID, Secret: secret, Logger: slog.New(slog.DiscardHandler)}, mod)
}

func TestQuoteDeterministicWithDrift(t *testing.T) {
	h := start(t)
	c := client(t, h, nil)
	ctx := context.Background()
	at := time.Date(2025, 6, 3, 9, 30, 0, 0, time.UTC)

	q1, err := c.Quote(ctx, money.CNY, money.USD, at)
	require.NoError(t, err)
	require.NoError(t, q1.Validate())
	assert.Equal(t, money.CNY, q1.Base)
	assert.Equal(t, money.USD, q1.Counter)
	assert.Equal(t, time.Date(2025, 6, 3, 9, 0, 0, 0, time.UTC), q1.At.UTC())
	assert.Equal(t, fxsandbox.Source, q1.Source)

	again, err := c.Quote(ctx, money.CNY, money.USD, at.Add(20*time.Minute))
	require.NoError(t, err)
	assert.True(t, q1.Rate.Equal(again.Rate), "same hour must give the same rate")

	later, err := c.Quote(ctx, money.CNY, money.USD, at.Add(26*time.Hour))
	require.NoError(t, err)
	assert.False(t, q1.Rate.Equal(later.Rate), "another hour must drift")

	// Settling the same RMB at the two rates gives a non-zero FX difference.
	rmb := money.MustParse("1000.00", money.CNY)
	a1, err := q1.Convert(rmb, money.HalfUp)
	require.NoError(t, err)
	a2, err := later.Convert(rmb, money.HalfUp)
	require.NoError(t, err)
	diff, err := a2.Sub(a1)
	require.NoError(t, err)
	assert.False(t, diff.IsZero())

	inv, err := c.Quote(ctx, money.JPY, money.CNY, at)
	require.NoError(t, err)
	jpy, err := c.Quote(ctx, money.CNY, money.JPY, at)
	require.NoError(t, err)
	assert.True(t, inv.Rate.Equal(decimal.NewFromInt(1).DivRound(jpy.Rate, 8)), "JPY/CNY %s should invert CNY/JPY %s", inv.Rate, jpy.Rate)
}

func TestQuoteErrors(t *testing.T) {
	h := start(t)
	c := client(t, h, nil)
	ctx := context.Background()
	now := time.Now()

	_, err := c.Quote(ctx, money.USD, money.EUR, now)
	assert.True(t, providers.IsType(err, providers.ErrTypeNotSupported), "%v", err)
	assert.Equal(t, fxsandbox.CodePairNotSupported, h.tap.LastCode())

	_, err = c.Quote(ctx, money.CNY, money.USD, now.Add(48*time.Hour))
	assert.True(t, providers.IsType(err, providers.ErrTypeInvalidRequest), "%v", err)

	_, err = c.Quote(ctx, money.Currency("XXX"), money.USD, now)
	assert.True(t, providers.IsType(err, providers.ErrTypeInvalidRequest), "%v", err)

	h.faults.Set("GET /fx/v1/quote", fault.Rule{Status: http.StatusServiceUnavailable, Times: 1})
	_, err = c.Quote(ctx, money.CNY, money.USD, now)
	assert.True(t, providers.IsType(err, providers.ErrTypeUnavailable), "unsigned 503: %v", err)

	h.faults.Set("GET /fx/v1/quote", fault.Rule{BusinessError: fxsandbox.CodeRateLimited, Times: 1})
	_, err = c.Quote(ctx, money.CNY, money.USD, now)
	assert.True(t, providers.IsType(err, providers.ErrTypeRateLimited), "%v", err)

	_, err = c.Quote(ctx, money.CNY, money.USD, now)
	require.NoError(t, err, "fault rules with Times 1 are used up")
}

func TestSignatureFailuresBothWays(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	now := time.Now()

	_, err := client(t, h, func(c *fx.Config) { c.Secret = "wrong" }).Quote(ctx, money.CNY, money.USD, now)
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Equal(t, fxsandbox.CodeSignatureInvalid, h.tap.LastCode(), "the sandbox must refuse a bad request signature")

	_, err = client(t, h, func(c *fx.Config) { c.KeyID = "other" }).Quote(ctx, money.CNY, money.USD, now)
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Equal(t, fxsandbox.CodeKeyUnknown, h.tap.LastCode())

	stale := func(c *fx.Config) { c.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) } }
	_, err = client(t, h, stale).Quote(ctx, money.CNY, money.USD, now)
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Equal(t, fxsandbox.CodeTimestampExpired, h.tap.LastCode())

	// A response altered on the way is refused by the adapter.
	h.tap.SetTamper(func(b []byte) []byte { return bytes.Replace(b, []byte(`"rate":"0`), []byte(`"rate":"9`), 1) })
	_, err = client(t, h, nil).Quote(ctx, money.CNY, money.USD, now)
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Empty(t, h.tap.LastCode(), "the sandbox accepted the request")
}

func TestClassifyEveryCode(t *testing.T) {
	own := map[string]providers.ErrorType{
		fxsandbox.CodePairNotSupported: providers.ErrTypeNotSupported,
		fxsandbox.CodeRateNotAvailable: providers.ErrTypeInvalidRequest,
	}
	hmacsigtest.CheckClassify(t, fxsandbox.Codes(), own, fx.Classify)
	assert.Equal(t, providers.ErrTypeUnavailable, fx.Classify(502, "NEW_CODE"))
	assert.Equal(t, providers.ErrTypeRateLimited, fx.Classify(429, "NEW_CODE"))
	assert.Equal(t, providers.ErrTypeRejected, fx.Classify(422, "NEW_CODE"))
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []fx.Config{
		{BaseURL: "", KeyID: "k", Secret: "s"},
		{BaseURL: "ftp://x", KeyID: "k", Secret: "s"},
		{BaseURL: "http://x", Secret: "s"},
		{BaseURL: "http://x", KeyID: "k"},
	} {
		_, err := fx.New(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
}
