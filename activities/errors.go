// Package activities holds the Temporal activities of the payment workflows.
// Each activity is thin: one provider call or one query, idempotent by a key
// that the workflow derives from the order and the step (providers.Key), so a
// retried activity repeats the same request and never mints a new one.
// Activities are grouped in one struct per concern with injected ports
// (Payments, Customs, Validation, FX, Identity, and the finance groups Ledger,
// Settlement and Reconciliation); Register wires them into a worker.
//
// Every provider failure goes through ProviderError: retryable types come back
// as retryable application errors and Temporal retries them with backoff;
// non-retryable types come back as non-retryable application errors whose type
// is the providers.ErrorType name, so retry policies and workflows can tell
// them apart.
package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/providers"
)

// ErrTypeNotConfigured is the application error type for an activity asked to
// use a provider the worker was not configured with. It is not retryable: the
// worker's configuration must change first.
const ErrTypeNotConfigured = "ProviderNotConfigured"

// ErrTypeInvalidInput is the application error type for an activity input that
// can never succeed (a missing field, an amount that is not CNY, ...).
const ErrTypeInvalidInput = "InvalidActivityInput"

// ProviderError turns a provider failure into the error an activity returns:
// nil stays nil; a retryable type (unavailable, rate limited, processing, or
// any unclassified error) becomes a retryable application error; any other
// type becomes a non-retryable application error. The application error type
// is always the providers.ErrorType name. Errors that already are Temporal
// application errors, and context cancellations, pass through unchanged.
func ProviderError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	t := providers.Classify(err)
	if t.Retryable() {
		return temporal.NewApplicationErrorWithCause(err.Error(), string(t), err)
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), string(t), err)
}

// invalidInput reports an activity input that cannot succeed on any retry.
func invalidInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeInvalidInput, nil)
}

// notConfigured reports a provider the worker has no adapter for.
func notConfigured(what string, name providers.Name) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("no %s configured for provider %q", what, name), ErrTypeNotConfigured, nil)
}
