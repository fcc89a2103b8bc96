package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xhspay/xhspay/client"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/sandbox"
	"github.com/xhspay/xhspay/sandbox/fault"
	"github.com/xhspay/xhspay/sandbox/wechatpay"
	"github.com/xhspay/xhspay/workflows"
)

// Scenario is one scripted order: a store backend driving the API with the
// Go client, and a buyer paying through a sandbox's scripted buyer.
type Scenario struct {
	// Name is a short id, also part of the order number (at most 16 characters).
	Name string
	// Title says what happens, for the demo's table.
	Title string
	// Merchant is the demo merchant placing the order.
	Merchant string
	// Provider takes the payment.
	Provider string
	// Expected is the order state the scenario must end in.
	Expected string
	// Run plays the scenario for the merchant order number orderNo and
	// returns where the order ended; an error means the scenario could not
	// be played to its end or an expectation other than the state failed.
	Run func(ctx context.Context, s *Stack, orderNo string) (Outcome, error)
}

// Outcome is where a scenario left its order.
type Outcome struct {
	// OrderID is the order's id (the workflow id); for an order the API
	// refused before starting anything, the id it would have had.
	OrderID string
	// Started reports whether a workflow exists for the order.
	Started bool
	// State is the order's state when the scenario ended.
	State string
	// Detail sums up what happened, for the demo's table.
	Detail string
}

// Result is a played scenario.
type Result struct {
	// Scenario is the scenario.
	Scenario Scenario
	// OrderNo is the merchant order number it used.
	OrderNo string
	// Outcome is where the order ended.
	Outcome Outcome
	// Err is why the scenario failed, if it did.
	Err error
	// Elapsed is how long it took.
	Elapsed time.Duration
}

// OK reports whether the scenario ran to its end in its expected state.
func (r Result) OK() bool { return r.Err == nil && r.Outcome.State == r.Scenario.Expected }

// UIQuery returns the Web UI search that shows the scenario's order, or ""
// when no workflow was started.
func (r Result) UIQuery() string {
	if !r.Outcome.Started || r.Outcome.OrderID == "" {
		return ""
	}
	return fmt.Sprintf("WorkflowId=%q", r.Outcome.OrderID)
}

// Progress reports the scenarios' progress to RunScenarios's caller.
type Progress struct {
	// Done is how many scenarios have ended.
	Done int
	// Total is how many there are.
	Total int
	// Running are the names of the scenarios still running.
	Running []string
	// Finished is the scenario that just ended, nil for the first report.
	Finished *Result
}

// NewRunID returns a short random id ([a-z0-9], 6 characters) that keeps a
// run's merchant order numbers apart from every earlier run's.
func NewRunID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// OrderNo returns the merchant order number of a scenario in a run.
func OrderNo(runID, scenario string) string { return "demo-" + runID + "-" + scenario }

// RunScenarios plays the scenarios concurrently, each with its own order
// (OrderNo(runID, name)), and returns their results in the scenarios' order.
// progress, when set, is called (from one goroutine at a time) at the start
// and whenever a scenario ends.
func RunScenarios(ctx context.Context, s *Stack, runID string, scenarios []Scenario, progress func(Progress)) []Result {
	results := make([]Result, len(scenarios))
	running := map[string]bool{}
	for _, sc := range scenarios {
		running[sc.Name] = true
	}
	var mu sync.Mutex
	report := func(finished *Result) {
		if progress == nil {
			return
		}
		names := make([]string, 0, len(running))
		for _, sc := range scenarios {
			if running[sc.Name] {
				names = append(names, sc.Name)
			}
		}
		progress(Progress{Done: len(scenarios) - len(names), Total: len(scenarios), Running: names, Finished: finished})
	}
	mu.Lock()
	report(nil)
	mu.Unlock()
	var wg sync.WaitGroup
	for i, sc := range scenarios {
		wg.Go(func() {
			orderNo := OrderNo(runID, sc.Name)
			began := time.Now()
			out, err := sc.Run(ctx, s, orderNo)
			res := Result{Scenario: sc, OrderNo: orderNo, Outcome: out, Err: err, Elapsed: time.Since(began)}
			mu.Lock()
			defer mu.Unlock()
			results[i] = res
			delete(running, sc.Name)
			report(&res)
		})
	}
	wg.Wait()
	return results
}

