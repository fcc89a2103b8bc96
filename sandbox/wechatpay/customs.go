package wechatpay

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xhspay/xhspay/sandbox/customs"
)

// customsOffices maps WeChat Pay's customs codes to the customs office the
// payment record is pushed to (the code the customs sandbox matches on).
var customsOffices = map[string]string{
	"GUANGZHOU_ZS":    "GUANGZHOU",
	"HANGZHOU_ZS":     "HANGZHOU",
	"NINGBO":          "NINGBO",
	"ZHENGZHOU_BS":    "ZHENGZHOU",
	"ZHENGZHOU_ZH_ZS": "ZHENGZHOU",
	"CHONGQING":       "CHONGQING",
	"SHANGHAI_ZS":     "SHANGHAI",
	"SHENZHEN":        "SHENZHEN",
	"TIANJIN":         "TIANJIN",
}

// Declaration states (state). CANCELLED is a sandbox extension.
const (
	declProcessing = "PROCESSING"
	declSuccess    = "SUCCESS"
	declCancelled  = "CANCELLED"
)

// declaration is one customs payment declaration, keyed by out_trade_no,
// customs and sub_order_no.
type declaration struct {
	trade             *trade
	customs           string
	merchantCustomsNo string
	subOrderNo        string
	subOrderID        string
	orderFee          int64
	transportFee      int64
	productFee        int64
	duty              int64
	certType          string
	certID            string
	certName          string
	certCheck         string
	modified          time.Time
	successAt         time.Time
	cancelled         bool
	verifyTradeID     string
}

// customsRequest is the body of the declare, modify, redeclare and cancel calls.
type customsRequest struct {
	AppID             string `json:"appid"`
	MchID             string `json:"mchid"`
	OutTradeNo        string `json:"out_trade_no"`
	TransactionID     string `json:"transaction_id"`
	Customs           string `json:"customs"`
	MerchantCustomsNo string `json:"merchant_customs_no"`
	Duty              *int64 `json:"duty"`
	SubOrderNo        string `json:"sub_order_no"`
	SubOrderID        string `json:"sub_order_id"`
	FeeType           string `json:"fee_type"`
	OrderFee          *int64 `json:"order_fee"`
	TransportFee      *int64 `json:"transport_fee"`
	ProductFee        *int64 `json:"product_fee"`
	CertificateType   string `json:"certificate_type"`
	CertificateID     string `json:"certificate_id"`
	CertificateName   string `json:"certificate_name"`
}

// declarationJSON is a declaration as answered.
type declarationJSON struct {
	State                   string `json:"state"`
	AppID                   string `json:"appid"`
	MchID                   string `json:"mchid"`
	OutTradeNo              string `json:"out_trade_no"`
	TransactionID           string `json:"transaction_id"`
	Customs                 string `json:"customs"`
	MerchantCustomsNo       string `json:"merchant_customs_no"`
	SubOrderNo              string `json:"sub_order_no,omitempty"`
	SubOrderID              string `json:"sub_order_id,omitempty"`
	FeeType                 string `json:"fee_type"`
	OrderFee                int64  `json:"order_fee"`
	TransportFee            int64  `json:"transport_fee"`
	ProductFee              int64  `json:"product_fee"`
	Duty                    int64  `json:"duty"`
	CertCheckResult         string `json:"cert_check_result"`
	ModifyTime              string `json:"modify_time"`
	VerifyDepartment        string `json:"verify_department,omitempty"`
	VerifyDepartmentTradeID string `json:"verify_department_trade_id,omitempty"`
	Explanation             string `json:"explanation,omitempty"`
}

// declKey identifies a declaration.
func declKey(outTradeNo, customsCode, subOrderNo string) string {
	return outTradeNo + "|" + customsCode + "|" + subOrderNo
}

// declState is d's state now. Call with s.mu held.
func (s *Sandbox) declState(d *declaration) string {
	switch {
	case d.cancelled:
		return declCancelled
	case s.now().Before(d.successAt):
		return declProcessing
	}
	return declSuccess
}

