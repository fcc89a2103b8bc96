// Package cardpsp is the card PSP sandbox: a cross-border acquirer in the
// style of PingPong or LianLian that takes international card payments in CNY
// through a hosted checkout, refunds them, and pays merchants out in their
// home currency.
//
// # Wire protocol
//
// JSON over HTTP. Every request and response is signed: the headers
// X-Xhs-Key-Id, X-Xhs-Timestamp (Unix seconds, within ±5 minutes) and
// X-Xhs-Signature carry the lower-case hex HMAC-SHA256, under the shared
// secret, of timestamp + "\n" + method + "\n" + path + "\n" + body, where path
// is the request target (path and query). A response is signed over the
// request's method and target with its own timestamp and body. Errors are an
// HTTP status with {"code","message"} (see Codes). Amounts are integers in the
// currency's minor unit ("amount":12345,"currency":"CNY" is RMB 123.45);
// times are RFC 3339.
//
//	POST /psp/v1/payments                   create a hosted checkout (idempotent by outTradeNo)
//	     {"outTradeNo","subject","amount","currency":"CNY","expireAt","notifyUrl","scene":"page|qr",
//	      "payer":{"name","idNumber"}}                                     → payment
//	GET  /psp/v1/payments/{outTradeNo}                                     → payment
//	POST /psp/v1/payments/{outTradeNo}/close  close an unpaid payment     → payment
//	POST /psp/v1/refunds                    refund (idempotent by outRefundNo; all refunds ≤ captured)
//	     {"outTradeNo","outRefundNo","amount","currency","reason","notifyUrl"} → refund
//	GET  /psp/v1/refunds/{outRefundNo}                                     → refund
//	POST /psp/v1/payouts                    pay out to the merchant's home-currency account (idempotent by outPayoutNo)
//	     {"outPayoutNo","merchantId","amount","currency","reference"}        → payout
//	GET  /psp/v1/payouts/{outPayoutNo}                                     → payout
//	POST /psp/v1/customs/declarations       push the payment record to customs (idempotent by outRequestNo)
//	     {"outRequestNo","orderNo","outTradeNo","payer":{"name","idNumber"},"amount","currency":"CNY",
//	      "customsCode","merchantCustomsCode","merchantCustomsName"}          → declaration
//	POST /psp/v1/customs/declarations/{outRequestNo}/redeclare  the same body, corrected → declaration
//	GET  /psp/v1/customs/declarations/{outRequestNo}                       → declaration
//	POST /psp/v1/customs/declarations/{outRequestNo}/cancel  withdraw it   → declaration
//
//	payment: {"outTradeNo","paymentId","status":"PENDING|SUCCEEDED|PARTIALLY_REFUNDED|REFUNDED|CLOSED",
//	          "amount","currency","refundedAmount","subject","scene","payUrl","qrCode","expireAt","createdAt",
//	          "paidAt","closedAt","card":{"brand","last4"},"declineReason"}
//	refund:  {"outRefundNo","outTradeNo","refundId","status":"PROCESSING|SUCCEEDED|FAILED","amount","currency",
//	          "reason","createdAt","refundedAt"}
//	declaration: {"outRequestNo","declarationId","orderNo","outTradeNo","status":"SUCCEEDED|CANCELLED","declaredAt"}
//	payout:  {"outPayoutNo","payoutId","merchantId","status":"PROCESSING|PAID|FAILED","amount","currency",
//	          "reference","createdAt","paidAt","failureReason"}
//
// Payments are in CNY. Both scenes return a pay URL of the sandbox's hosted
// checkout (the QR code encodes the same URL); an unpaid payment closes at
// expireAt (default 30 minutes). Authorization captures at once. Refunds are
// PROCESSING, then SUCCEEDED after RefundDelay; payouts PROCESSING, then PAID
// after PayoutDelay.
//
// # Notifications
//
// Payment success, refund success and payout results are POSTed, signed the
// same way (over POST and the notify URL's path), to the payment's or refund's
// notifyUrl or else the configured NotifyURL, through the fault injector, and
// retried until answered 2xx:
//
//	{"id","type":"payment.succeeded|refund.succeeded|payout.paid|payout.failed","createdAt",
//	 "payment":{...}|"refund":{...}|"payout":{...}}
//
// # Scripted buyer and control endpoints (unsigned)
//
//	GET|POST /checkout/{paymentId}           the hosted checkout page (card form)
//	POST /sandbox/pay {"outTradeNo","cardNumber","holderName"}  the buyer pays (Pay)
//	POST /sandbox/payouts/{outPayoutNo}/fail {"reason"}         a processing payout bounces
//	GET|PUT|DELETE /sandbox/faults           the fault injector (endpoint names are the route
//	                                         patterns, e.g. "POST /psp/v1/refunds")
//
// Card numbers must pass the Luhn check; one ending in 0002 is declined (the
// payment stays PENDING with a declineReason), any other is approved.
package cardpsp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
	"github.com/xhspay/xhspay/sandbox/internal/hmacsig"
)