// Scenarios returns the demo's scripted orders.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "alipay-paid", Title: "Alipay, paid, shipped, confirmed", Merchant: MerchantAcme, Provider: client.Alipay,
			Expected: client.StateCompleted, Run: runPaid(MerchantAcme, client.Alipay, acmeJacketAndSocks)},
		{Name: "wechatpay-paid", Title: "WeChat Pay, paid, shipped, confirmed", Merchant: MerchantLumiere, Provider: client.WeChatPay,
			Expected: client.StateCompleted, Run: runPaid(MerchantLumiere, client.WeChatPay, lumiereSerumAndLipstick)},
		{Name: "huabei-6", Title: "Alipay Huabei in 6 instalments", Merchant: MerchantAcme, Provider: client.Alipay,
			Expected: client.StateCompleted, Run: runHuabei},
		{Name: "expired", Title: "never paid: expires, trade closed", Merchant: MerchantLumiere, Provider: client.Alipay,
			Expected: client.StateExpired, Run: runExpired},
		{Name: "cbec-limit", Title: "over the RMB 5,000 CBEC order limit", Merchant: MerchantAcme, Provider: client.WeChatPay,
			Expected: client.StateRejected, Run: runOverLimit},
		{Name: "customs-rejected", Title: "payer is not the buyer: customs refuses, refunded", Merchant: MerchantLumiere, Provider: client.WeChatPay,
			Expected: client.StateCustomsRejected, Run: runCustomsRejected},
		{Name: "partial-refund", Title: "partial refund before shipment", Merchant: MerchantAcme, Provider: client.WeChatPay,
			Expected: client.StateCompleted, Run: runPartialRefund},
		{Name: "return-reimport", Title: "return after delivery: customs re-import, refund", Merchant: MerchantAcme, Provider: client.Alipay,
			Expected: client.StateCompleted, Run: runReturn},
		{Name: "provider-outage", Title: "card PSP answers 503 twice: healed by retries", Merchant: MerchantLumiere, Provider: client.Card,
			Expected: client.StateCompleted, Run: runOutage},
	}
}

// The demo merchants' goods.
var (
	itemJacket   = client.Item{SKU: "ACME-JKT-01", Name: "Storm shell jacket", Category: "apparel", Quantity: 1, UnitPrice: client.CNY("899.00")}
	itemBoots    = client.Item{SKU: "ACME-BOOT-02", Name: "Trail boots", Category: "shoes", Quantity: 1, UnitPrice: client.CNY("1299.00")}
	itemSocks    = client.Item{SKU: "ACME-SOCK-03", Name: "Merino socks, 3 pairs", Category: "apparel", Quantity: 2, UnitPrice: client.CNY("129.00")}
	itemWatch    = client.Item{SKU: "ACME-GPS-04", Name: "GPS sport watch", Category: "electronics", Quantity: 1, UnitPrice: client.CNY("2399.00")}
	itemCamera   = client.Item{SKU: "ACME-CAM-05", Name: "Action camera", Category: "electronics", Quantity: 1, UnitPrice: client.CNY("3199.00")}
	itemSerum    = client.Item{SKU: "LUM-SRM-01", Name: "Vitamin C serum 30ml", Category: "skincare", RegistrationNo: "J20231234", Quantity: 1, UnitPrice: client.CNY("329.00")}
	itemCream    = client.Item{SKU: "LUM-CRM-02", Name: "Night repair cream 50ml", Category: "cosmetics_high_end", RegistrationNo: "J20224567", Quantity: 1, UnitPrice: client.CNY("1180.00")}
	itemLipstick = client.Item{SKU: "LUM-LIP-03", Name: "Velvet lipstick", Category: "cosmetics", RegistrationNo: "J20219876", Quantity: 1, UnitPrice: client.CNY("249.00")}

	acmeJacketAndSocks      = []client.Item{itemJacket, itemSocks}
	lumiereSerumAndLipstick = []client.Item{itemSerum, itemLipstick}
)

