package wechatpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// maxNotifyAge is how old (or how far in the future) a notification's
// signature timestamp may be; older ones are refused as replayed or stale.
const maxNotifyAge = 5 * time.Minute

// maxNotifyBody bounds a notification body.
const maxNotifyBody = 1 << 20

// envelope is the part of a notification checked before the SDK verifies and decrypts it.
type envelope struct {
	ID         string `json:"id"`
	CreateTime string `json:"create_time"`
	EventType  string `json:"event_type"`
	Resource   *struct {
		Algorithm  string `json:"algorithm"`
		Ciphertext string `json:"ciphertext"`
		Nonce      string `json:"nonce"`
	} `json:"resource"`
}

// refundNotification is the decrypted resource of a REFUND.* notification.
type refundNotification struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	RefundStatus  string `json:"refund_status"`
	SuccessTime   string `json:"success_time"`
	Amount        struct {
		Total  int64 `json:"total"`
		Refund int64 `json:"refund"`
	} `json:"amount"`
}

// ParseNotification verifies and decodes a WeChat Pay notification:
// TRANSACTION.* events become NotifyPayment, REFUND.* events NotifyRefund.
// The signature headers are checked (a timestamp more than five minutes
// away is refused as replayed or stale) and the platform signature verified,
// then the SDK's notify handler decrypts the AEAD_AES_256_GCM resource.
// Signature, stale-timestamp and decryption failures are ErrTypeSignature;
// a malformed body or unknown event is ErrTypeInvalidRequest. The
// notification's ID is the envelope id, the same on every redelivery.
func (a *Adapter) ParseNotification(ctx context.Context, r *http.Request) (providers.Notification, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotifyBody+1))
	if err != nil {
		return providers.Notification{}, providers.NewError(providerName, opNotify, providers.ErrTypeInvalidRequest, "", "notification body unreadable", err)
	}
	if len(body) > maxNotifyBody {
		return providers.Notification{}, invalid(opNotify, "notification body is over 1 MiB")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := a.checkNotifyHeaders(r.Header); err != nil {
		return providers.Notification{}, err
	}
	// Verify the signature before judging the body, so a forged body is a
	// signature failure rather than a malformed request.
	if err := a.verify.Validate(ctx, r); err != nil {
		return providers.Notification{}, providers.NewError(providerName, opNotify, providers.ErrTypeSignature, "", "notification signature did not verify", err)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return providers.Notification{}, providers.NewError(providerName, opNotify, providers.ErrTypeInvalidRequest, "", "notification body is not JSON", err)
	}
	switch {
	case env.ID == "":
		return providers.Notification{}, invalid(opNotify, "notification has no id")
	case env.Resource == nil || env.Resource.Ciphertext == "" || env.Resource.Nonce == "":
		return providers.Notification{}, invalid(opNotify, "notification has no encrypted resource")
	case env.Resource.Algorithm != "AEAD_AES_256_GCM":
		return providers.Notification{}, invalid(opNotify, fmt.Sprintf("resource.algorithm must be AEAD_AES_256_GCM, got %q", env.Resource.Algorithm))
	}
	var content any
	var tx payments.Transaction
	var rn refundNotification
	kind := providers.NotifyPayment
	switch {
	case strings.HasPrefix(env.EventType, "TRANSACTION."):
		content = &tx
	case strings.HasPrefix(env.EventType, "REFUND."):
		content, kind = &rn, providers.NotifyRefund
	default:
		return providers.Notification{}, invalid(opNotify, fmt.Sprintf("unsupported event_type %q", env.EventType))
	}
	parsed, err := a.notify.ParseNotifyRequest(ctx, r, content)
	if err != nil {
		msg := err.Error()
		if i := strings.Index(msg, ", request: "); i >= 0 {
			msg = msg[:i] // the SDK appends the whole request dump
		}
		if parsed != nil && parsed.Resource != nil && parsed.Resource.Plaintext != "" {
			return providers.Notification{}, providers.NewError(providerName, opNotify, providers.ErrTypeInvalidRequest, "", "decrypted resource is not the expected JSON", errors.New(msg))
		}
		return providers.Notification{}, providers.NewError(providerName, opNotify, providers.ErrTypeSignature, "", "signature or decryption failed", errors.New(msg))
	}
	n := providers.Notification{ID: parsed.ID, Provider: providers.WeChatPay, Kind: kind}
	if parsed.CreateTime != nil {
		n.SentAt = *parsed.CreateTime
	}
	switch kind {
	case providers.NotifyPayment:
		if tx.Mchid != nil && *tx.Mchid != a.cfg.MchID {
			return providers.Notification{}, invalid(opNotify, "notification is for merchant "+*tx.Mchid)
		}
		p, err := paymentFrom(opNotify, &tx)
		if err != nil {
			return providers.Notification{}, err
		}
		n.Payment = &p
	case providers.NotifyRefund:
		if rn.MchID != "" && rn.MchID != a.cfg.MchID {
			return providers.Notification{}, invalid(opNotify, "notification is for merchant "+rn.MchID)
		}
		rf, err := refundFromNotification(rn)
		if err != nil {
			return providers.Notification{}, err
		}
		n.Refund = &rf
	}
	return n, nil
}