// Defaults of Config.
const (
	// DefaultRefundDelay is how long a refund stays PROCESSING.
	DefaultRefundDelay = time.Second
	// DefaultPayoutDelay is how long a payout stays PROCESSING.
	DefaultPayoutDelay = 2 * time.Second
	// DefaultExpiry is how long an unpaid payment stays open without an expireAt.
	DefaultExpiry = 30 * time.Minute
)

// Test cards of the scripted buyer.
const (
	// ApprovedCard is a Visa test card that is always approved.
	ApprovedCard = "4242424242424242"
	// DeclinedCard is a Visa test card that is always declined (it ends in 0002).
	DeclinedCard = "4000000000000002"
)

// Payment, refund and payout states on the wire.
const (
	// StatusPending is an unpaid payment.
	StatusPending = "PENDING"
	// StatusSucceeded is a captured payment or a refund paid back.
	StatusSucceeded = "SUCCEEDED"
	// StatusPartiallyRefunded is a captured payment with refunds below its amount.
	StatusPartiallyRefunded = "PARTIALLY_REFUNDED"
	// StatusRefunded is a captured payment refunded in full.
	StatusRefunded = "REFUNDED"
	// StatusClosed is a payment closed unpaid.
	StatusClosed = "CLOSED"
	// StatusProcessing is a refund or payout under way.
	StatusProcessing = "PROCESSING"
	// StatusFailed is a refund or payout that did not go through.
	StatusFailed = "FAILED"
	// StatusPaid is a payout that reached the merchant.
	StatusPaid = "PAID"
)

// Notification types.
const (
	// EventPaymentSucceeded reports a captured payment.
	EventPaymentSucceeded = "payment.succeeded"
	// EventRefundSucceeded reports a refund paid back.
	EventRefundSucceeded = "refund.succeeded"
	// EventPayoutPaid reports a payout that reached the merchant.
	EventPayoutPaid = "payout.paid"
	// EventPayoutFailed reports a payout that bounced.
	EventPayoutFailed = "payout.failed"
)

// Errors of the scripted buyer and control calls; test them with errors.Is.
var (
	// ErrNotFound means no such payment or payout.
	ErrNotFound = errors.New("card sandbox: not found")
	// ErrPaymentClosed means the payment was closed or expired.
	ErrPaymentClosed = errors.New("card sandbox: payment closed")
	// ErrAlreadyPaid means the payment was already captured.
	ErrAlreadyPaid = errors.New("card sandbox: payment already paid")
	// ErrInvalidCard means the card number is malformed.
	ErrInvalidCard = errors.New("card sandbox: invalid card number")
	// ErrDeclined means the issuer declined the card.
	ErrDeclined = errors.New("card sandbox: card declined")
	// ErrConflict means the payout is no longer processing.
	ErrConflict = errors.New("card sandbox: conflicting state")
)

