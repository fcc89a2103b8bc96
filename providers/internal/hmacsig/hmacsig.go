// Package hmacsig is the client side of the HMAC-signed JSON protocol that the
// customs, card PSP and FX providers speak: it signs requests, verifies signed
// responses and notifications, and turns error answers into classified
// providers.Error values.
//
// Every message carries three headers: X-Xhs-Key-Id (which shared secret),
// X-Xhs-Timestamp (Unix seconds, accepted within ±5 minutes) and
// X-Xhs-Signature, the lower-case hex HMAC-SHA256 under the shared secret of
//
//	timestamp + "\n" + method + "\n" + path + "\n" + body
//
// where path is the request target as sent (path and query). A response is
// signed over the request's method and path with its own timestamp and body;
// a notification over POST and the notify URL's path.
package hmacsig

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/xhspay/xhspay/providers"
)

// Header names of the protocol.
const (
	// HeaderKeyID names the shared secret used.
	HeaderKeyID = "X-Xhs-Key-Id"
	// HeaderTimestamp is the signing time in Unix seconds.
	HeaderTimestamp = "X-Xhs-Timestamp"
	// HeaderSignature is the hex HMAC-SHA256 signature.
	HeaderSignature = "X-Xhs-Signature"
)

// MaxSkew is how far a message's timestamp may be from the receiver's clock.
const MaxSkew = 5 * time.Minute

// maxBody bounds the size of a response or notification body read.
const maxBody = 1 << 20

// Verification failures; test them with errors.Is.
var (
	// ErrUnsigned means a signature header is missing.
	ErrUnsigned = errors.New("hmacsig: message not signed")
	// ErrKeyID means the message names another key.
	ErrKeyID = errors.New("hmacsig: unexpected key id")
	// ErrStale means the timestamp is missing, malformed or outside MaxSkew.
	ErrStale = errors.New("hmacsig: timestamp outside the allowed window")
	// ErrMismatch means the signature does not match the message.
	ErrMismatch = errors.New("hmacsig: signature mismatch")
)

