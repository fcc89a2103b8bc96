package api

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/workflows"
)

// The shipment fields' patterns, as the workflows check them.
var (
	carrierPattern      = regexp.MustCompile(`^[\p{L}\p{N} ._&()-]{1,64}$`)
	trackingNoPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	refundNoPathPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
)

// shipmentRequest is the body of POST /v1/orders/{id}/shipment.
type shipmentRequest struct {
	Carrier    string `json:"carrier"`
	TrackingNo string `json:"trackingNo"`
}

// confirmRequest is the (optional) body of POST /v1/orders/{id}/confirm-receipt.
type confirmRequest struct {
	By string `json:"by,omitempty"`
}

// extendRequest is the body of POST /v1/orders/{id}/extend-confirmation.
type extendRequest struct {
	Days   int    `json:"days"`
	Reason string `json:"reason"`
}

// cancelRequest is the body of POST /v1/orders/{id}/cancel.
type cancelRequest struct {
	Reason string `json:"reason"`
}

// refundItemJSON names a quantity of one item of the order.
type refundItemJSON struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// refundRequest is the body of POST /v1/orders/{id}/refunds.
type refundRequest struct {
	RefundNo         string           `json:"refundNo"`
	Amount           amountJSON       `json:"amount"`
	Items            []refundItemJSON `json:"items,omitempty"`
	Reason           string           `json:"reason"`
	ReturnGoods      bool             `json:"returnGoods,omitempty"`
	OperatorApproved bool             `json:"operatorApproved,omitempty"`
}

// returnShipmentRequest is the body of POST /v1/orders/{id}/refunds/{refundNo}/return-shipment.
type returnShipmentRequest struct {
	TrackingNo string `json:"trackingNo"`
	Carrier    string `json:"carrier,omitempty"`
}

// maxRefundAmount bounds a refund far above any CBEC order.
var maxRefundAmount = money.MustParse("1000000.00", money.CNY)

// update sends an update to a workflow and waits for its result. An update to
// an ended workflow answers 409 order_closed; to none, 404.
func (s *server) update(ctx context.Context, workflowID, name string, arg, out any) *Problem {
	h, err := s.cfg.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	if err == nil {
		return nil
	}
	if isNotFound(err) {
		if info, derr := s.describeOrder(ctx, workflowID); derr == nil && info != nil && !info.running {
			return problem(http.StatusConflict, CodeOrderClosed, "", "the order's workflow has ended; it takes no more changes")
		}
	}
	return s.temporalProblem(ctx, name, err)
}

// orderAction runs an update of the order that returns the OrderView and
// answers with the order (buyer masked).
func (s *server) orderAction(w http.ResponseWriter, r *http.Request, m Merchant, name string, arg any) {
	id, p := orderRef(r, m)
	if p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	var v workflows.OrderView
	if p := s.update(ctx, id, name, arg, &v); p != nil {
		writeProblem(w, p)
		return
	}
	resp := &orderResponse{OrderView: v, Open: true}
	if info, err := s.describeOrder(ctx, id); err == nil && info != nil && info.memo != nil {
		b := info.memo.Buyer
		resp.Buyer = &b
	}
	if resp.Refunds == nil {
		resp.Refunds = []workflows.RefundView{}
	}
	s.logger(ctx).Info("order updated", "order", id, "update", name, "state", v.State)
	writeJSON(w, http.StatusOK, resp)
}

