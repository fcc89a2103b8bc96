package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/workflows"
)

// memoKey names the memo the API sets on every order it starts.
const memoKey = "xhspay.request"

// requestMemo is the memo of an order started by the API: what it takes to
// answer a repeated create request (idempotency) and to show the buyer masked.
// It holds no personal data in clear: field hashes are salted with the order
// id, and memos go through the client's data converter (and its codec).
type requestMemo struct {
	// Version is the memo's format version.
	Version int `json:"v"`
	// RequestID identifies the request that started the order.
	RequestID string `json:"requestId"`
	// Hash is one hash over Fields.
	Hash string `json:"hash"`
	// Fields hashes each field that decides what the order is.
	Fields map[string]string `json:"fields"`
	// Buyer is the buyer, masked.
	Buyer maskedBuyer `json:"buyer"`
}

// orderInfo is what DescribeWorkflowExecution says about an order.
type orderInfo struct {
	id      string
	running bool
	status  enumspb.WorkflowExecutionStatus
	memo    *requestMemo
	started time.Time
	closed  time.Time
}

// checkoutResponse answers POST /v1/orders.
type checkoutResponse struct {
	OrderID         string               `json:"orderId"`
	MerchantOrderNo string               `json:"merchantOrderNo"`
	State           workflows.OrderState `json:"state"`
	Total           money.Amount         `json:"total"`
	Tax             money.Amount         `json:"tax"`
	QRCode          string               `json:"qrCode,omitempty"`
	PayURL          string               `json:"payUrl,omitempty"`
	ExpiresAt       *time.Time           `json:"expiresAt,omitempty"`
	LastError       *workflows.StepError `json:"lastError,omitempty"`
	Rejection       *workflows.Rejection `json:"rejection,omitempty"`
}

// orderResponse answers GET /v1/orders/{id} and the order actions.
type orderResponse struct {
	workflows.OrderView
	// Buyer is the buyer, masked (absent for orders not started through the API).
	Buyer *maskedBuyer `json:"buyer,omitempty"`
	// Open reports whether the order's workflow still runs.
	Open bool `json:"open"`
}

// orderRef checks the {id} path parameter: a well-formed order id of the
// calling merchant. Another merchant's order is answered 404, exactly like
// one that does not exist.
func orderRef(r *http.Request, m Merchant) (string, *Problem) {
	id := r.PathValue("id")
	merchantID, orderNo, ok := splitOrderID(id)
	if !ok || merchantID != m.ID || !merchantOrderNoPattern.MatchString(orderNo) {
		return "", notFound("order")
	}
	return id, nil
}

// splitOrderID splits "order-<merchantId>-<merchantOrderNo>"; merchant ids
// have no '-', so the first '-' after the prefix ends the merchant id.
func splitOrderID(id string) (merchantID, orderNo string, ok bool) {
	rest, found := strings.CutPrefix(id, "order-")
	if !found {
		return "", "", false
	}
	merchantID, orderNo, found = strings.Cut(rest, "-")
	if !found || !merchantIDPattern.MatchString(merchantID) || orderNo == "" || len(orderNo) > 64 {
		return "", "", false
	}
	return merchantID, orderNo, true
}

// temporalProblem maps a Temporal failure of a call about an order.
func (s *server) temporalProblem(ctx context.Context, op string, err error) *Problem {
	switch {
	case isNotFound(err):
		return notFound("order")
	case temporalUnavailable(err):
		s.logger(ctx).Warn("temporal unavailable", "op", op, "err", err)
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "", "the order service is not answering; retry the same request")
	}
	if p := updateProblem(err); p != nil {
		return p
	}
	s.logger(ctx).Error("temporal call failed", "op", op, "err", err)
	return problem(http.StatusInternalServerError, CodeInternal, "", "internal error")
}

// describeOrder describes an order's workflow; a nil info means none exists.
func (s *server) describeOrder(ctx context.Context, id string) (*orderInfo, error) {
	resp, err := s.cfg.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	info := resp.GetWorkflowExecutionInfo()
	oi := &orderInfo{
		id:      id,
		status:  info.GetStatus(),
		running: info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}
	if t := info.GetStartTime(); t != nil {
		oi.started = t.AsTime()
	}
	if t := info.GetCloseTime(); t != nil {
		oi.closed = t.AsTime()
	}
	if p, ok := info.GetMemo().GetFields()[memoKey]; ok {
		var m requestMemo
		if err := s.dc.FromPayload(p, &m); err != nil {
			s.logger(ctx).Warn("order memo unreadable", "order", id, "err", err)
		} else {
			oi.memo = &m
		}
	}
	return oi, nil
}

