// Package fakes holds in-memory implementations of the provider ports for
// tests and demos: payment providers with or without escrow and customs
// declaration, a customs clearance office and a fixed FX rate. Each fake is
// safe for concurrent use, records the operations it was called with, and can
// be told to fail the next calls of an operation.
package fakes

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// recorder records calls and hands out scripted failures.
type recorder struct {
	mu       sync.Mutex
	calls    []string
	failures map[string][]error
}

// Fail makes the next len(errs) calls of op return errs in order.
func (r *recorder) Fail(op string, errs ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures == nil {
		r.failures = make(map[string][]error)
	}
	r.failures[op] = append(r.failures[op], errs...)
}

// Calls returns how many times op was called (failed calls included).
func (r *recorder) Calls(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c == op {
			n++
		}
	}
	return n
}

// AllCalls returns every call in order.
func (r *recorder) AllCalls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// enter records a call of op and returns its scripted failure, if any. The
// caller holds r.mu.
func (r *recorder) enter(op string) error {
	r.calls = append(r.calls, op)
	if q := r.failures[op]; len(q) > 0 {
		r.failures[op] = q[1:]
		return q[0]
	}
	return nil
}

// Unavailable returns a retryable provider error.
func Unavailable(provider, op string) error {
	return providers.NewError(provider, op, providers.ErrTypeUnavailable, "SYSTEM_ERROR", "try again", nil)
}

// Refused returns a non-retryable provider error of type t.
func Refused(provider, op string, t providers.ErrorType) error {
	return providers.NewError(provider, op, t, "REFUSED", "refused", nil)
}

type trade struct {
	req     providers.PaymentRequest
	payment providers.Payment
}

// Provider is an in-memory payment provider. It implements
// providers.PaymentProvider only; Wallet adds escrow and customs declaration.
type Provider struct {
	recorder
	name         providers.Name
	trades       map[string]*trade
	refunds      map[string]providers.Refund
	refundReqs   map[string]providers.RefundRequest
	refundStatus providers.RefundStatus
	// Clock gives PaidAt and RefundedAt (default: a fixed instant).
	Clock func() time.Time
}

// NewProvider returns a provider named name without escrow or declaration (a card PSP).
func NewProvider(name providers.Name) *Provider {
	return &Provider{
		name:       name,
		trades:     make(map[string]*trade),
		refunds:    make(map[string]providers.Refund),
		refundReqs: make(map[string]providers.RefundRequest),
	}
}

func (p *Provider) now() time.Time {
	if p.Clock != nil {
		return p.Clock()
	}
	return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
}

// Name implements providers.PaymentProvider.
func (p *Provider) Name() providers.Name { return p.name }

// CreatePayment implements providers.PaymentProvider.
func (p *Provider) CreatePayment(_ context.Context, req providers.PaymentRequest) (providers.PaymentSession, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.enter("CreatePayment"); err != nil {
		return providers.PaymentSession{}, err
	}
	if t, ok := p.trades[req.OutTradeNo]; ok {
		if !t.req.Amount.Equal(req.Amount) {
			return providers.PaymentSession{}, Refused(string(p.name), "create", providers.ErrTypeDuplicateRequest)
		}
	} else {
		p.trades[req.OutTradeNo] = &trade{req: req, payment: providers.Payment{
			OutTradeNo: req.OutTradeNo, Status: providers.PaymentPending, Amount: req.Amount,
		}}
	}
	s := providers.PaymentSession{OutTradeNo: req.OutTradeNo}
	if req.Scene == providers.ScenePage {
		s.PayURL = "https://pay.example/" + string(p.name) + "/" + req.OutTradeNo
	} else {
		s.QRCode = "qr://" + string(p.name) + "/" + req.OutTradeNo
	}
	return s, nil
}

// Request returns the payment request a trade was created with.
func (p *Provider) Request(outTradeNo string) (providers.PaymentRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.trades[outTradeNo]
	if !ok {
		return providers.PaymentRequest{}, false
	}
	return t.req, true
}

// Trades returns the out trade numbers of every trade created.
func (p *Provider) Trades() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.trades))
	for k := range p.trades {
		out = append(out, k)
	}
	return out
}

// Pay makes the buyer pay the trade's full amount and returns the payment as
// a verified notification would report it.
func (p *Provider) Pay(outTradeNo string) (providers.Payment, error) {
	p.mu.Lock()
	t, ok := p.trades[outTradeNo]
	p.mu.Unlock()
	if !ok {
		return providers.Payment{}, fmt.Errorf("fakes: no trade %s", outTradeNo)
	}
	return p.PayAmount(outTradeNo, t.req.Amount)
}

