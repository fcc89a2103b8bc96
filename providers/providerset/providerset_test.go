package providerset_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/credentials"
	"github.com/xhspay/xhspay/providers/providerset"
	"github.com/xhspay/xhspay/sandbox"
)

var discard = slog.New(slog.DiscardHandler)

// TestBuild builds every adapter from the sandbox environment's credentials
// and makes one real call through each. One environment serves all subtests:
// starting one generates four RSA keys.
func TestBuild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := sandbox.Start(ctx, sandbox.EnvConfig{Logger: discard})
	require.NoError(t, err)
	t.Cleanup(env.Close)

	set, err := providerset.Build(ctx, env.Credentials(), providerset.Options{})
	require.NoError(t, err)
	require.NotNil(t, set)

	t.Run("maps cover every payment provider", func(t *testing.T) {
		want := []providers.Name{providers.Alipay, providers.WeChatPay, providers.Card}
		pays, decls := set.Payments(), set.Declarers()
		assert.Len(t, pays, len(want))
		assert.Len(t, decls, len(want))
		for _, name := range want {
			p, ok := pays[name]
			require.True(t, ok, "Payments has %s", name)
			require.NotNil(t, p, name)
			assert.Equal(t, name, p.Name(), "Payments()[%s] is that provider", name)
			d, ok := decls[name]
			require.True(t, ok, "Declarers has %s", name)
			require.NotNil(t, d, name)
			assert.Same(t, p, d.(providers.PaymentProvider), "%s declares its own payments", name)
		}
		var _ providers.Payouts = set.Card
		var _ providers.CustomsClearance = set.Customs
		var _ providers.FXRates = set.FX
		var _ providers.EscrowHolder = set.Alipay
		var _ providers.EscrowHolder = set.WeChatPay
	})

	t.Run("fx quote", func(t *testing.T) {
		q, err := set.FX.Quote(ctx, money.CNY, money.EUR, time.Now())
		require.NoError(t, err)
		require.NoError(t, q.Validate())
	})

	amount := money.MustParse("128.00", money.CNY)
	newPayment := func(name providers.Name) providers.PaymentRequest {
		return providers.PaymentRequest{
			OutTradeNo: providers.Key("PS-"+string(name), "pay", "1"),
			Subject:    "Silk scarf",
			Amount:     amount,
			ExpireAt:   time.Now().Add(30 * time.Minute),
			NotifyURL:  "http://127.0.0.1:1/notify/" + string(name),
			Scene:      providers.SceneQR,
			Payer:      providers.Identity{Name: "王芳", IDNumber: "11010519491231002X"},
		}
	}

	t.Run("alipay create and query", func(t *testing.T) {
		req := newPayment(providers.Alipay)
		s, err := set.Alipay.CreatePayment(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, req.OutTradeNo, s.OutTradeNo)
		require.NotEmpty(t, s.QRCode)

		p, err := set.Alipay.QueryPayment(ctx, req.OutTradeNo)
		require.NoError(t, err)
		assert.Equal(t, providers.PaymentNotFound, p.Status, "as at Alipay, a precreated trade is unknown until the QR code is scanned")

		scan, err := http.NewRequestWithContext(ctx, http.MethodGet, s.QRCode, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(scan)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		p, err = set.Alipay.QueryPayment(ctx, req.OutTradeNo)
		require.NoError(t, err)
		assert.Equal(t, providers.PaymentPending, p.Status)

		require.NoError(t, env.Pay(ctx, providers.Alipay, req.OutTradeNo, "", 0))
		p, err = set.Alipay.QueryPayment(ctx, req.OutTradeNo)
		require.NoError(t, err)
		assert.Equal(t, providers.PaymentPaid, p.Status)
		assert.NotEmpty(t, p.TransactionID)
		assert.True(t, p.Amount.Equal(amount), "amount %s", p.Amount)
	})

	t.Run("wechatpay create", func(t *testing.T) {
		req := newPayment(providers.WeChatPay)
		s, err := set.WeChatPay.CreatePayment(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, req.OutTradeNo, s.OutTradeNo)
		assert.NotEmpty(t, s.QRCode)
		p, err := set.WeChatPay.QueryPayment(ctx, req.OutTradeNo)
		require.NoError(t, err)
		assert.Equal(t, providers.PaymentPending, p.Status)
	})

	t.Run("card create", func(t *testing.T) {
		req := newPayment(providers.Card)
		s, err := set.Card.CreatePayment(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, req.OutTradeNo, s.OutTradeNo)
		assert.True(t, s.QRCode != "" || s.PayURL != "", "the buyer gets something to pay with: %+v", s)
		p, err := set.Card.QueryPayment(ctx, req.OutTradeNo)
		require.NoError(t, err)
		assert.Equal(t, providers.PaymentPending, p.Status)
	})

	t.Run("customs query of an unknown order", func(t *testing.T) {
		c, err := set.Customs.QueryClearance(ctx, "PS-UNKNOWN-ORDER")
		require.NoError(t, err)
		assert.Equal(t, providers.ClearanceNotFound, c.Status)
	})

	t.Run("broken credentials name the provider", func(t *testing.T) {
		const badPEM = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
		tests := []struct {
			name     string
			provider string
			breakIt  func(c *credentials.Set)
		}{
			{"alipay app private key", "alipay", func(c *credentials.Set) { c.Alipay.AppPrivateKeyPEM = badPEM }},
			{"alipay gateway public key", "alipay", func(c *credentials.Set) { c.Alipay.GatewayPublicKeyPEM = "not a PEM" }},
			{"wechatpay merchant private key", "wechatpay", func(c *credentials.Set) { c.WeChatPay.MerchantPrivateKeyPEM = badPEM }},
			{"wechatpay platform public key", "wechatpay", func(c *credentials.Set) { c.WeChatPay.PlatformPublicKeyPEM = "not a PEM" }},
			{"card secret", "card", func(c *credentials.Set) { c.CardPSP.Secret = "" }},
			{"customs base URL", "customs", func(c *credentials.Set) { c.Customs.BaseURL = "not a URL" }},
			{"fx key id", "fx", func(c *credentials.Set) { c.FX.KeyID = "" }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				creds := env.Credentials()
				tc.breakIt(&creds)
				s, err := providerset.Build(ctx, creds, providerset.Options{Logger: discard})
				require.Error(t, err)
				assert.Nil(t, s)
				assert.Contains(t, err.Error(), "providerset: "+tc.provider+":")
			})
		}
	})
}
