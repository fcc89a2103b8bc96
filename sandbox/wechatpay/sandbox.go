// Package wechatpay is a WeChat Pay APIv3 sandbox: it speaks the API as a
// store developer sees it — requests signed with the merchant key
// (WECHATPAY2-SHA256-RSA2048), responses signed with the platform key,
// notifications encrypted with AEAD_AES_256_GCM under the APIv3 key — for
// payments (native, h5, jsapi), refunds, profit-sharing unfreeze (the escrow
// release), cross-border customs declaration and trade bills. A scripted buyer
// pays orders; faults are injected per endpoint and on notifications.
//
// The sandbox implements the protocol on its own (standard library crypto);
// it shares no code with any WeChat Pay client.
package wechatpay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
)

// Endpoint names, as used for fault injection (fault.Injector rules).
const (
	// EndpointNativePrepay creates a native (QR code) order.
	EndpointNativePrepay = "POST /v3/pay/transactions/native"
	// EndpointH5Prepay creates an h5 (mobile browser) order.
	EndpointH5Prepay = "POST /v3/pay/transactions/h5"
	// EndpointJSAPIPrepay creates a jsapi (in-WeChat) order.
	EndpointJSAPIPrepay = "POST /v3/pay/transactions/jsapi"
	// EndpointQueryByOutTradeNo queries an order by out_trade_no.
	EndpointQueryByOutTradeNo = "GET /v3/pay/transactions/out-trade-no/{out_trade_no}"
	// EndpointQueryByID queries an order by transaction_id.
	EndpointQueryByID = "GET /v3/pay/transactions/id/{transaction_id}"
	// EndpointClose closes an unpaid order.
	EndpointClose = "POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close"
	// EndpointRefund creates a refund.
	EndpointRefund = "POST /v3/refund/domestic/refunds"
	// EndpointQueryRefund queries a refund by out_refund_no.
	EndpointQueryRefund = "GET /v3/refund/domestic/refunds/{out_refund_no}"
	// EndpointUnfreeze unfreezes a profit-sharing order's remaining funds.
	EndpointUnfreeze = "POST /v3/profitsharing/orders/unfreeze"
	// EndpointQueryProfitSharing queries a profit-sharing order.
	EndpointQueryProfitSharing = "GET /v3/profitsharing/orders/{out_order_no}"
	// EndpointUnsplitAmount returns a transaction's funds still frozen for profit sharing.
	EndpointUnsplitAmount = "GET /v3/profitsharing/transactions/{transaction_id}/amounts"
	// EndpointCustomsDeclare submits a customs payment declaration.
	EndpointCustomsDeclare = "POST /v3/global/customs/orders"
	// EndpointCustomsQuery queries customs payment declarations.
	EndpointCustomsQuery = "GET /v3/global/customs/orders"
	// EndpointCustomsModify corrects a declaration's data.
	EndpointCustomsModify = "PATCH /v3/global/customs/orders"
	// EndpointCustomsRedeclare pushes a declaration to customs again.
	EndpointCustomsRedeclare = "POST /v3/global/customs/redeclare"
	// EndpointCustomsCancel withdraws a declaration. WeChat Pay has no such
	// API: this is a sandbox extension so the saga's "cancel declaration" step
	// can be exercised end to end.
	EndpointCustomsCancel = "POST /v3/global/customs/orders/cancel"
	// EndpointTradeBill requests a trade bill's download URL.
	EndpointTradeBill = "GET /v3/bill/tradebill"
	// EndpointBillDownload downloads a bill file.
	EndpointBillDownload = "GET /v3/billdownload/file"
)

// Config configures a Sandbox.
type Config struct {
	// MchID is the merchant id (mchid) the sandbox serves.
	MchID string
	// AppID is the app id bound to the merchant.
	AppID string
	// MerchantPublicKey verifies the requests' Authorization signatures.
	MerchantPublicKey *rsa.PublicKey
	// MerchantSerialNo is the merchant certificate serial number requests must name.
	MerchantSerialNo string
	// PlatformKey signs responses and notifications; nil generates one.
	PlatformKey *rsa.PrivateKey
	// PlatformPublicKeyID identifies the platform key (Wechatpay-Serial); empty = "PUB_KEY_ID_" + random.
	PlatformPublicKeyID string
	// APIv3Key encrypts notification resources (32 bytes); empty generates one.
	APIv3Key string
	// Faults injects failures; nil injects none.
	Faults *fault.Injector
	// Customs receives the payment records of successful declarations; nil drops them.
	Customs customs.Sink
	// NotifyClient posts notifications; nil uses a client with a 10s timeout.
	NotifyClient *http.Client
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
	// Now is the business clock (order expiry, payment and refund times, bill
	// dates); nil uses time.Now. Signature timestamps always use real time.
	Now func() time.Time
	// RefundDelay is how long a refund stays PROCESSING before it succeeds; 0 means one second.
	RefundDelay time.Duration
	// NotifyRetry is the wait before each notification retry; nil uses WeChat
	// Pay's schedule (15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h).
	NotifyRetry []time.Duration
	// CustomsDelay is how long a declaration stays PROCESSING before customs
	// receives it (SUCCESS); 0 means at once.
	CustomsDelay time.Duration
	// UnfreezeDelay is how long an unfreeze stays PROCESSING before it is FINISHED; 0 means at once.
	UnfreezeDelay time.Duration
}

