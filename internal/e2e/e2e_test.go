package e2e_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xhspay/xhspay/client"
	"github.com/xhspay/xhspay/internal/devstack"
	"github.com/xhspay/xhspay/internal/temporaltest"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/workflows"
)

func TestMain(m *testing.M) {
	// Libraries that log through the default logger (the ledger) only warn.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	temporaltest.Main(m)
}

// scenarioTimeout bounds one scenario or test order.
const scenarioTimeout = time.Minute

// startStack starts the whole stack on the package's Temporal server and
// stops it when the test and its subtests end.
func startStack(t *testing.T) *devstack.Stack {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("XHSPAY_TEST_VERBOSE") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// The demo's timings, except that the fallback payment poll waits long
	// enough never to beat a notification, which the tests want to see.
	timings := devstack.FastTimings()
	timings.Polling.Payment = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, devstack.Config{
		InMemory:        true,
		TemporalAddress: temporaltest.Address(),
		Namespace:       temporaltest.Namespace(),
		TaskQueue:       temporaltest.TaskQueue(t),
		Timings:         &timings,
		Logger:          logger,
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

// history returns a workflow's whole history as the given client reads it.
func history(t *testing.T, c sdkclient.Client, id string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		events = append(events, ev)
	}
	require.NotEmpty(t, events, "history of %s", id)
	return events
}

// signals counts the signals named name in a history.
func signals(events []*historypb.HistoryEvent, name string) int {
	n := 0
	for _, ev := range events {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == name {
			n++
		}
	}
	return n
}

// lastAttempt returns the attempt that ran the first activity of a type (0 when none ran).
func lastAttempt(events []*historypb.HistoryEvent, activityType string) int32 {
	var scheduled int64
	for _, ev := range events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activityType && scheduled == 0 {
			scheduled = ev.GetEventId()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled != 0 && a.GetScheduledEventId() == scheduled {
			return a.GetAttempt()
		}
	}
	return 0
}

// notified returns xhspay_notify_total{provider,result}.
func notified(t *testing.T, s *devstack.Stack, provider, result string) float64 {
	t.Helper()
	mfs, err := s.Metrics.Gather()
	require.NoError(t, err)
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

// testOrder is a one-line Alipay order of ACME for a new buyer.
func testOrder(orderNo string) client.CreateOrderRequest {
	return client.CreateOrderRequest{
		MerchantOrderNo: orderNo, Provider: client.Alipay, Buyer: devstack.NewBuyer(),
		Items: []client.Item{{SKU: "ACME-JKT-01", Name: "Storm shell jacket", Category: "apparel", Quantity: 1, UnitPrice: client.CNY("899.00")}},
	}
}

// payAndClear creates an order, has the buyer pay it and waits for customs to clear it.
func payAndClear(t *testing.T, ctx context.Context, s *devstack.Stack, req client.CreateOrderRequest) *client.Order {
	t.Helper()
	c := s.Client(devstack.MerchantAcme)
	co, err := c.CreateOrder(ctx, req)
	require.NoError(t, err)
	require.Equal(t, client.StateAwaitingPayment, co.State)
	o, err := c.GetOrder(ctx, co.OrderID)
	require.NoError(t, err)
	require.NoError(t, s.Sandbox.Pay(ctx, providers.Alipay, o.OutTradeNo, "", 0))
	o, err = devstack.AwaitState(ctx, c, co.OrderID, client.StateAwaitingShipment)
	require.NoError(t, err)
	return o
}

func TestEndToEnd(t *testing.T) {
	s := startStack(t)
	// Once every scenario has run (the subtests below run in parallel and end
	// before cleanups), the project's order, provider and refund metrics must
	// be on /metrics: the worker and the API share the stack's registry.
	t.Cleanup(func() {
		status, body := get(t, s.APIURL+"/metrics")
		require.Equal(t, http.StatusOK, status)
		for _, want := range [][]string{
			{"xhspay_order_transitions_total{", `provider="alipay"`, `state="Completed"`},
			{"xhspay_order_transitions_total{", `provider="wechatpay"`, `state="CustomsRejected"`},
			{"xhspay_provider_call_duration_seconds_count{", `provider="card"`, `op="create_payment"`},
			{"xhspay_provider_errors_total{", `provider="card"`, `code="ProviderUnavailable"`},
			{"xhspay_refunds_total{", `result="succeeded"`},
			{"temporal_workflow_task_execution_latency_seconds_count{", `workflow_type="OrderWorkflow"`},
		} {
			assert.True(t, slices.ContainsFunc(strings.Split(body, "\n"), func(line string) bool {
				for _, part := range want {
					if !strings.Contains(line, part) {
						return false
					}
				}
				return true
			}), "/metrics has no series with %q", want)
		}
	})
	runID := devstack.NewRunID()
	orderNo := func(name string) string { return devstack.OrderNo(runID, name) }
	// plain reads histories as any client without the keyring would.
	plain := temporaltest.Client(t)

	for _, sc := range devstack.Scenarios() {
		t.Run("scenario/"+sc.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
			defer cancel()
			out, err := sc.Run(ctx, s, orderNo(sc.Name))
			require.NoError(t, err)
			assert.Equal(t, sc.Expected, out.State, out.Detail)

			switch sc.Name {
			case "cbec-limit":
				require.False(t, out.Started)
				_, err := s.Temporal.DescribeWorkflowExecution(ctx, out.OrderID, "")
				var nf *serviceerror.NotFound
				require.ErrorAs(t, err, &nf, "a refused order starts no workflow")
			case "customs-rejected":
				o, err := s.Client(sc.Merchant).GetOrder(ctx, out.OrderID)
				require.NoError(t, err)
				require.NotNil(t, o.Clearance)
				assert.Equal(t, "IDENTITY_MISMATCH", o.Clearance.Code)
				require.Len(t, o.Refunds, 1)
				assert.True(t, o.Refunds[0].System, "the order refunded on its own")
				assert.Equal(t, client.RefundSucceeded, o.Refunds[0].State)
			case "provider-outage":
				assert.Equal(t, int32(3), lastAttempt(history(t, plain, out.OrderID), "CreatePayment"),
					"two 503s, then the third attempt created the payment")
			case "return-reimport":
				o, err := s.Client(sc.Merchant).GetRefund(ctx, out.OrderID, "RET1")
				require.NoError(t, err)
				assert.True(t, o.ReturnGoods)
				assert.NotEqual(t, "0.00", o.TaxReversed.Value, "the tax on returned goods is reversed")
			case "expired":
				assert.Zero(t, signals(history(t, plain, out.OrderID), workflows.SignalPaymentNotified))
			}
		})
	}

	t.Run("payment and clearance arrive by notification", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
		defer cancel()
		o := payAndClear(t, ctx, s, testOrder(orderNo("notified")))
		events := history(t, plain, o.OrderID)
		assert.GreaterOrEqual(t, signals(events, workflows.SignalPaymentNotified), 1, "Alipay notified the API, which signalled the order")
		assert.GreaterOrEqual(t, signals(events, workflows.SignalCustomsResult), 1, "customs notified its verdict")
		assert.Contains(t, timeline(o), "(notification)", "paid by the notification, not by the fallback poll")
		assert.GreaterOrEqual(t, notified(t, s, "alipay", "accepted"), 1.0)
		assert.GreaterOrEqual(t, notified(t, s, "customs", "accepted"), 1.0)
	})

	t.Run("forged notifications are refused", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
		defer cancel()
		c := s.Client(devstack.MerchantAcme)
		co, err := c.CreateOrder(ctx, testOrder(orderNo("forged")))
		require.NoError(t, err)
		o, err := c.GetOrder(ctx, co.OrderID)
		require.NoError(t, err)

		// A well-formed Alipay notification with a made-up signature.
		form := url.Values{"notify_id": {"forged-" + runID}, "out_trade_no": {o.OutTradeNo}, "trade_status": {"TRADE_SUCCESS"},
			"total_amount": {co.Total.Value}, "app_id": {s.Sandbox.AlipayCredentials().AppID}, "sign_type": {"RSA2"},
			"sign": {"Zm9yZ2Vk"}, "notify_time": {time.Now().Format(time.DateTime)}}
		status, body := post(t, s.APIURL+"/notify/alipay/"+co.OrderID, "application/x-www-form-urlencoded", form.Encode(), nil)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "fail", body, "Alipay is told to give up, in its protocol")

		// A card PSP notification without the HMAC signature headers.
		status, _ = post(t, s.APIURL+"/notify/card/"+co.OrderID, "application/json",
			`{"id":"evt-forged","type":"payment.succeeded","payment":{"outTradeNo":"`+o.OutTradeNo+`","status":"SUCCEEDED"}}`, nil)
		assert.Equal(t, http.StatusUnauthorized, status)

		// Garbage is malformed, not forged.
		status, _ = post(t, s.APIURL+"/notify/card/"+co.OrderID, "application/json", "{", map[string]string{
			"X-Xhs-Key-Id": s.Sandbox.CardPSPCredentials().KeyID, "X-Xhs-Timestamp": "1", "X-Xhs-Signature": "00"})
		assert.GreaterOrEqual(t, status, 400)
		assert.Less(t, status, 500)

		assert.Zero(t, signals(history(t, plain, co.OrderID), workflows.SignalPaymentNotified), "nothing reached the order")
		again, err := c.GetOrder(ctx, co.OrderID)
		require.NoError(t, err)
		assert.Equal(t, client.StateAwaitingPayment, again.State)
		assert.GreaterOrEqual(t, notified(t, s, "alipay", "bad_signature"), 1.0)
		_, err = c.Cancel(ctx, co.OrderID, client.CancelRequest{Reason: "test over"})
		require.NoError(t, err)
	})

	t.Run("another merchant's order does not exist for it", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
		defer cancel()
		acme, lumiere := s.Client(devstack.MerchantAcme), s.Client(devstack.MerchantLumiere)
		o := payAndClear(t, ctx, s, testOrder(orderNo("isolated")))

		_, err := lumiere.GetOrder(ctx, o.OrderID)
		assert.True(t, client.IsNotFound(err), "get: %v", err)
		_, err = lumiere.Ship(ctx, o.OrderID, client.ShipmentRequest{Carrier: "SF Express", TrackingNo: "SF1"})
		assert.True(t, client.IsNotFound(err), "ship: %v", err)
		_, err = lumiere.RequestRefund(ctx, o.OrderID, client.RefundRequest{RefundNo: "STEAL1", Amount: client.CNY("1.00"), Reason: "mine"})
		assert.True(t, client.IsNotFound(err), "refund: %v", err)
		_, err = lumiere.Cancel(ctx, o.OrderID, client.CancelRequest{Reason: "mine"})
		assert.True(t, client.IsNotFound(err), "cancel: %v", err)

		mine, err := acme.GetOrder(ctx, o.OrderID)
		require.NoError(t, err)
		assert.Equal(t, client.StateAwaitingShipment, mine.State, "the owner's order is untouched")
		assert.Empty(t, mine.Refunds)
		_, err = client.New(s.APIURL, "xhspay_not-a-key").GetOrder(ctx, o.OrderID)
		var apiErr *client.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusUnauthorized, apiErr.Status)
	})

	t.Run("buyer identity is never in clear in history", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
		defer cancel()
		req := testOrder(orderNo("pii"))
		buyer := req.Buyer
		o := payAndClear(t, ctx, s, req)

		events := history(t, plain, o.OrderID)
		var input *commonpb.Payloads
		for _, ev := range events {
			raw, err := proto.Marshal(ev)
			require.NoError(t, err)
			for what, v := range map[string]string{"ID number": buyer.IDNumber, "name": buyer.Name, "phone": buyer.Phone} {
				assert.False(t, bytes.Contains(raw, []byte(v)), "the buyer's %s is in clear in event %d (%s)", what, ev.GetEventId(), ev.GetEventType())
			}
			if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				input = a.GetInput()
			}
		}
		require.NotNil(t, input)

		// Without the keyring the input cannot be read; with it, it can.
		var in workflows.OrderInput
		assert.Error(t, converter.GetDefaultDataConverter().FromPayloads(input, &in))
		require.NoError(t, s.Codec.DataConverter().FromPayloads(input, &in))
		assert.Equal(t, buyer.IDNumber, in.Buyer.IDNumber)
		assert.Equal(t, buyer.Name, in.Buyer.Name)
		assert.Equal(t, buyer.Phone, in.BuyerPhone)

		// The API shows the buyer masked.
		require.NotNil(t, o.Buyer)
		assert.NotEqual(t, buyer.IDNumber, o.Buyer.IDNumber)
		assert.Equal(t, buyer.IDNumber[len(buyer.IDNumber)-4:], o.Buyer.IDNumber[len(o.Buyer.IDNumber)-4:])
	})

	t.Run("health, metrics and codec endpoints", func(t *testing.T) {
		t.Parallel()
		status, body := get(t, s.APIURL+"/healthz")
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, `"ok"`)
		_, err := s.Client(devstack.MerchantLumiere).ListOrders(context.Background(), client.ListOrdersParams{})
		require.NoError(t, err)
		status, body = get(t, s.APIURL+"/metrics")
		assert.Equal(t, http.StatusOK, status)
		for _, series := range []string{"xhspay_api_requests_total", "temporal_request_total", "process_resident_memory_bytes"} {
			assert.True(t, strings.Contains(body, series), "/metrics has no %s", series)
		}

		// The codec server decodes for a loopback caller without a token, as
		// the local Web UI calls it.
		payload, err := s.Codec.DataConverter().ToPayload(map[string]string{"idNumber": "secret-id"})
		require.NoError(t, err)
		j, err := protojsonPayloads(payload)
		require.NoError(t, err)
		status, body = post(t, s.APIURL+"/codec/decode", "application/json", j, map[string]string{"X-Namespace": s.Namespace})
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, "eyJpZE51bWJlciI6InNlY3JldC1pZCJ9", "the decoded payload (base64 of its JSON)")
	})
}

// timeline joins an order's timeline details.
func timeline(o *client.Order) string {
	var b strings.Builder
	for _, e := range o.Timeline {
		b.WriteString(e.Detail)
		b.WriteString("\n")
	}
	return b.String()
}

// post sends a POST and returns the status and body.
func post(t *testing.T, u, contentType, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

// get sends a GET and returns the status and body.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// protojsonPayloads is the remote codec protocol's body for one payload.
func protojsonPayloads(p *commonpb.Payload) (string, error) {
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	return string(b), err
}
