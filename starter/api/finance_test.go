package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/cardpsp"
	"github.com/xhspay/xhspay/workflows"
)

// fakeFinance serves fixed reports and records what was asked.
type fakeFinance struct {
	batches   map[string]activities.SettlementBatch
	query     *activities.SettlementQuery
	exposure  *string
	recs      map[string]activities.ReconciliationReport
	err       error
	lastBatch string
}

func (f *fakeFinance) Settlements(_ context.Context, q activities.SettlementQuery) ([]activities.SettlementBatch, error) {
	f.query = &q
	var out []activities.SettlementBatch
	for _, b := range f.batches {
		if q.MerchantID == "" || b.MerchantID == q.MerchantID {
			out = append(out, b.Summary())
		}
	}
	return out, f.err
}

func (f *fakeFinance) Settlement(_ context.Context, id string) (activities.SettlementBatch, bool, error) {
	f.lastBatch = id
	b, ok := f.batches[id]
	return b, ok, f.err
}

func (f *fakeFinance) Exposure(_ context.Context, merchantID string) (activities.ExposureReport, error) {
	f.exposure = &merchantID
	return activities.ExposureReport{AsOf: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Merchants: []activities.MerchantExposure{}}, f.err
}

func (f *fakeFinance) Reconciliation(_ context.Context, day string) (activities.ReconciliationReport, bool, error) {
	r, ok := f.recs[day]
	return r, ok, f.err
}

// fakePayoutParser returns a fixed card PSP event.
type fakePayoutParser struct {
	ev  cardpsp.Event
	err error
}

func (f *fakePayoutParser) ParseEvent(_ context.Context, r *http.Request) (cardpsp.Event, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	return f.ev, f.err
}

func testBatch(merchant string) activities.SettlementBatch {
	usd := money.MustParse("13.80", money.USD)
	return activities.SettlementBatch{
		BatchID: activities.SettlementWorkflowID(merchant, "2026-03-02"), MerchantID: merchant, Day: "2026-03-02",
		Status: activities.SettlementPaid,
		Lines: []activities.SettlementLine{{OrderID: "order-" + merchant + "-A1", MerchantOrderNo: "A1", Kind: activities.LineSettled,
			Provider: providers.Alipay, AmountCNY: money.MustParse("100.00", money.CNY), AtLockedRate: usd}},
		SAFE: []activities.SAFERecord{{OrderNo: "=A1", TransactionID: "tx1", PayerRef: "ab", Direction: "receipt",
			Amount: money.MustParse("100.00", money.CNY), SettledAmount: usd, GoodsCategory: "skincare", TradeType: "1210", SettlementDate: "2026-03-02"}},
	}
}

