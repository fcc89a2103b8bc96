package alipay

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Payment methods of the scripted buyer and the fund channels Alipay reports for them.
var fundChannels = map[string]string{
	"balance": "ALIPAYACCOUNT",
	"huabei":  "PCREDIT",
	"card":    "BANKCARD",
}

// servePagePay answers alipay.trade.page.pay and alipay.trade.wap.pay with
// the cashier: opening it creates the trade (idempotently by out_trade_no).
func (s *Sandbox) servePagePay(w http.ResponseWriter, req *apiRequest) {
	now := s.now()
	p, bad := s.parseCreate(req, pageMethods[req.method], now)
	if bad != nil {
		s.renderFailure(w, bad)
		return
	}
	s.mu.Lock()
	t, bad := s.createTrade(p, req.certMode, now)
	if bad != nil {
		s.mu.Unlock()
		s.renderFailure(w, bad)
		return
	}
	s.show(t, now)
	view := s.cashierView(t)
	s.mu.Unlock()
	s.render(w, http.StatusOK, cashierPage, view)
}

// serveQR is the page behind a precreate qr_code; opening it is the buyer's scan.
func (s *Sandbox) serveQR(w http.ResponseWriter, r *http.Request) {
	if _, handled := s.cfg.Faults.Intercept("cashier", w, r); handled {
		return
	}
	now := s.now()
	s.mu.Lock()
	t, ok := s.byQR[r.PathValue("code")]
	if !ok {
		s.mu.Unlock()
		s.renderError(w, http.StatusNotFound, "40004", "ACQ.TRADE_NOT_EXIST", "二维码不存在")
		return
	}
	s.refresh(t, now)
	if t.status == statusClosed {
		s.mu.Unlock()
		s.renderError(w, http.StatusOK, "40004", "ACQ.TRADE_HAS_CLOSE", "二维码已失效")
		return
	}
	s.show(t, now)
	view := s.cashierView(t)
	s.mu.Unlock()
	s.render(w, http.StatusOK, cashierPage, view)
}

// cashierView is what the cashier page shows; call with s.mu held.
type cashierView struct {
	Subject     string
	Amount      string
	OutTradeNo  string
	TradeNo     string
	Status      string
	Paid        bool
	Instalments []int
	FixedFq     int
	SellerFee   bool
}

func (s *Sandbox) cashierView(t *trade) cashierView {
	v := cashierView{Subject: t.subject, Amount: yuan(t.totalFen), OutTradeNo: t.outTradeNo, TradeNo: t.tradeNo,
		Status: t.status, Paid: t.paid(), FixedFq: t.hbFqNum, SellerFee: t.hbFqSellerPercent == 100}
	if t.hbFqNum == 0 {
		v.Instalments = []int{3, 6, 12}
	}
	return v
}

// payRequest is the body of POST /sandbox/pay.
type payRequest struct {
	OutTradeNo string `json:"outTradeNo"`
	BuyerPayment
}

// servePay is the scripted buyer's endpoint: JSON from tests and the demo, or the cashier's form.
func (s *Sandbox) servePay(w http.ResponseWriter, r *http.Request) {
	if _, handled := s.cfg.Faults.Intercept("sandbox.pay", w, r); handled {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	isJSON := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	var in payRequest
	if isJSON {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad pay request: " + err.Error()})
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			s.renderError(w, http.StatusBadRequest, "40002", "isv.invalid-parameter", err.Error())
			return
		}
		in.OutTradeNo = r.PostForm.Get("outTradeNo")
		in.Method = r.PostForm.Get("method")
		in.BuyerLogonID = r.PostForm.Get("buyerLogonId")
		if v := r.PostForm.Get("instalments"); v != "" && v != "0" {
			n, err := strconv.Atoi(v)
			if err != nil {
				s.renderError(w, http.StatusBadRequest, "40002", "isv.invalid-parameter", "instalments must be a number")
				return
			}
			in.Instalments = n
		}
	}
	err := s.Pay(r.Context(), in.OutTradeNo, in.BuyerPayment)
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrTradeNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrTradePaid), errors.Is(err, ErrTradeClosed):
		status = http.StatusConflict
	case err != nil:
		status = http.StatusBadRequest
	}
	if isJSON {
		if err != nil {
			writeJSON(w, status, map[string]string{"error": err.Error()})
			return
		}
		s.mu.Lock()
		t := s.trades[in.OutTradeNo]
		body := map[string]string{"outTradeNo": t.outTradeNo, "tradeNo": t.tradeNo, "tradeStatus": t.status}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
		return
	}
	if err != nil {
		s.renderError(w, status, "40004", "BUYER_PAY_FAILED", err.Error())
		return
	}
	s.mu.Lock()
	t := s.trades[in.OutTradeNo]
	returnTo := s.returnURL(t)
	view := s.cashierView(t)
	s.mu.Unlock()
	if returnTo != "" {
		http.Redirect(w, r, returnTo, http.StatusFound)
		return
	}
	s.render(w, http.StatusOK, paidPage, view)
}

