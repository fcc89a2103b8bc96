package alipay_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
	alipaysb "github.com/xhspay/xhspay/sandbox/alipay"
)

// billDay pays two trades and refunds part of one on the sandbox's day, then
// moves the sandbox clock past the day so that its bill is issued.
func billDay(t *testing.T, e *env) (day time.Time, paid map[string]providers.Payment) {
	t.Helper()
	cst := time.FixedZone("CST", 8*3600)
	now := e.clock.Now().In(cst)
	day = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
	e.clock.Advance(day.Add(10 * time.Hour).Sub(e.clock.Now()))
	paid = map[string]providers.Payment{}
	for no, amount := range map[string]string{"BILL_A": "109.10", "BILL_B": "66.60"} {
		n := e.paid(no, amount)
		paid[no] = *n.Payment
	}
	_, err := e.adapter.Refund(context.Background(), providers.RefundRequest{OutTradeNo: "BILL_A", OutRefundNo: "BILL_A_R1",
		Amount: cny("30.00"), Total: cny("109.10"), Reason: "partial return"})
	require.NoError(t, err)
	return day, paid
}

func TestDownloadBill(t *testing.T) {
	e := newEnv(t)
	day, paid := billDay(t, e)
	ctx := context.Background()

	_, err := e.adapter.DownloadBill(ctx, day)
	requireType(t, err, providers.ErrTypeUnavailable) // the day is not over yet: isp.bill_not_exist

	e.clock.Advance(24 * time.Hour)
	lines, err := e.adapter.DownloadBill(ctx, day)
	require.NoError(t, err)
	require.Len(t, lines, 3)
	byKey := map[string]providers.BillLine{}
	for _, l := range lines {
		byKey[string(l.Kind)+" "+l.OutTradeNo] = l
		assert.Equal(t, day.Format(time.DateOnly), l.At.In(day.Location()).Format(time.DateOnly))
	}
	a := byKey["payment BILL_A"]
	assert.Equal(t, paid["BILL_A"].TransactionID, a.TransactionID)
	assert.Equal(t, "109.10 CNY", a.Amount.String())
	assert.Equal(t, "0.65 CNY", a.Fee.String(), "0.6% of 109.10, rounded half up, charged")
	b := byKey["payment BILL_B"]
	assert.Equal(t, paid["BILL_B"].TransactionID, b.TransactionID)
	assert.Equal(t, "66.60 CNY", b.Amount.String())
	r := byKey["refund BILL_A"]
	assert.Equal(t, paid["BILL_A"].TransactionID, r.TransactionID)
	assert.Equal(t, "BILL_A_R1", r.OutRefundNo)
	assert.Equal(t, "30.00 CNY", r.Amount.String())
	assert.Equal(t, "-0.18 CNY", r.Fee.String(), "the fee on a refund is given back")

	none, err := e.adapter.DownloadBill(ctx, day.AddDate(0, 0, -1))
	require.NoError(t, err)
	assert.Empty(t, none, "a day without trades has an empty bill")
}

func TestDownloadBillShowsInjectedMismatches(t *testing.T) {
	e := newEnv(t)
	day, paid := billDay(t, e)
	e.clock.Advance(24 * time.Hour)
	require.NoError(t, e.sb.InjectBillMismatch(alipaysb.MismatchAmount))
	require.NoError(t, e.sb.InjectBillMismatch(alipaysb.MismatchMissingOurs))
	lines, err := e.adapter.DownloadBill(context.Background(), day)
	require.NoError(t, err)
	var phantom, raised int
	for _, l := range lines {
		switch {
		case l.TransactionID != paid["BILL_A"].TransactionID && l.TransactionID != paid["BILL_B"].TransactionID:
			phantom++
		case l.Kind == providers.BillPayment && (l.Amount.String() == "110.10 CNY" || l.Amount.String() == "67.60 CNY"):
			raised++
		}
	}
	assert.Equal(t, 1, phantom, "a trade only the bill has")
	assert.Equal(t, 1, raised, "one payment 1.00 more")
}
