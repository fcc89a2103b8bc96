package wechatpay

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"github.com/xhspay/xhspay/providers"
)

// codeTypes classifies WeChat Pay APIv3 error codes.
var codeTypes = map[string]providers.ErrorType{
	"SYSTEM_ERROR":          providers.ErrTypeUnavailable,
	"BANK_ERROR":            providers.ErrTypeUnavailable,
	"FREQUENCY_LIMITED":     providers.ErrTypeRateLimited,
	"RATELIMIT_EXCEED":      providers.ErrTypeRateLimited,
	"ORDER_CLOSED":          providers.ErrTypeTradeClosed,
	"ORDERPAID":             providers.ErrTypeTradePaid,
	"ORDER_NOT_EXIST":       providers.ErrTypeTradeNotFound,
	"RESOURCE_NOT_EXISTS":   providers.ErrTypeTradeNotFound,
	"NOT_ENOUGH":            providers.ErrTypeRefundExceeded,
	"PARAM_ERROR":           providers.ErrTypeInvalidRequest,
	"INVALID_REQUEST":       providers.ErrTypeInvalidRequest,
	"OUT_TRADE_NO_USED":     providers.ErrTypeDuplicateRequest,
	"SIGN_ERROR":            providers.ErrTypeSignature,
	"NO_AUTH":               providers.ErrTypeAuth,
	"MCH_NOT_EXISTS":        providers.ErrTypeAuth,
	"APPID_MCHID_NOT_MATCH": providers.ErrTypeAuth,
}

// classify turns any failure of op into a *providers.Error:
//   - *core.APIError by its code (codeTypes); INVALID_REQUEST of a refund
//     that names the amount is RefundExceeded; an unknown code is Unavailable
//     for HTTP 5xx, RateLimited for 429 and Rejected for other statuses;
//   - a response whose WeChat Pay signature does not verify is Signature;
//   - transport failures, timeouts and anything else are Unavailable
//     (every call is idempotent, so retrying an unknown failure is safe).
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe
	}
	var ae *core.APIError
	if errors.As(err, &ae) {
		return providers.NewError(providerName, op, apiErrorType(op, ae), ae.Code, ae.Message, err)
	}
	if errors.Is(err, errResponseSignature) {
		return providers.NewError(providerName, op, providers.ErrTypeSignature, "", "WeChat Pay response signature did not verify", err)
	}
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &ue), errors.As(err, &ne):
		return providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "transport failure", err)
	}
	return providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "unexpected failure", err)
}

// apiErrorType classifies a WeChat Pay error answer.
func apiErrorType(op string, ae *core.APIError) providers.ErrorType {
	if ae.Code == "INVALID_REQUEST" && op == opRefund && mentionsAmount(ae.Message) {
		return providers.ErrTypeRefundExceeded
	}
	if t, ok := codeTypes[ae.Code]; ok {
		return t
	}
	switch {
	case ae.StatusCode == http.StatusTooManyRequests:
		return providers.ErrTypeRateLimited
	case ae.StatusCode >= 500:
		return providers.ErrTypeUnavailable
	}
	return providers.ErrTypeRejected
}

// mentionsAmount reports whether a refund refusal is about the refundable amount.
func mentionsAmount(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "退款金额") || strings.Contains(m, "可退") || strings.Contains(m, "refund amount") || strings.Contains(m, "refundable")
}

// isNotFound reports whether err is WeChat Pay saying the object does not exist.
func isNotFound(err error) bool {
	var ae *core.APIError
	return errors.As(err, &ae) && (ae.Code == "ORDER_NOT_EXIST" || ae.Code == "RESOURCE_NOT_EXISTS")
}

// invalid is a request this adapter refuses before sending it.
func invalid(op, msg string) error {
	return providers.NewError(providerName, op, providers.ErrTypeInvalidRequest, "", msg, nil)
}
