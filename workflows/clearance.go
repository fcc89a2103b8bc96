package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/providers"
)

// clearCustoms files the manifest and the payment declaration, then waits for
// customs' verdict. It returns true once cleared; false when customs rejected
// the order (which has then been refunded).
//
// Card payments: the card PSP has no CustomsDeclarer here. A CBEC payment must
// still be declared by the payment company, so card orders rely on the PSP
// declaring out of band; the order files its manifest and waits for the
// verdict like any other, and if the PSP's record never reaches customs the
// verdict is a rejection (NO_PAYMENT_RECORD) and the order is refunded.
func (o *order) clearCustoms(ctx workflow.Context) (bool, error) {
	manifest := providers.Manifest{
		OrderNo: o.id, Buyer: o.in.Buyer, Items: o.in.Items,
		Goods: o.goods, Freight: o.in.Freight, Tax: o.tax.Total,
	}
	// Mark before calling: an interrupted filing must be withdrawn on compensation.
	o.manifestSubmitted = true
	err := o.step(ctx, StepManifest, func(ctx workflow.Context) error {
		return run(ctx, customsOptions, customsAct.SubmitManifest, nil, manifest)
	})
	if err != nil {
		return false, err
	}
	o.customs = CustomsDeclaring
	o.event(ctx, "customs", "manifest submitted")

	req := providers.DeclarationRequest{
		OutRequestNo: key(ctx, o.id, "declare"),
		OrderNo:      o.id, OutTradeNo: o.outTradeNo, TransactionID: o.transactionID,
		Payer: o.in.Payer, Amount: o.captured,
	}
	o.declaration = &req
	o.declarations = 1
	var res activities.DeclareResult
	err = o.step(ctx, StepDeclare, func(ctx workflow.Context) error {
		return run(ctx, customsOptions, customsAct.Declare, &res, activities.DeclareInput{Provider: o.in.Provider, Request: req})
	})
	if err != nil {
		return false, err
	}
	o.applyDeclaration(ctx, res)
	return o.awaitClearance(ctx)
}

// applyDeclaration records a declaration answer.
func (o *order) applyDeclaration(ctx workflow.Context, res activities.DeclareResult) {
	if !res.Supported {
		o.declaration = nil
		o.customs = CustomsDeclaredOutOfBand
		o.event(ctx, "customs", fmt.Sprintf("%s declares the payment out of band", o.in.Provider))
		return
	}
	d := res.Declaration
	switch d.Status {
	case providers.DeclarationSucceeded:
		o.customs = CustomsDeclared
	case providers.DeclarationFailed:
		o.customs = CustomsDeclarationFailed
	default:
		o.customs = CustomsDeclaring
	}
	detail := fmt.Sprintf("payment declaration %s", d.Status)
	if d.Reason != "" {
		detail += ": " + d.Reason
	}
	o.event(ctx, "customs", detail)
	o.upsert(ctx)
}

// awaitClearance waits for the verdict up to ClearanceTimeout; past it the
// order needs attention, and RetryStep("clearance") waits another period.
func (o *order) awaitClearance(ctx workflow.Context) (bool, error) {
	var cleared bool
	err := o.step(ctx, StepClearance, func(ctx workflow.Context) error {
		o.clearanceDeadline = workflow.Now(ctx).Add(o.in.ClearanceTimeout)
		o.transition(ctx, StateAwaitingClearance, "customs", "waiting for customs clearance")
		var err error
		cleared, err = o.clearanceLoop(ctx)
		return err
	})
	return cleared, err
}

func (o *order) clearanceLoop(ctx workflow.Context) (bool, error) {
	for {
		if c := o.clearanceNotice; c != nil {
			o.clearanceNotice = nil
			switch c.Status {
			case providers.ClearanceCleared:
				o.cleared(ctx, *c)
				return true, nil
			case providers.ClearanceRejected:
				return false, o.customsRejected(ctx, *c)
			}
		}
		if o.customs == CustomsDeclarationFailed {
			if err := o.awaitRedeclare(ctx); err != nil {
				return false, err
			}
			continue
		}
		now := workflow.Now(ctx)
		if !now.Before(o.clearanceDeadline) {
			return false, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("no customs verdict within %s", o.in.ClearanceTimeout), "ClearanceTimeout", nil)
		}
		got, err := o.await(ctx, min(o.in.Polling.Clearance, o.clearanceDeadline.Sub(now)),
			func() bool { return o.clearanceNotice != nil })
		if err != nil {
			return false, err
		}
		if !got && workflow.Now(ctx).Before(o.clearanceDeadline) {
			o.pollCustoms(ctx)
		}
	}
}

