package alipay

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/xhspay/xhspay/providers"
)

// providerName is the Provider of every error this adapter returns.
const providerName = string(providers.Alipay)

// topCodeTypes classifies Alipay's public response codes.
var topCodeTypes = map[string]providers.ErrorType{
	"20000": providers.ErrTypeUnavailable,    // service currently unavailable
	"20001": providers.ErrTypeAuth,           // insufficient token permissions
	"40001": providers.ErrTypeInvalidRequest, // missing required arguments
	"40002": providers.ErrTypeInvalidRequest, // invalid arguments
	"40003": providers.ErrTypeRejected,       // insufficient conditions
	"40004": providers.ErrTypeRejected,       // business failed (without a more precise sub_code)
	"40005": providers.ErrTypeRateLimited,    // call limited
	"40006": providers.ErrTypeAuth,           // insufficient permissions
}

// subCodeTypes classifies the sub_codes the adapter knows; they take
// precedence over the public code.
var subCodeTypes = map[string]providers.ErrorType{
	"ACQ.SYSTEM_ERROR":     providers.ErrTypeUnavailable,
	"aop.ACQ.SYSTEM_ERROR": providers.ErrTypeUnavailable,
	"AQC.SYSTEM_ERROR":     providers.ErrTypeUnavailable, // sic, documented by Alipay for alipay.trade.cancel
	"isp.unknow-error":     providers.ErrTypeUnavailable, // sic
	"aop.unknow-error":     providers.ErrTypeUnavailable, // sic

	"ACQ.TRADE_HAS_CLOSE":    providers.ErrTypeTradeClosed,
	"ACQ.TRADE_HAS_FINISHED": providers.ErrTypeTradeClosed,
	"ACQ.TRADE_HAS_SUCCESS":  providers.ErrTypeTradePaid,
	"ACQ.TRADE_NOT_EXIST":    providers.ErrTypeTradeNotFound,

	"ACQ.REFUND_AMT_NOT_EQUAL_TOTAL":  providers.ErrTypeRefundExceeded,
	"ACQ.REFUND_FEE_ERROR":            providers.ErrTypeRefundExceeded,
	"ACQ.REFUND_AMT_RESTRICTION":      providers.ErrTypeRefundExceeded,
	"ACQ.REASON_TRADE_REFUND_FEE_ERR": providers.ErrTypeRefundExceeded,

	"ACQ.INVALID_PARAMETER": providers.ErrTypeInvalidRequest,
	"isv.invalid-parameter": providers.ErrTypeInvalidRequest,
	"isv.invalid-timestamp": providers.ErrTypeInvalidRequest,

	"isv.invalid-signature":      providers.ErrTypeSignature,
	"isv.invalid-signature-type": providers.ErrTypeSignature,
	"isv.missing-signature":      providers.ErrTypeSignature,
	"isv.missing-signature-type": providers.ErrTypeSignature,

	"isv.invalid-app-id":                providers.ErrTypeAuth,
	"isv.insufficient-isv-permissions":  providers.ErrTypeAuth,
	"isv.insufficient-user-permissions": providers.ErrTypeAuth,
	"ACQ.ACCESS_FORBIDDEN":              providers.ErrTypeAuth,

	"isv.invalid-method": providers.ErrTypeNotSupported,

	"ACQ.CONTEXT_INCONSISTENT":      providers.ErrTypeDuplicateRequest,
	"ACQ.DISCORDANT_REPEAT_REQUEST": providers.ErrTypeDuplicateRequest,

	"ACQ.BUYER_BALANCE_NOT_ENOUGH":          providers.ErrTypeRejected,
	"ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH": providers.ErrTypeRejected,
	"ACQ.BUYER_ENABLE_STATUS_FORBID":        providers.ErrTypeRejected,
	"ACQ.BUYER_SELLER_EQUAL":                providers.ErrTypeRejected,
	"ACQ.TRADE_BUYER_NOT_MATCH":             providers.ErrTypeRejected,
	"ACQ.PAYMENT_FAIL":                      providers.ErrTypeRejected,
	"ACQ.SELLER_BALANCE_NOT_ENOUGH":         providers.ErrTypeRejected,
	"ACQ.TRADE_STATUS_ERROR":                providers.ErrTypeRejected,
	"ACQ.TRADE_NOT_ALLOW_REFUND":            providers.ErrTypeRejected,
	"ACQ.REASON_TRADE_BEEN_FREEZEN":         providers.ErrTypeRejected,
	"ACQ.TOTAL_FEE_EXCEED":                  providers.ErrTypeRejected,
	"ACQ.EXIST_FORBIDDEN_WORD":              providers.ErrTypeRejected,
}

// classify returns the error type of an Alipay code and sub_code, or "" when
// neither is known. Exact sub_codes come first, then sub_code families
// (frequency limits, isp.* system errors, isv.missing-*/isv.invalid-*
// parameter errors), then the public code.
func classify(code, subCode string) providers.ErrorType {
	if t, ok := subCodeTypes[subCode]; ok {
		return t
	}
	lower := strings.ToLower(subCode)
	switch {
	case strings.Contains(lower, "frequency_limit") || strings.Contains(lower, "too_frequently") || strings.Contains(lower, "call-limited"):
		return providers.ErrTypeRateLimited
	case strings.HasPrefix(subCode, "isp."):
		return providers.ErrTypeUnavailable
	case strings.HasPrefix(subCode, "isv.missing-") || strings.HasPrefix(subCode, "isv.invalid-"):
		return providers.ErrTypeInvalidRequest
	}
	return topCodeTypes[code]
}

// businessError classifies a response whose code is not a success.
func businessError(op string, e sdk.Error) error {
	t := classify(string(e.Code), e.SubCode)
	if t == "" {
		t = providers.ErrTypeUnavailable
	}
	code, msg := e.SubCode, e.SubMsg
	if code == "" {
		code, msg = string(e.Code), e.Msg
	}
	return providers.NewError(providerName, op, t, code, msg, nil)
}

// callError classifies a failed SDK call: an unsigned Alipay error by its
// codes, a response whose signature does not verify as ErrTypeSignature, and
// transport failures, non-JSON (5xx) bodies and unknown codes as ErrTypeUnavailable.
func callError(op string, err error) error {
	var ae *sdk.Error
	if errors.As(err, &ae) && ae != nil {
		t := classify(string(ae.Code), ae.SubCode)
		if t == "" {
			t = providers.ErrTypeUnavailable
		}
		code, msg := ae.SubCode, ae.SubMsg
		if code == "" {
			code, msg = string(ae.Code), ae.Msg
		}
		return providers.NewError(providerName, op, t, code, msg, err)
	}
	var b64 base64.CorruptInputError
	switch {
	case errors.Is(err, rsa.ErrVerification), errors.As(err, &b64),
		errors.Is(err, sdk.ErrSignNotFound), errors.Is(err, sdk.ErrAliPublicKeyNotFound):
		return providers.NewError(providerName, op, providers.ErrTypeSignature, "", "response signature does not verify", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "call interrupted", err)
	}
	return providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "call failed", err)
}

// invalidRequest is our own refusal of a bad request, naming the field and the rule.
func invalidRequest(op, field, rule string) error {
	return providers.NewError(providerName, op, providers.ErrTypeInvalidRequest, "", field+": "+rule, nil)
}

// badResponse is a success response the adapter cannot read.
func badResponse(op, what string, err error) error {
	return providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "unreadable response: "+what, err)
}
