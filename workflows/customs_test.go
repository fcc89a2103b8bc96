package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/providers"
)

func TestCustomsRejectionRefundsEverything(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	var ship *updateResult
	h.at(3*time.Hour, func() {
		h.env.SignalWorkflow(SignalCustomsResult, h.customs.SetVerdict(providers.Clearance{
			OrderNo: testOrderID, Status: providers.ClearanceRejected,
			Code: providers.RejectIdentityMismatch, Reason: "payer does not match the order"}))
	})
	h.at(2*time.Hour, func() { ship = h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"}) })
	v := h.run(testInput(providers.Alipay))

	require.Equal(t, StateCustomsRejected, v.State, timeline(v))
	assert.Equal(t, CustomsRejected, v.CustomsStatus)
	require.NotNil(t, v.Clearance)
	assert.Equal(t, providers.RejectIdentityMismatch, v.Clearance.Code)
	// The saga: declaration and manifest withdrawn, everything refunded.
	assert.Equal(t, 1, h.alipay.Calls("CancelDeclaration"))
	assert.Equal(t, 1, h.customs.Calls("CancelManifest"))
	assert.Equal(t, "229.11 CNY", h.alipay.RefundedTotal().String())
	require.Len(t, v.Refunds, 1)
	r := v.Refunds[0]
	assert.Equal(t, "xhs_customs_1", r.RefundNo)
	assert.Equal(t, RefundSucceeded, r.State)
	assert.Equal(t, "19.11 CNY", r.TaxReversed.String(), "no tax is levied on a rejected order")
	assert.Equal(t, RefundWorkflowID(testOrderID, "xhs_customs_1"), r.WorkflowID)
	assert.True(t, v.Amounts.Refundable.IsZero())
	assert.True(t, v.Amounts.Held.IsZero())
	requireRejected(t, ship, RuleShipmentState)
	refund, ok := h.alipay.Refunds()[providers.Key(testOrderID, "refund", "xhs_customs_1")]
	require.True(t, ok, "out_refund_no is derived from the order and refund number")
	assert.Equal(t, "229.11 CNY", refund.Amount.String())
}

func TestCustomsRedeclareAfterDeclarationFailed(t *testing.T) {
	h := newHarness(t)
	h.wechat.SetDeclareStatus(providers.DeclarationFailed)
	h.at(time.Minute, func() { h.pay(providers.WeChatPay) })
	var early, bad, redeclare *updateResult
	var during OrderView
	h.at(30*time.Second, func() {
		early = h.update(UpdateRedeclare, Redeclaration{CustomsCode: "GUANGZHOU", Reason: "wrong office"})
	})
	h.at(2*time.Hour, func() {
		during = h.query()
		bad = h.update(UpdateRedeclare, Redeclaration{Reason: "nothing"})
		h.wechat.SetDeclareStatus(providers.DeclarationSucceeded)
		redeclare = h.update(UpdateRedeclare, Redeclaration{CustomsCode: "GUANGZHOU", Reason: "wrong customs office"})
	})
	h.at(5*time.Hour, func() { h.clear(testStart.Add(5 * time.Hour)) })
	h.at(6*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "EMS", TrackingNo: "EMS1"}) })
	h.at(7*24*time.Hour, func() { h.update(UpdateConfirmReceipt, Confirmation{}) })
	v := h.run(testInput(providers.WeChatPay))

	requireRejected(t, early, RuleRedeclareState)
	assert.Equal(t, StateDeclarationFailed, during.State, timeline(during))
	assert.Equal(t, CustomsDeclarationFailed, during.CustomsStatus)
	requireRejected(t, bad, RuleRedeclareData)
	redeclare.decode(t, &OrderView{})
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.Equal(t, 1, h.wechat.Calls("Redeclare"))
	d, ok := h.wechat.Declaration(providers.Key(testOrderID, "declare"))
	require.True(t, ok)
	assert.Equal(t, "GUANGZHOU", d.CustomsCode, "the correction replaces the configured office")
	assert.Equal(t, "3301960001", d.MerchantCustomsCode)
	assert.Contains(t, timeline(v), "re-declaring: wrong customs office")
}

