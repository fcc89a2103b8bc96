package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/workflows"
)

func TestCreateOrderRejectsBadInputWithoutStartingAnything(t *testing.T) {
	long := strings.Repeat("A", 33)
	tests := []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
		field  string
	}{
		{"not JSON", "{", "", 400, CodeInvalidRequest, ""},
		{"unknown field", orderJSON(t, func(m map[string]any) { m["discount"] = "1" }), "", 400, CodeInvalidRequest, "discount"},
		{"trailing data", orderJSON(t, nil) + "{}", "", 400, CodeInvalidRequest, ""},
		{"not JSON content type", orderJSON(t, nil), "text/plain", 415, CodeUnsupportedMediaType, ""},
		{"order no charset", orderJSON(t, func(m map[string]any) { m["merchantOrderNo"] = "A 1" }), "", 400, CodeInvalidField, "merchantOrderNo"},
		{"order no too long", orderJSON(t, func(m map[string]any) { m["merchantOrderNo"] = long }), "", 400, CodeInvalidField, "merchantOrderNo"},
		{"order no missing", orderJSON(t, func(m map[string]any) { delete(m, "merchantOrderNo") }), "", 400, CodeInvalidField, "merchantOrderNo"},
		{"provider unknown", orderJSON(t, func(m map[string]any) { m["provider"] = "paypal" }), "", 400, CodeInvalidField, "provider"},
		{"scene unknown", orderJSON(t, func(m map[string]any) { m["scene"] = "app" }), "", 400, CodeInvalidField, "scene"},
		{"instalments off alipay", orderJSON(t, func(m map[string]any) {
			m["provider"] = "wechatpay"
			m["instalments"] = map[string]any{"count": 3}
		}), "", 400, CodeInvalidField, "instalments"},
		{"instalment count", orderJSON(t, func(m map[string]any) { m["instalments"] = map[string]any{"count": 5} }), "", 400, CodeInvalidField, "instalments.count"},
		{"payment expiry too short", orderJSON(t, func(m map[string]any) { m["paymentExpirySeconds"] = 59 }), "", 400, CodeInvalidField, "paymentExpirySeconds"},
		{"payment expiry too long", orderJSON(t, func(m map[string]any) { m["paymentExpirySeconds"] = 86401 }), "", 400, CodeInvalidField, "paymentExpirySeconds"},
		{"instalment fee bearer", orderJSON(t, func(m map[string]any) {
			m["instalments"] = map[string]any{"count": 3, "feeBearer": "bank"}
		}), "", 400, CodeInvalidField, "instalments.feeBearer"},
		{"id check digit", orderJSON(t, func(m map[string]any) {
			m["buyer"].(map[string]any)["idNumber"] = "110105199003071230"
		}), "", 400, "cbec.id_number", "buyer.idNumber"},
		{"id length", orderJSON(t, func(m map[string]any) { m["buyer"].(map[string]any)["idNumber"] = "1101051990" }), "", 400, "cbec.id_number", "buyer.idNumber"},
		{"name missing", orderJSON(t, func(m map[string]any) { m["buyer"].(map[string]any)["name"] = "" }), "", 400, CodeInvalidField, "buyer.name"},
		{"name with digits", orderJSON(t, func(m map[string]any) { m["buyer"].(map[string]any)["name"] = "张3" }), "", 400, "cbec.real_name", "buyer.name"},
		{"phone", orderJSON(t, func(m map[string]any) { m["buyer"].(map[string]any)["phone"] = "2380013800" }), "", 400, CodeInvalidField, "buyer.phone"},
		{"payer id", orderJSON(t, func(m map[string]any) {
			m["payer"] = map[string]any{"name": "张三", "idNumber": "123"}
		}), "", 400, "cbec.id_number", "payer.idNumber"},
		{"payer is not buyer", orderJSON(t, func(m map[string]any) {
			m["payer"] = map[string]any{"name": "李四", "idNumber": otherTestID}
		}), "", 422, "cbec.payer_is_buyer", "payer.name"},
		{"no items", orderJSON(t, func(m map[string]any) { m["items"] = []any{} }), "", 400, CodeInvalidField, "items"},
		{"quantity zero", orderJSON(t, func(m map[string]any) { item(m)["quantity"] = 0 }), "", 400, CodeInvalidField, "items[0].quantity"},
		{"quantity fraction", orderJSON(t, func(m map[string]any) { item(m)["quantity"] = 1.5 }), "", 400, CodeInvalidRequest, "items.quantity"},
		{"sku charset", orderJSON(t, func(m map[string]any) { item(m)["sku"] = "SKU 1" }), "", 400, CodeInvalidField, "items[0].sku"},
		{"item name control char", orderJSON(t, func(m map[string]any) { item(m)["name"] = "a\u0007b" }), "", 400, CodeInvalidField, "items[0].name"},
		{"price currency", orderJSON(t, func(m map[string]any) {
			item(m)["unitPrice"] = map[string]any{"value": "10.00", "currency": "USD"}
		}), "", 400, CodeInvalidField, "items[0].unitPrice.currency"},
		{"price precision", orderJSON(t, func(m map[string]any) {
			item(m)["unitPrice"] = map[string]any{"value": "10.001", "currency": "CNY"}
		}), "", 400, CodeInvalidField, "items[0].unitPrice.value"},
		{"price as number", orderJSON(t, func(m map[string]any) {
			item(m)["unitPrice"] = map[string]any{"value": 10, "currency": "CNY"}
		}), "", 400, CodeInvalidRequest, "items.unitPrice.value"},
		{"price exponent", orderJSON(t, func(m map[string]any) {
			item(m)["unitPrice"] = map[string]any{"value": "1e3", "currency": "CNY"}
		}), "", 400, CodeInvalidField, "items[0].unitPrice.value"},
		{"price negative", orderJSON(t, func(m map[string]any) {
			item(m)["unitPrice"] = map[string]any{"value": "-1.00", "currency": "CNY"}
		}), "", 400, CodeInvalidField, "items[0].unitPrice.value"},
		{"freight negative", orderJSON(t, func(m map[string]any) {
			m["freight"] = map[string]any{"value": "-1", "currency": "CNY"}
		}), "", 400, CodeInvalidField, "freight.value"},
		{"not on positive list", orderJSON(t, func(m map[string]any) { item(m)["category"] = "live_animals" }), "", 422, "cbec.positive_list", "items[0].category"},
		{"registration missing", orderJSON(t, func(m map[string]any) { delete(item(m), "registrationNo") }), "", 422, "cbec.registration_required", "items[0].registrationNo"},
		{"over the single order limit", orderJSON(t, func(m map[string]any) {
			m["items"] = append(m["items"].([]any), map[string]any{"sku": "SKU-2", "name": "Bag", "category": "bags",
				"quantity": 1, "unitPrice": map[string]any{"value": "4900.00", "currency": "CNY"}})
		}), "", 422, "cbec.order_limit", "items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			hdr := []string{}
			if tt.ctype != "" {
				hdr = append(hdr, "Content-Type", tt.ctype)
			}
			rec := f.do(http.MethodPost, "/v1/orders", keyM1, tt.body, hdr...)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			p := problemOf(t, rec)
			assert.Equal(t, tt.code, p.Code)
			assert.Equal(t, tt.field, p.Field)
			assert.NotEmpty(t, p.Message)
			assert.NotContains(t, rec.Body.String(), testID, "an error must not echo the ID number")
			// No workflow was described, started, updated or signalled.
			f.tc.AssertNotCalled(t, "UpdateWithStartWorkflow", mock.Anything, mock.Anything)
			f.tc.AssertNotCalled(t, "NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything)
			assert.Empty(t, f.tc.Calls)
		})
	}
}

