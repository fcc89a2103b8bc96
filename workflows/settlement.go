package workflows

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// Settlement workflow type names, signal and defaults.
const (
	// SettlementWorkflowType is SettlementWorkflow's type name.
	SettlementWorkflowType = "SettlementWorkflow"
	// SettlementRunWorkflowType is SettlementRunWorkflow's type name (the schedule's action).
	SettlementRunWorkflowType = "SettlementRunWorkflow"
	// SignalPayoutNotified carries a verified payout notification (providers.Payout)
	// to the settlement that made the payout.
	SignalPayoutNotified = "PayoutNotified"
	// DefaultPayoutPoll is the first interval of payout queries; it doubles up to DefaultPayoutPollMax.
	DefaultPayoutPoll = time.Minute
	// DefaultPayoutPollMax caps the interval of payout queries.
	DefaultPayoutPollMax = time.Hour
)

// SettlementInput starts a SettlementWorkflow.
type SettlementInput struct {
	// MerchantID is the merchant settled.
	MerchantID string `json:"merchantId"`
	// Day is the settlement day (YYYY-MM-DD, China time); empty is the day the workflow starts.
	Day string `json:"day,omitempty"`
	// PayoutPoll is the first interval of payout queries while no notification
	// comes (default 1 minute); it doubles up to PayoutPollMax (default 1 hour).
	PayoutPoll time.Duration `json:"payoutPoll,omitempty"`
	// PayoutPollMax caps the interval of payout queries.
	PayoutPollMax time.Duration `json:"payoutPollMax,omitempty"`
}

// SettlementResult is a settlement's outcome (and its state query's answer).
type SettlementResult struct {
	// BatchID is the batch, also the workflow id.
	BatchID string `json:"batchId"`
	// MerchantID is the merchant settled.
	MerchantID string `json:"merchantId"`
	// Day is the settlement day.
	Day string `json:"day"`
	// Status is the batch's status (activities.Settlement* constants).
	Status string `json:"status"`
	// Totals are the batch's totals and payouts per home currency.
	Totals []activities.SettlementTotal `json:"totals"`
	// Error explains a failed payout.
	Error string `json:"error,omitempty"`
}

// settlementOptions: ledger work (prepare, post, mark, record the payout),
// idempotent and retried for a day.
var settlementOptions = ledgerOptions

// payoutOptions: the payout request, idempotent by its number, retried for a day.
var payoutOptions = moneyOptions

var settleAct *activities.Settlement

var merchantOnlyPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

// chinaDay is the calendar day of t in China time, as YYYY-MM-DD.
func chinaDay(t time.Time) string { return t.In(activities.ChinaTime).Format(time.DateOnly) }

// SettlementWorkflow settles one merchant for one day (id
// activities.SettlementWorkflowID): it prepares the batch (the merchant's
// released orders not yet settled up to each provider's T+N cut-off and the
// clawbacks owed, converted at the settlement-date rates, frozen in the
// ledger), books it, records its membership, then pays each home currency's
// total out through the PSP and waits for the payout's confirmation
// (SignalPayoutNotified, with queries as a fallback). Every step is
// idempotent and the batch is frozen once prepared: a worker crashing
// anywhere, or the whole batch run again, settles nothing twice.
func SettlementWorkflow(ctx workflow.Context, in SettlementInput) (SettlementResult, error) {
	if in.Day == "" {
		in.Day = chinaDay(workflow.Now(ctx))
	}
	if in.PayoutPoll <= 0 {
		in.PayoutPoll = DefaultPayoutPoll
	}
	if in.PayoutPollMax < in.PayoutPoll {
		in.PayoutPollMax = max(DefaultPayoutPollMax, in.PayoutPoll)
	}
	res := SettlementResult{BatchID: activities.SettlementWorkflowID(in.MerchantID, in.Day), MerchantID: in.MerchantID, Day: in.Day}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (SettlementResult, error) { return res, nil }); err != nil {
		return res, err
	}
	if _, err := time.Parse(time.DateOnly, in.Day); err != nil || !merchantOnlyPattern.MatchString(in.MerchantID) {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("settlement input: merchantId must be 1-32 of [A-Za-z0-9_] and day YYYY-MM-DD, got %q %q", in.MerchantID, in.Day),
			RuleInput, nil)
	}
	notices := map[string]providers.Payout{}
	payoutCh := workflow.GetSignalChannel(ctx, SignalPayoutNotified)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p providers.Payout
			if !payoutCh.Receive(ctx, &p) {
				return
			}
			notices[p.OutPayoutNo] = p
		}
	})

	var b activities.SettlementBatch
	prep := activities.PrepareSettlementInput{MerchantID: in.MerchantID, Day: in.Day, At: workflow.Now(ctx)}
	if err := run(ctx, settlementOptions, settleAct.PrepareSettlement, &b, prep); err != nil {
		return res, err
	}
	update := func(b activities.SettlementBatch) {
		res.Status, res.Totals, res.Error = b.Status, b.Totals, b.Error
	}
	update(b)
	if b.Status == activities.SettlementEmpty {
		return res, nil
	}
	// Posting and marking are no-ops for a batch that went past them (a run of
	// the batch again).
	if err := run(ctx, settlementOptions, settleAct.PostSettlement, nil, b.BatchID); err != nil {
		return res, err
	}
	if err := run(ctx, settlementOptions, settleAct.MarkSettlement, nil, b.BatchID); err != nil {
		return res, err
	}
	if res.Status == activities.SettlementPrepared || res.Status == activities.SettlementPosted {
		res.Status = activities.SettlementMarked
	}
	for _, t := range slices.Clone(b.Totals) {
		if t.PayoutNo == "" || t.PayoutStatus == providers.PayoutPaid || t.PayoutStatus == providers.PayoutFailed {
			continue
		}
		po, err := awaitPayout(ctx, in, b.BatchID, t.Currency, t.PayoutNo, notices)
		if err != nil {
			return res, err
		}
		var done activities.SettlementBatch
		if err := run(ctx, settlementOptions, settleAct.CompletePayout, &done,
			activities.CompletePayoutInput{PayoutInput: activities.PayoutInput{BatchID: b.BatchID, Currency: t.Currency}, Payout: po}); err != nil {
			return res, err
		}
		update(done)
	}
	workflow.GetLogger(ctx).Info("settlement done", "BatchID", b.BatchID, "Status", res.Status)
	return res, nil
}

