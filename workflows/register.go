package workflows

import (
	"go.temporal.io/sdk/worker"

	"github.com/xhspay/xhspay/activities"
)

// Register registers OrderWorkflow, RefundWorkflow, the settlement and
// reconciliation workflows and every activity of deps
// with a worker (or a test environment). The worker builds deps from the real
// adapters; for annual-limit queries through Temporal visibility use
//
//	&activities.Validation{Buyers: &activities.VisibilityBuyerHistory{
//		Client: c, WorkflowType: OrderWorkflowType, ExcludedStates: QuotaFreeStates()}}
func Register(r worker.Registry, deps activities.Deps) error {
	if err := activities.Register(r, deps); err != nil {
		return err
	}
	RegisterWorkflows(r)
	return nil
}

// RegisterWorkflows registers only the workflows (for replayers and tests).
func RegisterWorkflows(r worker.WorkflowRegistry) {
	r.RegisterWorkflow(OrderWorkflow)
	r.RegisterWorkflow(RefundWorkflow)
	r.RegisterWorkflow(SettlementWorkflow)
	r.RegisterWorkflow(SettlementRunWorkflow)
	r.RegisterWorkflow(ReconciliationWorkflow)
}

// Workflow type names, as registered.
const (
	// OrderWorkflowType is OrderWorkflow's type name.
	OrderWorkflowType = "OrderWorkflow"
	// RefundWorkflowType is RefundWorkflow's type name.
	RefundWorkflowType = "RefundWorkflow"
)
