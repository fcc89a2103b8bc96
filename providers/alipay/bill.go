package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/xhspay/xhspay/providers"
)

var _ providers.BillSource = (*Adapter)(nil)

// maxBillBytes bounds a downloaded bill archive and each file in it.
const maxBillBytes = 64 << 20

// Bill detail columns the adapter reads (Alipay's trade bill, 业务明细).
const (
	colTradeNo    = "支付宝交易号"
	colOutTradeNo = "商户订单号"
	colBizType    = "业务类型"
	colFinished   = "完成时间"
	colReceived   = "商家实收（元）"
	colRefundNo   = "退款批次号/请求号"
	colFee        = "服务费（元）"
)

// Business types of the bill's rows.
const (
	bizTrade  = "交易"
	bizRefund = "退款"
)

// DownloadBill downloads the trade bill of day (a calendar day in China time)
// through alipay.data.dataservice.bill.downloadurl.query and the URL it
// answers, and parses its detail file: a zip of GBK-encoded CSV files whose
// "#" lines are comments around the table. A bill not issued yet
// (isp.bill_not_exist: Alipay issues it after the day ends) fails with
// ErrTypeUnavailable, so that callers retry later.
func (a *Adapter) DownloadBill(ctx context.Context, day time.Time) ([]providers.BillLine, error) {
	const op = "bill"
	date := day.In(cst).Format(time.DateOnly)
	rsp, err := a.client.BillDownloadURLQuery(ctx, sdk.BillDownloadURLQuery{BillType: "trade", BillDate: date})
	if err != nil {
		return nil, a.fail(callError(op, err))
	}
	if !rsp.Code.IsSuccess() {
		return nil, a.fail(businessError(op, rsp.Error))
	}
	if rsp.BillDownloadURL == "" {
		return nil, a.fail(badResponse(op, "bill_download_url is empty", nil))
	}
	data, err := a.fetchBill(ctx, rsp.BillDownloadURL)
	if err != nil {
		return nil, a.fail(err)
	}
	lines, err := parseBillZip(data)
	if err != nil {
		return nil, a.fail(badResponse(op, "bill of "+date, err))
	}
	a.log.InfoContext(ctx, "alipay bill downloaded", "bill_date", date, "lines", len(lines))
	return lines, nil
}

// fetchBill downloads the bill archive. The download URL is a signed,
// short-lived link: it needs no further authentication.
func (a *Adapter) fetchBill(ctx context.Context, url string) ([]byte, error) {
	const op = "bill"
	hc := a.cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, badResponse(op, "bill_download_url", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "bill download failed", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBillBytes+1))
	if err != nil {
		return nil, providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "bill download interrupted", err)
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusNotFound:
		// 404: the link expired before we used it; asking for a new one helps.
		return nil, providers.NewError(providerName, op, providers.ErrTypeUnavailable, fmt.Sprint(resp.StatusCode), "bill download answered "+resp.Status, nil)
	case resp.StatusCode != http.StatusOK:
		return nil, providers.NewError(providerName, op, providers.ErrTypeRejected, fmt.Sprint(resp.StatusCode), "bill download answered "+resp.Status, nil)
	case len(body) > maxBillBytes:
		return nil, badResponse(op, fmt.Sprintf("bill larger than %d bytes", maxBillBytes), nil)
	}
	return body, nil
}

// parseBillZip reads the detail file of a bill archive.
func parseBillZip(data []byte) ([]providers.BillLine, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a zip archive: %w", err)
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "_业务明细.csv") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.Name, err)
		}
		gbk, err := io.ReadAll(io.LimitReader(rc, maxBillBytes+1))
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Name, err)
		}
		if len(gbk) > maxBillBytes {
			return nil, fmt.Errorf("%s: larger than %d bytes", f.Name, maxBillBytes)
		}
		text, err := simplifiedchinese.GBK.NewDecoder().Bytes(gbk)
		if err != nil {
			return nil, fmt.Errorf("%s: not GBK text: %w", f.Name, err)
		}
		lines, err := parseBillDetail(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		return lines, nil
	}
	return nil, errors.New("the archive has no 业务明细 detail file")
}

// parseBillDetail parses the detail CSV: comment lines start with "#"; the
// first other line is the header; every field may carry a trailing tab.
func parseBillDetail(text []byte) ([]providers.BillLine, error) {
	var table bytes.Buffer
	for line := range bytes.Lines(text) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) || len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		table.Write(line)
	}
	r := csv.NewReader(&table)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("no header row")
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimSpace(name)] = i
	}
	for _, name := range []string{colTradeNo, colOutTradeNo, colBizType, colFinished, colReceived, colRefundNo, colFee} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("header lacks column %s", name)
		}
	}
	out := make([]providers.BillLine, 0, len(rows)-1)
	for n, row := range rows[1:] {
		field := func(name string) string {
			if i := col[name]; i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		line, err := billLine(field)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", n+1, err)
		}
		out = append(out, line)
	}
	return out, nil
}

// billLine reads one detail row.
func billLine(field func(string) string) (providers.BillLine, error) {
	l := providers.BillLine{TransactionID: field(colTradeNo), OutTradeNo: field(colOutTradeNo)}
	switch biz := field(colBizType); biz {
	case bizTrade:
		l.Kind = providers.BillPayment
	case bizRefund:
		l.Kind = providers.BillRefund
		l.OutRefundNo = field(colRefundNo)
	default:
		return providers.BillLine{}, fmt.Errorf("unknown %s %q", colBizType, biz)
	}
	if l.TransactionID == "" {
		return providers.BillLine{}, fmt.Errorf("%s is empty", colTradeNo)
	}
	received, err := parseCNY(field(colReceived))
	if err != nil {
		return providers.BillLine{}, fmt.Errorf("%s: %w", colReceived, err)
	}
	fee, err := parseCNY(field(colFee))
	if err != nil {
		return providers.BillLine{}, fmt.Errorf("%s: %w", colFee, err)
	}
	// The bill signs amounts from the merchant's side: a payment's receipt is
	// positive and its fee negative, a refund's the other way round.
	l.Amount, l.Fee = received, fee.Neg()
	if l.Kind == providers.BillRefund {
		l.Amount = received.Neg()
	}
	if !l.Amount.IsPositive() {
		return providers.BillLine{}, fmt.Errorf("%s %s has the wrong sign for a %s", colReceived, received, l.Kind)
	}
	if l.At, err = parseWireTime(field(colFinished)); err != nil {
		return providers.BillLine{}, fmt.Errorf("%s: %w", colFinished, err)
	}
	return l, nil
}
