package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Rules named by rejections. Update validators reject with a non-retryable
// temporal.ApplicationError whose Type is the rule and whose details hold a
// Rejection, so the API can answer with the rule and the field. CBEC rule
// failures carry the cbec.Rule names ("cbec.order_limit", ...).
const (
	// RuleInput is a malformed order input.
	RuleInput = "input"
	// RuleRefundNo is a malformed or reserved refund number.
	RuleRefundNo = "refund.refund_no"
	// RuleRefundNoReused is a refund number reused with different content.
	RuleRefundNoReused = "refund.refund_no_reused"
	// RuleRefundState is a refund asked in a state that has nothing to refund.
	RuleRefundState = "refund.state"
	// RuleRefundAmount is a refund amount that is not positive whole fen in CNY.
	RuleRefundAmount = "refund.amount"
	// RuleRefundExceedsCaptured is a refund above what remains refundable.
	RuleRefundExceedsCaptured = "refund.exceeds_captured"
	// RuleRefundCount is one refund too many for an order (MaxRefunds).
	RuleRefundCount = "refund.count"
	// RuleRefundItems is a bad item reference.
	RuleRefundItems = "refund.items"
	// RuleReturnBeforeShipment is a return asked before the goods shipped.
	RuleReturnBeforeShipment = "refund.return_before_shipment"
	// RuleReturnWindow is a return asked more than 30 days after customs release.
	RuleReturnWindow = "refund.return_window"
	// RuleRefundNeedsApproval is a refund without return after shipment, not approved by an operator.
	RuleRefundNeedsApproval = "refund.needs_return_or_approval"
	// RuleCancelState is a Cancel in a state that cannot be cancelled.
	RuleCancelState = "cancel.state"
	// RuleCancelAfterShipment is a Cancel after shipment (refund instead).
	RuleCancelAfterShipment = "cancel.after_shipment"
	// RuleShipmentState is a Shipped update before clearance or after cancellation.
	RuleShipmentState = "shipment.state"
	// RuleShipmentData is a malformed carrier or tracking number.
	RuleShipmentData = "shipment.data"
	// RuleConfirmState is a ConfirmReceipt or ForceRelease while not awaiting confirmation.
	RuleConfirmState = "confirmation.state"
	// RuleExtensionState is an extension while not awaiting confirmation.
	RuleExtensionState = "extension.state"
	// RuleExtensionDays is an extension of less than one day.
	RuleExtensionDays = "extension.days"
	// RuleExtensionCount is one extension too many.
	RuleExtensionCount = "extension.count"
	// RuleExtensionTotal is an extension beyond the total allowed.
	RuleExtensionTotal = "extension.total"
	// RuleRedeclareState is a Redeclare while the declaration has not failed.
	RuleRedeclareState = "redeclare.state"
	// RuleRedeclareData is a Redeclare without a usable correction.
	RuleRedeclareData = "redeclare.data"
	// RuleRetryState is a RetryStep for a step that does not need attention.
	RuleRetryState = "retry.state"
	// RuleRequestFields is a missing reason or requester.
	RuleRequestFields = "request.fields"
	// RuleReturnShipmentState is a return shipment the refund does not wait for.
	RuleReturnShipmentState = "return_shipment.state"
)

// violation builds a validator's rejection.
func violation(rule, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: %s: %s", rule, field, msg), rule,
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{Rejection{Rule: rule, Field: field, Message: msg}}})
}
