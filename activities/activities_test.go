package activities

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

// appError asserts err is an application error of type typ and retryability.
func appError(t *testing.T, err error, typ string, nonRetryable bool) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %T %v", err, err)
	assert.Equal(t, typ, appErr.Type())
	assert.Equal(t, nonRetryable, appErr.NonRetryable())
}

func TestProviderError(t *testing.T) {
	already := temporal.NewNonRetryableApplicationError("x", "Custom", nil)
	tests := []struct {
		name         string
		err          error
		typ          string
		nonRetryable bool
	}{
		{"unavailable", fakes.Unavailable("alipay", "create"), string(providers.ErrTypeUnavailable), false},
		{"rate limited", providers.NewError("wechatpay", "query", providers.ErrTypeRateLimited, "FREQUENCY_LIMITED", "", nil), string(providers.ErrTypeRateLimited), false},
		{"processing", providers.NewError("alipay", "refund", providers.ErrTypeProcessing, "", "", nil), string(providers.ErrTypeProcessing), false},
		{"unclassified network error", fmt.Errorf("dial tcp: connection refused"), string(providers.ErrTypeUnavailable), false},
		{"wrapped auth", fmt.Errorf("call: %w", fakes.Refused("alipay", "create", providers.ErrTypeAuth)), string(providers.ErrTypeAuth), true},
		{"refund exceeded", fakes.Refused("wechatpay", "refund", providers.ErrTypeRefundExceeded), string(providers.ErrTypeRefundExceeded), true},
		{"already an application error", already, "Custom", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ProviderError(tc.err)
			appError(t, err, tc.typ, tc.nonRetryable)
			assert.Contains(t, err.Error(), tc.err.Error())
		})
	}
	assert.NoError(t, ProviderError(nil))
	assert.ErrorIs(t, ProviderError(context.Canceled), context.Canceled)
}

func newPayments() (*Payments, *fakes.Wallet, *fakes.Provider) {
	w := fakes.NewWallet(providers.Alipay)
	c := fakes.NewProvider(providers.Card)
	return &Payments{
		Providers: map[providers.Name]providers.PaymentProvider{providers.Alipay: w, providers.Card: c},
		NotifyURL: func(p providers.Name, orderID string) string { return "https://n.example/" + string(p) + "/" + orderID },
	}, w, c
}

func TestCreatePayment(t *testing.T) {
	p, w, _ := newPayments()
	ctx := context.Background()
	in := CreatePaymentInput{OrderID: "order-m-1", Provider: providers.Alipay, Request: providers.PaymentRequest{
		OutTradeNo: providers.Key("order-m-1", "pay", "1"), Amount: cny("10.00"), Scene: providers.SceneQR}}
	s1, err := p.CreatePayment(ctx, in)
	require.NoError(t, err)
	s2, err := p.CreatePayment(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, s1, s2, "the same out_trade_no gives the same session")
	req, _ := w.Request(in.Request.OutTradeNo)
	assert.Equal(t, "https://n.example/alipay/order-m-1", req.NotifyURL)

	_, err = p.CreatePayment(ctx, CreatePaymentInput{Provider: providers.WeChatPay, Request: in.Request})
	appError(t, err, ErrTypeNotConfigured, true)

	bad := in
	bad.Request.Amount = money.MustParse("10.00", money.USD)
	_, err = p.CreatePayment(ctx, bad)
	appError(t, err, ErrTypeInvalidInput, true)
	assert.ErrorContains(t, err, "request.amount: must be in CNY")

	w.Fail("CreatePayment", fakes.Unavailable("alipay", "create"))
	_, err = p.CreatePayment(ctx, in)
	appError(t, err, string(providers.ErrTypeUnavailable), false)
}

