package api_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/xhspay/xhspay/client"
	"github.com/xhspay/xhspay/internal/app"
	"github.com/xhspay/xhspay/internal/temporaltest"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/providerset"
	"github.com/xhspay/xhspay/sandbox"
	"github.com/xhspay/xhspay/starter/api"
	"github.com/xhspay/xhspay/workflows"
)

// TestMain starts one Temporal server for the integration tests; with
// -short the unit tests run alone, without it.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	temporaltest.Main(m)
}

const (
	// A valid resident ID number (GB 11643 check character).
	buyerID = "110105199003071239"
	keyOne  = "integration-key-merchant-one-0123456789"
	keyTwo  = "integration-key-merchant-two-0123456789"
)

// stack is the API on an httptest server, in front of a real Temporal
// server, a worker with the real workflows and activities, and the sandboxes.
type stack struct {
	url     string
	env     *sandbox.Env
	tc      sdkclient.Client
	metrics *prometheus.Registry
}

func startStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("XHSPAY_TEST_VERBOSE") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	// The API's URL must be known before the sandboxes start (customs
	// notifies a fixed URL), and the API needs the sandboxes' credentials.
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)

	env, err := sandbox.Start(ctx, sandbox.EnvConfig{
		NotifyBaseURL:  srv.URL + "/notify/",
		ClearanceDelay: -1,
		NotifyRetry:    []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second},
		Logger:         logger,
	})
	require.NoError(t, err)
	t.Cleanup(env.Close)
	provs, err := providerset.Build(ctx, env.Credentials(), providerset.Options{Logger: logger})
	require.NoError(t, err)

	tc := temporaltest.Client(t)
	queue := temporaltest.TaskQueue(t)
	w, err := app.NewWorker(app.WorkerConfig{
		Client: tc, TaskQueue: queue, Providers: provs, PublicBaseURL: srv.URL,
		CustomsCode: "HANGZHOU", PlatformCode: "3301960XHS", PlatformName: "xhspay test store",
		BuyerHashKey: []byte("integration-test-buyer-hash-key!"),
		Options:      worker.Options{WorkerStopTimeout: time.Second},
		Logger:       logger,
	})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	merchants, err := api.NewMemoryMerchantStore(
		api.Merchant{ID: "brand1", Name: "Brand One", HomeCurrency: money.USD, KeyHashes: []string{api.HashAPIKey(keyOne)}},
		api.Merchant{ID: "brand2", Name: "Brand Two", HomeCurrency: money.EUR, KeyHashes: []string{api.HashAPIKey(keyTwo)}},
	)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	h := api.New(api.Config{
		Temporal: tc, TaskQueue: queue, Merchants: merchants,
		Notifiers: map[providers.Name]api.NotificationParser{
			providers.Alipay: provs.Alipay, providers.WeChatPay: provs.WeChatPay, providers.Card: provs.Card,
		},
		Customs: provs.Customs, Logger: logger, Metrics: reg, CreateTimeout: 30 * time.Second,
	})
	handler.Store(&h)
	return &stack{url: srv.URL, env: env, tc: tc, metrics: reg}
}

// notified returns xhspay_notify_total{provider,result}.
func (s *stack) notified(t *testing.T, provider, result string) float64 {
	t.Helper()
	mfs, err := s.metrics.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "xhspay_notify_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var p, r string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "provider":
					p = l.GetValue()
				case "result":
					r = l.GetValue()
				}
			}
			if p == provider && r == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// signals counts the signals named name in an order's history.
func (s *stack) signals(t *testing.T, orderID, name string) int {
	t.Helper()
	it := s.tc.GetWorkflowHistory(context.Background(), orderID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == name {
			n++
		}
	}
	return n
}

// awaitState polls the order until it reaches state.
func awaitState(t *testing.T, c *client.Client, orderID, state string, within time.Duration) *client.Order {
	t.Helper()
	var last *client.Order
	require.Eventually(t, func() bool {
		o, err := c.GetOrder(context.Background(), orderID)
		if err != nil {
			return false
		}
		last = o
		return o.State == state
	}, within, 100*time.Millisecond, "order %s did not reach %s (last: %+v)", orderID, state, last)
	return last
}

func TestOrderLifecycleThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startStack(t)
	ctx := context.Background()
	brand1 := client.New(s.url, keyOne)
	brand2 := client.New(s.url, keyTwo)

	req := client.CreateOrderRequest{
		MerchantOrderNo: "IT-1001",
		Provider:        client.Alipay,
		Buyer:           client.Buyer{Name: "张三", IDNumber: buyerID, Phone: "13800138000"},
		Items: []client.Item{{SKU: "CREAM-50", Name: "Face cream 50ml", Category: "cosmetics", RegistrationNo: "G20190001",
			Quantity: 2, UnitPrice: client.CNY("199.00")}},
		Freight: &client.Amount{Value: "20.00", Currency: "CNY"},
	}

	// A request breaking a rule starts nothing.
	bad := req
	bad.MerchantOrderNo = "IT-BAD"
	bad.Items = []client.Item{{SKU: "X", Name: "Parrot", Category: "live_animals", Quantity: 1, UnitPrice: client.CNY("10.00")}}
	_, err := brand1.CreateOrder(ctx, bad)
	require.True(t, client.IsRejected(err), "%v", err)
	_, err = s.tc.DescribeWorkflowExecution(ctx, workflows.OrderWorkflowID("brand1", "IT-BAD"), "")
	require.Error(t, err, "no workflow for a rejected request")

	co, err := brand1.CreateOrder(ctx, req)
	require.NoError(t, err)
	assert.True(t, co.Created)
	orderID := co.OrderID
	require.Equal(t, workflows.OrderWorkflowID("brand1", "IT-1001"), orderID)
	require.Equal(t, client.StateAwaitingPayment, co.State)
	require.NotEmpty(t, co.QRCode)
	require.NotNil(t, co.ExpiresAt)
	// 2 × 199.00 + 20.00 freight, plus the composite tax of high-street cosmetics.
	assert.Equal(t, "CNY", co.Total.Currency)

	again, err := brand1.CreateOrder(ctx, req)
	require.NoError(t, err)
	assert.False(t, again.Created)
	assert.Equal(t, co.QRCode, again.QRCode, "the same order, the same payment")
	changed := req
	changed.Provider = client.WeChatPay
	_, err = brand1.CreateOrder(ctx, changed)
	require.True(t, client.IsConflict(err), "%v", err)

	// Another merchant cannot see or touch the order.
	_, err = brand2.GetOrder(ctx, orderID)
	require.True(t, client.IsNotFound(err), "%v", err)
	_, err = brand2.Cancel(ctx, orderID, client.CancelRequest{Reason: "not mine"})
	require.True(t, client.IsNotFound(err), "%v", err)

	order, err := brand1.GetOrder(ctx, orderID)
	require.NoError(t, err)
	require.NotEmpty(t, order.OutTradeNo)
	require.NotNil(t, order.Buyer)
	assert.Equal(t, "110***********1239", order.Buyer.IDNumber)

	// A forged notification is refused and never reaches the order.
	form := url.Values{"notify_id": {"forged-1"}, "out_trade_no": {order.OutTradeNo}, "trade_status": {"TRADE_SUCCESS"},
		"total_amount": {co.Total.Value}, "app_id": {s.env.AlipayCredentials().AppID}, "sign_type": {"RSA2"}, "sign": {"Zm9yZ2Vk"},
		"notify_time": {"2025-06-01 10:00:00"}}
	resp, err := http.Post(s.url+"/notify/alipay/"+orderID, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, "fail", string(body))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, 1.0, s.notified(t, "alipay", "bad_signature"))
	assert.Zero(t, s.signals(t, orderID, workflows.SignalPaymentNotified))

	// The scripted buyer pays; Alipay notifies the API, which signals the
	// order; customs clears it and notifies too.
	require.NoError(t, s.env.Pay(ctx, providers.Alipay, order.OutTradeNo, "", 0))
	order = awaitState(t, brand1, orderID, client.StateAwaitingShipment, 30*time.Second)
	assert.Equal(t, "Cleared", order.CustomsStatus)
	assert.Equal(t, co.Total, order.Amounts.Captured)
	assert.GreaterOrEqual(t, s.notified(t, "alipay", "accepted"), 1.0, "paid through the notification")
	assert.GreaterOrEqual(t, s.notified(t, "customs", "accepted"), 1.0, "cleared through the notification")
	assert.GreaterOrEqual(t, s.signals(t, orderID, workflows.SignalPaymentNotified), 1)

	shipped, err := brand1.Ship(ctx, orderID, client.ShipmentRequest{Carrier: "SF Express", TrackingNo: "SF1234567890"})
	require.NoError(t, err)
	assert.Equal(t, client.StateAwaitingConfirmation, shipped.State)
	_, err = brand1.ConfirmReceipt(ctx, orderID, client.ConfirmRequest{By: "app"})
	require.NoError(t, err)
	order = awaitState(t, brand1, orderID, client.StateCompleted, 20*time.Second)

	// More than was captured cannot be refunded.
	_, err = brand1.RequestRefund(ctx, orderID, client.RefundRequest{
		RefundNo: "RF1", Amount: client.CNY("9999.00"), Reason: "too much", OperatorApproved: true})
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnprocessableEntity, apiErr.Status)
	assert.Equal(t, workflows.RuleRefundExceedsCaptured, apiErr.Code)
	assert.Equal(t, "amount", apiErr.Field)

	// The list (from visibility, which lags a little) shows the order to its merchant only.
	require.Eventually(t, func() bool {
		list, err := brand1.ListOrders(ctx, client.ListOrdersParams{Provider: client.Alipay, State: client.StateCompleted})
		return err == nil && len(list.Orders) == 1 && list.Orders[0].OrderID == orderID &&
			list.Orders[0].MerchantOrderNo == "IT-1001" && list.Orders[0].Open
	}, 10*time.Second, 100*time.Millisecond)
	others, err := brand2.ListOrders(ctx, client.ListOrdersParams{})
	require.NoError(t, err)
	assert.Empty(t, others.Orders, "brand2 has no orders")
}
