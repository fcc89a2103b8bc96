// Package fx is the FX rate feed sandbox: deterministic, seedable exchange
// rates between CNY and USD, EUR, GBP, JPY, HKD, KRW, AUD, CAD, SGD and CHF,
// in both directions.
//
// # Rates
//
// Each currency has a base rate per CNY (1 CNY ≈ 0.1380 USD, 0.1270 EUR, 0.1090
// GBP, 20.50 JPY, 1.075 HKD, 190 KRW, 0.2100 AUD, 0.1890 CAD, 0.1850 SGD,
// 0.1220 CHF). The rate in force during a time bucket (an hour by default) is
// the base rate moved by a drift of at most ±2%, drawn from SHA-256 of the
// seed, the pair and the bucket: the same instant always gets the same rate,
// different buckets almost always different ones, and another seed another
// series. CNY→X is rounded to 8 decimal places half-even; X→CNY is 1 divided by
// the CNY→X rate, rounded the same way. Cross rates between two non-CNY
// currencies are not offered.
//
// # Wire protocol
//
// JSON over HTTP, every request and response signed: X-Xhs-Key-Id,
// X-Xhs-Timestamp (Unix seconds, within ±5 minutes) and X-Xhs-Signature, the
// lower-case hex HMAC-SHA256 under the shared secret of timestamp + "\n" +
// method + "\n" + path + "\n" + body (path is the request target with its
// query; a response is signed over the request's method and target).
//
//	GET /fx/v1/quote?base=CNY&counter=USD&at=2025-03-01T10:15:00Z
//	→ {"base":"CNY","counter":"USD","rate":"0.13812345","at":"2025-03-01T10:00:00Z","source":"fx-sandbox"}
//
// "at" defaults to now; the answer's "at" is the start of the bucket whose
// rate applies. Rates are decimal strings, never JSON numbers. Errors are an
// HTTP status with {"code","message"}: INVALID_REQUEST 400, AUTH_KEY_UNKNOWN,
// SIGNATURE_INVALID and TIMESTAMP_EXPIRED 401, ROUTE_NOT_FOUND 404,
// PAIR_NOT_SUPPORTED 422, RATE_NOT_AVAILABLE 422 (more than an hour in the
// future), RATE_LIMITED 429, SYSTEM_ERROR 500, SERVICE_UNAVAILABLE 503.
//
// The fault injector's control API is at /sandbox/faults; the endpoint name is
// "GET /fx/v1/quote".
package fx

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/xhspay/xhspay/sandbox/fault"
	"github.com/xhspay/xhspay/sandbox/internal/hmacsig"
)

// Source is the name the sandbox gives its quotes.
const Source = "fx-sandbox"

// DefaultBucket is how long one rate stays in force.
const DefaultBucket = time.Hour

// maxAhead is how far in the future a quote may be asked for.
const maxAhead = time.Hour

// Places is the number of decimal places of every rate.
const Places = 8

// Error codes of the FX API.
const (
	// CodeInvalidRequest is a malformed request.
	CodeInvalidRequest = hmacsig.CodeInvalidRequest
	// CodeKeyUnknown is an unknown X-Xhs-Key-Id.
	CodeKeyUnknown = hmacsig.CodeKeyUnknown
	// CodeSignatureInvalid is a missing or wrong signature.
	CodeSignatureInvalid = hmacsig.CodeSignatureInvalid
	// CodeTimestampExpired is a timestamp more than five minutes off.
	CodeTimestampExpired = hmacsig.CodeTimestampExpired
	// CodeRouteNotFound is a request to no endpoint.
	CodeRouteNotFound = hmacsig.CodeRouteNotFound
	// CodeRateLimited is a frequency limit.
	CodeRateLimited = hmacsig.CodeRateLimited
	// CodeSystemError is an internal failure.
	CodeSystemError = hmacsig.CodeSystemError
	// CodeServiceUnavailable is a maintenance window or overload.
	CodeServiceUnavailable = hmacsig.CodeServiceUnavailable
)

// Error codes of the FX API beyond those every HMAC provider answers with.
const (
	// CodePairNotSupported is a pair the feed does not quote.
	CodePairNotSupported = "PAIR_NOT_SUPPORTED"
	// CodeRateNotAvailable is a time the feed has no rate for yet.
	CodeRateNotAvailable = "RATE_NOT_AVAILABLE"
)

// codes maps every error code to its HTTP status.
var codes = hmacsig.WithCommonCodes(hmacsig.Codes{
	CodePairNotSupported: http.StatusUnprocessableEntity,
	CodeRateNotAvailable: http.StatusUnprocessableEntity,
})

// Codes returns every error code of the API with its HTTP status.
func Codes() map[string]int { return maps.Clone(codes) }

// baseRates are units of each currency per CNY around which rates drift.
var baseRates = map[string]decimal.Decimal{
	"USD": decimal.RequireFromString("0.1380"),
	"EUR": decimal.RequireFromString("0.1270"),
	"GBP": decimal.RequireFromString("0.1090"),
	"JPY": decimal.RequireFromString("20.50"),
	"HKD": decimal.RequireFromString("1.075"),
	"KRW": decimal.RequireFromString("190"),
	"AUD": decimal.RequireFromString("0.2100"),
	"CAD": decimal.RequireFromString("0.1890"),
	"SGD": decimal.RequireFromString("0.1850"),
	"CHF": decimal.RequireFromString("0.1220"),
}