// with returns the item with another quantity.
func with(it client.Item, qty int) client.Item {
	it.Quantity = qty
	return it
}

// orderRequest is a create request for a new random buyer.
func orderRequest(orderNo, provider string, items ...client.Item) client.CreateOrderRequest {
	return client.CreateOrderRequest{
		MerchantOrderNo: orderNo, Provider: provider, Scene: client.SceneQR,
		Buyer: NewBuyer(), Items: items, Freight: &client.Amount{Value: "30.00", Currency: "CNY"},
	}
}

// pollInterval is how often scenarios look at an order while they wait.
const pollInterval = 150 * time.Millisecond

// finalStates are the order states nothing moves on from.
var finalStates = []string{
	client.StateRejected, client.StateExpired, client.StatePaymentMismatch, client.StateCustomsRejected,
	client.StateCompleted, client.StateCancelled, client.StateRefunded,
}

// AwaitState polls an order through the API until it is in state want. It
// fails early when the order ends in another final state or needs attention.
func AwaitState(ctx context.Context, c *client.Client, orderID, want string) (*client.Order, error) {
	var last *client.Order
	for {
		o, err := c.GetOrder(ctx, orderID)
		if err == nil {
			last = o
			switch {
			case o.State == want:
				return o, nil
			case o.State == client.StateNeedsAttention && want != client.StateNeedsAttention:
				return o, fmt.Errorf("order %s needs attention: %s", orderID, describeError(o.LastError))
			case slices.Contains(finalStates, o.State):
				return o, fmt.Errorf("order %s ended %s, not %s", orderID, o.State, want)
			}
		}
		select {
		case <-ctx.Done():
			state := "unknown"
			if last != nil {
				state = last.State
			}
			return last, fmt.Errorf("order %s still %s, waiting for %s: %w", orderID, state, want, errors.Join(ctx.Err(), err))
		case <-time.After(pollInterval):
		}
	}
}

// AwaitRefund polls a refund through the API until it is in state want; it
// fails early when the refund ends in another final state.
func AwaitRefund(ctx context.Context, c *client.Client, orderID, refundNo, want string) (*client.Refund, error) {
	final := []string{client.RefundSucceeded, client.RefundFailed, client.RefundReturnRejected, client.RefundReturnExpired}
	var last *client.Refund
	for {
		r, err := c.GetRefund(ctx, orderID, refundNo)
		if err == nil {
			last = r
			if r.State == want {
				return r, nil
			}
			if slices.Contains(final, r.State) {
				return r, fmt.Errorf("refund %s of %s ended %s (%s), not %s", refundNo, orderID, r.State, r.Error, want)
			}
		}
		select {
		case <-ctx.Done():
			state := "unknown"
			if last != nil {
				state = last.State
			}
			return last, fmt.Errorf("refund %s of %s still %s, waiting for %s: %w", refundNo, orderID, state, want, errors.Join(ctx.Err(), err))
		case <-time.After(pollInterval):
		}
	}
}

func describeError(e *client.StepError) string {
	if e == nil {
		return "no error recorded"
	}
	return fmt.Sprintf("step %s failed: %s: %s", e.Step, e.Type, e.Message)
}