// Pay makes the scripted buyer pay a trade: it scans a precreate QR code (or
// uses an opened page-pay cashier) and pays with the chosen method. The trade
// becomes TRADE_SUCCESS and its notification is sent.
func (s *Sandbox) Pay(ctx context.Context, outTradeNo string, p BuyerPayment) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	channel, ok := fundChannels[p.Method]
	if !ok {
		return fmt.Errorf("%w: method must be balance, huabei or card, got %q", ErrInvalidPayment, p.Method)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.trades[outTradeNo]
	if !ok || (!t.visible && t.product != productFaceToFace) {
		return fmt.Errorf("%w: %q (a page-pay trade exists once its cashier is opened)", ErrTradeNotFound, outTradeNo)
	}
	s.refresh(t, now)
	switch t.status {
	case statusSuccess, statusFinished:
		return fmt.Errorf("%w: %s", ErrTradePaid, outTradeNo)
	case statusClosed:
		return fmt.Errorf("%w: %s", ErrTradeClosed, outTradeNo)
	}
	instalments := p.Instalments
	switch {
	case p.Method != "huabei" && instalments != 0:
		return fmt.Errorf("%w: instalments are for method huabei only", ErrInvalidPayment)
	case p.Method == "huabei" && t.hbFqNum != 0 && instalments == 0:
		instalments = t.hbFqNum
	case p.Method == "huabei" && t.hbFqNum != 0 && instalments != t.hbFqNum:
		return fmt.Errorf("%w: the merchant set hb_fq_num=%d, the buyer chose %d", ErrInvalidPayment, t.hbFqNum, instalments)
	case instalments != 0 && instalments != 3 && instalments != 6 && instalments != 12:
		return fmt.Errorf("%w: instalments must be 3, 6 or 12, got %d", ErrInvalidPayment, instalments)
	}
	if t.needCheck && (p.PayerName != "" || p.PayerIDNumber != "") &&
		(p.PayerName != t.payerName || !strings.EqualFold(p.PayerIDNumber, t.payerCertNo)) {
		return ErrIdentityMismatch
	}
	if p.PayerName != "" {
		t.payerName, t.payerCertNo = p.PayerName, p.PayerIDNumber
	}
	logon := p.BuyerLogonID
	if logon == "" {
		logon = "15900005620"
	}
	s.show(t, now)
	t.buyerLogonID = maskLogon(logon)
	sum := sha256.Sum256([]byte(logon))
	t.buyerUserID = "2088" + digitsOf(sum[:], 12)
	t.fundChannel = channel
	t.instalments = instalments
	t.status = statusSuccess
	t.paidAt = now
	s.log.Info("buyer paid", "out_trade_no", t.outTradeNo, "trade_no", t.tradeNo, "method", p.Method, "instalments", instalments, "amount", yuan(t.totalFen))
	s.notifyTrade(t, nil)
	return nil
}

// maskLogon masks a buyer account the way Alipay shows it to merchants.
func maskLogon(s string) string {
	if at := strings.IndexByte(s, '@'); at > 0 {
		keep := min(2, at)
		return s[:keep] + "***" + s[at:]
	}
	if len(s) >= 7 {
		return s[:3] + "****" + s[len(s)-4:]
	}
	return s
}

