package wechatpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/wechatpay"
	"github.com/xhspay/xhspay/sandbox/fault"
	sandbox "github.com/xhspay/xhspay/sandbox/wechatpay"
)

func TestNativePaymentRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const no = "ORDERNATIVE0001"

	sess, err := e.ad.CreatePayment(ctx, paymentRequest(no, "128.50", providers.SceneQR))
	require.NoError(t, err)
	assert.Equal(t, no, sess.OutTradeNo)
	assert.True(t, strings.HasPrefix(sess.QRCode, "weixin://wxpay/bizpayurl?pr="), sess.QRCode)
	assert.Empty(t, sess.PayURL)

	// Creating again with the same parameters answers the same code_url.
	again, err := e.ad.CreatePayment(ctx, paymentRequest(no, "128.50", providers.SceneQR))
	require.NoError(t, err)
	assert.Equal(t, sess.QRCode, again.QRCode)

	p, err := e.ad.QueryPayment(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPending, p.Status)
	assert.True(t, p.Amount.Equal(cny("128.50")), p.Amount.String())
	assert.Empty(t, p.TransactionID)
	assert.True(t, p.PaidAt.IsZero())

	require.NoError(t, e.sb.Pay(ctx, no, sandbox.BuyerPayment{Method: "card", OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}))
	n := e.nextNote()
	assert.Equal(t, providers.WeChatPay, n.Provider)
	assert.Equal(t, providers.NotifyPayment, n.Kind)
	assert.NotEmpty(t, n.ID)
	assert.False(t, n.SentAt.IsZero())
	require.NotNil(t, n.Payment)
	assert.Equal(t, providers.PaymentPaid, n.Payment.Status)
	assert.Equal(t, no, n.Payment.OutTradeNo)
	assert.Len(t, n.Payment.TransactionID, 28)
	assert.True(t, n.Payment.Amount.Equal(cny("128.50")))
	assert.Equal(t, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", n.Payment.PayerAccount)

	p, err = e.ad.QueryPayment(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPaid, p.Status)
	assert.Equal(t, n.Payment.TransactionID, p.TransactionID)
	assert.WithinDuration(t, e.clock.Now(), p.PaidAt, 2*time.Second)

	// A paid order cannot be created again.
	_, err = e.ad.CreatePayment(ctx, paymentRequest(no, "128.50", providers.SceneQR))
	requireType(t, err, providers.ErrTypeTradePaid)
}

func TestH5PaymentRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const no = "ORDERH5000000001"

	sess, err := e.ad.CreatePayment(ctx, paymentRequest(no, "0.01", providers.ScenePage))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(sess.PayURL, e.srv.URL+"/sandbox/cashier?prepay_id=wx"), sess.PayURL)
	assert.Empty(t, sess.QRCode)

	page, err := http.Get(sess.PayURL)
	require.NoError(t, err)
	html, _ := io.ReadAll(page.Body)
	_ = page.Body.Close()
	require.Equal(t, http.StatusOK, page.StatusCode)
	assert.Contains(t, string(html), no)

	resp, err := http.Post(e.srv.URL+"/sandbox/pay", "application/json", strings.NewReader(`{"out_trade_no":"`+no+`","method":"balance"}`))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	n := e.nextNote()
	assert.Equal(t, providers.PaymentPaid, n.Payment.Status)

	p, err := e.ad.QueryPayment(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPaid, p.Status)
	assert.True(t, p.Amount.Equal(cny("0.01")))

	// Paying twice is refused by the scripted buyer.
	resp, err = http.Post(e.srv.URL+"/sandbox/pay", "application/json", strings.NewReader(`{"out_trade_no":"`+no+`","method":"balance"}`))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
}

func TestQueryUnknownPaymentIsNotFound(t *testing.T) {
	e := newEnv(t, nil)
	p, err := e.ad.QueryPayment(context.Background(), "NEVERCREATED01")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentNotFound, p.Status)
	assert.Equal(t, "NEVERCREATED01", p.OutTradeNo)
}

