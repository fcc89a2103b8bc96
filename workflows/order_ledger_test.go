package workflows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// newLedger opens an in-memory ledger for one test.
func newLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), "sqlite::memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// withLedger books the orders of a harness in l.
func withLedger(l *ledger.Ledger) func(*activities.Deps) {
	return func(d *activities.Deps) { d.Ledger = &activities.Ledger{L: l} }
}

// journal lists the order's postings as "kind: account amount, ...".
func journal(t *testing.T, l *ledger.Ledger) []string {
	t.Helper()
	ps, err := l.Postings(context.Background(), ledger.PostingFilter{OrderID: testOrderID})
	require.NoError(t, err)
	var out []string
	for _, p := range ps {
		s := p.Kind + ":"
		for _, e := range p.Entries {
			s += fmt.Sprintf(" %s %s", e.Account, e.Amount.Number())
		}
		out = append(out, s)
	}
	return out
}

// requireConserved checks the ledger's invariants and the order's money by stage.
func requireConserved(t *testing.T, l *ledger.Ledger, released, refunded, held string) {
	t.Helper()
	r, err := l.CheckInvariants(context.Background())
	require.NoError(t, err)
	require.True(t, r.OK(), "invariants: %v", r.Violations)
	flows, err := l.OrderFlows(context.Background(), testOrderID)
	require.NoError(t, err)
	require.Len(t, flows, 1)
	assert.Equal(t, []string{released, refunded, held},
		[]string{flows[0].Released.Number(), flows[0].Refunded.Number(), flows[0].Held.Number()}, "released, refunded, held")
}

func TestLedgerPostingsOfACompletedOrderAndALaterRefund(t *testing.T) {
	l := newLedger(t)
	h := newHarness(t, withLedger(l))
	in := testInput(providers.Alipay)
	h.paidAndShipped(providers.Alipay)
	h.at(2*day, func() { h.update(UpdateConfirmReceipt, Confirmation{By: "app"}) })
	var r1 *updateResult
	h.at(5*day, func() {
		r1 = h.refund(RefundRequest{RefundNo: "R1", Amount: cny("50.00"), Reason: "parcel damaged", OperatorApproved: true})
	})
	v := h.run(in)
	require.Equal(t, StateCompleted, v.State, timeline(v))
	r1.decode(t, &RefundView{})
	assert.Equal(t, RefundSucceeded, refundNamed(t, v, "R1").State)
	assert.NotContains(t, timeline(v), "not booked")

	assert.ElementsMatch(t, []string{
		"captured: buyer_receivable:alipay 229.11 escrow_held -229.11",
		"held: escrow_held 229.11 escrow_held:alipay -229.11",
		"released: escrow_held:alipay 229.11 tax_payable -19.11 merchant_payable:acme_eu -210.00",
		"clawback: merchant_payable:acme_eu 50.00 escrow_held -50.00",
		"refunded: escrow_held 50.00 buyer_receivable:alipay -50.00",
	}, journal(t, l))
	requireConserved(t, l, "179.11", "50.00", "0.00")

	recs, err := l.OrderRecords(context.Background(), []string{testOrderID})
	require.NoError(t, err)
	rec := recs[testOrderID]
	assert.Equal(t, testOrderNo, rec.MerchantOrderNo)
	assert.Equal(t, "TX"+outTradeNo(), rec.TransactionID)
	assert.Equal(t, v.BuyerIDHash, rec.PayerRef, "the payer reference is the buyer's hash, never the ID number")
	assert.Equal(t, "skincare", rec.Category)
	assert.Equal(t, money.EUR, rec.HomeCurrency)
	require.NotNil(t, rec.Quote)
	assert.Equal(t, "0.1275", rec.Quote.Rate.String())
}

