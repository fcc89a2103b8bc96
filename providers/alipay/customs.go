package alipay

import (
	"context"
	"strings"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/xhspay/xhspay/providers"
)

// Customs declaration has no typed method in the SDK; the adapter calls the
// gateway through the SDK's generic path, so signing and verification stay the SDK's.
const (
	methodCustomsDeclare = "alipay.trade.customs.declare"
	methodCustomsQuery   = "alipay.trade.customs.query"
	// methodCustomsCancel is not an Alipay API: Alipay cannot withdraw a
	// payment declaration. The sandbox supports it as an extension; against
	// Alipay it fails with ErrTypeNotSupported (isv.invalid-method).
	methodCustomsCancel = "alipay.trade.customs.cancel"
)

// customsDeclareRsp is the alipay.trade.customs.declare answer.
type customsDeclareRsp struct {
	sdk.Error
	AlipayDeclareNo string `json:"alipay_declare_no"`
	TradeNo         string `json:"trade_no"`
	IdentityCheck   string `json:"identity_check"`
}

// customsRecord is one record of alipay.trade.customs.query.
type customsRecord struct {
	OutRequestNo    string `json:"out_request_no"`
	AlipayDeclareNo string `json:"alipay_declare_no"`
	TradeNo         string `json:"trade_no"`
	Status          string `json:"status"`
	Memo            string `json:"memo"`
	CustomsResult   string `json:"customs_result_info"`
}

// customsQueryRsp is the alipay.trade.customs.query answer.
type customsQueryRsp struct {
	sdk.Error
	NotFound string          `json:"not_found"`
	Records  []customsRecord `json:"records"`
}

// customsCancelRsp is the answer of the sandbox's cancel extension.
type customsCancelRsp struct {
	sdk.Error
	OutRequestNo    string `json:"out_request_no"`
	AlipayDeclareNo string `json:"alipay_declare_no"`
	Status          string `json:"status"`
}

// declarationStatuses maps the record status of alipay.trade.customs.query.
var declarationStatuses = map[string]providers.DeclarationStatus{
	"ws":        providers.DeclarationProcessing, // waiting to be sent
	"sending":   providers.DeclarationProcessing,
	"succ":      providers.DeclarationSucceeded,
	"fail":      providers.DeclarationFailed,
	"cancelled": providers.DeclarationCancelled, // sandbox extension
}

// Declare pushes the payment record to customs (alipay.trade.customs.declare).
// When the customs order number differs from the trade's out_trade_no the
// record is declared as a split order (is_split=T, sub_out_biz_no=OrderNo), the
// way Alipay declares an order number other than out_trade_no. A success means
// Alipay accepted it (DeclarationProcessing); QueryDeclaration tells when
// customs received it. identity_check=F is reported in Reason.
func (a *Adapter) Declare(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	return a.declare(ctx, "declare", req)
}

// Redeclare pushes corrected data for a declaration: Alipay's re-push (重推) is
// the same alipay.trade.customs.declare call with the same out_request_no,
// carrying the corrected customs_place, merchant codes, amount or buyer.
func (a *Adapter) Redeclare(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	return a.declare(ctx, "redeclare", req)
}

