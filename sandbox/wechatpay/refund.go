package wechatpay

import (
	"net/http"
	"regexp"
	"time"
)

// Refund states (status, refund_status).
const (
	refundProcessing = "PROCESSING"
	refundSuccess    = "SUCCESS"
	refundClosed     = "CLOSED"
	refundAbnormal   = "ABNORMAL"
)

// refund is one refund (out_refund_no) of a trade.
type refund struct {
	outRefundNo string
	refundID    string
	trade       *trade
	amount      int64
	reason      string
	notifyURL   string
	status      string
	created     time.Time
	succeeded   time.Time
}

// outRefundNoPattern is the charset and length of out_refund_no.
var outRefundNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)

// refundRequest is the body of POST /v3/refund/domestic/refunds.
type refundRequest struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	FundsAccount  string `json:"funds_account"`
	Amount        *struct {
		Refund   *int64 `json:"refund"`
		Total    *int64 `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

// refundJSON is a refund as created and queried.
type refundJSON struct {
	RefundID            string           `json:"refund_id"`
	OutRefundNo         string           `json:"out_refund_no"`
	TransactionID       string           `json:"transaction_id"`
	OutTradeNo          string           `json:"out_trade_no"`
	Channel             string           `json:"channel"`
	UserReceivedAccount string           `json:"user_received_account"`
	SuccessTime         string           `json:"success_time,omitempty"`
	CreateTime          string           `json:"create_time"`
	Status              string           `json:"status"`
	FundsAccount        string           `json:"funds_account"`
	Amount              refundAmountJSON `json:"amount"`
	PromotionDetail     []struct{}       `json:"promotion_detail"`
}

// refundAmountJSON is a refund's amounts in fen.
type refundAmountJSON struct {
	Total            int64      `json:"total"`
	Refund           int64      `json:"refund"`
	From             []struct{} `json:"from"`
	PayerTotal       int64      `json:"payer_total"`
	PayerRefund      int64      `json:"payer_refund"`
	SettlementRefund int64      `json:"settlement_refund"`
	SettlementTotal  int64      `json:"settlement_total"`
	DiscountRefund   int64      `json:"discount_refund"`
	Currency         string     `json:"currency"`
	RefundFee        int64      `json:"refund_fee"`
}

// refundNotifyJSON is the decrypted resource of a REFUND.* notification.
type refundNotifyJSON struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// receivedAccount is where a refund of t lands, as WeChat Pay describes it.
func receivedAccount(t *trade) string {
	if t.bankType == "CMB_DEBIT" {
		return "招商银行借记卡0403"
	}
	return "支付用户零钱"
}

// refundView renders rf. Call with s.mu held.
func (s *Sandbox) refundView(rf *refund) refundJSON {
	t := rf.trade
	return refundJSON{
		RefundID:            rf.refundID,
		OutRefundNo:         rf.outRefundNo,
		TransactionID:       t.transactionID,
		OutTradeNo:          t.outTradeNo,
		Channel:             "ORIGINAL",
		UserReceivedAccount: receivedAccount(t),
		SuccessTime:         fmtTime(rf.succeeded),
		CreateTime:          fmtTime(rf.created),
		Status:              rf.status,
		FundsAccount:        "AVAILABLE",
		Amount: refundAmountJSON{
			Total: t.total, Refund: rf.amount, From: []struct{}{},
			PayerTotal: t.total, PayerRefund: rf.amount,
			SettlementRefund: rf.amount, SettlementTotal: t.total,
			Currency: "CNY",
		},
		PromotionDetail: []struct{}{},
	}
}

// handleRefund serves POST /v3/refund/domestic/refunds. Refunds may be
// partial and repeated; their total never exceeds the order's (else 403
// NOT_ENOUGH). Repeating an out_refund_no returns that refund unchanged.
// A refund starts PROCESSING and succeeds after RefundDelay, with a
// REFUND.SUCCESS notification to its notify_url (or the order's).
func (s *Sandbox) handleRefund(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req refundRequest
	if !s.decode(w, body, &req) {
		return
	}
	switch {
	case !outRefundNoPattern.MatchString(req.OutRefundNo):
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "out_refund_no is required, 1-64 characters of [0-9A-Za-z_-|*@]")
		return
	case req.TransactionID == "" && req.OutTradeNo == "":
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "transaction_id or out_trade_no is required")
		return
	case req.Amount == nil || req.Amount.Refund == nil || *req.Amount.Refund <= 0:
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "amount.refund is required and must be a positive number of fen")
		return
	case req.Amount.Total == nil || *req.Amount.Total <= 0:
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "amount.total is required and must be a positive number of fen")
		return
	case req.Amount.Currency != "CNY":
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "amount.currency must be CNY")
		return
	case len(req.Reason) > 80:
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "reason must be at most 80 bytes")
		return
	}

	s.mu.Lock()
	var t *trade
	if req.TransactionID != "" {
		t = s.byTxID[req.TransactionID]
	} else {
		t = s.trades[req.OutTradeNo]
	}
	if t == nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
		return
	}
	if rf, ok := s.refunds[req.OutRefundNo]; ok {
		if rf.trade != t {
			s.mu.Unlock()
			s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "out_refund_no is already used by another order")
			return
		}
		view := s.refundView(rf)
		s.mu.Unlock()
		s.writeJSON(w, http.StatusOK, view)
		return
	}
	s.refresh(t)
	switch t.state {
	case stateSuccess, stateRefund:
	case stateClosed, stateRevoked:
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭")
		return
	default:
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "订单未支付")
		return
	}
	if *req.Amount.Total != t.total {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "amount.total does not match the order's total")
		return
	}
	var refunded int64
	for _, other := range t.refunds {
		if other.status != refundClosed && other.status != refundAbnormal {
			refunded += other.amount
		}
	}
	if refunded+*req.Amount.Refund > t.total {
		s.mu.Unlock()
		s.writeError(w, http.StatusForbidden, "NOT_ENOUGH", "申请退款金额超过订单可退金额: "+yuan(t.total-refunded)+" remains refundable")
		return
	}
	now := s.now()
	rf := &refund{
		outRefundNo: req.OutRefundNo,
		refundID:    "50" + randDigits(27),
		trade:       t,
		amount:      *req.Amount.Refund,
		reason:      req.Reason,
		notifyURL:   req.NotifyURL,
		status:      refundProcessing,
		created:     now,
	}
	if rf.notifyURL == "" {
		rf.notifyURL = t.notifyURL
	}
	s.refunds[rf.outRefundNo] = rf
	t.refunds = append(t.refunds, rf)
	t.state = stateRefund
	t.unsplit = max(0, t.unsplit-rf.amount)
	view := s.refundView(rf)
	s.mu.Unlock()

	s.log.Info("refund accepted", "out_trade_no", t.outTradeNo, "out_refund_no", rf.outRefundNo, "refund", rf.amount)
	go func() {
		select {
		case <-s.ctx.Done():
		case <-time.After(s.refundDelay):
			s.completeRefund(rf)
		}
	}()
	s.writeJSON(w, http.StatusOK, view)
}

// completeRefund makes a PROCESSING refund SUCCESS and notifies it.
func (s *Sandbox) completeRefund(rf *refund) {
	s.mu.Lock()
	if rf.status != refundProcessing {
		s.mu.Unlock()
		return
	}
	rf.status = refundSuccess
	rf.succeeded = s.now()
	t := rf.trade
	res := refundNotifyJSON{
		MchID:               s.cfg.MchID,
		OutTradeNo:          t.outTradeNo,
		TransactionID:       t.transactionID,
		OutRefundNo:         rf.outRefundNo,
		RefundID:            rf.refundID,
		RefundStatus:        rf.status,
		SuccessTime:         fmtTime(rf.succeeded),
		UserReceivedAccount: receivedAccount(t),
	}
	res.Amount.Total, res.Amount.Refund = t.total, rf.amount
	res.Amount.PayerTotal, res.Amount.PayerRefund = t.total, rf.amount
	notifyURL := rf.notifyURL
	s.mu.Unlock()

	s.log.Info("refund succeeded", "out_refund_no", rf.outRefundNo)
	s.notify(notifyURL, "REFUND.SUCCESS", "退款成功", "refund", res)
}

// handleQueryRefund serves GET /v3/refund/domestic/refunds/{out_refund_no}.
func (s *Sandbox) handleQueryRefund(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	rf := s.refunds[r.PathValue("out_refund_no")]
	if rf == nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
		return
	}
	view := s.refundView(rf)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, view)
}
