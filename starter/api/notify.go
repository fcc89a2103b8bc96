package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/customs"
	"github.com/xhspay/xhspay/workflows"
)

// maxPaymentAttempts bounds the payment attempts whose trade numbers are
// recognised as an order's: the workflow numbers its out_trade_no
// providers.Key(orderID, "pay", attempt) from 1, one more per operator retry.
const maxPaymentAttempts = 64

// customsLabel is the provider label of customs notifications.
const customsLabel = "customs"

// tradeOfOrder reports whether outTradeNo is one of the order's trade numbers.
func tradeOfOrder(orderID, outTradeNo string) bool {
	if outTradeNo == "" {
		return false
	}
	for attempt := 1; attempt <= maxPaymentAttempts; attempt++ {
		if providers.Key(orderID, "pay", strconv.Itoa(attempt)) == outTradeNo {
			return true
		}
	}
	return false
}

// ack answers a handled notification the way its sender expects: Alipay the
// plain text "success", WeChat Pay 200 {"code":"SUCCESS"}, the card PSP and
// customs 204.
func ack(w http.ResponseWriter, provider string) {
	switch provider {
	case string(providers.Alipay):
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("success"))
	case string(providers.WeChatPay):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"code":"SUCCESS","message":"成功"}`))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// refuse answers a notification that was not handled, so that its sender
// retries (a 5xx) or gives up on it (a 4xx): Alipay gets the plain text
// "fail", WeChat Pay {"code":"FAIL","message":...}, the others our problem JSON.
func refuse(w http.ResponseWriter, provider string, status int, message string) {
	switch provider {
	case string(providers.Alipay):
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("fail"))
	case string(providers.WeChatPay):
		b, _ := json.Marshal(map[string]string{"code": "FAIL", "message": message})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	default:
		code := CodeInvalidRequest
		if status >= 500 {
			code = CodeUnavailable
		}
		writeJSON(w, status, &Problem{Code: code, Message: message})
	}
}

// parseFailure classifies a parser's error: forged (signature, decryption,
// stale timestamp) or malformed.
func parseFailure(err error) (result string, status int) {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Type == providers.ErrTypeSignature {
		return notifyForged, http.StatusUnauthorized
	}
	return notifyMalformed, http.StatusBadRequest
}

// delivery is a verified notification on its way to a workflow.
type delivery struct {
	provider, orderID, notificationID, kind string
	signal                                  string
	payload                                 any
}

// deliver signals a verified notification to its order once: a duplicate
// (seen recently) is acknowledged without a signal; the answer to the sender
// is an acknowledgement only after Temporal accepted the signal, so that any
// failure makes the sender retry. The workflows ignore duplicates anyway (a
// payment already recorded, a refund already final), so the in-memory set is
// an optimisation, not what makes duplicates harmless.
func (s *server) deliver(ctx context.Context, w http.ResponseWriter, d delivery) {
	log := s.logger(ctx).With("provider", d.provider, "order", d.orderID, "notification", d.notificationID, "kind", d.kind)
	key := d.provider + "\x00" + d.notificationID
	if s.seen.contains(key) {
		s.metrics.notified(d.provider, notifyDuplicate)
		log.Info("duplicate notification acknowledged")
		ack(w, d.provider)
		return
	}
	err := s.cfg.Temporal.SignalWorkflow(ctx, d.orderID, "", d.signal, d.payload)
	switch {
	case err == nil:
		s.seen.add(key)
		s.metrics.notified(d.provider, notifyAccepted)
		log.Info("notification delivered", "signal", d.signal)
		ack(w, d.provider)
	case isNotFound(err):
		// The order's workflow has ended (the workflows poll, so nothing is
		// missing): retrying cannot help, so acknowledge.
		s.seen.add(key)
		s.metrics.notified(d.provider, notifyUnroutable)
		log.Warn("notification for an ended order acknowledged without a signal", "err", err)
		ack(w, d.provider)
	default:
		s.metrics.notified(d.provider, notifyError)
		log.Error("notification not delivered; the sender will retry", "err", err)
		refuse(w, d.provider, http.StatusServiceUnavailable, "temporarily unavailable")
	}
}

// notifyPayment is POST /notify/{provider}/{orderId}: a payment or refund
// notification from Alipay, WeChat Pay or the card PSP about one order.
func (s *server) notifyPayment(w http.ResponseWriter, r *http.Request, _ Merchant) {
	name := providers.Name(r.PathValue("provider"))
	parser, ok := s.cfg.Notifiers[name]
	if !ok {
		s.metrics.notified("unknown", notifyMalformed)
		s.logger(r.Context()).Warn("notification rejected: no such provider")
		writeProblem(w, problem(http.StatusNotFound, CodeNotFound, "", "no such endpoint"))
		return
	}
	provider := string(name)
	orderID := r.PathValue("orderId")
	log := s.logger(r.Context()).With("provider", provider, "order", orderID)
	if _, _, ok := splitOrderID(orderID); !ok {
		s.metrics.notified(provider, notifyMismatch)
		log.Warn("notification rejected", "reason", "not an order id")
		refuse(w, provider, http.StatusNotFound, "unknown order")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	n, err := parser.ParseNotification(ctx, r)
	if err != nil {
		result, status := parseFailure(err)
		s.metrics.notified(provider, result)
		log.Warn("notification rejected", "result", result, "reason", err)
		refuse(w, provider, status, "notification rejected")
		return
	}
	d := delivery{provider: provider, orderID: orderID, notificationID: n.ID, kind: string(n.Kind)}
	var outTradeNo string
	switch {
	case n.Kind == providers.NotifyPayment && n.Payment != nil:
		outTradeNo, d.signal, d.payload = n.Payment.OutTradeNo, workflows.SignalPaymentNotified, *n.Payment
	case n.Kind == providers.NotifyRefund && n.Refund != nil:
		outTradeNo, d.signal, d.payload = n.Refund.OutTradeNo, workflows.SignalRefundNotified, *n.Refund
	default:
		s.metrics.notified(provider, notifyMalformed)
		log.Warn("notification rejected", "result", notifyMalformed, "reason", "unsupported kind "+string(n.Kind))
		refuse(w, provider, http.StatusBadRequest, "unsupported notification")
		return
	}
	if n.ID == "" || !tradeOfOrder(orderID, outTradeNo) {
		s.metrics.notified(provider, notifyMismatch)
		log.Warn("notification rejected", "result", notifyMismatch, "reason", "the trade is not this order's", "out_trade_no", outTradeNo)
		refuse(w, provider, http.StatusBadRequest, "notification does not belong to this order")
		return
	}
	s.deliver(ctx, w, d)
}

// notifyCustoms is POST /notify/customs: clearance verdicts and return
// decisions; the body names the order.
func (s *server) notifyCustoms(w http.ResponseWriter, r *http.Request, _ Merchant) {
	log := s.logger(r.Context()).With("provider", customsLabel)
	if s.cfg.Customs == nil {
		s.metrics.notified(customsLabel, notifyMalformed)
		log.Warn("notification rejected: customs notifications are not configured")
		writeProblem(w, problem(http.StatusNotFound, CodeNotFound, "", "no such endpoint"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	ev, err := s.cfg.Customs.ParseNotification(ctx, r)
	if err != nil {
		result, status := parseFailure(err)
		s.metrics.notified(customsLabel, result)
		log.Warn("notification rejected", "result", result, "reason", err)
		refuse(w, customsLabel, status, "notification rejected")
		return
	}
	d := delivery{provider: customsLabel, orderID: ev.OrderNo, notificationID: ev.ID, kind: string(ev.Kind)}
	switch {
	case ev.Kind == customs.EventClearance && ev.Clearance != nil:
		d.signal, d.payload = workflows.SignalCustomsResult, *ev.Clearance
	case ev.Kind == customs.EventReturn && ev.Return != nil:
		d.signal, d.payload = workflows.SignalReturnDecision, *ev.Return
	default:
		s.metrics.notified(customsLabel, notifyMalformed)
		log.Warn("notification rejected", "result", notifyMalformed, "reason", "unsupported kind "+string(ev.Kind))
		refuse(w, customsLabel, http.StatusBadRequest, "unsupported notification")
		return
	}
	if _, _, ok := splitOrderID(ev.OrderNo); !ok || ev.ID == "" {
		s.metrics.notified(customsLabel, notifyMismatch)
		log.Warn("notification rejected", "result", notifyMismatch, "reason", "orderNo is not an order id", "order", ev.OrderNo)
		refuse(w, customsLabel, http.StatusBadRequest, "notification names no order of ours")
		return
	}
	s.deliver(ctx, w, d)
}
