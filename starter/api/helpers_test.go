package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/customs"
	"github.com/xhspay/xhspay/workflows"
)

// Valid resident ID numbers (GB 11643 check characters).
const (
	testID      = "110105199003071239"
	otherTestID = "310115198808164569"
	keyM1       = "test-key-merchant-one-0123456789abcdef"
	keyM1Old    = "test-key-merchant-one-rotated-out-000000"
	keyM2       = "test-key-merchant-two-0123456789abcdef"
	keyDisabled = "test-key-disabled-merchant-0123456789ab"
	keyOps      = "test-key-operator-finance-0123456789abc"
)

// fakeParser is a NotificationParser returning a fixed result.
type fakeParser struct {
	n   providers.Notification
	err error
}

func (f *fakeParser) ParseNotification(_ context.Context, r *http.Request) (providers.Notification, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	return f.n, f.err
}

// fakeCustoms is a CustomsParser returning a fixed result.
type fakeCustoms struct {
	ev  customs.Event
	err error
}

func (f *fakeCustoms) ParseNotification(_ context.Context, r *http.Request) (customs.Event, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	return f.ev, f.err
}

// fixture is an API over a mocked Temporal client. The mock fails the test
// on any call no test set up, which is how tests prove that a rejected
// request starts and signals nothing.
type fixture struct {
	t       *testing.T
	tc      *mocks.Client
	srv     *server
	h       http.Handler
	reg     *prometheus.Registry
	parsers map[providers.Name]*fakeParser
	customs *fakeCustoms
	finance *fakeFinance
	payouts *fakePayoutParser
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := NewMemoryMerchantStore(
		Merchant{ID: "m1", Name: "Merchant One", HomeCurrency: money.USD, KeyHashes: []string{HashAPIKey(keyM1), HashAPIKey(keyM1Old)}},
		Merchant{ID: "m2", Name: "Merchant Two", HomeCurrency: money.EUR, KeyHashes: []string{HashAPIKey(keyM2)}},
		Merchant{ID: "m3", Name: "Gone", HomeCurrency: money.GBP, KeyHashes: []string{HashAPIKey(keyDisabled)}, Disabled: true},
		Merchant{ID: "ops", Name: "Platform finance", HomeCurrency: money.CNY, KeyHashes: []string{HashAPIKey(keyOps)}, Operator: true},
	)
	require.NoError(t, err)
	f := &fixture{
		t: t, tc: mocks.NewClient(t), reg: prometheus.NewRegistry(),
		parsers: map[providers.Name]*fakeParser{providers.Alipay: {}, providers.WeChatPay: {}, providers.Card: {}},
		customs: &fakeCustoms{},
		finance: &fakeFinance{}, payouts: &fakePayoutParser{},
	}
	notifiers := map[providers.Name]NotificationParser{}
	for n, p := range f.parsers {
		notifiers[n] = p
	}
	f.srv = newServer(Config{
		Temporal: f.tc, TaskQueue: "orders", Merchants: store, Notifiers: notifiers, Customs: f.customs,
		Finance: f.finance, Payouts: f.payouts,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: f.reg, CallTimeout: 5 * time.Second, CreateTimeout: 5 * time.Second,
	})
	f.h = f.srv.observe(f.srv.mux)
	return f
}

// do sends a request; key "" sends no Authorization header.
func (f *fixture) do(method, path, key, body string, headers ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// problemOf decodes an error answer.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	var p Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
	return p
}

// counter returns the value of xhspay_notify_total{provider,result}.
func (f *fixture) counter(provider, result string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	require.NoError(f.t, err)
	for _, mf := range mfs {
		if mf.GetName() != "xhspay_notify_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["provider"] == provider && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// orderJSON returns a valid create body, changed by mut (on its generic form).
func orderJSON(t *testing.T, mut func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{
		"merchantOrderNo": "A1001",
		"provider":        "alipay",
		"buyer":           map[string]any{"name": "张三", "idNumber": testID, "phone": "13800138000"},
		"items": []any{map[string]any{
			"sku": "SKU-1", "name": "Face cream", "category": "cosmetics", "registrationNo": "G2019001",
			"quantity": 2, "unitPrice": map[string]any{"value": "199.00", "currency": "CNY"},
		}},
		"freight": map[string]any{"value": "20.00", "currency": "CNY"},
	}
	if mut != nil {
		mut(m)
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

// item returns the first item of a generic order body.
func item(m map[string]any) map[string]any { return m["items"].([]any)[0].(map[string]any) }

// memoFor computes the memo a create request leaves on its order.
func memoFor(t *testing.T, merchantID, body, requestID string) requestMemo {
	t.Helper()
	var req createOrderRequest
	require.NoError(t, json.Unmarshal([]byte(body), &req))
	d, p := validateCreate(req)
	require.Nil(t, p)
	id := workflows.OrderWorkflowID(merchantID, req.MerchantOrderNo)
	h := fieldHashes(id, d.canonical)
	return requestMemo{Version: 1, RequestID: requestID, Hash: requestHash(h), Fields: h, Buyer: d.masked}
}

// describeResp is a DescribeWorkflowExecution answer.
func describeResp(t *testing.T, status enumspb.WorkflowExecutionStatus, memo *requestMemo) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	info := &workflowpb.WorkflowExecutionInfo{Status: status, StartTime: timestamppb.New(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))}
	if memo != nil {
		p, err := converter.GetDefaultDataConverter().ToPayload(*memo)
		require.NoError(t, err)
		info.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{memoKey: p}}
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}
}

// expectDescribe sets up one DescribeWorkflowExecution answer.
func (f *fixture) expectDescribe(id string, resp *workflowservice.DescribeWorkflowExecutionResponse, err error) *mock.Call {
	return f.tc.On("DescribeWorkflowExecution", mock.Anything, id, "").Return(resp, err).Once()
}

// expectNoOrder answers DescribeWorkflowExecution with NotFound.
func (f *fixture) expectNoOrder(id string) *mock.Call {
	return f.expectDescribe(id, nil, serviceerror.NewNotFound("workflow not found"))
}

// expectQuery answers the state query with v.
func (f *fixture) expectQuery(id string, v any) *mock.Call {
	val := &mocks.Value{}
	val.On("Get", mock.Anything).Run(func(args mock.Arguments) {
		b, _ := json.Marshal(v)
		_ = json.Unmarshal(b, args.Get(0))
	}).Return(nil)
	return f.tc.On("QueryWorkflow", mock.Anything, id, "", workflows.QueryState).Return(val, nil).Once()
}

// updateHandle is a completed update whose result is v (or err).
func updateHandle(v any, err error) *mocks.WorkflowUpdateHandle {
	h := &mocks.WorkflowUpdateHandle{}
	call := h.On("Get", mock.Anything, mock.Anything)
	if err != nil {
		call.Return(err)
		return h
	}
	call.Run(func(args mock.Arguments) {
		b, _ := json.Marshal(v)
		_ = json.Unmarshal(b, args.Get(1))
	}).Return(nil)
	return h
}

// expectUpdate expects one update named name of the workflow id; it answers
// result, or fails with err.
func (f *fixture) expectUpdate(id, name string, result any, err error) *mock.Call {
	return f.tc.On("UpdateWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWorkflowOptions) bool {
		return o.WorkflowID == id && o.UpdateName == name && o.WaitForStage == client.WorkflowUpdateStageCompleted
	})).Return(updateHandle(result, err), nil).Once()
}
