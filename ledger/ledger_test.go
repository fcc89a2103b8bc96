package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }
func usd(s string) money.Amount { return money.MustParse(s, money.USD) }

func dr(a Account, amt money.Amount) Entry { return Entry{Account: a, Amount: amt} }
func cr(a Account, amt money.Amount) Entry { return Entry{Account: a, Amount: amt.Neg()} }

func posting(key, order, kind string, at time.Time, entries ...Entry) Posting {
	return Posting{Key: key, OrderID: order, MerchantID: "acme", Kind: kind, At: at, Entries: entries}
}

func capture(order, total string, at time.Time) Posting {
	return posting(order+":captured", order, KindCaptured, at,
		dr(BuyerReceivable("alipay"), cny(total)), cr(EscrowHeld(), cny(total)))
}

func release(order, goods, tax string, at time.Time) Posting {
	total, err := cny(goods).Add(cny(tax))
	if err != nil {
		panic(err)
	}
	entries := []Entry{dr(EscrowHeld(), total), cr(MerchantPayable("acme"), cny(goods))}
	if !cny(tax).IsZero() {
		entries = append(entries, cr(TaxPayable(), cny(tax)))
	}
	return posting(order+":released", order, KindReleased, at, entries...)
}

func refund(order, n, amount string, at time.Time) Posting {
	return posting(order+":refund:"+n, order, KindRefunded, at,
		dr(EscrowHeld(), cny(amount)), cr(BuyerReceivable("alipay"), cny(amount)))
}

func clawback(order, n, amount string, at time.Time) Posting {
	return posting(order+":clawback:"+n, order, KindClawback, at,
		dr(MerchantPayable("acme"), cny(amount)), cr(EscrowHeld(), cny(amount)))
}

// settleClawback books the settlement line of an order's round-th clawback:
// the payable the refund left negative returns to zero.
func settleClawback(order string, round int, amount string, at time.Time) Posting {
	return posting(fmt.Sprintf("%s:settled:clawback:%d", order, round), order, KindSettled, at,
		cr(MerchantPayable("acme"), cny(amount)), dr(SettlementInTransit(), cny(amount)))
}

func settle(order, amount string, at time.Time) Posting {
	return posting(order+":settled", order, KindSettled, at,
		dr(MerchantPayable("acme"), cny(amount)), cr(SettlementInTransit(), cny(amount)))
}

// post records each posting, failing the test on any error.
func post(t *testing.T, l *Ledger, ps ...Posting) {
	t.Helper()
	for _, p := range ps {
		_, _, err := l.Post(context.Background(), p)
		require.NoError(t, err, "post %s", p.Key)
	}
}

func countPostings(t *testing.T, l *Ledger) int {
	t.Helper()
	ps, err := l.Postings(context.Background(), PostingFilter{})
	require.NoError(t, err)
	return len(ps)
}

