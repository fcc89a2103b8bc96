package activities

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// settleDay is the settlement day of the tests; the orders are released the day before.
var (
	settleDay = time.Date(2026, 3, 10, 0, 0, 0, 0, ChinaTime)
	released  = settleDay.Add(-14 * time.Hour)
)

// TestMain keeps the ledger's migration log lines out of the test output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// scriptedRates quotes a fixed rate per counter currency.
type scriptedRates struct {
	mu    sync.Mutex
	rates map[money.Currency]string
	calls int
}

func (r *scriptedRates) set(c money.Currency, rate string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rates[c] = rate
}

func (r *scriptedRates) Quote(_ context.Context, base, counter money.Currency, at time.Time) (money.Quote, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	rate, ok := r.rates[counter]
	if !ok {
		return money.Quote{}, providers.NewError("fx", "quote", providers.ErrTypeInvalidRequest, "", "no rate for "+string(counter), nil)
	}
	return money.Quote{Base: base, Counter: counter, Rate: decimal.RequireFromString(rate), At: at, Source: "script"}, nil
}

// fakePayouts pays out at once.
type fakePayouts struct {
	mu      sync.Mutex
	payouts map[string]providers.PayoutRequest
	calls   int
}

func (f *fakePayouts) Payout(_ context.Context, req providers.PayoutRequest) (providers.Payout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if prev, ok := f.payouts[req.OutPayoutNo]; ok && !prev.Amount.Equal(req.Amount) {
		return providers.Payout{}, providers.NewError("card", "payout", providers.ErrTypeDuplicateRequest, "", "", nil)
	}
	f.payouts[req.OutPayoutNo] = req
	return providers.Payout{OutPayoutNo: req.OutPayoutNo, PayoutID: "PO-" + req.OutPayoutNo, Status: providers.PayoutProcessing, Amount: req.Amount}, nil
}

func (f *fakePayouts) QueryPayout(_ context.Context, no string) (providers.Payout, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, ok := f.payouts[no]
	if !ok {
		return providers.Payout{OutPayoutNo: no, Status: providers.PayoutNotFound}, nil
	}
	return providers.Payout{OutPayoutNo: no, PayoutID: "PO-" + no, Status: providers.PayoutPaid, Amount: req.Amount, PaidAt: released.Add(40 * time.Hour)}, nil
}

// finance is a ledger with the finance activities on it.
type finance struct {
	t       *testing.T
	l       *ledger.Ledger
	post    *Ledger
	settle  *Settlement
	rates   *scriptedRates
	payouts *fakePayouts
}

func newFinance(t *testing.T) *finance {
	t.Helper()
	l, err := ledger.Open(context.Background(), "sqlite::memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	f := &finance{t: t, l: l, post: &Ledger{L: l},
		rates:   &scriptedRates{rates: map[money.Currency]string{money.USD: "0.1390", money.EUR: "0.1260"}},
		payouts: &fakePayouts{payouts: map[string]providers.PayoutRequest{}}}
	f.settle = &Settlement{Ledger: l, Rates: f.rates, Payouts: f.payouts, Config: SettlementConfig{
		Delays: map[providers.Name]int{providers.Alipay: 1, providers.WeChatPay: 1, providers.Card: 1}}}
	return f
}

// order books an order's capture and release: total captured, tax to customs.
func (f *finance) order(id, merchant string, p providers.Name, home money.Currency, rate, total, tax string) LedgerOrder {
	f.t.Helper()
	ctx := context.Background()
	o := LedgerOrder{OrderID: id, MerchantID: merchant, Provider: p}
	var q *money.Quote
	if home != money.CNY {
		q = &money.Quote{Base: money.CNY, Counter: home, Rate: decimal.RequireFromString(rate), At: released.Add(-72 * time.Hour), Source: "script"}
	}
	require.NoError(f.t, f.post.PostCaptured(ctx, CaptureInput{LedgerOrder: o, MerchantOrderNo: "no-" + id, TransactionID: "tx-" + id,
		Amount: cny(total), At: released.Add(-48 * time.Hour), PayerRef: "hash-" + id, Category: "skincare", HomeCurrency: home, Quote: q}))
	require.NoError(f.t, f.post.PostHeld(ctx, HeldInput{LedgerOrder: o, Amount: cny(total), At: released.Add(-47 * time.Hour)}))
	require.NoError(f.t, f.post.PostReleased(ctx, ReleaseInput{LedgerOrder: o, Amount: cny(total), Tax: cny(tax), HeldAtProvider: true, At: released}))
	return o
}