// ship is POST /v1/orders/{id}/shipment.
func (s *server) ship(w http.ResponseWriter, r *http.Request, m Merchant) {
	var req shipmentRequest
	if p := decodeJSON(w, r, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	req.Carrier = strings.TrimSpace(req.Carrier)
	if !carrierPattern.MatchString(req.Carrier) {
		writeProblem(w, badField("carrier", "must be 1-64 letters, digits, spaces or ._&()-"))
		return
	}
	if !trackingNoPattern.MatchString(req.TrackingNo) {
		writeProblem(w, badField("trackingNo", "must be 1-64 characters of [A-Za-z0-9_-]"))
		return
	}
	s.orderAction(w, r, m, workflows.UpdateShipped, workflows.Shipment{Carrier: req.Carrier, TrackingNo: req.TrackingNo})
}

// confirmReceipt is POST /v1/orders/{id}/confirm-receipt.
func (s *server) confirmReceipt(w http.ResponseWriter, r *http.Request, m Merchant) {
	var req confirmRequest
	if p := decodeJSON(w, r, &req, true); p != nil {
		writeProblem(w, p)
		return
	}
	if p := checkText("by", req.By, false, maxCarrierRunes); p != nil {
		writeProblem(w, p)
		return
	}
	s.orderAction(w, r, m, workflows.UpdateConfirmReceipt, workflows.Confirmation{By: req.By})
}

// extendConfirmation is POST /v1/orders/{id}/extend-confirmation.
func (s *server) extendConfirmation(w http.ResponseWriter, r *http.Request, m Merchant) {
	var req extendRequest
	if p := decodeJSON(w, r, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	if req.Days < 1 || req.Days > maxExtensionDays {
		writeProblem(w, badField("days", "must be 1 to %d, got %d", maxExtensionDays, req.Days))
		return
	}
	if p := checkText("reason", req.Reason, true, maxTextRunes); p != nil {
		writeProblem(w, p)
		return
	}
	s.orderAction(w, r, m, workflows.UpdateExtendConfirmation, workflows.Extension{Days: req.Days, Reason: req.Reason})
}

// cancel is POST /v1/orders/{id}/cancel.
func (s *server) cancel(w http.ResponseWriter, r *http.Request, m Merchant) {
	var req cancelRequest
	if p := decodeJSON(w, r, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	if p := checkText("reason", req.Reason, true, maxTextRunes); p != nil {
		writeProblem(w, p)
		return
	}
	s.orderAction(w, r, m, workflows.UpdateCancel, workflows.Cancel{Reason: req.Reason, By: "merchant"})
}

// requestRefund is POST /v1/orders/{id}/refunds: the validated RequestRefund
// update. 201 with the refund; 200 when the same refund was asked before; 422
// naming the rule when the order refuses it (over-refund, state, ...).
func (s *server) requestRefund(w http.ResponseWriter, r *http.Request, m Merchant) {
	var req refundRequest
	if p := decodeJSON(w, r, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	if err := workflows.ValidateRefundNo(req.RefundNo); err != nil {
		writeProblem(w, badField("refundNo", "must be 1-64 characters of [A-Za-z0-9_], not starting with xhs_"))
		return
	}
	amount, p := parseCNY("amount", req.Amount, false, maxRefundAmount)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if p := checkText("reason", req.Reason, true, maxTextRunes); p != nil {
		writeProblem(w, p)
		return
	}
	if len(req.Items) > maxItems {
		writeProblem(w, badField("items", "at most %d items", maxItems))
		return
	}
	refs := make([]workflows.ItemRef, 0, len(req.Items))
	for i, it := range req.Items {
		f := "items[" + strconv.Itoa(i) + "]"
		if !skuPattern.MatchString(it.SKU) {
			writeProblem(w, badField(f+".sku", "must be 1-64 characters of [A-Za-z0-9._-]"))
			return
		}
		if it.Quantity < 1 || it.Quantity > maxQuantity {
			writeProblem(w, badField(f+".quantity", "must be 1 to %d, got %d", maxQuantity, it.Quantity))
			return
		}
		refs = append(refs, workflows.ItemRef{SKU: it.SKU, Quantity: it.Quantity})
	}
	id, p := orderRef(r, m)
	if p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	existed := false
	if info, err := s.describeOrder(ctx, id); err == nil && info != nil {
		if v, err := s.orderView(ctx, info); err == nil {
			existed = findRefund(v.Refunds, req.RefundNo) != nil
		}
	}
	var view workflows.RefundView
	wr := workflows.RefundRequest{RefundNo: req.RefundNo, Amount: amount, Items: refs, Reason: req.Reason,
		ReturnGoods: req.ReturnGoods, OperatorApproved: req.OperatorApproved}
	if p := s.update(ctx, id, workflows.UpdateRequestRefund, wr, &view); p != nil {
		writeProblem(w, p)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	s.logger(ctx).Info("refund requested", "order", id, "refund", req.RefundNo, "state", view.State)
	writeJSON(w, status, view)
}

// findRefund returns the refund with the number, or nil.
func findRefund(refunds []workflows.RefundView, refundNo string) *workflows.RefundView {
	for i := range refunds {
		if refunds[i].RefundNo == refundNo {
			return &refunds[i]
		}
	}
	return nil
}

// refundRef resolves {id} and {refundNo} to the order's refund (404 when
// either is unknown or the order is another merchant's).
func (s *server) refundRef(ctx context.Context, r *http.Request, m Merchant) (string, *workflows.RefundView, *Problem) {
	id, p := orderRef(r, m)
	if p != nil {
		return "", nil, p
	}
	refundNo := r.PathValue("refundNo")
	if !refundNoPathPattern.MatchString(refundNo) {
		return "", nil, notFound("refund")
	}
	info, err := s.describeOrder(ctx, id)
	if err != nil {
		return "", nil, s.temporalProblem(ctx, "describe", err)
	}
	if info == nil {
		return "", nil, notFound("order")
	}
	v, err := s.orderView(ctx, info)
	if err != nil {
		return "", nil, s.temporalProblem(ctx, "query", err)
	}
	rv := findRefund(v.Refunds, refundNo)
	if rv == nil {
		return "", nil, notFound("refund")
	}
	return id, rv, nil
}

// getRefund is GET /v1/orders/{id}/refunds/{refundNo}: the refund workflow's
// own view (with the return and timeline) when it answers, else the order's.
func (s *server) getRefund(w http.ResponseWriter, r *http.Request, m Merchant) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	_, rv, p := s.refundRef(ctx, r, m)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if rv.WorkflowID != "" {
		if val, err := s.cfg.Temporal.QueryWorkflow(ctx, rv.WorkflowID, "", workflows.QueryState); err == nil {
			var full workflows.RefundView
			if val.Get(&full) == nil && full.RefundNo == rv.RefundNo {
				writeJSON(w, http.StatusOK, full)
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, rv)
}

// returnShipment is POST /v1/orders/{id}/refunds/{refundNo}/return-shipment:
// the ReturnShipped update of the refund workflow.
func (s *server) returnShipment(w http.ResponseWriter, r *http.Request, m Merchant) {
	var req returnShipmentRequest
	if p := decodeJSON(w, r, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	if !trackingNoPattern.MatchString(req.TrackingNo) {
		writeProblem(w, badField("trackingNo", "must be 1-64 characters of [A-Za-z0-9_-]"))
		return
	}
	req.Carrier = strings.TrimSpace(req.Carrier)
	if req.Carrier != "" && !carrierPattern.MatchString(req.Carrier) {
		writeProblem(w, badField("carrier", "must be 1-64 letters, digits, spaces or ._&()-"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	_, rv, p := s.refundRef(ctx, r, m)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if rv.WorkflowID == "" {
		writeProblem(w, problem(http.StatusUnprocessableEntity, workflows.RuleReturnShipmentState, "",
			"the refund has not started yet; retry in a moment"))
		return
	}
	var view workflows.RefundView
	if p := s.update(ctx, rv.WorkflowID, workflows.UpdateReturnShipped,
		workflows.ReturnShipment{TrackingNo: req.TrackingNo, Carrier: req.Carrier}, &view); p != nil {
		if p.Code == CodeOrderClosed {
			p.Message = "the refund has ended; it takes no more changes"
		}
		writeProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, view)
}