func TestLedgerPostingsOfACustomsRejection(t *testing.T) {
	l := newLedger(t)
	h := newHarness(t, withLedger(l))
	h.at(time.Minute, func() { h.pay(providers.WeChatPay) })
	h.at(3*time.Hour, func() {
		h.env.SignalWorkflow(SignalCustomsResult, h.customs.SetVerdict(providers.Clearance{
			OrderNo: testOrderID, Status: providers.ClearanceRejected, Code: providers.RejectIdentityMismatch}))
	})
	v := h.run(testInput(providers.WeChatPay))
	require.Equal(t, StateCustomsRejected, v.State, timeline(v))
	assert.ElementsMatch(t, []string{
		"captured: buyer_receivable:wechatpay 229.11 escrow_held -229.11",
		"held: escrow_held 229.11 escrow_held:wechatpay -229.11",
		"refunded: escrow_held:wechatpay 229.11 buyer_receivable:wechatpay -229.11",
	}, journal(t, l))
	requireConserved(t, l, "0.00", "229.11", "0.00")
}

func TestLedgerPostingsOfARefundBeforeReleaseWithoutHold(t *testing.T) {
	l := newLedger(t)
	h := newHarness(t, withLedger(l))
	h.at(time.Minute, func() { h.pay(providers.Card) })
	h.at(2*time.Hour, func() { h.clear(testStart.Add(2 * time.Hour)) })
	h.at(3*time.Hour, func() {
		h.refund(RefundRequest{RefundNo: "R1", Amount: cny("50.00"), Reason: "one unit out of stock",
			Items: []ItemRef{{SKU: "CREAM-50", Quantity: 1}}})
	})
	h.at(5*time.Hour, func() { h.update(UpdateShipped, Shipment{Carrier: "SF", TrackingNo: "SF1"}) })
	h.at(2*day, func() { h.update(UpdateConfirmReceipt, Confirmation{}) })
	v := h.run(testInput(providers.Card))
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.ElementsMatch(t, []string{
		"captured: buyer_receivable:card 229.11 escrow_held -229.11",
		"refunded: escrow_held 50.00 buyer_receivable:card -50.00",
		"released: escrow_held 179.11 tax_payable -19.11 merchant_payable:acme_eu -160.00",
	}, journal(t, l), "the card PSP holds nothing: escrow stays ours; the refund without tax reversal comes from the merchant's share")
	requireConserved(t, l, "179.11", "50.00", "0.00")
}

func TestLedgerPostingsOfAReturnWithTaxReversed(t *testing.T) {
	l := newLedger(t)
	h := newHarness(t, withLedger(l))
	in := testInput(providers.Alipay)
	in.Polling.Return = 100 * day
	h.paidAndShipped(providers.Alipay)
	h.at(2*day, func() {
		h.refund(RefundRequest{RefundNo: "R1", Amount: cny("114.56"), Reason: "wrong shade",
			Items: []ItemRef{{SKU: "CREAM-50", Quantity: 1}}, ReturnGoods: true})
	})
	h.at(3*day, func() { h.returnShipped("R1", "RT123") })
	h.at(8*day, func() {
		h.env.SignalWorkflow(SignalReturnDecision, h.customs.DecideReturn(outReturnNo("R1"), providers.ReturnAccepted, ""))
	})
	v := h.run(in)
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.ElementsMatch(t, []string{
		"captured: buyer_receivable:alipay 229.11 escrow_held -229.11",
		"held: escrow_held 229.11 escrow_held:alipay -229.11",
		"refunded: escrow_held:alipay 114.56 buyer_receivable:alipay -114.56",
		// Released after the refund: the tax reversed on the return (9.56) is not owed to customs.
		"released: escrow_held:alipay 114.55 tax_payable -9.55 merchant_payable:acme_eu -105.00",
	}, journal(t, l))
	requireConserved(t, l, "114.55", "114.56", "0.00")
}

func TestLedgerPostingsOffForOrdersStartedBeforeThem(t *testing.T) {
	// A worker without a ledger registers postings that do nothing; the order runs unchanged.
	h := newHarness(t)
	h.at(time.Minute, func() { h.pay(providers.Alipay) })
	h.shipAndConfirm()
	v := h.run(testInput(providers.Alipay))
	require.Equal(t, StateCompleted, v.State, timeline(v))
	assert.NotContains(t, timeline(v), "ledger")
}
