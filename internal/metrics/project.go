package metrics

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/providers"
)

// The project's metric names as recorded through a client.MetricsHandler;
// the exposed Prometheus name is in each comment.
const (
	// OrderTransitions counts order state changes (xhspay_order_transitions_total{state,provider}).
	OrderTransitions = "xhspay_order_transitions"
	// ProviderCallDuration times provider calls (xhspay_provider_call_duration_seconds{provider,op}).
	ProviderCallDuration = "xhspay_provider_call_duration"
	// ProviderErrors counts failed provider calls (xhspay_provider_errors_total{provider,op,code}).
	ProviderErrors = "xhspay_provider_errors"
	// Refunds counts finished refunds by outcome (xhspay_refunds_total{provider,result}).
	Refunds = "xhspay_refunds"
	// ReconcileMismatches counts reconciliation differences (xhspay_reconcile_mismatches_total{provider,kind}).
	ReconcileMismatches = "xhspay_reconcile_mismatches"
)

// Tag keys of the project's metrics.
const (
	// TagState is the order state entered.
	TagState = "state"
	// TagProvider names the provider ("alipay", "wechatpay", "customs", ...).
	TagProvider = "provider"
	// TagOp is the provider operation ("pay", "query", "refund", "declare", ...).
	TagOp = "op"
	// TagCode is the classified error type of a failed provider call.
	TagCode = "code"
	// TagResult is the outcome of a notification or refund.
	TagResult = "result"
	// TagKind is the kind of reconciliation difference.
	TagKind = "kind"
)

// Suggested result values; keep every value to a small fixed set, since each
// distinct value is a time series. The Notify* values label the API's own
// xhspay_notify_total{provider,result} counter.
const (
	// NotifyAccepted is a verified notification that reached its order.
	NotifyAccepted = "accepted"
	// NotifyDuplicate is a verified notification the order had already seen.
	NotifyDuplicate = "duplicate"
	// NotifyBadSignature is a notification whose signature or decryption failed.
	NotifyBadSignature = "bad_signature"
	// NotifyMalformed is a notification that could not be parsed.
	NotifyMalformed = "malformed"
	// NotifyUnknownOrder is a verified notification for no known order.
	NotifyUnknownOrder = "unknown_order"
	// NotifyError is a notification that could not be delivered to its order.
	NotifyError = "error"

	// RefundSucceeded is a refund the provider completed.
	RefundSucceeded = "succeeded"
	// RefundRejected is a refund refused before or by the provider.
	RefundRejected = "rejected"
	// RefundFailed is a refund that failed for good after retries.
	RefundFailed = "failed"

	// CodeCanceled is the error code of a provider call whose context was canceled.
	CodeCanceled = "Canceled"
)

// ProviderCallBuckets are the histogram buckets, in seconds, of provider call durations.
var ProviderCallBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

var projectHelp = map[string]string{
	exposedName(OrderTransitions, counterKind):       "Order state transitions by new state and provider.",
	exposedName(ProviderCallDuration, histogramKind): "Duration of calls to payment, customs and FX providers.",
	exposedName(ProviderErrors, counterKind):         "Failed provider calls by provider, operation and error type.",
	exposedName(Refunds, counterKind):                "Finished refunds by provider and outcome.",
	exposedName(ReconcileMismatches, counterKind):    "Differences found by reconciliation, by provider and kind.",
}

func helpFor(exposed, raw string) string {
	if h, ok := projectHelp[exposed]; ok {
		return h
	}
	return "Temporal SDK metric " + raw + "."
}

func bucketsFor(exposed string) []float64 {
	if exposed == exposedName(ProviderCallDuration, histogramKind) {
		return ProviderCallBuckets
	}
	return DefaultBuckets
}

func orNop(h client.MetricsHandler) client.MetricsHandler {
	if h == nil {
		return client.MetricsNopHandler
	}
	return h
}

// OrderTransition counts an order entering state. Call it from workflow
// code with workflow.GetMetricsHandler(ctx), which drops it during replay.
func OrderTransition(h client.MetricsHandler, state, provider string) {
	orNop(h).WithTags(map[string]string{TagState: state, TagProvider: provider}).Counter(OrderTransitions).Inc(1)
}

// Refund counts a finished refund with its outcome (Refund* constants).
// From a refund workflow, pass workflow.GetMetricsHandler(ctx).
func Refund(h client.MetricsHandler, provider, result string) {
	orNop(h).WithTags(map[string]string{TagProvider: provider, TagResult: result}).Counter(Refunds).Inc(1)
}

// ReconcileMismatch counts n reconciliation differences of one kind, e.g.
// "amount", "missing_local", "missing_provider", "status"; n <= 0 records nothing.
func ReconcileMismatch(h client.MetricsHandler, provider, kind string, n int) {
	if n <= 0 {
		return
	}
	orNop(h).WithTags(map[string]string{TagProvider: provider, TagKind: kind}).Counter(ReconcileMismatches).Inc(int64(n))
}

// ObserveProvider starts timing one provider call and returns the function
// that ends it: it records the duration and, when *errp is non-nil, counts
// the error under its classified type (providers.Classify). Use it with a
// named error result, so the deferred call sees the final error:
//
//	func (a *Payments) Pay(ctx context.Context, req PayRequest) (res PayResult, err error) {
//		defer metrics.ObserveProvider(activity.GetMetricsHandler(ctx), "alipay", "pay")(&err)
//		...
//	}
//
// (Writing "defer f(provider, op)(err)" would capture err when the defer
// statement runs, always nil.) A nil errp records the duration only.
func ObserveProvider(h client.MetricsHandler, provider, op string) func(errp *error) {
	start := time.Now()
	tagged := orNop(h).WithTags(map[string]string{TagProvider: provider, TagOp: op})
	return func(errp *error) {
		tagged.Timer(ProviderCallDuration).Record(time.Since(start))
		if errp == nil || *errp == nil {
			return
		}
		tagged.WithTags(map[string]string{TagCode: errorCode(*errp)}).Counter(ProviderErrors).Inc(1)
	}
}

// errorCode is the bounded code an error is counted under.
func errorCode(err error) string {
	if errors.Is(err, context.Canceled) {
		return CodeCanceled
	}
	return string(providers.Classify(err))
}

// ProviderObserver records provider calls through a fixed handler, for
// code that holds no activity context; the zero value records nothing.
type ProviderObserver struct {
	// Handler receives the metrics, e.g. TemporalHandler(reg).
	Handler client.MetricsHandler
}

// Observe is ObserveProvider with the observer's handler.
func (o ProviderObserver) Observe(provider, op string) func(errp *error) {
	return ObserveProvider(o.Handler, provider, op)
}
