package providers_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
)

var keyShape = regexp.MustCompile(`^[A-Z2-7]{32}$`)

func TestKeyShapeAndDeterminism(t *testing.T) {
	for _, in := range [][]string{
		{"order-1"},
		{"order-1", "pay", "1"},
		{"", ""},
		{"订单-42", "refund", "R-1"},
		{string(make([]byte, 4096)), "declare"},
	} {
		k := providers.Key(in[0], in[1:]...)
		assert.Regexp(t, keyShape, k, "Key(%q)", in)
		assert.Equal(t, k, providers.Key(in[0], in[1:]...), "Key(%q) is deterministic", in)
	}
	// Keys are stored at the providers and re-derived by retried activities of
	// running workflows, so the derivation must never change.
	assert.Equal(t, "TUJSTJ73JXO5OA3BKRZECLC6N75MFDRW", providers.Key("order-1", "pay", "1"))
}

func TestKeyDistinguishesInputs(t *testing.T) {
	inputs := [][]string{
		{"order-1", "pay", "1"},
		{"order-1", "pay", "2"},     // attempt
		{"order-2", "pay", "1"},     // order
		{"order-1", "refund", "1"},  // step
		{"order-1", "1", "pay"},     // step order
		{"order-1", "pay"},          // fewer steps
		{"order-1", "pay1"},         // joined steps
		{"order-1pay", "1"},         // order absorbing a step
		{"a", "bc"},                 // separator ambiguity
		{"ab", "c"},                 //
		{"a", "b", "c"},             //
		{"order-1", "pay", "1", ""}, // a trailing empty step
	}
	seen := map[string][]string{}
	for _, in := range inputs {
		k := providers.Key(in[0], in[1:]...)
		if prev, dup := seen[k]; dup {
			t.Errorf("Key(%q) == Key(%q) == %s", in, prev, k)
		}
		seen[k] = in
	}
	assert.NotEqual(t, providers.Key("a", "bc"), providers.Key("ab", "c"))

	many := map[string]bool{}
	for i := range 2000 {
		many[providers.Key("ORD-"+strconv.Itoa(i), "pay", "1")] = true
	}
	assert.Equal(t, 2000, len(many), "no collisions among many orders")
}

func TestErrorTypeRetryable(t *testing.T) {
	tests := []struct {
		typ  providers.ErrorType
		want bool
	}{
		{providers.ErrTypeUnavailable, true},
		{providers.ErrTypeRateLimited, true},
		{providers.ErrTypeProcessing, true},
		{providers.ErrTypeInvalidRequest, false},
		{providers.ErrTypeTradeClosed, false},
		{providers.ErrTypeTradePaid, false},
		{providers.ErrTypeTradeNotFound, false},
		{providers.ErrTypeRefundExceeded, false},
		{providers.ErrTypeDuplicateRequest, false},
		{providers.ErrTypeSignature, false},
		{providers.ErrTypeAuth, false},
		{providers.ErrTypeNotSupported, false},
		{providers.ErrTypeRejected, false},
		{"", false},
		{"SomethingElse", false},
	}
	listed := map[providers.ErrorType]bool{}
	for _, tc := range tests {
		listed[tc.typ] = true
		t.Run(string(tc.typ), func(t *testing.T) {
			assert.Equal(t, tc.want, tc.typ.Retryable())
			e := providers.NewError("alipay", "create", tc.typ, "", "", nil)
			assert.Equal(t, tc.want, e.Retryable(), "Error.Retryable follows its type")
		})
	}
	for _, c := range declaredErrorTypes(t) {
		assert.True(t, listed[c], "ErrorType %q is declared in errors.go but missing from this table", c)
	}
}

func TestClassify(t *testing.T) {
	closed := providers.NewError("wechatpay", "close", providers.ErrTypeTradeClosed, "ORDER_CLOSED", "closed", nil)
	tests := []struct {
		name string
		err  error
		want providers.ErrorType
	}{
		{"nil", nil, ""},
		{"bare Error", closed, providers.ErrTypeTradeClosed},
		{"wrapped with %w", fmt.Errorf("activity: %w", closed), providers.ErrTypeTradeClosed},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", closed)), providers.ErrTypeTradeClosed},
		{"joined", errors.Join(errors.New("other"), closed), providers.ErrTypeTradeClosed},
		{"wrapped with %v loses the type", fmt.Errorf("activity: %v", closed), providers.ErrTypeUnavailable},
		{"plain error", errors.New("connection reset by peer"), providers.ErrTypeUnavailable},
		{"deadline", context.DeadlineExceeded, providers.ErrTypeUnavailable},
		{"retryable Error", providers.NewError("fx", "quote", providers.ErrTypeRateLimited, "", "", nil), providers.ErrTypeRateLimited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, providers.Classify(tc.err))
		})
	}
}