// create places the order and checks the answer carries what the buyer needs.
func create(ctx context.Context, c *client.Client, req client.CreateOrderRequest) (*client.Checkout, error) {
	co, err := c.CreateOrder(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("create order %s: %w", req.MerchantOrderNo, err)
	}
	if co.State != client.StateAwaitingPayment {
		return co, fmt.Errorf("order %s is %s after creation (%s), want %s", co.OrderID, co.State, describeError(co.LastError), client.StateAwaitingPayment)
	}
	if co.QRCode == "" && co.PayURL == "" {
		return co, fmt.Errorf("order %s: the API answered no QR code and no pay URL", co.OrderID)
	}
	return co, nil
}

// buyerPays has the sandbox's scripted buyer pay the order's trade: the
// buyer's app knows the trade behind the QR code, the store reads its number
// from the order.
func buyerPays(ctx context.Context, s *Stack, c *client.Client, orderID string, pay func(outTradeNo string) error) error {
	o, err := c.GetOrder(ctx, orderID)
	if err != nil {
		return fmt.Errorf("get order %s: %w", orderID, err)
	}
	if o.OutTradeNo == "" {
		return fmt.Errorf("order %s has no trade at the provider yet", orderID)
	}
	if err := pay(o.OutTradeNo); err != nil {
		return fmt.Errorf("buyer pays %s: %w", orderID, err)
	}
	return nil
}

// payPlain pays with the provider's default method.
func payPlain(ctx context.Context, s *Stack, c *client.Client, orderID, provider string) error {
	return buyerPays(ctx, s, c, orderID, func(trade string) error {
		return s.Sandbox.Pay(ctx, providers.Name(provider), trade, "", 0)
	})
}

// shipAndConfirm ships a cleared order and has the buyer confirm receipt,
// then waits for the release of the funds.
func shipAndConfirm(ctx context.Context, c *client.Client, orderID string) (*client.Order, error) {
	if _, err := c.Ship(ctx, orderID, client.ShipmentRequest{Carrier: "SF Express", TrackingNo: "SF" + strings.ToUpper(NewRunID()) + "01"}); err != nil {
		return nil, fmt.Errorf("ship %s: %w", orderID, err)
	}
	if _, err := c.ConfirmReceipt(ctx, orderID, client.ConfirmRequest{By: "buyer app"}); err != nil {
		return nil, fmt.Errorf("confirm receipt of %s: %w", orderID, err)
	}
	return AwaitState(ctx, c, orderID, client.StateCompleted)
}

// outcome is the Outcome of an order the API started.
func outcome(o *client.Order, orderID, detail string) Outcome {
	out := Outcome{OrderID: orderID, Started: true, Detail: detail}
	if o != nil {
		out.State = o.State
	}
	return out
}

// runPaid is the happy path: create, pay, cleared by customs, shipped, confirmed.
func runPaid(merchant, provider string, items []client.Item) func(context.Context, *Stack, string) (Outcome, error) {
	return func(ctx context.Context, s *Stack, orderNo string) (Outcome, error) {
		c := s.Client(merchant)
		co, err := create(ctx, c, orderRequest(orderNo, provider, items...))
		if err != nil {
			return failed(co, err)
		}
		if err := payPlain(ctx, s, c, co.OrderID, provider); err != nil {
			return outcome(nil, co.OrderID, ""), err
		}
		o, err := AwaitState(ctx, c, co.OrderID, client.StateAwaitingShipment)
		if err != nil {
			return outcome(o, co.OrderID, ""), err
		}
		o, err = shipAndConfirm(ctx, c, co.OrderID)
		if err != nil {
			return outcome(o, co.OrderID, ""), err
		}
		return outcome(o, co.OrderID, fmt.Sprintf("paid %s, cleared, released", o.Amounts.Captured)), nil
	}
}

// failed is the outcome of a create that failed.
func failed(co *client.Checkout, err error) (Outcome, error) {
	if co == nil {
		return Outcome{}, err
	}
	return Outcome{OrderID: co.OrderID, Started: true, State: co.State}, err
}

