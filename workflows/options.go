package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/providers"
)

// finalTypes are the application error types no retry can fix: the
// non-retryable provider error types and the activities' own.
var finalTypes = []string{
	string(providers.ErrTypeInvalidRequest), string(providers.ErrTypeTradeClosed),
	string(providers.ErrTypeTradePaid), string(providers.ErrTypeTradeNotFound),
	string(providers.ErrTypeRefundExceeded), string(providers.ErrTypeDuplicateRequest),
	string(providers.ErrTypeSignature), string(providers.ErrTypeAuth),
	string(providers.ErrTypeNotSupported), string(providers.ErrTypeRejected),
	activities.ErrTypeNotConfigured, activities.ErrTypeInvalidInput,
}

// The activity options of every step. Activities already mark non-retryable
// provider failures as such; NonRetryableErrorTypes repeats the list so that
// the policy documents it and holds even for an error that slipped through
// unmarked. A step whose retries run out goes to NeedsAttention.
//
//	activity                                   options
//	ValidateOrder                              validateOptions
//	BuyerYearToDate, HashBuyerID               visibilityOptions (heartbeats per page)
//	QuoteFX                                    fxOptions
//	CreatePayment                              createPaymentOptions
//	QueryPayment, QueryDeclaration,
//	QueryClearance, QueryRefund, QueryReturn   pollOptions (inside timer loops)
//	ClosePayment, QueryPayment (confirming a
//	late payment), HoldFunds, ReleaseFunds,
//	Refund                                     moneyOptions
//	SubmitManifest, Declare, Redeclare,
//	FileReturn                                 customsOptions
//	CancelDeclaration, CancelManifest          customsCancelOptions
var (
	// validateOptions: ValidateOrder is pure; a failure is a bug or bad input, so two attempts.
	validateOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumAttempts: 2, NonRetryableErrorTypes: finalTypes,
		},
	}
	// visibilityOptions: BuyerYearToDate and HashBuyerID read our own store; retry for up to 5 minutes.
	visibilityOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:       15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: finalTypes,
		},
	}
	// fxOptions: the rate feed; retry for up to 5 minutes (the buyer waits at checkout).
	fxOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: finalTypes,
		},
	}
	// createPaymentOptions: the buyer waits at checkout; retry for up to 2 minutes with the same out_trade_no.
	createPaymentOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second,
			NonRetryableErrorTypes: finalTypes,
		},
	}
	// pollOptions: one fallback query inside a workflow timer loop; the loop is
	// the retry, so the activity gets only a few quick attempts.
	pollOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Second,
			MaximumAttempts: 3, NonRetryableErrorTypes: finalTypes,
		},
	}
	// moneyOptions: close, query-to-confirm, refund, hold and release move or
	// protect money and are idempotent by key: retry with backoff up to 10
	// minutes apart for a day before asking an operator.
	moneyOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: finalTypes,
		},
	}
	// customsOptions: manifest, declaration and return filings; customs
	// systems have maintenance windows, so retry for a day like moneyOptions.
	customsOptions = moneyOptions
	// customsCancelOptions: withdrawing a declaration or manifest during a
	// compensation is best effort: an hour of retries, then the refund goes on.
	customsCancelOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: finalTypes,
		},
	}
)

// The activity groups, as nil pointers: workflows refer to their methods only
// to name the activities, which run on the worker with real ports.
var (
	payAct      *activities.Payments
	customsAct  *activities.Customs
	validateAct *activities.Validation
	fxAct       *activities.FX
	identityAct *activities.Identity
)

// key derives a provider idempotency key (providers.Key) once and records it
// in history as a side effect: replay reads the recorded key, so a later
// change to providers.Key can never change the keys of an order already
// running (which would orphan its trade, declaration or refunds).
func key(ctx workflow.Context, orderID string, parts ...string) string {
	var k string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any {
		return providers.Key(orderID, parts...)
	}).Get(&k); err != nil {
		panic(fmt.Sprintf("decode idempotency key: %v", err)) // a string always decodes
	}
	return k
}

// run executes an activity with opts and decodes its result into out (nil for none).
func run(ctx workflow.Context, opts workflow.ActivityOptions, fn any, out any, args ...any) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), fn, args...).Get(ctx, out)
}
