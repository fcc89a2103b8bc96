package wechatpay

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // WeChat Pay states bill hashes as SHA1.
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Bill mismatch kinds for InjectBillMismatch.
const (
	// MismatchMissingOurs adds a paid trade the merchant never created.
	MismatchMissingOurs = "missing_ours"
	// MismatchMissingTheirs leaves one of the merchant's paid trades out.
	MismatchMissingTheirs = "missing_theirs"
	// MismatchAmount raises one paid trade's amount by 0.01.
	MismatchAmount = "amount"
)

// InjectBillMismatch makes the next trade bill generated differ from the
// merchant's records: kind is MismatchMissingOurs (a trade only WeChat Pay
// has), MismatchMissingTheirs (a trade WeChat Pay lacks) or MismatchAmount
// (an amount off by one fen). Each injection affects one bill; one that needs
// a paid trade waits for a bill that has one. Unknown kinds are logged and ignored.
func (s *Sandbox) InjectBillMismatch(kind string) {
	switch kind {
	case MismatchMissingOurs, MismatchMissingTheirs, MismatchAmount:
	default:
		s.log.Warn("unknown bill mismatch kind ignored", "kind", kind)
		return
	}
	s.mu.Lock()
	s.mismatches = append(s.mismatches, kind)
	s.mu.Unlock()
}

// billHeader is the column header of an ALL/SUCCESS/REFUND trade bill.
const billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

// billSummaryHeader heads the bill's closing summary line.
const billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// feeUnitsPerFen is the fee at the sandbox rate of 0.6%: fees are in 1e-5 yuan,
// so a fen (1000 units) costs 6 units.
const feeUnitsPerFen = 6

// billRow is one line of a trade bill, amounts in fen (fee in 1e-5 yuan).
type billRow struct {
	at                                    time.Time
	txID, outTradeNo, openID, tradeType   string
	status, bankType, description, attach string
	settlement, orderAmount               int64
	refundID, outRefundNo, refundStatus   string
	refund                                int64
	fee                                   int64
}

// fields renders r as WeChat Pay does: every field prefixed with a backquote.
func (r billRow) fields(appID, mchID string) []string {
	refundType := ""
	if r.refundID != "" {
		refundType = "ORIGINAL"
	}
	refundID, outRefundNo := r.refundID, r.outRefundNo
	if refundID == "" {
		refundID, outRefundNo = "0", "0"
	}
	return []string{
		r.at.In(beijing).Format("2006-01-02 15:04:05"), appID, mchID, "0", "",
		r.txID, r.outTradeNo, r.openID, r.tradeType, r.status, r.bankType, "CNY",
		yuan(r.settlement), "0.00", refundID, outRefundNo, yuan(r.refund), "0.00",
		refundType, r.refundStatus, r.description, r.attach,
		feeYuan(r.fee), "0.60%", yuan(r.orderAmount), yuan(r.refund), "",
	}
}

// feeYuan formats 1e-5 yuan units with five decimals.
func feeYuan(units int64) string {
	sign := ""
	if units < 0 {
		sign, units = "-", -units
	}
	return fmt.Sprintf("%s%d.%05d", sign, units/100000, units%100000)
}

// backquoted joins fields as a bill line.
func backquoted(fields []string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('`')
		b.WriteString(f)
	}
	return b.String()
}

// handleTradeBill serves GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL|SUCCESS|REFUND:
// it generates the day's bill (Beijing time) and answers its download URL and SHA1.
func (s *Sandbox) handleTradeBill(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	day, err := time.ParseInLocation("2006-01-02", q.Get("bill_date"), beijing)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "bill_date is required as YYYY-MM-DD")
		return
	}
	billType := q.Get("bill_type")
	switch billType {
	case "":
		billType = "ALL"
	case "ALL", "SUCCESS", "REFUND":
	default:
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "bill_type must be ALL, SUCCESS or REFUND")
		return
	}
	if q.Get("tar_type") != "" {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "tar_type is not supported by the sandbox; omit it for a plain-text bill")
		return
	}
	if day.After(s.now().In(beijing)) {
		s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "bill_date is in the future")
		return
	}
	s.mu.Lock()
	content, ok := s.buildBill(day, billType)
	if !ok {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, "NO_STATEMENT_EXIST", "当日无交易账单")
		return
	}
	token := randAlnum(32)
	s.bills[token] = content
	s.mu.Unlock()
	sum := sha1.Sum(content) //nolint:gosec // protocol-mandated.
	s.writeJSON(w, http.StatusOK, map[string]string{
		"hash_type":    "SHA1",
		"hash_value":   hex.EncodeToString(sum[:]),
		"download_url": baseURL(r) + "/v3/billdownload/file?" + url.Values{"token": {token}}.Encode(),
	})
}

