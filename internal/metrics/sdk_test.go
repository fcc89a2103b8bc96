package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/temporaltest"
)

func TestMain(m *testing.M) {
	// No sticky cache: every workflow task replays the history from the
	// start, which proves that workflow metrics are not counted twice.
	worker.SetStickyWorkflowCacheSize(0)
	temporaltest.Main(m)
}

// replayed records that Checkout ran its first transition during a replay.
var replayed atomic.Bool

// Charge is a provider call wrapped in the observer.
func Charge(ctx context.Context, provider string) (err error) {
	defer metrics.ObserveProvider(activity.GetMetricsHandler(ctx), provider, "pay")(&err)
	return nil
}

// Checkout records two order transitions around a signal and charges.
func Checkout(ctx workflow.Context, provider string) error {
	h := workflow.GetMetricsHandler(ctx)
	if workflow.IsReplaying(ctx) {
		replayed.Store(true)
	}
	metrics.OrderTransition(h, "CREATED", provider)
	workflow.GetSignalChannel(ctx, "paid").Receive(ctx, nil)
	metrics.OrderTransition(h, "PAID", provider)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, Charge, provider).Get(ctx, nil)
}

func TestSDKMetricsFromEmbeddedServer(t *testing.T) {
	reg := metrics.NewRegistry()
	cl, err := client.Dial(client.Options{
		HostPort:       temporaltest.Address(),
		Namespace:      temporaltest.Namespace(),
		MetricsHandler: metrics.TemporalHandler(reg),
		Logger:         sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	require.NoError(t, err)
	t.Cleanup(cl.Close)

	tq := temporaltest.TaskQueue(t)
	w := worker.New(cl, tq, worker.Options{})
	w.RegisterWorkflow(Checkout)
	w.RegisterActivity(Charge)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "checkout-" + uuid.NewString(), TaskQueue: tq}, Checkout, "alipay")
	require.NoError(t, err)
	// Wait for the first workflow task, so the signal lands in a second one.
	require.Eventually(t, func() bool {
		_, ok := value(t, reg, "xhspay_order_transitions_total", map[string]string{"state": "CREATED"})
		return ok
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, cl.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "paid", nil))
	require.NoError(t, run.Get(ctx, nil))

	wf := map[string]string{"workflow_type": "Checkout", "task_queue": tq}
	require.Eventually(t, func() bool {
		n, ok := value(t, reg, "temporal_workflow_task_execution_latency_seconds", wf)
		return ok && n >= 2
	}, 10*time.Second, 20*time.Millisecond, "workflow task latency from the SDK")
	assert.Positive(t, mustValue(t, reg, "temporal_workflow_completed_total", wf))
	assert.Positive(t, mustValue(t, reg, "temporal_request_total", map[string]string{"operation": "StartWorkflowExecution"}))
	assert.Positive(t, mustValue(t, reg, "temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "Charge"}))

	require.True(t, replayed.Load(), "the second workflow task must have replayed the first")
	for _, state := range []string{"CREATED", "PAID"} {
		assert.Equal(t, 1.0, mustValue(t, reg, "xhspay_order_transitions_total",
			map[string]string{"state": state, "provider": "alipay", "workflow_type": "Checkout"}),
			"%s counted once despite replay", state)
	}
	assert.Equal(t, 1.0, mustValue(t, reg, "xhspay_provider_call_duration_seconds",
		map[string]string{"provider": "alipay", "op": "pay", "activity_type": "Charge"}))
	assert.Zero(t, seriesCount(t, reg, "xhspay_provider_errors_total"))

	body := scrape(t, reg)
	assert.Contains(t, body, "# TYPE temporal_workflow_task_execution_latency_seconds histogram")
	assert.Contains(t, body, "temporal_workflow_task_execution_latency_seconds_bucket{")
}