func testBalancedAndUnbalanced(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	subMinor, err := money.New(decimal.RequireFromString("1.005"), money.CNY)
	require.NoError(t, err)

	cases := []struct {
		name    string
		p       Posting
		wantErr error
		wantMsg []string
	}{
		{name: "balanced", p: capture("o-1", "109.10", t0)},
		{name: "balanced per currency (fx conversion)", p: posting("fx-1", "", KindSettled, t0,
			dr(SettlementInTransit(), usd("14.00")), cr(FXClearing(), usd("14.00")),
			dr(FXClearing(), cny("100.00")), cr(BuyerReceivable("alipay"), cny("100.00")))},
		{name: "unbalanced", p: posting("u-1", "o-2", KindCaptured, t0,
			dr(BuyerReceivable("alipay"), cny("100.00")), cr(EscrowHeld(), cny("99.99"))),
			wantErr: ErrUnbalanced, wantMsg: []string{`"u-1"`, "CNY: debits exceed credits by 0.01 CNY"}},
		{name: "unbalanced in one of two currencies", p: posting("u-2", "", KindSettled, t0,
			dr(SettlementInTransit(), usd("1.00")), cr(FXClearing(), usd("1.50")),
			dr(FXClearing(), cny("7.00")), cr(BuyerReceivable("alipay"), cny("7.00"))),
			wantErr: ErrUnbalanced, wantMsg: []string{"USD: credits exceed debits by 0.50 USD"}},
		{name: "currencies never net", p: posting("u-3", "", KindSettled, t0,
			dr(SettlementInTransit(), usd("100.00")), cr(BuyerReceivable("alipay"), cny("100.00"))),
			wantErr: ErrUnbalanced, wantMsg: []string{"CNY: credits exceed debits by 100.00 CNY", "USD: debits exceed credits by 100.00 USD"}},
		{name: "one entry", p: posting("i-1", "", KindFee, t0, dr(ProviderFees("alipay"), cny("1.00"))),
			wantErr: ErrInvalidPosting, wantMsg: []string{"entries: need 2"}},
		{name: "zero amount", p: posting("i-2", "", KindFee, t0,
			dr(ProviderFees("alipay"), cny("0.00")), cr(BuyerReceivable("alipay"), cny("0.00"))),
			wantErr: ErrInvalidPosting, wantMsg: []string{"entries[0]", "must not be zero"}},
		{name: "finer than the minor unit", p: posting("i-3", "", KindFee, t0,
			dr(ProviderFees("alipay"), subMinor), cr(BuyerReceivable("alipay"), subMinor.Neg())),
			wantErr: ErrInvalidPosting, wantMsg: []string{"entries[0]", "whole number of minor units"}},
		{name: "unknown account", p: posting("i-4", "", KindFee, t0,
			dr("cash", cny("1.00")), cr(BuyerReceivable("alipay"), cny("1.00"))),
			wantErr: ErrInvalidAccount, wantMsg: []string{"entries[0]", `unknown account type "cash"`}},
		{name: "missing sub-ledger", p: posting("i-5", "", KindFee, t0,
			dr(ProviderFees("alipay"), cny("1.00")), cr(Account("buyer_receivable"), cny("1.00"))),
			wantErr: ErrInvalidAccount, wantMsg: []string{"entries[1]", "needs a sub-ledger"}},
		{name: "bad kind", p: posting("i-6", "", "Captured!", t0,
			dr(BuyerReceivable("alipay"), cny("1.00")), cr(EscrowHeld(), cny("1.00"))),
			wantErr: ErrInvalidPosting, wantMsg: []string{"kind"}},
		{name: "no key", p: posting(" ", "", KindCaptured, t0,
			dr(BuyerReceivable("alipay"), cny("1.00")), cr(EscrowHeld(), cny("1.00"))),
			wantErr: ErrInvalidPosting, wantMsg: []string{"key: required"}},
		{name: "no time", p: posting("i-7", "", KindCaptured, time.Time{},
			dr(BuyerReceivable("alipay"), cny("1.00")), cr(EscrowHeld(), cny("1.00"))),
			wantErr: ErrInvalidPosting, wantMsg: []string{"at: must be set"}},
	}
	recorded := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, created, err := l.Post(ctx, tc.p)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.True(t, created)
				assert.Equal(t, tc.p.Key, got.Key)
				recorded++
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			for _, m := range tc.wantMsg {
				assert.Contains(t, err.Error(), m)
			}
			assert.False(t, created)
		})
	}
	assert.Equal(t, recorded, countPostings(t, l), "only the valid postings are recorded")
}

func testIdempotentRepost(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	p := capture("o-1", "109.10", t0.Add(123456*time.Microsecond))
	first, created, err := l.Post(ctx, p)
	require.NoError(t, err)
	require.True(t, created)

	// The same content written differently: more decimal places, entries in
	// another order, the time in another zone with nanoseconds below the
	// stored microsecond.
	long, err := money.New(decimal.RequireFromString("109.1000"), money.CNY)
	require.NoError(t, err)
	same := p
	same.At = p.At.In(time.FixedZone("CST", 8*3600)).Add(300 * time.Nanosecond)
	same.Entries = []Entry{cr(EscrowHeld(), long), dr(BuyerReceivable("alipay"), long)}
	for range 3 {
		again, created, err := l.Post(ctx, same)
		require.NoError(t, err)
		assert.False(t, created)
		assert.Empty(t, diff(first, again), "the recorded posting comes back")
		assert.True(t, again.At.Equal(first.At))
	}
	assert.Equal(t, 1, countPostings(t, l))
	bal, err := l.Balance(ctx, BuyerReceivable("alipay"), money.CNY, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "109.10", bal.Number(), "recorded once, not three times")
}