func TestClosePayment(t *testing.T) {
	p, w, _ := newPayments()
	ctx := context.Background()
	open := providers.Key("o", "pay", "open")
	paid := providers.Key("o", "pay", "paid")
	for _, no := range []string{open, paid} {
		_, err := p.CreatePayment(ctx, CreatePaymentInput{Provider: providers.Alipay,
			Request: providers.PaymentRequest{OutTradeNo: no, Amount: cny("1.00")}})
		require.NoError(t, err)
	}
	_, err := w.Pay(paid)
	require.NoError(t, err)

	res, err := p.ClosePayment(ctx, PaymentRef{Provider: providers.Alipay, OutTradeNo: open})
	require.NoError(t, err)
	assert.Equal(t, CloseResult{Closed: true}, res)
	res, err = p.ClosePayment(ctx, PaymentRef{Provider: providers.Alipay, OutTradeNo: paid})
	require.NoError(t, err, "a paid trade is a result, not an error")
	assert.Equal(t, CloseResult{AlreadyPaid: true}, res)
	res, err = p.ClosePayment(ctx, PaymentRef{Provider: providers.Alipay, OutTradeNo: "never-created"})
	require.NoError(t, err)
	assert.True(t, res.Closed)

	w.Fail("ClosePayment", fakes.Refused("alipay", "close", providers.ErrTypeTradeClosed))
	res, err = p.ClosePayment(ctx, PaymentRef{Provider: providers.Alipay, OutTradeNo: open})
	require.NoError(t, err)
	assert.True(t, res.Closed)
	w.Fail("ClosePayment", fakes.Unavailable("alipay", "close"))
	_, err = p.ClosePayment(ctx, PaymentRef{Provider: providers.Alipay, OutTradeNo: open})
	appError(t, err, string(providers.ErrTypeUnavailable), false)
}

func TestRefundAndHold(t *testing.T) {
	p, w, _ := newPayments()
	ctx := context.Background()
	no := providers.Key("o", "pay", "1")
	_, err := p.CreatePayment(ctx, CreatePaymentInput{Provider: providers.Alipay,
		Request: providers.PaymentRequest{OutTradeNo: no, Amount: cny("10.00")}})
	require.NoError(t, err)
	_, err = w.Pay(no)
	require.NoError(t, err)

	req := providers.RefundRequest{OutTradeNo: no, OutRefundNo: providers.Key("o", "refund", "R1"), Amount: cny("4.00"), Total: cny("10.00")}
	r, err := p.Refund(ctx, RefundInput{OrderID: "o", Provider: providers.Alipay, Request: req})
	require.NoError(t, err)
	assert.Equal(t, providers.RefundSucceeded, r.Status)
	again, err := p.Refund(ctx, RefundInput{OrderID: "o", Provider: providers.Alipay, Request: req})
	require.NoError(t, err)
	assert.Equal(t, r, again, "the same out_refund_no is the same refund")
	assert.Equal(t, "4.00 CNY", w.RefundedTotal().String())

	over := req
	over.OutRefundNo = providers.Key("o", "refund", "R2")
	over.Amount = cny("6.01")
	_, err = p.Refund(ctx, RefundInput{Provider: providers.Alipay, Request: over})
	appError(t, err, string(providers.ErrTypeRefundExceeded), true)
	zero := req
	zero.Amount = cny("0.00")
	_, err = p.Refund(ctx, RefundInput{Provider: providers.Alipay, Request: zero})
	appError(t, err, ErrTypeInvalidInput, true)

	h, err := p.HoldFunds(ctx, HoldInput{Provider: providers.Alipay, Request: providers.HoldRequest{
		OutTradeNo: no, OutRequestNo: providers.Key("o", "hold"), Amount: cny("10.00")}})
	require.NoError(t, err)
	assert.True(t, h.Supported)
	assert.Equal(t, providers.HoldHeld, h.Hold.Status)
	h, err = p.ReleaseFunds(ctx, HoldInput{Provider: providers.Card, Request: providers.HoldRequest{OutRequestNo: "x"}})
	require.NoError(t, err, "no escrow is an answer, not an error")
	assert.False(t, h.Supported)
}

