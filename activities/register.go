package activities

import (
	"cmp"
	"errors"

	"go.temporal.io/sdk/worker"
)

// Deps are the activity groups a worker registers. Payments, Customs,
// Validation and FX are required; Identity is needed only when orders may
// start without a BuyerIDHash. Ledger, Settlement and Reconciliation are the
// finance groups: without them the order workflows post nothing (Ledger's
// activities do nothing) and settlements and reconciliations fail as not
// configured.
type Deps struct {
	// Payments talks to the payment providers.
	Payments *Payments
	// Customs talks to the customs declarers and customs clearance.
	Customs *Customs
	// Validation applies the CBEC rules and answers the buyer's year-to-date total.
	Validation *Validation
	// FX quotes exchange rates.
	FX *FX
	// Identity hashes buyer ID numbers (optional).
	Identity *Identity
	// Ledger books the orders' money steps (optional).
	Ledger *Ledger
	// Settlement settles merchants and pays them out (optional).
	Settlement *Settlement
	// Reconciliation matches providers' bills with the ledger (optional).
	Reconciliation *Reconciliation
}

// Validate reports missing required groups.
func (d Deps) Validate() error {
	var errs []error
	if d.Payments == nil {
		errs = append(errs, errors.New("activities: Deps.Payments is required"))
	}
	if d.Customs == nil {
		errs = append(errs, errors.New("activities: Deps.Customs is required"))
	}
	if d.Validation == nil {
		errs = append(errs, errors.New("activities: Deps.Validation is required"))
	}
	if d.FX == nil {
		errs = append(errs, errors.New("activities: Deps.FX is required"))
	}
	return errors.Join(errs...)
}

// Registry is the part of worker.ActivityRegistry that Register uses; a
// worker.Worker and a test environment both satisfy it.
type Registry interface {
	// RegisterActivity registers a struct's exported methods as activities.
	RegisterActivity(a any)
}

var _ Registry = worker.ActivityRegistry(nil)

// Register registers every activity of d with r, under the method names
// (CreatePayment, Declare, ...), which are unique across the groups.
func Register(r Registry, d Deps) error {
	if err := d.Validate(); err != nil {
		return err
	}
	r.RegisterActivity(d.Payments)
	r.RegisterActivity(d.Customs)
	r.RegisterActivity(d.Validation)
	r.RegisterActivity(d.FX)
	if d.Identity != nil {
		r.RegisterActivity(d.Identity)
	}
	// The finance groups are always registered, so that a workflow scheduling
	// them gets their "not configured" answer rather than waiting forever.
	r.RegisterActivity(cmp.Or(d.Ledger, &Ledger{}))
	r.RegisterActivity(cmp.Or(d.Settlement, &Settlement{}))
	r.RegisterActivity(cmp.Or(d.Reconciliation, &Reconciliation{}))
	return nil
}