// runHuabei pays with Alipay Huabei in 6 instalments, the fee borne by the buyer.
func runHuabei(ctx context.Context, s *Stack, orderNo string) (Outcome, error) {
	c := s.Client(MerchantAcme)
	req := orderRequest(orderNo, client.Alipay, itemWatch)
	req.Instalments = &client.Instalments{Count: 6, FeeBearer: "buyer"}
	co, err := create(ctx, c, req)
	if err != nil {
		return failed(co, err)
	}
	err = buyerPays(ctx, s, c, co.OrderID, func(trade string) error {
		return s.Sandbox.Pay(ctx, providers.Alipay, trade, "huabei", 6)
	})
	if err != nil {
		return outcome(nil, co.OrderID, ""), err
	}
	o, err := AwaitState(ctx, c, co.OrderID, client.StateAwaitingShipment)
	if err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	if o.Instalments != 6 || !timelineHas(o.Timeline, "in 6 instalments") {
		return outcome(o, co.OrderID, ""), fmt.Errorf("order %s: want a payment in 6 Huabei instalments, got instalments=%d", co.OrderID, o.Instalments)
	}
	if o, err = shipAndConfirm(ctx, c, co.OrderID); err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	return outcome(o, co.OrderID, fmt.Sprintf("%s paid in 6 Huabei instalments", o.Amounts.Captured)), nil
}

// SameAmount reports whether two API amounts are the same money, whatever
// their formatting ("5" and "5.00" CNY are the same).
func SameAmount(a, b client.Amount) bool {
	if a.Currency != b.Currency {
		return false
	}
	x, err := money.Parse(a.Value, money.Currency(a.Currency))
	if err != nil {
		return false
	}
	y, err := money.Parse(b.Value, money.Currency(b.Currency))
	return err == nil && x.Equal(y)
}

// timelineHas reports whether an event's detail contains text.
func timelineHas(tl []client.Event, text string) bool {
	return slices.ContainsFunc(tl, func(e client.Event) bool { return strings.Contains(e.Detail, text) })
}

// runExpired never pays: the order expires and the trade is closed.
func runExpired(ctx context.Context, s *Stack, orderNo string) (Outcome, error) {
	c := s.Client(MerchantLumiere)
	co, err := create(ctx, c, orderRequest(orderNo, client.Alipay, itemCream))
	if err != nil {
		return failed(co, err)
	}
	o, err := AwaitState(ctx, c, co.OrderID, client.StateExpired)
	if err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	wait := "the payment expiry"
	if co.ExpiresAt != nil {
		wait = "expired " + co.ExpiresAt.Local().Format("15:04:05")
	}
	return outcome(o, co.OrderID, "unpaid, "+wait+", trade closed"), nil
}

// runOverLimit orders goods above the single-order CBEC limit: the API
// refuses with 422 naming the rule, and starts nothing.
func runOverLimit(ctx context.Context, s *Stack, orderNo string) (Outcome, error) {
	c := s.Client(MerchantAcme)
	orderID := workflows.OrderWorkflowID(MerchantAcme, orderNo)
	out := Outcome{OrderID: orderID}
	co, err := c.CreateOrder(ctx, orderRequest(orderNo, client.WeChatPay, itemCamera, with(itemBoots, 2)))
	var apiErr *client.APIError
	switch {
	case err == nil:
		return Outcome{OrderID: co.OrderID, Started: true, State: co.State}, fmt.Errorf("order %s over the CBEC limit was accepted", co.OrderID)
	case !errors.As(err, &apiErr) || apiErr.Status != 422:
		return out, fmt.Errorf("create order %s: want 422, got %w", orderNo, err)
	case apiErr.Code != "cbec.order_limit":
		return out, fmt.Errorf("create order %s: want rule cbec.order_limit, got %s", orderNo, apiErr.Code)
	}
	if _, err := c.GetOrder(ctx, orderID); !client.IsNotFound(err) {
		return out, fmt.Errorf("order %s: want no order after the refusal (404), got %v", orderID, err)
	}
	out.State = client.StateRejected
	out.Detail = "422 " + apiErr.Code + ", nothing started"
	return out, nil
}

