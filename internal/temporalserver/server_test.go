package temporalserver_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/goleak"

	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/internal/temporalserver"
)

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func getUI(t *testing.T, addr string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := hc.Get("http://" + addr + "/")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestWebUIAndCleanShutdown(t *testing.T) {
	// Runs first in this file, so no other test's server is around.
	defer goleak.VerifyNone(t,
		goleak.IgnoreCurrent(),
		// The server's SQLite plugin keeps one connection pool per database
		// for the life of the process and never closes it.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		// The server's Stop does not close the gRPC client connections its
		// services open to each other, nor does the UI server close its
		// connection to the frontend; those idle (or retry against the
		// stopped server) until the process ends.
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("google.golang.org/grpc.(*addrConn).resetTransportAndUnlock"),
	)

	begin := time.Now()
	srv, err := temporalserver.Start(context.Background(), temporalserver.Options{Logger: logger()})
	require.NoError(t, err)
	defer func() { _ = srv.Stop() }()
	t.Logf("first server with UI ready in %v (frontend %s, UI %s)", time.Since(begin).Round(time.Millisecond), srv.FrontendAddress(), srv.UIAddress())
	require.NotEmpty(t, srv.UIAddress())
	getUI(t, srv.UIAddress())
	require.NoError(t, srv.Stop())

	// Both ports are released: a new server can take them again.
	_, frontendPort, err := net.SplitHostPort(srv.FrontendAddress())
	require.NoError(t, err)
	_, uiPort, err := net.SplitHostPort(srv.UIAddress())
	require.NoError(t, err)
	opts := temporalserver.Options{Logger: logger()}
	opts.Port, _ = strconv.Atoi(frontendPort)
	opts.UIPort, _ = strconv.Atoi(uiPort)
	again, err := temporalserver.Start(context.Background(), opts)
	require.NoError(t, err)
	defer func() { _ = again.Stop() }()
	assert.Equal(t, srv.FrontendAddress(), again.FrontendAddress())
	assert.Equal(t, srv.UIAddress(), again.UIAddress())
	getUI(t, again.UIAddress())
	require.NoError(t, again.Stop())
}

// start starts a server and stops it when the test ends.
func start(t *testing.T, opts temporalserver.Options) *temporalserver.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = logger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	begin := time.Now()
	srv, err := temporalserver.Start(ctx, opts)
	require.NoError(t, err)
	t.Logf("server ready in %v (frontend %s, UI %q)", time.Since(begin).Round(time.Millisecond), srv.FrontendAddress(), srv.UIAddress())
	t.Cleanup(func() {
		assert.NoError(t, srv.Stop())
		assert.NoError(t, srv.Stop(), "Stop is idempotent")
	})
	return srv
}

func dial(t *testing.T, srv *temporalserver.Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  srv.FrontendAddress(),
		Namespace: srv.Namespace(),
		Logger:    sdklog.NewStructuredLogger(logger()),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// Echo returns its input.
func Echo(_ workflow.Context, s string) (string, error) { return s, nil }

// Counter adds the values sent by the "add" update and returns the total when
// the "done" signal arrives.
func Counter(ctx workflow.Context) (int, error) {
	total := 0
	if err := workflow.SetUpdateHandler(ctx, "add", func(_ workflow.Context, n int) (int, error) {
		total += n
		return total, nil
	}); err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	return total, nil
}

// runWorker runs a worker for Echo and Counter on a fresh task queue until the test ends.
func runWorker(t *testing.T, c client.Client) string {
	t.Helper()
	tq := "tq-" + uuid.NewString()
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(Echo)
	w.RegisterWorkflow(Counter)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return tq
}

func runEcho(t *testing.T, c client.Client, tq, id, in string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, Echo, in)
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	assert.Equal(t, in, out)
}