// run settles merchant on day through every step, the payouts included.
func (f *finance) run(merchant string, day time.Time) SettlementBatch {
	f.t.Helper()
	ctx := context.Background()
	b, err := f.settle.PrepareSettlement(ctx, PrepareSettlementInput{MerchantID: merchant, Day: day.Format(time.DateOnly), At: day.Add(2 * time.Hour)})
	require.NoError(f.t, err)
	if b.Status == SettlementEmpty {
		return f.full(b.BatchID)
	}
	require.NoError(f.t, f.settle.PostSettlement(ctx, b.BatchID))
	require.NoError(f.t, f.settle.MarkSettlement(ctx, b.BatchID))
	for _, tot := range b.Totals {
		if tot.PayoutNo == "" {
			continue
		}
		_, err := f.settle.StartPayout(ctx, PayoutInput{BatchID: b.BatchID, Currency: tot.Currency})
		require.NoError(f.t, err)
		po, err := f.settle.QuerySettlementPayout(ctx, tot.PayoutNo)
		require.NoError(f.t, err)
		b, err = f.settle.CompletePayout(ctx, CompletePayoutInput{PayoutInput: PayoutInput{BatchID: b.BatchID, Currency: tot.Currency}, Payout: po})
		require.NoError(f.t, err)
	}
	return f.full(b.BatchID)
}

// full loads a batch with its lines.
func (f *finance) full(batchID string) SettlementBatch {
	f.t.Helper()
	b, ok, err := loadBatch(context.Background(), f.l, batchID)
	require.NoError(f.t, err)
	require.True(f.t, ok)
	return b
}

func (f *finance) balance(a ledger.Account, c money.Currency) string {
	f.t.Helper()
	b, err := f.l.Balance(context.Background(), a, c, time.Time{})
	require.NoError(f.t, err)
	return b.String()
}

func (f *finance) checkInvariants() {
	f.t.Helper()
	r, err := f.l.CheckInvariants(context.Background())
	require.NoError(f.t, err)
	require.True(f.t, r.OK(), "ledger invariants: %v", r.Violations)
}

func lineOf(b SettlementBatch, order string) SettlementLine {
	for _, l := range b.Lines {
		if l.OrderID == order {
			return l
		}
	}
	return SettlementLine{}
}

