package wechatpay

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// Operation names used in errors.
const (
	opCreate        = "create"
	opQuery         = "query"
	opClose         = "close"
	opRefund        = "refund"
	opQueryRefund   = "queryRefund"
	opHold          = "hold"
	opRelease       = "release"
	opDeclare       = "declare"
	opQueryDeclare  = "queryDeclaration"
	opRedeclare     = "redeclare"
	opCancelDeclare = "cancelDeclaration"
	opNotify        = "notify"
)

var (
	// outTradeNoPattern is WeChat Pay's rule for out_trade_no.
	outTradeNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{6,32}$`)
	// outNoPattern is its rule for out_refund_no and out_order_no.
	outNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)
)

// beijing is China Standard Time, in which times are sent.
var beijing = time.FixedZone("CST", 8*3600)

// fen converts a CNY amount to fen, naming field in the error.
func fen(op, field string, a money.Amount) (int64, error) {
	if a.Currency() != money.CNY {
		return 0, invalid(op, fmt.Sprintf("%s must be in CNY, got %q", field, a.Currency()))
	}
	n, err := a.MinorUnits()
	if err != nil {
		return 0, providers.NewError(providerName, op, providers.ErrTypeInvalidRequest, "", field+" must be a whole number of fen", err)
	}
	if n <= 0 {
		return 0, invalid(op, field+" must be positive")
	}
	return n, nil
}

// CreatePayment creates a native (SceneQR: code_url) or h5 (ScenePage:
// h5_url) order. Hold sets settle_info.profit_sharing, so the paid funds stay
// frozen until ReleaseFunds unfreezes them. Huabei instalments are not offered
// by WeChat Pay (ErrTypeNotSupported).
func (a *Adapter) CreatePayment(ctx context.Context, req providers.PaymentRequest) (providers.PaymentSession, error) {
	switch {
	case !outTradeNoPattern.MatchString(req.OutTradeNo):
		return providers.PaymentSession{}, invalid(opCreate, "OutTradeNo must be 6-32 characters of [0-9A-Za-z_-|*@]")
	case req.Subject == "" || len(req.Subject) > 127:
		return providers.PaymentSession{}, invalid(opCreate, "Subject is required and at most 127 bytes")
	case req.Instalments != nil:
		return providers.PaymentSession{}, providers.NewError(providerName, opCreate, providers.ErrTypeNotSupported, "", "WeChat Pay has no instalments; Instalments must be nil", nil)
	case !req.ExpireAt.IsZero() && !req.ExpireAt.After(a.now()):
		return providers.PaymentSession{}, invalid(opCreate, "ExpireAt must be in the future")
	}
	total, err := fen(opCreate, "Amount", req.Amount)
	if err != nil {
		return providers.PaymentSession{}, err
	}
	notifyURL := req.NotifyURL
	if notifyURL == "" {
		notifyURL = a.cfg.NotifyURL
	}
	if notifyURL == "" {
		return providers.PaymentSession{}, invalid(opCreate, "NotifyURL is required (in the request or Config.NotifyURL)")
	}
	var expire *time.Time
	if !req.ExpireAt.IsZero() {
		t := req.ExpireAt.In(beijing).Truncate(time.Second)
		expire = &t
	}
	var settle *bool
	if req.Hold {
		settle = core.Bool(true)
	}
	sess := providers.PaymentSession{OutTradeNo: req.OutTradeNo}
	switch req.Scene {
	case providers.SceneQR:
		pr := native.PrepayRequest{
			Appid:       core.String(a.cfg.AppID),
			Mchid:       core.String(a.cfg.MchID),
			Description: core.String(req.Subject),
			OutTradeNo:  core.String(req.OutTradeNo),
			TimeExpire:  expire,
			NotifyUrl:   core.String(notifyURL),
			Amount:      &native.Amount{Total: core.Int64(total), Currency: core.String("CNY")},
		}
		if settle != nil {
			pr.SettleInfo = &native.SettleInfo{ProfitSharing: settle}
		}
		resp, _, err := a.native.Prepay(ctx, pr)
		if err != nil {
			return providers.PaymentSession{}, classify(opCreate, err)
		}
		if resp.CodeUrl == nil || *resp.CodeUrl == "" {
			return providers.PaymentSession{}, providers.NewError(providerName, opCreate, providers.ErrTypeUnavailable, "", "native prepay answered no code_url", nil)
		}
		sess.QRCode = *resp.CodeUrl
	case providers.ScenePage:
		ip := a.cfg.PayerClientIP
		if ip == "" {
			ip = "127.0.0.1"
		}
		pr := h5.PrepayRequest{
			Appid:       core.String(a.cfg.AppID),
			Mchid:       core.String(a.cfg.MchID),
			Description: core.String(req.Subject),
			OutTradeNo:  core.String(req.OutTradeNo),
			TimeExpire:  expire,
			NotifyUrl:   core.String(notifyURL),
			Amount:      &h5.Amount{Total: core.Int64(total), Currency: core.String("CNY")},
			SceneInfo: &h5.SceneInfo{
				PayerClientIp: core.String(ip),
				H5Info:        &h5.H5Info{Type: core.String("Wap")},
			},
		}
		if settle != nil {
			pr.SettleInfo = &h5.SettleInfo{ProfitSharing: settle}
		}
		resp, _, err := a.h5.Prepay(ctx, pr)
		if err != nil {
			return providers.PaymentSession{}, classify(opCreate, err)
		}
		if resp.H5Url == nil || *resp.H5Url == "" {
			return providers.PaymentSession{}, providers.NewError(providerName, opCreate, providers.ErrTypeUnavailable, "", "h5 prepay answered no h5_url", nil)
		}
		sess.PayURL = *resp.H5Url
	default:
		return providers.PaymentSession{}, invalid(opCreate, fmt.Sprintf("Scene must be %q or %q, got %q", providers.SceneQR, providers.ScenePage, req.Scene))
	}
	a.log.InfoContext(ctx, "wechatpay order created", "out_trade_no", req.OutTradeNo, "scene", req.Scene, "hold", req.Hold)
	return sess, nil
}

// QueryPayment returns the order's state (QueryOrderByOutTradeNo). An order
// WeChat Pay does not know is PaymentNotFound, not an error.
func (a *Adapter) QueryPayment(ctx context.Context, outTradeNo string) (providers.Payment, error) {
	if !outTradeNoPattern.MatchString(outTradeNo) {
		return providers.Payment{}, invalid(opQuery, "outTradeNo must be 6-32 characters of [0-9A-Za-z_-|*@]")
	}
	tx, _, err := a.native.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo),
		Mchid:      core.String(a.cfg.MchID),
	})
	if isNotFound(err) {
		return providers.Payment{OutTradeNo: outTradeNo, Status: providers.PaymentNotFound}, nil
	}
	if err != nil {
		return providers.Payment{}, classify(opQuery, err)
	}
	return paymentFrom(opQuery, tx)
}

// paymentStatus maps trade_state. PAYERROR (the bank refused the payment) is
// final for the order, so it counts as closed.
func paymentStatus(state string) (providers.PaymentStatus, bool) {
	switch state {
	case "SUCCESS":
		return providers.PaymentPaid, true
	case "REFUND":
		return providers.PaymentRefunded, true
	case "NOTPAY", "USERPAYING":
		return providers.PaymentPending, true
	case "CLOSED", "REVOKED", "PAYERROR":
		return providers.PaymentClosed, true
	}
	return "", false
}

// paymentFrom converts a WeChat Pay transaction.
func paymentFrom(op string, tx *payments.Transaction) (providers.Payment, error) {
	p := providers.Payment{
		OutTradeNo:    deref(tx.OutTradeNo),
		TransactionID: deref(tx.TransactionId),
	}
	state := deref(tx.TradeState)
	status, ok := paymentStatus(state)
	if !ok {
		return providers.Payment{}, providers.NewError(providerName, op, providers.ErrTypeUnavailable, state, "unknown trade_state", nil)
	}
	p.Status = status
	var total int64
	if tx.Amount != nil && tx.Amount.Total != nil {
		total = *tx.Amount.Total
	}
	cur := money.CNY
	if tx.Amount != nil && tx.Amount.Currency != nil && *tx.Amount.Currency != "" {
		c, err := money.ParseCurrency(*tx.Amount.Currency)
		if err != nil {
			return providers.Payment{}, providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "unknown amount.currency", err)
		}
		cur = c
	}
	amt, err := money.FromMinor(total, cur)
	if err != nil {
		return providers.Payment{}, providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "bad amount.total", err)
	}
	p.Amount = amt
	if s := deref(tx.SuccessTime); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return providers.Payment{}, providers.NewError(providerName, op, providers.ErrTypeUnavailable, "", "success_time is not RFC 3339", err)
		}
		p.PaidAt = t
	}
	if tx.Payer != nil {
		p.PayerAccount = deref(tx.Payer.Openid)
	}
	return p, nil
}

// ClosePayment closes an unpaid order (CloseOrder). Closing a paid order
// fails with ErrTypeTradePaid (ORDERPAID); closing a closed one succeeds.
func (a *Adapter) ClosePayment(ctx context.Context, outTradeNo string) error {
	if !outTradeNoPattern.MatchString(outTradeNo) {
		return invalid(opClose, "outTradeNo must be 6-32 characters of [0-9A-Za-z_-|*@]")
	}
	_, err := a.native.CloseOrder(ctx, native.CloseOrderRequest{
		OutTradeNo: core.String(outTradeNo),
		Mchid:      core.String(a.cfg.MchID),
	})
	if err != nil {
		return classify(opClose, err)
	}
	a.log.InfoContext(ctx, "wechatpay order closed", "out_trade_no", outTradeNo)
	return nil
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