// orderView returns an order's state: the state query while the workflow
// runs (or ended other than by completing), the workflow's result once it completed.
func (s *server) orderView(ctx context.Context, info *orderInfo) (workflows.OrderView, error) {
	var v workflows.OrderView
	if info.status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := s.cfg.Temporal.GetWorkflow(ctx, info.id, "").Get(ctx, &v); err == nil {
			return v, nil
		}
	}
	val, err := s.cfg.Temporal.QueryWorkflow(ctx, info.id, "", workflows.QueryState)
	if err != nil {
		return v, err
	}
	if err := val.Get(&v); err != nil {
		return v, fmt.Errorf("decode order state: %w", err)
	}
	return v, nil
}

// createOrder is POST /v1/orders: Update-with-Start of the order workflow,
// answered once the payment session exists.
func (s *server) createOrder(w http.ResponseWriter, r *http.Request, m Merchant) {
	var req createOrderRequest
	if p := decodeJSON(w, r, &req, false); p != nil {
		writeProblem(w, p)
		return
	}
	draft, p := validateCreate(req)
	if p != nil {
		writeProblem(w, p)
		return
	}
	in := draft.input
	in.MerchantID, in.HomeCurrency = m.ID, m.HomeCurrency
	d := s.cfg.Defaults
	if in.PaymentExpiry == 0 {
		in.PaymentExpiry = d.PaymentExpiry
	}
	in.AutoConfirmAfter, in.MaxExtensions = d.AutoConfirmAfter, d.MaxExtensions
	in.MaxExtensionTotal, in.ClearanceTimeout, in.Polling = d.MaxExtensionTotal, d.ClearanceTimeout, d.Polling
	if err := workflows.ValidateOrderRef(in.MerchantID, in.MerchantOrderNo); err != nil {
		writeProblem(w, badField("merchantOrderNo", "%v", err))
		return
	}
	id := workflows.OrderWorkflowID(in.MerchantID, in.MerchantOrderNo)
	hashes := fieldHashes(id, draft.canonical)
	memo := requestMemo{Version: 1, RequestID: uuid.NewString(), Hash: requestHash(hashes), Fields: hashes, Buyer: draft.masked}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CreateTimeout)
	defer cancel()
	for range 2 {
		info, err := s.describeOrder(ctx, id)
		if err != nil {
			writeProblem(w, s.createProblem(ctx, err))
			return
		}
		if info != nil {
			s.answerExisting(ctx, w, info, memo, in.MerchantOrderNo)
			return
		}
		res, err := s.updateWithStart(ctx, id, in, memo)
		if isAlreadyStarted(err) {
			continue // started (and perhaps ended) meanwhile: answer as a repeat
		}
		if err != nil {
			writeProblem(w, s.createProblem(ctx, err))
			return
		}
		// A concurrent request may have started the order between the describe
		// and the start: the memo says whose request it was.
		if info, err = s.describeOrder(ctx, id); err == nil && info != nil && info.memo != nil && info.memo.RequestID != memo.RequestID {
			if p := conflict(info.memo, memo, in.MerchantOrderNo); p != nil {
				writeProblem(w, p)
				return
			}
			s.writeCheckout(w, http.StatusOK, in.MerchantOrderNo, res)
			return
		}
		s.logger(ctx).Info("order created", "order", id, "provider", in.Provider, "state", res.State)
		s.writeCheckout(w, http.StatusCreated, in.MerchantOrderNo, res)
		return
	}
	writeProblem(w, problem(http.StatusServiceUnavailable, CodeUnavailable, "", "the order is being started; retry the same request"))
}

// createProblem maps a failure of order creation; a timeout after the start
// asks for a retry of the same request, which finds the order.
func (s *server) createProblem(ctx context.Context, err error) *Problem {
	if temporalUnavailable(err) {
		s.logger(ctx).Warn("order creation did not finish in time", "err", err)
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "",
			"the order service did not answer in time; repeat the same request to get the order's payment details")
	}
	return s.temporalProblem(ctx, "create", err)
}

