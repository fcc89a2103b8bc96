package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorded is a request the fake API saw.
type recorded struct {
	method, path, rawQuery, auth, idemKey, contentType string
	body                                               map[string]any
}

// fakeAPI answers every request with status and body, and records it.
func fakeAPI(t *testing.T, status int, body string, headers ...string) (*httptest.Server, *[]recorded) {
	t.Helper()
	var seen []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorded{method: r.Method, path: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery,
			auth: r.Header.Get("Authorization"), idemKey: r.Header.Get("Idempotency-Key"), contentType: r.Header.Get("Content-Type")}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			require.NoError(t, json.Unmarshal(b, &rec.body))
		}
		seen = append(seen, rec)
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestCreateOrder(t *testing.T) {
	srv, seen := fakeAPI(t, http.StatusCreated, `{"orderId":"order-m1-A1","merchantOrderNo":"A1","state":"AwaitingPayment",
		"total":{"value":"218.00","currency":"CNY"},"tax":{"value":"18.00","currency":"CNY"},"qrCode":"qr://x","expiresAt":"2025-06-01T08:15:00Z"}`)
	c := New(srv.URL+"/", "key-1")
	co, err := c.CreateOrder(context.Background(), CreateOrderRequest{
		MerchantOrderNo: "A1", Provider: Alipay,
		Buyer: Buyer{Name: "张三", IDNumber: "110105199003071239"},
		Items: []Item{{SKU: "S", Name: "n", Category: "apparel", Quantity: 1, UnitPrice: CNY("200.00")}},
	}, WithIdempotencyKey("idem-1"))
	require.NoError(t, err)
	assert.True(t, co.Created)
	assert.Equal(t, "order-m1-A1", co.OrderID)
	assert.Equal(t, CNY("218.00"), co.Total)
	require.NotNil(t, co.ExpiresAt)
	assert.True(t, co.ExpiresAt.Equal(time.Date(2025, 6, 1, 8, 15, 0, 0, time.UTC)))

	require.Len(t, *seen, 1)
	r := (*seen)[0]
	assert.Equal(t, "POST", r.method)
	assert.Equal(t, "/v1/orders", r.path)
	assert.Equal(t, "Bearer key-1", r.auth)
	assert.Equal(t, "idem-1", r.idemKey)
	assert.Equal(t, "application/json", r.contentType)
	assert.Equal(t, "A1", r.body["merchantOrderNo"])
	assert.Equal(t, map[string]any{"value": "200.00", "currency": "CNY"}, r.body["items"].([]any)[0].(map[string]any)["unitPrice"],
		"amounts travel as decimal strings")
	assert.NotContains(t, r.body, "payer", "nil payer is omitted")
}

func TestErrorsAreAPIErrors(t *testing.T) {
	srv, _ := fakeAPI(t, http.StatusUnprocessableEntity, `{"code":"refund.exceeds_captured","message":"too much","field":"amount"}`,
		"X-Request-Id", "req-9")
	c := New(srv.URL, "k")
	_, err := c.RequestRefund(context.Background(), "order-m1-A1", RefundRequest{RefundNo: "R1", Amount: CNY("1.00"), Reason: "r"})
	require.Error(t, err)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, &APIError{Status: 422, Code: "refund.exceeds_captured", Message: "too much", Field: "amount", RequestID: "req-9"}, apiErr)
	assert.True(t, IsRejected(err))
	assert.False(t, IsNotFound(err))
	assert.False(t, apiErr.Temporary())
	assert.Contains(t, err.Error(), "refund.exceeds_captured")

	srv, _ = fakeAPI(t, http.StatusServiceUnavailable, `{"code":"unavailable","message":"retry"}`, "Retry-After", "2")
	_, err = New(srv.URL, "k").GetOrder(context.Background(), "order-m1-A1")
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, apiErr.Temporary())
	assert.Equal(t, 2*time.Second, apiErr.RetryAfter)

	srv, _ = fakeAPI(t, http.StatusBadGateway, `<html>bad gateway</html>`)
	_, err = New(srv.URL, "k").GetOrder(context.Background(), "order-m1-A1")
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "http_502", apiErr.Code)
}

func TestPathsAndQueries(t *testing.T) {
	srv, seen := fakeAPI(t, http.StatusOK, `{}`)
	c := New(srv.URL+"/base", "k")
	ctx := context.Background()
	id := "order-m1-A/1" // escaped, never a path separator
	_, err := c.GetOrder(ctx, id)
	require.NoError(t, err)
	_, err = c.Ship(ctx, id, ShipmentRequest{Carrier: "SF", TrackingNo: "T1"})
	require.NoError(t, err)
	_, err = c.ConfirmReceipt(ctx, id, ConfirmRequest{})
	require.NoError(t, err)
	_, err = c.ExtendConfirmation(ctx, id, ExtendRequest{Days: 3, Reason: "late"})
	require.NoError(t, err)
	_, err = c.Cancel(ctx, id, CancelRequest{Reason: "r"})
	require.NoError(t, err)
	_, err = c.GetRefund(ctx, id, "R1")
	require.NoError(t, err)
	_, err = c.ReturnShipment(ctx, id, "R1", ReturnShipmentRequest{TrackingNo: "RT"})
	require.NoError(t, err)
	_, err = c.ListOrders(ctx, ListOrdersParams{State: StatePaid, Provider: WeChatPay, PageSize: 10,
		From: time.Date(2025, 6, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))})
	require.NoError(t, err)

	want := []struct{ method, path string }{
		{"GET", "/base/v1/orders/order-m1-A%2F1"},
		{"POST", "/base/v1/orders/order-m1-A%2F1/shipment"},
		{"POST", "/base/v1/orders/order-m1-A%2F1/confirm-receipt"},
		{"POST", "/base/v1/orders/order-m1-A%2F1/extend-confirmation"},
		{"POST", "/base/v1/orders/order-m1-A%2F1/cancel"},
		{"GET", "/base/v1/orders/order-m1-A%2F1/refunds/R1"},
		{"POST", "/base/v1/orders/order-m1-A%2F1/refunds/R1/return-shipment"},
		{"GET", "/base/v1/orders"},
	}
	require.Len(t, *seen, len(want))
	for i, w := range want {
		assert.Equal(t, w.method, (*seen)[i].method, i)
		assert.Equal(t, w.path, (*seen)[i].path, i)
	}
	assert.Equal(t, "from=2025-05-31T16%3A00%3A00Z&pageSize=10&provider=wechatpay&state=Paid", (*seen)[7].rawQuery)
}

func TestBadBaseURL(t *testing.T) {
	_, err := New("not a url", "k").GetOrder(context.Background(), "x")
	require.Error(t, err)
	_, err = New("ftp://host", "k").GetOrder(context.Background(), "x")
	require.Error(t, err)
}