func testConflictingRepost(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	p := capture("o-1", "109.10", t0)
	post(t, l, p)

	change := map[string]func(p *Posting){
		"entries":  func(p *Posting) { *p = capture("o-1", "109.11", t0) },
		"kind":     func(p *Posting) { p.Kind = KindHeld },
		"at":       func(p *Posting) { p.At = t0.Add(time.Microsecond) },
		"memo":     func(p *Posting) { p.Memo = "other" },
		"order_id": func(p *Posting) { p.OrderID = "o-2" },
	}
	for field, mutate := range change {
		t.Run(field, func(t *testing.T) {
			q := p
			q.Entries = slices.Clone(p.Entries)
			mutate(&q)
			_, created, err := l.Post(ctx, q)
			require.ErrorIs(t, err, ErrConflictingPosting)
			assert.False(t, created)
			assert.Contains(t, err.Error(), `"o-1:captured"`)
			assert.Contains(t, err.Error(), field+":")
		})
	}
	stored, found, err := l.PostingByKey(ctx, p.Key)
	require.NoError(t, err)
	require.True(t, found)
	assert.Empty(t, diff(stored, p), "the first posting stands")
}

func testConcurrentPosting(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	const goroutines, perGoroutine, keys = 8, 50, 120
	var (
		created [keys]atomic.Int32
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		start   = make(chan struct{})
	)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range perGoroutine {
				k := (g*25 + j) % keys // goroutines overlap on most keys
				_, c, err := l.Post(ctx, capture(fmt.Sprintf("cc-%03d", k), fmt.Sprintf("%d.00", k+1), t0.Add(time.Duration(k)*time.Second)))
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				if c {
					created[k].Add(1)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Empty(t, errs)
	for k := range keys {
		assert.EqualValues(t, 1, created[k].Load(), "key cc-%03d created exactly once", k)
	}
	assert.Equal(t, keys, countPostings(t, l))
	bal, err := l.Balance(ctx, BuyerReceivable("alipay"), money.CNY, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "7260.00", bal.Number(), "1+2+...+120")
	r, err := l.CheckInvariants(ctx)
	require.NoError(t, err)
	assert.True(t, r.OK(), "%v", r.Violations)
	assert.Equal(t, keys, r.Orders)
}

// flowJournal posts two orders over four hours:
// o-1 captured 109.10 at t0 and released at t0+1h; o-2 captured 50.00 at t0+2h, 20.00 refunded at t0+3h.
func flowJournal(t *testing.T, l *Ledger) {
	post(t, l,
		capture("o-1", "109.10", t0),
		release("o-1", "100.00", "9.10", t0.Add(time.Hour)),
		capture("o-2", "50.00", t0.Add(2*time.Hour)),
		refund("o-2", "1", "20.00", t0.Add(3*time.Hour)),
	)
}

func testBalancesAsOf(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	flowJournal(t, l)

	cases := []struct {
		account Account
		asOf    time.Time
		want    string
	}{
		{EscrowHeld(), t0.Add(-time.Second), "0.00"},
		{EscrowHeld(), t0, "-109.10"}, // as of is inclusive
		{EscrowHeld(), t0.Add(time.Hour - time.Microsecond), "-109.10"},
		{EscrowHeld(), t0.Add(time.Hour), "0.00"},
		{EscrowHeld(), t0.Add(2 * time.Hour), "-50.00"},
		{EscrowHeld(), t0.Add(3 * time.Hour), "-30.00"},
		{EscrowHeld(), time.Time{}, "-30.00"},
		{MerchantPayable("acme"), t0.Add(30 * time.Minute), "0.00"},
		{MerchantPayable("acme"), t0.Add(time.Hour), "-100.00"},
		{BuyerReceivable("alipay"), time.Time{}, "139.10"},
		{MerchantPayable("other"), time.Time{}, "0.00"},
	}
	for _, tc := range cases {
		got, err := l.Balance(ctx, tc.account, money.CNY, tc.asOf)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got.Number(), "%s as of %s", tc.account, tc.asOf)
		assert.Equal(t, money.CNY, got.Currency())
	}
	inUSD, err := l.Balance(ctx, EscrowHeld(), money.USD, time.Time{})
	require.NoError(t, err)
	assert.True(t, inUSD.Equal(money.Zero(money.USD)))

	_, err = l.Balance(ctx, "nope", money.CNY, time.Time{})
	require.ErrorIs(t, err, ErrInvalidAccount)
	_, err = l.Balance(ctx, EscrowHeld(), "XXX", time.Time{})
	require.ErrorIs(t, err, money.ErrUnknownCurrency)

	byType, err := l.Balances(ctx, BalanceFilter{Type: TypeMerchantPayable})
	require.NoError(t, err)
	assert.Equal(t, []string{"merchant_payable:acme -100.00 CNY"}, balanceStrings(byType))

	o1, err := l.OrderBalances(ctx, "o-1")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"buyer_receivable:alipay 109.10 CNY",
		"escrow_held 0.00 CNY",
		"merchant_payable:acme -100.00 CNY",
		"tax_payable -9.10 CNY",
	}, balanceStrings(o1))
	o2early, err := l.Balances(ctx, BalanceFilter{OrderID: "o-2", AsOf: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, []string{"buyer_receivable:alipay 50.00 CNY", "escrow_held -50.00 CNY"}, balanceStrings(o2early))

	flows, err := l.OrderFlows(ctx, "o-2")
	require.NoError(t, err)
	require.Len(t, flows, 1)
	f := flows[0]
	assert.Equal(t, []string{"50.00 CNY", "0.00 CNY", "20.00 CNY", "30.00 CNY"},
		[]string{f.Captured.String(), f.Released.String(), f.Refunded.String(), f.Held.String()})
}

