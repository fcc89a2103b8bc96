package wechatpay

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // WeChat Pay states bill hashes as SHA1; it checks integrity, not authenticity.
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

var _ providers.BillSource = (*Adapter)(nil)

const (
	opBill        = "bill"
	tradeBillPath = "/v3/bill/tradebill"
	// maxBillBytes bounds a downloaded bill.
	maxBillBytes = 64 << 20
)

// Columns of the trade bill the adapter reads.
const (
	billColTime        = "交易时间"
	billColTxID        = "微信订单号"
	billColOutTradeNo  = "商户订单号"
	billColStatus      = "交易状态"
	billColSettlement  = "应结订单金额"
	billColOutRefundNo = "商户退款单号"
	billColRefund      = "退款金额"
	billColFee         = "手续费"
)

// billSummaryStart starts the header of the bill's closing summary.
const billSummaryStart = "总交易单数"

// tradeBill is the answer of GET /v3/bill/tradebill.
type tradeBill struct {
	HashType    string `json:"hash_type"`
	HashValue   string `json:"hash_value"`
	DownloadURL string `json:"download_url"`
}

// DownloadBill downloads the trade bill (bill_type ALL) of day, a calendar
// day in China time: GET /v3/bill/tradebill answers a download URL and the
// file's SHA1; the file itself is not signed by WeChat Pay, so it is fetched
// through a client whose response validator accepts it unsigned, and checked
// against that SHA1 instead. A day without trades (NO_STATEMENT_EXIST) has
// no lines.
func (a *Adapter) DownloadBill(ctx context.Context, day time.Time) ([]providers.BillLine, error) {
	date := day.In(beijing).Format(time.DateOnly)
	q := url.Values{"bill_date": {date}, "bill_type": {"ALL"}}
	res, err := a.client.Get(ctx, consts.WechatPayAPIServer+tradeBillPath+"?"+q.Encode())
	if err != nil {
		var ae *core.APIError
		if errors.As(err, &ae) && ae.Code == "NO_STATEMENT_EXIST" {
			return nil, nil
		}
		return nil, classify(opBill, err)
	}
	var tb tradeBill
	if err := core.UnMarshalResponse(res.Response, &tb); err != nil {
		return nil, providers.NewError(providerName, opBill, providers.ErrTypeUnavailable, "", "unreadable tradebill answer", err)
	}
	if tb.DownloadURL == "" || !strings.EqualFold(tb.HashType, "SHA1") || tb.HashValue == "" {
		return nil, providers.NewError(providerName, opBill, providers.ErrTypeUnavailable, "",
			fmt.Sprintf("tradebill answer lacks a download URL or a SHA1 (hash_type %q)", tb.HashType), nil)
	}
	unsigned := core.NewClientWithValidator(a.client, &validators.NullValidator{})
	file, err := unsigned.Get(ctx, tb.DownloadURL)
	if err != nil {
		return nil, classify(opBill, err)
	}
	defer file.Response.Body.Close()
	content, err := io.ReadAll(io.LimitReader(file.Response.Body, maxBillBytes+1))
	if err != nil {
		return nil, classify(opBill, err)
	}
	if len(content) > maxBillBytes {
		return nil, providers.NewError(providerName, opBill, providers.ErrTypeUnavailable, "", fmt.Sprintf("bill larger than %d bytes", maxBillBytes), nil)
	}
	sum := sha1.Sum(content) //nolint:gosec // protocol-mandated
	if !strings.EqualFold(hex.EncodeToString(sum[:]), tb.HashValue) {
		return nil, providers.NewError(providerName, opBill, providers.ErrTypeSignature, "", "the bill does not match the SHA1 of the tradebill answer", nil)
	}
	lines, err := parseTradeBill(content)
	if err != nil {
		return nil, providers.NewError(providerName, opBill, providers.ErrTypeUnavailable, "", "unreadable bill of "+date, err)
	}
	a.log.InfoContext(ctx, "wechatpay bill downloaded", "bill_date", date, "lines", len(lines))
	return lines, nil
}

// parseTradeBill parses a trade bill: a header line, one line per payment or
// refund whose fields each start with a backquote, then the summary.
func parseTradeBill(content []byte) ([]providers.BillLine, error) {
	content = bytes.TrimPrefix(content, []byte("\ufeff"))
	var (
		col  map[string]int
		out  []providers.BillLine
		rows int
	)
	for raw := range strings.Lines(string(content)) {
		line := strings.TrimRight(raw, "\r\n")
		switch {
		case line == "":
			continue
		case col == nil:
			col = map[string]int{}
			for i, name := range strings.Split(line, ",") {
				col[strings.TrimSpace(name)] = i
			}
			for _, name := range []string{billColTime, billColTxID, billColOutTradeNo, billColStatus,
				billColSettlement, billColOutRefundNo, billColRefund, billColFee} {
				if _, ok := col[name]; !ok {
					return nil, fmt.Errorf("header lacks column %s", name)
				}
			}
			continue
		case strings.HasPrefix(line, billSummaryStart):
			if col == nil {
				return nil, errors.New("no header line")
			}
			return out, nil
		}
		rows++
		fields := strings.Split(strings.TrimPrefix(line, "`"), ",`")
		field := func(name string) string {
			if i := col[name]; i < len(fields) {
				return strings.TrimSpace(fields[i])
			}
			return ""
		}
		l, err := tradeBillLine(field)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", rows, err)
		}
		out = append(out, l)
	}
	if col == nil {
		return nil, errors.New("no header line")
	}
	return nil, errors.New("no summary: the bill is truncated")
}

// tradeBillLine reads one row.
func tradeBillLine(field func(string) string) (providers.BillLine, error) {
	l := providers.BillLine{TransactionID: field(billColTxID), OutTradeNo: field(billColOutTradeNo)}
	if l.TransactionID == "" {
		return providers.BillLine{}, fmt.Errorf("%s is empty", billColTxID)
	}
	amountCol := billColSettlement
	switch status := field(billColStatus); status {
	case "SUCCESS":
		l.Kind = providers.BillPayment
	case "REFUND", "REVOKED":
		l.Kind, amountCol = providers.BillRefund, billColRefund
		l.OutRefundNo = field(billColOutRefundNo)
	default:
		return providers.BillLine{}, fmt.Errorf("unknown %s %q", billColStatus, status)
	}
	var err error
	if l.Amount, err = money.Parse(field(amountCol), money.CNY); err != nil {
		return providers.BillLine{}, fmt.Errorf("%s: %w", amountCol, err)
	}
	if !l.Amount.IsPositive() {
		return providers.BillLine{}, fmt.Errorf("%s must be positive, got %s", amountCol, l.Amount)
	}
	// Fees have five decimals (1/1000 fen): round them half up to the fen.
	fee, err := decimal.NewFromString(field(billColFee))
	if err != nil {
		return providers.BillLine{}, fmt.Errorf("%s: %w", billColFee, err)
	}
	if l.Fee, err = money.New(fee, money.CNY); err == nil {
		l.Fee, err = l.Fee.Round(money.HalfUp)
	}
	if err != nil {
		return providers.BillLine{}, fmt.Errorf("%s: %w", billColFee, err)
	}
	if l.At, err = time.ParseInLocation(time.DateTime, field(billColTime), beijing); err != nil {
		return providers.BillLine{}, fmt.Errorf("%s: %w", billColTime, err)
	}
	return l, nil
}
