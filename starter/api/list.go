package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/workflows"
)

// List page sizes.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// orderWorkflowType is the order workflow's registered type name.
const orderWorkflowType = "OrderWorkflow"

// orderStates are the values the state filter accepts.
var orderStates = []workflows.OrderState{
	workflows.StateValidating, workflows.StateRejected, workflows.StateAwaitingPayment,
	workflows.StateExpired, workflows.StatePaymentMismatch, workflows.StatePaid,
	workflows.StateAwaitingClearance, workflows.StateDeclarationFailed, workflows.StateCustomsRejected,
	workflows.StateAwaitingShipment, workflows.StateAwaitingConfirmation, workflows.StateReleasing,
	workflows.StateCompleted, workflows.StateCancelling, workflows.StateCancelled,
	workflows.StateRefunding, workflows.StateRefunded, workflows.StateCompensating,
	workflows.StateNeedsAttention,
}

// customsStates are the values the customs filter accepts.
var customsStates = []workflows.CustomsStatus{
	workflows.CustomsNotDeclared, workflows.CustomsDeclaring, workflows.CustomsDeclared,
	workflows.CustomsDeclaredOutOfBand, workflows.CustomsDeclarationFailed, workflows.CustomsCleared,
	workflows.CustomsRejected, workflows.CustomsCancelled,
}

// orderSummary is one order of a list.
type orderSummary struct {
	OrderID         string     `json:"orderId"`
	MerchantOrderNo string     `json:"merchantOrderNo"`
	State           string     `json:"state,omitempty"`
	Provider        string     `json:"provider,omitempty"`
	CustomsStatus   string     `json:"customsStatus,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	ClosedAt        *time.Time `json:"closedAt,omitzero"`
	Open            bool       `json:"open"`
}

// orderList answers GET /v1/orders.
type orderList struct {
	Orders        []orderSummary `json:"orders"`
	NextPageToken string         `json:"nextPageToken,omitempty"`
}

// pageToken wraps Temporal's page token with the query it belongs to, so that
// a token is only good for the same merchant and filters.
type pageToken struct {
	Query []byte `json:"q"`
	Token []byte `json:"t"`
}

// listFilters are the query parameters of GET /v1/orders.
var listFilters = map[string]bool{"state": true, "provider": true, "customs": true, "from": true, "to": true, "pageSize": true, "pageToken": true}

// quote renders a value already checked against an enum or a strict pattern
// as a visibility query string literal. The checks are what make it safe;
// this only refuses, as a second line, anything with a quote or backslash.
func quote(v string) (string, error) {
	if strings.ContainsAny(v, `'"\`) {
		return "", fmt.Errorf("unsafe value %q", v)
	}
	return "'" + v + "'", nil
}