func TestCreateOrderBodyLimit(t *testing.T) {
	f := newFixture(t)
	body := orderJSON(t, func(m map[string]any) { item(m)["name"] = strings.Repeat("x", MaxBodyBytes) })
	rec := f.do(http.MethodPost, "/v1/orders", keyM1, body)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, CodeTooLarge, problemOf(t, rec).Code)
	assert.Empty(t, f.tc.Calls)
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name, header string
	}{
		{"no header", ""},
		{"not bearer", "Basic " + keyM1},
		{"unknown key", "Bearer not-a-key"},
		{"disabled merchant", "Bearer " + keyDisabled},
		{"empty key", "Bearer "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{}
			if tt.header != "" {
				hdr = append(hdr, "Authorization", tt.header)
			}
			rec := f.do(http.MethodGet, "/v1/orders/order-m1-A1", "", "", hdr...)
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.Equal(t, CodeUnauthenticated, problemOf(t, rec).Code)
			assert.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
		})
	}
	assert.Empty(t, f.tc.Calls)

	// Both keys of a merchant work during a rotation.
	for _, key := range []string{keyM1, keyM1Old} {
		f.expectNoOrder("order-m1-A1")
		rec := f.do(http.MethodGet, "/v1/orders/order-m1-A1", key, "")
		assert.Equal(t, http.StatusNotFound, rec.Code, "authenticated, then not found")
	}
}

