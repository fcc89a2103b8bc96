// Package customs is the adapter for the customs clearance service: it
// implements providers.CustomsClearance over customs' HMAC-signed JSON API
// (order manifests, clearance verdicts of the three-document match, return
// re-import declarations) and verifies and decodes its signed clearance and
// return notifications. Amounts travel as integer fen.
package customs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/internal/hmacsig"
)

// provider names customs in errors.
const provider = "customs"

// CodeManifestCancelled is the Clearance code of an order the platform
// withdrew; QueryClearance reports it as rejected with this code.
const CodeManifestCancelled = "MANIFEST_CANCELLED"

// CodeAmountMismatch is customs' rejection code for a payment amount that is
// not goods + freight + tax (beside the providers.Reject* codes).
const CodeAmountMismatch = "AMOUNT_MISMATCH"

// Config configures the adapter: BaseURL is customs' API base URL, KeyID and
// Secret are the platform's HMAC credentials (all three required); HTTPClient
// sends requests (nil: a client with a 15-second timeout), Now is the signing
// clock (nil: time.Now) and Logger logs (nil: slog.Default()).
type Config hmacsig.Config

// Client implements providers.CustomsClearance.
type Client struct {
	api *hmacsig.Client
}

var _ providers.CustomsClearance = (*Client)(nil)

// New returns a customs adapter.
func New(cfg Config) (*Client, error) {
	api, err := hmacsig.NewClient(provider, hmacsig.Config(cfg), Classify)
	if err != nil {
		return nil, err
	}
	return &Client{api: api}, nil
}

// errorTypes classifies the customs codes beyond the common ones.
var errorTypes = map[string]providers.ErrorType{
	"MANIFEST_NOT_FOUND":      providers.ErrTypeTradeNotFound,
	"RETURN_NOT_FOUND":        providers.ErrTypeTradeNotFound,
	"DUPLICATE_ORDER_NO":      providers.ErrTypeDuplicateRequest,
	"DUPLICATE_OUT_RETURN_NO": providers.ErrTypeDuplicateRequest,
	"ALREADY_RELEASED":        providers.ErrTypeRejected,
	"ORDER_NOT_RELEASED":      providers.ErrTypeRejected,
	"RETURN_ITEMS_INVALID":    providers.ErrTypeInvalidRequest,
}

// Classify types a customs error code: its own codes, the codes common to the
// HMAC providers, then by HTTP status (429 and 5xx retryable, else a rejection).
func Classify(status int, code string) providers.ErrorType {
	return hmacsig.ClassifyWith(errorTypes, status, code)
}

// Wire forms.
type (
	identity struct {
		Name     string `json:"name"`
		IDNumber string `json:"idNumber"`
	}
	item struct {
		SKU            string `json:"sku"`
		Name           string `json:"name"`
		Category       string `json:"category"`
		RegistrationNo string `json:"registrationNo,omitempty"`
		Quantity       int    `json:"quantity"`
		UnitPriceFen   int64  `json:"unitPriceFen"`
	}
	manifestBody struct {
		OrderNo      string   `json:"orderNo"`
		Buyer        identity `json:"buyer"`
		Items        []item   `json:"items"`
		GoodsFen     int64    `json:"goodsFen"`
		FreightFen   int64    `json:"freightFen"`
		TaxFen       int64    `json:"taxFen"`
		Currency     string   `json:"currency"`
		CustomsCode  string   `json:"customsCode"`
		PlatformCode string   `json:"platformCode"`
	}
	clearanceBody struct {
		OrderNo    string     `json:"orderNo"`
		Status     string     `json:"status"`
		Code       string     `json:"code"`
		Reason     string     `json:"reason"`
		ReleasedAt *time.Time `json:"releasedAt"`
	}
	returnRequest struct {
		OutReturnNo string `json:"outReturnNo"`
		OrderNo     string `json:"orderNo"`
		Items       []item `json:"items"`
		TrackingNo  string `json:"trackingNo"`
		Reason      string `json:"reason,omitempty"`
	}
	returnBody struct {
		OutReturnNo string     `json:"outReturnNo"`
		OrderNo     string     `json:"orderNo"`
		Status      string     `json:"status"`
		Code        string     `json:"code"`
		Reason      string     `json:"reason"`
		DecidedAt   *time.Time `json:"decidedAt"`
	}
	notificationBody struct {
		Clearance *clearanceBody `json:"clearance"`
		Return    *returnBody    `json:"return"`
	}
)

// fen converts a CNY amount to fen, naming the field on failure.
func fen(field string, a money.Amount) (int64, error) {
	if a.Currency() != money.CNY {
		return 0, fmt.Errorf("%s must be in CNY, got %q", field, a.Currency())
	}
	v, err := a.MinorUnits()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	if v < 0 {
		return 0, fmt.Errorf("%s must not be negative, got %s", field, a)
	}
	return v, nil
}