func TestRefundsPartialRepeatedAndExceeded(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const no = "ORDERREFUND00001"
	paid := e.createAndPay(no, "100.00", false)

	refund := func(outRefundNo, amount string) (providers.Refund, error) {
		return e.ad.Refund(ctx, providers.RefundRequest{
			OutTradeNo: no, OutRefundNo: outRefundNo, Amount: cny(amount), Total: cny("100.00"), Reason: "size too small",
		})
	}

	r1, err := refund("REFUNDNO0001", "30.00")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundProcessing, r1.Status)
	assert.NotEmpty(t, r1.RefundID)
	assert.True(t, r1.Amount.Equal(cny("30.00")))
	assert.True(t, r1.RefundedAt.IsZero())

	n := e.nextNote()
	require.Equal(t, providers.NotifyRefund, n.Kind)
	require.NotNil(t, n.Refund)
	assert.Equal(t, providers.RefundSucceeded, n.Refund.Status)
	assert.Equal(t, "REFUNDNO0001", n.Refund.OutRefundNo)
	assert.Equal(t, no, n.Refund.OutTradeNo)
	assert.Equal(t, r1.RefundID, n.Refund.RefundID)
	assert.True(t, n.Refund.Amount.Equal(cny("30.00")))
	assert.False(t, n.Refund.RefundedAt.IsZero())
	assert.NotEqual(t, paid.ID, n.ID)

	q, err := e.ad.QueryRefund(ctx, no, "REFUNDNO0001")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundSucceeded, q.Status)
	assert.False(t, q.RefundedAt.IsZero())

	p, err := e.ad.QueryPayment(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentRefunded, p.Status)

	// Idempotent: the same out_refund_no answers the same refund.
	again, err := refund("REFUNDNO0001", "30.00")
	require.NoError(t, err)
	assert.Equal(t, r1.RefundID, again.RefundID)
	assert.Equal(t, providers.RefundSucceeded, again.Status)

	// Reusing it for another amount is a duplicate request.
	_, err = refund("REFUNDNO0001", "31.00")
	requireType(t, err, providers.ErrTypeDuplicateRequest)

	r2, err := refund("REFUNDNO0002", "50.00")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundProcessing, r2.Status)
	n = e.nextNote()
	assert.Equal(t, "REFUNDNO0002", n.Refund.OutRefundNo)
	assert.Equal(t, providers.RefundSucceeded, n.Refund.Status)

	// 20.00 remains: 20.01 is too much, 20.00 fits exactly.
	_, err = refund("REFUNDNO0003", "20.01")
	pe := requireType(t, err, providers.ErrTypeRefundExceeded)
	assert.Equal(t, "NOT_ENOUGH", pe.Code)
	r3, err := refund("REFUNDNO0004", "20.00")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundProcessing, r3.Status)
	_ = e.nextNote()

	nf, err := e.ad.QueryRefund(ctx, no, "REFUNDNO0003")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundNotFound, nf.Status)

	_, err = e.ad.QueryRefund(ctx, "OTHERORDER0001", "REFUNDNO0002")
	requireType(t, err, providers.ErrTypeInvalidRequest)

	// Locally checked: more than the total, and refunds of unknown orders.
	_, err = refund("REFUNDNO0005", "100.01")
	requireType(t, err, providers.ErrTypeRefundExceeded)
	_, err = e.ad.Refund(ctx, providers.RefundRequest{OutTradeNo: "NOSUCHORDER01", OutRefundNo: "REFUNDNO0006", Amount: cny("1.00"), Total: cny("1.00")})
	requireType(t, err, providers.ErrTypeTradeNotFound)
}

func TestRefundByTransactionID(t *testing.T) {
	e := newEnv(t, nil)
	paid := e.createAndPay("ORDERREFUNDTX001", "9.90", false)
	r, err := e.ad.Refund(context.Background(), providers.RefundRequest{
		TransactionID: paid.Payment.TransactionID, OutRefundNo: "RTX0001", Amount: cny("9.90"), Total: cny("9.90"),
	})
	require.NoError(t, err)
	assert.Equal(t, "ORDERREFUNDTX001", r.OutTradeNo)
	assert.Equal(t, providers.RefundSucceeded, e.nextNote().Refund.Status)
}