// updateWithStart starts the order (or reuses the running one) and waits for AwaitCheckout.
func (s *server) updateWithStart(ctx context.Context, id string, in workflows.OrderInput, memo requestMemo) (workflows.CheckoutResult, error) {
	var res workflows.CheckoutResult
	startOp := s.cfg.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                s.cfg.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// An ended order is never started again under the same number.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		Memo:                  map[string]any{memoKey: memo},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.MerchantId.ValueSet(in.MerchantID),
			searchattr.Provider.ValueSet(string(in.Provider)),
			searchattr.OrderState.ValueSet(string(workflows.StateValidating)),
			searchattr.CustomsStatus.ValueSet(string(workflows.CustomsNotDeclared)),
		),
	}, workflows.OrderWorkflow, in)
	h, err := s.cfg.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: startOp,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflows.UpdateAwaitCheckout,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return res, err
	}
	err = h.Get(ctx, &res)
	return res, err
}

// conflict returns the 409 for a repeated merchant order number whose body
// differs from the first request's, naming the differing fields; nil when they agree.
func conflict(stored *requestMemo, ours requestMemo, orderNo string) *Problem {
	if stored == nil {
		return problem(http.StatusConflict, CodeConflict, "merchantOrderNo",
			"merchantOrderNo %s names an order that was not created through this API", orderNo)
	}
	if stored.Hash == ours.Hash {
		return nil
	}
	diff := differingFields(stored.Fields, ours.Fields)
	return problem(http.StatusConflict, CodeConflict, strings.Join(diff, ","),
		"merchantOrderNo %s already names an order with a different %s", orderNo, strings.Join(diff, ", "))
}

// answerExisting answers a create request for an order that exists: 409 when
// the bodies differ, else the order's checkout details (200).
func (s *server) answerExisting(ctx context.Context, w http.ResponseWriter, info *orderInfo, memo requestMemo, orderNo string) {
	if p := conflict(info.memo, memo, orderNo); p != nil {
		writeProblem(w, p)
		return
	}
	if info.running {
		h, err := s.cfg.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID:   info.id,
			UpdateName:   workflows.UpdateAwaitCheckout,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		var res workflows.CheckoutResult
		if err == nil {
			err = h.Get(ctx, &res)
		}
		if err == nil {
			s.writeCheckout(w, http.StatusOK, orderNo, res)
			return
		}
		if !isNotFound(err) { // not just ended meanwhile
			writeProblem(w, s.createProblem(ctx, err))
			return
		}
		info.running = false
	}
	v, err := s.orderView(ctx, info)
	if err != nil {
		writeProblem(w, s.createProblem(ctx, err))
		return
	}
	s.writeCheckout(w, http.StatusOK, orderNo, workflows.CheckoutResult{
		OrderID: v.OrderID, State: v.State, Total: v.Amounts.Total, Tax: v.Amounts.Tax,
		Rejection: v.Rejection, LastError: v.LastError,
	})
}

// writeCheckout answers a create request: 422 naming the rule for a rejected
// order, else status with what the buyer needs to pay.
func (s *server) writeCheckout(w http.ResponseWriter, status int, orderNo string, res workflows.CheckoutResult) {
	if res.State == workflows.StateRejected && res.Rejection != nil {
		rej := res.Rejection
		writeProblem(w, &Problem{status: http.StatusUnprocessableEntity, Code: rej.Rule, Field: jsonField(rej.Field), Message: rej.Message})
		return
	}
	out := checkoutResponse{
		OrderID: res.OrderID, MerchantOrderNo: orderNo, State: res.State, Total: res.Total, Tax: res.Tax,
		QRCode: res.QRCode, PayURL: res.PayURL, LastError: res.LastError, Rejection: res.Rejection,
	}
	if !res.ExpiresAt.IsZero() {
		t := res.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	writeJSON(w, status, out)
}

// getOrder is GET /v1/orders/{id}.
func (s *server) getOrder(w http.ResponseWriter, r *http.Request, m Merchant) {
	id, p := orderRef(r, m)
	if p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	resp, p := s.loadOrder(ctx, id)
	if p != nil {
		writeProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// loadOrder returns an order's state with the buyer masked.
func (s *server) loadOrder(ctx context.Context, id string) (*orderResponse, *Problem) {
	info, err := s.describeOrder(ctx, id)
	if err != nil {
		return nil, s.temporalProblem(ctx, "describe", err)
	}
	if info == nil {
		return nil, notFound("order")
	}
	v, err := s.orderView(ctx, info)
	if err != nil {
		return nil, s.temporalProblem(ctx, "query", err)
	}
	resp := &orderResponse{OrderView: v, Open: info.running}
	if info.memo != nil {
		b := info.memo.Buyer
		resp.Buyer = &b
	}
	if resp.Refunds == nil {
		resp.Refunds = []workflows.RefundView{}
	}
	return resp, nil
}
