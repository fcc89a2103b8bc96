package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/alipay"
	"github.com/xhspay/xhspay/sandbox/fault"
)

func alipayConfig(t *testing.T, holdDays int) alipay.Config {
	return alipay.Config{AppPrivateKeyPEM: pkcs8PEM(t, appKey), HoldDays: holdDays}
}

// capturedNotification pays a trade and returns the raw notification body.
func capturedNotification(t *testing.T, e *env) url.Values {
	t.Helper()
	_, err := e.adapter.CreatePayment(context.Background(), e.payReq("NOTIFY_SRC", "88.00"))
	require.NoError(t, err)
	require.NoError(t, e.sb.Pay(context.Background(), "NOTIFY_SRC", alipaysbBalance()))
	n := e.next()
	require.NoError(t, n.err)
	v, err := url.ParseQuery(n.raw)
	require.NoError(t, err)
	return v
}

func TestNotificationVerification(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	good := capturedNotification(t, e)

	n, err := e.adapter.ParseNotification(ctx, notifyRequest(good.Encode()))
	require.NoError(t, err, "the genuine notification verifies")
	assert.Equal(t, good.Get("notify_id"), n.ID)

	clone := func() url.Values {
		c := url.Values{}
		for k, vs := range good {
			c[k] = append([]string(nil), vs...)
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		body   func() string
		method string
		want   providers.ErrorType
	}{
		{"forged signature", func() string {
			v := clone()
			junk := make([]byte, 256)
			_, _ = rand.Read(junk)
			v.Set("sign", base64.StdEncoding.EncodeToString(junk))
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeSignature},
		{"tampered amount", func() string {
			v := clone()
			v.Set("total_amount", "0.01")
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeSignature},
		{"tampered status", func() string {
			v := clone()
			v.Set("trade_status", "TRADE_FINISHED")
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeSignature},
		{"signed by another key", func() string {
			v := clone()
			v.Set("total_amount", "0.01")
			v.Set("sign", signAlipay(t, otherKey, v))
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeSignature},
		{"signature not base64", func() string {
			v := clone()
			v.Set("sign", "%%%not-base64%%%")
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeSignature},
		{"no signature", func() string {
			v := clone()
			v.Del("sign")
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeSignature},
		{"RSA1 signature type", func() string {
			v := clone()
			v.Set("sign_type", "RSA")
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeSignature},
		{"validly signed without out_trade_no", func() string {
			v := clone()
			v.Del("out_trade_no")
			v.Set("sign", signAlipay(t, gatewayKey, v))
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeInvalidRequest},
		{"validly signed with an unknown trade_status", func() string {
			v := clone()
			v.Set("trade_status", "TRADE_PENDING")
			v.Set("sign", signAlipay(t, gatewayKey, v))
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeInvalidRequest},
		{"validly signed for another app", func() string {
			v := clone()
			v.Set("app_id", "2021999999999999")
			v.Set("sign", signAlipay(t, gatewayKey, v))
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeInvalidRequest},
		{"GET", func() string { return good.Encode() }, http.MethodGet, providers.ErrTypeInvalidRequest},
		{"oversized body", func() string {
			v := clone()
			v.Set("body", string(make([]byte, 70<<10)))
			return v.Encode()
		}, http.MethodPost, providers.ErrTypeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := notifyRequest(tc.body())
			r.Method = tc.method
			_, err := e.adapter.ParseNotification(ctx, r)
			requireType(t, err, tc.want)
		})
	}
}

func TestDuplicateNotificationKeepsItsID(t *testing.T) {
	e := newEnv(t)
	e.faults.SetNotify(fault.NotifyRule{Duplicate: true, Times: 1})
	_, err := e.adapter.CreatePayment(context.Background(), e.payReq("DUP_NOTIFY", "12.00"))
	require.NoError(t, err)
	require.NoError(t, e.sb.Pay(context.Background(), "DUP_NOTIFY", alipaysbBalance()))
	first, second := e.next(), e.next()
	require.NoError(t, first.err)
	require.NoError(t, second.err)
	assert.Equal(t, first.n.ID, second.n.ID, "the API layer deduplicates by this ID")
	assert.Equal(t, first.n.Payment.OutTradeNo, second.n.Payment.OutTradeNo)
}

func TestNotificationIsRetriedUntilAcknowledged(t *testing.T) {
	e := newEnv(t)
	e.rejectNext.Store(2) // the merchant's endpoint answers 500 twice
	_, err := e.adapter.CreatePayment(context.Background(), e.payReq("RETRIED", "12.00"))
	require.NoError(t, err)
	require.NoError(t, e.sb.Pay(context.Background(), "RETRIED", alipaysbBalance()))
	n := e.next()
	require.NoError(t, n.err)
	assert.Equal(t, "RETRIED", n.n.Payment.OutTradeNo)
	assert.Equal(t, int32(3), e.deliveries.Load(), "two refused attempts, then the acknowledged one")
	e.none(100 * time.Millisecond)
}

func TestSandboxRejectsBadRequestSignature(t *testing.T) {
	e := newEnv(t)
	// The application signs with a key the gateway does not know.
	wrong := e.newAdapter(alipay.Config{AppPrivateKeyPEM: pkcs1PEM(otherKey)})
	_, err := wrong.CreatePayment(context.Background(), e.payReq("BAD_SIGN", "1.00"))
	pe := requireType(t, err, providers.ErrTypeSignature)
	assert.Equal(t, "isv.invalid-signature", pe.Code)
	var ae *sdk.Error
	require.ErrorAs(t, err, &ae, "the unmodified SDK surfaces the gateway's error")
	assert.Equal(t, sdk.Code("40002"), ae.Code)
}

func TestResponseSignedByAnotherKeyIsRejected(t *testing.T) {
	e := newEnv(t)
	pub, err := x509.MarshalPKIXPublicKey(&otherKey.PublicKey)
	require.NoError(t, err)
	a := e.newAdapter(alipay.Config{AppPrivateKeyPEM: pkcs8PEM(t, appKey), AlipayPublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))})
	_, err = a.QueryPayment(context.Background(), "ANY_TRADE")
	requireType(t, err, providers.ErrTypeSignature)
}

func TestFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	e.faults.Set("alipay.trade.query", fault.Rule{Status: http.StatusServiceUnavailable, Times: 1})
	_, err := e.adapter.QueryPayment(ctx, "FAULTY")
	pe := requireType(t, err, providers.ErrTypeUnavailable)
	assert.True(t, pe.Retryable())
	p, err := e.adapter.QueryPayment(ctx, "FAULTY")
	require.NoError(t, err, "the fault affected one call")
	assert.Equal(t, providers.PaymentNotFound, p.Status)

	e.faults.Set("alipay.trade.precreate", fault.Rule{BusinessError: "ACQ.SYSTEM_ERROR", Times: 1})
	_, err = e.adapter.CreatePayment(ctx, e.payReq("FAULTY", "1.00"))
	pe = requireType(t, err, providers.ErrTypeUnavailable)
	assert.Equal(t, "ACQ.SYSTEM_ERROR", pe.Code)
	_, err = e.adapter.CreatePayment(ctx, e.payReq("FAULTY", "1.00"))
	require.NoError(t, err)

	e.faults.Set("alipay.trade.refund", fault.Rule{BusinessError: "40005", Times: 1})
	_, err = e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "FAULTY", OutRefundNo: "R1", Amount: cny("1.00")})
	requireType(t, err, providers.ErrTypeRateLimited)

	e.faults.Set("alipay.trade.close", fault.Rule{Timeout: true, Times: 1})
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = e.adapter.ClosePayment(short, "FAULTY")
	requireType(t, err, providers.ErrTypeUnavailable)
}

func TestInvalidRequestsNameTheField(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := e.payReq("VALID_NO", "10.00")
	for _, tc := range []struct {
		name  string
		mod   func(*providers.PaymentRequest)
		field string
	}{
		{"out_trade_no", func(r *providers.PaymentRequest) { r.OutTradeNo = "bad-no!" }, "OutTradeNo"},
		{"subject", func(r *providers.PaymentRequest) { r.Subject = "" }, "Subject"},
		{"subject characters", func(r *providers.PaymentRequest) { r.Subject = "cream 50ml / 2" }, "Subject"},
		{"currency", func(r *providers.PaymentRequest) { r.Amount = money.MustParse("10.00", money.USD) }, "Amount"},
		{"precision", func(r *providers.PaymentRequest) {
			a, err := money.New(cny("10.00").Decimal().Add(cny("0.01").Decimal().Div(cny("10.00").Decimal())), money.CNY)
			require.NoError(t, err)
			r.Amount = a
		}, "Amount"},
		{"zero", func(r *providers.PaymentRequest) { r.Amount = money.Zero(money.CNY) }, "Amount"},
		{"hb_fq_num", func(r *providers.PaymentRequest) {
			r.Instalments = &providers.Instalments{Count: 24, FeeBearer: providers.FeeBuyer}
		}, "Instalments.Count"},
		{"hb_fq_seller_percent", func(r *providers.PaymentRequest) { r.Instalments = &providers.Instalments{Count: 3} }, "Instalments.FeeBearer"},
		{"payer", func(r *providers.PaymentRequest) { r.Payer = providers.Identity{Name: "张三", IDNumber: "123"} }, "Payer"},
		{"scene", func(r *providers.PaymentRequest) { r.Scene = "app" }, "Scene"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			tc.mod(&req)
			_, err := e.adapter.CreatePayment(ctx, req)
			pe := requireType(t, err, providers.ErrTypeInvalidRequest)
			assert.Contains(t, pe.Message, tc.field)
		})
	}
}

func TestConfigValidation(t *testing.T) {
	keys(t)
	pub, err := x509.MarshalPKIXPublicKey(&gatewayKey.PublicKey)
	require.NoError(t, err)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	cert := selfSignedCert(t)
	good := alipay.Config{AppID: testAppID, AppPrivateKeyPEM: pkcs1PEM(appKey), AlipayPublicKeyPEM: pubPEM}
	for _, tc := range []struct {
		name string
		mod  func(*alipay.Config)
		ok   bool
	}{
		{"public-key mode, PKCS #1", func(*alipay.Config) {}, true},
		{"public-key mode, PKCS #8", func(c *alipay.Config) { c.AppPrivateKeyPEM = pkcs8PEM(t, appKey) }, true},
		{"certificate mode", func(c *alipay.Config) {
			c.AlipayPublicKeyPEM, c.AppCertPEM, c.RootCertPEM, c.AlipayCertPEM = "", cert, cert, cert
		}, true},
		{"no app id", func(c *alipay.Config) { c.AppID = "" }, false},
		{"no private key", func(c *alipay.Config) { c.AppPrivateKeyPEM = "" }, false},
		{"garbage private key", func(c *alipay.Config) {
			c.AppPrivateKeyPEM = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
		}, false},
		{"no Alipay key", func(c *alipay.Config) { c.AlipayPublicKeyPEM = "" }, false},
		{"both modes", func(c *alipay.Config) { c.AppCertPEM, c.RootCertPEM, c.AlipayCertPEM = cert, cert, cert }, false},
		{"partial certificates", func(c *alipay.Config) { c.AlipayPublicKeyPEM, c.AppCertPEM = "", cert }, false},
		{"root without certificate", func(c *alipay.Config) {
			c.AlipayPublicKeyPEM, c.AppCertPEM, c.RootCertPEM, c.AlipayCertPEM = "", cert, "nothing", cert
		}, false},
		{"relative gateway", func(c *alipay.Config) { c.GatewayURL = "/gateway.do" }, false},
		{"hold days", func(c *alipay.Config) { c.HoldDays = 400 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			a, err := alipay.New(cfg)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, providers.Alipay, a.Name())
				return
			}
			require.Error(t, err)
		})
	}
}

// selfSignedCert is a certificate for the app key, as the console issues in certificate mode.
func selfSignedCert(t *testing.T) string {
	t.Helper()
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(20240101), Subject: pkix.Name{CommonName: testAppID, Organization: []string{"Brand CBEC Store"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &appKey.PublicKey, appKey)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestCertificateModeRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.adapter = e.newAdapter(alipay.Config{
		AppPrivateKeyPEM: pkcs1PEM(appKey), AppCertPEM: selfSignedCert(t),
		RootCertPEM: string(e.sb.RootCertPEM()), AlipayCertPEM: string(e.sb.GatewayCertPEM()),
	})
	n := e.paid("CERT_MODE", "66.00")
	assert.Equal(t, providers.PaymentPaid, n.Payment.Status)
	p, err := e.adapter.QueryPayment(ctx, "CERT_MODE")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPaid, p.Status)
	r, err := e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "CERT_MODE", OutRefundNo: "R1", Amount: cny("6.00")})
	require.NoError(t, err)
	assert.Equal(t, providers.RefundSucceeded, r.Status)
	nr := e.next()
	require.NoError(t, nr.err)
	assert.Equal(t, providers.NotifyRefund, nr.n.Kind)
}

func TestUnknownMethodIsNotSupported(t *testing.T) {
	// Against real Alipay the cancel extension does not exist; the gateway's
	// isv.invalid-method must classify as NotSupported.
	e := newEnv(t)
	e.faults.Set("alipay.trade.customs.cancel", fault.Rule{BusinessError: "isv.invalid-method", Times: 1})
	_, err := e.adapter.CancelDeclaration(context.Background(), providers.DeclarationRequest{OutRequestNo: "DECLARE_X1"})
	requireType(t, err, providers.ErrTypeNotSupported)
	assert.False(t, errors.Is(err, context.Canceled))
}
