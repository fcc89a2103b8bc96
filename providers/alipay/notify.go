package alipay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// maxNotificationBytes bounds a notification body; Alipay's are a few KB.
const maxNotificationBytes = 64 << 10

// ParseNotification verifies and decodes an asynchronous notification (a form
// POST). The SDK verifies its RSA2 signature locally with Alipay's public key
// (or certificate). A notification that carries refund fields (out_biz_no,
// refund_fee, gmt_refund) is a NotifyRefund; any other is a NotifyPayment. The
// ID is notify_id, the same on every retry of one notification. Acknowledge a
// handled notification by answering exactly "success".
func (a *Adapter) ParseNotification(ctx context.Context, r *http.Request) (providers.Notification, error) {
	const op = "notify"
	if r.Method != http.MethodPost {
		return providers.Notification{}, invalidRequest(op, "method", "Alipay notifies with POST, got "+r.Method)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	if err != nil {
		return providers.Notification{}, providers.NewError(providerName, op, providers.ErrTypeInvalidRequest, "", "cannot read the body", err)
	}
	if len(body) > maxNotificationBytes {
		return providers.Notification{}, invalidRequest(op, "body", fmt.Sprintf("larger than %d bytes", maxNotificationBytes))
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return providers.Notification{}, providers.NewError(providerName, op, providers.ErrTypeInvalidRequest, "", "body is not a form", err)
	}
	if values.Get("sign") == "" {
		return providers.Notification{}, providers.NewError(providerName, op, providers.ErrTypeSignature, "", "sign is missing", nil)
	}
	if st := values.Get("sign_type"); st != "" && st != "RSA2" {
		return providers.Notification{}, providers.NewError(providerName, op, providers.ErrTypeSignature, "", "sign_type must be RSA2, got "+st, nil)
	}
	n, err := a.client.DecodeNotification(ctx, values)
	if err != nil {
		return providers.Notification{}, a.fail(providers.NewError(providerName, op, providers.ErrTypeSignature, "", "signature does not verify", err))
	}
	if n.AppId != a.cfg.AppID {
		return providers.Notification{}, a.fail(invalidRequest(op, "app_id", fmt.Sprintf("notification is for app %q, not %q", n.AppId, a.cfg.AppID)))
	}
	for _, f := range []struct{ name, value string }{{"notify_id", n.NotifyId}, {"out_trade_no", n.OutTradeNo}} {
		if f.value == "" {
			return providers.Notification{}, a.fail(invalidRequest(op, f.name, "required"))
		}
	}
	out := providers.Notification{ID: n.NotifyId, Provider: providers.Alipay}
	if out.SentAt, err = parseWireTime(n.NotifyTime); err != nil {
		return providers.Notification{}, a.fail(invalidRequest(op, "notify_time", "want yyyy-MM-dd HH:mm:ss: "+err.Error()))
	}
	if n.OutBizNo != "" || n.RefundFee != "" || n.GmtRefund != "" {
		rf, err := refundFromNotification(op, n)
		if err != nil {
			return providers.Notification{}, a.fail(err)
		}
		out.Kind, out.Refund = providers.NotifyRefund, &rf
		return out, nil
	}
	p, err := paymentFromNotification(op, n, values)
	if err != nil {
		return providers.Notification{}, a.fail(err)
	}
	out.Kind, out.Payment = providers.NotifyPayment, &p
	return out, nil
}

// paymentFromNotification reads a trade_status_sync notification.
func paymentFromNotification(op string, n *sdk.Notification, values url.Values) (providers.Payment, error) {
	if n.TradeStatus == "" {
		return providers.Payment{}, invalidRequest(op, "trade_status", "required")
	}
	status, ok := tradeStatuses[n.TradeStatus]
	if !ok {
		return providers.Payment{}, invalidRequest(op, "trade_status", fmt.Sprintf("unknown value %q", n.TradeStatus))
	}
	amount, err := parseCNY(n.TotalAmount)
	if err != nil {
		return providers.Payment{}, invalidRequest(op, "total_amount", "want a yuan amount: "+err.Error())
	}
	p := providers.Payment{OutTradeNo: n.OutTradeNo, TransactionID: n.TradeNo, Status: status, Amount: amount, PayerAccount: n.BuyerLogonId}
	if p.PaidAt, err = parseWireTime(n.GmtPayment); err != nil {
		return providers.Payment{}, invalidRequest(op, "gmt_payment", "want yyyy-MM-dd HH:mm:ss: "+err.Error())
	}
	if raw := values.Get("hb_fq_pay_info"); raw != "" {
		var info sdk.HBFQPayInfo
		if err := json.Unmarshal([]byte(raw), &info); err != nil {
			return providers.Payment{}, invalidRequest(op, "hb_fq_pay_info", "want {\"user_install_num\":\"N\"}: "+err.Error())
		}
		if info.UserInstallNum != "" {
			if p.Instalments, err = strconv.Atoi(info.UserInstallNum); err != nil {
				return providers.Payment{}, invalidRequest(op, "hb_fq_pay_info.user_install_num", "want a number")
			}
		}
	}
	return p, nil
}

// refundFromNotification reads the refund fields of a notification. Alipay
// sends refund_fee as the trade's cumulative refunded total; the refund's own
// amount is send_back_fee, and Amount stays the zero Amount (unknown) when
// Alipay omits it: confirm with QueryRefund.
func refundFromNotification(op string, n *sdk.Notification) (providers.Refund, error) {
	if n.OutBizNo == "" {
		return providers.Refund{}, invalidRequest(op, "out_biz_no", "required in a refund notification")
	}
	at, err := parseWireTime(n.GmtRefund)
	if err != nil || at.IsZero() {
		return providers.Refund{}, invalidRequest(op, "gmt_refund", "required, yyyy-MM-dd HH:mm:ss[.SSS]")
	}
	rf := providers.Refund{OutTradeNo: n.OutTradeNo, OutRefundNo: n.OutBizNo, Status: providers.RefundSucceeded, RefundedAt: at}
	if n.SendBackFee != "" {
		amt, err := money.Parse(n.SendBackFee, money.CNY)
		if err != nil {
			return providers.Refund{}, invalidRequest(op, "send_back_fee", "want a yuan amount: "+err.Error())
		}
		rf.Amount = amt
	}
	return rf, nil
}
