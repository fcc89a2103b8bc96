package alipay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"testing"

	sdk "github.com/smartwalle/alipay/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
)

// TestClassifyKnowsEveryCode lists every code and sub_code the adapter knows
// with its class. Adding a code to the tables without listing it here fails.
func TestClassifyKnowsEveryCode(t *testing.T) {
	top := map[string]providers.ErrorType{
		"20000": providers.ErrTypeUnavailable,
		"20001": providers.ErrTypeAuth,
		"40001": providers.ErrTypeInvalidRequest,
		"40002": providers.ErrTypeInvalidRequest,
		"40003": providers.ErrTypeRejected,
		"40004": providers.ErrTypeRejected,
		"40005": providers.ErrTypeRateLimited,
		"40006": providers.ErrTypeAuth,
	}
	sub := map[string]providers.ErrorType{
		"ACQ.SYSTEM_ERROR":                      providers.ErrTypeUnavailable,
		"aop.ACQ.SYSTEM_ERROR":                  providers.ErrTypeUnavailable,
		"AQC.SYSTEM_ERROR":                      providers.ErrTypeUnavailable,
		"isp.unknow-error":                      providers.ErrTypeUnavailable,
		"aop.unknow-error":                      providers.ErrTypeUnavailable,
		"ACQ.TRADE_HAS_CLOSE":                   providers.ErrTypeTradeClosed,
		"ACQ.TRADE_HAS_FINISHED":                providers.ErrTypeTradeClosed,
		"ACQ.TRADE_HAS_SUCCESS":                 providers.ErrTypeTradePaid,
		"ACQ.TRADE_NOT_EXIST":                   providers.ErrTypeTradeNotFound,
		"ACQ.REFUND_AMT_NOT_EQUAL_TOTAL":        providers.ErrTypeRefundExceeded,
		"ACQ.REFUND_FEE_ERROR":                  providers.ErrTypeRefundExceeded,
		"ACQ.REFUND_AMT_RESTRICTION":            providers.ErrTypeRefundExceeded,
		"ACQ.REASON_TRADE_REFUND_FEE_ERR":       providers.ErrTypeRefundExceeded,
		"ACQ.INVALID_PARAMETER":                 providers.ErrTypeInvalidRequest,
		"isv.invalid-parameter":                 providers.ErrTypeInvalidRequest,
		"isv.invalid-timestamp":                 providers.ErrTypeInvalidRequest,
		"isv.invalid-signature":                 providers.ErrTypeSignature,
		"isv.invalid-signature-type":            providers.ErrTypeSignature,
		"isv.missing-signature":                 providers.ErrTypeSignature,
		"isv.missing-signature-type":            providers.ErrTypeSignature,
		"isv.invalid-app-id":                    providers.ErrTypeAuth,
		"isv.insufficient-isv-permissions":      providers.ErrTypeAuth,
		"isv.insufficient-user-permissions":     providers.ErrTypeAuth,
		"ACQ.ACCESS_FORBIDDEN":                  providers.ErrTypeAuth,
		"isv.invalid-method":                    providers.ErrTypeNotSupported,
		"ACQ.CONTEXT_INCONSISTENT":              providers.ErrTypeDuplicateRequest,
		"ACQ.DISCORDANT_REPEAT_REQUEST":         providers.ErrTypeDuplicateRequest,
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
	require.Len(t, topCodeTypes, len(top), "every public code must be listed in this test")
	require.Len(t, subCodeTypes, len(sub), "every sub_code must be listed in this test")
	for code, want := range top {
		t.Run(code, func(t *testing.T) {
			assert.Equal(t, want, classify(code, ""))
		})
	}
	for subCode, want := range sub {
		t.Run(subCode, func(t *testing.T) {
			// The sub_code wins over a generic business-failure code.
			assert.Equal(t, want, classify("40004", subCode))
		})
	}
}

// TestClassifyFamilies covers the sub_code families and unknown codes.
func TestClassifyFamilies(t *testing.T) {
	for _, tc := range []struct {
		code, sub string
		want      providers.ErrorType
	}{
		{"40004", "ACQ.TRADE_FREQUENCY_LIMITED", providers.ErrTypeRateLimited},
		{"40004", "ACQ.REQUEST_TOO_FREQUENTLY", providers.ErrTypeRateLimited},
		{"40005", "isv.app-call-limited", providers.ErrTypeRateLimited},
		{"20000", "isp.some-new-failure", providers.ErrTypeUnavailable},
		{"40001", "isv.missing-method", providers.ErrTypeInvalidRequest},
		{"40002", "isv.invalid-charset", providers.ErrTypeInvalidRequest},
		{"40004", "ACQ.SOMETHING_NEW", providers.ErrTypeRejected},
		{"40002", "", providers.ErrTypeInvalidRequest},
		{"99999", "", ""},
		{"", "", ""},
	} {
		t.Run(tc.code+"/"+tc.sub, func(t *testing.T) {
			assert.Equal(t, tc.want, classify(tc.code, tc.sub))
		})
	}
}

// TestErrorsAreClassified checks the adapter's two error paths: signed
// business failures and failed calls.
func TestErrorsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		want     providers.ErrorType
		wantCode string
	}{
		{"business system error", businessError("create", sdk.Error{Code: "20000", Msg: "Service Currently Unavailable", SubCode: "aop.ACQ.SYSTEM_ERROR"}), providers.ErrTypeUnavailable, "aop.ACQ.SYSTEM_ERROR"},
		{"business unknown top code", businessError("create", sdk.Error{Code: "12345"}), providers.ErrTypeUnavailable, "12345"},
		{"business refund exceeded", businessError("refund", sdk.Error{Code: "40004", SubCode: "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"}), providers.ErrTypeRefundExceeded, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"},
		{"unsigned invalid signature", callError("query", &sdk.Error{Code: "40002", SubCode: "isv.invalid-signature"}), providers.ErrTypeSignature, "isv.invalid-signature"},
		{"unsigned unknown", callError("query", &sdk.Error{Code: "777"}), providers.ErrTypeUnavailable, "777"},
		{"response signature", callError("query", fmt.Errorf("verify: %w", rsa.ErrVerification)), providers.ErrTypeSignature, ""},
		{"no public key", callError("query", sdk.ErrAliPublicKeyNotFound), providers.ErrTypeSignature, ""},
		{"bad response", callError("query", sdk.ErrBadResponse), providers.ErrTypeUnavailable, ""},
		{"transport", callError("query", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), providers.ErrTypeUnavailable, ""},
		{"deadline", callError("query", context.DeadlineExceeded), providers.ErrTypeUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pe *providers.Error
			require.ErrorAs(t, tc.err, &pe)
			assert.Equal(t, "alipay", pe.Provider)
			assert.Equal(t, tc.want, pe.Type)
			assert.Equal(t, tc.wantCode, pe.Code)
		})
	}
}
