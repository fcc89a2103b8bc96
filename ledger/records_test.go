package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
)

func orderRecord(order, merchant, provider, tx string, at time.Time) OrderRecord {
	return OrderRecord{
		OrderID: order, MerchantID: merchant, MerchantOrderNo: "no-" + order, Provider: provider,
		TransactionID: tx, PayerRef: "ab12", Category: "skincare", HomeCurrency: money.USD,
		Quote:      &money.Quote{Base: money.CNY, Counter: money.USD, Rate: decimal.RequireFromString("0.13800000"), At: at.Add(-time.Minute), Source: "fx"},
		CapturedAt: at,
	}
}

func testOrderRecords(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	r1 := orderRecord("o-1", "acme", "alipay", "tx-1", t0)
	created, err := l.RecordOrder(ctx, r1)
	require.NoError(t, err)
	assert.True(t, created)

	again := r1
	q := *r1.Quote
	q.Rate = decimal.RequireFromString("0.138") // the same rate at another scale
	again.Quote = &q
	created, err = l.RecordOrder(ctx, again)
	require.NoError(t, err, "the same content again is a no-op")
	assert.False(t, created)

	other := r1
	other.TransactionID = "tx-other"
	_, err = l.RecordOrder(ctx, other)
	require.ErrorIs(t, err, ErrConflictingRecord)
	assert.Contains(t, err.Error(), "transaction_id")

	cnyOrder := OrderRecord{OrderID: "o-2", MerchantID: "acme", Provider: "wechatpay", TransactionID: "tx-2",
		HomeCurrency: money.CNY, CapturedAt: t0.Add(time.Hour)}
	_, err = l.RecordOrder(ctx, cnyOrder)
	require.NoError(t, err)
	_, err = l.RecordOrder(ctx, orderRecord("o-3", "other", "alipay", "tx-3", t0.Add(2*time.Hour)))
	require.NoError(t, err)

	got, err := l.OrderRecords(ctx, []string{"o-2", "o-1", "o-404", "o-1"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Empty(t, got["o-1"].differs(r1), "read back as recorded")
	assert.Equal(t, "0.138", got["o-1"].Quote.Rate.String())
	assert.Nil(t, got["o-2"].Quote)
	assert.True(t, got["o-2"].CapturedAt.Equal(t0.Add(time.Hour)))

	find := func(f OrderRecordFilter) []string {
		rs, err := l.FindOrderRecords(ctx, f)
		require.NoError(t, err)
		ids := []string{}
		for _, r := range rs {
			ids = append(ids, r.OrderID)
		}
		return ids
	}
	assert.Equal(t, []string{"o-1", "o-2", "o-3"}, find(OrderRecordFilter{}))
	assert.Equal(t, []string{"o-1", "o-2"}, find(OrderRecordFilter{MerchantID: "acme"}))
	assert.Equal(t, []string{"o-1", "o-3"}, find(OrderRecordFilter{Provider: "alipay"}))
	assert.Equal(t, []string{"o-2"}, find(OrderRecordFilter{TransactionID: "tx-2"}))
	assert.Equal(t, []string{"o-2"}, find(OrderRecordFilter{CapturedFrom: t0.Add(time.Minute), CapturedTo: t0.Add(2 * time.Hour)}))

	for name, bad := range map[string]func(*OrderRecord){
		"order_id":      func(r *OrderRecord) { r.OrderID = "" },
		"home_currency": func(r *OrderRecord) { r.HomeCurrency = "XXX" },
		"captured_at":   func(r *OrderRecord) { r.CapturedAt = time.Time{} },
		"must be CNY/":  func(r *OrderRecord) { q := *r.Quote; q.Counter = money.EUR; r.Quote = &q },
		"required for":  func(r *OrderRecord) { r.Quote = nil },
	} {
		r := orderRecord("o-bad", "acme", "alipay", "tx", t0)
		bad(&r)
		_, err := l.RecordOrder(ctx, r)
		require.ErrorIs(t, err, ErrInvalidPosting, name)
		assert.Contains(t, err.Error(), name)
	}
}

func testOrderTypeBalances(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	post(t, l,
		capture("o-1", "109.10", t0), release("o-1", "100.00", "9.10", t0.Add(time.Hour)),
		capture("o-2", "50.00", t0), refund("o-2", "1", "50.00", t0.Add(time.Hour)),
		capture("o-3", "20.00", t0.Add(48*time.Hour)),
	)
	bals, err := l.OrderTypeBalances(ctx, OrderTypeBalanceFilter{Types: []AccountType{TypeEscrowHeld, TypeMerchantPayable}})
	require.NoError(t, err)
	var got []string
	for _, b := range bals {
		got = append(got, fmt.Sprintf("%s %s %s %s", b.OrderID, b.MerchantID, b.Type, b.Amount))
	}
	assert.Equal(t, []string{
		"o-1 acme merchant_payable -100.00 CNY",
		"o-3 acme escrow_held -20.00 CNY",
	}, got, "zero balances (o-1's escrow, o-2) are left out")

	early, err := l.OrderTypeBalances(ctx, OrderTypeBalanceFilter{MerchantID: "acme", Currency: money.CNY, AsOf: t0})
	require.NoError(t, err)
	assert.Len(t, early, 4, "o-1 and o-2: receivable and escrow as of the capture")
	none, err := l.OrderTypeBalances(ctx, OrderTypeBalanceFilter{MerchantID: "nobody"})
	require.NoError(t, err)
	assert.Empty(t, none)

	subs, err := l.AccountSubs(ctx, TypeMerchantPayable)
	require.NoError(t, err)
	assert.Equal(t, []string{"acme"}, subs)
	subs, err = l.AccountSubs(ctx, TypeBuyerReceivable)
	require.NoError(t, err)
	assert.Equal(t, []string{"alipay"}, subs)
	_, err = l.AccountSubs(ctx, AccountType("cash"))
	require.ErrorIs(t, err, ErrInvalidAccount)
}

func testDocuments(t *testing.T, b backend) {
	ctx := context.Background()
	l := b.fresh(t)
	save := func(d Document) Document {
		t.Helper()
		out, err := l.SaveDocument(ctx, d)
		require.NoError(t, err)
		return out
	}
	first := save(Document{Kind: "settlement", ID: "b-1", MerchantID: "acme", Day: "2025-03-01", Status: "prepared", Body: json.RawMessage(`{"n":1}`)})
	save(Document{Kind: "settlement", ID: "b-2", MerchantID: "acme", Day: "2025-03-02", Status: "paid", Body: json.RawMessage(`{"n":2}`)})
	save(Document{Kind: "settlement", ID: "b-3", MerchantID: "other", Day: "2025-03-02", Body: json.RawMessage(`{"n":3}`)})
	save(Document{Kind: "reconciliation", ID: "2025-03-01", Day: "2025-03-01", Body: json.RawMessage(`[]`)})

	updated := save(Document{Kind: "settlement", ID: "b-1", MerchantID: "acme", Day: "2025-03-01", Status: "paid", Body: json.RawMessage(`{"n":10}`)})
	assert.Equal(t, "paid", updated.Status)
	assert.JSONEq(t, `{"n":10}`, string(updated.Body))
	assert.True(t, updated.CreatedAt.Equal(first.CreatedAt), "creation time kept")
	assert.False(t, updated.UpdatedAt.Before(first.UpdatedAt))

	got, ok, err := l.Document(ctx, "settlement", "b-1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.JSONEq(t, `{"n":10}`, string(got.Body))
	_, ok, err = l.Document(ctx, "settlement", "b-404")
	require.NoError(t, err)
	assert.False(t, ok)

	ids := func(f DocumentFilter) []string {
		ds, err := l.Documents(ctx, f)
		require.NoError(t, err)
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	assert.Equal(t, []string{"b-2", "b-3", "b-1"}, ids(DocumentFilter{Kind: "settlement"}), "latest day first")
	assert.Equal(t, []string{"b-2", "b-1"}, ids(DocumentFilter{Kind: "settlement", MerchantID: "acme"}))
	assert.Equal(t, []string{"b-1"}, ids(DocumentFilter{Kind: "settlement", From: "2025-03-01", To: "2025-03-02"}))
	assert.Equal(t, []string{"b-2"}, ids(DocumentFilter{Kind: "settlement", Limit: 1}))
	assert.Equal(t, []string{"2025-03-01"}, ids(DocumentFilter{Kind: "reconciliation"}))

	for _, bad := range []Document{
		{Kind: "Settlement", ID: "x", Body: json.RawMessage(`{}`)},
		{Kind: "settlement", ID: "", Body: json.RawMessage(`{}`)},
		{Kind: "settlement", ID: "x", Day: "1 March", Body: json.RawMessage(`{}`)},
		{Kind: "settlement", ID: "x", Body: json.RawMessage(`{not json`)},
	} {
		_, err := l.SaveDocument(ctx, bad)
		require.ErrorIs(t, err, ErrInvalidPosting, "%+v", bad)
	}
	_, err = l.Documents(ctx, DocumentFilter{})
	require.ErrorIs(t, err, ErrInvalidPosting)
}
