package alipay

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Bill mismatch kinds for reconciliation tests.
const (
	// MismatchMissingOurs adds a paid trade that exists only in the bill.
	MismatchMissingOurs = "missing_ours"
	// MismatchMissingTheirs drops the bill's first payment row.
	MismatchMissingTheirs = "missing_theirs"
	// MismatchAmount adds 1.00 to the bill's first payment row.
	MismatchAmount = "amount"
)

// billURLLifetime is how long a bill download URL stays valid, as at Alipay.
const billURLLifetime = 30 * time.Second

// feePermille is the sandbox's service fee: 0.6% of each payment, rounded half up to the fen.
const feePermille = 6

// billFile is a generated bill waiting for download.
type billFile struct {
	name    string
	data    []byte
	expires time.Time
}

// billRow is one line of the trade bill's detail file.
type billRow struct {
	tradeNo, outTradeNo, bizType, subject string
	created, finished                     time.Time
	counterparty                          string
	orderFen, receivedFen, feeFen         int64
	refundNo                              string
}

// InjectBillMismatch makes every bill generated from now on differ from the
// sandbox's trades in one way: MismatchMissingOurs, MismatchMissingTheirs or
// MismatchAmount. Kinds accumulate until ClearBillMismatches.
func (s *Sandbox) InjectBillMismatch(kind string) error {
	switch kind {
	case MismatchMissingOurs, MismatchMissingTheirs, MismatchAmount:
	default:
		return fmt.Errorf("alipay sandbox: unknown bill mismatch kind %q (want %s, %s or %s)", kind, MismatchMissingOurs, MismatchMissingTheirs, MismatchAmount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mismatches[kind] = true
	return nil
}

// ClearBillMismatches makes bills faithful again.
func (s *Sandbox) ClearBillMismatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mismatches = map[string]bool{}
}

// serveBillMismatch is POST /sandbox/bill-mismatch {"kind": "..."}; an empty kind clears.
func (s *Sandbox) serveBillMismatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Kind string `json:"kind"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request: " + err.Error()})
		return
	}
	if in.Kind == "" {
		s.ClearBillMismatches()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := s.InjectBillMismatch(in.Kind); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiBillURL is alipay.data.dataservice.bill.downloadurl.query for bill_type
// "trade": a daily (yyyy-MM-dd) or monthly (yyyy-MM) bill, available once the
// period is over.
func (s *Sandbox) apiBillURL(req *apiRequest) result {
	now := s.now()
	billType, err1 := req.bizString("bill_type")
	billDate, err2 := req.bizString("bill_date")
	if err1 != nil || err2 != nil {
		return invalid("bill parameters: %v %v", err1, err2)
	}
	if billType != "trade" {
		return invalid("bill_type: the sandbox issues bill_type=trade only, got %q", billType)
	}
	var start, end time.Time
	var stamp string
	if d, err := time.ParseInLocation("2006-01-02", billDate, cst); err == nil {
		start, end, stamp = d, d.AddDate(0, 0, 1), d.Format("20060102")
	} else if m, err := time.ParseInLocation("2006-01", billDate, cst); err == nil {
		start, end, stamp = m, m.AddDate(0, 1, 0), m.Format("200601")
	} else {
		return invalid("bill_date must be yyyy-MM-dd or yyyy-MM: %q", billDate)
	}
	n := now.In(cst)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, cst)
	if end.After(today) {
		return failure("isp.bill_not_exist", "账单不存在: the bill of "+billDate+" is issued after the period ends", nil)
	}
	s.mu.Lock()
	rows := s.billRows(start, end, now)
	s.mu.Unlock()
	account := s.pid + "0156"
	data, err := buildBillZip(account, stamp, start, end, rows, now)
	if err != nil {
		return failure("ACQ.SYSTEM_ERROR", "bill generation failed: "+err.Error(), nil)
	}
	token := randomString(32, "0123456789abcdef")
	name := account + "_" + stamp + ".csv.zip"
	s.mu.Lock()
	for k, b := range s.bills {
		if now.After(b.expires) {
			delete(s.bills, k)
		}
	}
	s.bills[token] = &billFile{name: name, data: data, expires: now.Add(billURLLifetime)}
	s.mu.Unlock()
	q := url.Values{}
	q.Set("bizType", "trade")
	q.Set("userId", account)
	q.Set("fileType", "csv.zip")
	q.Set("bizDates", stamp)
	q.Set("downloadFileName", name)
	q.Set("fileId", "/trade/"+account+"/"+stamp+".csv.zip")
	q.Set("timestamp", strconv.FormatInt(now.UnixMilli(), 10))
	q.Set("token", token)
	return success(result{"bill_download_url": baseURL(req.r) + "/bill/download?" + q.Encode()})
}

// serveBill serves a bill file by its token.
func (s *Sandbox) serveBill(w http.ResponseWriter, r *http.Request) {
	if _, handled := s.cfg.Faults.Intercept("bill.download", w, r); handled {
		return
	}
	now := s.now()
	s.mu.Lock()
	b, ok := s.bills[r.URL.Query().Get("token")]
	s.mu.Unlock()
	if !ok || now.After(b.expires) {
		http.Error(w, "the download link is invalid or expired; query alipay.data.dataservice.bill.downloadurl.query again", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+b.name+`"`)
	_, _ = w.Write(b.data)
}

