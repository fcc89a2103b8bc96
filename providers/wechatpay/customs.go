package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"github.com/xhspay/xhspay/providers"
)

// Customs declaration paths. WeChat Pay has no API to withdraw a
// declaration: customsCancelPath is a sandbox extension, and against the real
// API CancelDeclaration fails with ErrTypeNotSupported.
const (
	customsOrdersPath    = "/v3/global/customs/orders"
	customsRedeclarePath = "/v3/global/customs/redeclare"
	customsCancelPath    = "/v3/global/customs/orders/cancel"
)

// customsCodes maps customs offices as the port names them to WeChat Pay's
// customs codes; codes already in WeChat Pay's form pass through unchanged.
var customsCodes = map[string]string{
	"GUANGZHOU": "GUANGZHOU_ZS",
	"HANGZHOU":  "HANGZHOU_ZS",
	"SHANGHAI":  "SHANGHAI_ZS",
	"ZHENGZHOU": "ZHENGZHOU_BS",
}

// customsCode returns WeChat Pay's code for a customs office.
func customsCode(office string) string {
	o := strings.ToUpper(strings.TrimSpace(office))
	if c, ok := customsCodes[o]; ok {
		return c
	}
	return o
}

// idNumberPattern is an 18-character PRC resident ID number.
var idNumberPattern = regexp.MustCompile(`^[0-9]{17}[0-9Xx]$`)

// customsOrder is the body of the declare, modify, redeclare and cancel
// calls. The payer's identity is encrypted with the WeChat Pay public key.
type customsOrder struct {
	AppID             string `json:"appid"`
	MchID             string `json:"mchid"`
	OutTradeNo        string `json:"out_trade_no"`
	TransactionID     string `json:"transaction_id"`
	Customs           string `json:"customs"`
	MerchantCustomsNo string `json:"merchant_customs_no,omitempty"`
	SubOrderNo        string `json:"sub_order_no,omitempty"`
	FeeType           string `json:"fee_type,omitempty"`
	OrderFee          *int64 `json:"order_fee,omitempty"`
	TransportFee      *int64 `json:"transport_fee,omitempty"`
	ProductFee        *int64 `json:"product_fee,omitempty"`
	CertificateType   string `json:"certificate_type,omitempty"`
	CertificateID     string `json:"certificate_id,omitempty" encryption:"EM_APIV3"`
	CertificateName   string `json:"certificate_name,omitempty" encryption:"EM_APIV3"`
}

