package wechatpay

import (
	"context"
	"fmt"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// Refund refunds part or all of a paid order (refunddomestic.Create).
// WeChat Pay answers a repeated out_refund_no with the refund it already
// has; if that refund's amount differs from the request the out_refund_no was
// reused for another refund (ErrTypeDuplicateRequest). Refunds beyond what
// remains refundable fail with ErrTypeRefundExceeded.
func (a *Adapter) Refund(ctx context.Context, req providers.RefundRequest) (providers.Refund, error) {
	switch {
	case !outNoPattern.MatchString(req.OutRefundNo):
		return providers.Refund{}, invalid(opRefund, "OutRefundNo must be 1-64 characters of [0-9A-Za-z_-|*@]")
	case req.OutTradeNo == "" && req.TransactionID == "":
		return providers.Refund{}, invalid(opRefund, "OutTradeNo or TransactionID is required")
	case req.OutTradeNo != "" && !outTradeNoPattern.MatchString(req.OutTradeNo):
		return providers.Refund{}, invalid(opRefund, "OutTradeNo must be 6-32 characters of [0-9A-Za-z_-|*@]")
	case len(req.Reason) > 80:
		return providers.Refund{}, invalid(opRefund, "Reason must be at most 80 bytes")
	}
	amount, err := fen(opRefund, "Amount", req.Amount)
	if err != nil {
		return providers.Refund{}, err
	}
	total, err := fen(opRefund, "Total", req.Total)
	if err != nil {
		return providers.Refund{}, err
	}
	if amount > total {
		return providers.Refund{}, providers.NewError(providerName, opRefund, providers.ErrTypeRefundExceeded, "", "Amount exceeds the order's Total", nil)
	}
	cr := refunddomestic.CreateRequest{
		OutRefundNo: core.String(req.OutRefundNo),
		Amount: &refunddomestic.AmountReq{
			Refund:   core.Int64(amount),
			Total:    core.Int64(total),
			Currency: core.String("CNY"),
		},
	}
	if req.TransactionID != "" {
		cr.TransactionId = core.String(req.TransactionID)
	} else {
		cr.OutTradeNo = core.String(req.OutTradeNo)
	}
	if req.Reason != "" {
		cr.Reason = core.String(req.Reason)
	}
	notifyURL := req.NotifyURL
	if notifyURL == "" {
		notifyURL = a.cfg.NotifyURL
	}
	if notifyURL != "" {
		cr.NotifyUrl = core.String(notifyURL)
	}
	resp, _, err := a.refunds.Create(ctx, cr)
	if err != nil {
		return providers.Refund{}, classify(opRefund, err)
	}
	r, err := refundFrom(opRefund, resp)
	if err != nil {
		return providers.Refund{}, err
	}
	if resp.Amount != nil && resp.Amount.Refund != nil && *resp.Amount.Refund != amount {
		return providers.Refund{}, providers.NewError(providerName, opRefund, providers.ErrTypeDuplicateRequest, "",
			fmt.Sprintf("out_refund_no %s already refunds %d fen, not %d", req.OutRefundNo, *resp.Amount.Refund, amount), nil)
	}
	a.log.InfoContext(ctx, "wechatpay refund accepted", "out_refund_no", req.OutRefundNo, "status", r.Status)
	return r, nil
}

// QueryRefund returns a refund's state (QueryByOutRefundNo); an unknown
// refund is RefundNotFound, not an error.
func (a *Adapter) QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (providers.Refund, error) {
	if !outNoPattern.MatchString(outRefundNo) {
		return providers.Refund{}, invalid(opQueryRefund, "outRefundNo must be 1-64 characters of [0-9A-Za-z_-|*@]")
	}
	resp, _, err := a.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if isNotFound(err) {
		return providers.Refund{OutTradeNo: outTradeNo, OutRefundNo: outRefundNo, Status: providers.RefundNotFound}, nil
	}
	if err != nil {
		return providers.Refund{}, classify(opQueryRefund, err)
	}
	r, err := refundFrom(opQueryRefund, resp)
	if err != nil {
		return providers.Refund{}, err
	}
	if outTradeNo != "" && r.OutTradeNo != outTradeNo {
		return providers.Refund{}, invalid(opQueryRefund, fmt.Sprintf("refund %s belongs to order %s, not %s", outRefundNo, r.OutTradeNo, outTradeNo))
	}
	return r, nil
}

// refundStatus maps a refund status.
func refundStatus(s string) (providers.RefundStatus, bool) {
	switch s {
	case "SUCCESS":
		return providers.RefundSucceeded, true
	case "PROCESSING":
		return providers.RefundProcessing, true
	case "CLOSED", "ABNORMAL":
		return providers.RefundFailed, true
	}
	return "", false
}

// refundFrom converts a WeChat Pay refund.
func refundFrom(op string, r *refunddomestic.Refund) (providers.Refund, error) {
	var status string
	if r.Status != nil {
		status = string(*r.Status)
	}
	st, ok := refundStatus(status)
	if !ok {
		return providers.Refund{}, providers.NewError(providerName, op, providers.ErrTypeUnavailable, status, "unknown refund status", nil)
	}
	var refunded int64
	if r.Amount != nil && r.Amount.Refund != nil {
		refunded = *r.Amount.Refund
	}
	amt, err := money.FromMinor(refunded, money.CNY)
	if err != nil {
		return providers.Refund{}, providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "bad amount.refund", err)
	}
	out := providers.Refund{
		OutTradeNo:  deref(r.OutTradeNo),
		OutRefundNo: deref(r.OutRefundNo),
		RefundID:    deref(r.RefundId),
		Status:      st,
		Amount:      amt,
	}
	if st == providers.RefundSucceeded && r.SuccessTime != nil {
		out.RefundedAt = *r.SuccessTime
	}
	return out, nil
}
