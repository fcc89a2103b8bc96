package alipay_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
	alipaysb "github.com/xhspay/xhspay/sandbox/alipay"
)

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

func TestQRPaymentWithBalance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := e.payReq("QR_BALANCE_1", "199.00")

	s, err := e.adapter.CreatePayment(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "QR_BALANCE_1", s.OutTradeNo)
	require.True(t, strings.HasPrefix(s.QRCode, e.srv.URL+"/qr/"), s.QRCode)

	again, err := e.adapter.CreatePayment(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, s.QRCode, again.QRCode, "creating the same trade again answers the same QR code")

	p, err := e.adapter.QueryPayment(ctx, "QR_BALANCE_1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentNotFound, p.Status, "Alipay does not know a precreated trade before the scan")

	page := get(t, s.QRCode) // the buyer scans
	assert.Contains(t, page, "199.00")
	p, err = e.adapter.QueryPayment(ctx, "QR_BALANCE_1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPending, p.Status)
	assert.NotEmpty(t, p.TransactionID)
	assert.True(t, cny("199.00").Equal(p.Amount))

	require.NoError(t, e.sb.Pay(ctx, "QR_BALANCE_1", alipaysb.BuyerPayment{Method: "balance", BuyerLogonID: "13800138000"}))
	n := e.next()
	require.NoError(t, n.err)
	assert.NotEmpty(t, n.n.ID)
	assert.Equal(t, providers.Alipay, n.n.Provider)
	require.Equal(t, providers.NotifyPayment, n.n.Kind)
	assert.Equal(t, providers.PaymentPaid, n.n.Payment.Status)
	assert.Equal(t, "QR_BALANCE_1", n.n.Payment.OutTradeNo)
	assert.Equal(t, p.TransactionID, n.n.Payment.TransactionID)
	assert.True(t, cny("199.00").Equal(n.n.Payment.Amount))
	assert.False(t, n.n.Payment.PaidAt.IsZero())
	assert.False(t, n.n.SentAt.IsZero())

	p, err = e.adapter.QueryPayment(ctx, "QR_BALANCE_1")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPaid, p.Status)
	assert.Equal(t, "138****8000", p.PayerAccount)
	assert.Zero(t, p.Instalments)
	assert.WithinDuration(t, e.clock.Now(), p.PaidAt, time.Second)

	_, err = e.adapter.CreatePayment(ctx, req)
	requireType(t, err, providers.ErrTypeTradePaid)
}

func TestPagePaymentWithHuabeiInstalments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := e.payReq("PAGE_HUABEI_6", "600.00")
	req.Scene = providers.ScenePage
	req.Instalments = &providers.Instalments{Count: 6, FeeBearer: providers.FeeSeller}
	req.Payer = providers.Identity{Name: "张三", IDNumber: "11010519491231002X"}

	s, err := e.adapter.CreatePayment(ctx, req)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(s.PayURL, e.srv.URL+"/gateway.do?"), s.PayURL)
	assert.Empty(t, s.QRCode)

	p, err := e.adapter.QueryPayment(ctx, "PAGE_HUABEI_6")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentNotFound, p.Status, "the trade exists once the buyer opens the cashier")

	page := get(t, s.PayURL)
	assert.Contains(t, page, "600.00")
	assert.Contains(t, page, "6 期")

	err = e.sb.Pay(ctx, "PAGE_HUABEI_6", alipaysb.BuyerPayment{Method: "huabei", Instalments: 3})
	require.ErrorIs(t, err, alipaysb.ErrInvalidPayment, "the merchant fixed 6 instalments")
	err = e.sb.Pay(ctx, "PAGE_HUABEI_6", alipaysb.BuyerPayment{Method: "huabei", Instalments: 6, PayerName: "李四", PayerIDNumber: "110105194912310029"})
	require.ErrorIs(t, err, alipaysb.ErrIdentityMismatch, "ext_user_info makes Alipay refuse another payer")
	require.NoError(t, e.sb.Pay(ctx, "PAGE_HUABEI_6", alipaysb.BuyerPayment{Method: "huabei", Instalments: 6, BuyerLogonID: "buyer@example.com"}))

	n := e.next()
	require.NoError(t, n.err)
	require.Equal(t, providers.NotifyPayment, n.n.Kind)
	assert.Equal(t, providers.PaymentPaid, n.n.Payment.Status)
	assert.Equal(t, 6, n.n.Payment.Instalments)
	assert.Equal(t, "bu***@example.com", n.n.Payment.PayerAccount)

	p, err = e.adapter.QueryPayment(ctx, "PAGE_HUABEI_6")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPaid, p.Status)
	assert.Equal(t, 6, p.Instalments)
}