// declView renders d. Call with s.mu held.
func (s *Sandbox) declView(d *declaration) declarationJSON {
	v := declarationJSON{
		State:             s.declState(d),
		AppID:             d.trade.appID,
		MchID:             s.cfg.MchID,
		OutTradeNo:        d.trade.outTradeNo,
		TransactionID:     d.trade.transactionID,
		Customs:           d.customs,
		MerchantCustomsNo: d.merchantCustomsNo,
		SubOrderNo:        d.subOrderNo,
		SubOrderID:        d.subOrderID,
		FeeType:           "CNY",
		OrderFee:          d.orderFee,
		TransportFee:      d.transportFee,
		ProductFee:        d.productFee,
		Duty:              d.duty,
		CertCheckResult:   d.certCheck,
		ModifyTime:        fmtTime(d.modified),
	}
	switch v.State {
	case declSuccess:
		v.VerifyDepartment = "OTHERS"
		v.VerifyDepartmentTradeID = d.verifyTradeID
	case declCancelled:
		v.Explanation = "declaration withdrawn by the merchant"
	}
	return v
}

// record is the payment record pushed to customs for d. Call with s.mu held.
// WeChat Pay pushes the payer identity registered on the paying account, not
// the one the merchant declared, when it knows it.
func (s *Sandbox) record(d *declaration, cancelled bool) customs.PaymentRecord {
	name, id := d.certName, d.certID
	if d.trade.payerName != "" {
		name, id = d.trade.payerName, d.trade.payerID
	}
	orderNo := d.subOrderNo
	if orderNo == "" {
		orderNo = d.trade.outTradeNo
	}
	return customs.PaymentRecord{
		Provider:            "wechatpay",
		OrderNo:             orderNo,
		TransactionID:       d.trade.transactionID,
		PayerName:           name,
		PayerIDNumber:       id,
		AmountFen:           d.orderFee,
		CustomsCode:         customsOffices[d.customs],
		MerchantCustomsCode: d.merchantCustomsNo,
		Cancelled:           cancelled,
		At:                  s.now(),
	}
}

// forward pushes a record to the customs sink, if any.
func (s *Sandbox) forward(rec customs.PaymentRecord) {
	s.log.Info("payment record pushed to customs", "order_no", rec.OrderNo, "customs", rec.CustomsCode, "cancelled", rec.Cancelled)
	if s.cfg.Customs != nil {
		s.cfg.Customs.ReceivePaymentRecord(rec)
	}
}

// checkCustomsRequest validates the fields common to every customs call, answering on failure.
func (s *Sandbox) checkCustomsRequest(w http.ResponseWriter, req *customsRequest) bool {
	switch {
	case req.MchID != s.cfg.MchID:
		s.writeError(w, http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在: mchid must be "+s.cfg.MchID)
	case req.AppID != s.cfg.AppID:
		s.writeError(w, http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	case req.OutTradeNo == "" || req.TransactionID == "":
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "out_trade_no and transaction_id are required")
	case customsOffices[req.Customs] == "":
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "customs "+strconv.Quote(req.Customs)+" is not a customs code WeChat Pay declares to")
	default:
		return true
	}
	return false
}

// applyCertificate decrypts and stores the payer identity of req in d, answering on failure.
func (s *Sandbox) applyCertificate(w http.ResponseWriter, r *http.Request, req *customsRequest, d *declaration) bool {
	if req.CertificateType == "" && req.CertificateID == "" && req.CertificateName == "" {
		return true
	}
	if req.CertificateType != "IDCARD" {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "certificate_type must be IDCARD")
		return false
	}
	if r.Header.Get("Wechatpay-Serial") != s.pubKeyID {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "Wechatpay-Serial must name the platform key the certificate fields are encrypted with")
		return false
	}
	id, err := s.decryptSensitive("certificate_id", req.CertificateID)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", err.Error())
		return false
	}
	name, err := s.decryptSensitive("certificate_name", req.CertificateName)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", err.Error())
		return false
	}
	if len(id) != 18 || name == "" {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "certificate_id must be an 18-character resident ID number and certificate_name non-empty")
		return false
	}
	d.certType, d.certID, d.certName = req.CertificateType, id, name
	return true
}

// certCheck compares the declared identity with the paying account's.
func certCheck(d *declaration) string {
	switch {
	case d.certID == "":
		return "UNCHECKED"
	case d.trade.payerName == "" || (d.trade.payerName == d.certName && d.trade.payerID == d.certID):
		return "SAME"
	}
	return "DIFFERENT"
}

