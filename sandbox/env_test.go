package sandbox_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	alipayadapter "github.com/xhspay/xhspay/providers/alipay"
	"github.com/xhspay/xhspay/providers/cardpsp"
	"github.com/xhspay/xhspay/providers/customs"
	"github.com/xhspay/xhspay/providers/fx"
	wechatadapter "github.com/xhspay/xhspay/providers/wechatpay"
	"github.com/xhspay/xhspay/sandbox"
	cardsandbox "github.com/xhspay/xhspay/sandbox/cardpsp"
	"github.com/xhspay/xhspay/sandbox/fault"
)

var discard = slog.New(slog.DiscardHandler)

func TestEnvStartsAndStopsCleanly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	env, err := sandbox.Start(context.Background(), sandbox.EnvConfig{CredentialsDir: dir, Logger: discard, Seed: 7})
	require.NoError(t, err)

	addrs := map[string]string{}
	for _, name := range sandbox.Names() {
		base := env.BaseURL(name)
		require.NotEmpty(t, base, name)
		u, err := url.Parse(base)
		require.NoError(t, err)
		addrs[name] = u.Host
		require.NotNil(t, env.Faults(name), name)
		resp, err := http.Get(base + "/sandbox/faults")
		require.NoError(t, err, name)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s serves its fault control API", name)
	}
	env.Faults(sandbox.FX).Set("GET /fx/v1/quote", fault.Rule{Status: 503, Times: 1})
	c := env.FXCredentials()
	fxc, err := fx.New(fx.Config{BaseURL: c.BaseURL, KeyID: c.KeyID, Secret: c.Secret, Logger: discard})
	require.NoError(t, err)
	_, err = fxc.Quote(context.Background(), money.CNY, money.EUR, time.Now())
	assert.True(t, providers.IsType(err, providers.ErrTypeUnavailable), "Env.Faults reaches the sandbox: %v", err)
	q, err := fxc.Quote(context.Background(), money.CNY, money.EUR, time.Now())
	require.NoError(t, err)
	require.NoError(t, q.Validate())

	env.Close()
	env.Close() // twice is fine
	for name, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		require.NoError(t, err, "%s's port is released", name)
		l.Close()
	}
}

func TestCredentialsWrittenAndLoadable(t *testing.T) {
	dir := t.TempDir()
	env, err := sandbox.Start(context.Background(), sandbox.EnvConfig{Logger: discard, NotifyBaseURL: "http://127.0.0.1:8080/notify/"})
	require.NoError(t, err)
	t.Cleanup(env.Close)
	require.NoError(t, env.WriteCredentials(dir))

	got, err := sandbox.ReadCredentials(dir)
	require.NoError(t, err)
	assert.Equal(t, env.Credentials(), got)
	assert.Equal(t, "http://127.0.0.1:8080/notify/customs", got.Customs.NotifyURL)
	assert.Equal(t, "http://127.0.0.1:8080/notify/alipay", got.Alipay.NotifyURL)
	assert.Equal(t, env.BaseURL(sandbox.Alipay)+"/gateway.do", got.Alipay.GatewayURL)
	assert.Len(t, got.WeChatPay.APIv3Key, 32)

	priv := func(name string) *rsa.PrivateKey {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		block, _ := pem.Decode(b)
		require.NotNil(t, block, name)
		require.Equal(t, "PRIVATE KEY", block.Type)
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		require.NoError(t, err, name)
		return k.(*rsa.PrivateKey)
	}
	pub := func(name string) *rsa.PublicKey {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		block, _ := pem.Decode(b)
		require.NotNil(t, block, name)
		require.Equal(t, "PUBLIC KEY", block.Type)
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		require.NoError(t, err, name)
		return k.(*rsa.PublicKey)
	}
	app, merchant := priv(sandbox.FileAlipayAppKey), priv(sandbox.FileWeChatPayMerchantKey)
	gateway, platform := pub(sandbox.FileAlipayGatewayKey), pub(sandbox.FileWeChatPayPlatformKey)
	assert.Equal(t, 2048, app.N.BitLen())
	assert.False(t, app.PublicKey.Equal(gateway), "every party has its own key")
	assert.False(t, merchant.PublicKey.Equal(platform))

	for _, name := range []string{sandbox.FileAlipayAppKey, sandbox.FileWeChatPayMerchantKey, sandbox.FileEnv, "alipay.json", "wechatpay.json", "customs.json", "card.json", "fx.json"} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
	}
	envFile, err := os.ReadFile(filepath.Join(dir, sandbox.FileEnv))
	require.NoError(t, err)
	assert.Contains(t, string(envFile), "XHSPAY_CUSTOMS_SECRET="+got.Customs.Secret)
	readme, err := os.ReadFile(filepath.Join(dir, sandbox.FileReadme))
	require.NoError(t, err)
	assert.Contains(t, string(readme), sandbox.FileWeChatPayPlatformKey)
}