// returnURL builds the signed synchronous return to the merchant's return_url; call with s.mu held.
func (s *Sandbox) returnURL(t *trade) string {
	if t.returnURL == "" {
		return ""
	}
	u, err := url.Parse(t.returnURL)
	if err != nil {
		return ""
	}
	method := "alipay.trade.page.pay.return"
	if t.product == pageMethods["alipay.trade.wap.pay"] {
		method = "alipay.trade.wap.pay.return"
	}
	v := url.Values{}
	v.Set("charset", "utf-8")
	v.Set("out_trade_no", t.outTradeNo)
	v.Set("method", method)
	v.Set("total_amount", yuan(t.totalFen))
	v.Set("trade_no", t.tradeNo)
	v.Set("auth_app_id", s.cfg.AppID)
	v.Set("version", "1.0")
	v.Set("app_id", s.cfg.AppID)
	v.Set("seller_id", s.pid)
	v.Set("timestamp", fmtTime(s.now()))
	content, err := signContent(v, "sign", "sign_type")
	if err != nil {
		return ""
	}
	sig, err := rsaSign(s.key, []byte(content))
	if err != nil {
		return ""
	}
	v.Set("sign", sig)
	v.Set("sign_type", "RSA2")
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// renderFailure shows a gateway business failure on the cashier.
func (s *Sandbox) renderFailure(w http.ResponseWriter, r result) {
	code, _ := r["code"].(string)
	sub, _ := r["sub_code"].(string)
	msg, _ := r["sub_msg"].(string)
	s.renderError(w, http.StatusOK, code, sub, msg)
}

// renderError shows Alipay's error page.
func (s *Sandbox) renderError(w http.ResponseWriter, status int, code, subCode, msg string) {
	s.render(w, status, errorPage, map[string]string{"Code": code, "SubCode": subCode, "Message": msg})
}

func (s *Sandbox) render(w http.ResponseWriter, status int, tpl *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := tpl.Execute(w, data); err != nil {
		s.log.Error("render page", "error", err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

const pageStyle = `<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f5f5f5;margin:0}
header{background:#1677ff;color:#fff;padding:14px 24px;font-size:18px}
main{max-width:520px;margin:32px auto;background:#fff;padding:24px 32px;border-radius:6px}
.amount{font-size:32px;color:#f60;margin:8px 0 16px}.muted{color:#888;font-size:13px}
label{display:block;margin:8px 0}button{background:#1677ff;color:#fff;border:0;padding:10px 36px;font-size:16px;border-radius:4px;cursor:pointer}
.err{color:#c00}</style>`

var cashierPage = template.Must(template.New("cashier").Parse(`<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>支付宝 - 收银台</title>` + pageStyle + `</head>
<body><header>支付宝 · 收银台 <span class="muted" style="color:#cde">sandbox</span></header><main>
<div>{{.Subject}}</div>
<div class="amount">¥ {{.Amount}}</div>
<div class="muted">商户订单号 {{.OutTradeNo}}{{if .TradeNo}} · 交易号 {{.TradeNo}}{{end}}</div>
{{if .Paid}}<p>该订单已支付。</p>{{else}}
<form method="post" action="/sandbox/pay">
<input type="hidden" name="outTradeNo" value="{{.OutTradeNo}}">
<label><input type="radio" name="method" value="balance" checked> 账户余额</label>
<label><input type="radio" name="method" value="huabei"> 花呗{{if .FixedFq}}分期 {{.FixedFq}} 期{{if .SellerFee}}（免息）{{end}}{{end}}</label>
{{if .Instalments}}<label>花呗分期 <select name="instalments"><option value="0">不分期</option>{{range .Instalments}}<option value="{{.}}">{{.}} 期</option>{{end}}</select></label>{{end}}
<label><input type="radio" name="method" value="card"> 银行卡</label>
<label>支付宝账号 <input name="buyerLogonId" value="15900005620"></label>
<p><button type="submit">确认付款 Pay</button></p>
</form>{{end}}
</main></body></html>`))

var paidPage = template.Must(template.New("paid").Parse(`<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>支付宝 - 付款成功</title>` + pageStyle + `</head>
<body><header>支付宝 · 收银台</header><main>
<h2>付款成功</h2><div class="amount">¥ {{.Amount}}</div>
<div class="muted">商户订单号 {{.OutTradeNo}} · 交易号 {{.TradeNo}}</div>
</main></body></html>`))

var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>支付宝 - 错误</title>` + pageStyle + `</head>
<body><header>支付宝 · 收银台</header><main>
<h2 class="err">抱歉，支付遇到问题</h2>
<p>错误代码 {{.Code}} {{.SubCode}}</p><p>{{.Message}}</p>
</main></body></html>`))
