package cardpsp_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/cardpsp"
	"github.com/xhspay/xhspay/providers/internal/hmacsig/hmacsigtest"
	cardsandbox "github.com/xhspay/xhspay/sandbox/cardpsp"
	customssandbox "github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
)

const (
	keyID  = "merchant-key"
	secret = "card-secret-0123456789abcdef"
)

var discard = slog.New(slog.DiscardHandler)

// sink records the payment records the PSP pushes to customs.
type sink struct {
	mu   sync.Mutex
	recs []customssandbox.PaymentRecord
}

func (s *sink) ReceivePaymentRecord(r customssandbox.PaymentRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
}

func (s *sink) all() []customssandbox.PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]customssandbox.PaymentRecord(nil), s.recs...)
}

type harness struct {
	sink      *sink
	sb        *cardsandbox.Sandbox
	c         *cardpsp.Client
	tap       *hmacsigtest.Tap
	faults    *fault.Injector
	clock     *hmacsigtest.Clock
	events    chan cardpsp.Event
	url       string
	notifyURL string
}

func start(t *testing.T) *harness {
	t.Helper()
	h := &harness{sink: &sink{}, faults: fault.New(), clock: hmacsigtest.NewClock(time.Now().UTC().Truncate(time.Second)), events: make(chan cardpsp.Event, 32)}
	h.notifyURL = hmacsigtest.NotifyServer(t, func(r *http.Request) (cardpsp.Event, error) { return h.c.ParseEvent(r.Context(), r) }, h.events) + "/notify/card"
	h.sb, h.tap, h.url = hmacsigtest.Start(t, cardsandbox.New, cardsandbox.Config{
		KeyID: keyID, Secret: secret, NotifyURL: h.notifyURL, Faults: h.faults, Customs: h.sink, Logger: discard, Now: h.clock.Now,
		RefundDelay: time.Minute, PayoutDelay: time.Hour, SweepInterval: 5 * time.Millisecond,
	})
	h.c = newClient(t, h.url, nil)
	return h
}

func newClient(t *testing.T, url string, mod func(*cardpsp.Config)) *cardpsp.Client {
	t.Helper()
	return hmacsigtest.Build(t, cardpsp.New, cardpsp.Config{BaseURL: url, KeyID: keyID, Secret: secret, Logger: discard}, mod)
}

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

func (h *harness) waitEvent(t *testing.T, kind providers.NotificationKind) cardpsp.Event {
	t.Helper()
	select {
	case ev := <-h.events:
		require.Equal(t, kind, ev.Kind)
		require.NotEmpty(t, ev.ID)
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s notification", kind)
		return cardpsp.Event{}
	}
}

func (h *harness) payment(outTradeNo string, scene providers.Scene, amount string) providers.PaymentRequest {
	return providers.PaymentRequest{
		OutTradeNo: outTradeNo, Subject: "Leather tote", Amount: cny(amount), ExpireAt: h.clock.Now().Add(30 * time.Minute),
		NotifyURL: h.notifyURL, Scene: scene, Payer: providers.Identity{Name: "张伟", IDNumber: "11010519491231002X"},
	}
}

