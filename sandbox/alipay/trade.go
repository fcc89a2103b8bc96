package alipay

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xhspay/xhspay/money"
)

// Trade states, as Alipay names them.
const (
	statusWaitBuyerPay = "WAIT_BUYER_PAY"
	statusSuccess      = "TRADE_SUCCESS"
	statusClosed       = "TRADE_CLOSED"
	statusFinished     = "TRADE_FINISHED"
)

const (
	productFaceToFace = "FACE_TO_FACE_PAYMENT"
	maxTotalFen       = 100_000_000_00
	defaultExpiry     = 15 * 24 * time.Hour
	defaultSettleDays = 90
)

var outTradeNoRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// trade is one trade at the sandbox.
type trade struct {
	outTradeNo string
	tradeNo    string
	subject    string
	totalFen   int64
	product    string
	qrCode     string
	notifyURL  string
	returnURL  string
	status     string
	// visible is false for a precreate order nobody scanned yet: Alipay answers
	// TRADE_NOT_EXIST for it until the buyer scans the code.
	visible  bool
	certMode bool
	created  time.Time
	expireAt time.Time
	paidAt   time.Time
	closedAt time.Time

	hbFqNum           int
	hbFqSellerPercent int

	// hold is delayed settlement (settle_info.settle_period_time): after payment
	// the funds wait for alipay.trade.settle.confirm or the period's end.
	hold         bool
	settlePeriod time.Duration
	settledAt    time.Time
	settleReqs   map[string]*settleRequest

	payerName   string
	payerCertNo string
	needCheck   bool

	buyerLogonID string
	buyerUserID  string
	fundChannel  string
	instalments  int

	refunds     map[string]*refund
	refundOrder []string
	refundedFen int64
}

// settleRequest is one alipay.trade.settle.confirm call.
type settleRequest struct {
	outRequestNo string
	amountFen    int64
}

// refund is one partial or full refund.
type refund struct {
	outRequestNo string
	amountFen    int64
	reason       string
	at           time.Time
	// cumulativeFen is the trade's total refunded right after this refund (refund_fee).
	cumulativeFen int64
}

// paid reports whether the buyer has paid the trade.
func (t *trade) paid() bool { return !t.paidAt.IsZero() }

// onSettleFen is the amount still waiting for settlement.
func (t *trade) onSettleFen() int64 {
	if !t.hold || !t.paid() || !t.settledAt.IsZero() {
		return 0
	}
	return t.totalFen - t.refundedFen
}

// fen parses an Alipay yuan amount ("12.30") exactly.
func fen(s string) (int64, error) {
	if s == "" || strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%q is not a positive yuan amount", s)
	}
	a, err := money.Parse(s, money.CNY)
	if err != nil {
		return 0, err
	}
	return a.MinorUnits()
}

// yuan formats fen as Alipay's yuan text ("12.30").
func yuan(f int64) string {
	a, err := money.FromMinor(f, money.CNY)
	if err != nil {
		return "0.00"
	}
	return a.Number()
}

// fmtTime formats t on the wire, or "" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst).Format(wireTime)
}

// createParams are the validated parameters of a trade-creating call.
type createParams struct {
	outTradeNo        string
	subject           string
	totalFen          int64
	product           string
	expireAt          time.Time
	hbFqNum           int
	hbFqSellerPercent int
	hold              bool
	settlePeriod      time.Duration
	payerName         string
	payerCertNo       string
	needCheck         bool
	notifyURL         string
	returnURL         string
}