// Errors of Rate; test them with errors.Is.
var (
	// ErrPairNotSupported is a pair the feed does not quote.
	ErrPairNotSupported = errors.New("fx sandbox: pair not supported")
	// ErrRateNotAvailable is a time too far in the future.
	ErrRateNotAvailable = errors.New("fx sandbox: rate not available")
)

// Config configures the FX sandbox.
type Config struct {
	// KeyID and Secret are the HMAC credentials (required).
	KeyID, Secret string
	// Seed selects the rate series.
	Seed int64
	// Bucket is how long one rate stays in force; zero means DefaultBucket.
	Bucket time.Duration
	// Faults injects failures; nil injects none.
	Faults *fault.Injector
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
	// Now is the clock deciding the default "at" and what is the future; nil is time.Now.
	Now func() time.Time
}

// Sandbox is the FX rate feed sandbox.
type Sandbox struct {
	cfg Config
	svc *hmacsig.Service
}

// New returns an FX sandbox.
func New(cfg Config) (*Sandbox, error) {
	svc, err := hmacsig.New(hmacsig.Config{
		Name: "fx", KeyID: cfg.KeyID, Secret: cfg.Secret, Codes: codes,
		Faults: cfg.Faults, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Bucket <= 0 {
		cfg.Bucket = DefaultBucket
	}
	return &Sandbox{cfg: cfg, svc: svc}, nil
}

// Close releases the sandbox; it exists so that every sandbox closes alike.
func (s *Sandbox) Close() { s.svc.Close() }

// Currencies returns the currencies quoted against CNY.
func Currencies() []string {
	return []string{"AUD", "CAD", "CHF", "EUR", "GBP", "HKD", "JPY", "KRW", "SGD", "USD"}
}

// Rate returns how many units of counter one unit of base buys at, and the
// start of the bucket that rate belongs to. One side must be CNY.
func (s *Sandbox) Rate(base, counter string, at time.Time) (decimal.Decimal, time.Time, error) {
	base, counter = strings.ToUpper(base), strings.ToUpper(counter)
	if at.After(s.svc.Now().Add(maxAhead)) {
		return decimal.Decimal{}, time.Time{}, fmt.Errorf("%w: %s is more than %s ahead", ErrRateNotAvailable, at.Format(time.RFC3339), maxAhead)
	}
	bucket := at.UTC().Truncate(s.cfg.Bucket)
	switch {
	case base == "CNY" && counter != "CNY":
		r, err := s.fromCNY(counter, bucket)
		return r, bucket, err
	case counter == "CNY" && base != "CNY":
		r, err := s.fromCNY(base, bucket)
		if err != nil {
			return decimal.Decimal{}, time.Time{}, err
		}
		return decimal.NewFromInt(1).DivRound(r, Places), bucket, nil
	}
	return decimal.Decimal{}, time.Time{}, fmt.Errorf("%w: %s/%s (one side must be CNY, the other one of %s)", ErrPairNotSupported, base, counter, strings.Join(Currencies(), ", "))
}

// fromCNY is the CNY→currency rate of a bucket: the base rate times 1 + drift,
// drift in [-2%, +2%] in steps of 0.0001%.
func (s *Sandbox) fromCNY(currency string, bucket time.Time) (decimal.Decimal, error) {
	base, ok := baseRates[currency]
	if !ok {
		return decimal.Decimal{}, fmt.Errorf("%w: CNY/%s", ErrPairNotSupported, currency)
	}
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(s.cfg.Seed))
	binary.BigEndian.PutUint64(buf[8:], uint64(bucket.Unix()))
	h := sha256.Sum256(append(buf[:], "CNY/"+currency...))
	steps := int64(binary.BigEndian.Uint64(h[:8])%40_001) - 20_000 // millionths, ±2%
	factor := decimal.NewFromInt(1).Add(decimal.New(steps, -6))
	return base.Mul(factor).RoundBank(Places), nil
}

// quoteBody is a quote on the wire.
type quoteBody struct {
	Base    string    `json:"base"`
	Counter string    `json:"counter"`
	Rate    string    `json:"rate"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
}

// Handler serves the signed API and the fault control endpoint.
func (s *Sandbox) Handler() http.Handler {
	mux := s.svc.NewMux()
	mux.HandleFunc("GET /fx/v1/quote", hmacsig.Call(s.svc, s.quote))
	return mux
}

// quote answers GET /fx/v1/quote.
func (s *Sandbox) quote(r *http.Request) (quoteBody, *hmacsig.APIError) {
	q := r.URL.Query()
	base, counter := q.Get("base"), q.Get("counter")
	if base == "" || counter == "" {
		return quoteBody{}, hmacsig.Invalid("query parameters base and counter are required")
	}
	at := s.svc.Now()
	if v := q.Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return quoteBody{}, hmacsig.Invalid("at %q must be RFC 3339", v)
		}
		at = t
	}
	rate, bucket, err := s.Rate(base, counter, at)
	switch {
	case errors.Is(err, ErrPairNotSupported):
		return quoteBody{}, hmacsig.Errorf(CodePairNotSupported, "%s", err)
	case errors.Is(err, ErrRateNotAvailable):
		return quoteBody{}, hmacsig.Errorf(CodeRateNotAvailable, "%s", err)
	case err != nil:
		return quoteBody{}, hmacsig.Errorf(CodeSystemError, "%s", err)
	}
	return quoteBody{
		Base: strings.ToUpper(base), Counter: strings.ToUpper(counter),
		Rate: rate.StringFixed(Places), At: bucket, Source: Source,
	}, nil
}