// billRows lists the payments and refunds completed in [start, end), with the
// injected mismatches applied; call with s.mu held.
func (s *Sandbox) billRows(start, end, now time.Time) []billRow {
	in := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
	var rows []billRow
	for _, t := range s.trades {
		s.refresh(t, now)
		if t.paid() && in(t.paidAt) {
			rows = append(rows, billRow{tradeNo: t.tradeNo, outTradeNo: t.outTradeNo, bizType: "交易", subject: t.subject,
				created: t.created, finished: t.paidAt, counterparty: t.buyerLogonID,
				orderFen: t.totalFen, receivedFen: t.totalFen, feeFen: -fee(t.totalFen)})
		}
		for _, no := range t.refundOrder {
			r := t.refunds[no]
			if in(r.at) {
				rows = append(rows, billRow{tradeNo: t.tradeNo, outTradeNo: t.outTradeNo, bizType: "退款", subject: t.subject,
					created: t.created, finished: r.at, counterparty: t.buyerLogonID,
					orderFen: t.totalFen, receivedFen: -r.amountFen, feeFen: fee(r.amountFen), refundNo: r.outRequestNo})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].finished.Equal(rows[j].finished) {
			return rows[i].finished.Before(rows[j].finished)
		}
		if rows[i].tradeNo != rows[j].tradeNo {
			return rows[i].tradeNo < rows[j].tradeNo
		}
		return rows[i].refundNo < rows[j].refundNo
	})
	first := -1
	for i, r := range rows {
		if r.bizType == "交易" {
			first = i
			break
		}
	}
	if s.mismatches[MismatchAmount] && first >= 0 {
		rows[first].orderFen += 100
		rows[first].receivedFen += 100
	}
	if s.mismatches[MismatchMissingTheirs] && first >= 0 {
		rows = append(rows[:first], rows[first+1:]...)
	}
	if s.mismatches[MismatchMissingOurs] {
		at := start.Add(10 * time.Hour)
		rows = append(rows, billRow{tradeNo: at.Format("20060102") + "22001999999999999999", outTradeNo: "SANDBOX_PHANTOM_" + at.Format("20060102"),
			bizType: "交易", subject: "phantom trade", created: at, finished: at, counterparty: "138****0000",
			orderFen: 6666, receivedFen: 6666, feeFen: -fee(6666)})
	}
	return rows
}

// fee is the service fee on an amount, rounded half up to the fen.
func fee(amountFen int64) int64 { return (amountFen*feePermille + 500) / 1000 }