func TestCustomsActivities(t *testing.T) {
	w := fakes.NewWallet(providers.WeChatPay)
	office := fakes.NewCustoms()
	c := &Customs{Declarers: map[providers.Name]providers.CustomsDeclarer{providers.WeChatPay: w}, Clearance: office,
		CustomsCode: "GUANGZHOU", PlatformCode: "PC1", PlatformName: "Platform"}
	ctx := context.Background()
	req := providers.DeclarationRequest{OutRequestNo: "D1", OrderNo: "o", Amount: cny("1.00")}

	res, err := c.Declare(ctx, DeclareInput{Provider: providers.Card, Request: req})
	require.NoError(t, err)
	assert.False(t, res.Supported, "the card PSP declares out of band")

	res, err = c.Declare(ctx, DeclareInput{Provider: providers.WeChatPay, Request: req})
	require.NoError(t, err)
	assert.True(t, res.Supported)
	got, _ := w.Declaration("D1")
	assert.Equal(t, "GUANGZHOU", got.CustomsCode)
	assert.Equal(t, "PC1", got.MerchantCustomsCode)
	assert.Equal(t, "Platform", got.MerchantCustomsName)

	override := req
	override.CustomsCode = "HANGZHOU"
	_, err = c.Redeclare(ctx, DeclareInput{Provider: providers.WeChatPay, Request: override})
	require.NoError(t, err)
	got, _ = w.Declaration("D1")
	assert.Equal(t, "HANGZHOU", got.CustomsCode, "a correction wins over the configuration")

	res, err = c.CancelDeclaration(ctx, DeclareInput{Provider: providers.WeChatPay,
		Request: providers.DeclarationRequest{OutRequestNo: "unknown"}})
	require.NoError(t, err)
	assert.Equal(t, providers.DeclarationNotFound, res.Declaration.Status)

	require.NoError(t, c.SubmitManifest(ctx, providers.Manifest{OrderNo: "o"}))
	m, _ := office.Manifest("o")
	assert.Equal(t, "PC1", m.PlatformCode)
	assert.Equal(t, "GUANGZHOU", m.CustomsCode)
	require.NoError(t, c.CancelManifest(ctx, "o"))
	require.NoError(t, c.CancelManifest(ctx, "o"), "a manifest customs does not know counts as withdrawn")
	err = c.SubmitManifest(ctx, providers.Manifest{})
	appError(t, err, ErrTypeInvalidInput, true)

	office.Fail("QueryClearance", fakes.Unavailable("customs", "query"))
	_, err = c.QueryClearance(ctx, "o")
	appError(t, err, string(providers.ErrTypeUnavailable), false)

	_, err = (&Customs{}).QueryReturn(ctx, "x")
	appError(t, err, ErrTypeNotConfigured, true)
}

func TestValidateOrder(t *testing.T) {
	v := &Validation{}
	id := cbec.Identity{Name: "张三", IDNumber: "11010519491231002X"}
	order := cbec.Order{
		Lines:   []cbec.Line{{SKU: "A", Category: "toys", Quantity: 2, UnitPrice: cny("50.00")}},
		Buyer:   id,
		Payer:   id,
		Freight: cny("0.00"), Insurance: cny("0.00"), BuyerYearToDate: cny("0.00"),
	}
	res, err := v.ValidateOrder(context.Background(), ValidateInput{Order: order})
	require.NoError(t, err)
	require.Nil(t, res.Violation)
	assert.Equal(t, "9.10 CNY", res.Tax.Total.String())

	order.BuyerYearToDate = cny("25950.00")
	res, err = v.ValidateOrder(context.Background(), ValidateInput{Order: order})
	require.NoError(t, err, "a broken rule is a result")
	require.NotNil(t, res.Violation)
	assert.Equal(t, string(cbec.RuleAnnualLimit), res.Violation.Rule)
}