func (a *Adapter) declare(ctx context.Context, op string, req providers.DeclarationRequest) (providers.Declaration, error) {
	if !declareNoRE.MatchString(req.OutRequestNo) {
		return providers.Declaration{}, invalidRequest(op, "OutRequestNo", "6-64 letters, digits, '_' or '-'")
	}
	if req.TransactionID == "" {
		return providers.Declaration{}, invalidRequest(op, "TransactionID", "the Alipay trade_no is required")
	}
	if req.CustomsCode == "" {
		return providers.Declaration{}, invalidRequest(op, "CustomsCode", "required (Alipay customs_place, e.g. HANGZHOU)")
	}
	if req.MerchantCustomsCode == "" || req.MerchantCustomsName == "" {
		return providers.Declaration{}, invalidRequest(op, "MerchantCustomsCode", "the platform's customs code and name are required")
	}
	amount, err := cnyText(op, "Amount", req.Amount)
	if err != nil {
		return providers.Declaration{}, err
	}
	p := sdk.NewPayload(methodCustomsDeclare).
		AddBizField("out_request_no", req.OutRequestNo).
		AddBizField("trade_no", req.TransactionID).
		AddBizField("merchant_customs_code", req.MerchantCustomsCode).
		AddBizField("merchant_customs_name", req.MerchantCustomsName).
		AddBizField("amount", amount).
		AddBizField("customs_place", strings.ToUpper(req.CustomsCode))
	if req.OrderNo != "" && req.OrderNo != req.OutTradeNo {
		p.AddBizField("is_split", "T").AddBizField("sub_out_biz_no", req.OrderNo)
	} else {
		p.AddBizField("is_split", "F")
	}
	if req.Payer.Name != "" || req.Payer.IDNumber != "" {
		if req.Payer.Name == "" || !idNumberRE.MatchString(req.Payer.IDNumber) {
			return providers.Declaration{}, invalidRequest(op, "Payer", "needs both the real name and an 18-character resident ID number")
		}
		p.AddBizField("buyer_info", map[string]string{"buyer_name": req.Payer.Name, "buyer_cert_no": req.Payer.IDNumber})
	}
	var rsp customsDeclareRsp
	if err := a.client.Request(ctx, p, &rsp); err != nil {
		return providers.Declaration{}, a.fail(callError(op, err))
	}
	if !rsp.Code.IsSuccess() {
		return providers.Declaration{}, a.fail(businessError(op, rsp.Error))
	}
	d := providers.Declaration{OutRequestNo: req.OutRequestNo, DeclarationID: rsp.AlipayDeclareNo, Status: providers.DeclarationProcessing}
	if rsp.IdentityCheck == "F" {
		d.Reason = "identity_check=F: the declared buyer is not the payer Alipay knows; customs will refuse the match"
	}
	return d, nil
}

// QueryDeclaration returns the declaration's state (alipay.trade.customs.query).
func (a *Adapter) QueryDeclaration(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	const op = "query_declaration"
	if !declareNoRE.MatchString(req.OutRequestNo) {
		return providers.Declaration{}, invalidRequest(op, "OutRequestNo", "6-64 letters, digits, '_' or '-'")
	}
	p := sdk.NewPayload(methodCustomsQuery).AddBizField("out_request_nos", req.OutRequestNo)
	var rsp customsQueryRsp
	if err := a.client.Request(ctx, p, &rsp); err != nil {
		return providers.Declaration{}, a.fail(callError(op, err))
	}
	if !rsp.Code.IsSuccess() {
		return providers.Declaration{}, a.fail(businessError(op, rsp.Error))
	}
	for _, r := range rsp.Records {
		if r.OutRequestNo != req.OutRequestNo {
			continue
		}
		status, ok := declarationStatuses[r.Status]
		if !ok {
			status = providers.DeclarationProcessing
		}
		reason := r.Memo
		if reason == "" {
			reason = r.CustomsResult
		}
		return providers.Declaration{OutRequestNo: r.OutRequestNo, DeclarationID: r.AlipayDeclareNo, Status: status, Reason: reason}, nil
	}
	return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: providers.DeclarationNotFound}, nil
}

// CancelDeclaration withdraws a declaration through alipay.trade.customs.cancel,
// the sandbox's extension (see methodCustomsCancel). An unknown declaration is
// DeclarationNotFound.
func (a *Adapter) CancelDeclaration(ctx context.Context, req providers.DeclarationRequest) (providers.Declaration, error) {
	const op = "cancel_declaration"
	if !declareNoRE.MatchString(req.OutRequestNo) {
		return providers.Declaration{}, invalidRequest(op, "OutRequestNo", "6-64 letters, digits, '_' or '-'")
	}
	p := sdk.NewPayload(methodCustomsCancel).AddBizField("out_request_no", req.OutRequestNo)
	if req.TransactionID != "" {
		p.AddBizField("trade_no", req.TransactionID)
	}
	var rsp customsCancelRsp
	if err := a.client.Request(ctx, p, &rsp); err != nil {
		return providers.Declaration{}, a.fail(callError(op, err))
	}
	if !rsp.Code.IsSuccess() {
		if rsp.SubCode == "ACQ.CUSTOMS_DECLARE_NOT_EXIST" {
			return providers.Declaration{OutRequestNo: req.OutRequestNo, Status: providers.DeclarationNotFound}, nil
		}
		return providers.Declaration{}, a.fail(businessError(op, rsp.Error))
	}
	return providers.Declaration{OutRequestNo: req.OutRequestNo, DeclarationID: rsp.AlipayDeclareNo, Status: providers.DeclarationCancelled}, nil
}
