package activities

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

func bl(kind providers.BillKind, tx, amount string) providers.BillLine {
	return providers.BillLine{TransactionID: tx, OutTradeNo: "out-" + tx, Kind: kind, Amount: cny(amount), Fee: cny("0.01")}
}

func ll(kind providers.BillKind, tx, amount string) LedgerLine {
	return LedgerLine{OrderID: "order-" + tx, TransactionID: tx, Kind: kind, Amount: cny(amount)}
}

func TestMatch(t *testing.T) {
	pay, ref := providers.BillPayment, providers.BillRefund
	tests := []struct {
		name    string
		bill    []providers.BillLine
		ours    []LedgerLine
		matched int
		want    []string
	}{
		{name: "clean day", matched: 3,
			bill: []providers.BillLine{bl(pay, "t1", "10.00"), bl(pay, "t2", "20.00"), bl(ref, "t1", "3.00"), bl(ref, "t1", "2.00")},
			ours: []LedgerLine{ll(pay, "t2", "20.00"), ll(pay, "t1", "10.00"), ll(ref, "t1", "5.00")}},
		{name: "empty day", matched: 0},
		{name: "missing on our side", matched: 1,
			bill: []providers.BillLine{bl(pay, "t1", "10.00"), bl(pay, "t9", "66.66")},
			ours: []LedgerLine{ll(pay, "t1", "10.00")},
			want: []string{"missing_ours payment t9 ours 0.00 CNY theirs 66.66 CNY"}},
		{name: "missing on theirs", matched: 1,
			bill: []providers.BillLine{bl(pay, "t1", "10.00")},
			ours: []LedgerLine{ll(pay, "t1", "10.00"), ll(pay, "t2", "20.00"), ll(ref, "t1", "1.00")},
			want: []string{"missing_theirs refund t1 ours 1.00 CNY theirs 0.00 CNY", "missing_theirs payment t2 ours 20.00 CNY theirs 0.00 CNY"}},
		{name: "amount", matched: 0,
			bill: []providers.BillLine{bl(pay, "t1", "11.00")},
			ours: []LedgerLine{ll(pay, "t1", "10.00")},
			want: []string{"amount payment t1 ours 10.00 CNY theirs 11.00 CNY"}},
		{name: "a refund is not a payment", matched: 0,
			bill: []providers.BillLine{bl(ref, "t1", "10.00")},
			ours: []LedgerLine{ll(pay, "t1", "10.00")},
			want: []string{"missing_ours refund t1 ours 0.00 CNY theirs 10.00 CNY", "missing_theirs payment t1 ours 10.00 CNY theirs 0.00 CNY"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Match(providers.Alipay, "2026-03-10", tc.bill, tc.ours)
			require.NoError(t, err)
			got := []string{}
			for _, m := range res.Mismatches {
				got = append(got, fmt.Sprintf("%s %s %s ours %s theirs %s", m.Kind, m.LineKind, m.TransactionID, m.Ours, m.Theirs))
			}
			assert.Equal(t, append([]string{}, tc.want...), got)
			assert.Equal(t, tc.matched, res.Matched)
			assert.Equal(t, len(tc.bill), res.BillLines)
			assert.Equal(t, len(tc.ours), res.LedgerLines)
		})
	}
}

// fakeBill serves fixed bill lines, or an error.
type fakeBill struct {
	lines []providers.BillLine
	err   error
	days  []string
}

func (b *fakeBill) DownloadBill(_ context.Context, day time.Time) ([]providers.BillLine, error) {
	b.days = append(b.days, day.In(ChinaTime).Format(time.DateOnly))
	return b.lines, b.err
}

func TestReconcileProvider(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	day := settleDay.AddDate(0, 0, -3) // the orders' capture day (released - 48h)
	o1 := f.order("o-1", "acme", providers.Alipay, money.USD, "0.1380", "109.10", "9.10")
	f.order("o-2", "acme", providers.WeChatPay, money.USD, "0.1380", "50.00", "0.00")
	require.NoError(t, f.post.PostClawback(ctx, RefundPostingInput{LedgerOrder: o1, RefundNo: "R1", Amount: cny("10.00"), At: day.Add(20 * time.Hour)}))
	require.NoError(t, f.post.PostRefunded(ctx, RefundPostingInput{LedgerOrder: o1, RefundNo: "R1", Amount: cny("10.00"), At: day.Add(20 * time.Hour)}))

	bill := &fakeBill{lines: []providers.BillLine{bl(providers.BillPayment, "tx-o-1", "109.10"), bl(providers.BillRefund, "tx-o-1", "10.00")}}
	r := &Reconciliation{Ledger: f.l, Bills: map[providers.Name]providers.BillSource{providers.Alipay: bill}}
	res, err := r.ReconcileProvider(ctx, ReconcileInput{Provider: providers.Alipay, Day: day.Format(time.DateOnly)})
	require.NoError(t, err)
	assert.Empty(t, res.Mismatches, "the wechatpay order is not alipay's")
	assert.Equal(t, 2, res.Matched)
	assert.Equal(t, 2, res.LedgerLines)
	assert.Equal(t, "0.02 CNY", res.BillFees.String())
	assert.Equal(t, []string{day.Format(time.DateOnly)}, bill.days)

	next, err := r.ReconcileProvider(ctx, ReconcileInput{Provider: providers.Alipay, Day: day.AddDate(0, 0, 1).Format(time.DateOnly)})
	require.NoError(t, err)
	require.Len(t, next.Mismatches, 2, "the same bill on another day: none of it is ours")
	assert.Equal(t, map[string]int{MismatchMissingOurs: 2}, next.Counts())

	_, err = r.ReconcileProvider(ctx, ReconcileInput{Provider: providers.WeChatPay, Day: day.Format(time.DateOnly)})
	appError(t, err, ErrTypeNotConfigured, true)
	bill.err = providers.NewError("alipay", "bill", providers.ErrTypeUnavailable, "isp.bill_not_exist", "", nil)
	_, err = r.ReconcileProvider(ctx, ReconcileInput{Provider: providers.Alipay, Day: day.Format(time.DateOnly)})
	appError(t, err, string(providers.ErrTypeUnavailable), false)
	_, err = r.ReconcileProvider(ctx, ReconcileInput{Provider: providers.Alipay, Day: "yesterday"})
	appError(t, err, ErrTypeInvalidInput, true)

	rep := ReconciliationReport{Day: day.Format(time.DateOnly), Providers: []ProviderReconciliation{next}, Mismatches: 2, ReconciledAt: settleDay}
	require.NoError(t, r.SaveReconciliation(ctx, rep))
	reports := &FinanceReports{Ledger: f.l}
	got, ok, err := reports.Reconciliation(ctx, rep.Day)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 2, got.Mismatches)
	require.Len(t, got.Providers, 1)
	assert.Len(t, got.Providers[0].Mismatches, 2)
	_, ok, err = reports.Reconciliation(ctx, "2000-01-01")
	require.NoError(t, err)
	assert.False(t, ok)
}