// customsResult is a declaration as WeChat Pay answers it.
type customsResult struct {
	State         string `json:"state"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	SubOrderNo    string `json:"sub_order_no"`
	SubOrderID    string `json:"sub_order_id"`
	Explanation   string `json:"explanation"`
	CertCheck     string `json:"cert_check_result"`
}

// declarationStatus maps a declaration state. CANCELLED is the sandbox extension's.
func declarationStatus(state string) (providers.DeclarationStatus, bool) {
	switch state {
	case "UNDECLARED", "SUBMITTED", "PROCESSING":
		return providers.DeclarationProcessing, true
	case "SUCCESS":
		return providers.DeclarationSucceeded, true
	case "FAIL", "EXCEPT":
		return providers.DeclarationFailed, true
	case "CANCELLED":
		return providers.DeclarationCancelled, true
	}
	return "", false
}

// declarationFrom converts a result for the request numbered outRequestNo.
func declarationFrom(op, outRequestNo string, r customsResult) (providers.Declaration, error) {
	st, ok := declarationStatus(r.State)
	if !ok {
		return providers.Declaration{}, providers.NewError(providerName, op, providers.ErrTypeUnavailable, r.State, "unknown declaration state", nil)
	}
	d := providers.Declaration{OutRequestNo: outRequestNo, DeclarationID: r.SubOrderID, Status: st, Reason: r.Explanation}
	if d.Reason == "" && r.CertCheck == "DIFFERENT" {
		d.Reason = "payer identity differs from the paying account's (cert_check_result DIFFERENT)"
	}
	return d, nil
}

// customsBody builds and checks the declaration body of req. The order is
// always declared as a sub-order numbered req.OrderNo (the number customs
// matches with the platform's order record), with the whole amount as goods
// value: the port carries no freight breakdown.
func (a *Adapter) customsBody(ctx context.Context, op string, req providers.DeclarationRequest, withData bool) (*customsOrder, error) {
	switch {
	case !outNoPattern.MatchString(req.OutRequestNo):
		return nil, invalid(op, "OutRequestNo must be 1-64 characters of [0-9A-Za-z_-|*@]")
	case req.OrderNo == "" || len(req.OrderNo) > 64:
		return nil, invalid(op, "OrderNo is required, at most 64 characters")
	case strings.TrimSpace(req.CustomsCode) == "":
		return nil, invalid(op, "CustomsCode is required")
	case !outTradeNoPattern.MatchString(req.OutTradeNo):
		return nil, invalid(op, "OutTradeNo must be 6-32 characters of [0-9A-Za-z_-|*@]")
	}
	txID, err := a.transactionID(ctx, op, req.OutTradeNo, req.TransactionID)
	if err != nil {
		return nil, err
	}
	body := &customsOrder{
		AppID:         a.cfg.AppID,
		MchID:         a.cfg.MchID,
		OutTradeNo:    req.OutTradeNo,
		TransactionID: txID,
		Customs:       customsCode(req.CustomsCode),
		SubOrderNo:    req.OrderNo,
	}
	if !withData {
		return body, nil
	}
	switch {
	case req.MerchantCustomsCode == "":
		return nil, invalid(op, "MerchantCustomsCode is required")
	case strings.TrimSpace(req.Payer.Name) == "":
		return nil, invalid(op, "Payer.Name is required")
	case !idNumberPattern.MatchString(req.Payer.IDNumber):
		return nil, invalid(op, "Payer.IDNumber must be an 18-character resident ID number")
	}
	amount, err := fen(op, "Amount", req.Amount)
	if err != nil {
		return nil, err
	}
	body.MerchantCustomsNo = req.MerchantCustomsCode
	body.FeeType = "CNY"
	body.OrderFee, body.ProductFee, body.TransportFee = core.Int64(amount), core.Int64(amount), core.Int64(0)
	body.CertificateType = "IDCARD"
	body.CertificateID = strings.ToUpper(req.Payer.IDNumber)
	body.CertificateName = req.Payer.Name
	return body, nil
}

// send calls a customs endpoint with body (encrypting its sensitive fields)
// and decodes the answer into out.
func (a *Adapter) send(ctx context.Context, method, path string, query url.Values, body *customsOrder, out any) error {
	header := http.Header{}
	var payload any
	if body != nil {
		serial, err := a.client.EncryptRequest(ctx, body)
		if err != nil {
			return fmt.Errorf("encrypt payer identity: %w", err)
		}
		if serial != "" {
			header.Set("Wechatpay-Serial", serial)
		}
		payload = body
	}
	res, err := a.client.Request(ctx, method, consts.WechatPayAPIServer+path, header, query, payload, consts.ApplicationJSON)
	if err != nil {
		return err
	}
	if err := core.UnMarshalResponse(res.Response, out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

// Declare pushes the payment record to customs (POST /v3/global/customs/orders).
// Declaring the same order again returns the existing declaration. A declaration
// starts PROCESSING and is SUCCESS once customs received it.
func (a *Adapter) Declare(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	body, err := a.customsBody(ctx, opDeclare, req, true)
	if err != nil {
		return providers.Declaration{}, err
	}
	var res customsResult
	if err := a.send(ctx, http.MethodPost, customsOrdersPath, nil, body, &res); err != nil {
		return providers.Declaration{}, classify(opDeclare, err)
	}
	a.log.InfoContext(ctx, "wechatpay customs declared", "order_no", req.OrderNo, "customs", body.Customs, "state", res.State)
	return declarationFrom(opDeclare, req.OutRequestNo, res)
}

// QueryDeclaration returns the declaration's state (GET /v3/global/customs/orders
// by sub_order_no); an unknown declaration is DeclarationNotFound.
func (a *Adapter) QueryDeclaration(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	switch {
	case req.OrderNo == "":
		return providers.Declaration{}, invalid(opQueryDeclare, "OrderNo is required")
	case strings.TrimSpace(req.CustomsCode) == "":
		return providers.Declaration{}, invalid(opQueryDeclare, "CustomsCode is required")
	}
	q := url.Values{
		"appid":      {a.cfg.AppID},
		"mchid":      {a.cfg.MchID},
		"order_type": {"sub_order_no"},
		"order_no":   {req.OrderNo},
		"customs":    {customsCode(req.CustomsCode)},
		"offset":     {"0"},
		"limit":      {"20"},
	}
	var res struct {
		Data []customsResult `json:"data"`
	}
	err := a.send(ctx, http.MethodGet, customsOrdersPath, q, nil, &res)
	if isNotFound(err) {
		return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: providers.DeclarationNotFound}, nil
	}
	if err != nil {
		return providers.Declaration{}, classify(opQueryDeclare, err)
	}
	for _, d := range res.Data {
		if d.SubOrderNo == req.OrderNo && (req.OutTradeNo == "" || d.OutTradeNo == req.OutTradeNo) {
			return declarationFrom(opQueryDeclare, req.OutRequestNo, d)
		}
	}
	return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: providers.DeclarationNotFound}, nil
}

// Redeclare corrects the declared data (PATCH /v3/global/customs/orders,
// which WeChat Pay verifies again) and pushes it to customs again
// (POST /v3/global/customs/redeclare).
func (a *Adapter) Redeclare(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	body, err := a.customsBody(ctx, opRedeclare, req, true)
	if err != nil {
		return providers.Declaration{}, err
	}
	var modified customsResult
	if err := a.send(ctx, http.MethodPatch, customsOrdersPath, nil, body, &modified); err != nil {
		return providers.Declaration{}, classify(opRedeclare, err)
	}
	push := &customsOrder{
		AppID: body.AppID, MchID: body.MchID, OutTradeNo: body.OutTradeNo, TransactionID: body.TransactionID,
		Customs: body.Customs, MerchantCustomsNo: body.MerchantCustomsNo, SubOrderNo: body.SubOrderNo,
	}
	var res customsResult
	if err := a.send(ctx, http.MethodPost, customsRedeclarePath, nil, push, &res); err != nil {
		return providers.Declaration{}, classify(opRedeclare, err)
	}
	a.log.InfoContext(ctx, "wechatpay customs redeclared", "order_no", req.OrderNo, "customs", body.Customs, "state", res.State)
	return declarationFrom(opRedeclare, req.OutRequestNo, res)
}

// CancelDeclaration withdraws the declaration. WeChat Pay offers no such
// API; the call uses the sandbox's extension (POST /v3/global/customs/orders/cancel),
// and an endpoint that does not exist yields ErrTypeNotSupported. A
// declaration that does not exist is DeclarationNotFound.
func (a *Adapter) CancelDeclaration(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	body, err := a.customsBody(ctx, opCancelDeclare, req, false)
	if err != nil {
		return providers.Declaration{}, err
	}
	var res customsResult
	err = a.send(ctx, http.MethodPost, customsCancelPath, nil, body, &res)
	if isNotFound(err) {
		return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: providers.DeclarationNotFound}, nil
	}
	var ae *core.APIError
	if errors.As(err, &ae) && (ae.StatusCode == http.StatusNotFound || ae.StatusCode == http.StatusMethodNotAllowed) {
		return providers.Declaration{}, providers.NewError(providerName, opCancelDeclare, providers.ErrTypeNotSupported, ae.Code,
			"WeChat Pay has no API to cancel a customs declaration", err)
	}
	if err != nil {
		return providers.Declaration{}, classify(opCancelDeclare, err)
	}
	a.log.InfoContext(ctx, "wechatpay customs declaration cancelled", "order_no", req.OrderNo, "customs", body.Customs)
	return declarationFrom(opCancelDeclare, req.OutRequestNo, res)
}
