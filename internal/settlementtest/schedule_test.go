package settlementtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/internal/app"
	"github.com/xhspay/xhspay/workflows"
)

// TestSchedules creates the finance schedules as a worker does on start,
// again (nothing to change), and with a new offset (updated); a triggered
// settlement run starts one settlement per merchant with a payable.
func TestSchedules(t *testing.T) {
	s := newStack(t)
	w := s.worker()
	t.Cleanup(w.Stop)
	ctx := ctxT(t, time.Minute)
	sc := s.c.ScheduleClient()
	t.Cleanup(func() {
		for _, id := range []string{app.SettlementScheduleID, app.ReconciliationScheduleID} {
			_ = sc.GetHandle(context.Background(), id).Delete(context.Background())
		}
	})

	cfg := app.FinanceSchedules{TaskQueue: s.tq, SettlementEvery: 24 * time.Hour, SettlementOffset: 18 * time.Hour,
		ReconcileEvery: 24 * time.Hour, ReconcileOffset: 19 * time.Hour}
	require.NoError(t, app.EnsureSchedules(ctx, s.c, cfg, quiet))
	require.NoError(t, app.EnsureSchedules(ctx, s.c, cfg, quiet), "a second start finds them")
	cfg.SettlementOffset = 17 * time.Hour
	require.NoError(t, app.EnsureSchedules(ctx, s.c, cfg, quiet))

	desc, err := sc.GetHandle(ctx, app.SettlementScheduleID).Describe(ctx)
	require.NoError(t, err)
	require.Len(t, desc.Schedule.Spec.Intervals, 1)
	assert.Equal(t, 17*time.Hour, desc.Schedule.Spec.Intervals[0].Offset, "updated in place")
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	assert.Equal(t, workflows.SettlementRunWorkflowType, action.Workflow)
	assert.Equal(t, s.tq, action.TaskQueue)
	rdesc, err := sc.GetHandle(ctx, app.ReconciliationScheduleID).Describe(ctx)
	require.NoError(t, err)
	assert.Equal(t, 19*time.Hour, rdesc.Schedule.Spec.Intervals[0].Offset)

	// A merchant with a released order; the schedule's run settles it.
	s.completeOrder("sched", "S1", "alipay", "USD", "10.00")
	require.NoError(t, sc.GetHandle(ctx, app.SettlementScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{}))
	var runID string
	require.Eventually(t, func() bool {
		d, err := sc.GetHandle(ctx, app.SettlementScheduleID).Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		runID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		return true
	}, 20*time.Second, 50*time.Millisecond)
	var res workflows.SettlementRunResult
	require.NoError(t, s.c.GetWorkflow(ctx, runID, "").Get(ctx, &res))
	require.Equal(t, []string{"settlement-sched-" + time.Now().In(chinaTime).Format("20060102")}, res.Started)
	// The settlement goes on to its payout (its first poll is a minute away:
	// a schedule's run takes the default intervals); it is booked and marked.
	require.Eventually(t, func() bool {
		resp, err := s.c.QueryWorkflow(ctx, res.Started[0], "", workflows.QueryState)
		var st workflows.SettlementResult
		return err == nil && resp.Get(&st) == nil && (st.Status == "marked" || st.Status == "paid")
	}, 20*time.Second, 50*time.Millisecond)
	s.requireBooks()
	require.NoError(t, s.c.TerminateWorkflow(ctx, res.Started[0], "", "test over"))
}
