package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"github.com/xhspay/xhspay/providers"
)

func TestClassifyAPIErrors(t *testing.T) {
	tests := []struct {
		code   string
		status int
		op     string
		msg    string
		want   providers.ErrorType
	}{
		{"SYSTEM_ERROR", 500, opCreate, "", providers.ErrTypeUnavailable},
		{"BANK_ERROR", 500, opRefund, "", providers.ErrTypeUnavailable},
		{"FREQUENCY_LIMITED", 429, opQuery, "", providers.ErrTypeRateLimited},
		{"RATELIMIT_EXCEED", 429, opRelease, "", providers.ErrTypeRateLimited},
		{"", 429, opQuery, "", providers.ErrTypeRateLimited},
		{"ORDER_CLOSED", 400, opRefund, "", providers.ErrTypeTradeClosed},
		{"ORDERPAID", 400, opClose, "", providers.ErrTypeTradePaid},
		{"ORDER_NOT_EXIST", 404, opClose, "", providers.ErrTypeTradeNotFound},
		{"RESOURCE_NOT_EXISTS", 404, opRefund, "", providers.ErrTypeTradeNotFound},
		{"NOT_ENOUGH", 403, opRefund, "", providers.ErrTypeRefundExceeded},
		{"INVALID_REQUEST", 400, opRefund, "申请退款金额超过订单可退金额", providers.ErrTypeRefundExceeded},
		{"INVALID_REQUEST", 400, opRefund, "订单未支付", providers.ErrTypeInvalidRequest},
		{"INVALID_REQUEST", 400, opCreate, "退款金额", providers.ErrTypeInvalidRequest},
		{"PARAM_ERROR", 400, opCreate, "", providers.ErrTypeInvalidRequest},
		{"OUT_TRADE_NO_USED", 403, opCreate, "", providers.ErrTypeDuplicateRequest},
		{"SIGN_ERROR", 401, opQuery, "", providers.ErrTypeSignature},
		{"NO_AUTH", 403, opRelease, "", providers.ErrTypeAuth},
		{"MCH_NOT_EXISTS", 400, opCreate, "", providers.ErrTypeAuth},
		{"APPID_MCHID_NOT_MATCH", 400, opCreate, "", providers.ErrTypeAuth},
		{"SOMETHING_NEW", 502, opQuery, "", providers.ErrTypeUnavailable},
		{"", 503, opQuery, "", providers.ErrTypeUnavailable},
		{"TRADE_ERROR", 403, opCreate, "", providers.ErrTypeRejected},
		{"USER_ACCOUNT_ABNORMAL", 403, opRefund, "", providers.ErrTypeRejected},
		{"", 404, opQuery, "", providers.ErrTypeRejected},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%d_%s", tt.code, tt.status, tt.op), func(t *testing.T) {
			ae := &core.APIError{StatusCode: tt.status, Code: tt.code, Message: tt.msg}
			err := classify(tt.op, ae)
			var pe *providers.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.want, pe.Type)
			assert.Equal(t, "wechatpay", pe.Provider)
			assert.Equal(t, tt.op, pe.Op)
			assert.Equal(t, tt.code, pe.Code)
			assert.ErrorIs(t, err, ae, "the SDK error stays in the chain")
			assert.Equal(t, tt.want.Retryable(), pe.Retryable())
		})
	}
}

func TestClassifyOtherErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want providers.ErrorType
	}{
		{"response signature", fmt.Errorf("%w: %w", errResponseSignature, errors.New("verify failed")), providers.ErrTypeSignature},
		{"transport", &url.Error{Op: "Post", URL: "https://example.invalid", Err: errors.New("connection refused")}, providers.ErrTypeUnavailable},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), providers.ErrTypeUnavailable},
		{"unknown", errors.New("something odd"), providers.ErrTypeUnavailable},
		{"already classified", providers.NewError("wechatpay", "x", providers.ErrTypeAuth, "", "", nil), providers.ErrTypeAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(opQuery, tt.err)
			assert.Equal(t, tt.want, providers.Classify(err))
			var pe *providers.Error
			require.ErrorAs(t, err, &pe)
		})
	}
	assert.NoError(t, classify(opQuery, nil))
}

func TestRedirectKeepsSignedURI(t *testing.T) {
	var got *http.Request
	rt := &redirect{scheme: "http", host: "127.0.0.1:9", next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return nil, errors.New("stop")
	})}
	req, err := http.NewRequest(http.MethodGet, consts.WechatPayAPIServer+"/v3/pay/transactions/out-trade-no/ABC123?mchid=1", nil)
	require.NoError(t, err)
	_, _ = rt.RoundTrip(req)
	require.NotNil(t, got)
	assert.Equal(t, "http://127.0.0.1:9/v3/pay/transactions/out-trade-no/ABC123?mchid=1", got.URL.String())
	assert.Equal(t, "127.0.0.1:9", got.Host)
	assert.Equal(t, consts.WechatPayAPIServer, req.URL.Scheme+"://"+req.URL.Host, "the SDK's request is not modified")
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
