package alipay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
)

// cst is China Standard Time, the zone of every time on Alipay's wire.
var cst = time.FixedZone("CST", 8*3600)

// wireTime is the layout of times on Alipay's wire ("2006-01-02 15:04:05", China time).
const wireTime = "2006-01-02 15:04:05"

// defaultNotifyDelays is Alipay's documented retry schedule for asynchronous
// notifications: 8 attempts over about 25 hours.
var defaultNotifyDelays = []time.Duration{
	4 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour,
	2 * time.Hour, 6 * time.Hour, 15 * time.Hour,
}

// Errors returned by Pay (and answered by POST /sandbox/pay).
var (
	// ErrTradeNotFound means no trade with that out_trade_no reached the cashier.
	ErrTradeNotFound = errors.New("alipay sandbox: trade not found")
	// ErrTradePaid means the trade is already paid.
	ErrTradePaid = errors.New("alipay sandbox: trade already paid")
	// ErrTradeClosed means the trade was closed or expired unpaid.
	ErrTradeClosed = errors.New("alipay sandbox: trade closed")
	// ErrInvalidPayment means the scripted buyer's choice is not allowed for the trade.
	ErrInvalidPayment = errors.New("alipay sandbox: invalid buyer payment")
	// ErrIdentityMismatch means the merchant asked Alipay to check the payer's
	// identity (ext_user_info need_check_info=T) and the scripted payer differs.
	ErrIdentityMismatch = errors.New("alipay sandbox: payer identity does not match ext_user_info")
)

// Config configures a Sandbox.
type Config struct {
	// AppID is the merchant application's app_id; requests for another app_id are refused.
	AppID string
	// AppPublicKey verifies the application's request signatures.
	AppPublicKey *rsa.PublicKey
	// GatewayKey signs responses and notifications; nil generates a 2048-bit key.
	GatewayKey *rsa.PrivateKey
	// Faults injects failures on every endpoint and notification; nil injects none.
	Faults *fault.Injector
	// Customs receives every successful payment declaration; nil drops them.
	Customs customs.Sink
	// NotifyClient sends asynchronous notifications; nil uses a client with a 10 s timeout.
	NotifyClient *http.Client
	// Logger logs requests and notification deliveries; nil uses slog.Default().
	Logger *slog.Logger
	// Now is the sandbox clock for trades, expiries, settlement and bills; nil uses time.Now.
	// Request timestamps are still checked against the real clock, as the SDK stamps them with it.
	Now func() time.Time
	// NotifyRetryDelays are the waits between notification attempts; nil uses
	// Alipay's schedule (4m, 10m, 10m, 1h, 2h, 6h, 15h). Attempts = len+1.
	NotifyRetryDelays []time.Duration
	// RefundPeriod is how long after payment a trade stays refundable before it
	// becomes TRADE_FINISHED; 0 means 90 days (Alipay's default of three months).
	RefundPeriod time.Duration
}

// BuyerPayment is what the scripted buyer does at the cashier.
type BuyerPayment struct {
	// Method is "balance" (Alipay balance), "huabei" (Huabei credit) or "card" (bank card).
	Method string `json:"method"`
	// Instalments is the Huabei instalment count (3, 6 or 12); 0 pays Huabei in full,
	// or takes the trade's hb_fq_num when the merchant set one.
	Instalments int `json:"instalments,omitempty"`
	// BuyerLogonID is the buyer's Alipay account (phone or e-mail); empty picks a default.
	BuyerLogonID string `json:"buyerLogonId,omitempty"`
	// PayerName is the payer's real name; empty means the person the merchant named in ext_user_info.
	PayerName string `json:"payerName,omitempty"`
	// PayerIDNumber is the payer's resident ID number; empty as for PayerName.
	PayerIDNumber string `json:"payerIdNumber,omitempty"`
}

