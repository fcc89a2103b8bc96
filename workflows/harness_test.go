package workflows

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/internal/fakes"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// testStart is the workflow clock's start in unit tests.
var testStart = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

const (
	testMerchant = "acme_eu"
	testOrderNo  = "A-1001"
	testIDNumber = "11010519491231002X"
	testHashKey  = "test-salt"
)

var testOrderID = OrderWorkflowID(testMerchant, testOrderNo)

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

// testInput is an order of 2 × 100.00 skincare + 10.00 freight: dutiable
// 210.00, composite tax 9.1% = 19.11, total 229.11.
func testInput(p providers.Name) OrderInput {
	buyer := providers.Identity{Name: "张三", IDNumber: testIDNumber}
	return OrderInput{
		MerchantID: testMerchant, MerchantOrderNo: testOrderNo,
		Provider: p, Scene: providers.SceneQR,
		Buyer: buyer, Payer: buyer, BuyerPhone: "13800000000",
		Items: []providers.Item{
			{SKU: "CREAM-50", Name: "Face cream", Category: "skincare", RegistrationNo: "G-2024-0001", Quantity: 2, UnitPrice: cny("100.00")},
		},
		Freight:      cny("10.00"),
		HomeCurrency: money.EUR,
	}
}

// harness is a test workflow environment with in-memory providers.
type harness struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	alipay  *fakes.Wallet
	wechat  *fakes.Wallet
	card    *fakes.Provider
	customs *fakes.Customs
	rates   *fakes.FXRates
	buyers  *activities.MemoryBuyerHistory
	deps    activities.Deps
	result  *OrderView
}

// newHarness builds the harness; mods adjust the activity dependencies
// before they are registered (a ledger, for instance).
func newHarness(t *testing.T, mods ...func(*activities.Deps)) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(testStart)
	env.SetTestTimeout(30 * time.Second)
	h := &harness{
		t: t, env: env,
		alipay:  fakes.NewWallet(providers.Alipay),
		wechat:  fakes.NewWallet(providers.WeChatPay),
		card:    fakes.NewProvider(providers.Card),
		customs: fakes.NewCustoms(),
		rates:   &fakes.FXRates{Rate: decimal.RequireFromString("0.1275")},
		buyers:  activities.NewMemoryBuyerHistory(),
	}
	h.deps = activities.Deps{
		Payments: &activities.Payments{
			Providers: map[providers.Name]providers.PaymentProvider{
				providers.Alipay: h.alipay, providers.WeChatPay: h.wechat, providers.Card: h.card,
			},
			NotifyURL: func(p providers.Name, orderID string) string {
				return "https://api.example/notify/" + string(p) + "/" + orderID
			},
		},
		Customs: &activities.Customs{
			Declarers: map[providers.Name]providers.CustomsDeclarer{providers.Alipay: h.alipay, providers.WeChatPay: h.wechat},
			Clearance: h.customs, CustomsCode: "HANGZHOU", PlatformCode: "3301960001", PlatformName: "Acme CBEC",
		},
		Validation: &activities.Validation{Buyers: h.buyers},
		FX:         &activities.FX{Rates: h.rates},
		Identity:   &activities.Identity{Key: []byte(testHashKey)},
	}
	for _, m := range mods {
		m(&h.deps)
	}
	require.NoError(t, Register(env, h.deps))
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testOrderID})
	return h
}

// provider returns the fake behind a provider name.
func (h *harness) provider(p providers.Name) *fakes.Provider {
	switch p {
	case providers.Alipay:
		return h.alipay.Provider
	case providers.WeChatPay:
		return h.wechat.Provider
	}
	return h.card
}

// at runs fn at workflow time testStart+d.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// run executes the order workflow and decodes its result.
func (h *harness) run(in OrderInput) OrderView {
	h.t.Helper()
	h.env.ExecuteWorkflow(OrderWorkflow, in)
	require.True(h.t, h.env.IsWorkflowCompleted(), "workflow did not complete")
	require.NoError(h.t, h.env.GetWorkflowError())
	var v OrderView
	require.NoError(h.t, h.env.GetWorkflowResult(&v))
	h.result = &v
	return v
}

// outTradeNo is the first payment attempt's trade number.
func outTradeNo() string { return providers.Key(testOrderID, "pay", "1") }

// pay makes the buyer pay at provider p and signals the verified notification.
func (h *harness) pay(p providers.Name) {
	pay, err := h.provider(p).Pay(outTradeNo())
	require.NoError(h.t, err)
	h.env.SignalWorkflow(SignalPaymentNotified, pay)
}

// clear makes customs clear the order and signals the callback.
func (h *harness) clear(releasedAt time.Time) {
	h.env.SignalWorkflow(SignalCustomsResult, h.customs.SetVerdict(providers.Clearance{
		OrderNo: testOrderID, Status: providers.ClearanceCleared, ReleasedAt: releasedAt}))
}

// updateResult is the outcome of an update sent through the test environment.
type updateResult struct {
	rejected  error
	completed bool
	err       error
	value     any
}

// decode decodes the update's result into out.
func (r *updateResult) decode(t *testing.T, out any) {
	t.Helper()
	require.True(t, r.completed, "update did not complete (rejected: %v)", r.rejected)
	require.NoError(t, r.err)
	decodeValue(t, r.value, out)
}

func decodeValue(t *testing.T, v any, out any) {
	t.Helper()
	switch x := v.(type) {
	case *commonpb.Payloads:
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(x, out))
	case converter.EncodedValue:
		require.NoError(t, x.Get(out))
	default:
		b, err := json.Marshal(x)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, out))
	}
}

var updateSeq int

// testSuiteCallback fills an updateResult.
type testSuiteCallback struct{ r *updateResult }

func (c *testSuiteCallback) Accept()          {}
func (c *testSuiteCallback) Reject(err error) { c.r.rejected = err }
func (c *testSuiteCallback) Complete(v any, err error) {
	c.r.completed, c.r.value, c.r.err = true, v, err
}

// update sends an update and returns a result filled in when it ends.
func (h *harness) update(name string, arg ...any) *updateResult {
	updateSeq++
	r := &updateResult{}
	h.env.UpdateWorkflow(name, fmt.Sprintf("%s-%d", name, updateSeq), &testsuite.TestUpdateCallback{
		OnAccept:   func() {},
		OnReject:   func(err error) { r.rejected = err },
		OnComplete: func(v any, err error) { r.completed, r.value, r.err = true, v, err },
	}, arg...)
	return r
}

// query returns the order's state query.
func (h *harness) query() OrderView {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryState)
	require.NoError(h.t, err)
	var out OrderView
	require.NoError(h.t, v.Get(&out))
	return out
}

// steps lists the timeline's step/detail pairs, for failure messages.
func timeline(v OrderView) string {
	s := ""
	for _, e := range v.Timeline {
		s += fmt.Sprintf("%s  %-12s %s\n", e.At.Format(time.RFC3339), e.Step, e.Detail)
	}
	return s
}

// idWithCheck completes 17 digits with their GB 11643 check character.
func idWithCheck(first17 string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}

// fineAmount is a CNY amount that may be finer than a fen.
func fineAmount(s string) money.Amount {
	a, err := money.New(decimal.RequireFromString(s), money.CNY)
	if err != nil {
		panic(err)
	}
	return a
}

func decimalRate(s string) decimal.Decimal { return decimal.RequireFromString(s) }
