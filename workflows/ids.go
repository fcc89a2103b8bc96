package workflows

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	merchantIDPattern      = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
	merchantOrderNoPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	refundNoPattern        = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
)

// systemRefundPrefix starts the refund numbers the order itself issues for
// compensation (cancellation, customs rejection, payment mismatch).
const systemRefundPrefix = "xhs_"

// ValidateOrderRef checks a merchant id ([A-Za-z0-9_], 1-32 characters) and a
// merchant order number ([A-Za-z0-9_-], 1-64). The merchant id has no '-', so
// the workflow id "order-<merchantId>-<merchantOrderNo>" names exactly one pair.
func ValidateOrderRef(merchantID, merchantOrderNo string) error {
	if !merchantIDPattern.MatchString(merchantID) {
		return fmt.Errorf("merchantId: must be 1-32 characters of [A-Za-z0-9_], got %q", merchantID)
	}
	if !merchantOrderNoPattern.MatchString(merchantOrderNo) {
		return fmt.Errorf("merchantOrderNo: must be 1-64 characters of [A-Za-z0-9_-], got %q", merchantOrderNo)
	}
	return nil
}

// OrderWorkflowID returns the order workflow's id, "order-<merchantId>-<merchantOrderNo>".
// Check the parts with ValidateOrderRef first; the workflow rejects an order
// whose id does not match its input.
func OrderWorkflowID(merchantID, merchantOrderNo string) string {
	return "order-" + merchantID + "-" + merchantOrderNo
}

// ValidateRefundNo checks a merchant refund number: 1-64 characters of
// [A-Za-z0-9_] (no '-', so that "refund-<orderId>-<refundNo>" names exactly one
// pair), not starting with the reserved prefix "xhs_".
func ValidateRefundNo(refundNo string) error {
	if !refundNoPattern.MatchString(refundNo) {
		return fmt.Errorf("refundNo: must be 1-64 characters of [A-Za-z0-9_], got %q", refundNo)
	}
	if strings.HasPrefix(refundNo, systemRefundPrefix) {
		return fmt.Errorf("refundNo: the prefix %q is reserved, got %q", systemRefundPrefix, refundNo)
	}
	return nil
}

// RefundWorkflowID returns a refund workflow's id, "refund-<orderId>-<refundNo>".
func RefundWorkflowID(orderID, refundNo string) string {
	return "refund-" + orderID + "-" + refundNo
}