func TestClosePayment(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()

	_, err := e.ad.CreatePayment(ctx, paymentRequest("ORDERCLOSE00001", "10.00", providers.SceneQR))
	require.NoError(t, err)
	require.NoError(t, e.ad.ClosePayment(ctx, "ORDERCLOSE00001"))
	p, err := e.ad.QueryPayment(ctx, "ORDERCLOSE00001")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentClosed, p.Status)
	require.NoError(t, e.ad.ClosePayment(ctx, "ORDERCLOSE00001"), "closing twice succeeds")
	require.ErrorIs(t, e.sb.Pay(ctx, "ORDERCLOSE00001", sandbox.BuyerPayment{}), sandbox.ErrTradeClosed)
	_, err = e.ad.Refund(ctx, providers.RefundRequest{OutTradeNo: "ORDERCLOSE00001", OutRefundNo: "RCLOSED01", Amount: cny("1.00"), Total: cny("10.00")})
	requireType(t, err, providers.ErrTypeTradeClosed)
	_, err = e.ad.CreatePayment(ctx, paymentRequest("ORDERCLOSE00001", "10.00", providers.SceneQR))
	requireType(t, err, providers.ErrTypeTradeClosed)

	e.createAndPay("ORDERCLOSE00002", "10.00", false)
	pe := requireType(t, e.ad.ClosePayment(ctx, "ORDERCLOSE00002"), providers.ErrTypeTradePaid)
	assert.Equal(t, "ORDERPAID", pe.Code)

	requireType(t, e.ad.ClosePayment(ctx, "ORDERCLOSE00003"), providers.ErrTypeTradeNotFound)
}

func TestOrderExpiresAtTimeExpire(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := paymentRequest("ORDEREXPIRE0001", "10.00", providers.SceneQR)
	req.ExpireAt = time.Now().Add(15 * time.Minute)
	_, err := e.ad.CreatePayment(ctx, req)
	require.NoError(t, err)

	e.clock.Advance(16 * time.Minute)
	p, err := e.ad.QueryPayment(ctx, "ORDEREXPIRE0001")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentClosed, p.Status)
	require.ErrorIs(t, e.sb.Pay(ctx, "ORDEREXPIRE0001", sandbox.BuyerPayment{}), sandbox.ErrTradeClosed)
}

func TestCreateDuplicateOutTradeNo(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, err := e.ad.CreatePayment(ctx, paymentRequest("ORDERDUP000001", "10.00", providers.SceneQR))
	require.NoError(t, err)
	_, err = e.ad.CreatePayment(ctx, paymentRequest("ORDERDUP000001", "11.00", providers.SceneQR))
	pe := requireType(t, err, providers.ErrTypeDuplicateRequest)
	assert.Equal(t, "OUT_TRADE_NO_USED", pe.Code)
}

func TestHoldAndRelease(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	paid := e.createAndPay("ORDERHOLD000001", "300.00", true)

	h, err := e.ad.HoldFunds(ctx, providers.HoldRequest{OutTradeNo: "ORDERHOLD000001", OutRequestNo: "HOLD0001", Amount: cny("300.00")})
	require.NoError(t, err)
	assert.Equal(t, providers.HoldHeld, h.Status)
	assert.Equal(t, paid.Payment.TransactionID, h.HoldID)

	rel, err := e.ad.ReleaseFunds(ctx, providers.HoldRequest{
		OutTradeNo: "ORDERHOLD000001", TransactionID: paid.Payment.TransactionID, OutRequestNo: "RELEASE0001", Amount: cny("300.00"),
	})
	require.NoError(t, err)
	assert.Equal(t, providers.HoldReleased, rel.Status)
	assert.NotEmpty(t, rel.HoldID)

	again, err := e.ad.ReleaseFunds(ctx, providers.HoldRequest{OutTradeNo: "ORDERHOLD000001", OutRequestNo: "RELEASE0001"})
	require.NoError(t, err)
	assert.Equal(t, rel.HoldID, again.HoldID, "the same out_order_no is the same unfreeze")

	other, err := e.ad.ReleaseFunds(ctx, providers.HoldRequest{OutTradeNo: "ORDERHOLD000001", OutRequestNo: "RELEASE0002"})
	require.NoError(t, err)
	assert.Equal(t, providers.HoldReleased, other.Status, "nothing left frozen")

	_, err = e.ad.HoldFunds(ctx, providers.HoldRequest{TransactionID: paid.Payment.TransactionID, OutRequestNo: "HOLD0002"})
	pe := requireType(t, err, providers.ErrTypeRejected)
	assert.Equal(t, "NOT_HELD", pe.Code)

	// An order paid without Hold is not frozen and cannot be unfrozen.
	e.createAndPay("ORDERNOHOLD0001", "10.00", false)
	_, err = e.ad.HoldFunds(ctx, providers.HoldRequest{OutTradeNo: "ORDERNOHOLD0001", OutRequestNo: "HOLD0003"})
	requireType(t, err, providers.ErrTypeRejected)
	_, err = e.ad.ReleaseFunds(ctx, providers.HoldRequest{OutTradeNo: "ORDERNOHOLD0001", OutRequestNo: "RELEASE0003"})
	requireType(t, err, providers.ErrTypeInvalidRequest)

	// An unpaid order has no transaction to hold.
	_, err = e.ad.CreatePayment(ctx, paymentRequest("ORDERUNPAID001", "10.00", providers.SceneQR))
	require.NoError(t, err)
	_, err = e.ad.HoldFunds(ctx, providers.HoldRequest{OutTradeNo: "ORDERUNPAID001", OutRequestNo: "HOLD0004"})
	requireType(t, err, providers.ErrTypeRejected)
}