func TestCreateRepeatedWithAnotherAmountIsDuplicate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.adapter.CreatePayment(ctx, e.payReq("DUP_AMOUNT", "10.00"))
	require.NoError(t, err)
	_, err = e.adapter.CreatePayment(ctx, e.payReq("DUP_AMOUNT", "10.01"))
	pe := requireType(t, err, providers.ErrTypeDuplicateRequest)
	assert.Equal(t, "ACQ.CONTEXT_INCONSISTENT", pe.Code)
}

func TestRefunds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paid := e.paid("REFUND_TRADE", "100.00")

	r1, err := e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "REFUND_TRADE", OutRefundNo: "R1", Amount: cny("30.00"), Total: cny("100.00"), Reason: "size too small"})
	require.NoError(t, err)
	assert.Equal(t, providers.RefundSucceeded, r1.Status)
	assert.True(t, cny("30.00").Equal(r1.Amount))
	assert.False(t, r1.RefundedAt.IsZero())
	n := e.next()
	require.NoError(t, n.err)
	require.Equal(t, providers.NotifyRefund, n.n.Kind)
	assert.Equal(t, "R1", n.n.Refund.OutRefundNo)
	assert.Equal(t, providers.RefundSucceeded, n.n.Refund.Status)
	assert.True(t, cny("30.00").Equal(n.n.Refund.Amount))
	assert.NotEqual(t, paid.ID, n.n.ID)

	r2, err := e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "REFUND_TRADE", TransactionID: paid.Payment.TransactionID, OutRefundNo: "R2", Amount: cny("50.00")})
	require.NoError(t, err)
	assert.Equal(t, providers.RefundSucceeded, r2.Status)
	require.NoError(t, e.next().err)

	// The same OutRefundNo again is the same refund: no money moves.
	again, err := e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "REFUND_TRADE", OutRefundNo: "R1", Amount: cny("30.00")})
	require.NoError(t, err)
	assert.Equal(t, providers.RefundSucceeded, again.Status)
	assert.True(t, cny("30.00").Equal(again.Amount))
	e.none(50 * time.Millisecond)

	_, err = e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "REFUND_TRADE", OutRefundNo: "R1", Amount: cny("40.00")})
	requireType(t, err, providers.ErrTypeDuplicateRequest)

	// 80.00 refunded: 30.00 more exceeds the 100.00 captured.
	_, err = e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "REFUND_TRADE", OutRefundNo: "R3", Amount: cny("30.00")})
	pe := requireType(t, err, providers.ErrTypeRefundExceeded)
	assert.Equal(t, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", pe.Code)

	q, err := e.adapter.QueryRefund(ctx, "REFUND_TRADE", "R2")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundSucceeded, q.Status)
	assert.True(t, cny("50.00").Equal(q.Amount))
	assert.False(t, q.RefundedAt.IsZero())
	q, err = e.adapter.QueryRefund(ctx, "REFUND_TRADE", "R3")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundNotFound, q.Status)
	q, err = e.adapter.QueryRefund(ctx, "NO_SUCH_TRADE", "R1")
	require.NoError(t, err)
	assert.Equal(t, providers.RefundNotFound, q.Status)

	p, err := e.adapter.QueryPayment(ctx, "REFUND_TRADE")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentPaid, p.Status, "a partly refunded trade stays paid")

	// Refunding the rest closes the trade.
	_, err = e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "REFUND_TRADE", OutRefundNo: "R4", Amount: cny("20.00")})
	require.NoError(t, err)
	require.NoError(t, e.next().err)
	p, err = e.adapter.QueryPayment(ctx, "REFUND_TRADE")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentClosed, p.Status)
	_, err = e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "REFUND_TRADE", OutRefundNo: "R5", Amount: cny("0.01")})
	requireType(t, err, providers.ErrTypeTradeClosed)
}

