package wechatpay

import (
	"net/http"
	"time"
)

// psOrder is a profit-sharing order; the sandbox only makes unfreeze orders,
// which return all remaining frozen funds to the merchant.
type psOrder struct {
	orderID       string
	outOrderNo    string
	transactionID string
	amount        int64
	description   string
	created       time.Time
	finishAt      time.Time
	detailID      string
}

// psReceiverJSON is one receiver line of a profit-sharing order.
type psReceiverJSON struct {
	Amount      int64  `json:"amount"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Account     string `json:"account"`
	Result      string `json:"result"`
	DetailID    string `json:"detail_id"`
	CreateTime  string `json:"create_time"`
	FinishTime  string `json:"finish_time,omitempty"`
}

// psOrderJSON is a profit-sharing order as answered.
type psOrderJSON struct {
	TransactionID string           `json:"transaction_id"`
	OutOrderNo    string           `json:"out_order_no"`
	OrderID       string           `json:"order_id"`
	State         string           `json:"state"`
	Receivers     []psReceiverJSON `json:"receivers"`
}

// psView renders o at now.
func (s *Sandbox) psView(o *psOrder) psOrderJSON {
	state, result, finish := "PROCESSING", "PENDING", ""
	if !s.now().Before(o.finishAt) {
		state, result, finish = "FINISHED", "SUCCESS", fmtTime(o.finishAt)
	}
	return psOrderJSON{
		TransactionID: o.transactionID,
		OutOrderNo:    o.outOrderNo,
		OrderID:       o.orderID,
		State:         state,
		Receivers: []psReceiverJSON{{
			Amount:      o.amount,
			Description: "解冻给分账方",
			Type:        "MERCHANT_ID",
			Account:     s.cfg.MchID,
			Result:      result,
			DetailID:    o.detailID,
			CreateTime:  fmtTime(o.created),
			FinishTime:  finish,
		}},
	}
}

// handleUnfreeze serves POST /v3/profitsharing/orders/unfreeze: the
// remaining frozen funds of a profit-sharing order go to the merchant.
// Repeating an out_order_no returns that order.
func (s *Sandbox) handleUnfreeze(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req struct {
		TransactionID string `json:"transaction_id"`
		OutOrderNo    string `json:"out_order_no"`
		Description   string `json:"description"`
	}
	if !s.decode(w, body, &req) {
		return
	}
	switch {
	case req.TransactionID == "":
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "transaction_id is required")
		return
	case !outRefundNoPattern.MatchString(req.OutOrderNo):
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "out_order_no is required, 1-64 characters of [0-9A-Za-z_-|*@]")
		return
	case req.Description == "" || len(req.Description) > 80:
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "description is required, at most 80 bytes")
		return
	}
	s.mu.Lock()
	t := s.byTxID[req.TransactionID]
	if t == nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
		return
	}
	if o, ok := s.psOrders[req.OutOrderNo]; ok {
		if o.transactionID != t.transactionID {
			s.mu.Unlock()
			s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "out_order_no is already used by another order")
			return
		}
		view := s.psView(o)
		s.mu.Unlock()
		s.writeJSON(w, http.StatusOK, view)
		return
	}
	if !t.profitSharing {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "非分账订单不支持解冻剩余资金")
		return
	}
	if t.unsplit == 0 {
		s.mu.Unlock()
		s.writeError(w, http.StatusForbidden, "NOT_ENOUGH", "分账金额为0: no frozen funds remain")
		return
	}
	now := s.now()
	o := &psOrder{
		orderID:       "30" + randDigits(26),
		outOrderNo:    req.OutOrderNo,
		transactionID: t.transactionID,
		amount:        t.unsplit,
		description:   req.Description,
		created:       now,
		finishAt:      now.Add(s.cfg.UnfreezeDelay),
		detailID:      "3601" + randDigits(25),
	}
	t.unsplit = 0
	s.psOrders[o.outOrderNo] = o
	view := s.psView(o)
	s.mu.Unlock()
	s.log.Info("profit sharing unfrozen", "transaction_id", t.transactionID, "out_order_no", o.outOrderNo, "amount", o.amount)
	s.writeJSON(w, http.StatusOK, view)
}

// handleQueryProfitSharing serves GET /v3/profitsharing/orders/{out_order_no}?transaction_id=.
func (s *Sandbox) handleQueryProfitSharing(w http.ResponseWriter, r *http.Request, _ []byte) {
	txID := r.URL.Query().Get("transaction_id")
	if txID == "" {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "query parameter transaction_id is required")
		return
	}
	s.mu.Lock()
	o := s.psOrders[r.PathValue("out_order_no")]
	if o == nil || o.transactionID != txID {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "记录不存在")
		return
	}
	view := s.psView(o)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, view)
}

// handleUnsplitAmount serves GET /v3/profitsharing/transactions/{transaction_id}/amounts:
// the funds of a paid order still frozen for profit sharing (0 for an order
// that is not a profit-sharing order or has been unfrozen).
func (s *Sandbox) handleUnsplitAmount(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	t := s.byTxID[r.PathValue("transaction_id")]
	if t == nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
		return
	}
	res := struct {
		TransactionID string `json:"transaction_id"`
		UnsplitAmount int64  `json:"unsplit_amount"`
	}{t.transactionID, t.unsplit}
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, res)
}
