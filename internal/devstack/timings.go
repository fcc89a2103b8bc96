package devstack

import (
	"time"

	"github.com/xhspay/xhspay/workflows"
)

// Timings are the waits of the stack that a demo or a test wants short. Zero
// fields keep the workflows' and the sandboxes' own defaults (minutes to
// days, as in production).
type Timings struct {
	// PaymentExpiry is how long a buyer has to pay a new order.
	PaymentExpiry time.Duration
	// Polling are the orders' fallback polling intervals.
	Polling workflows.Polling
	// ClearanceDelay is how long customs takes to decide (negative: at once).
	ClearanceDelay time.Duration
	// RefundDelay is how long WeChat Pay and card PSP refunds stay PROCESSING.
	RefundDelay time.Duration
	// PayoutDelay is how long card PSP payouts stay PROCESSING.
	PayoutDelay time.Duration
	// NotifyRetry replaces the payment sandboxes' notification retry schedule.
	NotifyRetry []time.Duration
}

// FastTimings returns the timings of the demo and the tests: an unpaid order
// expires after 6 seconds, customs decides in 300 ms, refunds and payouts
// settle in 200 ms, notifications are retried within seconds, and the
// fallback polls run every second or two (the notifications normally win).
func FastTimings() Timings {
	return Timings{
		PaymentExpiry: 6 * time.Second,
		Polling: workflows.Polling{
			Payment: 2 * time.Second, Clearance: time.Second,
			Refund: 250 * time.Millisecond, RefundMax: 2 * time.Second, Return: time.Second,
		},
		ClearanceDelay: 300 * time.Millisecond,
		RefundDelay:    200 * time.Millisecond,
		PayoutDelay:    200 * time.Millisecond,
		NotifyRetry:    []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second},
	}
}
