package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/customs"
	"github.com/xhspay/xhspay/workflows"
)

const notifyOrder = "order-m1-A1001"

// paid is a verified payment notification of notifyOrder's first trade.
func paid(provider providers.Name, id string) providers.Notification {
	return providers.Notification{ID: id, Provider: provider, Kind: providers.NotifyPayment, Payment: &providers.Payment{
		OutTradeNo: providers.Key(notifyOrder, "pay", "1"), TransactionID: "T1", Status: providers.PaymentPaid,
		Amount: money.MustParse("456.22", money.CNY), PaidAt: time.Date(2025, 6, 1, 8, 3, 0, 0, time.UTC),
	}}
}

func TestNotifyRejectsForgedAndMalformedWithoutSignalling(t *testing.T) {
	forged := providers.NewError("alipay", "notify", providers.ErrTypeSignature, "", "signature does not verify", nil)
	malformed := providers.NewError("wechatpay", "notify", providers.ErrTypeInvalidRequest, "", "body is not JSON", nil)
	tests := []struct {
		name     string
		provider providers.Name
		err      error
		status   int
		body     string
		result   string
	}{
		{"alipay forged", providers.Alipay, forged, http.StatusUnauthorized, "fail", "bad_signature"},
		{"alipay malformed", providers.Alipay, malformed, http.StatusBadRequest, "fail", "malformed"},
		{"wechatpay forged", providers.WeChatPay, forged, http.StatusUnauthorized, `{"code":"FAIL","message":"notification rejected"}`, "bad_signature"},
		{"card forged", providers.Card, forged, http.StatusUnauthorized, `"code":"invalid_request"`, "bad_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.parsers[tt.provider].err = tt.err
			rec := f.do(http.MethodPost, "/notify/"+string(tt.provider)+"/"+notifyOrder, "", "x=1")
			require.Equal(t, tt.status, rec.Code)
			assert.Contains(t, rec.Body.String(), tt.body)
			assert.Equal(t, 1.0, f.counter(string(tt.provider), tt.result))
			f.tc.AssertNotCalled(t, "SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything)
			assert.Empty(t, f.tc.Calls)
		})
	}
}

func TestNotifyOfAnotherOrderIsRejected(t *testing.T) {
	f := newFixture(t)
	n := paid(providers.Alipay, "n1")
	n.Payment.OutTradeNo = providers.Key("order-m1-OTHER", "pay", "1")
	f.parsers[providers.Alipay].n = n
	rec := f.do(http.MethodPost, "/notify/alipay/"+notifyOrder, "", "x=1")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "fail", rec.Body.String())
	assert.Equal(t, 1.0, f.counter("alipay", "unknown_order"))

	rec = f.do(http.MethodPost, "/notify/alipay/not-an-order", "", "x=1")
	require.Equal(t, http.StatusNotFound, rec.Code)
	rec = f.do(http.MethodPost, "/notify/paypal/"+notifyOrder, "", "x=1")
	require.Equal(t, http.StatusNotFound, rec.Code)
	assert.Empty(t, f.tc.Calls)
}

func TestNotifyDuplicateIsAcknowledgedOnce(t *testing.T) {
	for _, tt := range []struct {
		provider providers.Name
		status   int
		body     string
	}{
		{providers.Alipay, http.StatusOK, "success"},
		{providers.WeChatPay, http.StatusOK, `{"code":"SUCCESS","message":"成功"}`},
		{providers.Card, http.StatusNoContent, ""},
	} {
		t.Run(string(tt.provider), func(t *testing.T) {
			f := newFixture(t)
			n := paid(tt.provider, "notify-1")
			f.parsers[tt.provider].n = n
			f.tc.On("SignalWorkflow", mock.Anything, notifyOrder, "", workflows.SignalPaymentNotified, *n.Payment).Return(nil).Once()
			for range 2 {
				rec := f.do(http.MethodPost, "/notify/"+string(tt.provider)+"/"+notifyOrder, "", "{}")
				require.Equal(t, tt.status, rec.Code)
				assert.Equal(t, tt.body, rec.Body.String())
			}
			f.tc.AssertNumberOfCalls(t, "SignalWorkflow", 1)
			assert.Equal(t, 1.0, f.counter(string(tt.provider), "accepted"))
			assert.Equal(t, 1.0, f.counter(string(tt.provider), "duplicate"))
		})
	}
}

func TestNotifyRefundSignalsTheOrder(t *testing.T) {
	f := newFixture(t)
	rf := providers.Refund{OutTradeNo: providers.Key(notifyOrder, "pay", "2"), OutRefundNo: "RF", Status: providers.RefundSucceeded}
	f.parsers[providers.WeChatPay].n = providers.Notification{ID: "r1", Kind: providers.NotifyRefund, Refund: &rf}
	f.tc.On("SignalWorkflow", mock.Anything, notifyOrder, "", workflows.SignalRefundNotified, rf).Return(nil).Once()
	rec := f.do(http.MethodPost, "/notify/wechatpay/"+notifyOrder, "", "{}")
	require.Equal(t, http.StatusOK, rec.Code)
}