func TestCustomsClearanceByPollingWhenCallbackIsLost(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	h.at(3*time.Hour+2*time.Minute, func() {
		h.customs.SetVerdict(providers.Clearance{OrderNo: testOrderID, Status: providers.ClearanceCleared,
			ReleasedAt: testStart.Add(3 * time.Hour)})
	})
	var shipTime time.Time
	h.at(10*time.Hour, func() {
		shipTime = h.env.Now()
		h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"})
	})
	v := h.run(testInput(providers.Alipay))
	require.Equal(t, StateCompleted, v.State, timeline(v))
	// Paid at 00:01, polls hourly: the 4th poll (04:01) sees the verdict set at 03:01.
	assert.Equal(t, 4, h.customs.Calls("QueryClearance"))
	assert.Contains(t, timeline(v), "2026-03-02T06:01:00Z  customs      cleared")
	assert.False(t, shipTime.IsZero())
}

func TestCustomsTimeoutNeedsAttentionThenRetry(t *testing.T) {
	h := newHarness(t)
	in := testInput(providers.Alipay)
	in.ClearanceTimeout = 6 * time.Hour
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	var during OrderView
	h.at(7*time.Hour, func() {
		during = h.query()
		h.update(UpdateRetryStep, RetryStep{Step: StepClearance, Note: "customs backlog confirmed"})
	})
	h.at(8*time.Hour, func() { h.clear(testStart.Add(8 * time.Hour)) })
	h.at(9*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"}) })
	v := h.run(in)
	assert.Equal(t, StateNeedsAttention, during.State)
	require.NotNil(t, during.LastError)
	assert.Equal(t, StepClearance, during.LastError.Step)
	assert.Equal(t, "ClearanceTimeout", during.LastError.Type)
	require.Equal(t, StateCompleted, v.State, timeline(v))
}

func TestCustomsCardPaymentWithoutPSPRecordIsRejectedAndRefunded(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.Card) })
	h.at(2*time.Hour, func() {
		h.env.SignalWorkflow(SignalCustomsResult, providers.Clearance{OrderNo: testOrderID,
			Status: providers.ClearanceRejected, Code: providers.RejectNoPaymentRecord, Reason: "no payment record"})
	})
	v := h.run(testInput(providers.Card))
	require.Equal(t, StateCustomsRejected, v.State, timeline(v))
	assert.Contains(t, timeline(v), "card declares the payment out of band")
	assert.Equal(t, "229.11 CNY", h.card.RefundedTotal().String())
	assert.Equal(t, 1, h.customs.Calls("CancelManifest"))
}

func TestCustomsRejectionWithFailingRefundNeedsAttention(t *testing.T) {
	h := newHarness(t)
	h.alipay.Fail("Refund", fakes.Refused("alipay", "refund", providers.ErrTypeRejected))
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	h.at(2*time.Hour, func() {
		h.env.SignalWorkflow(SignalCustomsResult, providers.Clearance{OrderNo: testOrderID,
			Status: providers.ClearanceRejected, Code: providers.RejectQuotaExceeded})
	})
	var during OrderView
	var cancel *updateResult
	h.at(3*time.Hour, func() {
		during = h.query()
		cancel = h.update(UpdateCancel, Cancel{Reason: "give up", By: "ops"})
		h.update(UpdateRetryStep, RetryStep{Step: StepRefund})
	})
	v := h.run(testInput(providers.Alipay))
	assert.Equal(t, StateNeedsAttention, during.State, timeline(during))
	assert.Equal(t, StepRefund, during.LastError.Step)
	assert.Equal(t, "RefundFailed", during.LastError.Type)
	requireRejected(t, cancel, RuleCancelState)
	require.Equal(t, StateCustomsRejected, v.State, timeline(v))
	require.Len(t, v.Refunds, 2)
	assert.Equal(t, RefundFailed, v.Refunds[0].State)
	assert.Equal(t, RefundSucceeded, v.Refunds[1].State)
	assert.Equal(t, "xhs_customs_2", v.Refunds[1].RefundNo)
	assert.Equal(t, "229.11 CNY", h.alipay.RefundedTotal().String())
	assert.True(t, v.Amounts.Refundable.IsZero())
	assert.Equal(t, 1, h.alipay.Calls("CancelDeclaration"), "the filings are withdrawn once")
}