// checkNotifyHeaders refuses a notification without signature headers or
// with a timestamp outside five minutes of now.
func (a *Adapter) checkNotifyHeaders(h http.Header) error {
	for _, k := range []string{"Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce"} {
		if strings.TrimSpace(h.Get(k)) == "" {
			return providers.NewError(providerName, opNotify, providers.ErrTypeSignature, "", "notification lacks the "+k+" header", nil)
		}
	}
	if st := h.Get("Wechatpay-Signature-Type"); st != "" && st != "WECHATPAY2-SHA256-RSA2048" {
		return providers.NewError(providerName, opNotify, providers.ErrTypeSignature, "", "unsupported Wechatpay-Signature-Type "+st, nil)
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(h.Get("Wechatpay-Timestamp")), 10, 64)
	if err != nil {
		return providers.NewError(providerName, opNotify, providers.ErrTypeSignature, "", "Wechatpay-Timestamp is not a number", err)
	}
	if age := a.now().Sub(time.Unix(ts, 0)); age > maxNotifyAge || age < -maxNotifyAge {
		return providers.NewError(providerName, opNotify, providers.ErrTypeSignature, "", fmt.Sprintf("replayed/stale notification: signed %s from now", age.Round(time.Second)), nil)
	}
	return nil
}

// refundFromNotification converts a refund notification.
func refundFromNotification(rn refundNotification) (providers.Refund, error) {
	st, ok := refundStatus(rn.RefundStatus)
	if !ok {
		return providers.Refund{}, invalid(opNotify, fmt.Sprintf("unknown refund_status %q", rn.RefundStatus))
	}
	amt, err := money.FromMinor(rn.Amount.Refund, money.CNY)
	if err != nil {
		return providers.Refund{}, providers.NewError(providerName, opNotify, providers.ErrTypeInvalidRequest, "", "bad amount.refund", err)
	}
	rf := providers.Refund{
		OutTradeNo:  rn.OutTradeNo,
		OutRefundNo: rn.OutRefundNo,
		RefundID:    rn.RefundID,
		Status:      st,
		Amount:      amt,
	}
	if rn.SuccessTime != "" {
		t, err := time.Parse(time.RFC3339, rn.SuccessTime)
		if err != nil {
			return providers.Refund{}, providers.NewError(providerName, opNotify, providers.ErrTypeInvalidRequest, "", "success_time is not RFC 3339", err)
		}
		rf.RefundedAt = t
	}
	return rf, nil
}

// AckNotification answers WeChat Pay that a notification was processed, so it
// stops redelivering it.
func AckNotification(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"code":"SUCCESS","message":"成功"}`))
}

// RejectNotification answers WeChat Pay that a notification was not
// processed (status 4xx for a bad one, 5xx to have it redelivered later).
func RejectNotification(w http.ResponseWriter, status int, message string) {
	b, _ := json.Marshal(map[string]string{"code": "FAIL", "message": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
