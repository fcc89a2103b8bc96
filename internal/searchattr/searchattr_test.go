package searchattr_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xhspay/xhspay/internal/searchattr"
)

func TestDefinitions(t *testing.T) {
	want := map[string]enumspb.IndexedValueType{
		"OrderState":    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"Provider":      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"CustomsStatus": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"MerchantId":    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"AmountCNY":     enumspb.INDEXED_VALUE_TYPE_DOUBLE,
		"BuyerIdHash":   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"RefundState":   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"SettlementDay": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
	require.Equal(t, want, searchattr.Definitions())
	assert.Equal(t, "OrderState", searchattr.OrderState.GetName())
	assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_DOUBLE, searchattr.AmountCNY.GetValueType())
}

func TestDefinitionsFitSQLiteSlots(t *testing.T) {
	// SQLite visibility offers 10 Keyword and 3 Double custom slots per namespace.
	limits := map[enumspb.IndexedValueType]int{
		enumspb.INDEXED_VALUE_TYPE_KEYWORD: 10,
		enumspb.INDEXED_VALUE_TYPE_DOUBLE:  3,
	}
	used := map[enumspb.IndexedValueType]int{}
	for _, typ := range searchattr.Definitions() {
		used[typ]++
	}
	for typ, n := range used {
		limit, ok := limits[typ]
		require.True(t, ok, "unexpected type %s", typ)
		assert.LessOrEqual(t, n, limit, "too many %s attributes", typ)
	}
}

func TestDefinitionsReturnsACopy(t *testing.T) {
	defs := searchattr.Definitions()
	delete(defs, "OrderState")
	assert.Contains(t, searchattr.Definitions(), "OrderState")
}
