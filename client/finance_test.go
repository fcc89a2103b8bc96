package client

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListSettlements(t *testing.T) {
	srv, seen := fakeAPI(t, http.StatusOK, `{"settlements":[{"batchId":"settlement-m1-20260302","merchantId":"m1","day":"2026-03-02",
		"status":"paid","totals":[{"currency":"USD","lines":2,"atLockedRate":{"value":"20.80","currency":"USD"},
		"fxGainLoss":{"value":"-0.05","currency":"USD"},"payoutNo":"settlement-m1-20260302-USD","payoutStatus":"PAID"}]}]}`)
	c := New(srv.URL, "key-1")
	list, err := c.ListSettlements(context.Background(), ListSettlementsParams{From: "2026-03-01", Limit: 10})
	require.NoError(t, err)
	require.Len(t, list.Settlements, 1)
	s := list.Settlements[0]
	assert.Equal(t, "paid", s.Status)
	require.Len(t, s.Totals, 1)
	assert.Equal(t, Amount{Value: "-0.05", Currency: "USD"}, s.Totals[0].FXGainLoss)
	assert.Equal(t, "PAID", s.Totals[0].PayoutStatus)
	require.Len(t, *seen, 1)
	assert.Equal(t, "/v1/settlements", (*seen)[0].path)
	assert.Equal(t, "from=2026-03-01&limit=10", (*seen)[0].rawQuery)
}

func TestGetSettlementAndItsSAFEReport(t *testing.T) {
	srv, seen := fakeAPI(t, http.StatusOK, `{"batchId":"settlement-m1-20260302","lines":[{"orderId":"order-m1-A1","kind":"settled",
		"amountCny":{"value":"100.00","currency":"CNY"},"fxGainLoss":{"value":"0.10","currency":"USD"}}],
		"safe":[{"orderNo":"A1","direction":"receipt","tradeType":"1210"}]}`)
	c := New(srv.URL, "key-1")
	s, err := c.GetSettlement(context.Background(), "settlement-m1-20260302")
	require.NoError(t, err)
	require.Len(t, s.Lines, 1)
	assert.Equal(t, CNY("100.00"), s.Lines[0].AmountCNY)
	require.Len(t, s.SAFE, 1)
	assert.Equal(t, "1210", s.SAFE[0].TradeType)

	csvSrv, csvSeen := fakeAPI(t, http.StatusOK, "order_no,transaction_id\nA1,tx1\n")
	raw, err := New(csvSrv.URL, "key-1").GetSettlementSAFECSV(context.Background(), "settlement-m1-20260302")
	require.NoError(t, err)
	assert.Equal(t, "order_no,transaction_id\nA1,tx1\n", string(raw))
	assert.Equal(t, "format=csv", (*csvSeen)[0].rawQuery)
	assert.Equal(t, "/v1/settlements/settlement-m1-20260302", (*seen)[0].path)
}

func TestFinanceReportsAndErrors(t *testing.T) {
	srv, seen := fakeAPI(t, http.StatusOK, `{"asOf":"2026-03-02T00:00:00Z","merchants":[{"merchantId":"m1","homeCurrency":"USD",
		"buckets":[{"age":"0-7","orders":1,"amountCny":{"value":"100.00","currency":"CNY"}}],"total":{"age":"all","orders":1}}]}`)
	rep, err := New(srv.URL, "ops").GetFXExposure(context.Background(), "m1")
	require.NoError(t, err)
	require.Len(t, rep.Merchants, 1)
	assert.Equal(t, "0-7", rep.Merchants[0].Buckets[0].Age)
	assert.Equal(t, "merchantId=m1", (*seen)[0].rawQuery)

	forbidden, _ := fakeAPI(t, http.StatusForbidden, `{"code":"forbidden","message":"an operator key is needed"}`)
	_, err = New(forbidden.URL, "key-1").GetReconciliation(context.Background(), "2026-03-01")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusForbidden, apiErr.Status)
	assert.Equal(t, "forbidden", apiErr.Code)

	ok, seenRec := fakeAPI(t, http.StatusOK, `{"day":"2026-03-01","mismatches":1,"providers":[{"provider":"alipay","mismatches":[{"kind":"amount","transactionId":"tx1"}]}]}`)
	r, err := New(ok.URL, "ops").GetReconciliation(context.Background(), "2026-03-01")
	require.NoError(t, err)
	assert.Equal(t, 1, r.Mismatches)
	assert.Equal(t, "amount", r.Providers[0].Mismatches[0].Kind)
	assert.Equal(t, "/v1/reconciliations/2026-03-01", (*seenRec)[0].path)
}
