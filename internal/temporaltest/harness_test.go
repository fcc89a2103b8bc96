package temporaltest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/internal/temporaltest"
)

func TestMain(m *testing.M) { temporaltest.Main(m) }

// Greet is the activity: it greets name.
func Greet(_ context.Context, name string) (string, error) {
	return "Hello, " + name, nil
}

// GreetAndWait greets name through the Greet activity, then waits for the
// "approve" signal and returns the greeting followed by the signal's value.
func GreetAndWait(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var greeting string
	if err := workflow.ExecuteActivity(ctx, Greet, name).Get(ctx, &greeting); err != nil {
		return "", err
	}
	var approval string
	workflow.GetSignalChannel(ctx, "approve").Receive(ctx, &approval)
	return greeting + " " + approval, nil
}

// MarkOrder sets the OrderState search attribute to state, then waits for
// the "finish" signal so the test can look it up while it runs.
func MarkOrder(ctx workflow.Context, state string) error {
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.OrderState.ValueSet(state)); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, nil)
	return nil
}

// startWorker runs a worker for the test's workflows on a fresh task queue until the test ends.
func startWorker(t *testing.T) string {
	t.Helper()
	tq := temporaltest.TaskQueue(t)
	w := worker.New(temporaltest.Client(t), tq, worker.Options{})
	w.RegisterWorkflow(GreetAndWait)
	w.RegisterWorkflow(MarkOrder)
	w.RegisterActivity(Greet)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return tq
}

func TestWorkflowWithActivityAndSignal(t *testing.T) {
	c := temporaltest.Client(t)
	tq := startWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "greet-" + uuid.NewString(), TaskQueue: tq}, GreetAndWait, "Li Lei")
	require.NoError(t, err)
	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "approve", "approved"))
	var got string
	require.NoError(t, run.Get(ctx, &got))
	assert.Equal(t, "Hello, Li Lei approved", got)

	var types []enumspb.EventType
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		types = append(types, ev.GetEventType())
	}
	assert.Contains(t, types, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
	assert.Contains(t, types, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	assert.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, types[len(types)-1])
}

func TestSearchAttributeVisibilityQuery(t *testing.T) {
	c := temporaltest.Client(t)
	tq := startWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	state := "PAID-" + uuid.NewString()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "order-" + uuid.NewString(), TaskQueue: tq}, MarkOrder, state)
	require.NoError(t, err)

	query := fmt.Sprintf("%s = %q", searchattr.OrderState.GetName(), state)
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: temporaltest.Namespace(),
			Query:     query,
		})
		if err != nil || len(resp.GetExecutions()) != 1 {
			return false
		}
		return resp.GetExecutions()[0].GetExecution().GetRunId() == run.GetRunID()
	}, 20*time.Second, 50*time.Millisecond, "no workflow found by %s", query)

	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "finish", nil))
	require.NoError(t, run.Get(ctx, nil))
}

func TestTaskQueueIsFreshPerCall(t *testing.T) {
	a, b := temporaltest.TaskQueue(t), temporaltest.TaskQueue(t)
	assert.NotEqual(t, a, b)
	assert.Contains(t, a, "TestTaskQueueIsFreshPerCall")
	assert.NotEmpty(t, temporaltest.Address())
	assert.NotEmpty(t, temporaltest.Namespace())
}