// awaitPayout starts a payout and waits until it is paid or failed.
func awaitPayout(ctx workflow.Context, in SettlementInput, batchID string, c money.Currency, payoutNo string,
	notices map[string]providers.Payout) (providers.Payout, error) {
	final := func(p providers.Payout) bool {
		return p.Status == providers.PayoutPaid || p.Status == providers.PayoutFailed
	}
	var po providers.Payout
	if err := run(ctx, payoutOptions, settleAct.StartPayout, &po, activities.PayoutInput{BatchID: batchID, Currency: c}); err != nil {
		return providers.Payout{}, err
	}
	interval := in.PayoutPoll
	for !final(po) {
		got, err := workflow.AwaitWithTimeout(ctx, interval, func() bool { _, ok := notices[payoutNo]; return ok })
		if err != nil {
			return providers.Payout{}, err
		}
		interval = min(2*interval, in.PayoutPollMax)
		if got {
			po = notices[payoutNo]
			delete(notices, payoutNo)
			continue
		}
		var q providers.Payout
		if err := run(ctx, pollOptions, settleAct.QuerySettlementPayout, &q, payoutNo); err != nil {
			workflow.GetLogger(ctx).Warn("payout poll failed", "BatchID", batchID, "ErrorType", errorType(err))
			continue
		}
		if q.Status != providers.PayoutNotFound {
			po = q
		}
	}
	return po, nil
}

// SettlementRunInput starts a SettlementRunWorkflow.
type SettlementRunInput struct {
	// Day is the settlement day (YYYY-MM-DD, China time); empty is the day the run starts.
	Day string `json:"day,omitempty"`
	// PayoutPoll and PayoutPollMax are passed to each settlement.
	PayoutPoll time.Duration `json:"payoutPoll,omitempty"`
	// PayoutPollMax caps the interval of payout queries.
	PayoutPollMax time.Duration `json:"payoutPollMax,omitempty"`
}

// SettlementRunResult lists the settlements a run started.
type SettlementRunResult struct {
	// Day is the settlement day.
	Day string `json:"day"`
	// Started are the settlements started (their workflow ids).
	Started []string `json:"started"`
	// AlreadyRun are the settlements that had already run or were running.
	AlreadyRun []string `json:"alreadyRun"`
}

// SettlementRunWorkflow is the settlement Schedule's action: it starts one
// SettlementWorkflow per merchant with a payable, for the day, as children
// that outlive it. A merchant whose settlement for the day already ran (or
// runs) is left alone; one whose settlement failed is started again.
func SettlementRunWorkflow(ctx workflow.Context, in SettlementRunInput) (SettlementRunResult, error) {
	if in.Day == "" {
		in.Day = chinaDay(workflow.Now(ctx))
	}
	res := SettlementRunResult{Day: in.Day, Started: []string{}, AlreadyRun: []string{}}
	var merchants []string
	if err := run(ctx, settlementOptions, settleAct.SettlementMerchants, &merchants); err != nil {
		return res, err
	}
	for _, m := range merchants {
		if !merchantOnlyPattern.MatchString(m) {
			workflow.GetLogger(ctx).Warn("merchant id unfit for a settlement id: skipped", "MerchantID", m)
			continue
		}
		id := activities.SettlementWorkflowID(m, in.Day)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		})
		fut := workflow.ExecuteChildWorkflow(cctx, SettlementWorkflow,
			SettlementInput{MerchantID: m, Day: in.Day, PayoutPoll: in.PayoutPoll, PayoutPollMax: in.PayoutPollMax})
		err := fut.GetChildWorkflowExecution().Get(ctx, nil)
		switch {
		case err == nil:
			res.Started = append(res.Started, id)
		case temporal.IsWorkflowExecutionAlreadyStartedError(err):
			res.AlreadyRun = append(res.AlreadyRun, id)
		default:
			return res, fmt.Errorf("start %s: %w", id, err)
		}
	}
	return res, nil
}
