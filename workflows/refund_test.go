package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

const day = 24 * time.Hour

// refund asks the order for a refund.
func (h *harness) refund(req RefundRequest) *updateResult { return h.update(UpdateRequestRefund, req) }

// returnShipped sends the return shipment to the refund workflow directly, as the API does.
func (h *harness) returnShipped(refundNo, trackingNo string) *updateResult {
	updateSeq++
	r := &updateResult{}
	err := h.env.UpdateWorkflowByID(RefundWorkflowID(testOrderID, refundNo), UpdateReturnShipped, "rs-"+refundNo,
		&testSuiteCallback{r}, ReturnShipment{TrackingNo: trackingNo, Carrier: "SF Express"})
	require.NoError(h.t, err)
	return r
}

func outRefundNo(refundNo string) string { return providers.Key(testOrderID, "refund", refundNo) }
func outReturnNo(refundNo string) string { return providers.Key(testOrderID, "return", refundNo) }

func refundNamed(t *testing.T, v OrderView, no string) RefundView {
	t.Helper()
	for _, r := range v.Refunds {
		if r.RefundNo == no {
			return r
		}
	}
	t.Fatalf("no refund %s in %+v", no, v.Refunds)
	return RefundView{}
}

func TestRefundPartialBeforeShipment(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	var r1 *updateResult
	h.at(3*time.Hour, func() {
		r1 = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("50.00"), Reason: "one unit out of stock",
			Items: []ItemRef{{SKU: "CREAM-50", Quantity: 1}}})
	})
	h.at(5*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"}) })
	h.at(2*day, func() { h.update(UpdateConfirmReceipt, Confirmation{}) })
	v := h.run(testInput(providers.Alipay))

	var rv RefundView
	r1.decode(t, &rv)
	assert.Equal(t, RefundRunning, rv.State)
	assert.Equal(t, RefundWorkflowID(testOrderID, "R1"), rv.WorkflowID)
	require.Equal(t, StateCompleted, v.State, timeline(v))
	r := refundNamed(t, v, "R1")
	assert.Equal(t, RefundSucceeded, r.State)
	assert.True(t, r.TaxReversed.IsZero(), "a partial refund before shipment leaves the declaration as it is")
	assert.Equal(t, "50.00 CNY", v.Amounts.Refunded.String())
	assert.Equal(t, "179.11 CNY", v.Amounts.Refundable.String())
	rel, ok := h.alipay.Released(providers.Key(testOrderID, "release"))
	require.True(t, ok)
	assert.Equal(t, "179.11 CNY", rel.Amount.String(), "only what was not refunded is released")
	assert.Zero(t, h.alipay.Calls("CancelDeclaration"))
}

func TestRefundFullBeforeShipmentEndsRefunded(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.WeChatPay) })
	var r1 *updateResult
	h.at(time.Hour, func() {
		r1 = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("229.11"), Reason: "buyer changed mind"})
	})
	v := h.run(testInput(providers.WeChatPay))
	r1.decode(t, &RefundView{})
	require.Equal(t, StateRefunded, v.State, timeline(v))
	assert.Equal(t, CustomsCancelled, v.CustomsStatus)
	assert.Equal(t, 1, h.wechat.Calls("CancelDeclaration"))
	assert.Equal(t, 1, h.customs.Calls("CancelManifest"))
	r := refundNamed(t, v, "R1")
	assert.Equal(t, RefundSucceeded, r.State)
	assert.Equal(t, "19.11 CNY", r.TaxReversed.String())
	assert.Len(t, v.Refunds, 1, "no compensation refund on top of the merchant's")
	assert.Equal(t, "229.11 CNY", h.wechat.RefundedTotal().String())
	_, released := h.wechat.Released(providers.Key(testOrderID, "release"))
	assert.False(t, released)
}

