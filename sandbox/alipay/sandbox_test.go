package alipay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	alipaysb "github.com/xhspay/xhspay/sandbox/alipay"
	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
)

const appID = "2021000000000002"

var (
	keysOnce           sync.Once
	appKey, gatewayKey *rsa.PrivateKey
)

func keys() {
	keysOnce.Do(func() {
		var err error
		if appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if gatewayKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type sink struct {
	mu   sync.Mutex
	recs []customs.PaymentRecord
}

func (s *sink) ReceivePaymentRecord(r customs.PaymentRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
}

type harness struct {
	t      *testing.T
	sb     *alipaysb.Sandbox
	srv    *httptest.Server
	client *sdk.Client
	faults *fault.Injector
	clock  *clock
	sink   *sink
}

func newHarness(t *testing.T, mod ...func(*alipaysb.Config)) *harness {
	t.Helper()
	keys()
	h := &harness{t: t, faults: fault.New(), clock: &clock{now: time.Now()}, sink: &sink{}}
	cfg := alipaysb.Config{
		AppID: appID, AppPublicKey: &appKey.PublicKey, GatewayKey: gatewayKey, Faults: h.faults, Customs: h.sink,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: h.clock.Now,
		NotifyRetryDelays: []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
	}
	for _, m := range mod {
		m(&cfg)
	}
	sb, err := alipaysb.New(cfg)
	require.NoError(t, err)
	h.sb = sb
	h.srv = httptest.NewServer(sb.Handler())
	t.Cleanup(func() { sb.Close(); h.srv.Close() })
	h.client = h.sdkClient()
	return h
}

// sdkClient is the unmodified SDK pointed at the sandbox in public-key mode.
func (h *harness) sdkClient() *sdk.Client {
	h.t.Helper()
	c, err := sdk.New(appID, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey)})), true,
		sdk.WithProductionGateway(h.srv.URL+"/gateway.do"), sdk.WithTimeLocation(time.FixedZone("CST", 8*3600)))
	require.NoError(h.t, err)
	require.NoError(h.t, c.LoadAliPayPublicKey(string(h.sb.GatewayPublicKeyPEM())))
	return c
}

func (h *harness) get(u string) (int, string) {
	h.t.Helper()
	resp, err := http.Get(u)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, string(b)
}

func (h *harness) precreate(outTradeNo, amount, subject, notifyURL string) string {
	h.t.Helper()
	rsp, err := h.client.TradePreCreate(context.Background(), sdk.TradePreCreate{Trade: sdk.Trade{
		Subject: subject, OutTradeNo: outTradeNo, TotalAmount: amount, ProductCode: "FACE_TO_FACE_PAYMENT", NotifyURL: notifyURL,
	}})
	require.NoError(h.t, err)
	require.True(h.t, rsp.Code.IsSuccess(), "%+v", rsp.Error)
	return rsp.QRCode
}

// signParams signs request parameters like the SDK (all but sign, sorted).
func signParams(t *testing.T, key *rsa.PrivateKey, v url.Values) {
	t.Helper()
	var pairs []string
	for k := range v {
		if k != "sign" && v.Get(k) != "" {
			pairs = append(pairs, k+"="+v.Get(k))
		}
	}
	sort.Strings(pairs)
	sum := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
}