func TestSettlementConvertsFeesAndFX(t *testing.T) {
	f := newFinance(t)
	f.order("o-1", "acme", providers.Alipay, money.USD, "0.1380", "109.10", "9.10")
	f.order("o-2", "acme", providers.WeChatPay, money.USD, "0.1400", "50.00", "0.00")
	f.order("o-3", "acme", providers.Card, money.EUR, "0.1270", "200.00", "0.00")
	f.order("o-9", "other", providers.Alipay, money.USD, "0.1380", "10.00", "0.00")

	b := f.run("acme", settleDay)
	assert.Equal(t, "settlement-acme-20260310", b.BatchID)
	assert.Equal(t, SettlementPaid, b.Status)
	require.Len(t, b.Lines, 3)
	tests := []struct {
		order                         string
		cny, locked, settled, fee, fx string
	}{
		{"o-1", "100.00 CNY", "13.80 USD", "13.90 USD", "0.08 USD", "0.10 USD"},
		{"o-2", "50.00 CNY", "7.00 USD", "6.95 USD", "0.04 USD", "-0.05 USD"},
		{"o-3", "200.00 CNY", "25.40 EUR", "25.20 EUR", "0.73 EUR", "-0.20 EUR"},
	}
	for _, tc := range tests {
		l := lineOf(b, tc.order)
		assert.Equal(t, LineSettled, l.Kind, tc.order)
		assert.Equal(t, tc.cny, l.AmountCNY.String(), tc.order)
		assert.Equal(t, tc.locked, l.AtLockedRate.String(), tc.order)
		assert.Equal(t, tc.settled, l.AtSettlementRate.String(), tc.order)
		assert.Equal(t, tc.fee, l.Fee.String(), tc.order)
		assert.Equal(t, tc.fx, l.FXGainLoss.String(), tc.order)
	}
	require.Len(t, b.Totals, 2)
	eur, usd := b.Totals[0], b.Totals[1]
	assert.Equal(t, "20.80 USD", usd.AtLockedRate.String())
	assert.Equal(t, "0.05 USD", usd.FXGainLoss.String())
	assert.Equal(t, "0.12 USD", usd.Fees.String())
	assert.Equal(t, providers.PayoutPaid, usd.PayoutStatus)
	assert.Equal(t, "settlement-acme-20260310-USD", usd.PayoutNo)
	assert.Equal(t, "25.40 EUR", eur.AtLockedRate.String())
	assert.Equal(t, "-0.20 EUR", eur.FXGainLoss.String())
	assert.Equal(t, "20.80 USD", f.payouts.payouts[usd.PayoutNo].Amount.String())
	assert.Equal(t, "25.40 EUR", f.payouts.payouts[eur.PayoutNo].Amount.String())

	// The books: payables settled and paid, the platform's result left in transit.
	f.checkInvariants()
	assert.Equal(t, "0.00 CNY", f.balance(ledger.MerchantPayable("acme"), money.CNY))
	assert.Equal(t, "0.00 USD", f.balance(ledger.MerchantPayable("acme"), money.USD))
	assert.Equal(t, "0.00 USD", f.balance(ledger.FXClearing(), money.USD))
	assert.Equal(t, "-0.05 USD", f.balance(ledger.FXGainLoss(), money.USD), "a net gain is a credit")
	assert.Equal(t, "0.20 EUR", f.balance(ledger.FXGainLoss(), money.EUR), "a loss is a debit")
	assert.Equal(t, "0.08 USD", f.balance(ledger.ProviderFees("alipay"), money.USD))
	assert.Equal(t, "-0.07 USD", f.balance(ledger.SettlementInTransit(), money.USD), "gain 0.05 less fees 0.12")
	assert.Equal(t, "-10.00 CNY", f.balance(ledger.MerchantPayable("other"), money.CNY), "another merchant is not touched")
	for _, id := range []string{"o-1", "o-2", "o-3"} {
		batch, in, err := f.l.BatchOf(context.Background(), id, ledger.KindSettled)
		require.NoError(t, err)
		assert.True(t, in)
		assert.Equal(t, b.BatchID, batch)
	}

	// The SAFE report: one record per transaction.
	require.Len(t, b.SAFE, 3)
	assert.Equal(t, SAFERecord{OrderNo: "no-o-1", TransactionID: "tx-o-1", PayerRef: "hash-o-1", Direction: "receipt",
		Amount: cny("100.00"), SettledAmount: money.MustParse("13.80", money.USD), GoodsCategory: "skincare",
		TradeType: "1210", SettlementDate: "2026-03-10"}, b.SAFE[0])
	raw, err := SAFECSV(b)
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 4)
	assert.Equal(t, SAFEColumns, rows[0])
	assert.Equal(t, []string{"no-o-3", "tx-o-3", "hash-o-3", "receipt", "200.00", "CNY", "25.40", "EUR", "skincare", "1210", "2026-03-10"}, rows[3])

	// Everything again: nothing moves twice, the rates are not asked again.
	calls := f.rates.calls
	again := f.run("acme", settleDay)
	assert.Equal(t, jsonOf(t, b.Lines), jsonOf(t, again.Lines))
	assert.Equal(t, calls, f.rates.calls)
	assert.Equal(t, "0.00 USD", f.balance(ledger.MerchantPayable("acme"), money.USD))
	assert.Equal(t, "-0.07 USD", f.balance(ledger.SettlementInTransit(), money.USD))
	f.checkInvariants()
}

func TestSettlementCutoffPerProvider(t *testing.T) {
	f := newFinance(t)
	f.settle.Config.Delays = map[providers.Name]int{providers.Alipay: 1, providers.Card: 2}
	f.order("o-1", "acme", providers.Alipay, money.USD, "0.1380", "100.00", "0.00")
	f.order("o-2", "acme", providers.Card, money.USD, "0.1380", "100.00", "0.00")
	b := f.run("acme", settleDay)
	require.Len(t, b.Lines, 1, "the card order released the day before waits for T+2")
	assert.Equal(t, "o-1", b.Lines[0].OrderID)
	next := f.run("acme", settleDay.AddDate(0, 0, 1))
	require.Len(t, next.Lines, 1)
	assert.Equal(t, "o-2", next.Lines[0].OrderID)
	f.checkInvariants()
}