// Sandbox is an Alipay open-platform gateway emulator. It is safe for
// concurrent use. Close it to stop notification retries.
type Sandbox struct {
	cfg          Config
	key          *rsa.PrivateKey
	pubPEM       []byte
	rootPEM      []byte
	certPEM      []byte
	certSN       string
	rootSN       string
	pid          string
	log          *slog.Logger
	now          func() time.Time
	client       *http.Client
	notifyDelays []time.Duration

	mu           sync.Mutex
	trades       map[string]*trade // by out_trade_no
	byTradeNo    map[string]*trade
	byQR         map[string]*trade
	declarations map[string]*declaration // by out_request_no
	bills        map[string]*billFile    // by download token
	mismatches   map[string]bool
	seqBase      int64
	seq          int64

	ctx      context.Context
	cancel   context.CancelFunc
	wgMu     sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// New returns a sandbox for one merchant application.
func New(cfg Config) (*Sandbox, error) {
	if cfg.AppID == "" {
		return nil, errors.New("alipay sandbox: Config.AppID is required")
	}
	if cfg.AppPublicKey == nil {
		return nil, errors.New("alipay sandbox: Config.AppPublicKey is required to verify requests")
	}
	key := cfg.GatewayKey
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("alipay sandbox: generate gateway key: %w", err)
		}
	}
	pubPEM, err := publicKeyPEM(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w", err)
	}
	rootPEM, certPEM, sn, rootSN, err := gatewayCerts(key, time.Now())
	if err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w", err)
	}
	s := &Sandbox{
		cfg: cfg, key: key, pubPEM: pubPEM, rootPEM: rootPEM, certPEM: certPEM, certSN: sn, rootSN: rootSN,
		log: cfg.Logger, now: cfg.Now, client: cfg.NotifyClient, notifyDelays: cfg.NotifyRetryDelays,
		trades: map[string]*trade{}, byTradeNo: map[string]*trade{}, byQR: map[string]*trade{},
		declarations: map[string]*declaration{}, bills: map[string]*billFile{}, mismatches: map[string]bool{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sandbox", "alipay")
	if s.now == nil {
		s.now = time.Now
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.notifyDelays == nil {
		s.notifyDelays = defaultNotifyDelays
	}
	if s.cfg.RefundPeriod <= 0 {
		s.cfg.RefundPeriod = 90 * 24 * time.Hour
	}
	// The seller's partner id (PID) is derived from the app id, as a stable 2088… number.
	h := sha256.Sum256([]byte(cfg.AppID))
	s.pid = "2088" + digitsOf(h[:], 12)
	base, err := rand.Int(rand.Reader, big.NewInt(1e14))
	if err != nil {
		return nil, fmt.Errorf("alipay sandbox: %w", err)
	}
	s.seqBase = base.Int64()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// digitsOf turns bytes into n decimal digits.
func digitsOf(b []byte, n int) string {
	v := new(big.Int).SetBytes(b)
	s := v.String()
	for len(s) < n {
		s = "0" + s
	}
	return s[:n]
}

// GatewayPublicKeyPEM returns the gateway's public key as a PKIX "PUBLIC KEY"
// PEM block: the "Alipay public key" of public-key mode.
func (s *Sandbox) GatewayPublicKeyPEM() []byte { return append([]byte(nil), s.pubPEM...) }

// GatewayCertPEM returns the gateway's certificate (the "Alipay public key
// certificate" of certificate mode).
func (s *Sandbox) GatewayCertPEM() []byte { return append([]byte(nil), s.certPEM...) }

// RootCertPEM returns the root certificate that issued the gateway's (the
// "Alipay root certificate" of certificate mode).
func (s *Sandbox) RootCertPEM() []byte { return append([]byte(nil), s.rootPEM...) }

// SellerID returns the merchant's partner id (seller_id) as the sandbox reports it.
func (s *Sandbox) SellerID() string { return s.pid }

// Handler serves the gateway and the sandbox's buyer-side pages:
//
//	GET|POST /gateway.do                 the open-platform gateway
//	GET      /qr/{code}                  the cashier behind a precreate qr_code (opening it = scanning)
//	POST     /sandbox/pay                the scripted buyer (JSON BuyerPayment + outTradeNo, or the cashier's form)
//	GET      /bill/download              bill files returned by alipay.data.dataservice.bill.downloadurl.query
//	POST     /sandbox/bill-mismatch      {"kind":"missing_ours"|"missing_theirs"|"amount"|""} (empty clears)
//	GET      /sandbox/gateway-public-key.pem
//	/sandbox/faults                      the fault injector's control API, when Config.Faults is set
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/gateway.do", s.serveGateway)
	mux.HandleFunc("GET /qr/{code}", s.serveQR)
	mux.HandleFunc("POST /sandbox/pay", s.servePay)
	mux.HandleFunc("GET /bill/download", s.serveBill)
	mux.HandleFunc("POST /sandbox/bill-mismatch", s.serveBillMismatch)
	mux.HandleFunc("GET /sandbox/gateway-public-key.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(s.pubPEM)
	})
	if s.cfg.Faults != nil {
		mux.Handle("/sandbox/faults", s.cfg.Faults.Handler())
	}
	return mux
}

// Close stops notification retries and waits for deliveries in flight.
func (s *Sandbox) Close() {
	s.wgMu.Lock()
	s.closed = true
	s.wgMu.Unlock()
	s.cancel()
	s.inflight.Wait()
}

// track registers a background task; it returns false once the sandbox is closed.
func (s *Sandbox) track() bool {
	s.wgMu.Lock()
	defer s.wgMu.Unlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}

// nextSeq returns a sandbox-unique sequence number; call with s.mu held.
func (s *Sandbox) nextSeq() int64 {
	s.seq++
	return s.seqBase + s.seq
}

// newTradeNo returns an Alipay-style 28-digit trade number; call with s.mu held.
func (s *Sandbox) newTradeNo(now time.Time) string {
	return fmt.Sprintf("%s22001%015d", now.In(cst).Format("20060102"), s.nextSeq())
}
