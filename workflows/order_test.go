package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// shipAndConfirm schedules clearance at 2h, shipment at 5h and the buyer's confirmation at 3 days.
func (h *harness) shipAndConfirm() {
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	h.at(5*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF Express", TrackingNo: "SF1234567890"}) })
	h.at(3*24*time.Hour, func() { h.update(UpdateConfirmReceipt, Confirmation{By: "app"}) })
}

func TestOrderHappyPathPerProvider(t *testing.T) {
	tests := []struct {
		provider    providers.Name
		scene       providers.Scene
		wantHeld    bool
		wantCustoms string // timeline detail proving how the payment was declared
	}{
		{providers.Alipay, providers.SceneQR, true, "payment declaration SUCCEEDED"},
		{providers.WeChatPay, providers.ScenePage, true, "payment declaration SUCCEEDED"},
		{providers.Card, providers.ScenePage, false, "card declares the payment out of band"},
	}
	for _, tc := range tests {
		t.Run(string(tc.provider), func(t *testing.T) {
			h := newHarness(t)
			in := testInput(tc.provider)
			in.Scene = tc.scene
			var checkout, again *updateResult
			h.at(0, func() { checkout = h.update(UpdateAwaitCheckout) })
			h.at(time.Minute, func() { again = h.update(UpdateAwaitCheckout) })
			h.at(90*time.Second, func() { h.pay(tc.provider) })
			h.shipAndConfirm()
			v := h.run(in)

			var co, co2 CheckoutResult
			checkout.decode(t, &co)
			again.decode(t, &co2)
			assert.Equal(t, co, co2, "AwaitCheckout is idempotent")
			if tc.scene == providers.SceneQR {
				assert.NotEmpty(t, co.QRCode)
			} else {
				assert.Equal(t, "https://pay.example/"+string(tc.provider)+"/"+outTradeNo(), co.PayURL)
			}
			req, ok := h.provider(tc.provider).Request(outTradeNo())
			require.True(t, ok)
			assert.True(t, req.Hold)
			assert.Equal(t, "229.11 CNY", req.Amount.String())
			assert.Equal(t, testStart.Add(DefaultPaymentExpiry), req.ExpireAt)
			assert.Equal(t, "https://api.example/notify/"+string(tc.provider)+"/"+testOrderID, req.NotifyURL)

			require.Equal(t, StateCompleted, v.State, timeline(v))
			assert.Equal(t, CustomsCleared, v.CustomsStatus)
			assert.Contains(t, timeline(v), tc.wantCustoms)
			assert.Equal(t, "TX"+outTradeNo(), v.TransactionID)
			assert.Equal(t, "29.21 EUR", v.Amounts.TotalHome.String(), "229.11 × 0.1275 half up")
			require.NotNil(t, v.FX)
			assert.Equal(t, money.EUR, v.FX.Counter)
			_, released := h.alipay.Released(providers.Key(testOrderID, "release"))
			_, releasedWx := h.wechat.Released(providers.Key(testOrderID, "release"))
			assert.Equal(t, tc.wantHeld, released || releasedWx)
			m, ok := h.customs.Manifest(testOrderID)
			require.True(t, ok)
			assert.Equal(t, "3301960001", m.PlatformCode)
			assert.Equal(t, "19.11 CNY", m.Tax.String())
			// The order stays open for returns until 30 days after the customs release.
			assert.WithinDuration(t, testStart.Add(2*time.Hour+DefaultReturnWindow), h.env.Now(), 0)
		})
	}
}

func TestOrderHuabeiInstalments(t *testing.T) {
	h := newHarness(t)
	in := testInput(providers.Alipay)
	in.Instalments = &providers.Instalments{Count: 6, FeeBearer: providers.FeeSeller}
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	h.shipAndConfirm()
	v := h.run(in)
	require.Equal(t, StateCompleted, v.State, timeline(v))
	req, ok := h.alipay.Request(outTradeNo())
	require.True(t, ok)
	require.NotNil(t, req.Instalments)
	assert.Equal(t, providers.Instalments{Count: 6, FeeBearer: providers.FeeSeller}, *req.Instalments)
	assert.Equal(t, 6, v.Instalments)
	assert.Contains(t, timeline(v), "with 6 Huabei instalments (fee: seller)")
	assert.Contains(t, timeline(v), "in 6 instalments")
}

func TestOrderExpiresWithoutPayment(t *testing.T) {
	h := newHarness(t)
	var checkout *updateResult
	h.at(0, func() { checkout = h.update(UpdateAwaitCheckout) })
	v := h.run(testInput(providers.WeChatPay))
	require.Equal(t, StateExpired, v.State, timeline(v))
	assert.Equal(t, 1, h.wechat.Calls("ClosePayment"))
	assert.Zero(t, h.wechat.Calls("Refund"))
	assert.True(t, v.Amounts.Captured.IsZero())
	assert.WithinDuration(t, testStart.Add(DefaultPaymentExpiry), h.env.Now(), 0, "the trade closes at expiry")
	// Polling fell back every 30 seconds until expiry.
	assert.Equal(t, 29, h.wechat.Calls("QueryPayment"))
	var co CheckoutResult
	checkout.decode(t, &co)
	assert.Equal(t, StateAwaitingPayment, co.State)
}

func TestOrderExpiryHonoursLatePayment(t *testing.T) {
	h := newHarness(t)
	// The buyer pays between the last poll and expiry and the notification is
	// lost: closing the trade finds it paid, and the order goes on.
	h.at(DefaultPaymentExpiry-10*time.Second, func() {
		_, err := h.alipay.Pay(outTradeNo())
		require.NoError(t, err)
	})
	h.shipAndConfirm()
	v := h.run(testInput(providers.Alipay))
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.Equal(t, 1, h.alipay.Calls("ClosePayment"))
	assert.Contains(t, timeline(v), "late payment found while closing the expired trade: honoured")
	assert.Contains(t, timeline(v), "paid 229.11 CNY (late)")
	assert.Zero(t, h.alipay.Calls("Refund"))
}

func TestOrderPaymentMismatchIsRefunded(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() {
		p, err := h.wechat.PayAmount(outTradeNo(), cny("229.10"))
		require.NoError(t, err)
		h.env.SignalWorkflow(SignalPaymentNotified, p)
	})
	v := h.run(testInput(providers.WeChatPay))
	require.Equal(t, StatePaymentMismatch, v.State, timeline(v))
	assert.Equal(t, "229.10 CNY", h.wechat.RefundedTotal().String())
	assert.Equal(t, "229.10 CNY", v.Amounts.Refunded.String())
	require.Len(t, v.Refunds, 1)
	assert.Equal(t, "xhs_mismatch_1", v.Refunds[0].RefundNo)
	assert.True(t, v.Refunds[0].System)
	assert.Zero(t, h.customs.Calls("SubmitManifest"), "a mismatched payment is never declared")
}

func TestOrderRejectedByCBECRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(*OrderInput, *harness)
		rule   string
		field  string
	}{
		{"not on the positive list", func(in *OrderInput, _ *harness) { in.Items[0].Category = "medicine_rx" }, "cbec.positive_list", "Lines[0].Category"},
		{"missing registration", func(in *OrderInput, _ *harness) { in.Items[0].RegistrationNo = "" }, "cbec.registration_required", "Lines[0].RegistrationNo"},
		{"payer is not the buyer", func(in *OrderInput, _ *harness) {
			in.Payer = providers.Identity{Name: "李四", IDNumber: idWithCheck("11010519800101001")}
		}, "cbec.payer_is_buyer", "Payer.Name"},
		{"single order limit", func(in *OrderInput, _ *harness) {
			in.Items[0].Quantity = 60
		}, "cbec.order_limit", "Dutiable"},
		{"annual limit", func(in *OrderInput, h *harness) {
			hash, err := activities.BuyerIDHash([]byte(testHashKey), testIDNumber)
			require.NoError(t, err)
			require.NoError(t, h.buyers.Add(hash, 2026, cny("25900.00")))
		}, "cbec.annual_limit", ""},
		{"Huabei on WeChat Pay", func(in *OrderInput, _ *harness) {
			in.Provider = providers.WeChatPay
			in.Instalments = &providers.Instalments{Count: 6, FeeBearer: providers.FeeBuyer}
		}, RuleInput, "instalments"},
		{"freight finer than fen", func(in *OrderInput, _ *harness) { in.Freight = fineAmount("10.001") }, RuleInput, "freight"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			in := testInput(providers.Alipay)
			tc.change(&in, h)
			// No provider may be called: mocks that must never run.
			h.env.OnActivity(payAct.CreatePayment, mock.Anything, mock.Anything).Never()
			h.env.OnActivity(customsAct.SubmitManifest, mock.Anything, mock.Anything).Never()
			var checkout *updateResult
			h.at(0, func() { checkout = h.update(UpdateAwaitCheckout) })
			v := h.run(in)
			require.Equal(t, StateRejected, v.State, timeline(v))
			require.NotNil(t, v.Rejection)
			assert.Equal(t, tc.rule, v.Rejection.Rule)
			if tc.field != "" {
				assert.Equal(t, tc.field, v.Rejection.Field)
			}
			assert.NotContains(t, v.Rejection.Message, testIDNumber)
			var co CheckoutResult
			checkout.decode(t, &co)
			assert.Equal(t, StateRejected, co.State)
			assert.Equal(t, v.Rejection, co.Rejection)
			assert.Empty(t, co.QRCode)
			assert.Empty(t, h.alipay.AllCalls())
			assert.Empty(t, h.wechat.AllCalls())
			assert.Empty(t, h.customs.AllCalls())
			h.env.AssertExpectations(t)
		})
	}
}