func TestNotifyIsAcknowledgedOnlyAfterTheSignal(t *testing.T) {
	f := newFixture(t)
	n := paid(providers.Alipay, "n-retry")
	f.parsers[providers.Alipay].n = n
	f.tc.On("SignalWorkflow", mock.Anything, notifyOrder, "", workflows.SignalPaymentNotified, mock.Anything).
		Return(serviceerror.NewUnavailable("frontend down")).Once()
	rec := f.do(http.MethodPost, "/notify/alipay/"+notifyOrder, "", "x=1")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "fail", rec.Body.String(), "Alipay retries anything but success")
	assert.Equal(t, 1.0, f.counter("alipay", "error"))

	// The retry is not taken for a duplicate.
	f.tc.On("SignalWorkflow", mock.Anything, notifyOrder, "", workflows.SignalPaymentNotified, mock.Anything).Return(nil).Once()
	rec = f.do(http.MethodPost, "/notify/alipay/"+notifyOrder, "", "x=1")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "success", rec.Body.String())
	assert.Equal(t, 1.0, f.counter("alipay", "accepted"))
}

func TestNotifyForEndedOrderIsAcknowledged(t *testing.T) {
	f := newFixture(t)
	f.parsers[providers.Card].n = paid(providers.Card, "late")
	f.tc.On("SignalWorkflow", mock.Anything, notifyOrder, "", workflows.SignalPaymentNotified, mock.Anything).
		Return(serviceerror.NewNotFound("workflow execution already completed")).Once()
	rec := f.do(http.MethodPost, "/notify/card/"+notifyOrder, "", "{}")
	require.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, 1.0, f.counter("card", "order_closed"))
}

func TestNotifyCustoms(t *testing.T) {
	f := newFixture(t)
	cl := providers.Clearance{OrderNo: notifyOrder, Status: providers.ClearanceCleared, ReleasedAt: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)}
	f.customs.ev = customs.Event{ID: "c1", Kind: customs.EventClearance, OrderNo: notifyOrder, Clearance: &cl}
	f.tc.On("SignalWorkflow", mock.Anything, notifyOrder, "", workflows.SignalCustomsResult, cl).Return(nil).Once()
	rec := f.do(http.MethodPost, "/notify/customs", "", "{}")
	require.Equal(t, http.StatusNoContent, rec.Code)

	ret := providers.Return{OutReturnNo: "RET1", Status: providers.ReturnAccepted}
	f.customs.ev = customs.Event{ID: "c2", Kind: customs.EventReturn, OrderNo: notifyOrder, Return: &ret}
	f.tc.On("SignalWorkflow", mock.Anything, notifyOrder, "", workflows.SignalReturnDecision, ret).Return(nil).Once()
	rec = f.do(http.MethodPost, "/notify/customs", "", "{}")
	require.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, 2.0, f.counter("customs", "accepted"))

	f.customs.ev = customs.Event{ID: "c3", Kind: customs.EventClearance, OrderNo: "ORDER-42", Clearance: &cl}
	rec = f.do(http.MethodPost, "/notify/customs", "", "{}")
	require.Equal(t, http.StatusBadRequest, rec.Code)

	f.customs.err = providers.NewError("customs", "notify", providers.ErrTypeSignature, "", "bad signature", nil)
	rec = f.do(http.MethodPost, "/notify/customs", "", "{}")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, 1.0, f.counter("customs", "bad_signature"))
	f.tc.AssertNumberOfCalls(t, "SignalWorkflow", 2)
}

func TestTradeOfOrder(t *testing.T) {
	assert.True(t, tradeOfOrder("order-m1-A", providers.Key("order-m1-A", "pay", "1")))
	assert.True(t, tradeOfOrder("order-m1-A", providers.Key("order-m1-A", "pay", "7")))
	assert.False(t, tradeOfOrder("order-m1-A", providers.Key("order-m1-B", "pay", "1")))
	assert.False(t, tradeOfOrder("order-m1-A", providers.Key("order-m1-A", "refund", "1")))
	assert.False(t, tradeOfOrder("order-m1-A", ""))
}

func TestSeenSetBoundsSizeAndTime(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSeenSet(2, time.Minute, func() time.Time { return now })
	s.add("a")
	s.add("b")
	assert.True(t, s.contains("a"))
	s.add("c")
	assert.False(t, s.contains("a"), "the oldest goes first")
	assert.True(t, s.contains("b"))
	now = now.Add(2 * time.Minute)
	assert.False(t, s.contains("c"), "expired")
}