// Config configures the card PSP sandbox.
type Config struct {
	// KeyID and Secret are the merchant's HMAC credentials (required).
	KeyID, Secret string
	// Customs receives the payment records of customs declarations; nil drops them.
	Customs customs.Sink
	// NotifyURL receives notifications of payments and refunds that name no
	// notifyUrl, and of payouts when PayoutNotifyURL is empty; empty sends none for them.
	NotifyURL string
	// PayoutNotifyURL receives payout notifications; empty uses NotifyURL.
	PayoutNotifyURL string
	// NotifyClient sends notifications; nil uses a client with a 10-second timeout.
	NotifyClient *http.Client
	// Faults injects failures; nil injects none.
	Faults *fault.Injector
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
	// Now is the business clock; nil is time.Now. Signatures always use real time.
	Now func() time.Time
	// RefundDelay is how long a refund stays PROCESSING: zero means DefaultRefundDelay, negative none.
	RefundDelay time.Duration
	// PayoutDelay is how long a payout stays PROCESSING: zero means DefaultPayoutDelay, negative none.
	PayoutDelay time.Duration
	// PublicURL is the base URL of the hosted checkout pages; empty derives it from each request's Host.
	PublicURL string
	// SweepInterval is how often due refunds, payouts and expiries are processed; zero means 50ms.
	SweepInterval time.Duration
}

// BuyerPayment is what the scripted buyer enters at the checkout.
type BuyerPayment struct {
	// CardNumber is the card's PAN; empty uses ApprovedCard.
	CardNumber string `json:"cardNumber,omitempty"`
	// HolderName is the cardholder's name.
	HolderName string `json:"holderName,omitempty"`
}

type identity struct {
	Name     string `json:"name"`
	IDNumber string `json:"idNumber"`
}

type paymentRequest struct {
	OutTradeNo string    `json:"outTradeNo"`
	Subject    string    `json:"subject"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	ExpireAt   time.Time `json:"expireAt,omitzero"`
	NotifyURL  string    `json:"notifyUrl,omitempty"`
	Scene      string    `json:"scene"`
	Payer      *identity `json:"payer,omitempty"`
}

type cardBody struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

type paymentBody struct {
	OutTradeNo     string     `json:"outTradeNo"`
	PaymentID      string     `json:"paymentId"`
	Status         string     `json:"status"`
	Amount         int64      `json:"amount"`
	Currency       string     `json:"currency"`
	RefundedAmount int64      `json:"refundedAmount"`
	Subject        string     `json:"subject"`
	Scene          string     `json:"scene"`
	PayURL         string     `json:"payUrl"`
	QRCode         string     `json:"qrCode,omitempty"`
	ExpireAt       time.Time  `json:"expireAt"`
	CreatedAt      time.Time  `json:"createdAt"`
	PaidAt         *time.Time `json:"paidAt,omitzero"`
	ClosedAt       *time.Time `json:"closedAt,omitzero"`
	Card           *cardBody  `json:"card,omitempty"`
	DeclineReason  string     `json:"declineReason,omitempty"`
}

type refundRequest struct {
	OutTradeNo  string `json:"outTradeNo"`
	OutRefundNo string `json:"outRefundNo"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Reason      string `json:"reason,omitempty"`
	NotifyURL   string `json:"notifyUrl,omitempty"`
}

type refundBody struct {
	OutRefundNo string     `json:"outRefundNo"`
	OutTradeNo  string     `json:"outTradeNo"`
	RefundID    string     `json:"refundId"`
	Status      string     `json:"status"`
	Amount      int64      `json:"amount"`
	Currency    string     `json:"currency"`
	Reason      string     `json:"reason,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	RefundedAt  *time.Time `json:"refundedAt,omitzero"`
}

type payoutRequest struct {
	OutPayoutNo string `json:"outPayoutNo"`
	MerchantID  string `json:"merchantId"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Reference   string `json:"reference,omitempty"`
}