func TestOtherMerchantsOrdersAreNotFound(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/orders/" + id, ""},
		{http.MethodPost, "/v1/orders/" + id + "/shipment", `{"carrier":"SF","trackingNo":"SF123"}`},
		{http.MethodPost, "/v1/orders/" + id + "/confirm-receipt", ""},
		{http.MethodPost, "/v1/orders/" + id + "/extend-confirmation", `{"days":3,"reason":"late"}`},
		{http.MethodPost, "/v1/orders/" + id + "/cancel", `{"reason":"changed mind"}`},
		{http.MethodPost, "/v1/orders/" + id + "/refunds", `{"refundNo":"R1","amount":{"value":"1.00","currency":"CNY"},"reason":"x"}`},
		{http.MethodGet, "/v1/orders/" + id + "/refunds/R1", ""},
		{http.MethodPost, "/v1/orders/" + id + "/refunds/R1/return-shipment", `{"trackingNo":"RT1"}`},
		{http.MethodGet, "/v1/orders/not-an-order-id", ""},
		{http.MethodGet, "/v1/orders/order-m3-A1", ""},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := f.do(tt.method, tt.path, keyM2, tt.body)
			require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
			assert.Equal(t, CodeNotFound, problemOf(t, rec).Code)
		})
	}
	assert.Empty(t, f.tc.Calls, "another merchant's order is refused before Temporal is asked")
}