// Sign returns the hex HMAC-SHA256 of the message under secret.
func Sign(secret, timestamp, method, path string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + method + "\n" + path + "\n"))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify checks the signature headers h of a message against keyID and secret
// at time now.
func Verify(keyID, secret string, h http.Header, method, path string, body []byte, now time.Time) error {
	kid, ts, sig := h.Get(HeaderKeyID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if kid == "" || ts == "" || sig == "" {
		return ErrUnsigned
	}
	if kid != keyID {
		return fmt.Errorf("%w: %q", ErrKeyID, kid)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not Unix seconds", ErrStale, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return fmt.Errorf("%w: %s off", ErrStale, d.Round(time.Second))
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrMismatch)
	}
	if !hmac.Equal(want, mustHex(Sign(secret, ts, method, path, body))) {
		return ErrMismatch
	}
	return nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// Classifier maps a provider error code and HTTP status to an error type.
type Classifier func(status int, code string) providers.ErrorType

// Config is what every HMAC adapter is configured with; the adapters' own
// Config types are defined on it.
type Config struct {
	// BaseURL is the provider's API base URL (required).
	BaseURL string
	// KeyID and Secret are the shared HMAC credentials (required).
	KeyID, Secret string
	// HTTPClient sends requests; nil uses a client with a 15-second timeout.
	HTTPClient *http.Client
	// Now is the signing clock; nil is time.Now.
	Now func() time.Time
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
}

// Client sends signed JSON requests to one provider and verifies its answers.
type Client struct {
	// Provider names the provider in errors and logs ("customs", "card", "fx").
	Provider string
	// BaseURL is the provider's base URL; request paths are appended to its path.
	BaseURL *url.URL
	// KeyID and Secret are the shared credentials.
	KeyID, Secret string
	// HTTP sends the requests.
	HTTP *http.Client
	// Now is the signing clock.
	Now func() time.Time
	// Classify types the provider's error codes.
	Classify Classifier
	// Log is the adapter's logger, tagged with the provider.
	Log *slog.Logger
}

// errorBody is the provider's error answer.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Do sends a signed request: method to path (relative to BaseURL, with query
// when non-nil) with in marshalled as the JSON body (nil for none). It
// verifies the signed answer and decodes a 2xx body into out (unless nil); an
// error answer becomes a *providers.Error carrying the provider's code.
func (c *Client) Do(ctx context.Context, op, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return c.fail(op, providers.ErrTypeInvalidRequest, "", "encode request", err)
		}
	}
	u := *c.BaseURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = ""
	if query != nil {
		u.RawQuery = query.Encode()
	}
	target := u.RequestURI()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return c.fail(op, providers.ErrTypeInvalidRequest, "", "build request", err)
	}
	ts := strconv.FormatInt(c.Now().Unix(), 10)
	req.Header.Set(HeaderKeyID, c.KeyID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(c.Secret, ts, method, target, body))
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return c.fail(op, providers.ErrTypeUnavailable, "", "send request", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return c.fail(op, providers.ErrTypeUnavailable, "", "read response", err)
	}
	if err := Verify(c.KeyID, c.Secret, resp.Header, method, target, raw, c.Now()); err != nil {
		// An unsigned 5xx or 429 comes from the transport (a proxy, an
		// overloaded gateway) rather than the provider: safe to retry.
		if errors.Is(err, ErrUnsigned) {
			switch {
			case resp.StatusCode == http.StatusTooManyRequests:
				return c.fail(op, providers.ErrTypeRateLimited, "", fmt.Sprintf("HTTP %d", resp.StatusCode), nil)
			case resp.StatusCode >= 500:
				return c.fail(op, providers.ErrTypeUnavailable, "", fmt.Sprintf("HTTP %d", resp.StatusCode), nil)
			}
		}
		return c.fail(op, providers.ErrTypeSignature, "", fmt.Sprintf("response to %s %s (HTTP %d)", method, target, resp.StatusCode), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var eb errorBody
		if err := json.Unmarshal(raw, &eb); err != nil || eb.Code == "" {
			t := providers.ErrTypeInvalidRequest
			if resp.StatusCode >= 500 {
				t = providers.ErrTypeUnavailable
			}
			return c.fail(op, t, "", fmt.Sprintf("HTTP %d without an error code", resp.StatusCode), err)
		}
		return c.fail(op, c.Classify(resp.StatusCode, eb.Code), eb.Code, eb.Message, nil)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return c.fail(op, providers.ErrTypeUnavailable, "", "decode response", err)
		}
	}
	return nil
}

func (c *Client) fail(op string, t providers.ErrorType, code, msg string, err error) error {
	return providers.NewError(c.Provider, op, t, code, msg, err)
}

// Envelope is what every notification carries beside its payload.
type Envelope struct {
	// ID is the provider's notification id, for duplicate detection.
	ID string `json:"id"`
	// Type says what the notification reports.
	Type string `json:"type"`
	// CreatedAt is when the provider says it sent it.
	CreatedAt time.Time `json:"createdAt"`
}

// ReadNotification reads and verifies a signed notification request, decodes
// its body into v and returns its envelope. A forged, stale or unsigned one
// fails with a providers.Error of type ErrTypeSignature; one that is not a
// POST, cannot be read or decoded, or has no id with ErrTypeInvalidRequest.
// A request that cannot be read or verified is logged as refused.
func (c *Client) ReadNotification(ctx context.Context, r *http.Request, v any) (Envelope, error) {
	body, err := c.readNotification(r)
	if err != nil {
		c.Log.WarnContext(ctx, "notification refused", "error", err)
		return Envelope{}, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Envelope{}, c.BadNotification("decode notification", err)
	}
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Envelope{}, c.BadNotification("decode notification", err)
	}
	if env.ID == "" {
		return Envelope{}, c.BadNotification("notification has no id", nil)
	}
	return env, nil
}

