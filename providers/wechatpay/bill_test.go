package wechatpay_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
	sandbox "github.com/xhspay/xhspay/sandbox/wechatpay"
)

var cst = time.FixedZone("CST", 8*3600)

// billDay puts the sandbox clock early in today (China time), so that the
// trades of the test, whose expiries the adapter checks on the real clock,
// all fall on one day, and returns the day.
func (e *env) billDay() time.Time {
	n := time.Now().In(cst)
	day := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, cst)
	e.clock.Advance(day.Add(10 * time.Minute).Sub(e.clock.Now()))
	return day
}

func TestDownloadBill(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	day := e.billDay()
	a := e.createAndPay("BILLTRADE0001", "109.10", false)
	b := e.createAndPay("BILLTRADE0002", "66.60", false)
	_, err := e.ad.Refund(ctx, providers.RefundRequest{OutTradeNo: "BILLTRADE0001", OutRefundNo: "BILLREFUND01",
		Amount: cny("30.00"), Total: cny("109.10"), Reason: "partial return"})
	require.NoError(t, err)
	require.Equal(t, providers.NotifyRefund, e.nextNote().Kind)

	lines, err := e.ad.DownloadBill(ctx, day)
	require.NoError(t, err)
	require.Len(t, lines, 3)
	byKey := map[string]providers.BillLine{}
	for _, l := range lines {
		byKey[string(l.Kind)+" "+l.OutTradeNo] = l
		assert.Equal(t, day.Format(time.DateOnly), l.At.In(cst).Format(time.DateOnly))
	}
	pa := byKey["payment BILLTRADE0001"]
	assert.Equal(t, a.Payment.TransactionID, pa.TransactionID)
	assert.Equal(t, "109.10 CNY", pa.Amount.String())
	assert.Equal(t, "0.65 CNY", pa.Fee.String(), "0.6% of 109.10 = 0.65460, half up to the fen")
	assert.Equal(t, b.Payment.TransactionID, byKey["payment BILLTRADE0002"].TransactionID)
	r := byKey["refund BILLTRADE0001"]
	assert.Equal(t, a.Payment.TransactionID, r.TransactionID)
	assert.Equal(t, "BILLREFUND01", r.OutRefundNo)
	assert.Equal(t, "30.00 CNY", r.Amount.String())
	assert.Equal(t, "-0.18 CNY", r.Fee.String())

	none, err := e.ad.DownloadBill(ctx, day.AddDate(0, 0, -3))
	require.NoError(t, err, "NO_STATEMENT_EXIST is an empty bill")
	assert.Empty(t, none)

	_, err = e.ad.DownloadBill(ctx, day.AddDate(0, 0, 2))
	requireType(t, err, providers.ErrTypeInvalidRequest) // a future day
}

func TestDownloadBillShowsInjectedMismatch(t *testing.T) {
	e := newEnv(t, nil)
	day := e.billDay()
	paid := e.createAndPay("BILLTRADE0003", "20.00", false)
	e.sb.InjectBillMismatch(sandbox.MismatchMissingTheirs)
	lines, err := e.ad.DownloadBill(context.Background(), day)
	require.NoError(t, err, "a bill left with no line is empty, not an error")
	for _, l := range lines {
		assert.NotEqual(t, paid.Payment.TransactionID, l.TransactionID)
	}
	e.sb.InjectBillMismatch(sandbox.MismatchMissingOurs)
	lines, err = e.ad.DownloadBill(context.Background(), day)
	require.NoError(t, err)
	require.Len(t, lines, 2, "our trade and a phantom one")
}