func TestCreateOrderStartsWithUpdateWithStart(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	body := orderJSON(t, func(m map[string]any) { m["instalments"] = map[string]any{"count": 6, "feeBearer": "seller"} })
	expires := time.Date(2025, 6, 1, 8, 15, 0, 0, time.UTC)
	after := describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil)

	f.expectNoOrder(id)
	var opts client.StartWorkflowOptions
	var input workflows.OrderInput
	f.tc.On("NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			opts = args.Get(0).(client.StartWorkflowOptions)
			input = args.Get(2).(workflows.OrderInput)
			// The order's memo, as Describe will answer it after the start.
			memo := opts.Memo[memoKey].(requestMemo)
			*after = *describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, &memo)
		}).Return(nil).Once()
	checkout := workflows.CheckoutResult{OrderID: id, State: workflows.StateAwaitingPayment,
		Total: money.MustParse("456.22", money.CNY), Tax: money.MustParse("38.22", money.CNY),
		QRCode: "https://qr.example/abc", ExpiresAt: expires}
	f.tc.On("UpdateWithStartWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWithStartWorkflowOptions) bool {
		return o.UpdateOptions.UpdateName == workflows.UpdateAwaitCheckout && o.UpdateOptions.WaitForStage == client.WorkflowUpdateStageCompleted
	})).Return(updateHandle(checkout, nil), nil).Once()
	f.expectDescribe(id, after, nil)

	rec := f.do(http.MethodPost, "/v1/orders", keyM1, body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var got checkoutResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, id, got.OrderID)
	assert.Equal(t, "A1001", got.MerchantOrderNo)
	assert.Equal(t, workflows.StateAwaitingPayment, got.State)
	assert.Equal(t, "https://qr.example/abc", got.QRCode)
	require.NotNil(t, got.ExpiresAt)
	assert.True(t, expires.Equal(*got.ExpiresAt))
	assert.Equal(t, "456.22", got.Total.Number())

	assert.Equal(t, id, opts.ID)
	assert.Equal(t, "orders", opts.TaskQueue)
	assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, opts.WorkflowIDConflictPolicy)
	assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, opts.WorkflowIDReusePolicy)
	require.NotNil(t, opts.TypedSearchAttributes)
	assert.Equal(t, 4, opts.TypedSearchAttributes.Size())
	assert.Equal(t, "m1", input.MerchantID)
	assert.Equal(t, money.USD, input.HomeCurrency, "the merchant's home currency")
	assert.Equal(t, providers.Identity{Name: "张三", IDNumber: testID}, input.Payer, "payer defaults to the buyer")
	assert.Equal(t, &providers.Instalments{Count: 6, FeeBearer: providers.FeeSeller}, input.Instalments)
	require.Len(t, input.Items, 1)
	assert.Equal(t, "199.00", input.Items[0].UnitPrice.Number())
	memo := opts.Memo[memoKey].(requestMemo)
	assert.Equal(t, maskedBuyer{Name: "张*", IDNumber: "110***********1239", Phone: "138****8000"}, memo.Buyer)
	memoJSON, _ := json.Marshal(memo)
	assert.NotContains(t, string(memoJSON), testID)
	assert.NotContains(t, string(memoJSON), "张三")
}

func TestCreateOrderRepeatedIsIdempotent(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	body := orderJSON(t, nil)
	memo := memoFor(t, "m1", body, "first-request")
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, &memo), nil)
	checkout := workflows.CheckoutResult{OrderID: id, State: workflows.StateAwaitingPayment, QRCode: "qr"}
	f.expectUpdate(id, workflows.UpdateAwaitCheckout, checkout, nil)

	// Key order and white space do not make another request.
	var generic map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &generic))
	reordered, _ := json.MarshalIndent(generic, "", "   ")
	rec := f.do(http.MethodPost, "/v1/orders", keyM1, string(reordered))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"qrCode":"qr"`)
	f.tc.AssertNotCalled(t, "UpdateWithStartWorkflow", mock.Anything, mock.Anything)
}

func TestCreateOrderConflictNamesTheFields(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	memo := memoFor(t, "m1", orderJSON(t, nil), "first-request")
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, &memo), nil)
	body := orderJSON(t, func(m map[string]any) {
		m["provider"] = "wechatpay"
		item(m)["quantity"] = 3
	})
	rec := f.do(http.MethodPost, "/v1/orders", keyM1, body)
	require.Equal(t, http.StatusConflict, rec.Code)
	p := problemOf(t, rec)
	assert.Equal(t, CodeConflict, p.Code)
	assert.Equal(t, "items,provider", p.Field)
	assert.Contains(t, p.Message, "A1001")
	f.tc.AssertNotCalled(t, "UpdateWorkflow", mock.Anything, mock.Anything)
	f.tc.AssertNotCalled(t, "UpdateWithStartWorkflow", mock.Anything, mock.Anything)
}

func TestCreateOrderOfEndedOrder(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	body := orderJSON(t, nil)
	memo := memoFor(t, "m1", body, "first")
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, &memo), nil)
	f.expectQuery(id, workflows.OrderView{OrderID: id, State: workflows.StateRejected,
		Rejection: &workflows.Rejection{Rule: "cbec.annual_limit", Field: "BuyerYearToDate", Message: "over RMB 26,000"}})
	rec := f.do(http.MethodPost, "/v1/orders", keyM1, body)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	p := problemOf(t, rec)
	assert.Equal(t, "cbec.annual_limit", p.Code)
	assert.Equal(t, "buyer", p.Field)
}

func TestCreateOrderRejectedByWorkflowRule(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	f.expectNoOrder(id)
	f.tc.On("NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything).Return(nil).Once()
	res := workflows.CheckoutResult{OrderID: id, State: workflows.StateRejected,
		Rejection: &workflows.Rejection{Rule: "cbec.annual_limit", Field: "BuyerYearToDate", Message: "the buyer's annual limit would be exceeded"}}
	f.tc.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(updateHandle(res, nil), nil).Once()
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, nil), nil)
	rec := f.do(http.MethodPost, "/v1/orders", keyM1, orderJSON(t, nil))
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	p := problemOf(t, rec)
	assert.Equal(t, "cbec.annual_limit", p.Code)
	assert.Equal(t, "buyer", p.Field)
}

func TestTemporalUnavailableIs503(t *testing.T) {
	f := newFixture(t)
	f.expectDescribe("order-m1-A1", nil, serviceerror.NewUnavailable("connection refused"))
	rec := f.do(http.MethodGet, "/v1/orders/order-m1-A1", keyM1, "")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, CodeUnavailable, problemOf(t, rec).Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
}

func TestGetOrderMasksTheBuyer(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	memo := memoFor(t, "m1", orderJSON(t, nil), "r")
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, &memo), nil)
	f.expectQuery(id, workflows.OrderView{OrderID: id, MerchantID: "m1", MerchantOrderNo: "A1001", State: workflows.StatePaid})
	rec := f.do(http.MethodGet, "/v1/orders/"+id, keyM1, "", "X-Request-Id", "req-123")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "req-123", rec.Header().Get("X-Request-Id"))
	var got struct {
		OrderID string       `json:"orderId"`
		State   string       `json:"state"`
		Open    bool         `json:"open"`
		Buyer   *maskedBuyer `json:"buyer"`
		Refunds []any        `json:"refunds"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, "Paid", got.State)
	assert.True(t, got.Open)
	require.NotNil(t, got.Buyer)
	assert.Equal(t, "110***********1239", got.Buyer.IDNumber)
	assert.Equal(t, "张*", got.Buyer.Name)
	assert.Equal(t, "138****8000", got.Buyer.Phone)
	assert.NotNil(t, got.Refunds)
	assert.NotContains(t, rec.Body.String(), testID)
}

