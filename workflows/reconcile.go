package workflows

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/providers"
)

// ReconciliationWorkflowType is ReconciliationWorkflow's type name.
const ReconciliationWorkflowType = "ReconciliationWorkflow"

// ReconciliationInput starts a ReconciliationWorkflow.
type ReconciliationInput struct {
	// Day is the day to reconcile (YYYY-MM-DD, China time); empty is the day
	// before the one the workflow starts on (the last complete bill).
	Day string `json:"day,omitempty"`
	// Providers are the providers whose bills to reconcile (default Alipay and WeChat Pay).
	Providers []providers.Name `json:"providers,omitempty"`
}

// ReconciliationWorkflowID is the id of a day's reconciliation started by
// hand ("reconcile-<yyyymmdd>"); the schedule's runs have ids of its own.
func ReconciliationWorkflowID(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return "reconcile-" + day
	}
	return "reconcile-" + t.Format("20060102")
}

// reconcileOptions: downloading and matching a bill; a bill not issued yet
// is retried for six hours.
var reconcileOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    2 * time.Minute,
	ScheduleToCloseTimeout: 6 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		NonRetryableErrorTypes: ledgerOptions.RetryPolicy.NonRetryableErrorTypes,
	},
}

var reconcileAct *activities.Reconciliation

// ReconciliationWorkflow reconciles one day: for each provider it downloads
// the day's bill through the provider's adapter and matches it with the
// ledger by transaction id and amount. Differences (missing on our side,
// missing on theirs, amount) are counted in the xhspay_reconcile_mismatches
// metric, stored as the day's report in the ledger and returned. A provider
// whose bill cannot be had is reported with its error; the others still are.
func ReconciliationWorkflow(ctx workflow.Context, in ReconciliationInput) (activities.ReconciliationReport, error) {
	if in.Day == "" {
		in.Day = chinaDay(workflow.Now(ctx).Add(-24 * time.Hour))
	}
	if len(in.Providers) == 0 {
		in.Providers = []providers.Name{providers.Alipay, providers.WeChatPay}
	}
	rep := activities.ReconciliationReport{Day: in.Day, Providers: []activities.ProviderReconciliation{}}
	if _, err := time.Parse(time.DateOnly, in.Day); err != nil {
		return rep, temporal.NewNonRetryableApplicationError(fmt.Sprintf("reconciliation input: day must be YYYY-MM-DD, got %q", in.Day), RuleInput, nil)
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (activities.ReconciliationReport, error) { return rep, nil }); err != nil {
		return rep, err
	}
	futures := make([]workflow.Future, len(in.Providers))
	for i, p := range in.Providers {
		futures[i] = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, reconcileOptions),
			reconcileAct.ReconcileProvider, activities.ReconcileInput{Provider: p, Day: in.Day})
	}
	h := workflow.GetMetricsHandler(ctx)
	for i, f := range futures {
		var res activities.ProviderReconciliation
		if err := f.Get(ctx, &res); err != nil {
			res = activities.ProviderReconciliation{Provider: in.Providers[i], Day: in.Day, Error: err.Error(),
				Mismatches: []activities.ReconciliationMismatch{}}
			workflow.GetLogger(ctx).Error("reconciliation failed", "Provider", in.Providers[i], "Day", in.Day, "ErrorType", errorType(err))
		}
		counts := res.Counts()
		for _, kind := range slices.Sorted(maps.Keys(counts)) {
			metrics.ReconcileMismatch(h, string(res.Provider), kind, counts[kind])
		}
		rep.Mismatches += len(res.Mismatches)
		rep.Providers = append(rep.Providers, res)
	}
	rep.ReconciledAt = workflow.Now(ctx)
	if err := run(ctx, settlementOptions, reconcileAct.SaveReconciliation, nil, rep); err != nil {
		return rep, err
	}
	workflow.GetLogger(ctx).Info("reconciliation done", "Day", in.Day, "Mismatches", rep.Mismatches)
	return rep, nil
}
