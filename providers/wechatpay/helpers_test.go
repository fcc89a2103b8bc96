package wechatpay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/wechatpay"
	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
	sandbox "github.com/xhspay/xhspay/sandbox/wechatpay"
)

const (
	testMchID       = "1900000109"
	testAppID       = "wxd678efh567hg6787"
	testSerial      = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	testPubKeyID    = "PUB_KEY_ID_0119000001092025010100000000"
	testAPIv3Key    = "0123456789abcdefghijABCDEFGHIJ01"
	otherAPIv3Key   = "zyxwvutsrqponmlkjihgfedcba987654"
	testPayerName   = "张三"
	testPayerID     = "330102199001011234"
	testMerchantCus = "3301960ABC"
)

// keys are the RSA keys of the tests, generated once per test binary.
type keys struct {
	merchant, platform, other *rsa.PrivateKey
}

var (
	keysOnce sync.Once
	theKeys  keys
)

// testKeys returns the merchant, platform and an unrelated RSA 2048 key.
func testKeys(t *testing.T) keys {
	t.Helper()
	keysOnce.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			return k
		}
		theKeys = keys{merchant: gen(), platform: gen(), other: gen()}
	})
	return theKeys
}

// pkcs8PEM encodes a private key as PKCS#8 PEM.
func pkcs8PEM(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// pkixPEM encodes a public key as PKIX PEM.
func pkixPEM(t *testing.T, k *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// clock is a settable business clock for the sandbox.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSink records the payment records pushed to customs.
type fakeSink struct {
	mu   sync.Mutex
	recs []customs.PaymentRecord
}

// ReceivePaymentRecord records rec.
func (s *fakeSink) ReceivePaymentRecord(rec customs.PaymentRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, rec)
}

// records returns a copy of the records received.
func (s *fakeSink) records() []customs.PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]customs.PaymentRecord(nil), s.recs...)
}

// env is an adapter wired to a sandbox over HTTP, with a notify receiver
// that parses every notification through the adapter.
type env struct {
	t         *testing.T
	sb        *sandbox.Sandbox
	srv       *httptest.Server
	notifySrv *httptest.Server
	ad        *wechatpay.Adapter
	faults    *fault.Injector
	sink      *fakeSink
	clock     *clock
	notes     chan providers.Notification
	noteErrs  chan error
	failNext  atomic.Int32 // notify attempts to answer 500 before accepting
	attempts  atomic.Int32
}

// quiet discards logs.
var quiet = slog.New(slog.DiscardHandler)

// newEnv starts a sandbox (modified by mod) and an adapter pointed at it.
func newEnv(t *testing.T, mod func(*sandbox.Config)) *env {
	t.Helper()
	k := testKeys(t)
	e := &env{
		t:        t,
		faults:   fault.New(),
		sink:     &fakeSink{},
		clock:    &clock{t: time.Now()},
		notes:    make(chan providers.Notification, 32),
		noteErrs: make(chan error, 32),
	}
	var ad atomic.Pointer[wechatpay.Adapter]
	e.notifySrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.attempts.Add(1)
		if e.failNext.Load() > 0 {
			e.failNext.Add(-1)
			wechatpay.RejectNotification(w, http.StatusInternalServerError, "busy")
			return
		}
		n, err := ad.Load().ParseNotification(r.Context(), r)
		if err != nil {
			e.noteErrs <- err
			wechatpay.RejectNotification(w, http.StatusBadRequest, err.Error())
			return
		}
		e.notes <- n
		wechatpay.AckNotification(w)
	}))
	t.Cleanup(e.notifySrv.Close)
	cfg := sandbox.Config{
		MchID:               testMchID,
		AppID:               testAppID,
		MerchantPublicKey:   &k.merchant.PublicKey,
		MerchantSerialNo:    testSerial,
		PlatformKey:         k.platform,
		PlatformPublicKeyID: testPubKeyID,
		APIv3Key:            testAPIv3Key,
		Faults:              e.faults,
		Customs:             e.sink,
		Logger:              quiet,
		Now:                 e.clock.Now,
		RefundDelay:         20 * time.Millisecond,
		NotifyRetry:         []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	e.sb = sb
	e.srv = httptest.NewServer(sb.Handler())
	t.Cleanup(e.srv.Close)
	e.ad = e.adapter(e.srv.URL, k.merchant)
	ad.Store(e.ad)
	return e
}

// adapter builds an adapter that signs with merchantKey and talks to baseURL.
func (e *env) adapter(baseURL string, merchantKey *rsa.PrivateKey) *wechatpay.Adapter {
	e.t.Helper()
	ad, err := wechatpay.New(context.Background(), wechatpay.Config{
		MchID:                 testMchID,
		AppID:                 testAppID,
		MerchantPrivateKeyPEM: pkcs8PEM(e.t, merchantKey),
		MerchantSerialNo:      testSerial,
		PlatformPublicKeyPEM:  string(e.sb.PlatformPublicKeyPEM()),
		PlatformPublicKeyID:   e.sb.PlatformPublicKeyID(),
		APIv3Key:              e.sb.APIv3Key(),
		BaseURL:               baseURL,
		NotifyURL:             e.notifySrv.URL + "/notify/wechatpay",
		HTTPClient:            &http.Client{Timeout: 5 * time.Second},
		Logger:                quiet,
	})
	require.NoError(e.t, err)
	return ad
}

// cny parses a CNY amount.
func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

// paymentRequest is a valid request for outTradeNo.
func paymentRequest(outTradeNo, amount string, scene providers.Scene) providers.PaymentRequest {
	return providers.PaymentRequest{
		OutTradeNo: outTradeNo,
		Subject:    "Sandbox order",
		Amount:     cny(amount),
		ExpireAt:   time.Now().Add(30 * time.Minute),
		Scene:      scene,
		Payer:      providers.Identity{Name: testPayerName, IDNumber: testPayerID},
	}
}

// nextNote waits for the next parsed notification.
func (e *env) nextNote() providers.Notification {
	e.t.Helper()
	select {
	case n := <-e.notes:
		return n
	case err := <-e.noteErrs:
		e.t.Fatalf("notification refused: %v", err)
	case <-time.After(5 * time.Second):
		e.t.Fatal("no notification within 5s")
	}
	return providers.Notification{}
}

// createAndPay creates a native order and has the buyer pay it, consuming
// the TRANSACTION.SUCCESS notification.
func (e *env) createAndPay(outTradeNo, amount string, hold bool) providers.Notification {
	e.t.Helper()
	ctx := context.Background()
	req := paymentRequest(outTradeNo, amount, providers.SceneQR)
	req.Hold = hold
	_, err := e.ad.CreatePayment(ctx, req)
	require.NoError(e.t, err)
	require.NoError(e.t, e.sb.Pay(ctx, outTradeNo, sandbox.BuyerPayment{Method: "balance"}))
	n := e.nextNote()
	require.Equal(e.t, providers.NotifyPayment, n.Kind)
	return n
}

// requireType asserts err is a wechatpay provider error of type want.
func requireType(t *testing.T, err error, want providers.ErrorType) *providers.Error {
	t.Helper()
	require.Error(t, err)
	var pe *providers.Error
	require.ErrorAs(t, err, &pe, "error %v is not a *providers.Error", err)
	require.Equal(t, want, pe.Type, "error: %v", err)
	require.Equal(t, "wechatpay", pe.Provider)
	return pe
}