func TestUnknownOrderIs404(t *testing.T) {
	f := newFixture(t)
	f.expectNoOrder("order-m1-nope")
	rec := f.do(http.MethodGet, "/v1/orders/order-m1-nope", keyM1, "")
	require.Equal(t, http.StatusNotFound, rec.Code)
}

// rejection builds a validator rejection as it reaches the client: through
// a failure and back.
func rejection(rule, field, msg string) error {
	err := temporal.NewApplicationErrorWithOptions(rule+": "+msg, rule, temporal.ApplicationErrorOptions{
		NonRetryable: true, Details: []any{workflows.Rejection{Rule: rule, Field: field, Message: msg}},
	})
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(err))
}

func TestRefundOverCapturedIs422(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil), nil)
	f.expectQuery(id, workflows.OrderView{OrderID: id, State: workflows.StateAwaitingShipment})
	f.expectUpdate(id, workflows.UpdateRequestRefund, nil,
		rejection(workflows.RuleRefundExceedsCaptured, "amount", "999.00 CNY is more than the 456.22 CNY still refundable"))
	rec := f.do(http.MethodPost, "/v1/orders/"+id+"/refunds", keyM1,
		`{"refundNo":"R1","amount":{"value":"999.00","currency":"CNY"},"reason":"broken"}`)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	p := problemOf(t, rec)
	assert.Equal(t, workflows.RuleRefundExceedsCaptured, p.Code)
	assert.Equal(t, "amount", p.Field)
	assert.Contains(t, p.Message, "still refundable")
}