func publicParams(method string) url.Values {
	v := url.Values{}
	v.Set("app_id", appID)
	v.Set("method", method)
	v.Set("format", "JSON")
	v.Set("charset", "utf-8")
	v.Set("sign_type", "RSA2")
	v.Set("timestamp", time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05"))
	v.Set("version", "1.0")
	v.Set("biz_content", `{"out_trade_no":"RAW_1"}`)
	return v
}

func (h *harness) post(v url.Values) map[string]json.RawMessage {
	h.t.Helper()
	resp, err := http.PostForm(h.srv.URL+"/gateway.do", v)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var out map[string]json.RawMessage
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func TestNewValidatesConfig(t *testing.T) {
	keys()
	_, err := alipaysb.New(alipaysb.Config{AppPublicKey: &appKey.PublicKey})
	require.Error(t, err)
	_, err = alipaysb.New(alipaysb.Config{AppID: appID})
	require.Error(t, err)
}

// TestSDKAcceptsSandboxResponses drives the unmodified SDK through the trade
// life cycle: every response is verified by the SDK itself.
func TestSDKAcceptsSandboxResponses(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	qr := h.precreate("SDK_1", "128.80", "Serum <30ml> & box", "")
	code, page := h.get(qr)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, page, "128.80")
	require.NoError(t, h.sb.Pay(ctx, "SDK_1", alipaysb.BuyerPayment{Method: "card", BuyerLogonID: "13912345678"}))

	q, err := h.client.TradeQuery(ctx, sdk.TradeQuery{OutTradeNo: "SDK_1"})
	require.NoError(t, err)
	require.True(t, q.Code.IsSuccess())
	assert.Equal(t, sdk.TradeStatusSuccess, q.TradeStatus)
	assert.Equal(t, "128.80", q.TotalAmount)
	assert.Equal(t, "Serum <30ml> & box", q.Subject, "HTML characters survive signing unescaped")
	assert.Equal(t, "139****5678", q.BuyerLogonId)
	require.Len(t, q.FundBillList, 1)
	assert.Equal(t, "BANKCARD", q.FundBillList[0].FundChannel)
	assert.Len(t, q.TradeNo, 28)

	r, err := h.client.TradeRefund(ctx, sdk.TradeRefund{OutTradeNo: "SDK_1", RefundAmount: "28.80", OutRequestNo: "SDK_R1"})
	require.NoError(t, err)
	require.True(t, r.Code.IsSuccess())
	assert.Equal(t, "Y", r.FundChange)
	assert.Equal(t, "28.80", r.RefundFee)
	r, err = h.client.TradeRefund(ctx, sdk.TradeRefund{OutTradeNo: "SDK_1", RefundAmount: "28.80", OutRequestNo: "SDK_R1"})
	require.NoError(t, err)
	assert.Equal(t, "N", r.FundChange, "a repeated refund moves no money")
	r, err = h.client.TradeRefund(ctx, sdk.TradeRefund{OutTradeNo: "SDK_1", RefundAmount: "100.01", OutRequestNo: "SDK_R2"})
	require.NoError(t, err)
	assert.Equal(t, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", r.SubCode)

	rq, err := h.client.TradeFastPayRefundQuery(ctx, sdk.TradeFastPayRefundQuery{OutTradeNo: "SDK_1", OutRequestNo: "SDK_R1"})
	require.NoError(t, err)
	assert.Equal(t, "REFUND_SUCCESS", rq.RefundStatus)
	assert.Equal(t, "28.80", rq.RefundAmount)

	cl, err := h.client.TradeClose(ctx, sdk.TradeClose{OutTradeNo: "SDK_1"})
	require.NoError(t, err)
	assert.Equal(t, "ACQ.TRADE_STATUS_ERROR", cl.SubCode, "only an unpaid trade closes")

	var decl struct {
		sdk.Error
		AlipayDeclareNo string `json:"alipay_declare_no"`
		IdentityCheck   string `json:"identity_check"`
	}
	err = h.client.Request(ctx, sdk.NewPayload("alipay.trade.customs.declare").
		AddBizField("out_request_no", "DECL_SDK_1").AddBizField("trade_no", q.TradeNo).
		AddBizField("merchant_customs_code", "3301960001").AddBizField("merchant_customs_name", "Brand & Co").
		AddBizField("amount", "128.80").AddBizField("customs_place", "ZONGSHU"), &decl)
	require.NoError(t, err)
	require.True(t, decl.Code.IsSuccess(), "%+v", decl.Error)
	assert.NotEmpty(t, decl.AlipayDeclareNo)
	require.Len(t, h.sink.recs, 1)
	assert.Equal(t, "SDK_1", h.sink.recs[0].OrderNo, "without a split, the customs order number is out_trade_no")
	assert.Equal(t, int64(12880), h.sink.recs[0].AmountFen)

	// A response signed over other bytes is refused by the SDK: a client
	// holding another "Alipay" key cannot verify the sandbox.
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&other.PublicKey)
	require.NoError(t, err)
	wrong := h.sdkClient()
	require.NoError(t, wrong.LoadAliPayPublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))))
	_, err = wrong.TradeQuery(ctx, sdk.TradeQuery{OutTradeNo: "SDK_1"})
	require.ErrorIs(t, err, rsa.ErrVerification)
}