func TestRefundOfUnknownOrUnpaidTrade(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "NEVER_CREATED", OutRefundNo: "R1", Amount: cny("1.00")})
	requireType(t, err, providers.ErrTypeTradeNotFound)

	s, err := e.adapter.CreatePayment(ctx, e.payReq("UNPAID_REFUND", "5.00"))
	require.NoError(t, err)
	get(t, s.QRCode)
	_, err = e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "UNPAID_REFUND", OutRefundNo: "R1", Amount: cny("1.00")})
	requireType(t, err, providers.ErrTypeRejected)
}

func TestClose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	// Never scanned: Alipay says TRADE_NOT_EXIST, which is a successful close.
	_, err := e.adapter.CreatePayment(ctx, e.payReq("CLOSE_UNSCANNED", "10.00"))
	require.NoError(t, err)
	require.NoError(t, e.adapter.ClosePayment(ctx, "CLOSE_UNSCANNED"))

	// Scanned, unpaid: closes, and Alipay notifies TRADE_CLOSED.
	s, err := e.adapter.CreatePayment(ctx, e.payReq("CLOSE_UNPAID", "10.00"))
	require.NoError(t, err)
	get(t, s.QRCode)
	require.NoError(t, e.adapter.ClosePayment(ctx, "CLOSE_UNPAID"))
	n := e.next()
	require.NoError(t, n.err)
	assert.Equal(t, providers.PaymentClosed, n.n.Payment.Status)
	p, err := e.adapter.QueryPayment(ctx, "CLOSE_UNPAID")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentClosed, p.Status)
	require.NoError(t, e.adapter.ClosePayment(ctx, "CLOSE_UNPAID"), "closing again is harmless")
	require.ErrorIs(t, e.sb.Pay(ctx, "CLOSE_UNPAID", alipaysb.BuyerPayment{Method: "balance"}), alipaysb.ErrTradeClosed)

	// Paid: refused as paid.
	e.paid("CLOSE_PAID", "10.00")
	err = e.adapter.ClosePayment(ctx, "CLOSE_PAID")
	requireType(t, err, providers.ErrTypeTradePaid)
}

func TestExpiredTradeCloses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := e.payReq("EXPIRES", "10.00")
	req.ExpireAt = e.clock.Now().Add(10 * time.Minute)
	s, err := e.adapter.CreatePayment(ctx, req)
	require.NoError(t, err)
	get(t, s.QRCode)
	e.clock.Advance(11 * time.Minute)
	p, err := e.adapter.QueryPayment(ctx, "EXPIRES")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentClosed, p.Status)
	n := e.next()
	require.NoError(t, n.err)
	assert.Equal(t, providers.PaymentClosed, n.n.Payment.Status)
	require.ErrorIs(t, e.sb.Pay(ctx, "EXPIRES", alipaysb.BuyerPayment{Method: "balance"}), alipaysb.ErrTradeClosed)
}