func TestSettlementClawsBackARefundAfterSettlement(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	o1 := f.order("o-1", "acme", providers.Alipay, money.USD, "0.1380", "109.10", "9.10")
	f.run("acme", settleDay)

	// A return accepted after settlement: 54.55 back to the buyer, 4.55 of it tax not levied.
	refund := RefundPostingInput{LedgerOrder: o1, RefundNo: "R1", Amount: cny("54.55"), TaxReversed: cny("4.55"), At: settleDay.Add(5 * time.Hour)}
	require.NoError(t, f.post.PostClawback(ctx, refund))
	require.NoError(t, f.post.PostRefunded(ctx, refund))
	require.NoError(t, f.post.PostRefunded(ctx, refund), "a retried posting is recorded once")
	f.checkInvariants()

	// Alone, the clawback would make the payout negative: it waits.
	day2 := settleDay.AddDate(0, 0, 1)
	b2 := f.run("acme", day2)
	assert.Equal(t, SettlementEmpty, b2.Status)
	require.Len(t, b2.Deferred, 1)
	assert.Equal(t, "-50.00 CNY", b2.Deferred[0].AmountCNY.String())

	f.order("o-2", "acme", providers.Alipay, money.USD, "0.1400", "100.00", "0.00")
	f.rates.set(money.USD, "0.1370")
	day3 := day2.AddDate(0, 0, 1)
	b3 := f.run("acme", day3)
	require.Len(t, b3.Lines, 2)
	claw := lineOf(b3, "o-1")
	assert.Equal(t, LineClawback, claw.Kind)
	assert.Equal(t, "-50.00 CNY", claw.AmountCNY.String())
	assert.Equal(t, "-6.90 USD", claw.AtLockedRate.String(), "taken back at the rate it was paid at")
	assert.Equal(t, "-6.85 USD", claw.AtSettlementRate.String())
	assert.Equal(t, "-0.04 USD", claw.Fee.String(), "the fee is given back")
	assert.Equal(t, "0.05 USD", claw.FXGainLoss.String())
	require.Len(t, b3.Totals, 1)
	assert.Equal(t, "7.10 USD", b3.Totals[0].AtLockedRate.String(), "14.00 for o-2 less 6.90")
	assert.Equal(t, SettlementPaid, b3.Status)
	assert.Equal(t, "refund", b3.SAFE[0].Direction)
	assert.Equal(t, "50.00 CNY", b3.SAFE[0].Amount.String())

	batch, in, err := f.l.BatchOf(ctx, "o-1", ledger.KindClawback)
	require.NoError(t, err)
	assert.True(t, in)
	assert.Equal(t, b3.BatchID, batch)
	assert.Equal(t, "0.00 CNY", f.balance(ledger.MerchantPayable("acme"), money.CNY))
	assert.Equal(t, "0.00 USD", f.balance(ledger.MerchantPayable("acme"), money.USD))
	f.checkInvariants()

	// A second refund after the clawback batch is clawed back too, in a later
	// batch, as the order's second round.
	refund2 := RefundPostingInput{LedgerOrder: o1, RefundNo: "R2", Amount: cny("21.82"), TaxReversed: cny("1.82"), At: day3.Add(5 * time.Hour)}
	require.NoError(t, f.post.PostClawback(ctx, refund2))
	require.NoError(t, f.post.PostRefunded(ctx, refund2))
	f.order("o-3", "acme", providers.Alipay, money.USD, "0.1400", "100.00", "0.00")
	day4 := day3.AddDate(0, 0, 1)
	b4 := f.run("acme", day4)
	require.Len(t, b4.Lines, 2)
	claw2 := lineOf(b4, "o-1")
	assert.Equal(t, LineClawback, claw2.Kind)
	assert.Equal(t, 2, claw2.Round)
	assert.Equal(t, 1, lineOf(b3, "o-1").Round)
	assert.Equal(t, "-20.00 CNY", claw2.AmountCNY.String())
	assert.Equal(t, "-2.76 USD", claw2.AtLockedRate.String())
	assert.Equal(t, SettlementPaid, b4.Status)

	ps, err := f.l.Postings(ctx, ledger.PostingFilter{OrderID: "o-1", Kind: ledger.KindSettled})
	require.NoError(t, err)
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	assert.ElementsMatch(t, []string{"o-1:settled", "o-1:settled:clawback:1", "o-1:settled:clawback:2"}, keys)
	batch, in, err = f.l.BatchOf(ctx, "o-1", ledger.ClawbackKind(2))
	require.NoError(t, err)
	assert.True(t, in)
	assert.Equal(t, b4.BatchID, batch)
	batch, _, err = f.l.BatchOf(ctx, "o-1", ledger.KindClawback)
	require.NoError(t, err)
	assert.Equal(t, b3.BatchID, batch, "the first round stays in its batch")
	assert.Equal(t, "0.00 CNY", f.balance(ledger.MerchantPayable("acme"), money.CNY))
	assert.Equal(t, "0.00 USD", f.balance(ledger.MerchantPayable("acme"), money.USD))
	f.checkInvariants()

	// Nothing is left to claw back: the next batch is empty.
	assert.Equal(t, SettlementEmpty, f.run("acme", day4.AddDate(0, 0, 1)).Status)
}