func TestOrderRejectsMismatchedWorkflowID(t *testing.T) {
	h := newHarness(t)
	in := testInput(providers.Alipay)
	in.MerchantOrderNo = "OTHER"
	v := h.run(in)
	require.Equal(t, StateRejected, v.State)
	assert.Equal(t, RuleInput, v.Rejection.Rule)
	assert.Equal(t, "workflowId", v.Rejection.Field)
}

func TestOrderHashesBuyerIDWhenMissing(t *testing.T) {
	h := newHarness(t)
	in := testInput(providers.Alipay)
	in.BuyerIDHash = ""
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	h.shipAndConfirm()
	v := h.run(in)
	want, err := activities.BuyerIDHash([]byte(testHashKey), testIDNumber)
	require.NoError(t, err)
	assert.Equal(t, want, v.BuyerIDHash)
}

func TestOrderRecoversFromProviderOutage(t *testing.T) {
	h := newHarness(t)
	h.alipay.Fail("CreatePayment", fakes.Unavailable("alipay", "create"), fakes.Unavailable("alipay", "create"))
	h.alipay.Fail("HoldFunds", fakes.Unavailable("alipay", "hold"), fakes.Unavailable("alipay", "hold"))
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	h.shipAndConfirm()
	v := h.run(testInput(providers.Alipay))
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.Equal(t, 3, h.alipay.Calls("CreatePayment"), "two retryable failures, then success")
	assert.Equal(t, 3, h.alipay.Calls("HoldFunds"))
	assert.Len(t, h.alipay.Trades(), 1, "retries reuse the same out_trade_no")
	assert.Nil(t, v.LastError)
}

func TestOrderNonRetryableFailureNeedsAttentionThenRetryStep(t *testing.T) {
	h := newHarness(t)
	h.wechat.Fail("HoldFunds", fakes.Refused("wechatpay", "hold", providers.ErrTypeAuth))
	h.at(time.Minute, func() { h.pay(providers.WeChatPay) })
	var early, retry *updateResult
	var during OrderView
	var holdCalls int
	h.at(time.Hour, func() {
		during = h.query()
		holdCalls = h.wechat.Calls("HoldFunds")
		early = h.update(UpdateRetryStep, RetryStep{Step: StepDeclare})
		retry = h.update(UpdateRetryStep, RetryStep{Step: StepHold, Note: "permission granted"})
	})
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	h.at(5*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF Express", TrackingNo: "SF1"}) })
	v := h.run(testInput(providers.WeChatPay))

	assert.Equal(t, StateNeedsAttention, during.State)
	require.NotNil(t, during.LastError)
	assert.Equal(t, StepHold, during.LastError.Step)
	assert.Equal(t, string(providers.ErrTypeAuth), during.LastError.Type)
	assert.Equal(t, 1, holdCalls, "a non-retryable error is not retried by Temporal")
	requireRejected(t, early, RuleRetryState)
	retry.decode(t, &OrderView{})
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.Equal(t, 2, h.wechat.Calls("HoldFunds"))
}

// requireRejected checks an update was rejected by its validator with rule.
func requireRejected(t *testing.T, r *updateResult, rule string) {
	t.Helper()
	require.NotNil(t, r)
	require.Error(t, r.rejected, "update should be rejected")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(r.rejected, &appErr), "%v", r.rejected)
	assert.Equal(t, rule, appErr.Type(), appErr.Error())
	var rej Rejection
	require.NoError(t, appErr.Details(&rej))
	assert.Equal(t, rule, rej.Rule)
	assert.False(t, r.completed)
}

func TestCheckoutAnswersWhenPaymentCreationFailsForGood(t *testing.T) {
	h := newHarness(t)
	h.wechat.Fail("CreatePayment", fakes.Refused("wechatpay", "create", providers.ErrTypeInvalidRequest))
	var checkout *updateResult
	h.at(0, func() { checkout = h.update(UpdateAwaitCheckout) })
	h.at(time.Hour, func() { h.update(UpdateCancel, Cancel{Reason: "cannot take payment", By: "ops"}) })
	v := h.run(testInput(providers.WeChatPay))
	var co CheckoutResult
	checkout.decode(t, &co)
	assert.Equal(t, StateNeedsAttention, co.State)
	require.NotNil(t, co.LastError)
	assert.Equal(t, StepPayment, co.LastError.Step)
	assert.Equal(t, string(providers.ErrTypeInvalidRequest), co.LastError.Type)
	assert.Empty(t, co.QRCode)
	require.Equal(t, StateCancelled, v.State, timeline(v))
	assert.Equal(t, 1, h.wechat.Calls("ClosePayment"), "the trade that may exist is closed")
	assert.Empty(t, v.Refunds)
}
