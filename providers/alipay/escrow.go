package alipay

import (
	"context"
	"fmt"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/xhspay/xhspay/providers"
)

// Escrow on Alipay is delayed settlement (账期结算): a trade created with
// PaymentRequest.Hold carries settle_info (trans_in_type defaultSettle,
// settle_period_time HoldDays), so after payment its funds wait at Alipay
// ("on_settle") instead of reaching the merchant's balance.
//
//   - HoldFunds maps to alipay.trade.query with query_options
//     ["trade_settle_info"]: it confirms the paid trade's funds are on_settle.
//     Alipay cannot freeze a trade after payment, so a trade created without
//     Hold fails with ErrTypeInvalidRequest.
//   - ReleaseFunds maps to alipay.trade.settle.confirm (统一收单确认结算):
//     the held amount (total less refunds) goes to the merchant. If the
//     settle period already ended, Alipay settled by itself and the release
//     is reported as done.
//
// Refunds of a held trade are taken from the held funds.

// settleConfirmRsp is the alipay.trade.settle.confirm answer.
type settleConfirmRsp struct {
	sdk.Error
	TradeNo      string `json:"trade_no"`
	OutRequestNo string `json:"out_request_no"`
	SettleAmount string `json:"settle_amount"`
}

// HoldFunds confirms that a paid trade created with Hold keeps its funds
// held (trade_settle_info shows them on_settle).
func (a *Adapter) HoldFunds(ctx context.Context, req providers.HoldRequest) (providers.Hold, error) {
	const op = "hold"
	if !outTradeNoRE.MatchString(req.OutTradeNo) {
		return providers.Hold{}, invalidRequest(op, "OutTradeNo", "1-64 letters, digits or underscores")
	}
	if _, err := cnyText(op, "Amount", req.Amount); err != nil {
		return providers.Hold{}, err
	}
	rsp, err := a.client.TradeQuery(ctx, sdk.TradeQuery{OutTradeNo: req.OutTradeNo, TradeNo: req.TransactionID, QueryOptions: []string{"trade_settle_info"}})
	if err != nil {
		return providers.Hold{}, a.fail(callError(op, err))
	}
	if !rsp.Code.IsSuccess() {
		return providers.Hold{}, a.fail(businessError(op, rsp.Error))
	}
	switch rsp.TradeStatus {
	case sdk.TradeStatusSuccess, sdk.TradeStatusFinished:
	case sdk.TradeStatusClosed:
		return providers.Hold{}, a.fail(providers.NewError(providerName, op, providers.ErrTypeTradeClosed, "", "trade is closed", nil))
	default:
		return providers.Hold{}, a.fail(providers.NewError(providerName, op, providers.ErrTypeRejected, "", "trade is not paid ("+string(rsp.TradeStatus)+")", nil))
	}
	if rsp.TradeSettleInfo == nil {
		return providers.Hold{}, a.fail(invalidRequest(op, "OutTradeNo", "the trade was not created with delayed settlement (PaymentRequest.Hold); Alipay cannot hold it after payment"))
	}
	var held, settled bool
	for _, d := range rsp.TradeSettleInfo.TradeSettleDetailList {
		switch d.OperationType {
		case "on_settle":
			held = true
			amt, err := parseCNY(d.Amount)
			if err != nil {
				return providers.Hold{}, a.fail(badResponse(op, "trade_settle_info amount", err))
			}
			if c, err := amt.Cmp(req.Amount); err == nil && c < 0 {
				return providers.Hold{}, a.fail(providers.NewError(providerName, op, providers.ErrTypeRejected, "", fmt.Sprintf("only %s is held, %s asked", amt, req.Amount), nil))
			}
		case "settle":
			settled = true
		}
	}
	switch {
	case settled:
		return providers.Hold{}, a.fail(providers.NewError(providerName, op, providers.ErrTypeRejected, "", "the funds were already settled to the merchant", nil))
	case !held:
		return providers.Hold{}, a.fail(invalidRequest(op, "OutTradeNo", "the trade was not created with delayed settlement (PaymentRequest.Hold); Alipay cannot hold it after payment"))
	}
	return providers.Hold{OutRequestNo: req.OutRequestNo, HoldID: rsp.TradeNo, Status: providers.HoldHeld}, nil
}

// ReleaseFunds settles the held funds to the merchant (alipay.trade.settle.confirm,
// idempotent by OutRequestNo). Amount must be what is still held: the total less refunds.
func (a *Adapter) ReleaseFunds(ctx context.Context, req providers.HoldRequest) (providers.Hold, error) {
	const op = "release"
	if !outRequestNoRE.MatchString(req.OutRequestNo) {
		return providers.Hold{}, invalidRequest(op, "OutRequestNo", "1-64 letters, digits, '_' or '-'")
	}
	amount, err := cnyText(op, "Amount", req.Amount)
	if err != nil {
		return providers.Hold{}, err
	}
	tradeNo := req.TransactionID
	if tradeNo == "" {
		p, err := a.QueryPayment(ctx, req.OutTradeNo)
		if err != nil {
			return providers.Hold{}, err
		}
		if p.Status == providers.PaymentNotFound {
			return providers.Hold{}, a.fail(providers.NewError(providerName, op, providers.ErrTypeTradeNotFound, "ACQ.TRADE_NOT_EXIST", "trade "+req.OutTradeNo+" does not exist", nil))
		}
		tradeNo = p.TransactionID
	}
	payload := sdk.NewPayload("alipay.trade.settle.confirm").
		AddBizField("out_request_no", req.OutRequestNo).
		AddBizField("trade_no", tradeNo).
		AddBizField("settle_info", map[string]any{
			"settle_detail_infos": []map[string]string{{"trans_in_type": "defaultSettle", "amount": amount}},
		})
	var rsp settleConfirmRsp
	if err := a.client.Request(ctx, payload, &rsp); err != nil {
		return providers.Hold{}, a.fail(callError(op, err))
	}
	if !rsp.Code.IsSuccess() {
		return providers.Hold{}, a.fail(businessError(op, rsp.Error))
	}
	return providers.Hold{OutRequestNo: req.OutRequestNo, HoldID: rsp.TradeNo, Status: providers.HoldReleased}, nil
}
