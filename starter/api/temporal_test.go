package api

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/internal/temporaltest"
	"github.com/xhspay/xhspay/workflows"
)

// TestUpdateWithStartOfAnEndedOrder checks, against a real server, that an
// ended order is never started again under its number: Update-with-Start
// fails with "already started", which createOrder answers as a repeat.
func TestUpdateWithStartOfAnEndedOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tc := temporaltest.Client(t)
	store, err := NewMemoryMerchantStore()
	require.NoError(t, err)
	s := newServer(Config{Temporal: tc, TaskQueue: temporaltest.TaskQueue(t), Merchants: store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})

	id := workflows.OrderWorkflowID("m1", "ENDED-1")
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.cfg.TaskQueue}, workflows.OrderWorkflow, workflows.OrderInput{})
	require.NoError(t, err)
	require.NoError(t, tc.TerminateWorkflow(ctx, id, run.GetRunID(), "test"))

	_, err = s.updateWithStart(ctx, id, workflows.OrderInput{MerchantID: "m1", MerchantOrderNo: "ENDED-1"}, requestMemo{RequestID: "r"})
	require.Error(t, err)
	assert.True(t, isAlreadyStarted(err), "%T %v", err, err)

	info, err := s.describeOrder(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, info)
	assert.False(t, info.running)
	assert.Nil(t, info.memo, "started without the API's memo")
	p := conflict(info.memo, requestMemo{}, "ENDED-1")
	require.NotNil(t, p)
	assert.Equal(t, 409, p.Status())
}