// buildBill renders the bill of day, applying pending mismatches; ok is false
// when there is nothing to bill. Call with s.mu held.
func (s *Sandbox) buildBill(day time.Time, billType string) (content []byte, ok bool) {
	end := day.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(day) && t.Before(end) }
	var rows []billRow
	for _, t := range s.trades {
		if billType != "REFUND" && in(t.paidAt) {
			rows = append(rows, billRow{
				at: t.paidAt, txID: t.transactionID, outTradeNo: t.outTradeNo, openID: t.openID,
				tradeType: t.tradeType, status: "SUCCESS", bankType: t.bankType,
				description: t.description, attach: t.attach,
				settlement: t.total, orderAmount: t.total, fee: t.total * feeUnitsPerFen,
			})
		}
		if billType == "SUCCESS" {
			continue
		}
		for _, rf := range t.refunds {
			if in(rf.created) {
				rows = append(rows, billRow{
					at: rf.created, txID: t.transactionID, outTradeNo: t.outTradeNo, openID: t.openID,
					tradeType: t.tradeType, status: "REFUND", bankType: t.bankType,
					description: t.description, attach: t.attach,
					refundID: rf.refundID, outRefundNo: rf.outRefundNo, refundStatus: rf.status,
					refund: rf.amount, fee: -rf.amount * feeUnitsPerFen,
				})
			}
		}
	}
	slices.SortFunc(rows, func(a, b billRow) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.outTradeNo+a.outRefundNo, b.outTradeNo+b.outRefundNo)
	})
	rows = s.applyMismatches(rows, day, billType)
	if len(rows) == 0 {
		return nil, false
	}
	var b bytes.Buffer
	b.WriteString(billHeader + "\n")
	var settlement, refunds, fees, orders int64
	for _, r := range rows {
		b.WriteString(backquoted(r.fields(s.cfg.AppID, s.cfg.MchID)) + "\n")
		settlement += r.settlement
		refunds += r.refund
		fees += r.fee
		orders += r.orderAmount
	}
	b.WriteString(billSummaryHeader + "\n")
	b.WriteString(backquoted([]string{
		fmt.Sprint(len(rows)), yuan(settlement), yuan(refunds), "0.00", feeYuan(fees), yuan(orders), yuan(refunds),
	}) + "\n")
	return b.Bytes(), true
}

// applyMismatches alters rows by the pending mismatches that apply to them,
// keeping the others pending. Call with s.mu held.
func (s *Sandbox) applyMismatches(rows []billRow, day time.Time, billType string) []billRow {
	paid := slices.IndexFunc(rows, func(r billRow) bool { return r.status == "SUCCESS" })
	var pending []string
	for _, kind := range s.mismatches {
		switch {
		case kind == MismatchMissingOurs && billType != "REFUND":
			total := int64(100)
			rows = append(rows, billRow{
				at: day.Add(12 * time.Hour), txID: "42000" + randDigits(5) + day.Format("20060102") + randDigits(10),
				outTradeNo: "PHANTOM" + randAlnum(12), openID: "o" + randAlnum(27), tradeType: "NATIVE",
				status: "SUCCESS", bankType: "OTHERS", description: "unknown trade",
				settlement: total, orderAmount: total, fee: total * feeUnitsPerFen,
			})
		case kind == MismatchMissingTheirs && paid >= 0:
			rows = slices.Delete(rows, paid, paid+1)
			paid = slices.IndexFunc(rows, func(r billRow) bool { return r.status == "SUCCESS" })
		case kind == MismatchAmount && paid >= 0:
			rows[paid].settlement++
			rows[paid].orderAmount++
			rows[paid].fee += feeUnitsPerFen
		default:
			pending = append(pending, kind)
			continue
		}
		s.log.Info("bill mismatch injected", "kind", kind, "bill_date", day.Format("2006-01-02"))
	}
	s.mismatches = pending
	return rows
}

// handleBillDownload serves GET /v3/billdownload/file?token=: the bill as
// text. The request is authenticated; the answer, as at WeChat Pay, is not
// signed (clients check the SHA1 from the tradebill call instead).
func (s *Sandbox) handleBillDownload(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	content, ok := s.bills[r.URL.Query().Get("token")]
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "token is unknown or expired")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(content)
}