// runCustomsRejected pays from a WeChat account registered to someone else
// than the buyer: customs refuses the three-document match (IDENTITY_MISMATCH)
// and the order refunds everything.
func runCustomsRejected(ctx context.Context, s *Stack, orderNo string) (Outcome, error) {
	c := s.Client(MerchantLumiere)
	co, err := create(ctx, c, orderRequest(orderNo, client.WeChatPay, itemCream))
	if err != nil {
		return failed(co, err)
	}
	friend := NewBuyer()
	err = buyerPays(ctx, s, c, co.OrderID, func(trade string) error {
		return s.Sandbox.WeChatPay.Pay(ctx, trade, wechatpay.BuyerPayment{Method: "balance", PayerName: friend.Name + "友", PayerIDNumber: friend.IDNumber})
	})
	if err != nil {
		return outcome(nil, co.OrderID, ""), err
	}
	o, err := AwaitState(ctx, c, co.OrderID, client.StateCustomsRejected)
	if err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	if o.Clearance == nil || o.Clearance.Code == "" {
		return outcome(o, co.OrderID, ""), fmt.Errorf("order %s: customs rejection without a code", co.OrderID)
	}
	if !SameAmount(o.Amounts.Refunded, o.Amounts.Captured) {
		return outcome(o, co.OrderID, ""), fmt.Errorf("order %s: refunded %s of %s captured", co.OrderID, o.Amounts.Refunded, o.Amounts.Captured)
	}
	return outcome(o, co.OrderID, fmt.Sprintf("customs %s, %s refunded", o.Clearance.Code, o.Amounts.Refunded)), nil
}

// runPartialRefund refunds one line before shipment, then ships the rest.
func runPartialRefund(ctx context.Context, s *Stack, orderNo string) (Outcome, error) {
	c := s.Client(MerchantAcme)
	co, err := create(ctx, c, orderRequest(orderNo, client.WeChatPay, itemBoots, with(itemSocks, 1)))
	if err != nil {
		return failed(co, err)
	}
	if err := payPlain(ctx, s, c, co.OrderID, client.WeChatPay); err != nil {
		return outcome(nil, co.OrderID, ""), err
	}
	o, err := AwaitState(ctx, c, co.OrderID, client.StateAwaitingShipment)
	if err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	amount := itemSocks.UnitPrice
	if _, err := c.RequestRefund(ctx, co.OrderID, client.RefundRequest{RefundNo: "RF1", Amount: amount,
		Items: []client.ItemRef{{SKU: itemSocks.SKU, Quantity: 1}}, Reason: "socks out of stock"}); err != nil {
		return outcome(o, co.OrderID, ""), fmt.Errorf("refund %s: %w", co.OrderID, err)
	}
	if _, err := AwaitRefund(ctx, c, co.OrderID, "RF1", client.RefundSucceeded); err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	if o, err = shipAndConfirm(ctx, c, co.OrderID); err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	if !SameAmount(o.Amounts.Refunded, amount) {
		return outcome(o, co.OrderID, ""), fmt.Errorf("order %s: refunded %s, want %s", co.OrderID, o.Amounts.Refunded, amount)
	}
	return outcome(o, co.OrderID, fmt.Sprintf("%s refunded before shipment, rest released", amount)), nil
}

