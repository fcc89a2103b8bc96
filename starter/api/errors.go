package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/workflows"
)

// Error codes of the API's own errors. Rule violations carry the rule's name
// instead (a cbec.Rule such as "cbec.order_limit", or the workflow's rule).
const (
	// CodeInvalidRequest is a malformed body: not JSON, unknown field, trailing data.
	CodeInvalidRequest = "invalid_request"
	// CodeInvalidField is a field that breaks its rule (charset, length, enum, range).
	CodeInvalidField = "invalid_field"
	// CodeUnauthenticated is a missing or unknown API key.
	CodeUnauthenticated = "unauthenticated"
	// CodeNotFound is an unknown order or refund (or one of another merchant).
	CodeNotFound = "not_found"
	// CodeConflict is a merchant order number reused with a different body.
	CodeConflict = "conflict"
	// CodeIdempotencyKeyReused is an Idempotency-Key reused with a different request.
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	// CodeIdempotencyKeyInUse is an Idempotency-Key whose first request is still running.
	CodeIdempotencyKeyInUse = "idempotency_key_in_use"
	// CodeOrderClosed is an action on an order whose workflow has ended.
	CodeOrderClosed = "order_closed"
	// CodeRejected is an update the order refused without naming a rule.
	CodeRejected = "rejected"
	// CodeUnavailable is Temporal (or the worker) not answering in time; retry.
	CodeUnavailable = "unavailable"
	// CodeMethodNotAllowed is a method the endpoint does not take.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeTooLarge is a body over the size limit.
	CodeTooLarge = "body_too_large"
	// CodeUnsupportedMediaType is a body that is not application/json.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeInternal is an unexpected failure; the log has the details.
	CodeInternal = "internal"
)

// Problem is the body of every 4xx and 5xx answer of the store API.
type Problem struct {
	// Code is a stable machine-readable code: one of the Code* constants or a rule name.
	Code string `json:"code"`
	// Message says what is wrong, for people.
	Message string `json:"message"`
	// Field is the offending request field, as a JSON path ("items[1].quantity"), when there is one.
	Field string `json:"field,omitempty"`

	status int
}

// Error formats the problem.
func (p *Problem) Error() string {
	if p.Field != "" {
		return fmt.Sprintf("%d %s: %s: %s", p.status, p.Code, p.Field, p.Message)
	}
	return fmt.Sprintf("%d %s: %s", p.status, p.Code, p.Message)
}

// Status returns the HTTP status the problem is answered with.
func (p *Problem) Status() int { return p.status }

func problem(status int, code, field, format string, args ...any) *Problem {
	return &Problem{status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// badField is a 400 for a field that breaks its rule.
func badField(field, format string, args ...any) *Problem {
	return problem(http.StatusBadRequest, CodeInvalidField, field, format, args...)
}

// notFound is the 404 for an order or refund that does not exist or belongs to another merchant.
func notFound(what string) *Problem {
	return problem(http.StatusNotFound, CodeNotFound, "", "%s not found", what)
}

// ruleProblem turns a CBEC rule violation into a 422 naming the rule and the
// field in the API's JSON spelling.
func ruleProblem(re *cbec.RuleError) *Problem {
	return problem(http.StatusUnprocessableEntity, string(re.Rule), jsonField(re.Field), "%s", re.Message)
}

// jsonField turns the Go field paths of cbec and the workflows
// ("Lines[2].UnitPrice", "Buyer.IDNumber", "Dutiable") into the API's JSON
// paths ("items[2].unitPrice", "buyer.idNumber", "items").
func jsonField(goPath string) string {
	if goPath == "" {
		return ""
	}
	parts := strings.Split(goPath, ".")
	for i, part := range parts {
		name, index, _ := strings.Cut(part, "[")
		if mapped, ok := fieldNames[name]; ok {
			name = mapped
		} else if name != "" {
			name = strings.ToLower(name[:1]) + name[1:]
		}
		if index != "" {
			name += "[" + index
		}
		parts[i] = name
	}
	return strings.Join(parts, ".")
}

// fieldNames maps Go field names whose JSON spelling is not just a lower-case first letter.
var fieldNames = map[string]string{
	"Lines":           "items",
	"IDNumber":        "idNumber",
	"SKU":             "sku",
	"Dutiable":        "items",
	"BuyerYearToDate": "buyer",
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal","message":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeProblem answers a problem; 503s say when to retry.
func writeProblem(w http.ResponseWriter, p *Problem) {
	if p.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, p.status, p)
}

// temporalUnavailable reports failures that mean Temporal (or the worker
// answering a query or an update) did not answer in time: worth a retry.
func temporalUnavailable(err error) bool {
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
		canceled    *serviceerror.Canceled
		busy        *serviceerror.NamespaceUnavailable
	)
	switch {
	case errors.As(err, &unavailable), errors.As(err, &deadline), errors.As(err, &exhausted),
		errors.As(err, &canceled), errors.As(err, &busy):
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return true
	}
	return false
}

// isNotFound reports a workflow that does not exist (or, for updates and
// signals, has already completed).
func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// isAlreadyStarted reports a start refused because the workflow id is taken.
func isAlreadyStarted(err error) bool {
	var as *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &as) || temporal.IsWorkflowExecutionAlreadyStartedError(err)
}

// updateProblem maps the failure of an update or query: a validator's (or
// handler's) application error becomes 422 with its type as code; anything
// else goes through temporalProblem.
func updateProblem(err error) *Problem {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		code := appErr.Type()
		if code == "" {
			code = CodeRejected
		}
		msg := appErr.Message()
		var field string
		if appErr.HasDetails() {
			var d workflows.Rejection
			if appErr.Details(&d) == nil {
				field = jsonField(d.Field)
				if d.Rule != "" {
					code = d.Rule
				}
				if d.Message != "" {
					msg = d.Message
				}
			}
		}
		return &Problem{status: http.StatusUnprocessableEntity, Code: code, Message: msg, Field: field}
	}
	return nil
}