func balanceStrings(bs []AccountBalance) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = fmt.Sprintf("%s %s", b.Account, b.Amount)
	}
	return out
}

func postingKeys(ps []Posting) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Key
	}
	return out
}

func testPostingsFilter(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	flowJournal(t, l)
	other := capture("o-9", "1.00", t0.Add(90*time.Minute))
	other.MerchantID = "other"
	post(t, l, other)

	cases := []struct {
		name string
		f    PostingFilter
		want []string
	}{
		{"all in time order", PostingFilter{}, []string{"o-1:captured", "o-1:released", "o-9:captured", "o-2:captured", "o-2:refund:1"}},
		{"order", PostingFilter{OrderID: "o-2"}, []string{"o-2:captured", "o-2:refund:1"}},
		{"kind", PostingFilter{Kind: KindCaptured}, []string{"o-1:captured", "o-9:captured", "o-2:captured"}},
		{"merchant", PostingFilter{MerchantID: "other"}, []string{"o-9:captured"}},
		{"from inclusive, to exclusive", PostingFilter{From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour)}, []string{"o-1:released", "o-9:captured", "o-2:captured"}},
		{"limit", PostingFilter{MerchantID: "acme", Limit: 2}, []string{"o-1:captured", "o-1:released"}},
		{"none", PostingFilter{OrderID: "o-404"}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := l.Postings(ctx, tc.f)
			require.NoError(t, err)
			assert.Equal(t, tc.want, postingKeys(ps))
		})
	}

	got, found, err := l.PostingByKey(ctx, "o-1:released")
	require.NoError(t, err)
	require.True(t, found)
	want, err := release("o-1", "100.00", "9.10", t0.Add(time.Hour)).normalize()
	require.NoError(t, err)
	assert.Equal(t, want, got, "entries come back in posted order, at in UTC")
	_, found, err = l.PostingByKey(ctx, "o-404:captured")
	require.NoError(t, err)
	assert.False(t, found)
	_, err = l.Postings(ctx, PostingFilter{Limit: -1})
	require.Error(t, err)
}