func TestSettlementRoutes(t *testing.T) {
	f := newFixture(t)
	m1, m2 := testBatch("m1"), testBatch("m2")
	f.finance.batches = map[string]activities.SettlementBatch{m1.BatchID: m1, m2.BatchID: m2}

	rec := f.do(http.MethodGet, "/v1/settlements?from=2026-03-01&limit=5", keyM1, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, activities.SettlementQuery{MerchantID: "m1", From: "2026-03-01", Limit: 5}, *f.finance.query)
	var list settlementList
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
	require.Len(t, list.Settlements, 1)
	assert.Equal(t, m1.BatchID, list.Settlements[0].BatchID)
	assert.Empty(t, list.Settlements[0].Lines, "the list has summaries")

	rec = f.do(http.MethodGet, "/v1/settlements", keyOps, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "", f.finance.query.MerchantID, "an operator lists every merchant")
	rec = f.do(http.MethodGet, "/v1/settlements?merchantId=m2", keyOps, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "m2", f.finance.query.MerchantID)

	for _, tc := range []struct {
		query, field string
		status       int
	}{
		{"from=1%20March", "from", http.StatusBadRequest},
		{"to=2026-02-30", "to", http.StatusBadRequest},
		{"limit=0", "limit", http.StatusBadRequest},
		{"sort=day", "sort", http.StatusBadRequest},
		{"merchantId=m2", "merchantId", http.StatusForbidden},
	} {
		rec := f.do(http.MethodGet, "/v1/settlements?"+tc.query, keyM1, "")
		assert.Equal(t, tc.status, rec.Code, tc.query)
		assert.Equal(t, tc.field, problemOf(t, rec).Field, tc.query)
	}

	rec = f.do(http.MethodGet, "/v1/settlements/"+m1.BatchID, keyM1, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var got activities.SettlementBatch
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Len(t, got.Lines, 1)
	assert.Len(t, got.SAFE, 1)

	rec = f.do(http.MethodGet, "/v1/settlements/"+m1.BatchID+"?format=csv", keyM1, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/csv; charset=utf-8", rec.Header().Get("Content-Type"))
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, strings.Join(activities.SAFEColumns, ","), lines[0])
	assert.Equal(t, "'=A1,tx1,ab,receipt,100.00,CNY,13.80,USD,skincare,1210,2026-03-02", lines[1], "a formula-like cell is defused")

	f.finance.lastBatch = ""
	for _, id := range []string{m2.BatchID, "settlement-m1-2026", "order-m1-A1", "settlement-m1-20260303"} {
		rec := f.do(http.MethodGet, "/v1/settlements/"+id, keyM1, "")
		assert.Equal(t, http.StatusNotFound, rec.Code, id)
	}
	assert.Equal(t, "settlement-m1-20260303", f.finance.lastBatch, "another merchant's and malformed ids never reach the reader")
	rec = f.do(http.MethodGet, "/v1/settlements/"+m2.BatchID, keyOps, "")
	assert.Equal(t, http.StatusOK, rec.Code, "an operator reads any batch")
	rec = f.do(http.MethodGet, "/v1/settlements/"+m1.BatchID+"?format=xml", keyM1, "")
	assert.Equal(t, http.StatusBadRequest, rec.Code)

	f.finance.err = errors.New("database is down")
	rec = f.do(http.MethodGet, "/v1/settlements", keyM1, "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotContains(t, rec.Body.String(), "database", "internal errors stay in the log")
}

func TestExposureAndReconciliationRoutes(t *testing.T) {
	f := newFixture(t)
	rec := f.do(http.MethodGet, "/v1/reports/fx-exposure", keyM1, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "m1", *f.finance.exposure)
	rec = f.do(http.MethodGet, "/v1/reports/fx-exposure", keyOps, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "", *f.finance.exposure)
	rec = f.do(http.MethodGet, "/v1/reports/fx-exposure?merchantId=m2", keyM1, "")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	rec = f.do(http.MethodGet, "/v1/reports/fx-exposure?currency=USD", keyM1, "")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	rec = f.do(http.MethodGet, "/v1/reports/fx-exposure", "", "")
	assert.Equal(t, http.StatusUnauthorized, rec.Code)

	f.finance.recs = map[string]activities.ReconciliationReport{"2026-03-01": {Day: "2026-03-01", Mismatches: 2}}
	rec = f.do(http.MethodGet, "/v1/reconciliations/2026-03-01", keyM1, "")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Equal(t, CodeForbidden, problemOf(t, rec).Code)
	rec = f.do(http.MethodGet, "/v1/reconciliations/2026-03-01", keyOps, "")
	require.Equal(t, http.StatusOK, rec.Code)
	var rep activities.ReconciliationReport
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rep))
	assert.Equal(t, 2, rep.Mismatches)
	assert.Equal(t, http.StatusNotFound, f.do(http.MethodGet, "/v1/reconciliations/2026-03-02", keyOps, "").Code)
	assert.Equal(t, http.StatusBadRequest, f.do(http.MethodGet, "/v1/reconciliations/yesterday", keyOps, "").Code)
}

func TestFinanceRoutesWithoutAReader(t *testing.T) {
	store, err := NewMemoryMerchantStore(Merchant{ID: "m1", HomeCurrency: money.USD, KeyHashes: []string{HashAPIKey(keyM1)}})
	require.NoError(t, err)
	h := New(Config{Temporal: newFixture(t).tc, TaskQueue: "orders", Merchants: store, Logger: slog.New(slog.DiscardHandler)})
	for _, path := range []string{"/v1/settlements", "/v1/reports/fx-exposure", "/v1/settlements/settlement-m1-20260302"} {
		req, _ := http.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+keyM1)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusNotFound, rec.Code, path)
	}
}

func TestNotifyPayout(t *testing.T) {
	f := newFixture(t)
	batch := activities.SettlementWorkflowID("m1", "2026-03-02")
	po := providers.Payout{OutPayoutNo: activities.PayoutNo(batch, money.USD), PayoutID: "po_1", Status: providers.PayoutPaid,
		Amount: money.MustParse("13.80", money.USD)}
	f.payouts.ev = cardpsp.Event{Notification: providers.Notification{ID: "evt_1", Kind: cardpsp.NotifyPayout}, Payout: &po}
	f.tc.On("SignalWorkflow", mock.Anything, batch, "", workflows.SignalPayoutNotified, po).Return(nil).Once()
	rec := f.do(http.MethodPost, "/notify/card/payouts", "", `{}`)
	assert.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	rec = f.do(http.MethodPost, "/notify/card/payouts", "", `{}`)
	assert.Equal(t, http.StatusNoContent, rec.Code, "a duplicate is acknowledged without a second signal")
	assert.Equal(t, 1.0, f.counter("card", notifyDuplicate))

	other := po
	other.OutPayoutNo = "someone-elses-payout"
	f.payouts.ev = cardpsp.Event{Notification: providers.Notification{ID: "evt_2", Kind: cardpsp.NotifyPayout}, Payout: &other}
	assert.Equal(t, http.StatusBadRequest, f.do(http.MethodPost, "/notify/card/payouts", "", `{}`).Code)
	f.payouts.ev = cardpsp.Event{Notification: providers.Notification{ID: "evt_3", Kind: providers.NotifyPayment}}
	assert.Equal(t, http.StatusBadRequest, f.do(http.MethodPost, "/notify/card/payouts", "", `{}`).Code)
	f.payouts.err = providers.NewError("card", "notify", providers.ErrTypeSignature, "", "bad signature", nil)
	assert.Equal(t, http.StatusUnauthorized, f.do(http.MethodPost, "/notify/card/payouts", "", `{}`).Code)
}
