package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SettlementLine is one order of a settlement batch.
type SettlementLine struct {
	// OrderID is the order.
	OrderID string `json:"orderId"`
	// MerchantOrderNo is the merchant's order number.
	MerchantOrderNo string `json:"merchantOrderNo"`
	// Kind is "settled" (paid to the merchant) or "clawback" (a refund after settlement taken back).
	Kind string `json:"kind"`
	// Provider took the payment.
	Provider string `json:"provider"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId"`
	// PayerRef is the payer's pseudonymous identity reference.
	PayerRef string `json:"payerRef"`
	// Category is the goods category.
	Category string `json:"category"`
	// CapturedAt is when the payment was captured.
	CapturedAt time.Time `json:"capturedAt"`
	// AmountCNY is the RMB settled (negative for a clawback).
	AmountCNY Amount `json:"amountCny"`
	// LockedRate is the CNY → home rate locked for the order.
	LockedRate string `json:"lockedRate"`
	// SettlementRate is the batch's CNY → home rate.
	SettlementRate string `json:"settlementRate"`
	// AtLockedRate is AmountCNY at LockedRate: what the merchant is paid.
	AtLockedRate Amount `json:"atLockedRate"`
	// AtSettlementRate is AmountCNY at SettlementRate.
	AtSettlementRate Amount `json:"atSettlementRate"`
	// Fee is the provider's fee.
	Fee Amount `json:"fee"`
	// FXGainLoss is AtSettlementRate - AtLockedRate (negative: a loss).
	FXGainLoss Amount `json:"fxGainLoss"`
}

// SettlementTotal sums a batch in one home currency, with its payout.
type SettlementTotal struct {
	// Currency is the home currency.
	Currency string `json:"currency"`
	// Lines counts the lines.
	Lines int `json:"lines"`
	// AmountCNY is the RMB settled.
	AmountCNY Amount `json:"amountCny"`
	// AtLockedRate is the payout.
	AtLockedRate Amount `json:"atLockedRate"`
	// AtSettlementRate is what the providers converted.
	AtSettlementRate Amount `json:"atSettlementRate"`
	// Fees are the providers' fees.
	Fees Amount `json:"fees"`
	// FXGainLoss is the realised FX result.
	FXGainLoss Amount `json:"fxGainLoss"`
	// PayoutNo is the payout's number ("" when nothing is paid).
	PayoutNo string `json:"payoutNo,omitempty"`
	// PayoutStatus is PROCESSING, PAID or FAILED ("" until started).
	PayoutStatus string `json:"payoutStatus,omitempty"`
	// PayoutID is the PSP's payout id.
	PayoutID string `json:"payoutId,omitempty"`
	// PaidAt is when the payout reached the merchant.
	PaidAt time.Time `json:"paidAt,omitzero"`
}

// SAFERecord is one transaction of a batch's SAFE report.
type SAFERecord struct {
	// OrderNo is the merchant's order number.
	OrderNo string `json:"orderNo"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId"`
	// PayerRef is the payer's identity reference.
	PayerRef string `json:"payerRef"`
	// Direction is "receipt" or "refund".
	Direction string `json:"direction"`
	// Amount is the RMB amount.
	Amount Amount `json:"amount"`
	// SettledAmount is the foreign-currency amount remitted.
	SettledAmount Amount `json:"settledAmount"`
	// GoodsCategory is the goods category.
	GoodsCategory string `json:"goodsCategory"`
	// TradeType is the customs trade type (1210 or 9610).
	TradeType string `json:"tradeType"`
	// SettlementDate is the batch's day.
	SettlementDate string `json:"settlementDate"`
}

// Settlement is a settlement batch: one merchant, one settlement day.
type Settlement struct {
	// BatchID is the batch ("settlement-<merchantId>-<yyyymmdd>").
	BatchID string `json:"batchId"`
	// MerchantID is the merchant.
	MerchantID string `json:"merchantId"`
	// Day is the settlement day (YYYY-MM-DD).
	Day string `json:"day"`
	// SettledAt is when the batch was booked.
	SettledAt time.Time `json:"settledAt"`
	// Status is prepared, posted, marked, paid, payout_failed or empty.
	Status string `json:"status"`
	// Lines are the orders (GetSettlement only).
	Lines []SettlementLine `json:"lines,omitempty"`
	// Totals are the totals and payouts per home currency.
	Totals []SettlementTotal `json:"totals"`
	// SAFE is the SAFE report (GetSettlement only).
	SAFE []SAFERecord `json:"safe,omitempty"`
	// Error explains a failed payout.
	Error string `json:"error,omitempty"`
}

// SettlementList is a list of settlement batches, without their lines.
type SettlementList struct {
	// Settlements are the batches, latest day first.
	Settlements []Settlement `json:"settlements"`
}

// ListSettlementsParams filter ListSettlements; zero values are left out.
type ListSettlementsParams struct {
	// From is the first settlement day (YYYY-MM-DD).
	From string
	// To is the day after the last (YYYY-MM-DD).
	To string
	// Limit caps the batches (1-100, default 20).
	Limit int
	// MerchantID selects a merchant (operator keys only).
	MerchantID string
}