func TestRefundCreatedThenRepeated(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	body := `{"refundNo":"R1","amount":{"value":"10.00","currency":"CNY"},"reason":"broken","items":[{"sku":"SKU-1","quantity":1}]}`
	view := workflows.RefundView{RefundNo: "R1", Amount: money.MustParse("10.00", money.CNY), State: workflows.RefundRunning}
	for i, want := range []int{http.StatusCreated, http.StatusOK} {
		f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil), nil)
		ov := workflows.OrderView{OrderID: id}
		if i > 0 {
			ov.Refunds = []workflows.RefundView{view}
		}
		f.expectQuery(id, ov)
		f.tc.On("UpdateWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWorkflowOptions) bool {
			req, ok := o.Args[0].(workflows.RefundRequest)
			return ok && o.UpdateName == workflows.UpdateRequestRefund && req.RefundNo == "R1" &&
				req.Amount.Equal(money.MustParse("10.00", money.CNY)) && len(req.Items) == 1
		})).Return(updateHandle(view, nil), nil).Once()
		rec := f.do(http.MethodPost, "/v1/orders/"+id+"/refunds", keyM1, body)
		require.Equal(t, want, rec.Code, rec.Body.String())
		assert.Contains(t, rec.Body.String(), `"refundNo":"R1"`)
	}
}

func TestRefundInputValidation(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ body, field string }{
		{`{"refundNo":"xhs_1","amount":{"value":"1.00","currency":"CNY"},"reason":"r"}`, "refundNo"},
		{`{"refundNo":"R-1","amount":{"value":"1.00","currency":"CNY"},"reason":"r"}`, "refundNo"},
		{`{"refundNo":"R1","amount":{"value":"0","currency":"CNY"},"reason":"r"}`, "amount.value"},
		{`{"refundNo":"R1","amount":{"value":"1.00","currency":"EUR"},"reason":"r"}`, "amount.currency"},
		{`{"refundNo":"R1","amount":{"value":"1.00","currency":"CNY"},"reason":""}`, "reason"},
		{`{"refundNo":"R1","amount":{"value":"1.00","currency":"CNY"},"reason":"r","items":[{"sku":"S","quantity":0}]}`, "items[0].quantity"},
	} {
		rec := f.do(http.MethodPost, "/v1/orders/order-m1-A1/refunds", keyM1, tt.body)
		require.Equal(t, http.StatusBadRequest, rec.Code, tt.body)
		assert.Equal(t, tt.field, problemOf(t, rec).Field, tt.body)
	}
	assert.Empty(t, f.tc.Calls)
}

func TestActionOnEndedOrderIsConflict(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	f.tc.On("UpdateWorkflow", mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewNotFound("workflow execution already completed")).Once()
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, nil), nil)
	rec := f.do(http.MethodPost, "/v1/orders/"+id+"/cancel", keyM1, `{"reason":"changed mind"}`)
	require.Equal(t, http.StatusConflict, rec.Code)
	assert.Equal(t, CodeOrderClosed, problemOf(t, rec).Code)
}

func TestShipmentRejectedByValidator(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	f.expectUpdate(id, workflows.UpdateShipped, nil, rejection(workflows.RuleShipmentState, "state", "only a cleared order can ship"))
	rec := f.do(http.MethodPost, "/v1/orders/"+id+"/shipment", keyM1, `{"carrier":"SF Express","trackingNo":"SF1234"}`)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	p := problemOf(t, rec)
	assert.Equal(t, workflows.RuleShipmentState, p.Code)
	assert.Equal(t, "state", p.Field)
}