type payoutBody struct {
	OutPayoutNo   string     `json:"outPayoutNo"`
	PayoutID      string     `json:"payoutId"`
	MerchantID    string     `json:"merchantId"`
	Status        string     `json:"status"`
	Amount        int64      `json:"amount"`
	Currency      string     `json:"currency"`
	Reference     string     `json:"reference,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	PaidAt        *time.Time `json:"paidAt,omitzero"`
	FailureReason string     `json:"failureReason,omitempty"`
}

type notification struct {
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	CreatedAt time.Time    `json:"createdAt"`
	Payment   *paymentBody `json:"payment,omitempty"`
	Refund    *refundBody  `json:"refund,omitempty"`
	Payout    *payoutBody  `json:"payout,omitempty"`
}

type payment struct {
	req      paymentRequest
	body     paymentBody
	refunded int64 // in refunds not failed
}

type refund struct {
	req   refundRequest
	body  refundBody
	dueAt time.Time
}

type payout struct {
	req   payoutRequest
	body  payoutBody
	dueAt time.Time
}

// Sandbox is the card PSP sandbox.
type Sandbox struct {
	cfg      Config
	svc      *hmacsig.Service
	log      *slog.Logger
	now      func() time.Time
	refundIn time.Duration
	payoutIn time.Duration

	mu           sync.Mutex
	payments     map[string]*payment     // by outTradeNo
	byID         map[string]*payment     // by paymentId
	refunds      map[string]*refund      // by outRefundNo
	payouts      map[string]*payout      // by outPayoutNo
	declarations map[string]*declaration // by outRequestNo
	unpaid       map[string]*payment     // pending payments, by outTradeNo
	openRefunds  map[string]*refund
	openPayouts  map[string]*payout
}

// New starts a card PSP sandbox and its background sweeper; Close stops them.
func New(cfg Config) (*Sandbox, error) {
	svc, err := hmacsig.New(hmacsig.Config{
		Name: "card", KeyID: cfg.KeyID, Secret: cfg.Secret, Codes: codes,
		Faults: cfg.Faults, Logger: cfg.Logger, Now: cfg.Now, NotifyClient: cfg.NotifyClient,
	})
	if err != nil {
		return nil, err
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	s := &Sandbox{
		cfg:          cfg,
		svc:          svc,
		log:          svc.Log,
		now:          svc.Now,
		refundIn:     hmacsig.OrDefault(cfg.RefundDelay, DefaultRefundDelay),
		payoutIn:     hmacsig.OrDefault(cfg.PayoutDelay, DefaultPayoutDelay),
		payments:     map[string]*payment{},
		byID:         map[string]*payment{},
		refunds:      map[string]*refund{},
		payouts:      map[string]*payout{},
		declarations: map[string]*declaration{},
		unpaid:       map[string]*payment{},
		openRefunds:  map[string]*refund{},
		openPayouts:  map[string]*payout{},
	}
	svc.StartSweeper(cfg.SweepInterval, s.Sweep)
	return s, nil
}

// Close stops the sweeper and pending notification retries.
func (s *Sandbox) Close() { s.svc.Close() }

// Sweep completes refunds and payouts whose time has come and closes expired
// payments, by the business clock. The background sweeper calls it; tests on
// a fake clock may too.
func (s *Sandbox) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
}

func (s *Sandbox) sweepLocked() {
	now := s.now()
	for no, rf := range s.openRefunds {
		if now.Before(rf.dueAt) {
			continue
		}
		delete(s.openRefunds, no)
		rf.body.Status = StatusSucceeded
		rf.body.RefundedAt = timePtr(now)
		p := s.payments[rf.req.OutTradeNo]
		p.body.RefundedAmount += rf.req.Amount
		p.body.Status = StatusPartiallyRefunded
		if p.body.RefundedAmount == p.body.Amount {
			p.body.Status = StatusRefunded
		}
		s.log.Info("refund succeeded", "outRefundNo", no, "amount", rf.req.Amount)
		b := rf.body
		s.notify(firstNonEmpty(rf.req.NotifyURL, p.req.NotifyURL, s.cfg.NotifyURL), notification{Type: EventRefundSucceeded, CreatedAt: now, Refund: &b})
	}
	for no, po := range s.openPayouts {
		if now.Before(po.dueAt) {
			continue
		}
		delete(s.openPayouts, no)
		po.body.Status = StatusPaid
		po.body.PaidAt = timePtr(now)
		s.log.Info("payout paid", "outPayoutNo", no, "amount", po.req.Amount, "currency", po.req.Currency)
		b := po.body
		s.notify(firstNonEmpty(s.cfg.PayoutNotifyURL, s.cfg.NotifyURL), notification{Type: EventPayoutPaid, CreatedAt: now, Payout: &b})
	}
	for no, p := range s.unpaid {
		if !now.Before(p.body.ExpireAt) {
			delete(s.unpaid, no)
			p.body.Status = StatusClosed
			p.body.ClosedAt = timePtr(p.body.ExpireAt)
		}
	}
}

func timePtr(t time.Time) *time.Time { return &t }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (s *Sandbox) notify(url string, n notification) {
	n.ID = hmacsig.NewID("evt_")
	s.svc.Notify(url, n)
}

func (s *Sandbox) createPayment(req paymentRequest, base string) (paymentBody, *hmacsig.APIError) {
	switch {
	case req.OutTradeNo == "" || len(req.OutTradeNo) > 64:
		return paymentBody{}, hmacsig.Invalid("outTradeNo must be 1 to 64 characters")
	case req.Currency != "CNY":
		return paymentBody{}, hmacsig.Errorf(CodeCurrencyNotSupported, "payments are taken in CNY, not %q", req.Currency)
	case req.Amount <= 0:
		return paymentBody{}, hmacsig.Invalid("amount must be positive minor units, got %d", req.Amount)
	case req.Subject == "":
		return paymentBody{}, hmacsig.Invalid("subject is required")
	case req.Scene != "page" && req.Scene != "qr":
		return paymentBody{}, hmacsig.Invalid("scene must be page or qr, got %q", req.Scene)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	if p, ok := s.payments[req.OutTradeNo]; ok {
		if !reflect.DeepEqual(p.req, req) {
			return paymentBody{}, hmacsig.Errorf(CodeDuplicateOutTradeNo, "payment %s exists with different content", req.OutTradeNo)
		}
		return p.body, nil
	}
	now := s.now()
	expire := req.ExpireAt
	if expire.IsZero() {
		expire = now.Add(DefaultExpiry)
	}
	if !expire.After(now) {
		return paymentBody{}, hmacsig.Invalid("expireAt %s is not in the future", expire.Format(time.RFC3339))
	}
	id := hmacsig.NewID("pay_")
	if s.cfg.PublicURL != "" {
		base = s.cfg.PublicURL
	}
	p := &payment{req: req, body: paymentBody{
		OutTradeNo: req.OutTradeNo, PaymentID: id, Status: StatusPending, Amount: req.Amount, Currency: req.Currency,
		Subject: req.Subject, Scene: req.Scene, PayURL: base + "/checkout/" + id, ExpireAt: expire, CreatedAt: now,
	}}
	if req.Scene == "qr" {
		p.body.QRCode = p.body.PayURL
	}
	s.payments[req.OutTradeNo] = p
	s.unpaid[req.OutTradeNo] = p
	s.byID[id] = p
	s.log.Info("payment created", "outTradeNo", req.OutTradeNo, "paymentId", id, "amount", req.Amount)
	return p.body, nil
}

func (s *Sandbox) queryPayment(outTradeNo string) (paymentBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	p, ok := s.payments[outTradeNo]
	if !ok {
		return paymentBody{}, hmacsig.Errorf(CodePaymentNotFound, "no payment %s", outTradeNo)
	}
	return p.body, nil
}

func (s *Sandbox) closePayment(outTradeNo string) (paymentBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	p, ok := s.payments[outTradeNo]
	switch {
	case !ok:
		return paymentBody{}, hmacsig.Errorf(CodePaymentNotFound, "no payment %s", outTradeNo)
	case p.body.Status == StatusPending:
		delete(s.unpaid, outTradeNo)
		p.body.Status = StatusClosed
		p.body.ClosedAt = timePtr(s.now())
		s.log.Info("payment closed", "outTradeNo", outTradeNo)
	case p.body.Status != StatusClosed:
		return paymentBody{}, hmacsig.Errorf(CodePaymentAlreadyPaid, "payment %s is %s", outTradeNo, p.body.Status)
	}
	return p.body, nil
}

func (s *Sandbox) createRefund(req refundRequest) (refundBody, *hmacsig.APIError) {
	switch {
	case req.OutRefundNo == "" || len(req.OutRefundNo) > 64:
		return refundBody{}, hmacsig.Invalid("outRefundNo must be 1 to 64 characters")
	case req.OutTradeNo == "":
		return refundBody{}, hmacsig.Invalid("outTradeNo is required")
	case req.Amount <= 0:
		return refundBody{}, hmacsig.Invalid("amount must be positive minor units, got %d", req.Amount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	if rf, ok := s.refunds[req.OutRefundNo]; ok {
		if !reflect.DeepEqual(rf.req, req) {
			return refundBody{}, hmacsig.Errorf(CodeDuplicateOutRefundNo, "refund %s exists with different content", req.OutRefundNo)
		}
		return rf.body, nil
	}
	p, ok := s.payments[req.OutTradeNo]
	switch {
	case !ok:
		return refundBody{}, hmacsig.Errorf(CodePaymentNotFound, "no payment %s", req.OutTradeNo)
	case p.body.Status == StatusPending:
		return refundBody{}, hmacsig.Errorf(CodePaymentNotPaid, "payment %s is not paid", req.OutTradeNo)
	case p.body.Status == StatusClosed:
		return refundBody{}, hmacsig.Errorf(CodePaymentClosed, "payment %s was closed unpaid", req.OutTradeNo)
	case req.Currency != p.body.Currency:
		return refundBody{}, hmacsig.Invalid("currency %q must be the payment's, %s", req.Currency, p.body.Currency)
	case p.refunded+req.Amount > p.body.Amount:
		return refundBody{}, hmacsig.Errorf(CodeRefundExceeded, "refunds would total %d of a payment of %d", p.refunded+req.Amount, p.body.Amount)
	}
	now := s.now()
	p.refunded += req.Amount
	rf := &refund{req: req, dueAt: now.Add(s.refundIn), body: refundBody{
		OutRefundNo: req.OutRefundNo, OutTradeNo: req.OutTradeNo, RefundID: hmacsig.NewID("rfd_"), Status: StatusProcessing,
		Amount: req.Amount, Currency: req.Currency, Reason: req.Reason, CreatedAt: now,
	}}
	s.refunds[req.OutRefundNo] = rf
	s.openRefunds[req.OutRefundNo] = rf
	s.log.Info("refund accepted", "outRefundNo", req.OutRefundNo, "outTradeNo", req.OutTradeNo, "amount", req.Amount)
	s.sweepLocked()
	return rf.body, nil
}

func (s *Sandbox) queryRefund(outRefundNo string) (refundBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	rf, ok := s.refunds[outRefundNo]
	if !ok {
		return refundBody{}, hmacsig.Errorf(CodeRefundNotFound, "no refund %s", outRefundNo)
	}
	return rf.body, nil
}

func (s *Sandbox) createPayout(req payoutRequest) (payoutBody, *hmacsig.APIError) {
	switch {
	case req.OutPayoutNo == "" || len(req.OutPayoutNo) > 64:
		return payoutBody{}, hmacsig.Invalid("outPayoutNo must be 1 to 64 characters")
	case req.MerchantID == "":
		return payoutBody{}, hmacsig.Invalid("merchantId is required")
	case req.Amount <= 0:
		return payoutBody{}, hmacsig.Invalid("amount must be positive minor units, got %d", req.Amount)
	case !payoutCurrencies[req.Currency]:
		return payoutBody{}, hmacsig.Errorf(CodeCurrencyNotSupported, "payouts are not offered in %q", req.Currency)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	if po, ok := s.payouts[req.OutPayoutNo]; ok {
		if !reflect.DeepEqual(po.req, req) {
			return payoutBody{}, hmacsig.Errorf(CodeDuplicateOutPayoutNo, "payout %s exists with different content", req.OutPayoutNo)
		}
		return po.body, nil
	}
	now := s.now()
	po := &payout{req: req, dueAt: now.Add(s.payoutIn), body: payoutBody{
		OutPayoutNo: req.OutPayoutNo, PayoutID: hmacsig.NewID("po_"), MerchantID: req.MerchantID, Status: StatusProcessing,
		Amount: req.Amount, Currency: req.Currency, Reference: req.Reference, CreatedAt: now,
	}}
	s.payouts[req.OutPayoutNo] = po
	s.openPayouts[req.OutPayoutNo] = po
	s.log.Info("payout accepted", "outPayoutNo", req.OutPayoutNo, "amount", req.Amount, "currency", req.Currency)
	s.sweepLocked()
	return po.body, nil
}

// payoutCurrencies are the home currencies merchants are paid in.
var payoutCurrencies = map[string]bool{
	"USD": true, "EUR": true, "GBP": true, "JPY": true, "HKD": true, "KRW": true,
	"AUD": true, "CAD": true, "SGD": true, "CHF": true, "CNY": true,
}

func (s *Sandbox) queryPayout(outPayoutNo string) (payoutBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	po, ok := s.payouts[outPayoutNo]
	if !ok {
		return payoutBody{}, hmacsig.Errorf(CodePayoutNotFound, "no payout %s", outPayoutNo)
	}
	return po.body, nil
}

// FailPayout makes a processing payout bounce (the beneficiary bank returned it).
func (s *Sandbox) FailPayout(outPayoutNo, reason string) error {
	if reason == "" {
		reason = "BENEFICIARY_ACCOUNT_CLOSED: returned by the beneficiary bank"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	po, ok := s.payouts[outPayoutNo]
	switch {
	case !ok:
		return fmt.Errorf("%w: payout %s", ErrNotFound, outPayoutNo)
	case po.body.Status != StatusProcessing:
		return fmt.Errorf("%w: payout %s is %s", ErrConflict, outPayoutNo, po.body.Status)
	}
	delete(s.openPayouts, outPayoutNo)
	po.body.Status, po.body.FailureReason = StatusFailed, reason
	b := po.body
	s.notify(firstNonEmpty(s.cfg.PayoutNotifyURL, s.cfg.NotifyURL), notification{Type: EventPayoutFailed, CreatedAt: s.now(), Payout: &b})
	return nil
}

// Pay makes the scripted buyer pay a payment by card: authorization and
// capture at once, then the payment notification. A declined card leaves the
// payment PENDING with a decline reason and fails with ErrDeclined.
func (s *Sandbox) Pay(ctx context.Context, outTradeNo string, p BuyerPayment) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	pay, ok := s.payments[outTradeNo]
	if !ok {
		return fmt.Errorf("%w: payment %s", ErrNotFound, outTradeNo)
	}
	return s.payLocked(pay, p)
}

func (s *Sandbox) payLocked(pay *payment, p BuyerPayment) error {
	switch pay.body.Status {
	case StatusPending:
	case StatusClosed:
		return fmt.Errorf("%w: %s", ErrPaymentClosed, pay.req.OutTradeNo)
	default:
		return fmt.Errorf("%w: %s", ErrAlreadyPaid, pay.req.OutTradeNo)
	}
	number := strings.ReplaceAll(strings.ReplaceAll(p.CardNumber, " ", ""), "-", "")
	if number == "" {
		number = ApprovedCard
	}
	if !luhn(number) {
		return fmt.Errorf("%w: the number fails the Luhn check", ErrInvalidCard)
	}
	now := s.now()
	if strings.HasSuffix(number, "0002") {
		pay.body.DeclineReason = "CARD_DECLINED: do not honour (issuer response 05)"
		s.log.Info("card declined", "outTradeNo", pay.req.OutTradeNo, "last4", number[len(number)-4:])
		return fmt.Errorf("%w: %s", ErrDeclined, pay.body.DeclineReason)
	}
	delete(s.unpaid, pay.req.OutTradeNo)
	pay.body.Status = StatusSucceeded
	pay.body.PaidAt = timePtr(now)
	pay.body.DeclineReason = ""
	pay.body.Card = &cardBody{Brand: brand(number), Last4: number[len(number)-4:]}
	s.log.Info("card payment captured", "outTradeNo", pay.req.OutTradeNo, "amount", pay.body.Amount)
	b := pay.body
	s.notify(firstNonEmpty(pay.req.NotifyURL, s.cfg.NotifyURL), notification{Type: EventPaymentSucceeded, CreatedAt: now, Payment: &b})
	return nil
}

// luhn reports whether a 12-19 digit card number passes the Luhn check.
func luhn(number string) bool {
	if len(number) < 12 || len(number) > 19 {
		return false
	}
	sum := 0
	for i := range len(number) {
		c := number[len(number)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// brand names a card scheme by its number's prefix.
func brand(number string) string {
	switch {
	case strings.HasPrefix(number, "4"):
		return "VISA"
	case strings.HasPrefix(number, "5"), strings.HasPrefix(number, "2"):
		return "MASTERCARD"
	case strings.HasPrefix(number, "34"), strings.HasPrefix(number, "37"):
		return "AMEX"
	case strings.HasPrefix(number, "35"):
		return "JCB"
	case strings.HasPrefix(number, "62"):
		return "UNIONPAY"
	}
	return "CARD"
}