// PayAmount makes the buyer pay amount (which may differ from the trade's).
func (p *Provider) PayAmount(outTradeNo string, amount money.Amount) (providers.Payment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.trades[outTradeNo]
	if !ok {
		return providers.Payment{}, fmt.Errorf("fakes: no trade %s", outTradeNo)
	}
	if t.payment.Status == providers.PaymentClosed {
		return providers.Payment{}, fmt.Errorf("fakes: trade %s is closed", outTradeNo)
	}
	t.payment.Status = providers.PaymentPaid
	t.payment.Amount = amount
	t.payment.TransactionID = "TX" + outTradeNo
	t.payment.PaidAt = p.now()
	if t.req.Instalments != nil {
		t.payment.Instalments = t.req.Instalments.Count
	}
	return t.payment, nil
}

// QueryPayment implements providers.PaymentProvider.
func (p *Provider) QueryPayment(_ context.Context, outTradeNo string) (providers.Payment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.enter("QueryPayment"); err != nil {
		return providers.Payment{}, err
	}
	t, ok := p.trades[outTradeNo]
	if !ok {
		return providers.Payment{OutTradeNo: outTradeNo, Status: providers.PaymentNotFound}, nil
	}
	return t.payment, nil
}

// ClosePayment implements providers.PaymentProvider.
func (p *Provider) ClosePayment(_ context.Context, outTradeNo string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.enter("ClosePayment"); err != nil {
		return err
	}
	t, ok := p.trades[outTradeNo]
	if !ok {
		return Refused(string(p.name), "close", providers.ErrTypeTradeNotFound)
	}
	switch t.payment.Status {
	case providers.PaymentPaid, providers.PaymentRefunded, providers.PaymentFinished:
		return Refused(string(p.name), "close", providers.ErrTypeTradePaid)
	}
	t.payment.Status = providers.PaymentClosed
	return nil
}

// Refund implements providers.PaymentProvider; the same OutRefundNo returns the same refund.
func (p *Provider) Refund(_ context.Context, req providers.RefundRequest) (providers.Refund, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.enter("Refund"); err != nil {
		return providers.Refund{}, err
	}
	if r, ok := p.refunds[req.OutRefundNo]; ok {
		if !p.refundReqs[req.OutRefundNo].Amount.Equal(req.Amount) {
			return providers.Refund{}, Refused(string(p.name), "refund", providers.ErrTypeDuplicateRequest)
		}
		return r, nil
	}
	t, ok := p.trades[req.OutTradeNo]
	if !ok || t.payment.Status == providers.PaymentPending || t.payment.Status == providers.PaymentNotFound {
		return providers.Refund{}, Refused(string(p.name), "refund", providers.ErrTypeTradeNotFound)
	}
	refunded := money.Zero(req.Amount.Currency())
	for no, r := range p.refunds {
		if r.OutTradeNo == req.OutTradeNo && r.Status != providers.RefundFailed {
			refunded, _ = refunded.Add(p.refundReqs[no].Amount)
		}
	}
	after, err := refunded.Add(req.Amount)
	if err != nil {
		return providers.Refund{}, Refused(string(p.name), "refund", providers.ErrTypeInvalidRequest)
	}
	if c, _ := after.Cmp(t.payment.Amount); c > 0 {
		return providers.Refund{}, Refused(string(p.name), "refund", providers.ErrTypeRefundExceeded)
	}
	status := p.refundStatus
	if status == "" {
		status = providers.RefundSucceeded
	}
	r := providers.Refund{OutTradeNo: req.OutTradeNo, OutRefundNo: req.OutRefundNo,
		RefundID: "RF" + req.OutRefundNo, Status: status, Amount: req.Amount}
	if status == providers.RefundSucceeded {
		r.RefundedAt = p.now()
	}
	p.refunds[req.OutRefundNo] = r
	p.refundReqs[req.OutRefundNo] = req
	return r, nil
}

// SetRefundStatus sets the status new refunds start in (default SUCCEEDED).
func (p *Provider) SetRefundStatus(s providers.RefundStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refundStatus = s
}

// SettleRefund moves a processing refund to status and returns it as a notification would report it.
func (p *Provider) SettleRefund(outRefundNo string, status providers.RefundStatus) (providers.Refund, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.refunds[outRefundNo]
	if !ok {
		return providers.Refund{}, fmt.Errorf("fakes: no refund %s", outRefundNo)
	}
	r.Status = status
	if status == providers.RefundSucceeded {
		r.RefundedAt = p.now()
	}
	p.refunds[outRefundNo] = r
	return r, nil
}

// Refunds returns every refund made, keyed by out refund number.
func (p *Provider) Refunds() map[string]providers.Refund {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]providers.Refund, len(p.refunds))
	for k, v := range p.refunds {
		out[k] = v
	}
	return out
}

