package cardpsp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

var _ providers.CustomsDeclarer = (*Client)(nil)

type declarationRequest struct {
	OutRequestNo        string   `json:"outRequestNo"`
	OrderNo             string   `json:"orderNo"`
	OutTradeNo          string   `json:"outTradeNo"`
	Payer               identity `json:"payer"`
	Amount              int64    `json:"amount"`
	Currency            string   `json:"currency"`
	CustomsCode         string   `json:"customsCode"`
	MerchantCustomsCode string   `json:"merchantCustomsCode"`
	MerchantCustomsName string   `json:"merchantCustomsName"`
}

type declarationBody struct {
	OutRequestNo  string `json:"outRequestNo"`
	DeclarationID string `json:"declarationId"`
	Status        string `json:"status"`
}

func (c *Client) declarationRequest(op string, req providers.DeclarationRequest) (declarationRequest, error) {
	switch {
	case req.OutRequestNo == "":
		return declarationRequest{}, c.api.Invalid(op, "OutRequestNo is required")
	case req.OrderNo == "" || req.OutTradeNo == "":
		return declarationRequest{}, c.api.Invalid(op, "OrderNo and OutTradeNo are required")
	case strings.TrimSpace(req.Payer.Name) == "" || strings.TrimSpace(req.Payer.IDNumber) == "":
		return declarationRequest{}, c.api.Invalid(op, "Payer.Name and Payer.IDNumber are required")
	case req.CustomsCode == "" || req.MerchantCustomsCode == "":
		return declarationRequest{}, c.api.Invalid(op, "CustomsCode and MerchantCustomsCode are required")
	case req.Amount.Currency() != money.CNY:
		return declarationRequest{}, c.api.Invalid(op, "Amount must be in CNY, got %q", req.Amount.Currency())
	}
	units, err := minor("Amount", req.Amount)
	if err != nil {
		return declarationRequest{}, c.api.Invalid(op, "%v", err)
	}
	return declarationRequest{
		OutRequestNo: req.OutRequestNo, OrderNo: req.OrderNo, OutTradeNo: req.OutTradeNo,
		Payer: identity{Name: req.Payer.Name, IDNumber: req.Payer.IDNumber}, Amount: units, Currency: string(money.CNY),
		CustomsCode: req.CustomsCode, MerchantCustomsCode: req.MerchantCustomsCode, MerchantCustomsName: req.MerchantCustomsName,
	}, nil
}

func declarationOf(b declarationBody) (providers.Declaration, error) {
	d := providers.Declaration{OutRequestNo: b.OutRequestNo, DeclarationID: b.DeclarationID}
	switch b.Status {
	case "SUCCEEDED":
		d.Status = providers.DeclarationSucceeded
	case "CANCELLED":
		d.Status = providers.DeclarationCancelled
	default:
		return providers.Declaration{}, providers.NewError(provider, "decode", providers.ErrTypeUnavailable, "", fmt.Sprintf("unknown declaration status %q", b.Status), nil)
	}
	return d, nil
}

func (c *Client) sendDeclaration(ctx context.Context, op, path string, req providers.DeclarationRequest) (providers.Declaration, error) {
	body, err := c.declarationRequest(op, req)
	if err != nil {
		return providers.Declaration{}, err
	}
	var out declarationBody
	if err := c.api.Do(ctx, op, http.MethodPost, path, nil, body, &out); err != nil {
		return providers.Declaration{}, err
	}
	c.api.Log.InfoContext(ctx, "customs declaration sent", "op", op, "orderNo", req.OrderNo, "status", out.Status)
	return declarationOf(out)
}

// Declare pushes the card payment's record to customs; the same OutRequestNo is the same declaration.
func (c *Client) Declare(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	return c.sendDeclaration(ctx, "declare", "/psp/v1/customs/declarations", req)
}

// Redeclare pushes corrected data for a declaration already made.
func (c *Client) Redeclare(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	return c.sendDeclaration(ctx, "redeclare", "/psp/v1/customs/declarations/"+url.PathEscape(req.OutRequestNo)+"/redeclare", req)
}

// QueryDeclaration returns the declaration's state; an unknown one is DeclarationNotFound.
func (c *Client) QueryDeclaration(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	const op = "query-declaration"
	if req.OutRequestNo == "" {
		return providers.Declaration{}, c.api.Invalid(op, "OutRequestNo is required")
	}
	var out declarationBody
	switch found, err := c.api.Query(ctx, op, "/psp/v1/customs/declarations/"+url.PathEscape(req.OutRequestNo), "DECLARATION_NOT_FOUND", &out); {
	case err != nil:
		return providers.Declaration{}, err
	case !found:
		return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: providers.DeclarationNotFound}, nil
	}
	return declarationOf(out)
}

// CancelDeclaration withdraws the declaration from customs; repeating it is a no-op.
func (c *Client) CancelDeclaration(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	const op = "cancel-declaration"
	if req.OutRequestNo == "" {
		return providers.Declaration{}, c.api.Invalid(op, "OutRequestNo is required")
	}
	var out declarationBody
	if err := c.api.Do(ctx, op, http.MethodPost, "/psp/v1/customs/declarations/"+url.PathEscape(req.OutRequestNo)+"/cancel", nil, struct{}{}, &out); err != nil {
		return providers.Declaration{}, err
	}
	return declarationOf(out)
}
