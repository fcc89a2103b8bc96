package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/providers"
)

func TestCancelUnpaid(t *testing.T) {
	h := newHarness(t)
	var c1, c2, bad *updateResult
	h.at(5*time.Minute, func() {
		bad = h.update(UpdateCancel, Cancel{Reason: "", By: "merchant"})
		c1 = h.update(UpdateCancel, Cancel{Reason: "out of stock", By: "merchant"})
		c2 = h.update(UpdateCancel, Cancel{Reason: "out of stock", By: "merchant"})
	})
	v := h.run(testInput(providers.Alipay))
	requireRejected(t, bad, RuleRequestFields)
	var cv OrderView
	c1.decode(t, &cv)
	require.NotNil(t, cv.Cancellation)
	assert.Equal(t, "out of stock", cv.Cancellation.Reason)
	c2.decode(t, &OrderView{})
	require.Equal(t, StateCancelled, v.State, timeline(v))
	assert.Equal(t, 1, h.alipay.Calls("ClosePayment"))
	assert.Zero(t, h.alipay.Calls("Refund"))
	assert.Empty(t, v.Refunds)
	assert.WithinDuration(t, testStart.Add(5*time.Minute), h.env.Now(), 0)
}

func TestCancelPaidBeforeClearance(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.WeChatPay) })
	h.at(time.Hour, func() { h.update(UpdateCancel, Cancel{Reason: "fraud suspicion", By: "ops"}) })
	v := h.run(testInput(providers.WeChatPay))
	require.Equal(t, StateCancelled, v.State, timeline(v))
	assert.Equal(t, CustomsCancelled, v.CustomsStatus)
	assert.Equal(t, 1, h.wechat.Calls("CancelDeclaration"))
	assert.Equal(t, 1, h.customs.Calls("CancelManifest"))
	assert.Zero(t, h.wechat.Calls("ClosePayment"), "a paid trade is refunded, not closed")
	assert.Equal(t, "229.11 CNY", h.wechat.RefundedTotal().String())
	require.Len(t, v.Refunds, 1)
	assert.Equal(t, "xhs_cancel_1", v.Refunds[0].RefundNo)
	assert.True(t, v.Amounts.Refundable.IsZero())
	assert.True(t, v.Amounts.Held.IsZero())
}

func TestCancelFindsLatePaymentAndRefundsIt(t *testing.T) {
	h := newHarness(t)
	h.at(5*time.Minute+10*time.Second, func() {
		_, err := h.alipay.Pay(outTradeNo()) // the notification is lost
		require.NoError(t, err)
		h.update(UpdateCancel, Cancel{Reason: "buyer asked", By: "merchant"})
	})
	v := h.run(testInput(providers.Alipay))
	require.Equal(t, StateCancelled, v.State, timeline(v))
	assert.Equal(t, 1, h.alipay.Calls("ClosePayment"))
	assert.Equal(t, "229.11 CNY", h.alipay.RefundedTotal().String())
	assert.Zero(t, h.customs.Calls("CancelManifest"), "nothing was filed")
}

func TestCancelCompensatesStepThatNeedsAttention(t *testing.T) {
	h := newHarness(t)
	h.alipay.Fail("Declare", fakes.Refused("alipay", "declare", providers.ErrTypeInvalidRequest))
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	var during OrderView
	h.at(time.Hour, func() {
		during = h.query()
		h.update(UpdateCancel, Cancel{Reason: "cannot declare", By: "ops"})
	})
	v := h.run(testInput(providers.Alipay))
	assert.Equal(t, StateNeedsAttention, during.State)
	assert.Equal(t, StepDeclare, during.LastError.Step)
	require.Equal(t, StateCancelled, v.State, timeline(v))
	assert.Equal(t, "229.11 CNY", h.alipay.RefundedTotal().String())
	assert.Equal(t, 1, h.customs.Calls("CancelManifest"))
	assert.Equal(t, 1, h.alipay.Calls("CancelDeclaration"), "an interrupted declaration is withdrawn too")
}

func TestTemporalCancellationBecomesCancel(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	h.at(time.Hour, func() { h.env.CancelWorkflow() })
	v := h.run(testInput(providers.Alipay))
	require.Equal(t, StateCancelled, v.State, timeline(v))
	require.NotNil(t, v.Cancellation)
	assert.Equal(t, "temporal", v.Cancellation.By)
	assert.Equal(t, "229.11 CNY", h.alipay.RefundedTotal().String())
}