// wechatRetrySchedule is WeChat Pay's notification retry schedule.
var wechatRetrySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute,
	10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 30 * time.Minute,
	30 * time.Minute, 60 * time.Minute, 3 * time.Hour, 3 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// Sandbox is an in-memory WeChat Pay APIv3 merchant account.
type Sandbox struct {
	cfg         Config
	log         *slog.Logger
	now         func() time.Time
	platformKey *rsa.PrivateKey
	pubKeyID    string
	apiV3Key    string
	notifyHTTP  *http.Client
	retry       []time.Duration
	refundDelay time.Duration

	ctx    context.Context
	cancel context.CancelFunc

	mu           sync.Mutex
	trades       map[string]*trade // by out_trade_no
	byTxID       map[string]*trade // by transaction_id
	byPrepayID   map[string]*trade
	refunds      map[string]*refund // by out_refund_no
	psOrders     map[string]*psOrder
	declarations map[string]*declaration
	bills        map[string][]byte
	mismatches   []string
}

// New returns a sandbox for one merchant account.
func New(cfg Config) (*Sandbox, error) {
	switch {
	case cfg.MchID == "":
		return nil, errors.New("wechatpay sandbox: Config.MchID is required")
	case cfg.AppID == "":
		return nil, errors.New("wechatpay sandbox: Config.AppID is required")
	case cfg.MerchantPublicKey == nil:
		return nil, errors.New("wechatpay sandbox: Config.MerchantPublicKey is required to verify requests")
	case cfg.MerchantSerialNo == "":
		return nil, errors.New("wechatpay sandbox: Config.MerchantSerialNo is required")
	case cfg.APIv3Key != "" && len(cfg.APIv3Key) != 32:
		return nil, fmt.Errorf("wechatpay sandbox: Config.APIv3Key must be 32 bytes, got %d", len(cfg.APIv3Key))
	}
	s := &Sandbox{
		cfg:          cfg,
		log:          cfg.Logger,
		now:          cfg.Now,
		platformKey:  cfg.PlatformKey,
		pubKeyID:     cfg.PlatformPublicKeyID,
		apiV3Key:     cfg.APIv3Key,
		notifyHTTP:   cfg.NotifyClient,
		retry:        cfg.NotifyRetry,
		refundDelay:  cfg.RefundDelay,
		trades:       map[string]*trade{},
		byTxID:       map[string]*trade{},
		byPrepayID:   map[string]*trade{},
		refunds:      map[string]*refund{},
		psOrders:     map[string]*psOrder{},
		declarations: map[string]*declaration{},
		bills:        map[string][]byte{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sandbox", "wechatpay")
	if s.now == nil {
		s.now = time.Now
	}
	if s.platformKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("wechatpay sandbox: generate platform key: %w", err)
		}
		s.platformKey = k
	}
	if s.pubKeyID == "" {
		s.pubKeyID = "PUB_KEY_ID_" + randDigits(22)
	}
	if s.apiV3Key == "" {
		s.apiV3Key = randAlnum(32)
	}
	if s.notifyHTTP == nil {
		s.notifyHTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if s.retry == nil {
		s.retry = wechatRetrySchedule
	}
	if s.refundDelay <= 0 {
		s.refundDelay = time.Second
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// PlatformPublicKeyPEM returns the platform public key as a PKIX "PUBLIC KEY" PEM block,
// the form merchants download from the merchant platform.
func (s *Sandbox) PlatformPublicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(&s.platformKey.PublicKey)
	if err != nil {
		// An RSA public key always marshals.
		panic(fmt.Sprintf("wechatpay sandbox: marshal platform public key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PlatformPublicKeyID returns the platform public key id (Wechatpay-Serial).
func (s *Sandbox) PlatformPublicKeyID() string { return s.pubKeyID }

// APIv3Key returns the APIv3 key notifications are encrypted with.
func (s *Sandbox) APIv3Key() string { return s.apiV3Key }

// Close stops pending refund completions and notification retries.
func (s *Sandbox) Close() { s.cancel() }

// Handler serves the WeChat Pay API, the sandbox's own control endpoints
// (/sandbox/pay, /sandbox/cashier) and, when Faults is set, the fault
// injector's control API at /sandbox/faults.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	routes := []struct {
		name string
		fn   apiFunc
	}{
		{EndpointNativePrepay, s.handlePrepay("NATIVE")},
		{EndpointH5Prepay, s.handlePrepay("MWEB")},
		{EndpointJSAPIPrepay, s.handlePrepay("JSAPI")},
		{EndpointQueryByOutTradeNo, s.handleQueryByOutTradeNo},
		{EndpointQueryByID, s.handleQueryByID},
		{EndpointClose, s.handleClose},
		{EndpointRefund, s.handleRefund},
		{EndpointQueryRefund, s.handleQueryRefund},
		{EndpointUnfreeze, s.handleUnfreeze},
		{EndpointQueryProfitSharing, s.handleQueryProfitSharing},
		{EndpointUnsplitAmount, s.handleUnsplitAmount},
		{EndpointCustomsDeclare, s.handleCustomsDeclare},
		{EndpointCustomsQuery, s.handleCustomsQuery},
		{EndpointCustomsModify, s.handleCustomsModify},
		{EndpointCustomsRedeclare, s.handleCustomsRedeclare},
		{EndpointCustomsCancel, s.handleCustomsCancel},
		{EndpointTradeBill, s.handleTradeBill},
	}
	for _, rt := range routes {
		mux.Handle(rt.name, s.api(rt.name, rt.fn))
	}
	// Bill downloads are authenticated but, as at WeChat Pay, their answer is not signed.
	mux.Handle(EndpointBillDownload, s.api(EndpointBillDownload, s.handleBillDownload))
	mux.HandleFunc("POST /sandbox/pay", s.handleSandboxPay)
	mux.HandleFunc("GET /sandbox/cashier", s.handleCashier)
	if s.cfg.Faults != nil {
		mux.Handle("/sandbox/faults", s.cfg.Faults.Handler())
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusNotFound, "NOT_FOUND", "no such API: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// apiFunc handles one authenticated API call; body is the raw request body.
type apiFunc func(w http.ResponseWriter, r *http.Request, body []byte)

// api wraps an endpoint with fault injection and request authentication.
func (s *Sandbox) api(name string, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule, handled := s.cfg.Faults.Intercept(name, w, r)
		if handled {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "request body unreadable or over 1 MiB")
			return
		}
		if err := s.verifyRequest(r, body); err != nil {
			s.log.Warn("request rejected", "endpoint", name, "err", err)
			s.writeError(w, http.StatusUnauthorized, "SIGN_ERROR", "签名错误: "+err.Error())
			return
		}
		if rule.BusinessError != "" {
			s.writeError(w, statusForCode(rule.BusinessError), rule.BusinessError, "injected fault")
			return
		}
		fn(w, r, body)
	})
}

// statusForCode is the HTTP status WeChat Pay answers an error code with.
func statusForCode(code string) int {
	switch code {
	case "SYSTEM_ERROR", "BANK_ERROR":
		return http.StatusInternalServerError
	case "FREQUENCY_LIMITED", "RATELIMIT_EXCEED":
		return http.StatusTooManyRequests
	case "SIGN_ERROR":
		return http.StatusUnauthorized
	case "ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS":
		return http.StatusNotFound
	case "NOT_ENOUGH", "NO_AUTH", "TRADE_ERROR", "OUT_TRADE_NO_USED", "USER_ACCOUNT_ABNORMAL", "ACCOUNT_ERROR":
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// errorBody is WeChat Pay's error answer.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers with a WeChat Pay error.
func (s *Sandbox) writeError(w http.ResponseWriter, status int, code, message string) {
	s.writeJSON(w, status, errorBody{Code: code, Message: message})
}

// writeJSON answers with a signed JSON body.
func (s *Sandbox) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.Error("marshal response", "err", err)
		status = http.StatusInternalServerError
		body = []byte(`{"code":"SYSTEM_ERROR","message":"sandbox: marshal response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	s.signResponse(w.Header(), body)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeNoContent answers 204 with a signed empty body.
func (s *Sandbox) writeNoContent(w http.ResponseWriter) {
	s.signResponse(w.Header(), nil)
	w.WriteHeader(http.StatusNoContent)
}

// decode parses a JSON request body, answering PARAM_ERROR on failure.
func (s *Sandbox) decode(w http.ResponseWriter, body []byte, v any) bool {
	if err := json.Unmarshal(body, v); err != nil {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON: "+err.Error())
		return false
	}
	return true
}

// beijing is China Standard Time, in which WeChat Pay formats its times.
var beijing = time.FixedZone("CST", 8*3600)

// fmtTime formats t as WeChat Pay does (RFC 3339 in +08:00).
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(beijing).Format(time.RFC3339)
}