// pollCustoms queries the declaration (while the provider processes it) and
// the clearance; a verdict becomes the pending clearance notice.
func (o *order) pollCustoms(ctx workflow.Context) {
	log := workflow.GetLogger(ctx)
	if o.customs == CustomsDeclaring && o.declaration != nil {
		var res activities.DeclareResult
		err := run(ctx, pollOptions, customsAct.QueryDeclaration, &res,
			activities.DeclareInput{Provider: o.in.Provider, Request: *o.declaration})
		switch {
		case err != nil:
			log.Warn("declaration poll failed", "OrderID", o.id, "ErrorType", errorType(err))
		case res.Supported && res.Declaration.Status != providers.DeclarationProcessing:
			o.applyDeclaration(ctx, res)
			if o.customs == CustomsDeclarationFailed {
				return
			}
		}
	}
	var c providers.Clearance
	if err := run(ctx, pollOptions, customsAct.QueryClearance, &c, o.id); err != nil {
		log.Warn("clearance poll failed", "OrderID", o.id, "ErrorType", errorType(err))
		return
	}
	if c.Status == providers.ClearanceCleared || c.Status == providers.ClearanceRejected {
		o.clearanceNotice = &c
	}
}

// cleared records the release of the goods; the return window starts.
func (o *order) cleared(ctx workflow.Context, c providers.Clearance) {
	if c.ReleasedAt.IsZero() {
		c.ReleasedAt = workflow.Now(ctx)
	}
	o.clearance = &c
	o.customs = CustomsCleared
	o.returnWindowEnd = c.ReleasedAt.Add(o.in.ReturnWindow)
	o.transition(ctx, StateAwaitingShipment, "customs", "cleared: waiting for shipment")
}

// customsRejected runs the compensation: withdraw the declaration and the
// manifest and refund everything; the order ends CustomsRejected.
func (o *order) customsRejected(ctx workflow.Context, c providers.Clearance) error {
	o.clearance = &c
	o.customs = CustomsRejected
	o.compensating = true
	o.transition(ctx, StateCompensating, "customs", fmt.Sprintf("rejected by customs: %s %s", c.Code, c.Reason))
	if err := o.compensate(ctx, "customs", "rejected by customs: "+c.Code, nil); err != nil {
		return err
	}
	o.customs = CustomsRejected
	o.transition(ctx, StateCustomsRejected, string(StepRefund), "refunded after the customs rejection")
	return nil
}

// awaitRedeclare waits in DeclarationFailed for an operator's Redeclare (or a
// verdict), then re-declares with the corrected data.
func (o *order) awaitRedeclare(ctx workflow.Context) error {
	o.transition(ctx, StateDeclarationFailed, "customs", "payment declaration failed: waiting for Redeclare")
	if _, err := o.await(ctx, 0, func() bool { return o.redeclare != nil || o.clearanceNotice != nil }); err != nil {
		return err
	}
	rd := o.redeclare
	if rd == nil {
		return nil
	}
	o.redeclare = nil
	req := *o.declaration
	if rd.Payer != nil {
		req.Payer = *rd.Payer
	}
	if rd.CustomsCode != "" {
		req.CustomsCode = rd.CustomsCode
	}
	if rd.MerchantCustomsCode != "" {
		req.MerchantCustomsCode = rd.MerchantCustomsCode
	}
	if rd.MerchantCustomsName != "" {
		req.MerchantCustomsName = rd.MerchantCustomsName
	}
	o.declaration = &req
	o.declarations++
	o.customs = CustomsDeclaring
	o.transition(ctx, StateAwaitingClearance, "customs", "re-declaring: "+rd.Reason)
	var res activities.DeclareResult
	err := o.step(ctx, StepDeclare, func(ctx workflow.Context) error {
		return run(ctx, customsOptions, customsAct.Redeclare, &res, activities.DeclareInput{Provider: o.in.Provider, Request: req})
	})
	if err != nil {
		return err
	}
	o.applyDeclaration(ctx, res)
	o.clearanceDeadline = workflow.Now(ctx).Add(o.in.ClearanceTimeout)
	return nil
}
