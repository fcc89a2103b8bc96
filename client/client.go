// Package client is the typed Go client of the xhspay store API, for
// merchants' store backends: create orders and drive them through shipment,
// confirmation, cancellation and refunds. It speaks HTTP and JSON only.
//
//	c := client.New("https://pay.example.com", apiKey)
//	co, err := c.CreateOrder(ctx, client.CreateOrderRequest{...})
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnprocessableEntity {
//		// apiErr.Code names the CBEC rule the order broke
//	}
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes bounds the answers read.
const maxResponseBytes = 4 << 20

// Client calls the store API with one merchant's API key. It is safe for
// concurrent use.
type Client struct {
	base      *url.URL
	baseErr   error
	apiKey    string
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through hc (default: a client with a 90 s
// timeout, more than the API takes to create an order).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the API at baseURL (e.g. "https://pay.example.com")
// authenticating with apiKey. A malformed baseURL makes every call fail.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{apiKey: apiKey, http: &http.Client{Timeout: 90 * time.Second}, userAgent: "xhspay-go-client/1"}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	switch {
	case err != nil:
		c.baseErr = fmt.Errorf("client: base URL: %w", err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		c.baseErr = fmt.Errorf("client: base URL must be an absolute http(s) URL, got %q", baseURL)
	default:
		c.base = u
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// CallOption adjusts one call.
type CallOption func(*http.Request)

// WithIdempotencyKey sends an Idempotency-Key header: repeating a POST with
// the same key and body returns the first answer again.
func WithIdempotencyKey(key string) CallOption {
	return func(r *http.Request) { r.Header.Set("Idempotency-Key", key) }
}

// WithRequestID sends an X-Request-Id header, which the API logs and echoes.
func WithRequestID(id string) CallOption {
	return func(r *http.Request) { r.Header.Set("X-Request-Id", id) }
}

// APIError is an answer of the API with a 4xx or 5xx status.
type APIError struct {
	// Status is the HTTP status.
	Status int `json:"-"`
	// Code is the API's error code or the rule that refused the request.
	Code string `json:"code"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Field is the offending request field, when there is one.
	Field string `json:"field,omitempty"`
	// RequestID is the request's id (X-Request-Id), to quote in a report.
	RequestID string `json:"-"`
	// RetryAfter is how long the API asked to wait before retrying (503).
	RetryAfter time.Duration `json:"-"`
}

// Error formats the error.
func (e *APIError) Error() string {
	s := fmt.Sprintf("xhspay: %d %s", e.Status, e.Code)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Temporary reports whether repeating the same request may succeed (503, 429).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests
}

// IsNotFound reports whether err is a 404 (an unknown order or refund).
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is a 409 (idempotency conflict or ended order).
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsRejected reports whether err is a 422 (a rule refused the request; Code names it).
func IsRejected(err error) bool { return hasStatus(err, http.StatusUnprocessableEntity) }

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}

// do sends a request and decodes a 2xx answer into out (when not nil); it
// returns the status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any, opts []CallOption) (int, error) {
	if c.baseErr != nil {
		return 0, c.baseErr
	}
	u := *c.base
	u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + path
	unescaped, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return 0, fmt.Errorf("client: path: %w", err)
	}
	u.Path = unescaped
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("client: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("client: read answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		apiErr := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
		if json.Unmarshal(raw, apiErr) != nil || apiErr.Code == "" {
			apiErr.Code = "http_" + strconv.Itoa(resp.StatusCode)
			apiErr.Message = strings.TrimSpace(string(raw))
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			apiErr.RetryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, apiErr
	}
	if b, ok := out.(*[]byte); ok {
		*b = raw // a body that is not JSON (a CSV report)
		return resp.StatusCode, nil
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("client: decode answer of %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// orderPath returns the escaped path of an order, or of a resource under it;
// rest alternates fixed segments and ids, all escaped.
func orderPath(id string, rest ...string) string {
	p := "/v1/orders/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// CreateOrder creates an order and returns what the buyer needs to pay it.
// Repeating it with the same MerchantOrderNo and request returns the same
// order (Created false); with another request it fails with a 409 APIError
// whose Field lists the differing fields. An order the CBEC rules refuse
// fails with a 422 APIError whose Code is the rule.
func (c *Client) CreateOrder(ctx context.Context, req CreateOrderRequest, opts ...CallOption) (*Checkout, error) {
	var out Checkout
	status, err := c.do(ctx, http.MethodPost, "/v1/orders", nil, req, &out, opts)
	if err != nil {
		return nil, err
	}
	out.Created = status == http.StatusCreated
	return &out, nil
}

// GetOrder returns an order (the buyer masked).
func (c *Client) GetOrder(ctx context.Context, orderID string, opts ...CallOption) (*Order, error) {
	var out Order
	if _, err := c.do(ctx, http.MethodGet, orderPath(orderID), nil, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListOrders returns a page of the merchant's orders: open ones first, then the newest first.
func (c *Client) ListOrders(ctx context.Context, p ListOrdersParams, opts ...CallOption) (*OrderList, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("state", p.State)
	set("provider", p.Provider)
	set("customs", p.Customs)
	if !p.From.IsZero() {
		q.Set("from", p.From.UTC().Format(time.RFC3339Nano))
	}
	if !p.To.IsZero() {
		q.Set("to", p.To.UTC().Format(time.RFC3339Nano))
	}
	if p.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(p.PageSize))
	}
	set("pageToken", p.PageToken)
	var out OrderList
	if _, err := c.do(ctx, http.MethodGet, "/v1/orders", q, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) orderAction(ctx context.Context, orderID, action string, in any, opts []CallOption) (*Order, error) {
	var out Order
	if _, err := c.do(ctx, http.MethodPost, orderPath(orderID, action), nil, in, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Ship records the order's shipment (once customs cleared it).
func (c *Client) Ship(ctx context.Context, orderID string, req ShipmentRequest, opts ...CallOption) (*Order, error) {
	return c.orderAction(ctx, orderID, "shipment", req, opts)
}

// ConfirmReceipt records the buyer's confirmation of receipt; the held funds are released.
func (c *Client) ConfirmReceipt(ctx context.Context, orderID string, req ConfirmRequest, opts ...CallOption) (*Order, error) {
	return c.orderAction(ctx, orderID, "confirm-receipt", req, opts)
}

// ExtendConfirmation extends the auto-confirm deadline.
func (c *Client) ExtendConfirmation(ctx context.Context, orderID string, req ExtendRequest, opts ...CallOption) (*Order, error) {
	return c.orderAction(ctx, orderID, "extend-confirmation", req, opts)
}

// Cancel cancels the order before shipment.
func (c *Client) Cancel(ctx context.Context, orderID string, req CancelRequest, opts ...CallOption) (*Order, error) {
	return c.orderAction(ctx, orderID, "cancel", req, opts)
}

// RequestRefund asks for a refund; a refund the order refuses (over-refund,
// wrong state, return window closed, ...) fails with a 422 APIError naming the rule.
func (c *Client) RequestRefund(ctx context.Context, orderID string, req RefundRequest, opts ...CallOption) (*Refund, error) {
	var out Refund
	if _, err := c.do(ctx, http.MethodPost, orderPath(orderID, "refunds"), nil, req, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetRefund returns a refund.
func (c *Client) GetRefund(ctx context.Context, orderID, refundNo string, opts ...CallOption) (*Refund, error) {
	var out Refund
	if _, err := c.do(ctx, http.MethodGet, orderPath(orderID, "refunds", refundNo), nil, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReturnShipment records the return parcel of a refund with return.
func (c *Client) ReturnShipment(ctx context.Context, orderID, refundNo string, req ReturnShipmentRequest, opts ...CallOption) (*Refund, error) {
	var out Refund
	if _, err := c.do(ctx, http.MethodPost, orderPath(orderID, "refunds", refundNo, "return-shipment"), nil, req, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}
