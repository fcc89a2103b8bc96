package alipay

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// notification is one asynchronous notification, re-signed at each attempt
// with a fresh notify_time; notify_id stays the same across retries.
type notification struct {
	url    string
	fields url.Values
}

// notifyTrade queues the trade_status_sync notification of a trade's current
// state; r, when set, adds the refund fields (out_biz_no, refund_fee,
// gmt_refund, send_back_fee). Call with s.mu held.
func (s *Sandbox) notifyTrade(t *trade, r *refund) {
	if t.notifyURL == "" {
		return
	}
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("notify_type", "trade_status_sync")
	set("notify_id", randomString(32, "0123456789abcdef"))
	set("app_id", s.cfg.AppID)
	set("auth_app_id", s.cfg.AppID)
	set("charset", "utf-8")
	set("version", "1.0")
	set("sign_type", "RSA2")
	set("seller_id", s.pid)
	set("trade_no", t.tradeNo)
	set("out_trade_no", t.outTradeNo)
	set("trade_status", t.status)
	set("subject", t.subject)
	set("total_amount", yuan(t.totalFen))
	set("gmt_create", fmtTime(t.created))
	if t.paid() {
		set("gmt_payment", fmtTime(t.paidAt))
		set("buyer_logon_id", t.buyerLogonID)
		set("buyer_id", t.buyerUserID)
		set("receipt_amount", yuan(t.totalFen))
		set("invoice_amount", yuan(t.totalFen))
		set("buyer_pay_amount", yuan(t.totalFen))
		set("point_amount", "0.00")
		if bills, err := json.Marshal([]map[string]string{{"amount": yuan(t.totalFen), "fundChannel": t.fundChannel}}); err == nil {
			set("fund_bill_list", string(bills))
		}
		if t.instalments > 0 {
			set("hb_fq_pay_info", `{"user_install_num":"`+strconv.Itoa(t.instalments)+`"}`)
		}
	}
	if t.status == statusClosed {
		set("gmt_close", fmtTime(t.closedAt))
	}
	if r != nil {
		set("out_biz_no", r.outRequestNo)
		set("refund_fee", yuan(r.cumulativeFen))
		set("send_back_fee", yuan(r.amountFen))
		set("gmt_refund", r.at.In(cst).Format("2006-01-02 15:04:05.000"))
	}
	if t.certMode {
		set("alipay_cert_sn", s.certSN)
	}
	n := &notification{url: t.notifyURL, fields: v}
	s.cfg.Faults.Deliver(func() { s.deliver(n) })
}

// deliver sends a notification until the receiver answers exactly "success",
// waiting NotifyRetryDelays between attempts; it stops when the sandbox closes.
func (s *Sandbox) deliver(n *notification) {
	if !s.track() {
		return
	}
	defer s.inflight.Done()
	log := s.log.With("out_trade_no", n.fields.Get("out_trade_no"), "notify_id", n.fields.Get("notify_id"), "trade_status", n.fields.Get("trade_status"))
	for attempt := 0; ; attempt++ {
		err := s.sendOnce(n)
		if err == nil {
			log.Info("notification acknowledged", "attempt", attempt+1)
			return
		}
		if attempt >= len(s.notifyDelays) {
			log.Warn("notification abandoned", "attempts", attempt+1, "error", err)
			return
		}
		log.Info("notification not acknowledged, will retry", "attempt", attempt+1, "error", err, "retry_in", s.notifyDelays[attempt])
		timer := time.NewTimer(s.notifyDelays[attempt])
		select {
		case <-timer.C:
		case <-s.ctx.Done():
			timer.Stop()
			return
		}
	}
}

// notAcknowledged is a delivery the receiver did not accept.
type notAcknowledged struct{ status int }

func (e notAcknowledged) Error() string {
	return "receiver did not answer 200 \"success\" (status " + strconv.Itoa(e.status) + ")"
}

// sendOnce signs and posts one attempt.
func (s *Sandbox) sendOnce(n *notification) error {
	v := url.Values{}
	for k, vs := range n.fields {
		v[k] = append([]string(nil), vs...)
	}
	v.Set("notify_time", fmtTime(s.now()))
	// Everything is signed but sign, sign_type and alipay_cert_sn.
	content, err := signContent(v, "sign", "sign_type", "alipay_cert_sn")
	if err != nil {
		return err
	}
	sig, err := rsaSign(s.key, []byte(content))
	if err != nil {
		return err
	}
	v.Set("sign", sig)
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, []byte("success")) {
		return notAcknowledged{status: resp.StatusCode}
	}
	return nil
}