func TestRefundReturnAcceptedAfterReimport(t *testing.T) {
	h := newHarness(t)
	in := testInput(providers.Alipay)
	in.Polling.Return = 100 * day // the customs decision arrives by signal only
	h.paidAndShipped(providers.Alipay)
	var r1, ship *updateResult
	var during OrderView
	var refundsBefore int
	h.at(2*day, func() {
		r1 = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("114.56"), Reason: "wrong shade",
			Items: []ItemRef{{SKU: "CREAM-50", Quantity: 1}}, ReturnGoods: true})
	})
	h.at(3*day, func() { ship = h.returnShipped("R1", "RT123") })
	h.at(8*day, func() {
		during = h.query()
		refundsBefore = h.alipay.Calls("Refund")
		h.env.SignalWorkflow(SignalReturnDecision, h.customs.DecideReturn(outReturnNo("R1"), providers.ReturnAccepted, ""))
	})
	v := h.run(in)

	r1.decode(t, &RefundView{})
	var sv RefundView
	ship.decode(t, &sv)
	assert.Equal(t, "RT123", sv.ReturnTrackingNo)
	assert.Equal(t, RefundRunning, refundNamed(t, during, "R1").State)
	assert.Zero(t, refundsBefore, "no money back before customs accepts the re-import")
	filed, ok := h.customs.Filed(outReturnNo("R1"))
	require.True(t, ok)
	assert.Equal(t, "RT123", filed.TrackingNo)
	require.Len(t, filed.Items, 1)
	assert.Equal(t, 1, filed.Items[0].Quantity)
	assert.Zero(t, h.customs.Calls("QueryReturn"))

	require.Equal(t, StateCompleted, v.State, timeline(v))
	r := refundNamed(t, v, "R1")
	assert.Equal(t, RefundSucceeded, r.State)
	assert.Equal(t, "9.56 CNY", r.TaxReversed.String(), "19.11 × 114.56 / 229.11, half up")
	assert.Equal(t, "114.56 CNY", h.alipay.Refunds()[outRefundNo("R1")].Amount.String())
	rel, ok := h.alipay.Released(providers.Key(testOrderID, "release"))
	require.True(t, ok)
	assert.Equal(t, "114.55 CNY", rel.Amount.String())
}

func TestRefundReturnRejectedByCustoms(t *testing.T) {
	h := newHarness(t)
	h.paidAndShipped(providers.WeChatPay)
	h.at(2*day, func() {
		h.refund(RefundRequest{RefundNo: "R1", Amount: cny("229.11"), Reason: "damaged", ReturnGoods: true})
	})
	h.at(3*day, func() { h.returnShipped("R1", "RT1") })
	h.at(5*day, func() { h.customs.DecideReturn(outReturnNo("R1"), providers.ReturnRejected, "seal broken") })
	v := h.run(testInput(providers.WeChatPay))
	require.Equal(t, StateCompleted, v.State, timeline(v))
	r := refundNamed(t, v, "R1")
	assert.Equal(t, RefundReturnRejected, r.State)
	assert.Contains(t, r.Error, "seal broken")
	assert.Zero(t, h.wechat.Calls("Refund"))
	assert.Positive(t, h.customs.Calls("QueryReturn"), "found by polling")
	assert.True(t, v.Amounts.Refunded.IsZero())
	rel, _ := h.wechat.Released(providers.Key(testOrderID, "release"))
	assert.Equal(t, "229.11 CNY", rel.Amount.String())
}

func TestRefundReturnExpiresAfter45Days(t *testing.T) {
	h := newHarness(t)
	h.paidAndShipped(providers.Alipay)
	h.at(2*day, func() {
		h.refund(RefundRequest{RefundNo: "R1", Amount: cny("100.00"), Reason: "too small", ReturnGoods: true,
			Items: []ItemRef{{SKU: "CREAM-50", Quantity: 1}}})
	})
	h.at(3*day, func() { h.returnShipped("R1", "RT1") })
	var late, again *updateResult
	h.at(31*day, func() {
		late = h.refund(RefundRequest{RefundNo: "R2", Amount: cny("10.00"), Reason: "late", ReturnGoods: true,
			Items: []ItemRef{{SKU: "CREAM-50", Quantity: 1}}})
		again = h.refund(RefundRequest{RefundNo: "R3", Amount: cny("10.00"), Reason: "again", ReturnGoods: true})
	})
	v := h.run(testInput(providers.Alipay))
	require.Equal(t, StateCompleted, v.State, timeline(v))
	r := refundNamed(t, v, "R1")
	assert.Equal(t, RefundReturnExpired, r.State)
	assert.WithinDuration(t, testStart.Add(3*day+DefaultReturnDecisionTimeout), r.FinishedAt, 0)
	assert.Zero(t, h.alipay.Calls("Refund"))
	requireRejected(t, late, RuleReturnWindow)
	assert.Contains(t, late.rejected.Error(), "within 30 days of the customs release")
	requireRejected(t, again, RuleReturnWindow)
	// The funds stayed held while the return was open, then were released in full.
	assert.WithinDuration(t, testStart.Add(3*day+DefaultReturnDecisionTimeout), releaseTime(t, v), 0)
}