func TestGatewayErrorShapes(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name    string
		mod     func(url.Values)
		resign  bool
		key     string
		code    string
		subCode string
	}{
		{"bad signature", func(v url.Values) { v.Set("biz_content", `{"out_trade_no":"RAW_2"}`) }, false, "alipay_trade_query_response", "40002", "isv.invalid-signature"},
		{"missing signature", func(v url.Values) { v.Del("sign") }, false, "alipay_trade_query_response", "40001", "isv.missing-signature"},
		{"unknown app", func(v url.Values) { v.Set("app_id", "2021999999999999") }, true, "alipay_trade_query_response", "40002", "isv.invalid-app-id"},
		{"stale timestamp", func(v url.Values) {
			v.Set("timestamp", time.Now().Add(-2*time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05"))
		}, true, "alipay_trade_query_response", "40002", "isv.invalid-timestamp"},
		{"UTC timestamp", func(v url.Values) { v.Set("timestamp", time.Now().UTC().Format("2006-01-02 15:04:05")) }, true, "alipay_trade_query_response", "40002", "isv.invalid-timestamp"},
		{"RSA1", func(v url.Values) { v.Set("sign_type", "RSA") }, true, "alipay_trade_query_response", "40002", "isv.invalid-signature-type"},
		{"unknown method", func(v url.Values) { v.Set("method", "alipay.trade.nothing") }, true, "error_response", "40002", "isv.invalid-method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := publicParams("alipay.trade.query")
			signParams(t, appKey, v)
			tc.mod(v)
			if tc.resign {
				signParams(t, appKey, v)
			}
			out := h.post(v)
			_, signed := out["sign"]
			assert.False(t, signed, "gateway-level errors are not signed")
			var body map[string]string
			require.NoError(t, json.Unmarshal(out[tc.key], &body), "response: %v", out)
			assert.Equal(t, tc.code, body["code"])
			assert.Equal(t, tc.subCode, body["sub_code"])
			assert.NotEmpty(t, body["sub_msg"])
		})
	}

	// The SDK surfaces the unsigned error as *alipay.Error.
	keys()
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	c, err := sdk.New(appID, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})), true,
		sdk.WithProductionGateway(h.srv.URL+"/gateway.do"), sdk.WithTimeLocation(time.FixedZone("CST", 8*3600)))
	require.NoError(t, err)
	require.NoError(t, c.LoadAliPayPublicKey(string(h.sb.GatewayPublicKeyPEM())))
	_, err = c.TradeQuery(context.Background(), sdk.TradeQuery{OutTradeNo: "X"})
	var ae *sdk.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, sdk.CodeInvalidParam, ae.Code)
	assert.Equal(t, "isv.invalid-signature", ae.SubCode)
	assert.Contains(t, ae.SubMsg, "method=alipay.trade.query", "the gateway shows the string it verified")
}

// TestSignedResponseBytes checks the signature covers exactly the bytes sent.
func TestSignedResponseBytes(t *testing.T) {
	h := newHarness(t)
	h.precreate("BYTES_1", "1.00", "A<b>&c", "")
	v := publicParams("alipay.trade.query")
	v.Set("biz_content", `{"out_trade_no":"BYTES_1"}`)
	signParams(t, appKey, v)
	resp, err := http.PostForm(h.srv.URL+"/gateway.do", v)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &out))
	inner := out["alipay_trade_query_response"]
	require.True(t, bytes.Contains(raw, inner), "the inner object is embedded unchanged")
	_, hasCertSN := out["alipay_cert_sn"]
	assert.False(t, hasCertSN, "never alipay_cert_sn in public-key mode")
	var sig string
	require.NoError(t, json.Unmarshal(out["sign"], &sig))
	sigBytes, err := base64.StdEncoding.DecodeString(sig)
	require.NoError(t, err)
	sum := sha256.Sum256(inner)
	require.NoError(t, rsa.VerifyPKCS1v15(&gatewayKey.PublicKey, crypto.SHA256, sum[:], sigBytes))
	var body map[string]string
	require.NoError(t, json.Unmarshal(inner, &body))
	assert.Equal(t, "ACQ.TRADE_NOT_EXIST", body["sub_code"], "a precreated trade is unknown until scanned")
}

// receiver is a merchant notify endpoint verifying with the SDK.
type receiver struct {
	mu       sync.Mutex
	client   *sdk.Client
	answers  []string
	attempts int
	got      []url.Values
	errs     []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	answer := "success"
	if rc.attempts < len(rc.answers) {
		answer = rc.answers[rc.attempts]
	}
	rc.attempts++
	if _, err := rc.client.DecodeNotification(r.Context(), r.PostForm); err != nil {
		rc.errs = append(rc.errs, err)
	}
	rc.got = append(rc.got, r.PostForm)
	_, _ = io.WriteString(w, answer)
}

