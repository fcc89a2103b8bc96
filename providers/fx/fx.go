// Package fx is the adapter for the FX rate feed: it implements
// providers.FXRates over the feed's HMAC-signed JSON API
// (GET /fx/v1/quote?base=&counter=&at=), verifying every answer's signature
// and returning validated money.Quote values with exact decimal rates.
package fx

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/shopspring/decimal"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/internal/hmacsig"
)

// provider names the feed in errors.
const provider = "fx"

// Config configures the adapter: BaseURL is the feed's base URL, KeyID and
// Secret are the HMAC credentials (all three required); HTTPClient sends
// requests (nil: a client with a 15-second timeout), Now is the signing clock
// (nil: time.Now) and Logger logs (nil: slog.Default()).
type Config hmacsig.Config

// Client implements providers.FXRates.
type Client struct {
	api *hmacsig.Client
}

var _ providers.FXRates = (*Client)(nil)

// New returns an FX adapter.
func New(cfg Config) (*Client, error) {
	api, err := hmacsig.NewClient(provider, hmacsig.Config(cfg), Classify)
	if err != nil {
		return nil, err
	}
	return &Client{api: api}, nil
}

// errorTypes classifies the FX codes beyond the common ones.
var errorTypes = map[string]providers.ErrorType{
	"PAIR_NOT_SUPPORTED": providers.ErrTypeNotSupported,
	"RATE_NOT_AVAILABLE": providers.ErrTypeInvalidRequest,
}

// Classify types an FX error code: its own codes, the codes common to the
// HMAC providers, then by HTTP status (429 and 5xx retryable, else a rejection).
func Classify(status int, code string) providers.ErrorType {
	return hmacsig.ClassifyWith(errorTypes, status, code)
}

// quoteBody is a quote on the wire.
type quoteBody struct {
	Base    string    `json:"base"`
	Counter string    `json:"counter"`
	Rate    string    `json:"rate"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
}

// Quote returns the rate from base to counter in force at at.
func (c *Client) Quote(ctx context.Context, base, counter money.Currency, at time.Time) (money.Quote, error) {
	const op = "quote"
	if !base.Known() || !counter.Known() {
		return money.Quote{}, c.api.Invalid(op, "base %q and counter %q must be known currencies", base, counter)
	}
	if at.IsZero() {
		return money.Quote{}, c.api.Invalid(op, "at is required")
	}
	q := url.Values{"base": {string(base)}, "counter": {string(counter)}, "at": {at.UTC().Format(time.RFC3339)}}
	var body quoteBody
	if err := c.api.Do(ctx, op, http.MethodGet, "/fx/v1/quote", q, nil, &body); err != nil {
		return money.Quote{}, err
	}
	rate, err := decimal.NewFromString(body.Rate)
	if err != nil {
		return money.Quote{}, providers.NewError(provider, op, providers.ErrTypeUnavailable, "", fmt.Sprintf("rate %q is not a decimal", body.Rate), err)
	}
	quote := money.Quote{Base: money.Currency(body.Base), Counter: money.Currency(body.Counter), Rate: rate, At: body.At, Source: body.Source}
	if quote.Base != base || quote.Counter != counter {
		return money.Quote{}, providers.NewError(provider, op, providers.ErrTypeUnavailable, "",
			fmt.Sprintf("asked for %s/%s, got %s", base, counter, quote.Pair()), nil)
	}
	if err := quote.Validate(); err != nil {
		return money.Quote{}, providers.NewError(provider, op, providers.ErrTypeUnavailable, "", "invalid quote", err)
	}
	c.api.Log.DebugContext(ctx, "fx quote", "pair", quote.Pair(), "rate", quote.Rate.String(), "at", quote.At)
	return quote, nil
}
