package wechatpay_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
	"github.com/xhspay/xhspay/sandbox/wechatpay"
)

const (
	mchID  = "1230000109"
	appID  = "wxd678efh567hg6787"
	serial = "3775B6A45ACD588826D15E583A95F5DD12345678"
)

var (
	keysOnce                 sync.Once
	merchantKey, platformKey *rsa.PrivateKey
	otherKey                 *rsa.PrivateKey
	quiet                    = slog.New(slog.DiscardHandler)
)

// keys returns the merchant, platform and an unrelated RSA 2048 key, generated once.
func keys() (merchant, platform, other *rsa.PrivateKey) {
	keysOnce.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			return k
		}
		merchantKey, platformKey, otherKey = gen(), gen(), gen()
	})
	return merchantKey, platformKey, otherKey
}

// sink records payment records.
type sink struct {
	mu   sync.Mutex
	recs []customs.PaymentRecord
}

// ReceivePaymentRecord records rec.
func (s *sink) ReceivePaymentRecord(rec customs.PaymentRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, rec)
}

// all returns the records so far.
func (s *sink) all() []customs.PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]customs.PaymentRecord(nil), s.recs...)
}

// received is one notification the test receiver got.
type received struct {
	req     *notify.Request
	content map[string]any
	err     error
}

// harness is a sandbox behind an HTTP server, an SDK client for it and a
// notification receiver that parses with the SDK's notify handler.
type harness struct {
	t        *testing.T
	sb       *wechatpay.Sandbox
	srv      *httptest.Server
	client   *core.Client
	faults   *fault.Injector
	sink     *sink
	notes    chan received
	notifyTo string
	status   func() int // the receiver's answer
	mu       sync.Mutex
	now      time.Time
}

// newHarness starts a sandbox modified by mod.
func newHarness(t *testing.T, mod func(*wechatpay.Config)) *harness {
	t.Helper()
	merchant, platform, _ := keys()
	h := &harness{t: t, faults: fault.New(), sink: &sink{}, notes: make(chan received, 32), now: time.Now()}
	h.status = func() int { return http.StatusOK }
	cfg := wechatpay.Config{
		MchID:             mchID,
		AppID:             appID,
		MerchantPublicKey: &merchant.PublicKey,
		MerchantSerialNo:  serial,
		PlatformKey:       platform,
		Faults:            h.faults,
		Customs:           h.sink,
		Logger:            quiet,
		Now:               h.clock,
		RefundDelay:       10 * time.Millisecond,
		NotifyRetry:       []time.Duration{5 * time.Millisecond, 5 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	sb, err := wechatpay.New(cfg)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	h.sb = sb
	h.srv = httptest.NewServer(sb.Handler())
	t.Cleanup(h.srv.Close)
	h.client = h.sdkClient(merchant)

	pub, err := utils.LoadPublicKey(string(sb.PlatformPublicKeyPEM()))
	require.NoError(t, err)
	handler, err := notify.NewRSANotifyHandler(sb.APIv3Key(), verifiers.NewSHA256WithRSAPubkeyVerifier(sb.PlatformPublicKeyID(), *pub))
	require.NoError(t, err)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := h.status(); st != http.StatusOK {
			w.WriteHeader(st)
			return
		}
		content := map[string]any{}
		req, err := handler.ParseNotifyRequest(r.Context(), r, &content)
		h.notes <- received{req: req, content: content, err: err}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":"SUCCESS","message":"成功"}`)
	}))
	t.Cleanup(receiver.Close)
	h.notifyTo = receiver.URL + "/notify"
	return h
}

// clock is the sandbox's business clock.
func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// advance moves the business clock.
func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

// sdkClient is an unmodified SDK client signing with key, sent to the sandbox.
func (h *harness) sdkClient(key *rsa.PrivateKey, extra ...core.ClientOption) *core.Client {
	h.t.Helper()
	pub, err := utils.LoadPublicKey(string(h.sb.PlatformPublicKeyPEM()))
	require.NoError(h.t, err)
	target, err := url.Parse(h.srv.URL)
	require.NoError(h.t, err)
	opts := append([]core.ClientOption{
		option.WithWechatPayPublicKeyAuthCipher(mchID, serial, key, h.sb.PlatformPublicKeyID(), pub),
		option.WithHTTPClient(&http.Client{Timeout: 5 * time.Second, Transport: redirect{target}}),
	}, extra...)
	c, err := core.NewClient(context.Background(), opts...)
	require.NoError(h.t, err)
	return c
}