// applyFees validates and stores the amounts of req in d (against the
// order's refundable remainder), answering on failure.
func (s *Sandbox) applyFees(w http.ResponseWriter, req *customsRequest, d *declaration) bool {
	t := d.trade
	remaining := t.total
	for _, rf := range t.refunds {
		if rf.status != refundClosed && rf.status != refundAbnormal {
			remaining -= rf.amount
		}
	}
	if req.FeeType != "" && req.FeeType != "CNY" {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "fee_type must be CNY")
		return false
	}
	if req.SubOrderNo == "" {
		d.orderFee, d.productFee, d.transportFee, d.duty = remaining, remaining, 0, 0
		return true
	}
	if req.OrderFee == nil || req.ProductFee == nil || req.TransportFee == nil {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "order_fee, product_fee and transport_fee are required with sub_order_no")
		return false
	}
	if *req.OrderFee <= 0 || *req.OrderFee > remaining {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "order_fee must be positive and at most the order's unrefunded amount "+strconv.FormatInt(remaining, 10))
		return false
	}
	d.orderFee, d.productFee, d.transportFee = *req.OrderFee, *req.ProductFee, *req.TransportFee
	if req.Duty != nil {
		d.duty = *req.Duty
	}
	return true
}

// findDeclaredTrade returns the paid trade a customs request names, answering on failure.
func (s *Sandbox) findDeclaredTrade(w http.ResponseWriter, req *customsRequest) *trade {
	t := s.trades[req.OutTradeNo]
	if t == nil || t.transactionID != req.TransactionID {
		s.writeError(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在: out_trade_no and transaction_id name no paid order")
		return nil
	}
	return t
}

// handleCustomsDeclare serves POST /v3/global/customs/orders. Declaring the
// same out_trade_no, customs and sub_order_no again returns the declaration
// (a cancelled one is declared afresh). A new declaration is pushed to customs.
func (s *Sandbox) handleCustomsDeclare(w http.ResponseWriter, r *http.Request, body []byte) {
	var req customsRequest
	if !s.decode(w, body, &req) || !s.checkCustomsRequest(w, &req) {
		return
	}
	if req.MerchantCustomsNo == "" {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "merchant_customs_no is required")
		return
	}
	s.mu.Lock()
	t := s.findDeclaredTrade(w, &req)
	if t == nil {
		s.mu.Unlock()
		return
	}
	key := declKey(req.OutTradeNo, req.Customs, req.SubOrderNo)
	if d, ok := s.declarations[key]; ok && !d.cancelled {
		view := s.declView(d)
		s.mu.Unlock()
		s.writeJSON(w, http.StatusOK, view)
		return
	}
	now := s.now()
	d := &declaration{
		trade:             t,
		customs:           req.Customs,
		merchantCustomsNo: req.MerchantCustomsNo,
		subOrderNo:        req.SubOrderNo,
		modified:          now,
		successAt:         now.Add(s.cfg.CustomsDelay),
		verifyTradeID:     "4" + randDigits(27),
	}
	if req.SubOrderNo != "" {
		d.subOrderID = t.transactionID[:20] + randDigits(8)
	}
	if !s.applyCertificate(w, r, &req, d) || !s.applyFees(w, &req, d) {
		s.mu.Unlock()
		return
	}
	d.certCheck = certCheck(d)
	s.declarations[key] = d
	view := s.declView(d)
	rec := s.record(d, false)
	s.mu.Unlock()
	s.forward(rec)
	s.writeJSON(w, http.StatusOK, view)
}

// lookupDeclaration finds the live declaration a request names, answering on failure.
func (s *Sandbox) lookupDeclaration(w http.ResponseWriter, req *customsRequest, allowCancelled bool) *declaration {
	d := s.declarations[declKey(req.OutTradeNo, req.Customs, req.SubOrderNo)]
	if d == nil || d.trade.transactionID != req.TransactionID {
		s.writeError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "报关记录不存在")
		return nil
	}
	if d.cancelled && !allowCancelled {
		s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "the declaration was cancelled; declare it again")
		return nil
	}
	return d
}

// handleCustomsModify serves PATCH /v3/global/customs/orders: corrected data
// (customs registration, amounts, payer identity) is stored and verified
// again; POST /v3/global/customs/redeclare pushes it to customs.
func (s *Sandbox) handleCustomsModify(w http.ResponseWriter, r *http.Request, body []byte) {
	var req customsRequest
	if !s.decode(w, body, &req) || !s.checkCustomsRequest(w, &req) {
		return
	}
	s.mu.Lock()
	d := s.lookupDeclaration(w, &req, false)
	if d == nil {
		s.mu.Unlock()
		return
	}
	next := *d
	if !s.applyCertificate(w, r, &req, &next) || !s.applyFees(w, &req, &next) {
		s.mu.Unlock()
		return
	}
	if req.MerchantCustomsNo != "" {
		next.merchantCustomsNo = req.MerchantCustomsNo
	}
	now := s.now()
	next.modified, next.successAt = now, now.Add(s.cfg.CustomsDelay)
	next.certCheck = certCheck(&next)
	*d = next
	view := s.declView(d)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, view)
}