// buildListQuery builds the visibility query from validated filters.
func buildListQuery(merchantID string, q map[string][]string) (string, *Problem) {
	for k, vs := range q {
		if !listFilters[k] {
			return "", badField(k, "unknown query parameter")
		}
		if len(vs) != 1 {
			return "", badField(k, "give the parameter once")
		}
	}
	get := func(k string) string {
		if vs := q[k]; len(vs) == 1 {
			return vs[0]
		}
		return ""
	}
	if !merchantIDPattern.MatchString(merchantID) {
		return "", problem(http.StatusInternalServerError, CodeInternal, "", "bad merchant id")
	}
	clauses := []string{"WorkflowType = '" + orderWorkflowType + "'", "MerchantId = '" + merchantID + "'"}
	add := func(attr, v string) *Problem {
		lit, err := quote(v)
		if err != nil {
			return problem(http.StatusInternalServerError, CodeInternal, "", "unsafe filter")
		}
		clauses = append(clauses, attr+" = "+lit)
		return nil
	}
	if v := get("state"); v != "" {
		if !contains(orderStates, workflows.OrderState(v)) {
			return "", badField("state", "unknown order state %q", v)
		}
		if p := add(searchattr.OrderState.GetName(), v); p != nil {
			return "", p
		}
	}
	if v := get("provider"); v != "" {
		if !providers.Name(v).Valid() {
			return "", badField("provider", "must be one of alipay, wechatpay, card; got %q", v)
		}
		if p := add(searchattr.Provider.GetName(), v); p != nil {
			return "", p
		}
	}
	if v := get("customs"); v != "" {
		if !contains(customsStates, workflows.CustomsStatus(v)) {
			return "", badField("customs", "unknown customs status %q", v)
		}
		if p := add(searchattr.CustomsStatus.GetName(), v); p != nil {
			return "", p
		}
	}
	var from, to time.Time
	for _, f := range []struct {
		name string
		op   string
		dst  *time.Time
	}{{"from", ">=", &from}, {"to", "<", &to}} {
		v := get(f.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "", badField(f.name, "must be an RFC 3339 time like 2025-06-01T00:00:00Z")
		}
		*f.dst = t
		clauses = append(clauses, "StartTime "+f.op+" '"+t.UTC().Format(time.RFC3339Nano)+"'")
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return "", badField("to", "must be after from")
	}
	// No ORDER BY: not every visibility store supports it, and their default
	// order is the one wanted, open orders first, then the newest first.
	return strings.Join(clauses, " AND "), nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// listOrders is GET /v1/orders: the merchant's orders from the visibility
// store in its order (open orders first, then newest first); the list may
// lag the orders by a second or so.
func (s *server) listOrders(w http.ResponseWriter, r *http.Request, m Merchant) {
	q := r.URL.Query()
	pageSize := defaultPageSize
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			writeProblem(w, badField("pageSize", "must be 1 to %d", maxPageSize))
			return
		}
		pageSize = n
	}
	query, p := buildListQuery(m.ID, q)
	if p != nil {
		writeProblem(w, p)
		return
	}
	queryHash := sha256.Sum256([]byte(query))
	var token []byte
	if v := q.Get("pageToken"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		var pt pageToken
		if err != nil || json.Unmarshal(raw, &pt) != nil || string(pt.Query) != string(queryHash[:8]) || len(pt.Token) == 0 {
			writeProblem(w, badField("pageToken", "is not a token of this list (same filters needed)"))
			return
		}
		token = pt.Token
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	resp, err := s.cfg.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		PageSize: int32(pageSize), NextPageToken: token, Query: query,
	})
	if err != nil {
		writeProblem(w, s.temporalProblem(ctx, "list", err))
		return
	}
	out := orderList{Orders: make([]orderSummary, 0, len(resp.GetExecutions()))}
	for _, ex := range resp.GetExecutions() {
		id := ex.GetExecution().GetWorkflowId()
		merchantID, orderNo, ok := splitOrderID(id)
		if !ok || merchantID != m.ID {
			continue // never show anything but the caller's orders
		}
		sum := orderSummary{
			OrderID: id, MerchantOrderNo: orderNo,
			State:         keyword(ex.GetSearchAttributes(), searchattr.OrderState.GetName()),
			Provider:      keyword(ex.GetSearchAttributes(), searchattr.Provider.GetName()),
			CustomsStatus: keyword(ex.GetSearchAttributes(), searchattr.CustomsStatus.GetName()),
			Open:          ex.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		}
		if t := ex.GetStartTime(); t != nil {
			sum.CreatedAt = t.AsTime().UTC()
		}
		if t := ex.GetCloseTime(); t != nil && !sum.Open {
			ct := t.AsTime().UTC()
			sum.ClosedAt = &ct
		}
		out.Orders = append(out.Orders, sum)
	}
	if next := resp.GetNextPageToken(); len(next) > 0 {
		b, _ := json.Marshal(pageToken{Query: queryHash[:8], Token: next})
		out.NextPageToken = base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, http.StatusOK, out)
}

// keyword decodes a Keyword search attribute ("" when absent).
func keyword(sa *commonpb.SearchAttributes, name string) string {
	p, ok := sa.GetIndexedFields()[name]
	if !ok {
		return ""
	}
	var v string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		return ""
	}
	return v
}