func testInvariantsClean(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	empty, err := l.CheckInvariants(ctx)
	require.NoError(t, err)
	assert.True(t, empty.OK())

	flowJournal(t, l)
	post(t, l,
		release("o-2", "27.50", "2.50", t0.Add(4*time.Hour)),
		// o-3: released, settled, then a refund after settlement clawed back through escrow.
		capture("o-3", "200.00", t0),
		release("o-3", "200.00", "0.00", t0.Add(time.Hour)),
		settle("o-3", "200.00", t0.Add(24*time.Hour)),
		clawback("o-3", "1", "30.00", t0.Add(48*time.Hour)),
		refund("o-3", "1", "30.00", t0.Add(48*time.Hour)),
		// A conversion with no order.
		posting("fx-1", "", KindSettled, t0, dr(SettlementInTransit(), usd("14.00")), cr(FXClearing(), usd("14.00")),
			dr(FXClearing(), cny("100.00")), cr(SettlementInTransit(), cny("100.00"))),
	)
	r, err := l.CheckInvariants(ctx)
	require.NoError(t, err)
	assert.True(t, r.OK(), "%v", r.Violations)
	assert.Equal(t, 11, r.Postings)
	assert.Equal(t, 3, r.Orders)

	flows, err := l.OrderFlows(ctx, "o-3")
	require.NoError(t, err)
	require.Len(t, flows, 1)
	assert.Equal(t, []string{"200.00", "170.00", "30.00", "0.00"},
		[]string{flows[0].Captured.Number(), flows[0].Released.Number(), flows[0].Refunded.Number(), flows[0].Held.Number()})
}

func testInvariantsViolations(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	post(t, l,
		capture("o-fine", "80.00", t0),
		release("o-fine", "80.00", "0.00", t0.Add(time.Hour)),
		// A capture that bypasses escrow.
		posting("o-bypass:captured", "o-bypass", KindCaptured, t0,
			dr(BuyerReceivable("alipay"), cny("100.00")), cr(MerchantPayable("acme"), cny("100.00"))),
		// A refund after release taken from the merchant without clawing back through escrow.
		capture("o-direct", "100.00", t0),
		release("o-direct", "100.00", "0.00", t0.Add(time.Hour)),
		posting("o-direct:refund:1", "o-direct", KindRefunded, t0.Add(2*time.Hour),
			dr(MerchantPayable("acme"), cny("30.00")), cr(BuyerReceivable("alipay"), cny("30.00"))),
		// More refunded than captured: escrow overdrawn.
		capture("o-over", "50.00", t0),
		refund("o-over", "1", "80.00", t0.Add(time.Hour)),
		capture("o-tampered", "10.00", t0),
	)
	// A posting altered behind the ledger's back: one more entry, unbalancing it.
	tampered, found, err := l.PostingByKey(ctx, "o-tampered:captured")
	require.NoError(t, err)
	require.True(t, found)
	var id int64
	require.NoError(t, l.db.QueryRowContext(ctx, `SELECT id FROM postings WHERE posting_key = $1`, tampered.Key).Scan(&id))
	extra, err := l.d.amountArg(cny("-0.01"))
	require.NoError(t, err)
	_, err = l.db.ExecContext(ctx, `INSERT INTO entries (posting_id, seq, account, account_type, currency, amount) VALUES ($1, 99, 'escrow_held', 'escrow_held', 'CNY', $2)`, id, extra)
	require.NoError(t, err)

	r, err := l.CheckInvariants(ctx)
	require.NoError(t, err)
	assert.False(t, r.OK())
	got := make([]string, len(r.Violations))
	for i, v := range r.Violations {
		got[i] = v.String()
	}
	assert.Equal(t, []string{
		"unbalanced_posting: posting o-tampered:captured: CNY: credits exceed debits by 0.01 CNY",
		"order_not_conserved: order o-bypass: captured 100.00 CNY ≠ released 0.00 CNY + refunded 0.00 CNY + held 0.00 CNY (difference 100.00 CNY)",
		"order_not_conserved: order o-direct: captured 100.00 CNY ≠ released 100.00 CNY + refunded 30.00 CNY + held 0.00 CNY (difference -30.00 CNY)",
		"escrow_overdrawn: order o-over: escrow holds -30.00 CNY",
		"over_refunded: order o-over: refunded 80.00 CNY > captured 50.00 CNY",
		"order_not_conserved: order o-tampered: captured 10.00 CNY ≠ released 0.00 CNY + refunded 0.00 CNY + held 10.01 CNY (difference -0.01 CNY)",
	}, got)
	assert.Equal(t, 5, r.Orders)
	for _, v := range r.Violations {
		assert.Equal(t, money.CNY, v.Currency)
	}
}