func (rc *receiver) snapshot() (int, []url.Values, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.attempts, append([]url.Values(nil), rc.got...), append([]error(nil), rc.errs...)
}

func TestNotificationsAreSignedAndRetried(t *testing.T) {
	h := newHarness(t)
	rc := &receiver{client: h.client, answers: []string{"fail", "success\n"}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	h.precreate("NOTIFY_1", "45.60", "Lipstick", srv.URL+"/notify")
	require.NoError(t, h.sb.Pay(context.Background(), "NOTIFY_1", alipaysb.BuyerPayment{Method: "huabei", Instalments: 3}))
	require.Eventually(t, func() bool { n, _, _ := rc.snapshot(); return n == 3 }, 5*time.Second, 5*time.Millisecond,
		"retried until the answer is exactly \"success\"")
	time.Sleep(30 * time.Millisecond)
	attempts, got, errs := rc.snapshot()
	assert.Equal(t, 3, attempts, "no attempt after the acknowledgement")
	assert.Empty(t, errs, "the SDK verifies every attempt")
	v := got[2]
	for _, k := range []string{"notify_id", "notify_time", "notify_type", "trade_status", "out_trade_no", "trade_no", "total_amount", "buyer_logon_id", "gmt_payment", "app_id", "sign", "sign_type"} {
		assert.NotEmpty(t, v.Get(k), k)
	}
	for k := range v {
		assert.NotEmpty(t, v.Get(k), "empty fields are omitted: %s", k)
	}
	assert.Equal(t, "TRADE_SUCCESS", v.Get("trade_status"))
	assert.Equal(t, "45.60", v.Get("total_amount"))
	assert.JSONEq(t, `{"user_install_num":"3"}`, v.Get("hb_fq_pay_info"))
	assert.Equal(t, got[0].Get("notify_id"), v.Get("notify_id"), "retries keep notify_id")
}

func TestCloseStopsRetries(t *testing.T) {
	h := newHarness(t, func(c *alipaysb.Config) { c.NotifyRetryDelays = []time.Duration{time.Hour} })
	rc := &receiver{client: h.client, answers: []string{"fail", "fail"}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	h.precreate("CLOSE_1", "1.00", "x", srv.URL)
	require.NoError(t, h.sb.Pay(context.Background(), "CLOSE_1", alipaysb.BuyerPayment{Method: "balance"}))
	require.Eventually(t, func() bool { n, _, _ := rc.snapshot(); return n == 1 }, 5*time.Second, 5*time.Millisecond)
	done := make(chan struct{})
	go func() { h.sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not stop the pending retry")
	}
}

func TestDroppedNotificationLeavesQuery(t *testing.T) {
	h := newHarness(t)
	rc := &receiver{client: h.client}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	h.faults.SetNotify(fault.NotifyRule{Drop: true, Times: 1})
	h.precreate("DROP_1", "3.00", "x", srv.URL)
	require.NoError(t, h.sb.Pay(context.Background(), "DROP_1", alipaysb.BuyerPayment{Method: "balance"}))
	time.Sleep(30 * time.Millisecond)
	n, _, _ := rc.snapshot()
	assert.Zero(t, n)
	q, err := h.client.TradeQuery(context.Background(), sdk.TradeQuery{OutTradeNo: "DROP_1"})
	require.NoError(t, err)
	assert.Equal(t, sdk.TradeStatusSuccess, q.TradeStatus, "the lost notification is made good by a query")
}

func TestPayEndpointAndCashierForm(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	u, err := h.client.TradePagePay(sdk.TradePagePay{Trade: sdk.Trade{
		Subject: "Perfume", OutTradeNo: "PAGE_1", TotalAmount: "300.00", ProductCode: "FAST_INSTANT_TRADE_PAY",
		ReturnURL: "https://shop.example.com/return?from=alipay",
	}})
	require.NoError(t, err)

	postJSON := func(body string) (int, map[string]string) {
		resp, err := http.Post(h.srv.URL+"/sandbox/pay", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	status, _ := postJSON(`{"outTradeNo":"PAGE_1","method":"balance"}`)
	assert.Equal(t, http.StatusNotFound, status, "the page-pay trade exists once its cashier is opened")

	code, page := h.get(u.String())
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, page, "300.00")
	assert.Contains(t, page, `action="/sandbox/pay"`)

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(h.srv.URL+"/sandbox/pay", url.Values{"outTradeNo": {"PAGE_1"}, "method": {"huabei"}, "instalments": {"12"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "shop.example.com", back.Host)
	assert.Equal(t, "alipay", back.Query().Get("from"))
	ret := back.Query()
	ret.Del("from")
	require.NoError(t, h.client.VerifySign(ctx, ret), "the synchronous return is signed")
	assert.Equal(t, "PAGE_1", ret.Get("out_trade_no"))

	q, err := h.client.TradeQuery(ctx, sdk.TradeQuery{OutTradeNo: "PAGE_1"})
	require.NoError(t, err)
	assert.Equal(t, sdk.TradeStatusSuccess, q.TradeStatus)
	require.NotNil(t, q.HBFQPayInfo)
	assert.Equal(t, "12", q.HBFQPayInfo.UserInstallNum)
	assert.Equal(t, "PCREDIT", q.FundBillList[0].FundChannel)

	status, out := postJSON(`{"outTradeNo":"PAGE_1","method":"balance"}`)
	assert.Equal(t, http.StatusConflict, status, out["error"])
	status, out = postJSON(`{"outTradeNo":"PAGE_1","method":"cash"}`)
	assert.Equal(t, http.StatusBadRequest, status, out["error"])

	// Mobile-site pay serves the same cashier.
	wap, err := h.client.TradeWapPay(sdk.TradeWapPay{Trade: sdk.Trade{Subject: "Toner", OutTradeNo: "WAP_1", TotalAmount: "80.00", ProductCode: "QUICK_WAP_WAY"}})
	require.NoError(t, err)
	code, page = h.get(wap.String())
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, page, "80.00")
	require.NoError(t, h.sb.Pay(ctx, "WAP_1", alipaysb.BuyerPayment{Method: "balance"}))

	h.precreate("QR_JSON", "2.00", "x", "")
	status, out = postJSON(`{"outTradeNo":"QR_JSON","method":"balance","buyerLogonId":"a@b.cn"}`)
	require.Equal(t, http.StatusOK, status, out["error"])
	assert.Equal(t, "TRADE_SUCCESS", out["tradeStatus"])
	assert.Len(t, out["tradeNo"], 28)
}

func TestCertificateModeAndCertDownload(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: appID}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &appKey.PublicKey, appKey)
	require.NoError(t, err)
	appCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))

	// In production the SDK downloads the certificate a response names.
	c, err := sdk.New(appID, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey)})), true,
		sdk.WithProductionGateway(h.srv.URL+"/gateway.do"), sdk.WithTimeLocation(time.FixedZone("CST", 8*3600)))
	require.NoError(t, err)
	require.NoError(t, c.LoadAppCertPublicKey(appCert))
	require.NoError(t, c.LoadAliPayRootCert(string(h.sb.RootCertPEM())))
	rsp, err := c.TradePreCreate(ctx, sdk.TradePreCreate{Trade: sdk.Trade{Subject: "x", OutTradeNo: "CERT_1", TotalAmount: "1.00"}})
	require.NoError(t, err)
	assert.True(t, rsp.Code.IsSuccess())
}