// readNotification reads a notification request and verifies its signature.
func (c *Client) readNotification(r *http.Request) ([]byte, error) {
	if r.Method != http.MethodPost {
		return nil, c.BadNotification("notification must be a POST, got "+r.Method, nil)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, c.BadNotification("read notification", err)
	}
	// RequestURI is the target as received, unchanged by prefix-stripping routers.
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	if err := Verify(c.KeyID, c.Secret, r.Header, http.MethodPost, target, body, c.Now()); err != nil {
		return nil, providers.NewError(c.Provider, "notify", providers.ErrTypeSignature, "", "notification to "+target, err)
	}
	return body, nil
}

// BadNotification is the error of a notification that cannot be understood.
func (c *Client) BadNotification(msg string, err error) error {
	return providers.NewError(c.Provider, "notify", providers.ErrTypeInvalidRequest, "", msg, err)
}

// Invalid is the error of a request refused before it is sent.
func (c *Client) Invalid(op, format string, args ...any) error {
	return providers.NewError(c.Provider, op, providers.ErrTypeInvalidRequest, "", fmt.Sprintf(format, args...), nil)
}

// Query GETs path and decodes the answer into out; it reports false, and no
// error, when the provider answers notFoundCode.
func (c *Client) Query(ctx context.Context, op, path, notFoundCode string, out any) (found bool, err error) {
	err = c.Do(ctx, op, http.MethodGet, path, nil, nil, out)
	if HasCode(err, notFoundCode) {
		return false, nil
	}
	return err == nil, err
}

// HasCode reports whether err is a providers.Error carrying the provider's code.
func HasCode(err error, code string) bool {
	var pe *providers.Error
	return errors.As(err, &pe) && pe.Code == code
}

// NewClient checks an adapter's settings and returns its client: BaseURL
// must be an absolute http(s) URL and KeyID and Secret non-empty; a nil
// HTTPClient gets a 15-second timeout, a nil Now is time.Now and a nil Logger
// slog.Default().
func NewClient(provider string, cfg Config, classify Classifier) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("%s: BaseURL %q: %w", provider, cfg.BaseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: BaseURL %q must be an absolute http(s) URL", provider, cfg.BaseURL)
	}
	if cfg.KeyID == "" {
		return nil, fmt.Errorf("%s: KeyID is required", provider)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("%s: Secret is required", provider)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Client{
		Provider: provider, BaseURL: u, KeyID: cfg.KeyID, Secret: cfg.Secret, HTTP: cfg.HTTPClient, Now: cfg.Now,
		Classify: classify, Log: cfg.Logger.With("provider", provider),
	}, nil
}

// commonTypes classifies the codes every HMAC provider answers with.
var commonTypes = map[string]providers.ErrorType{
	"INVALID_REQUEST":     providers.ErrTypeInvalidRequest,
	"AUTH_KEY_UNKNOWN":    providers.ErrTypeAuth,
	"SIGNATURE_INVALID":   providers.ErrTypeSignature,
	"TIMESTAMP_EXPIRED":   providers.ErrTypeSignature,
	"ROUTE_NOT_FOUND":     providers.ErrTypeInvalidRequest,
	"RATE_LIMITED":        providers.ErrTypeRateLimited,
	"SYSTEM_ERROR":        providers.ErrTypeUnavailable,
	"SERVICE_UNAVAILABLE": providers.ErrTypeUnavailable,
}

// ClassifyWith types an error code by the provider's own table, then the
// codes common to all HMAC providers, then the HTTP status: 429 rate-limited,
// 5xx unavailable (both retryable), anything else a final rejection.
func ClassifyWith(specific map[string]providers.ErrorType, status int, code string) providers.ErrorType {
	if t, ok := specific[code]; ok {
		return t
	}
	if t, ok := commonTypes[code]; ok {
		return t
	}
	switch {
	case status == http.StatusTooManyRequests:
		return providers.ErrTypeRateLimited
	case status >= 500:
		return providers.ErrTypeUnavailable
	}
	return providers.ErrTypeRejected
}