func testMigrationsReapplied(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	l1 := open(t, dsn)
	post(t, l1, capture("o-1", "1.00", t0))
	ms, err := l1.d.migrations()
	require.NoError(t, err)
	want := ms[len(ms)-1].version

	l2 := open(t, dsn) // a second start: nothing to apply
	require.NoError(t, l2.migrate(ctx))
	for _, l := range []*Ledger{l1, l2} {
		v, err := l.SchemaVersion(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, v)
		var n int
		require.NoError(t, l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
		assert.Equal(t, len(ms), n, "each migration recorded once")
		assert.Equal(t, 1, countPostings(t, l), "data survives")
	}

	// A database migrated by a newer program is refused, not downgraded.
	_, err = l1.db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')`, want+1)
	require.NoError(t, err)
	_, err = Open(ctx, dsn)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer than this program knows")
}

func testConcurrentOpen(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	const starters = 4
	ledgers := make([]*Ledger, starters)
	errs := make([]error, starters)
	var wg sync.WaitGroup
	for i := range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ledgers[i], errs[i] = Open(ctx, dsn)
		}()
	}
	wg.Wait()
	for i := range starters {
		require.NoError(t, errs[i], "starter %d", i)
		t.Cleanup(func() { require.NoError(t, ledgers[i].Close()) })
	}
	var n int
	require.NoError(t, ledgers[0].db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
	ms, err := ledgers[0].d.migrations()
	require.NoError(t, err)
	assert.Equal(t, len(ms), n)
	post(t, ledgers[1], capture("o-1", "1.00", t0))
	assert.Equal(t, 1, countPostings(t, ledgers[2]))
}

func testBatchMembershipUnique(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	require.NoError(t, l.MarkSettled(ctx, "b-1", KindSettled, []string{"o-1", "o-2"}))
	require.NoError(t, l.MarkSettled(ctx, "b-1", KindSettled, []string{"o-1"}), "same batch again is a no-op")

	err := l.MarkSettled(ctx, "b-2", KindSettled, []string{"o-3", "o-1"})
	require.ErrorIs(t, err, ErrAlreadyInBatch)
	assert.Contains(t, err.Error(), `order "o-1" is in settled batch "b-1"`)
	_, in, err := l.BatchOf(ctx, "o-3", KindSettled)
	require.NoError(t, err)
	assert.False(t, in, "a refused batch records nothing")

	require.NoError(t, l.MarkSettled(ctx, "b-2", KindClawback, []string{"o-1"}), "another kind is another membership")
	batch, in, err := l.BatchOf(ctx, "o-1", KindSettled)
	require.NoError(t, err)
	assert.True(t, in)
	assert.Equal(t, "b-1", batch)

	require.ErrorIs(t, l.MarkSettled(ctx, "", KindSettled, []string{"o-9"}), ErrInvalidPosting)
	require.ErrorIs(t, l.MarkSettled(ctx, "b-9", KindSettled, []string{""}), ErrInvalidPosting)

	// Racing batches over the same two orders, listed in opposite orders:
	// exactly one batch gets both, and none deadlocks.
	const racers = 8
	var (
		wg  sync.WaitGroup
		won atomic.Int32
	)
	errs := make(chan error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			orders := []string{"o-race-a", "o-race-b"}
			if i%2 == 1 {
				orders = []string{"o-race-b", "o-race-a"}
			}
			err := l.MarkSettled(ctx, fmt.Sprintf("race-%d", i), KindSettled, orders)
			if err == nil {
				won.Add(1)
			} else if !errors.Is(err, ErrAlreadyInBatch) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, won.Load())
	a, _, err := l.BatchOf(ctx, "o-race-a", KindSettled)
	require.NoError(t, err)
	bb, _, err := l.BatchOf(ctx, "o-race-b", KindSettled)
	require.NoError(t, err)
	assert.Equal(t, a, bb, "all or nothing")
}