func TestRefundReturnNeverShipped(t *testing.T) {
	h := newHarness(t)
	h.paidAndShipped(providers.Alipay)
	h.at(2*day, func() {
		h.refund(RefundRequest{RefundNo: "R1", Amount: cny("100.00"), Reason: "too small", ReturnGoods: true,
			Items: []ItemRef{{SKU: "CREAM-50", Quantity: 1}}})
	})
	v := h.run(testInput(providers.Alipay))
	r := refundNamed(t, v, "R1")
	assert.Equal(t, RefundReturnExpired, r.State)
	assert.Contains(t, r.Error, "no return shipment")
	assert.WithinDuration(t, testStart.Add(2*time.Hour+DefaultReturnWindow), r.FinishedAt, 0)
	assert.Zero(t, h.customs.Calls("FileReturn"))
}

func TestRefundMultiplePartialAndOverRefund(t *testing.T) {
	h := newHarness(t)
	h.alipay.SetRefundStatus(providers.RefundProcessing)
	h.paidAndShipped(providers.Alipay)
	in := testInput(providers.Alipay)
	in.Polling.Refund = day // R1's result arrives by the notification the order forwards
	var r1, r2, over, overInFlight, noApproval *updateResult
	h.at(day, func() {
		noApproval = h.refund(RefundRequest{RefundNo: "R0", Amount: cny("10.00"), Reason: "lost"})
		r1 = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("100.00"), Reason: "parcel lost", OperatorApproved: true})
		// R1 is in flight: only 129.11 remains.
		overInFlight = h.refund(RefundRequest{RefundNo: "R2", Amount: cny("130.00"), Reason: "rest", OperatorApproved: true})
	})
	h.at(day+time.Hour, func() {
		rf, err := h.alipay.SettleRefund(outRefundNo("R1"), providers.RefundSucceeded)
		require.NoError(t, err)
		h.env.SignalWorkflow(SignalRefundNotified, rf)
		h.alipay.SetRefundStatus(providers.RefundSucceeded)
	})
	h.at(2*day, func() {
		r2 = h.refund(RefundRequest{RefundNo: "R2", Amount: cny("29.11"), Reason: "goodwill", OperatorApproved: true})
		over = h.refund(RefundRequest{RefundNo: "R3", Amount: cny("100.01"), Reason: "too much", OperatorApproved: true})
	})
	v := h.run(in)
	assert.Zero(t, h.alipay.Calls("QueryRefund"), "the forwarded notification settled R1")
	assert.WithinDuration(t, testStart.Add(day+time.Hour), refundNamed(t, v, "R1").FinishedAt, 0)

	requireRejected(t, noApproval, RuleRefundNeedsApproval)
	r1.decode(t, &RefundView{})
	requireRejected(t, overInFlight, RuleRefundExceedsCaptured)
	r2.decode(t, &RefundView{})
	requireRejected(t, over, RuleRefundExceedsCaptured)
	assert.Contains(t, over.rejected.Error(), "100.01 CNY is more than the 100.00 CNY still refundable")
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.Equal(t, "129.11 CNY", v.Amounts.Refunded.String())
	assert.Equal(t, "100.00 CNY", v.Amounts.Refundable.String())
	assert.Equal(t, RefundSucceeded, refundNamed(t, v, "R1").State)
	assert.Equal(t, RefundSucceeded, refundNamed(t, v, "R2").State)
	assert.Len(t, v.Refunds, 2)
	assert.Equal(t, "129.11 CNY", h.alipay.RefundedTotal().String())
	rel, _ := h.alipay.Released(providers.Key(testOrderID, "release"))
	assert.Equal(t, "100.00 CNY", rel.Amount.String())
}