// RefundedTotal returns the sum of the refunds that did not fail, in CNY.
func (p *Provider) RefundedTotal() money.Amount {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := money.Zero(money.CNY)
	for no, r := range p.refunds {
		if r.Status != providers.RefundFailed {
			total, _ = total.Add(p.refundReqs[no].Amount)
		}
	}
	return total
}

// QueryRefund implements providers.PaymentProvider.
func (p *Provider) QueryRefund(_ context.Context, _, outRefundNo string) (providers.Refund, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.enter("QueryRefund"); err != nil {
		return providers.Refund{}, err
	}
	r, ok := p.refunds[outRefundNo]
	if !ok {
		return providers.Refund{OutRefundNo: outRefundNo, Status: providers.RefundNotFound}, nil
	}
	return r, nil
}

// ParseNotification implements providers.PaymentProvider; the fake sends no notifications.
func (p *Provider) ParseNotification(context.Context, *http.Request) (providers.Notification, error) {
	return providers.Notification{}, Refused(string(p.name), "notify", providers.ErrTypeNotSupported)
}

// Wallet is an in-memory Alipay or WeChat Pay: a Provider that also holds
// funds in escrow and declares payments to customs.
type Wallet struct {
	*Provider
	holds         map[string]providers.HoldRequest
	declarations  map[string]providers.DeclarationRequest
	declareStatus providers.DeclarationStatus
}

// SetDeclareStatus sets the status Declare, Redeclare and QueryDeclaration
// answer (default SUCCEEDED).
func (w *Wallet) SetDeclareStatus(s providers.DeclarationStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.declareStatus = s
}

// NewWallet returns a wallet provider named name.
func NewWallet(name providers.Name) *Wallet {
	return &Wallet{Provider: NewProvider(name), holds: make(map[string]providers.HoldRequest),
		declarations: make(map[string]providers.DeclarationRequest)}
}

// HoldFunds implements providers.EscrowHolder.
func (w *Wallet) HoldFunds(_ context.Context, req providers.HoldRequest) (providers.Hold, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enter("HoldFunds"); err != nil {
		return providers.Hold{}, err
	}
	w.holds["hold/"+req.OutRequestNo] = req
	return providers.Hold{OutRequestNo: req.OutRequestNo, HoldID: "H" + req.OutRequestNo, Status: providers.HoldHeld}, nil
}

// ReleaseFunds implements providers.EscrowHolder.
func (w *Wallet) ReleaseFunds(_ context.Context, req providers.HoldRequest) (providers.Hold, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enter("ReleaseFunds"); err != nil {
		return providers.Hold{}, err
	}
	w.holds["release/"+req.OutRequestNo] = req
	return providers.Hold{OutRequestNo: req.OutRequestNo, HoldID: "R" + req.OutRequestNo, Status: providers.HoldReleased}, nil
}

// Released returns the release request made with outRequestNo.
func (w *Wallet) Released(outRequestNo string) (providers.HoldRequest, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.holds["release/"+outRequestNo]
	return r, ok
}

// Declare implements providers.CustomsDeclarer.
func (w *Wallet) Declare(_ context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	return w.declare("Declare", req)
}

// Redeclare implements providers.CustomsDeclarer.
func (w *Wallet) Redeclare(_ context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	return w.declare("Redeclare", req)
}

func (w *Wallet) declare(op string, req providers.DeclarationRequest) (providers.Declaration, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enter(op); err != nil {
		return providers.Declaration{}, err
	}
	w.declarations[req.OutRequestNo] = req
	status := w.declareStatus
	if status == "" {
		status = providers.DeclarationSucceeded
	}
	return providers.Declaration{OutRequestNo: req.OutRequestNo, DeclarationID: "D" + req.OutRequestNo, Status: status}, nil
}

// Declaration returns the last declaration request made with outRequestNo.
func (w *Wallet) Declaration(outRequestNo string) (providers.DeclarationRequest, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.declarations[outRequestNo]
	return d, ok
}

// QueryDeclaration implements providers.CustomsDeclarer.
func (w *Wallet) QueryDeclaration(_ context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enter("QueryDeclaration"); err != nil {
		return providers.Declaration{}, err
	}
	if _, ok := w.declarations[req.OutRequestNo]; !ok {
		return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: providers.DeclarationNotFound}, nil
	}
	status := w.declareStatus
	if status == "" {
		status = providers.DeclarationSucceeded
	}
	return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: status}, nil
}

// CancelDeclaration implements providers.CustomsDeclarer.
func (w *Wallet) CancelDeclaration(_ context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enter("CancelDeclaration"); err != nil {
		return providers.Declaration{}, err
	}
	if _, ok := w.declarations[req.OutRequestNo]; !ok {
		return providers.Declaration{}, Refused(string(w.name), "cancel declaration", providers.ErrTypeTradeNotFound)
	}
	return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: providers.DeclarationCancelled}, nil
}