func testUnsettledOrders(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	day := t0.Add(24 * time.Hour)
	post(t, l,
		capture("o-1", "109.10", t0), release("o-1", "100.00", "9.10", t0.Add(time.Hour)),
		capture("o-2", "60.00", t0), release("o-2", "60.00", "0.00", t0.Add(2*time.Hour)),
		capture("o-3", "10.00", t0),                                                      // not released: nothing payable
		capture("o-4", "40.00", t0), release("o-4", "40.00", "0.00", day.Add(time.Hour)), // released after the cut-off
	)
	other := release("o-5", "5.00", "0.00", t0)
	other.Entries[1] = cr(MerchantPayable("other"), cny("5.00"))
	post(t, l, capture("o-5", "5.00", t0), other)

	unsettled := func(upTo time.Time) []string {
		t.Helper()
		us, err := l.UnsettledOrders(ctx, "acme", upTo)
		require.NoError(t, err)
		out := make([]string, len(us))
		for i, u := range us {
			kind := u.Kind
			if kind == KindClawback {
				kind = ClawbackKind(u.Round)
			}
			out[i] = fmt.Sprintf("%s %s %s", u.OrderID, kind, u.Amount)
		}
		return out
	}
	assert.Equal(t, []string{"o-1 settled 100.00 CNY", "o-2 settled 60.00 CNY"}, unsettled(day))

	// Settle o-1: its payable returns to zero and it is in a batch.
	post(t, l, settle("o-1", "100.00", day))
	require.NoError(t, l.MarkSettled(ctx, "acme-day-1", KindSettled, []string{"o-1"}))
	assert.Equal(t, []string{"o-2 settled 60.00 CNY"}, unsettled(day))
	assert.Equal(t, []string{"o-2 settled 60.00 CNY", "o-4 settled 40.00 CNY"}, unsettled(day.Add(2*time.Hour)))

	// A refund after settlement: the clawback leaves o-1 owing, for the next batch.
	post(t, l, clawback("o-1", "1", "30.00", day.Add(3*time.Hour)), refund("o-1", "1", "30.00", day.Add(3*time.Hour)))
	next := day.Add(24 * time.Hour)
	assert.Equal(t, []string{"o-1 clawback -30.00 CNY", "o-2 settled 60.00 CNY", "o-4 settled 40.00 CNY"}, unsettled(next))
	us, err := l.UnsettledOrders(ctx, "acme", next)
	require.NoError(t, err)
	require.NotEmpty(t, us)
	assert.Equal(t, 1, us[0].Round, "the first clawback is round 1")
	post(t, l, settleClawback("o-1", 1, "30.00", next), settle("o-2", "60.00", next), settle("o-4", "40.00", next))
	require.NoError(t, l.MarkSettled(ctx, "acme-day-2", ClawbackKind(1), []string{"o-1"}))
	require.NoError(t, l.MarkSettled(ctx, "acme-day-2", KindSettled, []string{"o-2", "o-4"}))
	assert.Empty(t, unsettled(next), "a batch posted and marked is no longer listed")

	// A second refund after that clawback batch is a second round, in another batch.
	post(t, l, clawback("o-1", "2", "20.00", next.Add(time.Hour)), refund("o-1", "2", "20.00", next.Add(time.Hour)))
	third := next.Add(24 * time.Hour)
	assert.Equal(t, []string{"o-1 clawback_2 -20.00 CNY"}, unsettled(third))
	post(t, l, settleClawback("o-1", 2, "20.00", third))
	assert.Empty(t, unsettled(third), "a posted round is not listed again, even before it is marked")
	require.NoError(t, l.MarkSettled(ctx, "acme-day-3", ClawbackKind(2), []string{"o-1"}))
	batch, in, err := l.BatchOf(ctx, "o-1", ClawbackKind(2))
	require.NoError(t, err)
	assert.True(t, in)
	assert.Equal(t, "acme-day-3", batch)
	batch, _, err = l.BatchOf(ctx, "o-1", ClawbackKind(1))
	require.NoError(t, err)
	assert.Equal(t, "acme-day-2", batch, "each round keeps its own batch")

	// The same round cannot be settled by two batches: its posting key and its
	// membership are taken.
	err = l.MarkSettled(ctx, "acme-day-4", ClawbackKind(2), []string{"o-1"})
	require.ErrorIs(t, err, ErrAlreadyInBatch)
	assert.Contains(t, err.Error(), `order "o-1" is in clawback_2 batch "acme-day-3"`)
	_, _, err = l.Post(ctx, settleClawback("o-1", 2, "25.00", third))
	require.ErrorIs(t, err, ErrConflictingPosting)

	// A third refund is round 3.
	post(t, l, clawback("o-1", "3", "5.00", third.Add(time.Hour)))
	assert.Equal(t, []string{"o-1 clawback_3 -5.00 CNY"}, unsettled(third.Add(24*time.Hour)))

	_, err = l.UnsettledOrders(ctx, "", next)
	require.ErrorIs(t, err, ErrInvalidPosting)
	_, err = l.UnsettledOrders(ctx, "acme", time.Time{})
	require.ErrorIs(t, err, ErrInvalidPosting)
}

