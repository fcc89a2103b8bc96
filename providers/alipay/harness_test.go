package alipay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/alipay"
	alipaysb "github.com/xhspay/xhspay/sandbox/alipay"
	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
)

const testAppID = "2021000000000001"

var (
	keysOnce                     sync.Once
	appKey, gatewayKey, otherKey *rsa.PrivateKey
)

// keys generates the test binary's RSA keys once.
func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		for _, k := range []**rsa.PrivateKey{&appKey, &gatewayKey, &otherKey} {
			if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		}
	})
}

func pkcs8PEM(t testing.TB, k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func pkcs1PEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// testClock is a settable clock for the sandbox.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeSink records the payment records pushed to customs.
type fakeSink struct {
	mu      sync.Mutex
	records []customs.PaymentRecord
}

func (s *fakeSink) ReceivePaymentRecord(rec customs.PaymentRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, rec)
}

func (s *fakeSink) all() []customs.PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]customs.PaymentRecord(nil), s.records...)
}

// notice is one notification the merchant's endpoint received.
type notice struct {
	n   providers.Notification
	err error
	raw string
}

// env is a sandbox, the adapter pointed at it and the merchant's notify endpoint.
type env struct {
	t         *testing.T
	sb        *alipaysb.Sandbox
	srv       *httptest.Server
	notifySrv *httptest.Server
	adapter   *alipay.Adapter
	faults    *fault.Injector
	sink      *fakeSink
	clock     *testClock
	notices   chan notice
	// rejectNext makes the merchant endpoint answer 500 to that many deliveries.
	rejectNext atomic.Int32
	// deliveries counts the deliveries the merchant endpoint received.
	deliveries atomic.Int32
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv starts a sandbox over httptest and an adapter in public-key mode.
func newEnv(t *testing.T) *env {
	t.Helper()
	keys(t)
	e := &env{t: t, faults: fault.New(), sink: &fakeSink{}, clock: &testClock{now: time.Now()}, notices: make(chan notice, 64)}
	sb, err := alipaysb.New(alipaysb.Config{
		AppID: testAppID, AppPublicKey: &appKey.PublicKey, GatewayKey: gatewayKey, Faults: e.faults,
		Customs: e.sink, Logger: quietLogger(), Now: e.clock.Now,
		NotifyRetryDelays: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond},
	})
	require.NoError(t, err)
	e.sb = sb
	e.srv = httptest.NewServer(sb.Handler())
	e.notifySrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.deliveries.Add(1)
		if e.rejectNext.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		e.rejectNext.Store(0)
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		n, err := e.adapter.ParseNotification(r.Context(), r)
		e.notices <- notice{n: n, err: err, raw: string(raw)}
		if err != nil {
			http.Error(w, "fail", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "success")
	}))
	t.Cleanup(func() {
		sb.Close()
		e.notifySrv.Close()
		e.srv.Close()
	})
	e.adapter = e.newAdapter(alipay.Config{AppPrivateKeyPEM: pkcs8PEM(t, appKey)})
	return e
}

// newAdapter returns an adapter on the sandbox; cfg fills in what it leaves empty.
func (e *env) newAdapter(cfg alipay.Config) *alipay.Adapter {
	e.t.Helper()
	if cfg.AppID == "" {
		cfg.AppID = testAppID
	}
	if cfg.AlipayPublicKeyPEM == "" && cfg.AlipayCertPEM == "" {
		cfg.AlipayPublicKeyPEM = string(e.sb.GatewayPublicKeyPEM())
	}
	cfg.GatewayURL = e.srv.URL + "/gateway.do"
	cfg.NotifyURL = e.notifySrv.URL + "/notify/alipay"
	cfg.Logger = quietLogger()
	a, err := alipay.New(cfg)
	require.NoError(e.t, err)
	return a
}

// next waits for the next notification the merchant received.
func (e *env) next() notice {
	e.t.Helper()
	select {
	case n := <-e.notices:
		return n
	case <-time.After(5 * time.Second):
		e.t.Fatal("no notification arrived")
		return notice{}
	}
}

// none asserts no notification arrives for a short while.
func (e *env) none(wait time.Duration) {
	e.t.Helper()
	select {
	case n := <-e.notices:
		e.t.Fatalf("unexpected notification: %+v", n)
	case <-time.After(wait):
	}
}

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

// payReq is a valid QR payment request.
func (e *env) payReq(outTradeNo, amount string) providers.PaymentRequest {
	return providers.PaymentRequest{
		OutTradeNo: outTradeNo, Subject: "Hydrating cream 50ml", Amount: cny(amount),
		ExpireAt: e.clock.Now().Add(30 * time.Minute), Scene: providers.SceneQR,
	}
}

// paid creates a QR trade and has the buyer pay it with balance; it returns
// the payment notification.
func (e *env) paid(outTradeNo, amount string, mod ...func(*providers.PaymentRequest)) providers.Notification {
	e.t.Helper()
	req := e.payReq(outTradeNo, amount)
	for _, m := range mod {
		m(&req)
	}
	_, err := e.adapter.CreatePayment(context.Background(), req)
	require.NoError(e.t, err)
	require.NoError(e.t, e.sb.Pay(context.Background(), outTradeNo, alipaysb.BuyerPayment{Method: "balance", BuyerLogonID: "13800138000"}))
	n := e.next()
	require.NoError(e.t, n.err)
	require.Equal(e.t, providers.NotifyPayment, n.n.Kind)
	return n.n
}

// signAlipay signs form values the way Alipay signs notifications.
func signAlipay(t testing.TB, key *rsa.PrivateKey, v url.Values) string {
	t.Helper()
	var keys []string
	for k := range v {
		if k == "sign" || k == "sign_type" || v.Get(k) == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, k+"="+v.Get(k))
	}
	h := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

// notifyRequest builds a notification POST with body.
func notifyRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/notify/alipay", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return r
}

// requireType asserts err is a provider error of type want.
func requireType(t testing.TB, err error, want providers.ErrorType) *providers.Error {
	t.Helper()
	require.Error(t, err)
	var pe *providers.Error
	require.ErrorAs(t, err, &pe, "want a *providers.Error, got %T: %v", err, err)
	require.Equal(t, "alipay", pe.Provider)
	require.Equal(t, want, pe.Type, "error: %v", err)
	return pe
}

func alipaysbBalance() alipaysb.BuyerPayment {
	return alipaysb.BuyerPayment{Method: "balance", BuyerLogonID: "13800138000"}
}