func items(field string, in []providers.Item) ([]item, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%s must not be empty", field)
	}
	out := make([]item, len(in))
	for i, it := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		if it.SKU == "" {
			return nil, fmt.Errorf("%s.SKU is required", f)
		}
		if it.Quantity <= 0 {
			return nil, fmt.Errorf("%s.Quantity must be positive, got %d", f, it.Quantity)
		}
		p, err := fen(f+".UnitPrice", it.UnitPrice)
		if err != nil {
			return nil, err
		}
		out[i] = item{SKU: it.SKU, Name: it.Name, Category: it.Category, RegistrationNo: it.RegistrationNo, Quantity: it.Quantity, UnitPriceFen: p}
	}
	return out, nil
}

func manifest(m providers.Manifest) (manifestBody, error) {
	switch {
	case m.OrderNo == "":
		return manifestBody{}, errors.New("OrderNo is required")
	case strings.TrimSpace(m.Buyer.Name) == "" || strings.TrimSpace(m.Buyer.IDNumber) == "":
		return manifestBody{}, errors.New("Buyer.Name and Buyer.IDNumber are required")
	case m.CustomsCode == "" || m.PlatformCode == "":
		return manifestBody{}, errors.New("CustomsCode and PlatformCode are required")
	}
	its, err := items("Items", m.Items)
	if err != nil {
		return manifestBody{}, err
	}
	b := manifestBody{
		OrderNo: m.OrderNo, Buyer: identity{Name: m.Buyer.Name, IDNumber: m.Buyer.IDNumber}, Items: its,
		Currency: string(money.CNY), CustomsCode: m.CustomsCode, PlatformCode: m.PlatformCode,
	}
	if b.GoodsFen, err = fen("Goods", m.Goods); err != nil {
		return manifestBody{}, err
	}
	if b.FreightFen, err = fen("Freight", m.Freight); err != nil {
		return manifestBody{}, err
	}
	if b.TaxFen, err = fen("Tax", m.Tax); err != nil {
		return manifestBody{}, err
	}
	return b, nil
}

// SubmitManifest files the platform's order record; repeating it is a no-op.
func (c *Client) SubmitManifest(ctx context.Context, m providers.Manifest) error {
	const op = "submit-manifest"
	body, err := manifest(m)
	if err != nil {
		return c.api.Invalid(op, "%v", err)
	}
	var out clearanceBody
	if err := c.api.Do(ctx, op, http.MethodPost, "/customs/v1/manifests", nil, body, &out); err != nil {
		return err
	}
	c.api.Log.InfoContext(ctx, "manifest filed", "orderNo", m.OrderNo, "status", out.Status)
	return nil
}

// QueryClearance returns customs' verdict; an unknown order is ClearanceNotFound.
func (c *Client) QueryClearance(ctx context.Context, orderNo string) (providers.Clearance, error) {
	const op = "query-clearance"
	if orderNo == "" {
		return providers.Clearance{}, c.api.Invalid(op, "orderNo is required")
	}
	var out clearanceBody
	switch found, err := c.api.Query(ctx, op, "/customs/v1/manifests/"+url.PathEscape(orderNo)+"/clearance", "MANIFEST_NOT_FOUND", &out); {
	case err != nil:
		return providers.Clearance{}, err
	case !found:
		return providers.Clearance{OrderNo: orderNo, Status: providers.ClearanceNotFound}, nil
	}
	return clearance(out)
}

// clearance maps customs' order state to the port's.
func clearance(b clearanceBody) (providers.Clearance, error) {
	cl := providers.Clearance{OrderNo: b.OrderNo, Code: b.Code, Reason: b.Reason}
	switch b.Status {
	case "PENDING":
		cl.Status = providers.ClearancePending
	case "CLEARED":
		cl.Status = providers.ClearanceCleared
		if b.ReleasedAt != nil {
			cl.ReleasedAt = *b.ReleasedAt
		}
	case "REJECTED":
		cl.Status = providers.ClearanceRejected
	case "CANCELLED":
		cl.Status, cl.Code = providers.ClearanceRejected, CodeManifestCancelled
		if cl.Reason == "" {
			cl.Reason = "manifest withdrawn by the platform"
		}
	default:
		return providers.Clearance{}, providers.NewError(provider, "clearance", providers.ErrTypeUnavailable, "", fmt.Sprintf("unknown clearance status %q", b.Status), nil)
	}
	return cl, nil
}

// CancelManifest withdraws an order not yet released. Cancelling a cancelled
// order is a no-op; an unknown order fails with ErrTypeTradeNotFound and a
// released one with ErrTypeRejected (ALREADY_RELEASED).
func (c *Client) CancelManifest(ctx context.Context, orderNo string) error {
	const op = "cancel-manifest"
	if orderNo == "" {
		return c.api.Invalid(op, "orderNo is required")
	}
	if err := c.api.Do(ctx, op, http.MethodPost, "/customs/v1/manifests/"+url.PathEscape(orderNo)+"/cancel", nil, struct{}{}, nil); err != nil {
		return err
	}
	c.api.Log.InfoContext(ctx, "manifest cancelled", "orderNo", orderNo)
	return nil
}

