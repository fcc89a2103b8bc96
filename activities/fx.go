package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// FX holds the FX quote activity.
type FX struct {
	// Rates quotes exchange rates.
	Rates providers.FXRates
}

// QuoteInput is the input of QuoteFX.
type QuoteInput struct {
	// Base is the currency converted from (CNY).
	Base money.Currency `json:"base"`
	// Counter is the currency converted to (the merchant's home currency).
	Counter money.Currency `json:"counter"`
	// At is the moment the rate is locked for, from the workflow clock.
	At time.Time `json:"at"`
}

// QuoteFX locks the rate from Base to Counter at At.
func (f *FX) QuoteFX(ctx context.Context, in QuoteInput) (money.Quote, error) {
	if f.Rates == nil {
		return money.Quote{}, notConfigured("FX rate feed", "fx")
	}
	if !in.Base.Known() || !in.Counter.Known() {
		return money.Quote{}, invalidInput("quote: unknown currency pair %s/%s", in.Base, in.Counter)
	}
	done := observe(ctx, "fx", "quote")
	q, err := f.Rates.Quote(ctx, in.Base, in.Counter, in.At)
	done(&err)
	if err != nil {
		return money.Quote{}, ProviderError(err)
	}
	if err := q.Validate(); err != nil {
		return money.Quote{}, ProviderError(providers.NewError("fx", "quote", providers.ErrTypeInvalidRequest, "", "", err))
	}
	if q.Base != in.Base || q.Counter != in.Counter {
		return money.Quote{}, ProviderError(providers.NewError("fx", "quote", providers.ErrTypeInvalidRequest, "",
			fmt.Sprintf("asked for %s/%s, got %s", in.Base, in.Counter, q.Pair()), nil))
	}
	return q, nil
}