func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	f.expectUpdate(id, workflows.UpdateCancel, workflows.OrderView{OrderID: id, State: workflows.StateCancelling}, nil)
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil), nil)

	first := f.do(http.MethodPost, "/v1/orders/"+id+"/cancel", keyM1, `{"reason":"changed mind"}`, IdempotencyKeyHeader, "k-1")
	require.Equal(t, http.StatusOK, first.Code, first.Body.String())
	again := f.do(http.MethodPost, "/v1/orders/"+id+"/cancel", keyM1, `{ "reason" : "changed mind" }`, IdempotencyKeyHeader, "k-1")
	require.Equal(t, http.StatusOK, again.Code)
	assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
	assert.Equal(t, first.Body.String(), again.Body.String())

	other := f.do(http.MethodPost, "/v1/orders/"+id+"/cancel", keyM1, `{"reason":"other"}`, IdempotencyKeyHeader, "k-1")
	require.Equal(t, http.StatusConflict, other.Code)
	assert.Equal(t, CodeIdempotencyKeyReused, problemOf(t, other).Code)

	// The key is the merchant's own: another merchant's same key is another key.
	m2 := "order-m2-B1"
	f.expectUpdate(m2, workflows.UpdateCancel, workflows.OrderView{OrderID: m2, State: workflows.StateCancelling}, nil)
	f.expectDescribe(m2, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil), nil)
	rec := f.do(http.MethodPost, "/v1/orders/"+m2+"/cancel", keyM2, `{"reason":"changed mind"}`, IdempotencyKeyHeader, "k-1")
	require.Equal(t, http.StatusOK, rec.Code)

	bad := f.do(http.MethodPost, "/v1/orders/"+id+"/cancel", keyM1, `{"reason":"x"}`, IdempotencyKeyHeader, "has space")
	require.Equal(t, http.StatusBadRequest, bad.Code)
	f.tc.AssertNumberOfCalls(t, "UpdateWorkflow", 2)
}

func TestIdempotencyKeyNotKeptOnServerError(t *testing.T) {
	f := newFixture(t)
	id := "order-m1-A1001"
	f.tc.On("UpdateWorkflow", mock.Anything, mock.Anything).Return(nil, serviceerror.NewUnavailable("down")).Once()
	rec := f.do(http.MethodPost, "/v1/orders/"+id+"/cancel", keyM1, `{"reason":"x"}`, IdempotencyKeyHeader, "k-2")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	f.expectUpdate(id, workflows.UpdateCancel, workflows.OrderView{OrderID: id}, nil)
	f.expectDescribe(id, describeResp(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil), nil)
	rec = f.do(http.MethodPost, "/v1/orders/"+id+"/cancel", keyM1, `{"reason":"x"}`, IdempotencyKeyHeader, "k-2")
	require.Equal(t, http.StatusOK, rec.Code, "a retry after a 503 runs again")
}

func TestListOrdersQuery(t *testing.T) {
	f := newFixture(t)
	var got *workflowservice.ListWorkflowExecutionsRequest
	f.tc.On("ListWorkflow", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		got = args.Get(1).(*workflowservice.ListWorkflowExecutionsRequest)
	}).Return(&workflowservice.ListWorkflowExecutionsResponse{NextPageToken: []byte("next")}, nil).Once()
	q := url.Values{"state": {"Paid"}, "provider": {"wechatpay"}, "customs": {"Cleared"},
		"from": {"2025-06-01T00:00:00+08:00"}, "to": {"2025-07-01T00:00:00Z"}, "pageSize": {"5"}}
	rec := f.do(http.MethodGet, "/v1/orders?"+q.Encode(), keyM2, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NotNil(t, got)
	assert.Equal(t, "WorkflowType = 'OrderWorkflow' AND MerchantId = 'm2' AND OrderState = 'Paid' AND Provider = 'wechatpay'"+
		" AND CustomsStatus = 'Cleared' AND StartTime >= '2025-05-31T16:00:00Z' AND StartTime < '2025-07-01T00:00:00Z'", got.Query)
	assert.EqualValues(t, 5, got.PageSize)
	var list orderList
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
	require.NotEmpty(t, list.NextPageToken)
	assert.NotNil(t, list.Orders)

	// The token only works for the same filters.
	f.tc.On("ListWorkflow", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		got = args.Get(1).(*workflowservice.ListWorkflowExecutionsRequest)
	}).Return(&workflowservice.ListWorkflowExecutionsResponse{}, nil).Once()
	q.Set("pageToken", list.NextPageToken)
	rec = f.do(http.MethodGet, "/v1/orders?"+q.Encode(), keyM2, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, []byte("next"), got.NextPageToken)
	q.Set("state", "Completed")
	rec = f.do(http.MethodGet, "/v1/orders?"+q.Encode(), keyM2, "")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "pageToken", problemOf(t, rec).Field)
	rec = f.do(http.MethodGet, "/v1/orders?"+q.Encode(), keyM1, "")
	require.Equal(t, http.StatusBadRequest, rec.Code, "another merchant's token")
}