// FileReturn files a return declaration; repeating the same OutReturnNo
// returns the same return. One filed too late comes back REJECTED with a
// reason starting RETURN_WINDOW_CLOSED.
func (c *Client) FileReturn(ctx context.Context, req providers.ReturnRequest) (providers.Return, error) {
	const op = "file-return"
	switch {
	case req.OutReturnNo == "":
		return providers.Return{}, c.api.Invalid(op, "OutReturnNo is required")
	case req.OrderNo == "":
		return providers.Return{}, c.api.Invalid(op, "OrderNo is required")
	case req.TrackingNo == "":
		return providers.Return{}, c.api.Invalid(op, "TrackingNo is required")
	}
	its, err := items("Items", req.Items)
	if err != nil {
		return providers.Return{}, c.api.Invalid(op, "%v", err)
	}
	var out returnBody
	body := returnRequest{OutReturnNo: req.OutReturnNo, OrderNo: req.OrderNo, Items: its, TrackingNo: req.TrackingNo, Reason: req.Reason}
	if err := c.api.Do(ctx, op, http.MethodPost, "/customs/v1/returns", nil, body, &out); err != nil {
		return providers.Return{}, err
	}
	c.api.Log.InfoContext(ctx, "return filed", "outReturnNo", req.OutReturnNo, "status", out.Status)
	return returnOf(out)
}

// QueryReturn returns a return's state; an unknown one is ReturnNotFound.
func (c *Client) QueryReturn(ctx context.Context, outReturnNo string) (providers.Return, error) {
	const op = "query-return"
	if outReturnNo == "" {
		return providers.Return{}, c.api.Invalid(op, "outReturnNo is required")
	}
	var out returnBody
	switch found, err := c.api.Query(ctx, op, "/customs/v1/returns/"+url.PathEscape(outReturnNo), "RETURN_NOT_FOUND", &out); {
	case err != nil:
		return providers.Return{}, err
	case !found:
		return providers.Return{OutReturnNo: outReturnNo, Status: providers.ReturnNotFound}, nil
	}
	return returnOf(out)
}

// returnOf maps customs' return state to the port's; a rejection's reason
// starts with its code ("RETURN_WINDOW_CLOSED: ...").
func returnOf(b returnBody) (providers.Return, error) {
	r := providers.Return{OutReturnNo: b.OutReturnNo, Reason: b.Reason}
	if b.DecidedAt != nil {
		r.DecidedAt = *b.DecidedAt
	}
	switch b.Status {
	case "FILED":
		r.Status, r.Reason = providers.ReturnFiled, ""
	case "ACCEPTED":
		r.Status = providers.ReturnAccepted
	case "REJECTED":
		r.Status = providers.ReturnRejected
		if b.Code != "" {
			r.Reason = b.Code + ": " + b.Reason
		}
	default:
		return providers.Return{}, providers.NewError(provider, "return", providers.ErrTypeUnavailable, "", fmt.Sprintf("unknown return status %q", b.Status), nil)
	}
	return r, nil
}

// EventKind says what a customs notification reports.
type EventKind string

// Notification kinds.
const (
	// EventClearance reports an order's verdict.
	EventClearance EventKind = "clearance"
	// EventReturn reports a return's verdict.
	EventReturn EventKind = "return"
)

// Event is a verified customs notification.
type Event struct {
	// ID is customs' notification id, for duplicate detection.
	ID string `json:"id"`
	// Kind says which of Clearance or Return is set.
	Kind EventKind `json:"kind"`
	// OrderNo is the order concerned.
	OrderNo string `json:"orderNo"`
	// Clearance is the order's verdict, for EventClearance.
	Clearance *providers.Clearance `json:"clearance,omitempty"`
	// Return is the return's state, for EventReturn.
	Return *providers.Return `json:"return,omitempty"`
	// SentAt is when customs says it sent it.
	SentAt time.Time `json:"sentAt"`
}

// ParseNotification verifies and decodes a clearance or return notification.
// A forged, stale or unsigned one fails with ErrTypeSignature, a malformed one
// with ErrTypeInvalidRequest. Answer 2xx once it is handled; customs retries otherwise.
func (c *Client) ParseNotification(ctx context.Context, r *http.Request) (Event, error) {
	var n notificationBody
	env, err := c.api.ReadNotification(ctx, r, &n)
	if err != nil {
		return Event{}, err
	}
	ev := Event{ID: env.ID, SentAt: env.CreatedAt}
	switch {
	case env.Type == "clearance.decided" && n.Clearance != nil:
		cl, err := clearance(*n.Clearance)
		if err != nil {
			return Event{}, c.api.BadNotification("clearance", err)
		}
		ev.Kind, ev.OrderNo, ev.Clearance = EventClearance, cl.OrderNo, &cl
	case env.Type == "return.decided" && n.Return != nil:
		rt, err := returnOf(*n.Return)
		if err != nil {
			return Event{}, c.api.BadNotification("return", err)
		}
		ev.Kind, ev.OrderNo, ev.Return = EventReturn, n.Return.OrderNo, &rt
	default:
		return Event{}, c.api.BadNotification(fmt.Sprintf("unknown notification type %q", env.Type), nil)
	}
	return ev, nil
}