// ExposureBucket is RMB not yet settled of one age bucket.
type ExposureBucket struct {
	// Age is "0-7", "8-30", ">30" (days since capture) or "all".
	Age string `json:"age"`
	// Orders counts the orders.
	Orders int `json:"orders"`
	// AmountCNY is the RMB at stake.
	AmountCNY Amount `json:"amountCny"`
	// AtLockedRate is its value at the orders' locked rates.
	AtLockedRate Amount `json:"atLockedRate"`
	// AtCurrentRate is its value at the current rate.
	AtCurrentRate Amount `json:"atCurrentRate"`
	// Unrealized is AtCurrentRate - AtLockedRate.
	Unrealized Amount `json:"unrealized"`
}

// MerchantExposure is a merchant's exposure in one home currency.
type MerchantExposure struct {
	// MerchantID is the merchant.
	MerchantID string `json:"merchantId"`
	// HomeCurrency is its settlement currency.
	HomeCurrency string `json:"homeCurrency"`
	// CurrentRate is the rate used, as {"base","counter","rate","at","source"}.
	CurrentRate map[string]any `json:"currentRate"`
	// Buckets are the age buckets.
	Buckets []ExposureBucket `json:"buckets"`
	// Total sums them.
	Total ExposureBucket `json:"total"`
}

// ExposureReport is the open FX exposure.
type ExposureReport struct {
	// AsOf is when it was computed.
	AsOf time.Time `json:"asOf"`
	// Merchants are the exposures per merchant and currency.
	Merchants []MerchantExposure `json:"merchants"`
}

// ReconciliationMismatch is one difference between a bill and the ledger.
type ReconciliationMismatch struct {
	// Kind is missing_ours, missing_theirs or amount.
	Kind string `json:"kind"`
	// LineKind is payment or refund.
	LineKind string `json:"lineKind"`
	// TransactionID is the provider's transaction id.
	TransactionID string `json:"transactionId"`
	// OutTradeNo is the trade number, when the bill has the line.
	OutTradeNo string `json:"outTradeNo,omitempty"`
	// OrderID is the order, when the ledger has it.
	OrderID string `json:"orderId,omitempty"`
	// Ours is the ledger's amount.
	Ours Amount `json:"ours"`
	// Theirs is the bill's amount.
	Theirs Amount `json:"theirs"`
}

// ProviderReconciliation is one provider's bill matched against the ledger.
type ProviderReconciliation struct {
	// Provider is the provider.
	Provider string `json:"provider"`
	// Day is the bill's day.
	Day string `json:"day"`
	// BillLines counts the bill's lines.
	BillLines int `json:"billLines"`
	// LedgerLines counts the ledger's lines.
	LedgerLines int `json:"ledgerLines"`
	// Matched counts the transactions that agree.
	Matched int `json:"matched"`
	// Mismatches are the differences.
	Mismatches []ReconciliationMismatch `json:"mismatches"`
	// BillFees sums the bill's fees.
	BillFees Amount `json:"billFees"`
	// Error says why the provider could not be reconciled.
	Error string `json:"error,omitempty"`
}

// Reconciliation is a day's reconciliation report.
type Reconciliation struct {
	// Day is the day reconciled.
	Day string `json:"day"`
	// Providers are the results per provider.
	Providers []ProviderReconciliation `json:"providers"`
	// Mismatches counts every difference.
	Mismatches int `json:"mismatches"`
	// ReconciledAt is when it ran.
	ReconciledAt time.Time `json:"reconciledAt"`
}

// ListSettlements returns the merchant's settlement batches, latest day first.
func (c *Client) ListSettlements(ctx context.Context, p ListSettlementsParams, opts ...CallOption) (*SettlementList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"from": p.From, "to": p.To, "merchantId": p.MerchantID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var out SettlementList
	if _, err := c.do(ctx, http.MethodGet, "/v1/settlements", q, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSettlement returns a batch with its lines, FX result and SAFE report.
func (c *Client) GetSettlement(ctx context.Context, batchID string, opts ...CallOption) (*Settlement, error) {
	var out Settlement
	if _, err := c.do(ctx, http.MethodGet, "/v1/settlements/"+url.PathEscape(batchID), nil, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSettlementSAFECSV returns a batch's SAFE report as CSV.
func (c *Client) GetSettlementSAFECSV(ctx context.Context, batchID string, opts ...CallOption) ([]byte, error) {
	var out []byte
	q := url.Values{"format": {"csv"}}
	if _, err := c.do(ctx, http.MethodGet, "/v1/settlements/"+url.PathEscape(batchID), q, nil, &out, opts); err != nil {
		return nil, err
	}
	return out, nil
}

// GetFXExposure returns the open FX exposure: the merchant's, or with an
// operator key every merchant's (or merchantID's when not empty).
func (c *Client) GetFXExposure(ctx context.Context, merchantID string, opts ...CallOption) (*ExposureReport, error) {
	q := url.Values{}
	if merchantID != "" {
		q.Set("merchantId", merchantID)
	}
	var out ExposureReport
	if _, err := c.do(ctx, http.MethodGet, "/v1/reports/fx-exposure", q, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetReconciliation returns a day's reconciliation report (day YYYY-MM-DD;
// operator keys only).
func (c *Client) GetReconciliation(ctx context.Context, day string, opts ...CallOption) (*Reconciliation, error) {
	var out Reconciliation
	if _, err := c.do(ctx, http.MethodGet, "/v1/reconciliations/"+url.PathEscape(day), nil, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}