func TestCardRoundTrip(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	assert.Equal(t, providers.Card, h.c.Name())

	req := h.payment("CARD-1", providers.ScenePage, "1288.00")
	sess, err := h.c.CreatePayment(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "CARD-1", sess.OutTradeNo)
	assert.True(t, strings.HasPrefix(sess.PayURL, h.url+"/checkout/pay_"), sess.PayURL)
	again, err := h.c.CreatePayment(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, sess, again, "creating the same payment twice is the same payment")
	changed := req
	changed.Amount = cny("1.00")
	_, err = h.c.CreatePayment(ctx, changed)
	assert.True(t, providers.IsType(err, providers.ErrTypeDuplicateRequest), "%v", err)

	p, err := h.c.QueryPayment(ctx, "CARD-1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPending, p.Status)
	assert.True(t, p.Amount.Equal(cny("1288.00")), p.Amount.String())

	// A declined card leaves the payment pending.
	err = h.sb.Pay(ctx, "CARD-1", cardsandbox.BuyerPayment{CardNumber: cardsandbox.DeclinedCard})
	require.ErrorIs(t, err, cardsandbox.ErrDeclined)
	p, err = h.c.QueryPayment(ctx, "CARD-1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPending, p.Status)
	err = h.sb.Pay(ctx, "CARD-1", cardsandbox.BuyerPayment{CardNumber: "4242424242424241"})
	require.ErrorIs(t, err, cardsandbox.ErrInvalidCard)

	require.NoError(t, h.sb.Pay(ctx, "CARD-1", cardsandbox.BuyerPayment{CardNumber: "4242 4242 4242 4242", HolderName: "ZHANG WEI"}))
	ev := h.waitEvent(t, providers.NotifyPayment)
	assert.Equal(t, providers.PaymentPaid, ev.Payment.Status)
	assert.Equal(t, "CARD-1", ev.Payment.OutTradeNo)
	require.ErrorIs(t, h.sb.Pay(ctx, "CARD-1", cardsandbox.BuyerPayment{}), cardsandbox.ErrAlreadyPaid)

	p, err = h.c.QueryPayment(ctx, "CARD-1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPaid, p.Status)
	assert.Equal(t, "VISA ****4242", p.PayerAccount)
	assert.NotEmpty(t, p.TransactionID)
	assert.Equal(t, h.clock.Now(), p.PaidAt.UTC())

	err = h.c.ClosePayment(ctx, "CARD-1")
	assert.True(t, providers.IsType(err, providers.ErrTypeTradePaid), "%v", err)

	// Partial refunds, idempotent, never above what was captured.
	rreq := providers.RefundRequest{OutTradeNo: "CARD-1", OutRefundNo: "RF-1", Amount: cny("288.00"), Total: cny("1288.00"), Reason: "size", NotifyURL: h.notifyURL}
	rf, err := h.c.Refund(ctx, rreq)
	require.NoError(t, err)
	assert.Equal(t, providers.RefundProcessing, rf.Status)
	rf2, err := h.c.Refund(ctx, rreq)
	require.NoError(t, err)
	assert.Equal(t, rf, rf2)
	bigger := rreq
	bigger.Amount = cny("300.00")
	_, err = h.c.Refund(ctx, bigger)
	assert.True(t, providers.IsType(err, providers.ErrTypeDuplicateRequest), "%v", err)
	over := rreq
	over.OutRefundNo, over.Amount = "RF-2", cny("1000.01")
	_, err = h.c.Refund(ctx, over)
	assert.True(t, providers.IsType(err, providers.ErrTypeRefundExceeded), "%v", err)
	rest := rreq
	rest.OutRefundNo, rest.Amount = "RF-3", cny("1000.00")
	_, err = h.c.Refund(ctx, rest)
	require.NoError(t, err, "the rest may be refunded")

	h.clock.Advance(time.Minute)
	for range 2 {
		ev = h.waitEvent(t, providers.NotifyRefund)
		assert.Equal(t, providers.RefundSucceeded, ev.Refund.Status)
	}
	rf, err = h.c.QueryRefund(ctx, "CARD-1", "RF-1")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundSucceeded, rf.Status)
	assert.True(t, rf.Amount.Equal(cny("288.00")))
	assert.False(t, rf.RefundedAt.IsZero())
	p, err = h.c.QueryPayment(ctx, "CARD-1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentRefunded, p.Status)

	rf, err = h.c.QueryRefund(ctx, "CARD-1", "RF-NONE")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundNotFound, rf.Status)
	rf, err = h.c.QueryRefund(ctx, "OTHER", "RF-1")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundNotFound, rf.Status, "a refund of another payment is not this payment's")
}

func TestCloseExpireAndRefuse(t *testing.T) {
	h := start(t)
	ctx := context.Background()

	p, err := h.c.QueryPayment(ctx, "NOPE")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentNotFound, p.Status)
	err = h.c.ClosePayment(ctx, "NOPE")
	assert.True(t, providers.IsType(err, providers.ErrTypeTradeNotFound), "%v", err)

	_, err = h.c.CreatePayment(ctx, h.payment("CL-1", providers.ScenePage, "10.00"))
	require.NoError(t, err)
	_, err = h.c.Refund(ctx, providers.RefundRequest{OutTradeNo: "CL-1", OutRefundNo: "R", Amount: cny("1.00")})
	assert.True(t, providers.IsType(err, providers.ErrTypeRejected), "refund of an unpaid payment: %v", err)
	require.NoError(t, h.c.ClosePayment(ctx, "CL-1"))
	require.NoError(t, h.c.ClosePayment(ctx, "CL-1"), "closing twice is a no-op")
	p, err = h.c.QueryPayment(ctx, "CL-1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentClosed, p.Status)
	require.ErrorIs(t, h.sb.Pay(ctx, "CL-1", cardsandbox.BuyerPayment{}), cardsandbox.ErrPaymentClosed)
	_, err = h.c.Refund(ctx, providers.RefundRequest{OutTradeNo: "CL-1", OutRefundNo: "R", Amount: cny("1.00")})
	assert.True(t, providers.IsType(err, providers.ErrTypeTradeClosed), "%v", err)

	_, err = h.c.CreatePayment(ctx, h.payment("EXP-1", providers.SceneQR, "10.00"))
	require.NoError(t, err)
	h.clock.Advance(31 * time.Minute)
	p, err = h.c.QueryPayment(ctx, "EXP-1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentClosed, p.Status, "an unpaid payment closes at its expiry")

	inst := h.payment("INST", providers.ScenePage, "10.00")
	inst.Instalments = &providers.Instalments{Count: 3, FeeBearer: providers.FeeBuyer}
	_, err = h.c.CreatePayment(ctx, inst)
	assert.True(t, providers.IsType(err, providers.ErrTypeNotSupported), "%v", err)
	usd := h.payment("USD", providers.ScenePage, "10.00")
	usd.Amount = money.MustParse("10.00", money.USD)
	_, err = h.c.CreatePayment(ctx, usd)
	assert.True(t, providers.IsType(err, providers.ErrTypeInvalidRequest), "%v", err)
}

func TestHostedCheckoutQR(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	sess, err := h.c.CreatePayment(ctx, h.payment("QR-1", providers.SceneQR, "99.90"))
	require.NoError(t, err)
	require.NotEmpty(t, sess.QRCode)
	assert.Equal(t, sess.PayURL, sess.QRCode, "the QR code encodes the checkout URL")

	resp, err := http.Get(sess.QRCode)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), "99.90 CNY")

	resp, err = http.PostForm(sess.QRCode, url.Values{"cardNumber": {"5555 5555 5555 4444"}, "holderName": {"LI NA"}})
	require.NoError(t, err)
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(page), "Paid")
	ev := h.waitEvent(t, providers.NotifyPayment)
	assert.Equal(t, "MASTERCARD ****4444", ev.Payment.PayerAccount)

	// The control endpoint of the scripted buyer.
	_, err = h.c.CreatePayment(ctx, h.payment("QR-2", providers.SceneQR, "5.00"))
	require.NoError(t, err)
	resp, err = http.Post(h.url+"/sandbox/pay", "application/json", strings.NewReader(`{"outTradeNo":"QR-2","cardNumber":"4000000000000002"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusPaymentRequired, resp.StatusCode)
	resp, err = http.Post(h.url+"/sandbox/pay", "application/json", strings.NewReader(`{"outTradeNo":"QR-2"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	h.waitEvent(t, providers.NotifyPayment)
}

func TestPayouts(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	req := providers.PayoutRequest{OutPayoutNo: "PO-1", MerchantID: "brand-uk", Amount: money.MustParse("1234.56", money.GBP), Reference: "settlement 2025-05-10"}
	po, err := h.c.Payout(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, providers.PayoutProcessing, po.Status)
	assert.True(t, po.Amount.Equal(req.Amount))
	again, err := h.c.Payout(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, po, again)
	other := req
	other.Amount = money.MustParse("1.00", money.GBP)
	_, err = h.c.Payout(ctx, other)
	assert.True(t, providers.IsType(err, providers.ErrTypeDuplicateRequest), "%v", err)

	h.clock.Advance(time.Hour)
	ev := h.waitEvent(t, cardpsp.NotifyPayout)
	assert.Equal(t, providers.PayoutPaid, ev.Payout.Status)
	po, err = h.c.QueryPayout(ctx, "PO-1")
	require.NoError(t, err)
	assert.Equal(t, providers.PayoutPaid, po.Status)
	assert.Equal(t, h.clock.Now(), po.PaidAt.UTC())

	jpy := providers.PayoutRequest{OutPayoutNo: "PO-2", MerchantID: "brand-jp", Amount: money.MustParse("250000", money.JPY)}
	po, err = h.c.Payout(ctx, jpy)
	require.NoError(t, err)
	assert.True(t, po.Amount.Equal(jpy.Amount), "JPY has no minor unit: %s", po.Amount)
	require.NoError(t, h.sb.FailPayout("PO-2", ""))
	ev = h.waitEvent(t, cardpsp.NotifyPayout)
	assert.Equal(t, providers.PayoutFailed, ev.Payout.Status)
	require.ErrorIs(t, h.sb.FailPayout("PO-2", ""), cardsandbox.ErrConflict)

	po, err = h.c.QueryPayout(ctx, "PO-NONE")
	require.NoError(t, err)
	assert.Equal(t, providers.PayoutNotFound, po.Status)
}

func TestCustomsDeclaration(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	buyer := providers.Identity{Name: "张伟", IDNumber: "11010519491231002X"}
	decl := providers.DeclarationRequest{
		OutRequestNo: "DCL-1", OrderNo: "ORDER-1", OutTradeNo: "DCL-PAY", Payer: buyer, Amount: cny("88.00"),
		CustomsCode: "HANGZHOU", MerchantCustomsCode: "PLATFORM01", MerchantCustomsName: "Platform",
	}
	d, err := h.c.QueryDeclaration(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationNotFound, d.Status)

	_, err = h.c.Declare(ctx, decl)
	assert.True(t, providers.IsType(err, providers.ErrTypeTradeNotFound), "no payment yet: %v", err)
	_, err = h.c.CreatePayment(ctx, h.payment("DCL-PAY", providers.ScenePage, "88.00"))
	require.NoError(t, err)
	_, err = h.c.Declare(ctx, decl)
	assert.True(t, providers.IsType(err, providers.ErrTypeRejected), "an unpaid payment cannot be declared: %v", err)
	require.NoError(t, h.sb.Pay(ctx, "DCL-PAY", cardsandbox.BuyerPayment{}))
	h.waitEvent(t, providers.NotifyPayment)

	d, err = h.c.Declare(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationSucceeded, d.Status)
	again, err := h.c.Declare(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, d, again)
	require.Len(t, h.sink.all(), 1, "a repeated declaration is not pushed twice")
	rec := h.sink.all()[0]
	assert.Equal(t, "ORDER-1", rec.OrderNo)
	assert.Equal(t, buyer.Name, rec.PayerName)
	assert.Equal(t, int64(8800), rec.AmountFen)
	assert.False(t, rec.Cancelled)

	changed := decl
	changed.Payer.Name = "张伟伟"
	_, err = h.c.Declare(ctx, changed)
	assert.True(t, providers.IsType(err, providers.ErrTypeDuplicateRequest), "%v", err)
	d, err = h.c.Redeclare(ctx, changed)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationSucceeded, d.Status)
	assert.Equal(t, "张伟伟", h.sink.all()[1].PayerName)

	d, err = h.c.CancelDeclaration(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationCancelled, d.Status)
	recs := h.sink.all()
	require.Len(t, recs, 3)
	assert.True(t, recs[2].Cancelled)
	d, err = h.c.QueryDeclaration(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationCancelled, d.Status)
}

func TestSignatureFailuresBothWays(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	req := h.payment("SIG-1", providers.ScenePage, "10.00")

	_, err := newClient(t, h.url, func(c *cardpsp.Config) { c.Secret = "wrong" }).CreatePayment(ctx, req)
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Equal(t, cardsandbox.CodeSignatureInvalid, h.tap.LastCode())
	p, err := h.c.QueryPayment(ctx, "SIG-1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentNotFound, p.Status, "the forged request changed nothing")

	_, err = newClient(t, h.url, func(c *cardpsp.Config) { c.Now = func() time.Time { return time.Now().Add(-6 * time.Minute) } }).QueryPayment(ctx, "SIG-1")
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Equal(t, cardsandbox.CodeTimestampExpired, h.tap.LastCode())

	_, err = h.c.CreatePayment(ctx, req)
	require.NoError(t, err)
	h.tap.SetTamper(func(b []byte) []byte { return bytes.Replace(b, []byte(`"PENDING"`), []byte(`"SUCCEEDED"`), 1) })
	_, err = h.c.QueryPayment(ctx, "SIG-1")
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	h.tap.SetTamper(nil)

	h.faults.Set("GET /psp/v1/payments/{outTradeNo}", fault.Rule{Timeout: true, Times: 1})
	short := newClient(t, h.url, func(c *cardpsp.Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
	_, err = short.QueryPayment(ctx, "SIG-1")
	assert.True(t, providers.IsType(err, providers.ErrTypeUnavailable), "a timeout is retryable: %v", err)

	// Notifications: forged, stale or re-pathed ones are refused.
	body := []byte(`{"id":"evt_1","type":"payment.succeeded","createdAt":"2025-05-10T09:00:00Z","payment":{"outTradeNo":"X","paymentId":"pay_1","status":"SUCCEEDED","amount":100,"currency":"CNY"}}`)
	parse := func(secretUsed string, at time.Time, path string) error {
		_, err := h.c.ParseNotification(ctx, hmacsigtest.Notification("/notify/card", body, keyID, secretUsed, at, path))
		return err
	}
	require.NoError(t, parse(secret, time.Now(), "/notify/card"))
	for name, err := range map[string]error{
		"forged": parse("guess", time.Now(), "/notify/card"),
		"stale":  parse(secret, time.Now().Add(-10*time.Minute), "/notify/card"),
		"path":   parse(secret, time.Now(), "/notify/alipay"),
	} {
		assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%s: %v", name, err)
	}
}

func TestClassifyEveryCode(t *testing.T) {
	own := map[string]providers.ErrorType{
		cardsandbox.CodeCurrencyNotSupported:  providers.ErrTypeNotSupported,
		cardsandbox.CodePaymentNotFound:       providers.ErrTypeTradeNotFound,
		cardsandbox.CodeRefundNotFound:        providers.ErrTypeTradeNotFound,
		cardsandbox.CodePayoutNotFound:        providers.ErrTypeTradeNotFound,
		cardsandbox.CodeDuplicateOutTradeNo:   providers.ErrTypeDuplicateRequest,
		cardsandbox.CodeDuplicateOutRefundNo:  providers.ErrTypeDuplicateRequest,
		cardsandbox.CodeDuplicateOutPayoutNo:  providers.ErrTypeDuplicateRequest,
		cardsandbox.CodePaymentAlreadyPaid:    providers.ErrTypeTradePaid,
		cardsandbox.CodePaymentClosed:         providers.ErrTypeTradeClosed,
		cardsandbox.CodePaymentNotPaid:        providers.ErrTypeRejected,
		cardsandbox.CodeRefundExceeded:        providers.ErrTypeRefundExceeded,
		cardsandbox.CodeDeclarationNotFound:   providers.ErrTypeTradeNotFound,
		cardsandbox.CodeDuplicateOutRequestNo: providers.ErrTypeDuplicateRequest,
	}
	hmacsigtest.CheckClassify(t, cardsandbox.Codes(), own, cardpsp.Classify)
	assert.Equal(t, providers.ErrTypeUnavailable, cardpsp.Classify(503, "BRAND_NEW"))
	assert.Equal(t, providers.ErrTypeRejected, cardpsp.Classify(400, "BRAND_NEW"))
}
