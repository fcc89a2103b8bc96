package alipay_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	alipaysb "github.com/xhspay/xhspay/sandbox/alipay"
)

// billLine is the part of a bill detail row the test checks.
type billLine struct {
	outTradeNo, bizType, amount, received, refundNo, fee string
}

// downloadBill fetches and parses the trade bill of date.
func (h *harness) downloadBill(date string) (lines []billLine, files []string) {
	h.t.Helper()
	rsp, err := h.client.BillDownloadURLQuery(context.Background(), sdk.BillDownloadURLQuery{BillType: "trade", BillDate: date})
	require.NoError(h.t, err)
	require.True(h.t, rsp.Code.IsSuccess(), "%+v", rsp.Error)
	resp, err := http.Get(rsp.BillDownloadURL)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	data, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(h.t, err)
	for _, f := range zr.File {
		files = append(files, f.Name)
		if !strings.HasSuffix(f.Name, "_业务明细.csv") {
			continue
		}
		rc, err := f.Open()
		require.NoError(h.t, err)
		gbk, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(h.t, err)
		text, err := simplifiedchinese.GBK.NewDecoder().Bytes(gbk)
		require.NoError(h.t, err)
		var body []string
		for _, l := range strings.Split(string(text), "\r\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				body = append(body, l)
			}
		}
		rows, err := csv.NewReader(strings.NewReader(strings.Join(body, "\n"))).ReadAll()
		require.NoError(h.t, err)
		require.NotEmpty(h.t, rows)
		assert.Equal(h.t, "支付宝交易号", rows[0][0])
		assert.Equal(h.t, "订单金额（元）", rows[0][11])
		for _, r := range rows[1:] {
			for i := range r {
				r[i] = strings.TrimSpace(r[i]) // Alipay pads fields with a tab
			}
			lines = append(lines, billLine{outTradeNo: r[1], bizType: r[2], amount: r[11], received: r[12], refundNo: r[21], fee: r[22]})
		}
	}
	return lines, files
}

func TestTradeBill(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.clock.Set(time.Date(2024, 3, 5, 14, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	for _, tr := range []struct{ no, amount string }{{"BILL_A", "100.00"}, {"BILL_B", "59.90"}} {
		h.precreate(tr.no, tr.amount, "Cream", "")
		require.NoError(t, h.sb.Pay(ctx, tr.no, alipaysb.BuyerPayment{Method: "balance"}))
		h.clock.Advance(time.Minute)
	}
	r, err := h.client.TradeRefund(ctx, sdk.TradeRefund{OutTradeNo: "BILL_A", RefundAmount: "40.00", OutRequestNo: "BILL_R1"})
	require.NoError(t, err)
	require.True(t, r.Code.IsSuccess())

	rsp, err := h.client.BillDownloadURLQuery(ctx, sdk.BillDownloadURLQuery{BillType: "trade", BillDate: "2024-03-05"})
	require.NoError(t, err)
	assert.Equal(t, "isp.bill_not_exist", rsp.SubCode, "a day's bill exists once the day is over")

	h.clock.Advance(24 * time.Hour)
	lines, files := h.downloadBill("2024-03-05")
	account := h.sb.SellerID() + "0156"
	require.ElementsMatch(t, []string{account + "_20240305_业务明细.csv", account + "_20240305_业务明细(汇总).csv"}, files)
	assert.Equal(t, []billLine{
		{"BILL_A", "交易", "100.00", "100.00", "", "-0.60"},
		{"BILL_B", "交易", "59.90", "59.90", "", "-0.36"},
		{"BILL_A", "退款", "100.00", "-40.00", "BILL_R1", "0.24"},
	}, lines)

	rsp, err = h.client.BillDownloadURLQuery(ctx, sdk.BillDownloadURLQuery{BillType: "trade", BillDate: "2024-03"})
	require.NoError(t, err)
	assert.Equal(t, "isp.bill_not_exist", rsp.SubCode, "March is not over on the sandbox clock")
	february, _ := h.downloadBill("2024-02")
	assert.Empty(t, february, "a month without trades has an empty bill")

	require.Error(t, h.sb.InjectBillMismatch("typo"))
	require.NoError(t, h.sb.InjectBillMismatch(alipaysb.MismatchAmount))
	lines, _ = h.downloadBill("2024-03-05")
	assert.Equal(t, "101.00", lines[0].amount)
	assert.Equal(t, "59.90", lines[1].amount)

	h.sb.ClearBillMismatches()
	require.NoError(t, h.sb.InjectBillMismatch(alipaysb.MismatchMissingTheirs))
	require.NoError(t, h.sb.InjectBillMismatch(alipaysb.MismatchMissingOurs))
	lines, _ = h.downloadBill("2024-03-05")
	var nos []string
	for _, l := range lines {
		nos = append(nos, l.outTradeNo+"/"+l.bizType)
	}
	assert.Equal(t, []string{"BILL_B/交易", "BILL_A/退款", "SANDBOX_PHANTOM_20240305/交易"}, nos)

	// The download link expires.
	rsp, err = h.client.BillDownloadURLQuery(ctx, sdk.BillDownloadURLQuery{BillType: "trade", BillDate: "2024-03-05"})
	require.NoError(t, err)
	h.clock.Advance(time.Minute)
	resp, err := http.Get(rsp.BillDownloadURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