func TestSettlementSameClawbackRoundInTwoBatchesConflicts(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	o1 := f.order("o-1", "acme", providers.Alipay, money.USD, "0.1380", "109.10", "9.10")
	f.run("acme", settleDay)
	refund := RefundPostingInput{LedgerOrder: o1, RefundNo: "1", Amount: cny("21.82"), TaxReversed: cny("1.82"), At: settleDay.Add(5 * time.Hour)}
	require.NoError(t, f.post.PostClawback(ctx, refund))
	require.NoError(t, f.post.PostRefunded(ctx, refund))
	f.order("o-2", "acme", providers.Alipay, money.USD, "0.1400", "100.00", "0.00")

	// Two overlapping batches (two days prepared before either is posted) both
	// list the same clawback round: only the first one books it.
	var ids []string
	for _, d := range []time.Time{settleDay.AddDate(0, 0, 2), settleDay.AddDate(0, 0, 3)} {
		b, err := f.settle.PrepareSettlement(ctx, PrepareSettlementInput{MerchantID: "acme", Day: d.Format(time.DateOnly), At: d.Add(time.Hour)})
		require.NoError(t, err)
		require.Equal(t, 1, lineOf(f.full(b.BatchID), "o-1").Round)
		ids = append(ids, b.BatchID)
	}
	require.NoError(t, f.settle.PostSettlement(ctx, ids[0]))
	require.NoError(t, f.settle.MarkSettlement(ctx, ids[0]))
	err := f.settle.PostSettlement(ctx, ids[1])
	require.ErrorContains(t, err, "o-1:settled:clawback:1")
	assert.Equal(t, "0.00 CNY", f.balance(ledger.MerchantPayable("acme"), money.CNY), "nothing clawed back twice")
}