func TestReleaseIsAsynchronous(t *testing.T) {
	e := newEnv(t, func(c *sandbox.Config) { c.UnfreezeDelay = time.Hour })
	paid := e.createAndPay("ORDERHOLDASYNC1", "50.00", true)
	rel, err := e.ad.ReleaseFunds(context.Background(), providers.HoldRequest{TransactionID: paid.Payment.TransactionID, OutRequestNo: "RELEASEASYNC1"})
	require.NoError(t, err)
	assert.Equal(t, providers.HoldProcessing, rel.Status)
	e.clock.Advance(2 * time.Hour)
	rel, err = e.ad.ReleaseFunds(context.Background(), providers.HoldRequest{TransactionID: paid.Payment.TransactionID, OutRequestNo: "RELEASEASYNC1"})
	require.NoError(t, err)
	assert.Equal(t, providers.HoldReleased, rel.Status)
}

func TestCustomsDeclaration(t *testing.T) {
	e := newEnv(t, func(c *sandbox.Config) { c.CustomsDelay = time.Minute })
	ctx := context.Background()
	paid := e.createAndPay("ORDERCUSTOMS001", "268.00", false)
	req := providers.DeclarationRequest{
		OutRequestNo:        "DECLARE0001",
		OrderNo:             "MERCHANT-ORDER-1",
		OutTradeNo:          "ORDERCUSTOMS001",
		TransactionID:       paid.Payment.TransactionID,
		Payer:               providers.Identity{Name: testPayerName, IDNumber: testPayerID},
		Amount:              cny("268.00"),
		CustomsCode:         "HANGZHOU",
		MerchantCustomsCode: testMerchantCus,
		MerchantCustomsName: "Brand Ltd",
	}

	d, err := e.ad.Declare(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationProcessing, d.Status)
	assert.Equal(t, "DECLARE0001", d.OutRequestNo)
	assert.NotEmpty(t, d.DeclarationID)

	recs := e.sink.records()
	require.Len(t, recs, 1)
	assert.Equal(t, "wechatpay", recs[0].Provider)
	assert.Equal(t, "MERCHANT-ORDER-1", recs[0].OrderNo)
	assert.Equal(t, paid.Payment.TransactionID, recs[0].TransactionID)
	assert.Equal(t, testPayerName, recs[0].PayerName, "the identity went encrypted and was decrypted by the sandbox")
	assert.Equal(t, testPayerID, recs[0].PayerIDNumber)
	assert.Equal(t, int64(26800), recs[0].AmountFen)
	assert.Equal(t, "HANGZHOU", recs[0].CustomsCode)
	assert.Equal(t, testMerchantCus, recs[0].MerchantCustomsCode)
	assert.False(t, recs[0].Cancelled)

	q, err := e.ad.QueryDeclaration(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationProcessing, q.Status)
	e.clock.Advance(2 * time.Minute)
	q, err = e.ad.QueryDeclaration(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationSucceeded, q.Status)
	assert.Equal(t, d.DeclarationID, q.DeclarationID)

	// Declaring again is the same declaration and pushes nothing new.
	again, err := e.ad.Declare(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, d.DeclarationID, again.DeclarationID)
	assert.Len(t, e.sink.records(), 1)

	corrected := req
	corrected.OutRequestNo = "REDECLARE0001"
	corrected.Payer.Name = "李四"
	re, err := e.ad.Redeclare(ctx, corrected)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationProcessing, re.Status)
	recs = e.sink.records()
	require.Len(t, recs, 2)
	assert.Equal(t, "李四", recs[1].PayerName)

	c, err := e.ad.CancelDeclaration(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationCancelled, c.Status)
	recs = e.sink.records()
	require.Len(t, recs, 3)
	assert.True(t, recs[2].Cancelled)
	q, err = e.ad.QueryDeclaration(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationCancelled, q.Status)

	// Unknown declarations.
	unknown := req
	unknown.OrderNo = "MERCHANT-ORDER-404"
	q, err = e.ad.QueryDeclaration(ctx, unknown)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationNotFound, q.Status)
	c, err = e.ad.CancelDeclaration(ctx, unknown)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationNotFound, c.Status)

	// Bad input never leaves the adapter.
	bad := req
	bad.Payer.IDNumber = "12345"
	_, err = e.ad.Declare(ctx, bad)
	requireType(t, err, providers.ErrTypeInvalidRequest)
	bad = req
	bad.CustomsCode = "ATLANTIS"
	_, err = e.ad.Declare(ctx, bad)
	requireType(t, err, providers.ErrTypeInvalidRequest)
}

func TestCustomsDeclarationOfUnpaidOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, err := e.ad.CreatePayment(ctx, paymentRequest("ORDERCUSUNPAID1", "10.00", providers.SceneQR))
	require.NoError(t, err)
	_, err = e.ad.Declare(ctx, providers.DeclarationRequest{
		OutRequestNo: "DECLUNPAID1", OrderNo: "MO-UNPAID", OutTradeNo: "ORDERCUSUNPAID1",
		Payer: providers.Identity{Name: testPayerName, IDNumber: testPayerID}, Amount: cny("10.00"),
		CustomsCode: "GUANGZHOU", MerchantCustomsCode: testMerchantCus,
	})
	requireType(t, err, providers.ErrTypeRejected)
	assert.Empty(t, e.sink.records())
}

func TestCancelDeclarationNotSupportedByRealAPI(t *testing.T) {
	e := newEnv(t, nil)
	// A server that, like WeChat Pay, has no cancel endpoint.
	api := e.sb.Handler()
	noCancel := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v3/global/customs/orders/cancel" {
			http.NotFound(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(noCancel.Close)
	ad := e.adapter(noCancel.URL, testKeys(t).merchant)
	paid := e.createAndPay("ORDERCUSNOCAN01", "10.00", false)
	_, err := ad.CancelDeclaration(context.Background(), providers.DeclarationRequest{
		OutRequestNo: "CANCEL0001", OrderNo: "MO-1", OutTradeNo: "ORDERCUSNOCAN01", TransactionID: paid.Payment.TransactionID, CustomsCode: "SHANGHAI",
	})
	requireType(t, err, providers.ErrTypeNotSupported)
}

func TestDuplicateNotificationKeepsID(t *testing.T) {
	e := newEnv(t, nil)
	e.faults.SetNotify(fault.NotifyRule{Duplicate: true, Times: 1})
	_, err := e.ad.CreatePayment(context.Background(), paymentRequest("ORDERDUPNOTE001", "10.00", providers.SceneQR))
	require.NoError(t, err)
	require.NoError(t, e.sb.Pay(context.Background(), "ORDERDUPNOTE001", sandbox.BuyerPayment{}))
	first, second := e.nextNote(), e.nextNote()
	assert.Equal(t, first.ID, second.ID)
	assert.Equal(t, first.Payment, second.Payment)
}

func TestNotificationRetriedUntilAcknowledged(t *testing.T) {
	e := newEnv(t, nil)
	e.failNext.Store(2)
	_, err := e.ad.CreatePayment(context.Background(), paymentRequest("ORDERRETRY00001", "10.00", providers.SceneQR))
	require.NoError(t, err)
	require.NoError(t, e.sb.Pay(context.Background(), "ORDERRETRY00001", sandbox.BuyerPayment{}))
	n := e.nextNote()
	assert.Equal(t, "ORDERRETRY00001", n.Payment.OutTradeNo)
	assert.Equal(t, int32(3), e.attempts.Load(), "two refusals, then delivered")
}

func TestSandboxRejectsWrongMerchantKey(t *testing.T) {
	e := newEnv(t, nil)
	ad := e.adapter(e.srv.URL, testKeys(t).other)
	_, err := ad.CreatePayment(context.Background(), paymentRequest("ORDERWRONGKEY01", "10.00", providers.SceneQR))
	pe := requireType(t, err, providers.ErrTypeSignature)
	assert.Equal(t, "SIGN_ERROR", pe.Code)
}

func TestTamperedResponseIsRejected(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.ad.CreatePayment(context.Background(), paymentRequest("ORDERTAMPER0001", "10.00", providers.SceneQR))
	require.NoError(t, err)

	api := e.sb.Handler()
	tamper := func(mutate func(h http.Header, body []byte) []byte) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, r)
			body := mutate(rec.Header(), rec.Body.Bytes())
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	cases := map[string]func(h http.Header, body []byte) []byte{
		"body altered": func(_ http.Header, b []byte) []byte {
			return bytes.Replace(b, []byte(`"NOTPAY"`), []byte(`"SUCCESS"`), 1)
		},
		"signature from another key": func(h http.Header, b []byte) []byte {
			h.Set("Wechatpay-Signature", "c2lnbmVkIGJ5IHNvbWVib2R5IGVsc2U=")
			return b
		},
		"unknown key id": func(h http.Header, b []byte) []byte {
			h.Set("Wechatpay-Serial", "PUB_KEY_ID_SOMEONE_ELSE")
			return b
		},
		"stale timestamp": func(h http.Header, b []byte) []byte {
			h.Set("Wechatpay-Timestamp", "1500000000")
			return b
		},
		"unsigned": func(h http.Header, b []byte) []byte {
			h.Del("Wechatpay-Signature")
			return b
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			ad := e.adapter(tamper(mutate).URL, testKeys(t).merchant)
			_, err := ad.QueryPayment(context.Background(), "ORDERTAMPER0001")
			requireType(t, err, providers.ErrTypeSignature)
		})
	}
	// The untampered path through the same proxy works.
	ad := e.adapter(tamper(func(_ http.Header, b []byte) []byte { return b }).URL, testKeys(t).merchant)
	p, err := ad.QueryPayment(context.Background(), "ORDERTAMPER0001")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPending, p.Status)
}

