package wechatpay

import (
	"context"
	"fmt"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/profitsharing"

	"github.com/xhspay/xhspay/providers"
)

// unfreezeDescription is the profit-sharing description of an escrow release.
const unfreezeDescription = "escrow release"

// HoldFunds confirms that a paid order's funds are frozen. WeChat Pay freezes
// the funds of an order created with settle_info.profit_sharing (PaymentRequest.Hold)
// from the moment it is paid, so there is nothing to freeze here: the call
// checks the unsplit amount (profitsharing QueryOrderAmount) and answers HELD
// while it is positive. An order whose funds are not frozen (created without
// Hold, already released, or fully refunded) fails with ErrTypeRejected, code NOT_HELD.
func (a *Adapter) HoldFunds(ctx context.Context, req providers.HoldRequest) (providers.Hold, error) {
	txID, err := a.transactionID(ctx, opHold, req.OutTradeNo, req.TransactionID)
	if err != nil {
		return providers.Hold{}, err
	}
	resp, _, err := a.psTx.QueryOrderAmount(ctx, profitsharing.QueryOrderAmountRequest{TransactionId: core.String(txID)})
	if err != nil {
		return providers.Hold{}, classify(opHold, err)
	}
	if resp.UnsplitAmount == nil || *resp.UnsplitAmount <= 0 {
		return providers.Hold{}, providers.NewError(providerName, opHold, providers.ErrTypeRejected, "NOT_HELD",
			fmt.Sprintf("transaction %s has no frozen funds (not a profit-sharing order, released or refunded)", txID), nil)
	}
	return providers.Hold{OutRequestNo: req.OutRequestNo, HoldID: txID, Status: providers.HoldHeld}, nil
}

// ReleaseFunds releases a profit-sharing order's frozen funds to the
// merchant (profitsharing UnfreezeOrder, out_order_no = OutRequestNo; a
// repeated out_order_no returns the same unfreeze order). The unfreeze is
// asynchronous: PROCESSING maps to HoldProcessing, FINISHED to HoldReleased.
// NOT_ENOUGH (nothing left frozen, e.g. already unfrozen under another number)
// is answered as HoldReleased.
func (a *Adapter) ReleaseFunds(ctx context.Context, req providers.HoldRequest) (providers.Hold, error) {
	if !outNoPattern.MatchString(req.OutRequestNo) {
		return providers.Hold{}, invalid(opRelease, "OutRequestNo must be 1-64 characters of [0-9A-Za-z_-|*@]")
	}
	txID, err := a.transactionID(ctx, opRelease, req.OutTradeNo, req.TransactionID)
	if err != nil {
		return providers.Hold{}, err
	}
	resp, _, err := a.psOrders.UnfreezeOrder(ctx, profitsharing.UnfreezeOrderRequest{
		TransactionId: core.String(txID),
		OutOrderNo:    core.String(req.OutRequestNo),
		Description:   core.String(unfreezeDescription),
	})
	if err != nil {
		if core.IsAPIError(err, "NOT_ENOUGH") {
			a.log.InfoContext(ctx, "wechatpay unfreeze found nothing frozen", "transaction_id", txID, "out_order_no", req.OutRequestNo)
			return providers.Hold{OutRequestNo: req.OutRequestNo, Status: providers.HoldReleased}, nil
		}
		return providers.Hold{}, classify(opRelease, err)
	}
	h := providers.Hold{OutRequestNo: req.OutRequestNo, HoldID: deref(resp.OrderId), Status: providers.HoldProcessing}
	if resp.State != nil && *resp.State == profitsharing.ORDERSTATUS_FINISHED {
		h.Status = providers.HoldReleased
	}
	a.log.InfoContext(ctx, "wechatpay funds unfrozen", "transaction_id", txID, "out_order_no", req.OutRequestNo, "status", h.Status)
	return h, nil
}

// transactionID returns txID, or looks the paid order's transaction_id up by outTradeNo.
func (a *Adapter) transactionID(ctx context.Context, op, outTradeNo, txID string) (string, error) {
	if txID != "" {
		return txID, nil
	}
	if !outTradeNoPattern.MatchString(outTradeNo) {
		return "", invalid(op, "TransactionID, or a valid OutTradeNo to look it up by, is required")
	}
	tx, _, err := a.native.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo),
		Mchid:      core.String(a.cfg.MchID),
	})
	if err != nil {
		return "", classify(op, err)
	}
	if deref(tx.TransactionId) == "" {
		return "", providers.NewError(providerName, op, providers.ErrTypeRejected, deref(tx.TradeState), "order "+outTradeNo+" is not paid", nil)
	}
	return *tx.TransactionId, nil
}
