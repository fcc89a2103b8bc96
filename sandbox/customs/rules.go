package customs

import (
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/sandbox/internal/hmacsig"
)

// Error codes of the customs API, answered as {"code","message"}.
const (
	// CodeInvalidRequest is a malformed or invalid request.
	CodeInvalidRequest = hmacsig.CodeInvalidRequest
	// CodeKeyUnknown is an unknown X-Xhs-Key-Id.
	CodeKeyUnknown = hmacsig.CodeKeyUnknown
	// CodeSignatureInvalid is a missing or wrong signature.
	CodeSignatureInvalid = hmacsig.CodeSignatureInvalid
	// CodeTimestampExpired is a timestamp more than five minutes off.
	CodeTimestampExpired = hmacsig.CodeTimestampExpired
	// CodeRouteNotFound is a request to no endpoint.
	CodeRouteNotFound = hmacsig.CodeRouteNotFound
	// CodeRateLimited is a frequency limit.
	CodeRateLimited = hmacsig.CodeRateLimited
	// CodeSystemError is an internal failure.
	CodeSystemError = hmacsig.CodeSystemError
	// CodeServiceUnavailable is a maintenance window or overload.
	CodeServiceUnavailable = hmacsig.CodeServiceUnavailable
)

// Error codes of the customs API beyond those every HMAC provider answers with.
const (
	// CodeManifestNotFound means no manifest was filed for the order.
	CodeManifestNotFound = "MANIFEST_NOT_FOUND"
	// CodeReturnNotFound means no such return.
	CodeReturnNotFound = "RETURN_NOT_FOUND"
	// CodeDuplicateOrderNo means the order was filed with different content.
	CodeDuplicateOrderNo = "DUPLICATE_ORDER_NO"
	// CodeDuplicateOutReturnNo means the return number was used with different content.
	CodeDuplicateOutReturnNo = "DUPLICATE_OUT_RETURN_NO"
	// CodeAlreadyReleased means the order was released and can no longer be cancelled.
	CodeAlreadyReleased = "ALREADY_RELEASED"
	// CodeOrderNotReleased means a return was filed for an order not released.
	CodeOrderNotReleased = "ORDER_NOT_RELEASED"
	// CodeReturnItemsInvalid means returned items are not on the order or exceed what is left.
	CodeReturnItemsInvalid = "RETURN_ITEMS_INVALID"
)

// codes maps every error code to its HTTP status.
var codes = hmacsig.WithCommonCodes(hmacsig.Codes{
	CodeManifestNotFound:     http.StatusNotFound,
	CodeReturnNotFound:       http.StatusNotFound,
	CodeDuplicateOrderNo:     http.StatusConflict,
	CodeDuplicateOutReturnNo: http.StatusConflict,
	CodeAlreadyReleased:      http.StatusConflict,
	CodeOrderNotReleased:     http.StatusConflict,
	CodeReturnItemsInvalid:   http.StatusUnprocessableEntity,
})

// Codes returns every error code of the API with its HTTP status.
func Codes() map[string]int { return maps.Clone(codes) }

// needsRegistration reports whether goods of a CBEC category need a
// registration or filing number; unknown categories do not.
func needsRegistration(category string) bool {
	c, ok := cbec.LookupCategory(strings.ToLower(strings.TrimSpace(category)))
	return ok && c.NeedsRegistration
}

// sameName compares real names as customs does: exactly, after trimming.
func sameName(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }

// normID is the form in which ID numbers are compared.
func normID(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

func sameID(a, b string) bool { return normID(a) == normID(b) }

// validIDNumber checks the form of an 18-character resident ID number.
func validIDNumber(id string) bool {
	id = normID(id)
	if len(id) != 18 {
		return false
	}
	for i, r := range id {
		if (r < '0' || r > '9') && !(i == 17 && r == 'X') {
			return false
		}
	}
	return true
}

// yuan formats fen as "RMB 1234.50".
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("RMB %s%d.%02d", sign, fen/100, fen%100)
}