func TestBusinessErrorInjection(t *testing.T) {
	h := newHarness(t)
	h.faults.Set("alipay.trade.precreate", fault.Rule{BusinessError: "ACQ.SYSTEM_ERROR", Times: 1})
	rsp, err := h.client.TradePreCreate(context.Background(), sdk.TradePreCreate{Trade: sdk.Trade{Subject: "x", OutTradeNo: "BE_1", TotalAmount: "1.00"}})
	require.NoError(t, err, "a business error is a signed answer")
	assert.Equal(t, sdk.CodeUnknowError, rsp.Code)
	assert.Equal(t, "ACQ.SYSTEM_ERROR", rsp.SubCode)

	h.faults.Set("cashier", fault.Rule{Status: http.StatusBadGateway, Times: 1})
	qr := h.precreate("BE_2", "1.00", "x", "")
	code, _ := h.get(qr)
	assert.Equal(t, http.StatusBadGateway, code)
	code, _ = h.get(qr)
	assert.Equal(t, http.StatusOK, code)

	// The injector's control API is mounted on the sandbox.
	req, err := http.NewRequest(http.MethodPut, h.srv.URL+"/sandbox/faults", strings.NewReader(`{"endpoints":{"alipay.trade.query":{"status":500,"times":1}}}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	_, err = h.client.TradeQuery(context.Background(), sdk.TradeQuery{OutTradeNo: "BE_2"})
	require.Error(t, err)
}