func TestSettlementCrashAfterPostingSettlesNothingTwice(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	f.order("o-1", "acme", providers.Alipay, money.USD, "0.1380", "100.00", "0.00")
	in := PrepareSettlementInput{MerchantID: "acme", Day: settleDay.Format(time.DateOnly), At: settleDay.Add(time.Hour)}
	b, err := f.settle.PrepareSettlement(ctx, in)
	require.NoError(t, err)
	prepared := jsonOf(t, f.full(b.BatchID).Lines)
	require.NoError(t, f.settle.PostSettlement(ctx, b.BatchID))
	// The worker dies here; a new one (or a new run of the batch) starts over.
	in.At = in.At.Add(time.Hour)
	again, err := f.settle.PrepareSettlement(ctx, in)
	require.NoError(t, err)
	assert.Empty(t, again.Lines, "the activity answers a summary")
	full := f.full(again.BatchID)
	require.Len(t, full.Lines, 1, "o-1's payable is settled in the ledger now, yet the batch keeps its line")
	assert.Equal(t, prepared, jsonOf(t, full.Lines), "the prepared lines are reused, not recomputed from a ledger that moved")
	assert.Equal(t, SettlementPosted, again.Status)
	require.NoError(t, f.settle.PostSettlement(ctx, b.BatchID))
	require.NoError(t, f.settle.MarkSettlement(ctx, b.BatchID))
	require.NoError(t, f.settle.MarkSettlement(ctx, b.BatchID))
	ps, err := f.l.Postings(ctx, ledger.PostingFilter{OrderID: "o-1", Kind: ledger.KindSettled})
	require.NoError(t, err)
	assert.Len(t, ps, 1)
	assert.Equal(t, "0.00 CNY", f.balance(ledger.MerchantPayable("acme"), money.CNY))

	// Another batch cannot take the order again.
	other, err := f.settle.PrepareSettlement(ctx, PrepareSettlementInput{MerchantID: "acme", Day: "2026-03-11", At: settleDay.Add(30 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, SettlementEmpty, other.Status)
	f.checkInvariants()
}

func TestSettlementFailures(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	_, err := f.settle.PrepareSettlement(ctx, PrepareSettlementInput{MerchantID: "acme", Day: "10/03/2026", At: settleDay})
	appError(t, err, ErrTypeInvalidInput, true)
	err = f.settle.PostSettlement(ctx, "settlement-nobody-20260310")
	appError(t, err, ErrTypeInvalidInput, true)
	_, err = (&Settlement{}).PrepareSettlement(ctx, PrepareSettlementInput{MerchantID: "acme", Day: "2026-03-10", At: settleDay})
	appError(t, err, ErrTypeNotConfigured, true)

	f.order("o-1", "acme", providers.Alipay, money.JPY, "20.5", "100.00", "0.00")
	_, err = f.settle.PrepareSettlement(ctx, PrepareSettlementInput{MerchantID: "acme", Day: "2026-03-10", At: settleDay})
	appError(t, err, string(providers.ErrTypeInvalidRequest), true) // no JPY rate
	_, ok, err := f.l.Document(ctx, DocSettlement, "settlement-acme-20260310")
	require.NoError(t, err)
	assert.False(t, ok, "a batch that could not be priced is not saved")

	f.rates.set(money.JPY, "20.0")
	b, err := f.settle.PrepareSettlement(ctx, PrepareSettlementInput{MerchantID: "acme", Day: "2026-03-10", At: settleDay})
	require.NoError(t, err)
	require.NoError(t, f.settle.PostSettlement(ctx, b.BatchID))
	require.NoError(t, f.settle.MarkSettlement(ctx, b.BatchID))
	bad := providers.Payout{OutPayoutNo: b.Totals[0].PayoutNo, Status: providers.PayoutPaid, Amount: money.MustParse("1", money.JPY)}
	_, err = f.settle.CompletePayout(ctx, CompletePayoutInput{PayoutInput: PayoutInput{BatchID: b.BatchID, Currency: money.JPY}, Payout: bad})
	appError(t, err, ErrTypeInvalidInput, true)
	failed := providers.Payout{OutPayoutNo: b.Totals[0].PayoutNo, Status: providers.PayoutFailed}
	done, err := f.settle.CompletePayout(ctx, CompletePayoutInput{PayoutInput: PayoutInput{BatchID: b.BatchID, Currency: money.JPY}, Payout: failed})
	require.NoError(t, err)
	assert.Equal(t, SettlementPayoutFailed, done.Status)
	assert.Equal(t, "-2050 JPY", f.balance(ledger.MerchantPayable("acme"), money.JPY), "unpaid, still owed")
}

func TestSettlementConfig(t *testing.T) {
	require.NoError(t, DefaultSettlementConfig().Validate())
	bad := SettlementConfig{Delays: map[providers.Name]int{providers.Alipay: -1}}
	require.ErrorContains(t, bad.Validate(), "delays[alipay]")
	bad = SettlementConfig{FeeRates: map[providers.Name]decimal.Decimal{"paypal": decimal.RequireFromString("0.01")}}
	require.ErrorContains(t, bad.Validate(), "feeRates[paypal]")
	c := SettlementConfig{Delays: map[providers.Name]int{providers.Card: 5}}.withDefaults()
	assert.Equal(t, 5, c.Delays[providers.Card])
	assert.Equal(t, 1, c.Delays[providers.Alipay])
	assert.Equal(t, "0.029", c.FeeRates[providers.Card].String())
	assert.Equal(t, "1210", c.TradeType)

	id := SettlementWorkflowID("acme_eu", "2026-03-10")
	assert.Equal(t, "settlement-acme_eu-20260310", id)
	batch, ok := BatchOfPayout(PayoutNo(id, money.EUR))
	assert.True(t, ok)
	assert.Equal(t, id, batch)
	for _, bad := range []string{"order-x-EUR", "settlement-acme-20260310-XXX", "nodash"} {
		_, ok := BatchOfPayout(bad)
		assert.False(t, ok, bad)
	}
}

func TestExposure(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	f.order("o-1", "acme", providers.Alipay, money.USD, "0.1380", "109.10", "9.10") // released: 100.00 payable
	o2 := LedgerOrder{OrderID: "o-2", MerchantID: "acme", Provider: providers.WeChatPay}
	q := &money.Quote{Base: money.CNY, Counter: money.USD, Rate: decimal.RequireFromString("0.1400"), At: released, Source: "script"}
	require.NoError(t, f.post.PostCaptured(ctx, CaptureInput{LedgerOrder: o2, TransactionID: "tx-2", Amount: cny("50.00"),
		At: released.AddDate(0, 0, -20), HomeCurrency: money.USD, Quote: q})) // held in escrow, 20 days old
	f.order("o-3", "beta", providers.Card, money.CNY, "", "30.00", "0.00")

	rep := &FinanceReports{Ledger: f.l, Rates: f.rates, Now: func() time.Time { return released.Add(24 * time.Hour) }}
	all, err := rep.Exposure(ctx, "")
	require.NoError(t, err)
	require.Len(t, all.Merchants, 2)
	acme := all.Merchants[0]
	assert.Equal(t, "acme", acme.MerchantID)
	assert.Equal(t, money.USD, acme.HomeCurrency)
	assert.Equal(t, "0.139", acme.CurrentRate.Rate.String())
	assert.Equal(t, 2, acme.Total.Orders)
	assert.Equal(t, "150.00 CNY", acme.Total.AmountCNY.String())
	assert.Equal(t, "20.80 USD", acme.Total.AtLockedRate.String())
	assert.Equal(t, "20.85 USD", acme.Total.AtCurrentRate.String())
	assert.Equal(t, "0.05 USD", acme.Total.Unrealized.String())
	got := map[string]string{}
	for _, b := range acme.Buckets {
		got[b.Age] = fmt.Sprintf("%d %s", b.Orders, b.AmountCNY)
	}
	assert.Equal(t, map[string]string{AgeUpTo7: "1 100.00 CNY", AgeUpTo30: "1 50.00 CNY", AgeOver30: "0 0.00 CNY"}, got)
	assert.Equal(t, "beta", all.Merchants[1].MerchantID)
	assert.Equal(t, "30.00 CNY", all.Merchants[1].Total.AtCurrentRate.String())

	// Settled money is no longer exposed.
	f.run("acme", settleDay)
	one, err := rep.Exposure(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, one.Merchants, 1)
	assert.Equal(t, "50.00 CNY", one.Merchants[0].Total.AmountCNY.String())

	list, err := rep.Settlements(ctx, SettlementQuery{MerchantID: "acme"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Nil(t, list[0].Lines, "a summary")
	full, ok, err := rep.Settlement(ctx, list[0].BatchID)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Len(t, full.Lines, 1)
	_, ok, err = rep.Settlement(ctx, "settlement-acme-19990101")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestLedgerPostingsWithoutALedgerDoNothing(t *testing.T) {
	var a Ledger
	require.NoError(t, a.PostCaptured(context.Background(), CaptureInput{}))
	require.NoError(t, a.PostRefunded(context.Background(), RefundPostingInput{}))
}

func TestLedgerPostingRefusals(t *testing.T) {
	f := newFinance(t)
	ctx := context.Background()
	o := LedgerOrder{OrderID: "o-1", MerchantID: "acme", Provider: providers.Alipay}
	err := f.post.PostHeld(ctx, HeldInput{LedgerOrder: LedgerOrder{OrderID: "o-1"}, Amount: cny("1.00"), At: released})
	appError(t, err, ErrTypeInvalidInput, true)
	require.NoError(t, f.post.PostHeld(ctx, HeldInput{LedgerOrder: o, Amount: cny("1.00"), At: released}))
	err = f.post.PostHeld(ctx, HeldInput{LedgerOrder: o, Amount: cny("2.00"), At: released})
	appError(t, err, ErrTypeLedgerRejected, true) // the same key with other content
	err = f.post.PostRefunded(ctx, RefundPostingInput{LedgerOrder: o, RefundNo: "R1", Amount: fineAmountCNY("0.001"), At: released})
	appError(t, err, ErrTypeLedgerRejected, true)
}

func fineAmountCNY(s string) money.Amount {
	a, err := money.New(decimal.RequireFromString(s), money.CNY)
	if err != nil {
		panic(err)
	}
	return a
}