// parseCreate validates the biz_content of precreate, page.pay and wap.pay.
func (s *Sandbox) parseCreate(req *apiRequest, product string, now time.Time) (createParams, result) {
	var p createParams
	var err error
	get := func(key string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = req.bizString(key)
		return v
	}
	p.outTradeNo = get("out_trade_no")
	p.subject = get("subject")
	total := get("total_amount")
	pc := get("product_code")
	timeExpire := get("time_expire")
	timeout := get("timeout_express")
	if err != nil {
		return p, invalid("%v", err)
	}
	if !outTradeNoRE.MatchString(p.outTradeNo) {
		return p, invalid("out_trade_no is required: 1-64 letters, digits or underscores")
	}
	if p.subject == "" || len([]rune(p.subject)) > 256 {
		return p, invalid("subject is required, at most 256 characters")
	}
	if p.totalFen, err = fen(total); err != nil || p.totalFen < 1 || p.totalFen > maxTotalFen {
		return p, invalid("total_amount must be a yuan amount in [0.01, 100000000], two decimals at most: %q", total)
	}
	p.product = product
	if pc != "" && pc != product {
		return p, invalid("product_code %s does not fit %s (want %s)", pc, req.method, product)
	}
	switch {
	case timeExpire != "":
		t, perr := time.ParseInLocation(wireTime, timeExpire, cst)
		if perr != nil {
			return p, invalid("time_expire must be yyyy-MM-dd HH:mm:ss: %q", timeExpire)
		}
		if !t.After(now) {
			return p, invalid("time_expire %s is not in the future", timeExpire)
		}
		p.expireAt = t
	case timeout != "":
		d, perr := parseTimeout(timeout, now)
		if perr != nil {
			return p, invalid("timeout_express: %v", perr)
		}
		p.expireAt = now.Add(d)
	default:
		p.expireAt = now.Add(defaultExpiry)
	}

	ext, err := req.bizObject("extend_params")
	if err != nil {
		return p, invalid("%v", err)
	}
	num, err1 := fieldString(ext, "hb_fq_num")
	pct, err2 := fieldString(ext, "hb_fq_seller_percent")
	if err1 != nil || err2 != nil {
		return p, invalid("extend_params: %v %v", err1, err2)
	}
	switch num {
	case "":
	case "3", "6", "12":
		p.hbFqNum, _ = strconv.Atoi(num)
	default:
		return p, invalid("extend_params.hb_fq_num must be 3, 6 or 12: %q", num)
	}
	switch pct {
	case "", "0":
	case "100":
		p.hbFqSellerPercent = 100
	default:
		return p, invalid("extend_params.hb_fq_seller_percent must be 0 or 100: %q", pct)
	}
	if pct != "" && num == "" {
		return p, invalid("extend_params.hb_fq_seller_percent needs hb_fq_num")
	}

	if r := s.parseSettleInfo(req, &p); r != nil {
		return p, r
	}

	user, err := req.bizObject("ext_user_info")
	if err != nil {
		return p, invalid("%v", err)
	}
	p.payerName, _ = fieldString(user, "name")
	p.payerCertNo, _ = fieldString(user, "cert_no")
	check, _ := fieldString(user, "need_check_info")
	certType, _ := fieldString(user, "cert_type")
	p.needCheck = strings.EqualFold(check, "T")
	if certType != "" && certType != "IDENTITY_CARD" {
		return p, invalid("ext_user_info.cert_type: the sandbox checks IDENTITY_CARD only, got %q", certType)
	}
	p.notifyURL = req.params.Get("notify_url")
	p.returnURL = req.params.Get("return_url")
	if p.notifyURL != "" {
		if u, perr := url.Parse(p.notifyURL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return p, invalid("notify_url must be an absolute http(s) URL: %q", p.notifyURL)
		}
	}
	return p, nil
}