// runReturn delivers the order, then the buyer sends the boots back: the
// return is declared to customs, the goods re-enter the bonded zone, customs
// accepts the re-import, and only then is the money refunded.
func runReturn(ctx context.Context, s *Stack, orderNo string) (Outcome, error) {
	c := s.Client(MerchantAcme)
	co, err := create(ctx, c, orderRequest(orderNo, client.Alipay, itemJacket, itemBoots))
	if err != nil {
		return failed(co, err)
	}
	if err := payPlain(ctx, s, c, co.OrderID, client.Alipay); err != nil {
		return outcome(nil, co.OrderID, ""), err
	}
	o, err := AwaitState(ctx, c, co.OrderID, client.StateAwaitingShipment)
	if err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	if o, err = shipAndConfirm(ctx, c, co.OrderID); err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	const refundNo = "RET1"
	if _, err := c.RequestRefund(ctx, co.OrderID, client.RefundRequest{RefundNo: refundNo, Amount: itemBoots.UnitPrice,
		Items: []client.ItemRef{{SKU: itemBoots.SKU, Quantity: 1}}, Reason: "boots too small", ReturnGoods: true}); err != nil {
		return outcome(o, co.OrderID, ""), fmt.Errorf("return %s: %w", co.OrderID, err)
	}
	if _, err := AwaitRefund(ctx, c, co.OrderID, refundNo, client.RefundAwaitingReturnShipment); err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	if _, err := c.ReturnShipment(ctx, co.OrderID, refundNo, client.ReturnShipmentRequest{TrackingNo: "YT" + strings.ToUpper(NewRunID()), Carrier: "YTO Express"}); err != nil {
		return outcome(o, co.OrderID, ""), fmt.Errorf("return shipment of %s: %w", co.OrderID, err)
	}
	if _, err := AwaitRefund(ctx, c, co.OrderID, refundNo, client.RefundReturnFiled); err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	// The parcel reaches the bonded zone: customs accepts the re-import.
	if err := s.Sandbox.Customs.Arrive(providers.Key(co.OrderID, "return", refundNo)); err != nil {
		return outcome(o, co.OrderID, ""), fmt.Errorf("returned goods of %s arrive: %w", co.OrderID, err)
	}
	r, err := AwaitRefund(ctx, c, co.OrderID, refundNo, client.RefundSucceeded)
	if err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	if o, err = c.GetOrder(ctx, co.OrderID); err != nil {
		return outcome(nil, co.OrderID, ""), err
	}
	return outcome(o, co.OrderID, fmt.Sprintf("re-import accepted, %s refunded, tax %s reversed", r.Amount, r.TaxReversed)), nil
}

// outageEndpoint is the card PSP's payment creation, as its fault injector names it.
const outageEndpoint = "POST /psp/v1/payments"

// runOutage makes the card PSP answer 503 to the next two payment creations:
// the activity's retries create the payment on the third attempt, and the
// order carries on as if nothing happened.
func runOutage(ctx context.Context, s *Stack, orderNo string) (Outcome, error) {
	c := s.Client(MerchantLumiere)
	faults := s.Sandbox.Faults(sandbox.CardPSP)
	faults.Set(outageEndpoint, fault.Rule{Status: 503, Times: 2})
	began := time.Now()
	co, err := create(ctx, c, orderRequest(orderNo, client.Card, with(itemSerum, 2)))
	if err != nil {
		faults.Clear()
		return failed(co, err)
	}
	took := time.Since(began)
	if _, pending := faults.Take(outageEndpoint); pending {
		return outcome(nil, co.OrderID, ""), fmt.Errorf("order %s was created without going through the injected outage", co.OrderID)
	}
	if err := payPlain(ctx, s, c, co.OrderID, client.Card); err != nil {
		return outcome(nil, co.OrderID, ""), err
	}
	o, err := AwaitState(ctx, c, co.OrderID, client.StateAwaitingShipment)
	if err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	if o, err = shipAndConfirm(ctx, c, co.OrderID); err != nil {
		return outcome(o, co.OrderID, ""), err
	}
	return outcome(o, co.OrderID, fmt.Sprintf("2 x 503 on create, created after %s", took.Round(100*time.Millisecond))), nil
}