func TestHoldAndRelease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paid := e.paid("HELD", "300.00", func(r *providers.PaymentRequest) { r.Hold = true })
	tradeNo := paid.Payment.TransactionID

	h, err := e.adapter.HoldFunds(ctx, providers.HoldRequest{OutTradeNo: "HELD", TransactionID: tradeNo, OutRequestNo: "HOLD1", Amount: cny("300.00")})
	require.NoError(t, err)
	assert.Equal(t, providers.HoldHeld, h.Status)
	assert.Equal(t, "HOLD1", h.OutRequestNo)

	// A refund while held comes out of the held funds.
	_, err = e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "HELD", OutRefundNo: "R1", Amount: cny("100.00")})
	require.NoError(t, err)
	require.NoError(t, e.next().err)

	_, err = e.adapter.ReleaseFunds(ctx, providers.HoldRequest{OutTradeNo: "HELD", TransactionID: tradeNo, OutRequestNo: "REL1", Amount: cny("300.00")})
	requireType(t, err, providers.ErrTypeInvalidRequest)

	rel, err := e.adapter.ReleaseFunds(ctx, providers.HoldRequest{OutTradeNo: "HELD", OutRequestNo: "REL2", Amount: cny("200.00")})
	require.NoError(t, err)
	assert.Equal(t, providers.HoldReleased, rel.Status)
	assert.Equal(t, tradeNo, rel.HoldID)
	rel, err = e.adapter.ReleaseFunds(ctx, providers.HoldRequest{OutTradeNo: "HELD", TransactionID: tradeNo, OutRequestNo: "REL2", Amount: cny("200.00")})
	require.NoError(t, err, "releasing again with the same number is the same release")
	assert.Equal(t, providers.HoldReleased, rel.Status)

	_, err = e.adapter.HoldFunds(ctx, providers.HoldRequest{OutTradeNo: "HELD", TransactionID: tradeNo, OutRequestNo: "HOLD2", Amount: cny("200.00")})
	requireType(t, err, providers.ErrTypeRejected)

	// A trade created without Hold cannot be held after payment.
	plain := e.paid("NOT_HELD", "50.00")
	_, err = e.adapter.HoldFunds(ctx, providers.HoldRequest{OutTradeNo: "NOT_HELD", TransactionID: plain.Payment.TransactionID, OutRequestNo: "HOLD3", Amount: cny("50.00")})
	requireType(t, err, providers.ErrTypeInvalidRequest)
	_, err = e.adapter.ReleaseFunds(ctx, providers.HoldRequest{OutTradeNo: "NOT_HELD", TransactionID: plain.Payment.TransactionID, OutRequestNo: "REL3", Amount: cny("50.00")})
	requireType(t, err, providers.ErrTypeRejected)

	_, err = e.adapter.HoldFunds(ctx, providers.HoldRequest{OutTradeNo: "NO_SUCH", OutRequestNo: "HOLD4", Amount: cny("1.00")})
	requireType(t, err, providers.ErrTypeTradeNotFound)
}

func TestHeldFundsSettleWhenThePeriodEnds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.adapter = e.newAdapter(alipayConfig(t, 7))
	paid := e.paid("AUTO_SETTLE", "80.00", func(r *providers.PaymentRequest) { r.Hold = true })
	e.clock.Advance(7*24*time.Hour + time.Minute)
	_, err := e.adapter.HoldFunds(ctx, providers.HoldRequest{OutTradeNo: "AUTO_SETTLE", TransactionID: paid.Payment.TransactionID, OutRequestNo: "HOLD", Amount: cny("80.00")})
	requireType(t, err, providers.ErrTypeRejected)
	rel, err := e.adapter.ReleaseFunds(ctx, providers.HoldRequest{OutTradeNo: "AUTO_SETTLE", TransactionID: paid.Payment.TransactionID, OutRequestNo: "REL", Amount: cny("80.00")})
	require.NoError(t, err, "Alipay already settled: the release is done")
	assert.Equal(t, providers.HoldReleased, rel.Status)
}