func TestRefundProcessingFollowedByPolling(t *testing.T) {
	h := newHarness(t)
	h.wechat.SetRefundStatus(providers.RefundProcessing)
	h.at(time.Minute, func() { h.pay(providers.WeChatPay) })
	h.at(time.Hour, func() {
		h.refund(RefundRequest{RefundNo: "R1", Amount: cny("20.00"), Reason: "price adjustment"})
	})
	h.at(time.Hour+30*time.Minute, func() {
		_, err := h.wechat.SettleRefund(outRefundNo("R1"), providers.RefundSucceeded)
		require.NoError(t, err)
	})
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	h.at(5*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"}) })
	v := h.run(testInput(providers.WeChatPay))
	assert.Equal(t, RefundSucceeded, refundNamed(t, v, "R1").State)
	// Polls back off 1, 2, 4, 8, 16 minutes: the fifth (at +31m) sees it.
	assert.Equal(t, 5, h.wechat.Calls("QueryRefund"))
	assert.WithinDuration(t, testStart.Add(time.Hour+31*time.Minute), refundNamed(t, v, "R1").FinishedAt, 0)
}

func TestRefundIdempotency(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	req := RefundRequest{RefundNo: "R1", Amount: cny("20.00"), Reason: "price adjustment"}
	var first, same, changed, later *updateResult
	h.at(time.Hour, func() {
		first = h.refund(req)
		same = h.refund(req)
		other := req
		other.Amount = cny("21.00")
		changed = h.refund(other)
	})
	h.at(90*time.Minute, func() { later = h.refund(req) })
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	h.at(5*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"}) })
	v := h.run(testInput(providers.Alipay))

	var a, b, c RefundView
	first.decode(t, &a)
	same.decode(t, &b)
	later.decode(t, &c)
	assert.Equal(t, a.WorkflowID, b.WorkflowID)
	assert.Equal(t, a.RequestedAt, b.RequestedAt)
	assert.Equal(t, RefundSucceeded, c.State, "asking again later returns the finished refund")
	requireRejected(t, changed, RuleRefundNoReused)
	assert.Len(t, v.Refunds, 1)
	assert.Equal(t, 1, h.alipay.Calls("Refund"))
	assert.Equal(t, "20.00 CNY", v.Amounts.Refunded.String())
}

func TestRefundValidator(t *testing.T) {
	h := newHarness(t)
	var beforePay *updateResult
	h.at(10*time.Second, func() {
		beforePay = h.refund(RefundRequest{RefundNo: "R0", Amount: cny("1.00"), Reason: "x"})
	})
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	results := map[string]*updateResult{}
	h.at(time.Hour, func() {
		results[RuleRefundNo] = h.refund(RefundRequest{RefundNo: "xhs_cancel_1", Amount: cny("1.00"), Reason: "x"})
		results[RuleRefundNo+"/dash"] = h.refund(RefundRequest{RefundNo: "R-1", Amount: cny("1.00"), Reason: "x"})
		results[RuleRefundAmount+"/usd"] = h.refund(RefundRequest{RefundNo: "R1", Amount: money.MustParse("1.00", money.USD), Reason: "x"})
		results[RuleRefundAmount+"/fen"] = h.refund(RefundRequest{RefundNo: "R1", Amount: fineAmount("1.001"), Reason: "x"})
		results[RuleRefundAmount+"/zero"] = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("0.00"), Reason: "x"})
		results[RuleReturnBeforeShipment] = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("1.00"), Reason: "x", ReturnGoods: true})
		results[RuleRefundItems] = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("1.00"), Reason: "x",
			Items: []ItemRef{{SKU: "NOPE", Quantity: 1}}})
		results[RuleRefundItems+"/qty"] = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("1.00"), Reason: "x",
			Items: []ItemRef{{SKU: "CREAM-50", Quantity: 3}}})
		results[RuleRefundExceedsCaptured] = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("229.12"), Reason: "x"})
	})
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	h.at(5*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"}) })
	v := h.run(testInput(providers.Alipay))
	requireRejected(t, beforePay, RuleRefundState)
	for key, r := range results {
		rule := key
		if i := len(rule) - len("/xxx"); i > 0 && rule[i] == '/' {
			rule = rule[:i]
		}
		if i := len(rule) - len("/dash"); i > 0 && rule[i] == '/' {
			rule = rule[:i]
		}
		t.Run(key, func(t *testing.T) { requireRejected(t, r, rule) })
	}
	assert.Empty(t, v.Refunds)
}