// TestPaymentsDeclaredToCustoms drives every payment adapter with
// the environment's credentials: pay, declare to customs, file the manifest,
// and see customs clear the orders.
func TestPaymentsDeclaredToCustoms(t *testing.T) {
	ctx := context.Background()
	env, err := sandbox.Start(ctx, sandbox.EnvConfig{Logger: discard, ClearanceDelay: -1})
	require.NoError(t, err)
	t.Cleanup(env.Close)

	cc := env.CustomsCredentials()
	cust, err := customs.New(customs.Config{BaseURL: cc.BaseURL, KeyID: cc.KeyID, Secret: cc.Secret, Logger: discard})
	require.NoError(t, err)

	ac := env.AlipayCredentials()
	ali, err := alipayadapter.New(alipayadapter.Config{
		AppID: ac.AppID, AppPrivateKeyPEM: ac.AppPrivateKeyPEM, AlipayPublicKeyPEM: ac.GatewayPublicKeyPEM,
		GatewayURL: ac.GatewayURL, Production: true, NotifyURL: "http://127.0.0.1:1/notify/alipay", Logger: discard,
	})
	require.NoError(t, err)
	wc := env.WeChatPayCredentials()
	wx, err := wechatadapter.New(ctx, wechatadapter.Config{
		MchID: wc.MchID, AppID: wc.AppID, MerchantPrivateKeyPEM: wc.MerchantPrivateKeyPEM, MerchantSerialNo: wc.MerchantSerialNo,
		PlatformPublicKeyPEM: wc.PlatformPublicKeyPEM, PlatformPublicKeyID: wc.PlatformPublicKeyID, APIv3Key: wc.APIv3Key,
		BaseURL: wc.BaseURL, NotifyURL: "http://127.0.0.1:1/notify/wechatpay", Logger: discard,
	})
	require.NoError(t, err)

	kc := env.CardPSPCredentials()
	card, err := cardpsp.New(cardpsp.Config{BaseURL: kc.BaseURL, KeyID: kc.KeyID, Secret: kc.Secret, Logger: discard})
	require.NoError(t, err)

	buyer := providers.Identity{Name: "王芳", IDNumber: "11010519491231002X"}
	for _, tc := range []struct {
		p providers.PaymentProvider
		d providers.CustomsDeclarer
	}{{ali, ali}, {wx, wx}, {card, card}} {
		name := tc.p.Name()
		t.Run(string(name), func(t *testing.T) {
			orderNo := "ENV-" + string(name)
			amount := money.MustParse("874.62", money.CNY)
			outTradeNo := providers.Key(orderNo, "pay", "1")
			_, err := tc.p.CreatePayment(ctx, providers.PaymentRequest{
				OutTradeNo: outTradeNo, Subject: "Tote bag", Amount: amount, ExpireAt: time.Now().Add(30 * time.Minute),
				Scene: providers.SceneQR, Payer: buyer,
			})
			require.NoError(t, err)
			require.NoError(t, env.Pay(ctx, name, outTradeNo, "", 0))
			p, err := tc.p.QueryPayment(ctx, outTradeNo)
			require.NoError(t, err)
			require.Equal(t, providers.PaymentPaid, p.Status)

			decl := providers.DeclarationRequest{
				OutRequestNo: providers.Key(orderNo, "declare", "1"), OrderNo: orderNo, OutTradeNo: outTradeNo,
				TransactionID: p.TransactionID, Payer: buyer, Amount: amount, CustomsCode: "HANGZHOU",
				MerchantCustomsCode: "PLATFORM01", MerchantCustomsName: "Platform",
			}
			_, err = tc.d.Declare(ctx, decl)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				d, err := tc.d.QueryDeclaration(ctx, decl)
				return err == nil && d.Status == providers.DeclarationSucceeded
			}, 5*time.Second, 20*time.Millisecond)

			require.NoError(t, cust.SubmitManifest(ctx, providers.Manifest{
				OrderNo: orderNo, Buyer: buyer,
				Items: []providers.Item{{SKU: "BAG", Name: "Tote bag", Category: "bags", Quantity: 2, UnitPrice: money.MustParse("400.00", money.CNY)}},
				Goods: money.MustParse("800.00", money.CNY), Freight: money.MustParse("20.00", money.CNY), Tax: money.MustParse("54.62", money.CNY),
				CustomsCode: "HANGZHOU", PlatformCode: "PLATFORM01",
			}))
			require.Eventually(t, func() bool {
				cl, err := cust.QueryClearance(ctx, orderNo)
				return err == nil && cl.Status == providers.ClearanceCleared
			}, 5*time.Second, 20*time.Millisecond, "customs clears the order once it has the %s payment record", name)
		})
	}
}

