// Package searchattr declares the custom Temporal search attributes used by
// the payment workflows: typed keys for workflow code and the definitions a
// server registers for its namespace.
package searchattr

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// The SQLite visibility store offers 10 Keyword and 3 Double custom slots per
// namespace; the keys below use 7 Keyword and 1 Double.
var (
	// OrderState is the payment order's lifecycle state (Keyword).
	OrderState = temporal.NewSearchAttributeKeyKeyword("OrderState")
	// Provider is the payment provider handling the order, e.g. alipay or wechatpay (Keyword).
	Provider = temporal.NewSearchAttributeKeyKeyword("Provider")
	// CustomsStatus is the state of the order's customs declaration (Keyword).
	CustomsStatus = temporal.NewSearchAttributeKeyKeyword("CustomsStatus")
	// MerchantId is the merchant that owns the order (Keyword).
	MerchantId = temporal.NewSearchAttributeKeyKeyword("MerchantId")
	// AmountCNY is the order amount in yuan (Double).
	AmountCNY = temporal.NewSearchAttributeKeyFloat64("AmountCNY")
	// BuyerIdHash is a one-way hash of the buyer's identity (Keyword).
	BuyerIdHash = temporal.NewSearchAttributeKeyKeyword("BuyerIdHash")
	// RefundState is the state of the order's refund, if any (Keyword).
	RefundState = temporal.NewSearchAttributeKeyKeyword("RefundState")
	// SettlementDay is the order's settlement day as YYYY-MM-DD (Keyword).
	SettlementDay = temporal.NewSearchAttributeKeyKeyword("SettlementDay")
)

// Keys returns every custom search attribute key of the project.
func Keys() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{
		OrderState,
		Provider,
		CustomsStatus,
		MerchantId,
		AmountCNY,
		BuyerIdHash,
		RefundState,
		SettlementDay,
	}
}

// Definitions returns a new map from each custom search attribute name to its indexed type.
func Definitions() map[string]enumspb.IndexedValueType {
	keys := Keys()
	defs := make(map[string]enumspb.IndexedValueType, len(keys))
	for _, k := range keys {
		defs[k.GetName()] = k.GetValueType()
	}
	return defs
}