func TestCustomsDeclaration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	buyer := providers.Identity{Name: "王五", IDNumber: "330106199001011234"}
	paid := e.paid("CUSTOMS_TRADE", "258.00", func(r *providers.PaymentRequest) { r.Payer = buyer })
	decl := providers.DeclarationRequest{
		OutRequestNo: "DECLARE_0001", OrderNo: "ORDER-20240101-0001", OutTradeNo: "CUSTOMS_TRADE",
		TransactionID: paid.Payment.TransactionID, Payer: buyer, Amount: cny("258.00"),
		CustomsCode: "hangzhou", MerchantCustomsCode: "3301960001", MerchantCustomsName: "Brand CBEC Store",
	}

	d, err := e.adapter.Declare(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationProcessing, d.Status)
	assert.NotEmpty(t, d.DeclarationID)
	assert.Empty(t, d.Reason)

	recs := e.sink.all()
	require.Len(t, recs, 1)
	assert.Equal(t, "alipay", recs[0].Provider)
	assert.Equal(t, "ORDER-20240101-0001", recs[0].OrderNo)
	assert.Equal(t, paid.Payment.TransactionID, recs[0].TransactionID)
	assert.Equal(t, "王五", recs[0].PayerName)
	assert.Equal(t, "330106199001011234", recs[0].PayerIDNumber)
	assert.Equal(t, int64(25800), recs[0].AmountFen)
	assert.Equal(t, "HANGZHOU", recs[0].CustomsCode)
	assert.Equal(t, "3301960001", recs[0].MerchantCustomsCode)
	assert.False(t, recs[0].Cancelled)

	q, err := e.adapter.QueryDeclaration(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationSucceeded, q.Status)
	assert.Equal(t, d.DeclarationID, q.DeclarationID)

	decl.MerchantCustomsCode = "3301960002"
	r, err := e.adapter.Redeclare(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, d.DeclarationID, r.DeclarationID, "a re-push keeps the declaration")
	recs = e.sink.all()
	require.Len(t, recs, 2)
	assert.Equal(t, "3301960002", recs[1].MerchantCustomsCode)

	c, err := e.adapter.CancelDeclaration(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationCancelled, c.Status)
	recs = e.sink.all()
	require.Len(t, recs, 3)
	assert.True(t, recs[2].Cancelled)
	assert.Equal(t, "ORDER-20240101-0001", recs[2].OrderNo)
	q, err = e.adapter.QueryDeclaration(ctx, decl)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationCancelled, q.Status)

	unknown := decl
	unknown.OutRequestNo = "DECLARE_9999"
	q, err = e.adapter.QueryDeclaration(ctx, unknown)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationNotFound, q.Status)
	c, err = e.adapter.CancelDeclaration(ctx, unknown)
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationNotFound, c.Status)

	// A declared buyer other than the payer is flagged.
	other := decl
	other.OutRequestNo = "DECLARE_0002"
	other.Payer = providers.Identity{Name: "赵六", IDNumber: "330106199001015678"}
	d, err = e.adapter.Declare(ctx, other)
	require.NoError(t, err)
	assert.Contains(t, d.Reason, "identity_check=F")

	// Declaring more than the payment is refused.
	over := decl
	over.OutRequestNo = "DECLARE_0003"
	over.Amount = cny("258.01")
	_, err = e.adapter.Declare(ctx, over)
	requireType(t, err, providers.ErrTypeInvalidRequest)
}

func TestTradeFinishesAfterTheRefundPeriod(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.paid("FINISHES", "20.00")
	e.clock.Advance(91 * 24 * time.Hour)
	p, err := e.adapter.QueryPayment(ctx, "FINISHES")
	require.NoError(t, err)
	assert.Equal(t, providers.PaymentFinished, p.Status)
	n := e.next()
	require.NoError(t, n.err)
	assert.Equal(t, providers.PaymentFinished, n.n.Payment.Status)
	_, err = e.adapter.Refund(ctx, providers.RefundRequest{OutTradeNo: "FINISHES", OutRefundNo: "R1", Amount: cny("1.00")})
	pe := requireType(t, err, providers.ErrTypeTradeClosed)
	assert.Equal(t, "ACQ.TRADE_HAS_FINISHED", pe.Code)
	requireType(t, e.adapter.ClosePayment(ctx, "FINISHES"), providers.ErrTypeTradePaid)
}