func TestListOrdersRejectsUnsafeFilters(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ query, field string }{
		{"state=Paid' OR MerchantId = 'm2", "state"},
		{"provider=alipay'--", "provider"},
		{"customs=Cleared\\", "customs"},
		{"from=yesterday", "from"},
		{"from=2025-07-01T00:00:00Z&to=2025-06-01T00:00:00Z", "to"},
		{"pageSize=1000", "pageSize"},
		{"merchant=m2", "merchant"},
		{"state=Paid&state=Completed", "state"},
	} {
		vals, err := url.ParseQuery(tt.query)
		require.NoError(t, err)
		rec := f.do(http.MethodGet, "/v1/orders?"+vals.Encode(), keyM1, "")
		require.Equal(t, http.StatusBadRequest, rec.Code, tt.query)
		assert.Equal(t, tt.field, problemOf(t, rec).Field, tt.query)
	}
	assert.Empty(t, f.tc.Calls)
}

func TestListShowsOnlyTheCallersOrders(t *testing.T) {
	f := newFixture(t)
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, id := range []string{"order-m1-A1", "order-m2-B1"} {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: id},
			Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		})
	}
	f.tc.On("ListWorkflow", mock.Anything, mock.Anything).Return(resp, nil).Once()
	rec := f.do(http.MethodGet, "/v1/orders", keyM1, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "order-m1-A1")
	assert.NotContains(t, rec.Body.String(), "order-m2-B1")
}

func TestUnknownRouteAndMethod(t *testing.T) {
	f := newFixture(t)
	rec := f.do(http.MethodGet, "/v2/nothing", keyM1, "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, CodeNotFound, problemOf(t, rec).Code)

	rec = f.do(http.MethodDelete, "/v1/orders/order-m1-A1", keyM1, "")
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET", rec.Header().Get("Allow"))
	rec = f.do(http.MethodPut, "/v1/orders", keyM1, "")
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, POST", rec.Header().Get("Allow"))
	assert.Empty(t, f.tc.Calls)
}

func TestConfigValidate(t *testing.T) {
	err := Config{}.Validate()
	require.Error(t, err)
	for _, want := range []string{"Temporal", "TaskQueue", "Merchants"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Panics(t, func() { New(Config{}) })
}

func TestRequestMetricsUseTheRoutePattern(t *testing.T) {
	f := newFixture(t)
	f.expectNoOrder("order-m1-A1")
	rec := f.do(http.MethodGet, "/v1/orders/order-m1-A1", keyM1, "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	mfs, err := f.reg.Gather()
	require.NoError(t, err)
	var routes []string
	for _, mf := range mfs {
		if mf.GetName() != "xhspay_api_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" {
					routes = append(routes, l.GetValue())
				}
			}
		}
	}
	assert.Equal(t, []string{"GET /v1/orders/{id}"}, routes, "the pattern, never the raw path with its order id")
}

// TestPaymentExpiryPerOrder checks a per-order expiry reaches the workflow
// input, the API's default applies without one, and the expiry is part of
// what makes two create requests the same order.
func TestPaymentExpiryPerOrder(t *testing.T) {
	withExpiry := func(secs int) createOrderRequest {
		var req createOrderRequest
		require.NoError(t, json.Unmarshal([]byte(orderJSON(t, func(m map[string]any) {
			if secs != 0 {
				m["paymentExpirySeconds"] = secs
			}
		})), &req))
		return req
	}
	d, p := validateCreate(withExpiry(120))
	require.Nil(t, p)
	assert.Equal(t, 2*time.Minute, d.input.PaymentExpiry)
	plain, p := validateCreate(withExpiry(0))
	require.Nil(t, p)
	assert.Zero(t, plain.input.PaymentExpiry, "no expiry given: the API's default applies at start")
	assert.NotEqual(t, d.canonical["paymentExpirySeconds"], plain.canonical["paymentExpirySeconds"])
}
