package alipay

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/xhspay/xhspay/sandbox/customs"
)

// Declaration states reported by alipay.trade.customs.query ("ws", waiting to
// be sent, is not used: the sandbox sends at once). "cancelled" is the state
// of the sandbox's alipay.trade.customs.cancel extension.
const (
	declareSending   = "sending"
	declareSucceeded = "succ"
	declareCancelled = "cancelled"
)

var outRequestNoRE = regexp.MustCompile(`^[A-Za-z0-9_-]{6,64}$`)

// customsPlaces are the customs codes Alipay accepts in customs_place.
var customsPlaces = map[string]bool{
	"ZONGSHU": true, "HANGZHOU": true, "NINGBO": true, "GUANGZHOU": true, "GUANGZHOU_NS_GJ": true,
	"GUANGZHOU_HP_GJ": true, "SHENZHEN": true, "ZHENGZHOU": true, "ZHENGZHOU_BS": true, "CHONGQING": true,
	"SHANGHAI": true, "TIANJIN": true, "XIAN": true, "HEFEI": true, "XIAMEN": true, "FUZHOU": true,
	"PINGTAN": true, "SUZHOU": true, "NANJING": true, "QINGDAO": true, "WUHAN": true, "CHENGDU": true,
	"BEIJING": true, "HAIKOU": true, "DONGGUAN": true, "SHANTOU": true,
}

// declaration is one payment declaration to customs.
type declaration struct {
	outRequestNo  string
	declareNo     string
	tradeNo       string
	outTradeNo    string
	amountFen     int64
	customsPlace  string
	merchantCode  string
	merchantName  string
	isSplit       bool
	subOutBizNo   string
	buyerName     string
	buyerCertNo   string
	identityCheck string
	status        string
	memo          string
	modified      time.Time
}

// declareFields are the validated fields of one declare call.
type declareFields struct {
	outRequestNo, tradeNo, customsPlace, merchantCode, merchantName, subOutBizNo, buyerName, buyerCertNo string
	amountFen                                                                                            int64
	isSplit                                                                                              bool
}

// apiCustomsDeclare is alipay.trade.customs.declare. A new out_request_no
// declares; the same out_request_no with the same data re-pushes the record to
// customs (重推), and with corrected data modifies and re-pushes it. The
// identity check result is only returned for the first push.
func (s *Sandbox) apiCustomsDeclare(req *apiRequest) result {
	now := s.now()
	var f declareFields
	var err error
	get := func(key string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = req.bizString(key)
		return v
	}
	f.outRequestNo = get("out_request_no")
	f.tradeNo = get("trade_no")
	f.customsPlace = strings.ToUpper(get("customs_place"))
	f.merchantCode = get("merchant_customs_code")
	f.merchantName = get("merchant_customs_name")
	amountText := get("amount")
	split := get("is_split")
	f.subOutBizNo = get("sub_out_biz_no")
	if err != nil {
		return invalid("%v", err)
	}
	buyer, err := req.bizObject("buyer_info")
	if err != nil {
		return invalid("%v", err)
	}
	f.buyerName, _ = fieldString(buyer, "buyer_name")
	f.buyerCertNo, _ = fieldString(buyer, "buyer_cert_no")
	switch {
	case !outRequestNoRE.MatchString(f.outRequestNo):
		return invalid("out_request_no must be 6-64 letters, digits, '_' or '-': %q", f.outRequestNo)
	case f.tradeNo == "":
		return invalid("trade_no is required")
	case f.merchantCode == "" || f.merchantName == "":
		return invalid("merchant_customs_code and merchant_customs_name are required")
	case !customsPlaces[f.customsPlace]:
		return invalid("customs_place %q is not a customs code Alipay declares to", f.customsPlace)
	}
	if f.amountFen, err = fen(amountText); err != nil || f.amountFen < 1 {
		return invalid("amount must be a positive yuan amount: %q", amountText)
	}
	f.isSplit = strings.EqualFold(split, "T")
	if f.isSplit && f.subOutBizNo == "" {
		return invalid("sub_out_biz_no is required when is_split=T")
	}
	if !f.isSplit {
		f.subOutBizNo = ""
	}

	s.mu.Lock()
	t := s.byTradeNo[f.tradeNo]
	if t == nil || !t.visible {
		s.mu.Unlock()
		return failure("ACQ.TRADE_NOT_EXIST", "", nil)
	}
	s.refresh(t, now)
	if !t.paid() {
		s.mu.Unlock()
		return failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法: only a paid trade is declared", nil)
	}
	if f.amountFen > t.totalFen {
		s.mu.Unlock()
		return invalid("报关金额 %s exceeds the trade's total_amount %s", yuan(f.amountFen), yuan(t.totalFen))
	}
	d, exists := s.declarations[f.outRequestNo]
	if exists && d.tradeNo != f.tradeNo {
		s.mu.Unlock()
		return failure("ACQ.CONTEXT_INCONSISTENT", "out_request_no was used for another trade", nil)
	}
	answer := result{"trade_no": f.tradeNo}
	if !exists {
		d = &declaration{outRequestNo: f.outRequestNo, declareNo: fmt.Sprintf("%s%016d", now.In(cst).Format("20060102"), s.nextSeq()),
			tradeNo: f.tradeNo, outTradeNo: t.outTradeNo}
		s.declarations[f.outRequestNo] = d
		if f.buyerName != "" && t.payerName != "" {
			d.identityCheck = "F"
			if f.buyerName == t.payerName && strings.EqualFold(f.buyerCertNo, t.payerCertNo) {
				d.identityCheck = "T"
			}
			answer["identity_check"] = d.identityCheck
		}
	}
	// Every call pushes the record: a first declaration, a re-push of the same
	// data, a correction, or the revival of a cancelled declaration.
	d.amountFen, d.customsPlace, d.merchantCode, d.merchantName = f.amountFen, f.customsPlace, f.merchantCode, f.merchantName
	d.isSplit, d.subOutBizNo, d.buyerName, d.buyerCertNo = f.isSplit, f.subOutBizNo, f.buyerName, f.buyerCertNo
	d.status, d.memo, d.modified = declareSending, "", now
	answer["alipay_declare_no"] = d.declareNo
	rec := s.paymentRecord(t, d, false, now)
	s.mu.Unlock()

	s.forward(rec)
	s.mu.Lock()
	if d.status == declareSending {
		d.status = declareSucceeded
		d.modified = s.now()
	}
	s.mu.Unlock()
	return success(answer)
}

