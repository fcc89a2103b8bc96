package temporaltest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/internal/tclient"
	"github.com/xhspay/xhspay/internal/temporaltest"
)

// TestEnsureSearchAttributes runs the external-cluster registration against
// the embedded server: present attributes are left alone, missing ones added,
// and a type conflict is refused.
func TestEnsureSearchAttributes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, ns := temporaltest.Client(t), temporaltest.Namespace()

	require.NoError(t, tclient.EnsureSearchAttributes(ctx, cl, ns, searchattr.Definitions()), "already registered: a no-op")

	err := tclient.EnsureSearchAttributes(ctx, cl, ns, map[string]enumspb.IndexedValueType{
		"OrderState": enumspb.INDEXED_VALUE_TYPE_INT,
	})
	require.ErrorContains(t, err, "search attribute OrderState is")

	extra := map[string]enumspb.IndexedValueType{"ReconcileDay": enumspb.INDEXED_VALUE_TYPE_KEYWORD}
	require.NoError(t, tclient.EnsureSearchAttributes(ctx, cl, ns, extra))
	got, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	require.NoError(t, err)
	assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, got.GetCustomAttributes()["ReconcileDay"])
	require.NoError(t, tclient.EnsureSearchAttributes(ctx, cl, ns, extra), "a second run is a no-op")
}
