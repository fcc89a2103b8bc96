package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/internal/searchattr"
)

// OrderStartOptions returns the options to start (Update-with-Start) an
// order: the id from the merchant's order number, USE_EXISTING while the
// order runs (a retried create joins it and AwaitCheckout answers the same),
// and REJECT_DUPLICATE once it closed, so that a late retry can never start
// the same order twice; the caller then answers from the closed order (its
// result or its state query).
func OrderStartOptions(in OrderInput, taskQueue string) (client.StartWorkflowOptions, error) {
	if err := ValidateOrderRef(in.MerchantID, in.MerchantOrderNo); err != nil {
		return client.StartWorkflowOptions{}, err
	}
	return client.StartWorkflowOptions{
		ID:                       OrderWorkflowID(in.MerchantID, in.MerchantOrderNo),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.OrderState.ValueSet(string(StateValidating)),
			searchattr.MerchantId.ValueSet(in.MerchantID),
			searchattr.Provider.ValueSet(string(in.Provider)),
			searchattr.CustomsStatus.ValueSet(string(CustomsNotDeclared))),
	}, nil
}