// redirect sends requests to the sandbox, keeping the signed request URI.
type redirect struct{ to *url.URL }

// RoundTrip rewrites scheme and host.
func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = r.to.Scheme, r.to.Host, r.to.Host
	return http.DefaultTransport.RoundTrip(out)
}

// api is the WeChat Pay API host the SDK builds URLs on (redirected to the sandbox).
const api = consts.WechatPayAPIServer

// post sends a JSON body with the SDK client and decodes a 2xx answer into out.
func (h *harness) post(path string, body any, out any) error {
	res, err := h.client.Post(context.Background(), api+path, body)
	if err != nil {
		return err
	}
	if out != nil {
		return core.UnMarshalResponse(res.Response, out)
	}
	return nil
}

// get sends a GET with the SDK client and decodes the answer into out.
func (h *harness) get(pathAndQuery string, out any) error {
	res, err := h.client.Get(context.Background(), api+pathAndQuery)
	if err != nil {
		return err
	}
	return core.UnMarshalResponse(res.Response, out)
}

// createNative creates a native order of total fen.
func (h *harness) createNative(outTradeNo string, total int64, profitSharing bool) {
	h.t.Helper()
	body := map[string]any{
		"appid": appID, "mchid": mchID, "description": "Test goods", "out_trade_no": outTradeNo,
		"notify_url": h.notifyTo, "amount": map[string]any{"total": total, "currency": "CNY"},
	}
	if profitSharing {
		body["settle_info"] = map[string]any{"profit_sharing": true}
	}
	var res struct {
		CodeURL string `json:"code_url"`
	}
	require.NoError(h.t, h.post("/v3/pay/transactions/native", body, &res))
	require.NotEmpty(h.t, res.CodeURL)
}

// pay creates and pays an order, consuming its notification.
func (h *harness) pay(outTradeNo string, total int64, p wechatpay.BuyerPayment) received {
	h.t.Helper()
	h.createNative(outTradeNo, total, false)
	require.NoError(h.t, h.sb.Pay(context.Background(), outTradeNo, p))
	return h.next()
}

// next waits for the next notification.
func (h *harness) next() received {
	h.t.Helper()
	select {
	case n := <-h.notes:
		require.NoError(h.t, n.err)
		return n
	case <-time.After(5 * time.Second):
		h.t.Fatal("no notification within 5s")
	}
	return received{}
}

// apiError asserts err is a WeChat Pay error answer with status and code.
func apiError(t *testing.T, err error, status int, code string) {
	t.Helper()
	require.Error(t, err)
	ae, ok := err.(*core.APIError)
	require.True(t, ok, "not an APIError: %v", err)
	require.Equal(t, status, ae.StatusCode, "body: %s", ae.Body)
	require.Equal(t, code, ae.Code, "body: %s", ae.Body)
}

// rawRequest sends a request signed by hand (to test what the SDK never sends).
func (h *harness) rawRequest(method, uri, body string, sign func(msg string) string, authParams map[string]string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+uri, strings.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	p := map[string]string{
		"mchid": mchID, "nonce_str": "593BEC0C930BF1AFEB40B4A08C8FB242",
		"timestamp": strconv.FormatInt(time.Now().Unix(), 10), "serial_no": serial,
	}
	for k, v := range authParams {
		p[k] = v
	}
	msg := method + "\n" + uri + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + body + "\n"
	p["signature"] = sign(msg)
	req.Header.Set("Authorization", fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		p["mchid"], p["nonce_str"], p["timestamp"], p["serial_no"], p["signature"]))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// signWith signs a message with key (SHA256withRSA, base64).
func signWith(key *rsa.PrivateKey) func(string) string {
	return func(msg string) string {
		d := sha256.Sum256([]byte(msg))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
		if err != nil {
			panic(err)
		}
		return base64.StdEncoding.EncodeToString(sig)
	}
}

// decodeError reads a WeChat Pay error body.
func decodeError(t *testing.T, resp *http.Response) (code string) {
	t.Helper()
	var e struct {
		Code string `json:"code"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	return e.Code
}