// handleCustomsRedeclare serves POST /v3/global/customs/redeclare: the
// declaration's current data is pushed to customs again.
func (s *Sandbox) handleCustomsRedeclare(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req customsRequest
	if !s.decode(w, body, &req) || !s.checkCustomsRequest(w, &req) {
		return
	}
	s.mu.Lock()
	d := s.lookupDeclaration(w, &req, false)
	if d == nil {
		s.mu.Unlock()
		return
	}
	now := s.now()
	d.modified, d.successAt = now, now.Add(s.cfg.CustomsDelay)
	view := s.declView(d)
	rec := s.record(d, false)
	s.mu.Unlock()
	s.forward(rec)
	s.writeJSON(w, http.StatusOK, view)
}

// handleCustomsCancel serves POST /v3/global/customs/orders/cancel, a sandbox
// extension (WeChat Pay has no cancel API): the declaration is withdrawn and
// customs is told (PaymentRecord.Cancelled). Cancelling twice is a no-op.
func (s *Sandbox) handleCustomsCancel(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req customsRequest
	if !s.decode(w, body, &req) || !s.checkCustomsRequest(w, &req) {
		return
	}
	s.mu.Lock()
	d := s.lookupDeclaration(w, &req, true)
	if d == nil {
		s.mu.Unlock()
		return
	}
	if d.cancelled {
		view := s.declView(d)
		s.mu.Unlock()
		s.writeJSON(w, http.StatusOK, view)
		return
	}
	d.cancelled = true
	d.modified = s.now()
	view := s.declView(d)
	rec := s.record(d, true)
	s.mu.Unlock()
	s.forward(rec)
	s.writeJSON(w, http.StatusOK, view)
}

// handleCustomsQuery serves GET /v3/global/customs/orders?appid=&mchid=&order_type=&order_no=&customs=&offset=&limit=.
func (s *Sandbox) handleCustomsQuery(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	if q.Get("mchid") != s.cfg.MchID || q.Get("appid") != s.cfg.AppID {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "query parameters appid and mchid are required and must be this merchant's")
		return
	}
	orderType, orderNo, customsCode := q.Get("order_type"), q.Get("order_no"), q.Get("customs")
	if orderNo == "" || customsOffices[customsCode] == "" {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "query parameters order_no and customs (a WeChat Pay customs code) are required")
		return
	}
	offset, limit := 0, 20
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "offset must be a non-negative integer")
			return
		}
		offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "limit must be 1-50")
			return
		}
		limit = n
	}
	var match func(d *declaration) bool
	switch orderType {
	case "out_trade_no":
		match = func(d *declaration) bool { return d.trade.outTradeNo == orderNo }
	case "transaction_id":
		match = func(d *declaration) bool { return d.trade.transactionID == orderNo }
	case "sub_order_no":
		match = func(d *declaration) bool { return d.subOrderNo == orderNo }
	case "sub_order_id":
		match = func(d *declaration) bool { return d.subOrderID == orderNo }
	default:
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "order_type must be out_trade_no, transaction_id, sub_order_no or sub_order_id")
		return
	}
	s.mu.Lock()
	var all []declarationJSON
	for _, d := range s.declarations {
		if d.customs == customsCode && match(d) {
			all = append(all, s.declView(d))
		}
	}
	s.mu.Unlock()
	if len(all) == 0 {
		s.writeError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "报关记录不存在")
		return
	}
	sortDeclarations(all)
	page := []declarationJSON{}
	if offset < len(all) {
		page = all[offset:min(len(all), offset+limit)]
	}
	s.writeJSON(w, http.StatusOK, struct {
		Limit      int               `json:"limit"`
		Offset     int               `json:"offset"`
		TotalCount int               `json:"total_count"`
		Data       []declarationJSON `json:"data"`
	}{limit, offset, len(all), page})
}

// sortDeclarations orders declarations by sub_order_no for stable paging.
func sortDeclarations(ds []declarationJSON) {
	slices.SortFunc(ds, func(a, b declarationJSON) int { return strings.Compare(a.SubOrderNo, b.SubOrderNo) })
}