// parseSettleInfo reads settle_info: delayed settlement holds the paid funds
// until alipay.trade.settle.confirm or until settle_period_time passes.
func (s *Sandbox) parseSettleInfo(req *apiRequest, p *createParams) result {
	raw, ok := req.biz["settle_info"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var info struct {
		Details []map[string]json.RawMessage `json:"settle_detail_infos"`
		Period  string                       `json:"settle_period_time"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return invalid("settle_info: %v", err)
	}
	if len(info.Details) != 1 {
		return invalid("settle_info.settle_detail_infos must hold exactly one entry")
	}
	inType, _ := fieldString(info.Details[0], "trans_in_type")
	amount, _ := fieldString(info.Details[0], "amount")
	if inType == "" {
		return invalid("settle_info.settle_detail_infos[0].trans_in_type is required (defaultSettle)")
	}
	if amount != "" {
		f, err := fen(amount)
		if err != nil || f != p.totalFen {
			return invalid("settle_info.settle_detail_infos[0].amount must equal total_amount at creation: %q", amount)
		}
	}
	days := defaultSettleDays
	if info.Period != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(info.Period, "d"))
		if err != nil || !strings.HasSuffix(info.Period, "d") || n < 1 || n > 365 {
			return invalid("settle_info.settle_period_time must be 1d..365d: %q", info.Period)
		}
		days = n
	}
	p.hold = true
	p.settlePeriod = time.Duration(days) * 24 * time.Hour
	return nil
}

// parseTimeout reads timeout_express: Nm, Nh, Nd (1m..15d) or 1c (until midnight).
func parseTimeout(s string, now time.Time) (time.Duration, error) {
	if s == "1c" {
		n := now.In(cst)
		midnight := time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, cst)
		return midnight.Sub(now), nil
	}
	if len(s) < 2 {
		return 0, fmt.Errorf("want Nm, Nh, Nd or 1c, got %q", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("want Nm, Nh, Nd or 1c, got %q", s)
	}
	var d time.Duration
	switch s[len(s)-1] {
	case 'm':
		d = time.Duration(n) * time.Minute
	case 'h':
		d = time.Duration(n) * time.Hour
	case 'd':
		d = time.Duration(n) * 24 * time.Hour
	default:
		return 0, fmt.Errorf("want Nm, Nh, Nd or 1c, got %q", s)
	}
	if d > defaultExpiry {
		return 0, fmt.Errorf("%q is longer than 15d", s)
	}
	return d, nil
}

// createTrade creates the trade or returns the existing one when the request
// repeats it; call with s.mu held.
func (s *Sandbox) createTrade(p createParams, certMode bool, now time.Time) (*trade, result) {
	if t, ok := s.trades[p.outTradeNo]; ok {
		s.refresh(t, now)
		switch {
		case t.status == statusSuccess || t.status == statusFinished:
			return nil, failure("ACQ.TRADE_HAS_SUCCESS", "", result{"out_trade_no": t.outTradeNo})
		case t.status == statusClosed:
			return nil, failure("ACQ.TRADE_HAS_CLOSE", "", result{"out_trade_no": t.outTradeNo})
		case t.totalFen != p.totalFen:
			return nil, failure("ACQ.CONTEXT_INCONSISTENT", fmt.Sprintf("交易信息被篡改: out_trade_no %s was created with total_amount %s", t.outTradeNo, yuan(t.totalFen)), result{"out_trade_no": t.outTradeNo})
		}
		if t.product != p.product && p.product != productFaceToFace {
			t.product = p.product
		}
		return t, nil
	}
	t := &trade{
		outTradeNo: p.outTradeNo, subject: p.subject, totalFen: p.totalFen, product: p.product,
		notifyURL: p.notifyURL, returnURL: p.returnURL, status: statusWaitBuyerPay, certMode: certMode,
		created: now, expireAt: p.expireAt, hbFqNum: p.hbFqNum, hbFqSellerPercent: p.hbFqSellerPercent,
		hold: p.hold, settlePeriod: p.settlePeriod, settleReqs: map[string]*settleRequest{},
		payerName: p.payerName, payerCertNo: p.payerCertNo, needCheck: p.needCheck,
		refunds: map[string]*refund{},
	}
	s.trades[t.outTradeNo] = t
	return t, nil
}

// show makes a trade visible (scanned, or its cashier opened) and gives it a trade_no; call with s.mu held.
func (s *Sandbox) show(t *trade, now time.Time) {
	if t.visible {
		return
	}
	t.visible = true
	if t.tradeNo == "" {
		t.tradeNo = s.newTradeNo(now)
		s.byTradeNo[t.tradeNo] = t
	}
}

// refresh applies the passage of time: an unpaid trade past time_expire
// closes, held funds settle when the settle period ends, and a paid trade
// past the refund period finishes (TRADE_FINISHED); call with s.mu held.
func (s *Sandbox) refresh(t *trade, now time.Time) {
	if t.status == statusWaitBuyerPay && !now.Before(t.expireAt) {
		t.status = statusClosed
		t.closedAt = t.expireAt
		if t.visible {
			s.notifyTrade(t, nil)
		}
	}
	if t.hold && t.paid() && t.settledAt.IsZero() && !now.Before(t.paidAt.Add(t.settlePeriod)) {
		t.settledAt = t.paidAt.Add(t.settlePeriod)
	}
	if t.status == statusSuccess && !now.Before(t.paidAt.Add(s.cfg.RefundPeriod)) {
		t.status = statusFinished
		s.notifyTrade(t, nil)
	}
}

// lookup finds a visible trade by trade_no (preferred) or out_trade_no; call with s.mu held.
func (s *Sandbox) lookup(req *apiRequest, now time.Time) (*trade, result) {
	tradeNo, err1 := req.bizString("trade_no")
	outTradeNo, err2 := req.bizString("out_trade_no")
	if err1 != nil || err2 != nil {
		return nil, invalid("trade_no/out_trade_no: %v %v", err1, err2)
	}
	if tradeNo == "" && outTradeNo == "" {
		return nil, invalid("trade_no or out_trade_no is required")
	}
	var t *trade
	if tradeNo != "" {
		t = s.byTradeNo[tradeNo]
	} else {
		t = s.trades[outTradeNo]
	}
	if t == nil || !t.visible {
		extra := result{}
		if outTradeNo != "" {
			extra["out_trade_no"] = outTradeNo
		}
		return nil, failure("ACQ.TRADE_NOT_EXIST", "", extra)
	}
	s.refresh(t, now)
	return t, nil
}

// apiPrecreate is alipay.trade.precreate: an order behind a QR code. The
// trade stays invisible to query and close until the buyer scans the code.
func (s *Sandbox) apiPrecreate(req *apiRequest) result {
	now := s.now()
	p, bad := s.parseCreate(req, productFaceToFace, now)
	if bad != nil {
		return bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, bad := s.createTrade(p, req.certMode, now)
	if bad != nil {
		return bad
	}
	if t.qrCode == "" {
		code := "bax0" + randomString(21, "0123456789abcdefghijklmnopqrstuvwxyz")
		t.qrCode = baseURL(req.r) + "/qr/" + code
		s.byQR[code] = t
	}
	return success(result{"out_trade_no": t.outTradeNo, "qr_code": t.qrCode})
}

// apiQuery is alipay.trade.query.
func (s *Sandbox) apiQuery(req *apiRequest) result {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, bad := s.lookup(req, now)
	if bad != nil {
		return bad
	}
	out := result{
		"trade_no":         t.tradeNo,
		"out_trade_no":     t.outTradeNo,
		"trade_status":     t.status,
		"total_amount":     yuan(t.totalFen),
		"buyer_pay_amount": "0.00",
		"invoice_amount":   "0.00",
		"receipt_amount":   "0.00",
		"point_amount":     "0.00",
		"subject":          t.subject,
	}
	if t.paid() {
		out["buyer_logon_id"] = t.buyerLogonID
		out["buyer_user_id"] = t.buyerUserID
		out["buyer_user_type"] = "PRIVATE"
		out["send_pay_date"] = fmtTime(t.paidAt)
		out["buyer_pay_amount"] = yuan(t.totalFen)
		out["invoice_amount"] = yuan(t.totalFen)
		out["receipt_amount"] = yuan(t.totalFen)
		out["fund_bill_list"] = []result{{"fund_channel": t.fundChannel, "amount": yuan(t.totalFen)}}
		if t.instalments > 0 {
			out["hb_fq_pay_info"] = result{"user_install_num": strconv.Itoa(t.instalments)}
		}
	}
	var opts []string
	if raw, ok := req.biz["query_options"]; ok {
		_ = json.Unmarshal(raw, &opts)
	}
	for _, o := range opts {
		if o == "trade_settle_info" && t.hold && t.paid() {
			out["trade_settle_info"] = result{"trade_settle_detail_list": s.settleDetails(t)}
		}
	}
	return success(out)
}

// settleDetails lists a held trade's settlement operations; call with s.mu held.
func (s *Sandbox) settleDetails(t *trade) []result {
	if t.settledAt.IsZero() {
		return []result{{"operation_type": "on_settle", "operation_dt": fmtTime(t.paidAt), "trans_out": s.pid, "amount": yuan(t.onSettleFen())}}
	}
	var serial string
	var amount int64
	for _, r := range t.settleReqs {
		if serial == "" || r.outRequestNo < serial {
			serial, amount = r.outRequestNo, r.amountFen
		}
	}
	if serial == "" { // settled automatically when the settle period ended
		amount = t.totalFen
		for _, r := range t.refunds {
			if r.at.Before(t.settledAt) {
				amount -= r.amountFen
			}
		}
	}
	return []result{{"operation_type": "settle", "operation_serial_no": serial, "operation_dt": fmtTime(t.settledAt), "trans_out": s.pid, "trans_in": s.pid, "amount": yuan(amount)}}
}

// apiClose is alipay.trade.close: only a trade waiting for the buyer closes.
func (s *Sandbox) apiClose(req *apiRequest) result {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, bad := s.lookup(req, now)
	if bad != nil {
		return bad
	}
	if t.status != statusWaitBuyerPay {
		return failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法: only a WAIT_BUYER_PAY trade can be closed, this one is "+t.status, result{"out_trade_no": t.outTradeNo, "trade_no": t.tradeNo})
	}
	t.status = statusClosed
	t.closedAt = now
	s.notifyTrade(t, nil)
	return success(result{"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo})
}

// apiRefund is alipay.trade.refund: synchronous, partial or full, idempotent by out_request_no.
func (s *Sandbox) apiRefund(req *apiRequest) result {
	now := s.now()
	amountText, err1 := req.bizString("refund_amount")
	outRequestNo, err2 := req.bizString("out_request_no")
	reason, err3 := req.bizString("refund_reason")
	if err1 != nil || err2 != nil || err3 != nil {
		return invalid("refund parameters: %v %v %v", err1, err2, err3)
	}
	amount, err := fen(amountText)
	if err != nil || amount < 1 {
		return invalid("refund_amount must be a positive yuan amount with two decimals at most: %q", amountText)
	}
	if len(outRequestNo) > 64 {
		return invalid("out_request_no is at most 64 characters")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, bad := s.lookup(req, now)
	if bad != nil {
		return bad
	}
	if outRequestNo == "" {
		outRequestNo = t.outTradeNo
	}
	if r, ok := t.refunds[outRequestNo]; ok {
		if r.amountFen != amount {
			return failure("ACQ.DISCORDANT_REPEAT_REQUEST", fmt.Sprintf("不一致的请求: out_request_no %s refunded %s before", outRequestNo, yuan(r.amountFen)), result{"out_trade_no": t.outTradeNo, "trade_no": t.tradeNo})
		}
		return s.refundAnswer(t, r, "N")
	}
	switch t.status {
	case statusWaitBuyerPay:
		return failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法: the trade is not paid", result{"out_trade_no": t.outTradeNo, "trade_no": t.tradeNo})
	case statusClosed:
		return failure("ACQ.TRADE_HAS_CLOSE", "", result{"out_trade_no": t.outTradeNo, "trade_no": t.tradeNo})
	case statusFinished:
		return failure("ACQ.TRADE_HAS_FINISHED", "", result{"out_trade_no": t.outTradeNo, "trade_no": t.tradeNo})
	}
	if t.refundedFen+amount > t.totalFen {
		return failure("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", fmt.Sprintf("退款金额超限: %s refunded of %s, %s more asked", yuan(t.refundedFen), yuan(t.totalFen), yuan(amount)), result{"out_trade_no": t.outTradeNo, "trade_no": t.tradeNo})
	}
	t.refundedFen += amount
	r := &refund{outRequestNo: outRequestNo, amountFen: amount, reason: reason, at: now, cumulativeFen: t.refundedFen}
	t.refunds[outRequestNo] = r
	t.refundOrder = append(t.refundOrder, outRequestNo)
	if t.refundedFen == t.totalFen {
		t.status = statusClosed
		t.closedAt = now
	}
	s.notifyTrade(t, r)
	return s.refundAnswer(t, r, "Y")
}

// refundAnswer is the alipay.trade.refund answer for r.
func (s *Sandbox) refundAnswer(t *trade, r *refund, fundChange string) result {
	return success(result{
		"trade_no":       t.tradeNo,
		"out_trade_no":   t.outTradeNo,
		"buyer_logon_id": t.buyerLogonID,
		"buyer_user_id":  t.buyerUserID,
		"fund_change":    fundChange,
		"refund_fee":     yuan(r.cumulativeFen),
		"send_back_fee":  yuan(r.amountFen),
		"gmt_refund_pay": fmtTime(r.at),
	})
}

// apiRefundQuery is alipay.trade.fastpay.refund.query. An unknown refund is a
// success without refund_status, as Alipay answers it.
func (s *Sandbox) apiRefundQuery(req *apiRequest) result {
	now := s.now()
	outRequestNo, err := req.bizString("out_request_no")
	if err != nil || outRequestNo == "" {
		return invalid("out_request_no is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, bad := s.lookup(req, now)
	if bad != nil {
		return bad
	}
	r, ok := t.refunds[outRequestNo]
	if !ok {
		return success(result{"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo})
	}
	return success(result{
		"trade_no":       t.tradeNo,
		"out_trade_no":   t.outTradeNo,
		"out_request_no": r.outRequestNo,
		"total_amount":   yuan(t.totalFen),
		"refund_amount":  yuan(r.amountFen),
		"refund_status":  "REFUND_SUCCESS",
		"gmt_refund_pay": fmtTime(r.at),
		"send_back_fee":  yuan(r.amountFen),
	})
}

// apiSettleConfirm is alipay.trade.settle.confirm: it releases a delayed-settlement
// trade's held funds to the merchant. The amount must be what is still held
// (total less refunds); repeating out_request_no repeats the answer.
func (s *Sandbox) apiSettleConfirm(req *apiRequest) result {
	now := s.now()
	outRequestNo, err1 := req.bizString("out_request_no")
	tradeNo, err2 := req.bizString("trade_no")
	if err1 != nil || err2 != nil {
		return invalid("settle parameters: %v %v", err1, err2)
	}
	if outRequestNo == "" || len(outRequestNo) > 64 {
		return invalid("out_request_no is required, at most 64 characters")
	}
	if tradeNo == "" {
		return invalid("trade_no is required")
	}
	info, err := req.bizObject("settle_info")
	if err != nil {
		return invalid("%v", err)
	}
	var details []map[string]json.RawMessage
	if info != nil {
		if raw, ok := info["settle_detail_infos"]; ok {
			if err := json.Unmarshal(raw, &details); err != nil {
				return invalid("settle_info.settle_detail_infos: %v", err)
			}
		}
	}
	if len(details) != 1 {
		return invalid("settle_info.settle_detail_infos must hold exactly one entry")
	}
	amountText, _ := fieldString(details[0], "amount")
	amount, err := fen(amountText)
	if err != nil || amount < 1 {
		return invalid("settle_info.settle_detail_infos[0].amount must be a positive yuan amount: %q", amountText)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, bad := s.lookup(req, now)
	if bad != nil {
		return bad
	}
	answer := func(f int64) result {
		return success(result{"trade_no": t.tradeNo, "out_request_no": outRequestNo, "settle_amount": yuan(f)})
	}
	if r, ok := t.settleReqs[outRequestNo]; ok {
		if r.amountFen != amount {
			return failure("ACQ.DISCORDANT_REPEAT_REQUEST", "", result{"trade_no": t.tradeNo})
		}
		return answer(r.amountFen)
	}
	switch {
	case !t.paid():
		return failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法: the trade is not paid", result{"trade_no": t.tradeNo})
	case !t.hold:
		return failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法: the trade was not created with settle_info (delayed settlement)", result{"trade_no": t.tradeNo})
	case t.status == statusClosed:
		return failure("ACQ.TRADE_HAS_CLOSE", "", result{"trade_no": t.tradeNo})
	case !t.settledAt.IsZero():
		t.settleReqs[outRequestNo] = &settleRequest{outRequestNo: outRequestNo, amountFen: amount}
		return answer(amount)
	}
	if held := t.onSettleFen(); amount != held {
		return invalid("settle amount %s must equal the amount still held, %s (total less refunds)", yuan(amount), yuan(held))
	}
	t.settleReqs[outRequestNo] = &settleRequest{outRequestNo: outRequestNo, amountFen: amount}
	t.settledAt = now
	return answer(amount)
}