func TestBuyerYearToDate(t *testing.T) {
	mem := NewMemoryBuyerHistory()
	hash, err := BuyerIDHash([]byte("k"), "11010519491231002X")
	require.NoError(t, err)
	require.NoError(t, mem.Add(hash, 2026, cny("100.00")))
	require.NoError(t, mem.Add(hash, 2026, cny("0.50")))
	require.NoError(t, mem.Add(hash, 2025, cny("9.00")))
	v := &Validation{Buyers: mem}
	got, err := v.BuyerYearToDate(context.Background(), YearToDateInput{BuyerIDHash: hash, Year: 2026})
	require.NoError(t, err)
	assert.Equal(t, "100.50 CNY", got.String())
	got, err = v.BuyerYearToDate(context.Background(), YearToDateInput{BuyerIDHash: hash, Year: 2024})
	require.NoError(t, err)
	assert.True(t, got.IsZero())

	_, err = v.BuyerYearToDate(context.Background(), YearToDateInput{BuyerIDHash: "' OR 1=1 --", Year: 2026})
	appError(t, err, ErrTypeInvalidInput, true)
	_, err = (&Validation{}).BuyerYearToDate(context.Background(), YearToDateInput{BuyerIDHash: hash, Year: 2026})
	appError(t, err, ErrTypeNotConfigured, true)
}

func TestBuyerIDHash(t *testing.T) {
	key := []byte("salt")
	h1, err := BuyerIDHash(key, "11010519491231002X")
	require.NoError(t, err)
	h2, err := BuyerIDHash(key, " 11010519491231002x ")
	require.NoError(t, err)
	assert.Equal(t, h1, h2, "normalised before hashing")
	m := hmac.New(sha256.New, key)
	m.Write([]byte("11010519491231002X"))
	assert.Equal(t, hex.EncodeToString(m.Sum(nil)), h1)
	other, err := BuyerIDHash([]byte("other"), "11010519491231002X")
	require.NoError(t, err)
	assert.NotEqual(t, h1, other)
	_, err = BuyerIDHash(nil, "11010519491231002X")
	assert.ErrorIs(t, err, ErrNoHashKey)

	_, err = (&Identity{}).HashBuyerID(context.Background(), "11010519491231002X")
	appError(t, err, ErrTypeNotConfigured, true)
	got, err := (&Identity{Key: key}).HashBuyerID(context.Background(), "11010519491231002X")
	require.NoError(t, err)
	assert.Equal(t, h1, got)
}

func TestQuoteFX(t *testing.T) {
	f := &FX{Rates: &fakes.FXRates{Rate: decimal.RequireFromString("0.1380")}}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	q, err := f.QuoteFX(context.Background(), QuoteInput{Base: money.CNY, Counter: money.USD, At: at})
	require.NoError(t, err)
	assert.Equal(t, "CNY/USD", q.Pair())

	bad := &FX{Rates: &fakes.FXRates{Rate: decimal.Zero}}
	_, err = bad.QuoteFX(context.Background(), QuoteInput{Base: money.CNY, Counter: money.USD, At: at})
	appError(t, err, string(providers.ErrTypeInvalidRequest), true)
	_, err = f.QuoteFX(context.Background(), QuoteInput{Base: money.CNY, Counter: "XXX", At: at})
	appError(t, err, ErrTypeInvalidInput, true)
	_, err = (&FX{}).QuoteFX(context.Background(), QuoteInput{Base: money.CNY, Counter: money.USD})
	appError(t, err, ErrTypeNotConfigured, true)
}

type recordingRegistry struct{ registered []any }

func (r *recordingRegistry) RegisterActivity(a any) { r.registered = append(r.registered, a) }

func TestRegister(t *testing.T) {
	var reg recordingRegistry
	err := Register(&reg, Deps{Payments: &Payments{}})
	require.Error(t, err)
	assert.ErrorContains(t, err, "Deps.Customs is required")
	assert.ErrorContains(t, err, "Deps.FX is required")
	assert.Empty(t, reg.registered)

	deps := Deps{Payments: &Payments{}, Customs: &Customs{}, Validation: &Validation{}, FX: &FX{}}
	require.NoError(t, Register(&reg, deps))
	assert.Len(t, reg.registered, 7, "the four required groups and the three finance groups, unconfigured")
}