// billHeader are the columns of Alipay's trade bill detail file (业务明细).
var billHeader = []string{"支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员", "终端号",
	"对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）", "券名称",
	"商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号", "服务费（元）", "分润（元）", "备注"}

// buildBillZip renders the detail and summary CSV files, GBK-encoded, in a zip.
func buildBillZip(account, stamp string, start, end time.Time, rows []billRow, now time.Time) ([]byte, error) {
	period := fmt.Sprintf("#起始日期：[%s]   终止日期：[%s]", start.In(cst).Format("2006年01月02日 15:04:05"), end.In(cst).Format("2006年01月02日 15:04:05"))
	exported := fmt.Sprintf("#导出时间：[%s]", now.In(cst).Format("2006年01月02日 15:04:05"))

	var detail bytes.Buffer
	line := func(b *bytes.Buffer, s string) { b.WriteString(s + "\r\n") }
	line(&detail, "#支付宝业务明细查询")
	line(&detail, "#账号：["+account+"]")
	line(&detail, period)
	line(&detail, "#-----------------------------------------业务明细列表----------------------------------------")
	cw := csv.NewWriter(&detail)
	cw.UseCRLF = true
	if err := cw.Write(billHeader); err != nil {
		return nil, err
	}
	var trades, refunds int
	var tradeReceived, refundReceived, orderTotal, received, fees int64
	for _, r := range rows {
		rec := []string{r.tradeNo, r.outTradeNo, r.bizType, r.subject, fmtTime(r.created), fmtTime(r.finished), "", "", "", "",
			r.counterparty, yuan(r.orderFen), signedYuan(r.receivedFen), "0.00", "0.00", "0.00", "0.00", "0.00", "",
			"0.00", "0.00", r.refundNo, signedYuan(r.feeFen), "0.00", ""}
		for i := range rec {
			rec[i] += "\t"
		}
		if err := cw.Write(rec); err != nil {
			return nil, err
		}
		if r.bizType == "交易" {
			trades++
			tradeReceived += r.receivedFen
			orderTotal += r.orderFen
		} else {
			refunds++
			refundReceived += r.receivedFen
		}
		received += r.receivedFen
		fees += r.feeFen
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, err
	}
	line(&detail, "#-----------------------------------------业务明细列表结束------------------------------------")
	line(&detail, fmt.Sprintf("#交易合计：%d笔，商家实收：共%s元，商家优惠：共0.00元", trades, signedYuan(tradeReceived)))
	line(&detail, fmt.Sprintf("#退款合计：%d笔，商家实收：共%s元，商家优惠：共0.00元", refunds, signedYuan(refundReceived)))
	line(&detail, exported)

	var summary bytes.Buffer
	line(&summary, "#支付宝业务汇总查询")
	line(&summary, "#账号：["+account+"]")
	line(&summary, period)
	line(&summary, "#-----------------------------------------业务汇总列表----------------------------------------")
	line(&summary, "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）")
	line(&summary, fmt.Sprintf(",合计,%d,%d,%s,%s,0.00,0.00,0.00,%s,0.00,%s", trades, refunds, yuan(orderTotal), signedYuan(received), signedYuan(fees), signedYuan(received+fees)))
	line(&summary, "#-----------------------------------------业务汇总列表结束------------------------------------")
	line(&summary, exported)

	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	enc := simplifiedchinese.GBK.NewEncoder()
	for _, f := range []struct {
		name string
		text []byte
	}{
		{account + "_" + stamp + "_业务明细.csv", detail.Bytes()},
		{account + "_" + stamp + "_业务明细(汇总).csv", summary.Bytes()},
	} {
		gbk, err := enc.Bytes(f.text)
		if err != nil {
			return nil, fmt.Errorf("encode %s as GBK: %w", f.name, err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(gbk); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// signedYuan formats fen as yuan with a leading minus for negative amounts.
func signedYuan(f int64) string {
	if f < 0 {
		return "-" + yuan(-f)
	}
	return yuan(f)
}