func TestIsType(t *testing.T) {
	paid := providers.NewError("alipay", "close", providers.ErrTypeTradePaid, "ACQ.TRADE_STATUS_ERROR", "", nil)
	tests := []struct {
		name string
		err  error
		typ  providers.ErrorType
		want bool
	}{
		{"same type", paid, providers.ErrTypeTradePaid, true},
		{"wrapped", fmt.Errorf("close: %w", paid), providers.ErrTypeTradePaid, true},
		{"other type", paid, providers.ErrTypeTradeClosed, false},
		{"plain error is no Error", errors.New("boom"), providers.ErrTypeUnavailable, false},
		{"nil", nil, providers.ErrTypeUnavailable, false},
		{"nil is not the empty type", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, providers.IsType(tc.err, tc.typ))
		})
	}
}

func TestErrorFormatAndUnwrap(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	tests := []struct {
		name string
		err  *providers.Error
		want string
	}{
		{"type only", providers.NewError("alipay", "create", providers.ErrTypeUnavailable, "", "", nil), "alipay create: ProviderUnavailable"},
		{"with code", providers.NewError("alipay", "close", providers.ErrTypeTradePaid, "ACQ.TRADE_STATUS_ERROR", "", nil), "alipay close: ProviderTradePaid ACQ.TRADE_STATUS_ERROR"},
		{"with message", providers.NewError("customs", "manifest", providers.ErrTypeInvalidRequest, "", "orderNo is required", nil), "customs manifest: ProviderInvalidRequest: orderNo is required"},
		{"with cause", providers.NewError("fx", "quote", providers.ErrTypeUnavailable, "", "", cause), "fx quote: ProviderUnavailable: dial tcp: connection refused"},
		{"everything", providers.NewError("wechatpay", "refund", providers.ErrTypeRefundExceeded, "NOT_ENOUGH", "refund too large", cause), "wechatpay refund: ProviderRefundExceeded NOT_ENOUGH: refund too large: dial tcp: connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}

	e := providers.NewError("wechatpay", "refund", providers.ErrTypeRefundExceeded, "NOT_ENOUGH", "refund too large", cause)
	assert.Equal(t, &providers.Error{Provider: "wechatpay", Op: "refund", Type: providers.ErrTypeRefundExceeded, Code: "NOT_ENOUGH", Message: "refund too large", Err: cause}, e)
	assert.Same(t, cause, e.Unwrap())
	assert.ErrorIs(t, fmt.Errorf("activity: %w", e), cause, "errors.Is reaches the cause through Unwrap")
	assert.NoError(t, providers.NewError("a", "b", providers.ErrTypeAuth, "", "", nil).Unwrap())

	var target *providers.Error
	require.ErrorAs(t, fmt.Errorf("activity: %w", e), &target)
	assert.Same(t, e, target)
}

func TestNameValid(t *testing.T) {
	for _, n := range []providers.Name{providers.Alipay, providers.WeChatPay, providers.Card} {
		assert.True(t, n.Valid(), n)
	}
	for _, n := range []providers.Name{"", "paypal", "Alipay"} {
		assert.False(t, n.Valid(), n)
	}
}

// declaredErrorTypes returns the value of every ErrorType constant declared in
// errors.go, so that a type added there cannot be left out of the table above.
func declaredErrorTypes(t *testing.T) []providers.ErrorType {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	require.NoError(t, err)
	var out []providers.ErrorType
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "ErrorType" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				require.True(t, ok, "ErrorType constants are string literals")
				s, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				out = append(out, providers.ErrorType(s))
			}
		}
	}
	require.GreaterOrEqual(t, len(out), 13, "errors.go declares the 3 retryable and 10 non-retryable types")
	return out
}

// TestKeyPartsAreUnambiguous checks part lists that join to the same text still give different keys.
func TestKeyPartsAreUnambiguous(t *testing.T) {
	pairs := [][2][]string{
		{{"o"}, {"o", ""}},
		{{"a", "b\x00c"}, {"a", "b", "c"}},
		{{"a", "bc"}, {"ab", "c"}},
		{{"a", "1:b;"}, {"a", "1:b;", ""}},
	}
	for _, p := range pairs {
		assert.NotEqual(t, providers.Key(p[0][0], p[0][1:]...), providers.Key(p[1][0], p[1][1:]...), "%q vs %q", p[0], p[1])
	}
}
