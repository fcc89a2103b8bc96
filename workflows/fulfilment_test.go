package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
)

// paidAndShipped schedules payment at 1m, clearance at 2h and shipment at 5h.
func (h *harness) paidAndShipped(p providers.Name) {
	h.at(time.Minute, func() { h.pay(p) })
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	h.at(5*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF Express", TrackingNo: "SF1"}) })
}

var shippedAt = testStart.Add(5 * time.Hour)

// releaseTime returns when the timeline says the funds were released.
func releaseTime(t *testing.T, v OrderView) time.Time {
	t.Helper()
	for _, e := range v.Timeline {
		if e.Step == string(StepRelease) && e.Detail == "completed: ready for settlement" {
			return e.At
		}
	}
	t.Fatalf("no release in timeline:\n%s", timeline(v))
	return time.Time{}
}

func TestAutoConfirmAfterDeadline(t *testing.T) {
	h := newHarness(t)
	h.paidAndShipped(providers.Alipay)
	var before OrderView
	h.at(5*time.Hour+time.Minute, func() { before = h.query() })
	v := h.run(testInput(providers.Alipay))
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.Equal(t, StateAwaitingConfirmation, before.State)
	assert.WithinDuration(t, shippedAt.Add(DefaultAutoConfirmAfter), before.Deadlines.AutoConfirmAt, 0)
	assert.WithinDuration(t, shippedAt.Add(DefaultAutoConfirmAfter), releaseTime(t, v), 0)
	assert.Contains(t, timeline(v), "receipt confirmed automatically at the deadline")
}

func TestBuyerExtensionsWithinBoundsAndBeyond(t *testing.T) {
	h := newHarness(t)
	h.paidAndShipped(providers.WeChatPay)
	var first, second, third, tooLong, tooLong2, zero, early *updateResult
	h.at(3*time.Hour, func() { early = h.update(UpdateExtendConfirmation, Extension{Days: 1, Reason: "not shipped yet"}) })
	h.at(24*time.Hour, func() {
		zero = h.update(UpdateExtendConfirmation, Extension{Days: 0, Reason: "parcel delayed"})
		tooLong = h.update(UpdateExtendConfirmation, Extension{Days: 11, Reason: "parcel delayed"})
		first = h.update(UpdateExtendConfirmation, Extension{Days: 3, Reason: "parcel delayed"})
	})
	h.at(12*24*time.Hour, func() {
		tooLong2 = h.update(UpdateExtendConfirmation, Extension{Days: 8, Reason: "still delayed"})
		second = h.update(UpdateExtendConfirmation, Extension{Days: 7, Reason: "still delayed"})
		third = h.update(UpdateExtendConfirmation, Extension{Days: 1, Reason: "one more day"})
	})
	v := h.run(testInput(providers.WeChatPay))

	requireRejected(t, early, RuleExtensionState)
	requireRejected(t, zero, RuleExtensionDays)
	requireRejected(t, tooLong, RuleExtensionTotal)
	requireRejected(t, tooLong2, RuleExtensionTotal)
	var fv, sv OrderView
	first.decode(t, &fv)
	assert.WithinDuration(t, shippedAt.Add(13*24*time.Hour), fv.Deadlines.AutoConfirmAt, 0)
	second.decode(t, &sv)
	assert.WithinDuration(t, shippedAt.Add(20*24*time.Hour), sv.Deadlines.AutoConfirmAt, 0)
	assert.Equal(t, 2, sv.Extensions)
	requireRejected(t, third, RuleExtensionCount)
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.WithinDuration(t, shippedAt.Add(20*24*time.Hour), releaseTime(t, v), 0,
		"released at the twice-extended deadline, not the original one")
}

func TestForceReleaseByOperator(t *testing.T) {
	h := newHarness(t)
	h.paidAndShipped(providers.Alipay)
	var bad, ok *updateResult
	h.at(24*time.Hour, func() {
		bad = h.update(UpdateForceRelease, ForceRelease{Reason: "buyer unreachable"})
		ok = h.update(UpdateForceRelease, ForceRelease{Reason: "buyer unreachable", By: "ops-anna"})
	})
	v := h.run(testInput(providers.Alipay))
	requireRejected(t, bad, RuleRequestFields)
	ok.decode(t, &OrderView{})
	require.Equal(t, StateCompleted, v.State)
	assert.WithinDuration(t, testStart.Add(24*time.Hour), releaseTime(t, v), 0)
	assert.Contains(t, timeline(v), "receipt confirmed by operator ops-anna")
}

func TestShipmentAndConfirmationValidators(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	var beforeClear, badTracking, confirmEarly, again, other, cancelAfter *updateResult
	h.at(time.Hour, func() {
		beforeClear = h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"})
		confirmEarly = h.update(UpdateConfirmReceipt, Confirmation{})
	})
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	h.at(3*time.Hour, func() {
		badTracking = h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF 1; DROP"})
		h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"})
		again = h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"})
		other = h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF2"})
		cancelAfter = h.update(UpdateCancel, Cancel{Reason: "changed mind", By: "buyer"})
	})
	h.at(4*time.Hour, func() { h.update(UpdateConfirmReceipt, Confirmation{}) })
	v := h.run(testInput(providers.Alipay))
	requireRejected(t, beforeClear, RuleShipmentState)
	requireRejected(t, confirmEarly, RuleConfirmState)
	requireRejected(t, badTracking, RuleShipmentData)
	again.decode(t, &OrderView{})
	requireRejected(t, other, RuleShipmentState)
	requireRejected(t, cancelAfter, RuleCancelAfterShipment)
	require.Equal(t, StateCompleted, v.State)
}