// Customs is an in-memory customs office. Orders stay PENDING until a
// verdict is set, unless AutoClear is on.
type Customs struct {
	recorder
	manifests map[string]providers.Manifest
	verdicts  map[string]providers.Clearance
	returns   map[string]providers.Return
	filed     map[string]providers.ReturnRequest
	// AutoClear clears every submitted manifest at once.
	AutoClear bool
	// ReleasedAt is the release time AutoClear reports.
	ReleasedAt time.Time
}

// NewCustoms returns an empty customs office.
func NewCustoms() *Customs {
	return &Customs{manifests: make(map[string]providers.Manifest),
		verdicts: make(map[string]providers.Clearance), returns: make(map[string]providers.Return),
		filed: make(map[string]providers.ReturnRequest)}
}

// SubmitManifest implements providers.CustomsClearance.
func (c *Customs) SubmitManifest(_ context.Context, m providers.Manifest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("SubmitManifest"); err != nil {
		return err
	}
	c.manifests[m.OrderNo] = m
	return nil
}

// Manifest returns the manifest filed for an order.
func (c *Customs) Manifest(orderNo string) (providers.Manifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.manifests[orderNo]
	return m, ok
}

// SetVerdict sets customs' verdict on an order and returns it.
func (c *Customs) SetVerdict(cl providers.Clearance) providers.Clearance {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verdicts[cl.OrderNo] = cl
	return cl
}

// QueryClearance implements providers.CustomsClearance.
func (c *Customs) QueryClearance(_ context.Context, orderNo string) (providers.Clearance, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("QueryClearance"); err != nil {
		return providers.Clearance{}, err
	}
	if v, ok := c.verdicts[orderNo]; ok {
		return v, nil
	}
	if _, ok := c.manifests[orderNo]; !ok {
		return providers.Clearance{OrderNo: orderNo, Status: providers.ClearanceNotFound}, nil
	}
	if c.AutoClear {
		return providers.Clearance{OrderNo: orderNo, Status: providers.ClearanceCleared, ReleasedAt: c.ReleasedAt}, nil
	}
	return providers.Clearance{OrderNo: orderNo, Status: providers.ClearancePending}, nil
}

// CancelManifest implements providers.CustomsClearance.
func (c *Customs) CancelManifest(_ context.Context, orderNo string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("CancelManifest"); err != nil {
		return err
	}
	if _, ok := c.manifests[orderNo]; !ok {
		return Refused("customs", "cancel manifest", providers.ErrTypeTradeNotFound)
	}
	delete(c.manifests, orderNo)
	return nil
}

// FileReturn implements providers.CustomsClearance.
func (c *Customs) FileReturn(_ context.Context, req providers.ReturnRequest) (providers.Return, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("FileReturn"); err != nil {
		return providers.Return{}, err
	}
	if r, ok := c.returns[req.OutReturnNo]; ok {
		return r, nil
	}
	c.filed[req.OutReturnNo] = req
	r := providers.Return{OutReturnNo: req.OutReturnNo, Status: providers.ReturnFiled}
	c.returns[req.OutReturnNo] = r
	return r, nil
}

// Filed returns the return request filed with outReturnNo.
func (c *Customs) Filed(outReturnNo string) (providers.ReturnRequest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.filed[outReturnNo]
	return r, ok
}

// DecideReturn sets customs' decision on a return and returns it.
func (c *Customs) DecideReturn(outReturnNo string, status providers.ReturnStatus, reason string) providers.Return {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := providers.Return{OutReturnNo: outReturnNo, Status: status, Reason: reason, DecidedAt: time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)}
	c.returns[outReturnNo] = r
	return r
}

// QueryReturn implements providers.CustomsClearance.
func (c *Customs) QueryReturn(_ context.Context, outReturnNo string) (providers.Return, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enter("QueryReturn"); err != nil {
		return providers.Return{}, err
	}
	if r, ok := c.returns[outReturnNo]; ok {
		return r, nil
	}
	return providers.Return{OutReturnNo: outReturnNo, Status: providers.ReturnNotFound}, nil
}

// FXRates is a fixed-rate FX feed.
type FXRates struct {
	recorder
	// Rate is how many units of the counter currency one unit of the base buys.
	Rate decimal.Decimal
}

// Quote implements providers.FXRates.
func (f *FXRates) Quote(_ context.Context, base, counter money.Currency, at time.Time) (money.Quote, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Quote"); err != nil {
		return money.Quote{}, err
	}
	return money.Quote{Base: base, Counter: counter, Rate: f.Rate, At: at, Source: "fake"}, nil
}
