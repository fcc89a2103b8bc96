package workflows

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xhspay/xhspay/providers"
)

func TestOrderRefValidation(t *testing.T) {
	tests := []struct {
		merchant, orderNo string
		ok                bool
	}{
		{"acme_eu", "A-1001", true},
		{"acme", strings.Repeat("9", 64), true},
		{"acme-eu", "1", false}, // a '-' in the merchant id would make ids ambiguous
		{"", "1", false},
		{strings.Repeat("m", 33), "1", false},
		{"acme", "", false},
		{"acme", "A 1", false},
		{"acme", strings.Repeat("9", 65), false},
		{"acme", "订单1", false},
	}
	for _, tc := range tests {
		err := ValidateOrderRef(tc.merchant, tc.orderNo)
		assert.Equal(t, tc.ok, err == nil, "%q/%q: %v", tc.merchant, tc.orderNo, err)
	}
	assert.Equal(t, "order-acme_eu-A-1001", OrderWorkflowID("acme_eu", "A-1001"))
	assert.Equal(t, "refund-order-acme_eu-A-1001-R1", RefundWorkflowID("order-acme_eu-A-1001", "R1"))

	assert.NoError(t, ValidateRefundNo("R_1"))
	assert.ErrorContains(t, ValidateRefundNo("R-1"), "[A-Za-z0-9_]")
	assert.ErrorContains(t, ValidateRefundNo("xhs_cancel_1"), "reserved")
	assert.Error(t, ValidateRefundNo(""))
}

func TestOrderStartOptions(t *testing.T) {
	in := testInput(providers.Alipay)
	opts, err := OrderStartOptions(in, "orders")
	require.NoError(t, err)
	assert.Equal(t, testOrderID, opts.ID)
	assert.Equal(t, "orders", opts.TaskQueue)
	assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, opts.WorkflowIDConflictPolicy)
	assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, opts.WorkflowIDReusePolicy)
	assert.Equal(t, 4, opts.TypedSearchAttributes.Size())
	in.MerchantID = "bad-id"
	_, err = OrderStartOptions(in, "orders")
	assert.Error(t, err)
}