func TestFaultsAreClassified(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, err := e.ad.CreatePayment(ctx, paymentRequest("ORDERFAULT00001", "10.00", providers.SceneQR))
	require.NoError(t, err)
	tests := []struct {
		rule fault.Rule
		want providers.ErrorType
		code string
	}{
		{fault.Rule{Status: http.StatusInternalServerError, Times: 1}, providers.ErrTypeUnavailable, ""},
		{fault.Rule{Status: http.StatusServiceUnavailable, Times: 1}, providers.ErrTypeUnavailable, ""},
		{fault.Rule{BusinessError: "SYSTEM_ERROR", Times: 1}, providers.ErrTypeUnavailable, "SYSTEM_ERROR"},
		{fault.Rule{BusinessError: "BANK_ERROR", Times: 1}, providers.ErrTypeUnavailable, "BANK_ERROR"},
		{fault.Rule{BusinessError: "FREQUENCY_LIMITED", Times: 1}, providers.ErrTypeRateLimited, "FREQUENCY_LIMITED"},
		{fault.Rule{BusinessError: "NO_AUTH", Times: 1}, providers.ErrTypeAuth, "NO_AUTH"},
		{fault.Rule{BusinessError: "TRADE_ERROR", Times: 1}, providers.ErrTypeRejected, "TRADE_ERROR"},
	}
	for _, tt := range tests {
		e.faults.Set(sandbox.EndpointQueryByOutTradeNo, tt.rule)
		_, err := e.ad.QueryPayment(ctx, "ORDERFAULT00001")
		pe := requireType(t, err, tt.want)
		assert.Equal(t, tt.code, pe.Code)
	}
	// Rules with Times are used up: the next call succeeds.
	_, err = e.ad.QueryPayment(ctx, "ORDERFAULT00001")
	require.NoError(t, err)

	e.faults.Set(sandbox.EndpointRefund, fault.Rule{BusinessError: "FREQUENCY_LIMITED", Times: 1})
	_, err = e.ad.Refund(ctx, providers.RefundRequest{OutTradeNo: "ORDERFAULT00001", OutRefundNo: "RF1", Amount: cny("1.00"), Total: cny("10.00")})
	requireType(t, err, providers.ErrTypeRateLimited)
}

func TestTransportFailureIsUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	ad := e.adapter(url, testKeys(t).merchant)
	_, err := ad.QueryPayment(context.Background(), "ORDERDEAD000001")
	requireType(t, err, providers.ErrTypeUnavailable)
}

func TestCreatePaymentValidation(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	usd := money.MustParse("10.00", money.USD)
	tests := []struct {
		name   string
		mutate func(*providers.PaymentRequest)
		want   providers.ErrorType
	}{
		{"short out_trade_no", func(r *providers.PaymentRequest) { r.OutTradeNo = "A1" }, providers.ErrTypeInvalidRequest},
		{"bad charset", func(r *providers.PaymentRequest) { r.OutTradeNo = "ORDER 0001 X" }, providers.ErrTypeInvalidRequest},
		{"no subject", func(r *providers.PaymentRequest) { r.Subject = "" }, providers.ErrTypeInvalidRequest},
		{"not CNY", func(r *providers.PaymentRequest) { r.Amount = usd }, providers.ErrTypeInvalidRequest},
		{"fraction of a fen", func(r *providers.PaymentRequest) {
			a, err := money.New(decimal.RequireFromString("10.005"), money.CNY)
			require.NoError(t, err)
			r.Amount = a
		}, providers.ErrTypeInvalidRequest},
		{"zero", func(r *providers.PaymentRequest) { r.Amount = cny("0") }, providers.ErrTypeInvalidRequest},
		{"expired", func(r *providers.PaymentRequest) { r.ExpireAt = time.Now().Add(-time.Minute) }, providers.ErrTypeInvalidRequest},
		{"unknown scene", func(r *providers.PaymentRequest) { r.Scene = "app" }, providers.ErrTypeInvalidRequest},
		{"instalments", func(r *providers.PaymentRequest) {
			r.Instalments = &providers.Instalments{Count: 3, FeeBearer: providers.FeeBuyer}
		}, providers.ErrTypeNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := paymentRequest("ORDERVALID00001", "10.00", providers.SceneQR)
			tt.mutate(&req)
			_, err := e.ad.CreatePayment(ctx, req)
			requireType(t, err, tt.want)
		})
	}
	p, err := e.ad.QueryPayment(ctx, "ORDERVALID00001")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentNotFound, p.Status, "no invalid request reached WeChat Pay")
}

func TestNewValidatesConfig(t *testing.T) {
	k := testKeys(t)
	good := wechatpay.Config{
		MchID: testMchID, AppID: testAppID, MerchantPrivateKeyPEM: pkcs8PEM(t, k.merchant), MerchantSerialNo: testSerial,
		PlatformPublicKeyPEM: pkixPEM(t, &k.platform.PublicKey), PlatformPublicKeyID: testPubKeyID, APIv3Key: testAPIv3Key,
	}
	_, err := wechatpay.New(context.Background(), good)
	require.NoError(t, err)
	tests := map[string]func(*wechatpay.Config){
		"no mchid":        func(c *wechatpay.Config) { c.MchID = "" },
		"short apiv3 key": func(c *wechatpay.Config) { c.APIv3Key = "short" },
		"bad private key": func(c *wechatpay.Config) { c.MerchantPrivateKeyPEM = "not a key" },
		"public key as private": func(c *wechatpay.Config) {
			c.MerchantPrivateKeyPEM = c.PlatformPublicKeyPEM
		},
		"bad public key":    func(c *wechatpay.Config) { c.PlatformPublicKeyPEM = "" },
		"base url path":     func(c *wechatpay.Config) { c.BaseURL = "http://127.0.0.1:1/prefix" },
		"base url relative": func(c *wechatpay.Config) { c.BaseURL = "/v3" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			_, err := wechatpay.New(context.Background(), c)
			requireType(t, err, providers.ErrTypeInvalidRequest)
		})
	}
}

func TestAckNotification(t *testing.T) {
	rec := httptest.NewRecorder()
	wechatpay.AckNotification(rec)
	assert.Equal(t, http.StatusOK, rec.Code)
	var body map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "SUCCESS", body["code"])
}