func TestEnvPayCard(t *testing.T) {
	ctx := context.Background()
	env, err := sandbox.Start(ctx, sandbox.EnvConfig{Logger: discard, PayoutDelay: -1})
	require.NoError(t, err)
	t.Cleanup(env.Close)
	cc := env.CardPSPCredentials()
	card, err := cardpsp.New(cardpsp.Config{BaseURL: cc.BaseURL, KeyID: cc.KeyID, Secret: cc.Secret, Logger: discard})
	require.NoError(t, err)
	sess, err := card.CreatePayment(ctx, providers.PaymentRequest{OutTradeNo: "ENV-CARD", Subject: "Scarf", Amount: money.MustParse("350.00", money.CNY), Scene: providers.ScenePage})
	require.NoError(t, err)
	assert.Contains(t, sess.PayURL, env.BaseURL(sandbox.CardPSP)+"/checkout/")

	require.ErrorIs(t, env.Pay(ctx, providers.Card, "ENV-CARD", "decline", 0), cardsandbox.ErrDeclined)
	assert.Error(t, env.Pay(ctx, providers.Card, "ENV-CARD", "", 3), "cards take no instalments")
	require.NoError(t, env.Pay(ctx, providers.Card, "ENV-CARD", "", 0))
	p, err := card.QueryPayment(ctx, "ENV-CARD")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPaid, p.Status)

	po, err := card.Payout(ctx, providers.PayoutRequest{OutPayoutNo: "ENV-PO", MerchantID: "brand", Amount: money.MustParse("45.10", money.EUR)})
	require.NoError(t, err)
	assert.Equal(t, providers.PayoutPaid, po.Status, "a negative payout delay pays at once")

	assert.Error(t, env.Pay(ctx, providers.Name("paypal"), "X", "", 0))
}

// TestEnvPayoutNotificationsGoToThePayoutRoute checks payout notifications reach
// NotifyBaseURL+"card/payouts" (the API's payout route) and verify there.
func TestEnvPayoutNotificationsGoToThePayoutRoute(t *testing.T) {
	ctx := context.Background()
	type got struct {
		path string
		ev   cardpsp.Event
		err  error
	}
	arrived := make(chan got, 4)
	var card *cardpsp.Client
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := card.ParseEvent(r.Context(), r)
		arrived <- got{r.URL.Path, ev, err}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	env, err := sandbox.Start(ctx, sandbox.EnvConfig{Logger: discard, PayoutDelay: -1, NotifyBaseURL: receiver.URL + "/notify/"})
	require.NoError(t, err)
	t.Cleanup(env.Close)
	cc := env.CardPSPCredentials()
	card, err = cardpsp.New(cardpsp.Config{BaseURL: cc.BaseURL, KeyID: cc.KeyID, Secret: cc.Secret, Logger: discard})
	require.NoError(t, err)

	_, err = card.Payout(ctx, providers.PayoutRequest{OutPayoutNo: "ENV-PO-N", MerchantID: "brand", Amount: money.MustParse("12.00", money.USD)})
	require.NoError(t, err)
	select {
	case g := <-arrived:
		require.NoError(t, g.err)
		assert.Equal(t, "/notify/card/payouts", g.path)
		require.NotNil(t, g.ev.Payout)
		assert.Equal(t, "ENV-PO-N", g.ev.Payout.OutPayoutNo)
		assert.Equal(t, providers.PayoutPaid, g.ev.Payout.Status)
	case <-time.After(5 * time.Second):
		t.Fatal("no payout notification arrived")
	}
}