func testAppendOnly(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	post(t, l, capture("o-1", "1.00", t0))
	for _, stmt := range []string{
		`UPDATE postings SET memo = 'changed'`,
		`DELETE FROM postings`,
		`UPDATE entries SET account = 'refunds'`,
		`DELETE FROM entries`,
	} {
		_, err := l.db.ExecContext(ctx, stmt)
		require.Error(t, err, stmt)
		assert.Contains(t, err.Error(), "append-only", stmt)
	}
	assert.Equal(t, 1, countPostings(t, l))
}

func testLargeAmountsExact(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	// 2^53+1 fen: a float64 cannot hold it.
	big := cny("90071992547409.93")
	yen := money.MustParse("9007199254740993", money.JPY)
	post(t, l,
		posting("big-1", "", KindSettled, t0, dr(SettlementInTransit(), big), cr(FXClearing(), big),
			dr(FXClearing(), yen), cr(SettlementInTransit(), yen)),
		posting("big-2", "", KindSettled, t0, dr(SettlementInTransit(), cny("0.01")), cr(FXClearing(), cny("0.01"))),
	)
	got, err := l.Balance(ctx, SettlementInTransit(), money.CNY, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "90071992547409.94", got.Number())
	gotYen, err := l.Balance(ctx, FXClearing(), money.JPY, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "9007199254740993", gotYen.Number())
	p, _, err := l.PostingByKey(ctx, "big-1")
	require.NoError(t, err)
	assert.True(t, p.Entries[0].Amount.Equal(big))
}

func TestSQLiteMemoryIsPrivate(t *testing.T) {
	a := open(t, "sqlite::memory:")
	b := open(t, "sqlite::memory:")
	post(t, a, capture("o-1", "1.00", t0))
	assert.Equal(t, 1, countPostings(t, a))
	assert.Equal(t, 0, countPostings(t, b), "each Open has its own in-memory database")
	// Many goroutines share the single connection without deadlock.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := a.Post(context.Background(), capture(fmt.Sprintf("m-%d", i%4), "2.00", t0))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 5, countPostings(t, a))
}

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{"", "mysql://x", "sqlite:", "sqlite:/tmp/a?b", "postgres:/x"} {
		_, err := Open(context.Background(), dsn)
		assert.Error(t, err, "dsn %q", dsn)
	}
	assert.Equal(t, "postgres://u:***@h:5432/db", redact("postgres://u:secret@h:5432/db"))
}

func TestAccounts(t *testing.T) {
	valid := []Account{
		BuyerReceivable("alipay"), EscrowHeld(), MerchantPayable("acme-uk"), ProviderFees("wechatpay"),
		TaxPayable(), Refunds(), FXGainLoss(), FXClearing(), SettlementInTransit(), MerchantBank("acme"),
		"escrow_held:alipay", "tax_payable:shanghai",
	}
	for _, a := range valid {
		assert.NoError(t, a.Validate(), string(a))
	}
	assert.Equal(t, TypeMerchantPayable, MerchantPayable("acme").Type())
	assert.Equal(t, "acme", MerchantPayable("acme").Sub())
	assert.Empty(t, EscrowHeld().Sub())

	invalid := map[Account]string{
		"":                      "unknown account type",
		"cash":                  "unknown account type",
		"merchant_payable":      "needs a sub-ledger",
		MerchantPayable(""):     "1 to 128 characters",
		MerchantPayable("a b"):  "must not contain",
		MerchantPayable("a:b"):  "must not contain",
		BuyerReceivable("x\ty"): "must not contain",
	}
	for a, msg := range invalid {
		_, err := ParseAccount(string(a))
		require.ErrorIs(t, err, ErrInvalidAccount, string(a))
		assert.Contains(t, err.Error(), msg, string(a))
	}
}