func TestInMemoryServer(t *testing.T) {
	srv := start(t, temporalserver.Options{UIPort: temporalserver.UIDisabled})
	assert.Empty(t, srv.UIAddress())
	assert.Equal(t, temporalserver.DefaultNamespace, srv.Namespace())
	c := dial(t, srv)
	tq := runWorker(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("namespace and search attributes", func(t *testing.T) {
		ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: srv.Namespace()})
		require.NoError(t, err)
		assert.Equal(t, srv.Namespace(), ns.GetNamespaceInfo().GetName())

		list, err := c.WorkflowService().ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{})
		require.NoError(t, err)
		var names []string
		for _, n := range list.GetNamespaces() {
			names = append(names, n.GetNamespaceInfo().GetName())
		}
		assert.Contains(t, names, srv.Namespace())

		sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
		require.NoError(t, err)
		for name, typ := range searchattr.Definitions() {
			assert.Equal(t, typ, sa.GetCustomAttributes()[name], "search attribute %s", name)
		}
	})

	t.Run("workflow", func(t *testing.T) {
		begin := time.Now()
		runEcho(t, c, tq, "echo-"+uuid.NewString(), "hello")
		t.Logf("workflow round trip %v", time.Since(begin).Round(time.Millisecond))
	})

	t.Run("update with start", func(t *testing.T) {
		id := "counter-" + uuid.NewString()
		update := func(n int) int {
			op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
				ID:                       id,
				TaskQueue:                tq,
				WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			}, Counter)
			h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
				StartWorkflowOperation: op,
				UpdateOptions: client.UpdateWorkflowOptions{
					UpdateName:   "add",
					Args:         []any{n},
					WaitForStage: client.WorkflowUpdateStageCompleted,
				},
			})
			require.NoError(t, err)
			var total int
			require.NoError(t, h.Get(ctx, &total))
			return total
		}
		assert.Equal(t, 2, update(2))
		assert.Equal(t, 5, update(3))
		require.NoError(t, c.SignalWorkflow(ctx, id, "", "done", nil))
		var total int
		require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &total))
		assert.Equal(t, 5, total)
	})

	t.Run("schedule", func(t *testing.T) {
		id := "schedule-" + uuid.NewString()
		h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:     id,
			Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
			Paused: true,
			Action: &client.ScheduleWorkflowAction{
				ID:        id + "-run",
				Workflow:  Echo,
				Args:      []any{"scheduled"},
				TaskQueue: tq,
			},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = h.Delete(context.Background()) })
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		require.Eventually(t, func() bool {
			d, err := h.Describe(ctx)
			return err == nil && d.Info.NumActions >= 1
		}, 20*time.Second, 100*time.Millisecond)
	})
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	want := fmt.Sprintf("127.0.0.1:%d is already in use", port)

	_, err = temporalserver.Start(context.Background(), temporalserver.Options{Port: port, UIPort: temporalserver.UIDisabled})
	require.ErrorContains(t, err, want)

	_, err = temporalserver.Start(context.Background(), temporalserver.Options{UIPort: port})
	require.ErrorContains(t, err, want)
}

func TestFileDatabaseSurvivesRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	id := "persisted-" + uuid.NewString()

	func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		first, err := temporalserver.Start(ctx, temporalserver.Options{DBFile: db, UIPort: temporalserver.UIDisabled, Logger: logger()})
		require.NoError(t, err)
		defer func() { require.NoError(t, first.Stop()) }()
		c, err := client.Dial(client.Options{HostPort: first.FrontendAddress(), Logger: sdklog.NewStructuredLogger(logger())})
		require.NoError(t, err)
		defer c.Close()
		tq := "tq-" + uuid.NewString()
		w := worker.New(c, tq, worker.Options{})
		w.RegisterWorkflow(Echo)
		require.NoError(t, w.Start())
		defer w.Stop()
		runEcho(t, c, tq, id, "kept")
	}()
	// Copied before the restart: a fresh database connection then proves the
	// history is on disk, not only in a connection the first server left open.
	data, err := os.ReadFile(db)
	require.NoError(t, err)
	copied := filepath.Join(filepath.Dir(db), "copy.db")
	require.NoError(t, os.WriteFile(copied, data, 0o600))

	for _, file := range []string{db, copied} {
		srv := start(t, temporalserver.Options{DBFile: file, UIPort: temporalserver.UIDisabled})
		assertCompleted(t, dial(t, srv), id)
		require.NoError(t, srv.Stop())
	}

	// Search attributes the reused namespace lacks are added at start...
	attrs := searchattr.Definitions()
	attrs["CouponCode"] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	srv := start(t, temporalserver.Options{DBFile: db, UIPort: temporalserver.UIDisabled, SearchAttributes: attrs})
	sa, err := dial(t, srv).OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	require.NoError(t, err)
	assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, sa.GetCustomAttributes()["CouponCode"])
	require.NoError(t, srv.Stop())

	// ...but one registered with another type is an error.
	attrs["OrderState"] = enumspb.INDEXED_VALUE_TYPE_DOUBLE
	_, err = temporalserver.Start(context.Background(), temporalserver.Options{
		DBFile: db, UIPort: temporalserver.UIDisabled, SearchAttributes: attrs, Logger: logger(),
	})
	require.ErrorContains(t, err, "search attribute OrderState is")
}

// assertCompleted checks that workflow id completed and its history says so.
func assertCompleted(t *testing.T, c client.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())

	var types []enumspb.EventType
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		types = append(types, ev.GetEventType())
	}
	assert.Contains(t, types, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)

	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: temporalserver.DefaultNamespace})
	require.NoError(t, err)
	assert.Contains(t, sa.GetCustomAttributes(), "OrderState")
}
