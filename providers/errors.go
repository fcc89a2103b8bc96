package providers

import (
	"errors"
	"fmt"
)

// ErrorType names a class of provider failure. Activities turn non-retryable
// types into non-retryable Temporal application errors of the same name.
type ErrorType string

// Retryable failures: the same request may succeed later.
const (
	// ErrTypeUnavailable is a network failure, timeout, 5xx or provider system error.
	ErrTypeUnavailable ErrorType = "ProviderUnavailable"
	// ErrTypeRateLimited is a frequency limit.
	ErrTypeRateLimited ErrorType = "ProviderRateLimited"
	// ErrTypeProcessing means the provider is still working on it (ask again).
	ErrTypeProcessing ErrorType = "ProviderProcessing"
)

// Non-retryable failures: repeating the same request cannot succeed.
const (
	// ErrTypeInvalidRequest is a parameter the provider refuses.
	ErrTypeInvalidRequest ErrorType = "ProviderInvalidRequest"
	// ErrTypeTradeClosed means the trade is closed.
	ErrTypeTradeClosed ErrorType = "ProviderTradeClosed"
	// ErrTypeTradePaid means the trade is already paid (close refused).
	ErrTypeTradePaid ErrorType = "ProviderTradePaid"
	// ErrTypeTradeNotFound means the trade does not exist (for an operation that needs one).
	ErrTypeTradeNotFound ErrorType = "ProviderTradeNotFound"
	// ErrTypeRefundExceeded means the refund is larger than what remains refundable.
	ErrTypeRefundExceeded ErrorType = "ProviderRefundExceeded"
	// ErrTypeDuplicateRequest means an out_* number was reused with different content.
	ErrTypeDuplicateRequest ErrorType = "ProviderDuplicateRequest"
	// ErrTypeSignature is a signature or decryption failure (ours or theirs).
	ErrTypeSignature ErrorType = "ProviderSignature"
	// ErrTypeAuth is a permission or account problem.
	ErrTypeAuth ErrorType = "ProviderAuth"
	// ErrTypeNotSupported is an operation this provider does not offer.
	ErrTypeNotSupported ErrorType = "ProviderNotSupported"
	// ErrTypeRejected is any other final business refusal.
	ErrTypeRejected ErrorType = "ProviderRejected"
)

// Retryable reports whether failures of this type may succeed when repeated.
func (t ErrorType) Retryable() bool {
	switch t {
	case ErrTypeUnavailable, ErrTypeRateLimited, ErrTypeProcessing:
		return true
	}
	return false
}

// Error is a classified provider failure.
type Error struct {
	// Provider names who failed ("alipay", "wechatpay", "customs", ...).
	Provider string
	// Op is the operation ("create", "refund", ...).
	Op string
	// Type is the class of failure.
	Type ErrorType
	// Code is the provider's own code (sub_code, code), when it gave one.
	Code string
	// Message is the provider's message.
	Message string
	// Err is the underlying error, if any.
	Err error
}

// Error formats the failure.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: %s", e.Provider, e.Op, e.Type)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the failure may succeed when repeated.
func (e *Error) Retryable() bool { return e.Type.Retryable() }

// NewError builds a classified provider error.
func NewError(provider, op string, t ErrorType, code, message string, err error) *Error {
	return &Error{Provider: provider, Op: op, Type: t, Code: code, Message: message, Err: err}
}

// Classify returns the type of err: the Error's own type, ErrTypeUnavailable for
// network errors, timeouts and anything unclassified (retrying an unknown
// failure is the safe default for idempotent requests), and "" for nil.
func Classify(err error) ErrorType {
	if err == nil {
		return ""
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Type
	}
	return ErrTypeUnavailable
}

// IsType reports whether err is a provider Error of type t.
func IsType(err error, t ErrorType) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Type == t
}