// paymentRecord is the record pushed to customs for d; call with s.mu held.
// The payer is who paid as Alipay knows them; the declared buyer stands in
// only when Alipay holds no identity for the payer.
func (s *Sandbox) paymentRecord(t *trade, d *declaration, cancelled bool, now time.Time) customs.PaymentRecord {
	orderNo := t.outTradeNo
	if d.isSplit {
		orderNo = d.subOutBizNo
	}
	name, id := t.payerName, t.payerCertNo
	if name == "" {
		name, id = d.buyerName, d.buyerCertNo
	}
	return customs.PaymentRecord{
		Provider: "alipay", OrderNo: orderNo, TransactionID: t.tradeNo, PayerName: name, PayerIDNumber: id,
		AmountFen: d.amountFen, CustomsCode: d.customsPlace, MerchantCustomsCode: d.merchantCode,
		Cancelled: cancelled, At: now,
	}
}

// forward hands a record to the customs sink, outside s.mu.
func (s *Sandbox) forward(rec customs.PaymentRecord) {
	if s.cfg.Customs == nil {
		return
	}
	s.cfg.Customs.ReceivePaymentRecord(rec)
	s.log.Info("payment record pushed to customs", "order_no", rec.OrderNo, "trade_no", rec.TransactionID, "customs", rec.CustomsCode, "cancelled", rec.Cancelled)
}

// apiCustomsQuery is alipay.trade.customs.query: out_request_nos holds up to
// 10 comma-separated numbers; unknown ones are listed in not_found.
func (s *Sandbox) apiCustomsQuery(req *apiRequest) result {
	list, err := req.bizString("out_request_nos")
	if err != nil || strings.TrimSpace(list) == "" {
		return invalid("out_request_nos is required")
	}
	nos := strings.Split(list, ",")
	if len(nos) > 10 {
		return invalid("out_request_nos holds at most 10 numbers")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var records []result
	var notFound []string
	for _, no := range nos {
		no = strings.TrimSpace(no)
		d, ok := s.declarations[no]
		if !ok {
			notFound = append(notFound, no)
			continue
		}
		rec := result{
			"out_request_no": d.outRequestNo, "alipay_declare_no": d.declareNo, "trade_no": d.tradeNo,
			"amount": yuan(d.amountFen), "customs_place": d.customsPlace, "merchant_customs_code": d.merchantCode,
			"merchant_customs_name": d.merchantName, "status": d.status, "last_modified_time": fmtTime(d.modified),
		}
		if d.memo != "" {
			rec["memo"] = d.memo
		}
		if d.isSplit {
			rec["is_split"] = "T"
			rec["sub_out_biz_no"] = d.subOutBizNo
		}
		records = append(records, rec)
	}
	out := result{}
	if len(records) > 0 {
		out["records"] = records
	}
	if len(notFound) > 0 {
		out["not_found"] = strings.Join(notFound, ",")
	}
	return success(out)
}

// apiCustomsCancel is alipay.trade.customs.cancel, a sandbox extension: Alipay
// has no API to withdraw a payment declaration. It marks the declaration
// cancelled and pushes a cancellation to customs; repeating it is harmless.
func (s *Sandbox) apiCustomsCancel(req *apiRequest) result {
	now := s.now()
	no, err := req.bizString("out_request_no")
	if err != nil || no == "" {
		return invalid("out_request_no is required")
	}
	s.mu.Lock()
	d, ok := s.declarations[no]
	if !ok {
		s.mu.Unlock()
		return failure("ACQ.CUSTOMS_DECLARE_NOT_EXIST", "", result{"out_request_no": no})
	}
	answer := success(result{"out_request_no": no, "alipay_declare_no": d.declareNo, "status": declareCancelled})
	if d.status == declareCancelled {
		s.mu.Unlock()
		return answer
	}
	d.status, d.memo, d.modified = declareCancelled, "cancelled by the merchant", now
	rec := s.paymentRecord(s.byTradeNo[d.tradeNo], d, true, now)
	s.mu.Unlock()
	s.forward(rec)
	return answer
}
