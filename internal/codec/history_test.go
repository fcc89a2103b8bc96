package codec_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xhspay/xhspay/internal/codec"
	"github.com/xhspay/xhspay/internal/temporaltest"
)

func TestMain(m *testing.M) { temporaltest.Main(m) }

// Receipt is what VerifyBuyer returns.
type Receipt struct {
	Buyer    Buyer  `json:"buyer"`
	Mismatch string `json:"mismatch"`
}

// CheckIdentity refuses the buyer with an error that quotes the ID number,
// as a careless provider adapter might.
func CheckIdentity(_ context.Context, b Buyer) error {
	return temporal.NewNonRetryableApplicationError("identity mismatch for "+b.IDNumber, "IdentityMismatch", nil, b)
}

// VerifyBuyer runs CheckIdentity and returns the buyer with the refusal.
func VerifyBuyer(ctx workflow.Context, b Buyer) (Receipt, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	err := workflow.ExecuteActivity(ctx, CheckIdentity, b).Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return Receipt{}, err
	}
	return Receipt{Buyer: b, Mismatch: appErr.Error()}, nil
}

func dialCodecClient(t *testing.T, c *codec.Codec) client.Client {
	t.Helper()
	opts := client.Options{
		HostPort:  temporaltest.Address(),
		Namespace: temporaltest.Namespace(),
		// The SDK logs activity errors with their message: keep test output clean.
		Logger: sdklog.NewStructuredLogger(quietLog),
	}
	c.ApplyClientOptions(&opts)
	cl, err := client.Dial(opts)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func TestHistoryHoldsNoClearIdentity(t *testing.T) {
	_, key := newKey(t)
	cdc := newCodec(t, ring("k1", map[string][]byte{"k1": key}))
	secure := dialCodecClient(t, cdc)
	plain := temporaltest.Client(t)

	tq := temporaltest.TaskQueue(t)
	w := worker.New(secure, tq, worker.Options{})
	w.RegisterWorkflow(VerifyBuyer)
	w.RegisterActivity(CheckIdentity)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := secure.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        "verify-" + uuid.NewString(),
		TaskQueue: tq,
		Memo:      map[string]any{"buyer": testName},
	}, VerifyBuyer, testBuyer)
	require.NoError(t, err)

	// The codec client reads everything back.
	var got Receipt
	require.NoError(t, run.Get(ctx, &got))
	assert.Equal(t, testBuyer, got.Buyer)
	assert.Contains(t, got.Mismatch, "identity mismatch for "+testIDNumber)

	// A client without the codec sees only ciphertext.
	var none Receipt
	require.Error(t, plain.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &none))

	var (
		raw     []byte
		types   = map[enumspb.EventType]bool{}
		started *commonpb.Payloads
	)
	it := plain.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		types[ev.GetEventType()] = true
		b, err := proto.Marshal(ev)
		require.NoError(t, err)
		raw = append(raw, b...)
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			started = a.GetInput()
		}
	}
	require.True(t, types[enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED], "the failure path must be in the history")
	require.True(t, types[enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED])
	require.NotEmpty(t, raw)
	assertNoPII(t, raw)

	desc, err := plain.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	memo, err := proto.Marshal(desc.GetWorkflowExecutionInfo().GetMemo())
	require.NoError(t, err)
	require.NotEmpty(t, memo)
	assertNoPII(t, memo)

	// The codec server decodes the stored input the way the Web UI asks it to.
	require.NotNil(t, started)
	body, err := protojson.Marshal(started)
	require.NoError(t, err)
	assertNoPII(t, body)
	f := newServer(t, func(o *codec.ServerOptions) {
		o.Codec = cdc
		o.Namespaces = []string{temporaltest.Namespace()}
	})
	resp := f.do(req{path: "/codec/decode", body: string(body), headers: headers(viewerToken,
		"Origin", uiOrigin, codec.HeaderNamespace, temporaltest.Namespace())})
	require.Equal(t, http.StatusOK, resp.Code, resp.Body.String())
	clear := decodedJSON(t, resp.Body.Bytes())
	assert.Contains(t, clear, testIDNumber)
	assert.Contains(t, clear, testName)
}
