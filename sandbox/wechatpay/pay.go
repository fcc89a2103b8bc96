package wechatpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Trade states (trade_state).
const (
	stateNotPay     = "NOTPAY"
	stateSuccess    = "SUCCESS"
	stateRefund     = "REFUND"
	stateClosed     = "CLOSED"
	stateRevoked    = "REVOKED"
	stateUserPaying = "USERPAYING"
	statePayError   = "PAYERROR"
)

// stateDesc is trade_state_desc for each state.
var stateDesc = map[string]string{
	stateNotPay:     "订单未支付",
	stateSuccess:    "支付成功",
	stateRefund:     "转入退款",
	stateClosed:     "已关闭",
	stateRevoked:    "已撤销（仅付款码支付会返回）",
	stateUserPaying: "用户支付中（仅付款码支付会返回）",
	statePayError:   "支付失败（仅付款码支付会返回）",
}

// defaultExpiry is how long an order stays payable without time_expire.
const defaultExpiry = 2 * time.Hour

// Errors returned by Pay.
var (
	// ErrTradeNotFound means no order has that out_trade_no.
	ErrTradeNotFound = errors.New("wechatpay sandbox: order not found")
	// ErrTradeClosed means the order is closed or expired.
	ErrTradeClosed = errors.New("wechatpay sandbox: order closed")
	// ErrTradePaid means the order is already paid.
	ErrTradePaid = errors.New("wechatpay sandbox: order already paid")
)

// BuyerPayment is how the scripted buyer pays an order.
type BuyerPayment struct {
	// Method is "balance" (WeChat change, the default) or "card" (a bound bank card).
	Method string `json:"method"`
	// OpenID is the buyer's openid; empty generates one.
	OpenID string `json:"openid,omitempty"`
	// PayerName is the real name of the WeChat account that pays; empty means
	// the account's identity is whatever the merchant later declares to customs.
	PayerName string `json:"payer_name,omitempty"`
	// PayerIDNumber is that account's resident ID number.
	PayerIDNumber string `json:"payer_id_number,omitempty"`
}

// trade is one order (out_trade_no).
type trade struct {
	outTradeNo    string
	transactionID string
	prepayID      string
	tradeType     string
	appID         string
	description   string
	attach        string
	notifyURL     string
	total         int64
	profitSharing bool
	state         string
	created       time.Time
	expire        time.Time
	paidAt        time.Time
	bankType      string
	openID        string
	payerName     string
	payerID       string
	codeURL       string
	h5URL         string
	unsplit       int64 // funds still frozen for profit sharing
	refunds       []*refund
}

// refresh closes an unpaid order past its time_expire. Call with s.mu held.
func (s *Sandbox) refresh(t *trade) {
	if (t.state == stateNotPay || t.state == stateUserPaying) && !s.now().Before(t.expire) {
		t.state = stateClosed
	}
}

// outNoPattern is the charset and length of merchant numbers (out_trade_no, out_refund_no, ...).
var outNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{6,32}$`)

// prepayRequest is the body of the prepay endpoints.
type prepayRequest struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	TimeExpire  string `json:"time_expire"`
	Attach      string `json:"attach"`
	NotifyURL   string `json:"notify_url"`
	Amount      *struct {
		Total    *int64 `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	SettleInfo *struct {
		ProfitSharing bool `json:"profit_sharing"`
	} `json:"settle_info"`
	SceneInfo *struct {
		PayerClientIP string `json:"payer_client_ip"`
		H5Info        *struct {
			Type string `json:"type"`
		} `json:"h5_info"`
	} `json:"scene_info"`
}

// validate checks a prepay request for tradeType, returning the field at fault.
func (s *Sandbox) validatePrepay(req *prepayRequest, tradeType string) (code, msg string) {
	switch {
	case req.MchID != s.cfg.MchID:
		return "MCH_NOT_EXISTS", "商户号不存在: mchid must be " + s.cfg.MchID
	case req.AppID != s.cfg.AppID:
		return "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"
	case req.Description == "" || len(req.Description) > 127:
		return "PARAM_ERROR", "description is required, at most 127 bytes"
	case !outNoPattern.MatchString(req.OutTradeNo):
		return "PARAM_ERROR", "out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*@]"
	case req.NotifyURL == "":
		return "PARAM_ERROR", "notify_url is required"
	case req.Amount == nil || req.Amount.Total == nil || *req.Amount.Total <= 0:
		return "PARAM_ERROR", "amount.total is required and must be a positive number of fen"
	case req.Amount.Currency != "" && req.Amount.Currency != "CNY":
		return "PARAM_ERROR", "amount.currency must be CNY"
	case len(req.Attach) > 128:
		return "PARAM_ERROR", "attach must be at most 128 bytes"
	}
	if u, err := url.Parse(req.NotifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "PARAM_ERROR", "notify_url must be an absolute http(s) URL without a query string"
	}
	switch tradeType {
	case "MWEB":
		if req.SceneInfo == nil || req.SceneInfo.PayerClientIP == "" || req.SceneInfo.H5Info == nil || req.SceneInfo.H5Info.Type == "" {
			return "PARAM_ERROR", "scene_info.payer_client_ip and scene_info.h5_info.type are required for h5"
		}
	case "JSAPI":
		if req.Payer == nil || req.Payer.OpenID == "" {
			return "PARAM_ERROR", "payer.openid is required for jsapi"
		}
	}
	return "", ""
}

// handlePrepay serves native, h5 and jsapi prepay.
func (s *Sandbox) handlePrepay(tradeType string) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req prepayRequest
		if !s.decode(w, body, &req) {
			return
		}
		if code, msg := s.validatePrepay(&req, tradeType); code != "" {
			s.writeError(w, statusForCode(code), code, msg)
			return
		}
		now := s.now()
		expire := now.Add(defaultExpiry)
		if req.TimeExpire != "" {
			t, err := time.Parse(time.RFC3339, req.TimeExpire)
			if err != nil {
				s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "time_expire must be RFC 3339 (yyyy-MM-DDTHH:mm:ss+TIMEZONE)")
				return
			}
			if !t.After(now) {
				s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "time_expire must be in the future")
				return
			}
			expire = t
		}
		profitSharing := req.SettleInfo != nil && req.SettleInfo.ProfitSharing

		s.mu.Lock()
		t, code, msg := s.prepay(&req, tradeType, profitSharing, now, expire, r)
		var res map[string]string
		if t != nil {
			res = prepayAnswer(t)
		}
		s.mu.Unlock()
		if code != "" {
			s.writeError(w, statusForCode(code), code, msg)
			return
		}
		s.writeJSON(w, http.StatusOK, res)
	}
}

// prepay returns the order for a prepay request: the existing one when the
// request repeats it, else a new one; or the error code refusing it. Call
// with s.mu held.
func (s *Sandbox) prepay(req *prepayRequest, tradeType string, profitSharing bool, now, expire time.Time, r *http.Request) (t *trade, code, msg string) {
	if t, ok := s.trades[req.OutTradeNo]; ok {
		s.refresh(t)
		switch {
		case t.state == stateSuccess || t.state == stateRefund:
			return nil, "ORDERPAID", "订单已支付"
		case t.state == stateClosed:
			return nil, "ORDER_CLOSED", "订单已关闭"
		case t.tradeType != tradeType || t.total != *req.Amount.Total || t.description != req.Description || t.profitSharing != profitSharing:
			return nil, "OUT_TRADE_NO_USED", "商户订单号重复: out_trade_no was used with different parameters"
		}
		return t, "", ""
	}
	t = &trade{
		outTradeNo:    req.OutTradeNo,
		prepayID:      "wx" + now.In(beijing).Format("20060102150405") + randAlnum(20),
		tradeType:     tradeType,
		appID:         req.AppID,
		description:   req.Description,
		attach:        req.Attach,
		notifyURL:     req.NotifyURL,
		total:         *req.Amount.Total,
		profitSharing: profitSharing,
		state:         stateNotPay,
		created:       now,
		expire:        expire,
	}
	switch tradeType {
	case "NATIVE":
		t.codeURL = "weixin://wxpay/bizpayurl?pr=" + randAlnum(7)
	case "MWEB":
		t.h5URL = baseURL(r) + "/sandbox/cashier?" + url.Values{"prepay_id": {t.prepayID}}.Encode()
	case "JSAPI":
		t.openID = req.Payer.OpenID
	}
	s.trades[t.outTradeNo] = t
	s.byPrepayID[t.prepayID] = t
	s.log.Info("order created", "out_trade_no", t.outTradeNo, "trade_type", tradeType, "total", t.total, "profit_sharing", profitSharing)
	return t, "", ""
}

// prepayAnswer is the answer to a prepay call for t.
func prepayAnswer(t *trade) map[string]string {
	switch t.tradeType {
	case "NATIVE":
		return map[string]string{"code_url": t.codeURL}
	case "MWEB":
		return map[string]string{"h5_url": t.h5URL}
	}
	return map[string]string{"prepay_id": t.prepayID}
}

// transactionJSON is a payments transaction as queried and notified.
type transactionJSON struct {
	AppID          string     `json:"appid"`
	MchID          string     `json:"mchid"`
	OutTradeNo     string     `json:"out_trade_no"`
	TransactionID  string     `json:"transaction_id,omitempty"`
	TradeType      string     `json:"trade_type,omitempty"`
	TradeState     string     `json:"trade_state"`
	TradeStateDesc string     `json:"trade_state_desc"`
	BankType       string     `json:"bank_type,omitempty"`
	Attach         string     `json:"attach"`
	SuccessTime    string     `json:"success_time,omitempty"`
	Payer          *payerJSON `json:"payer,omitempty"`
	Amount         amountJSON `json:"amount"`
}

// payerJSON is the paying buyer.
type payerJSON struct {
	OpenID string `json:"openid"`
}

// amountJSON is a transaction's amounts in fen.
type amountJSON struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

// transaction renders t. Call with s.mu held.
func (s *Sandbox) transaction(t *trade) transactionJSON {
	tx := transactionJSON{
		AppID:          t.appID,
		MchID:          s.cfg.MchID,
		OutTradeNo:     t.outTradeNo,
		TradeType:      t.tradeType,
		TradeState:     t.state,
		TradeStateDesc: stateDesc[t.state],
		Attach:         t.attach,
		Amount:         amountJSON{Total: t.total, Currency: "CNY", PayerCurrency: "CNY"},
	}
	if !t.paidAt.IsZero() {
		total := t.total
		tx.TransactionID = t.transactionID
		tx.BankType = t.bankType
		tx.SuccessTime = fmtTime(t.paidAt)
		tx.Payer = &payerJSON{OpenID: t.openID}
		tx.Amount.PayerTotal = &total
	}
	return tx
}

// handleQueryByOutTradeNo serves GET /v3/pay/transactions/out-trade-no/{out_trade_no}.
func (s *Sandbox) handleQueryByOutTradeNo(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.queryTrade(w, r, func() *trade { return s.trades[r.PathValue("out_trade_no")] })
}

// handleQueryByID serves GET /v3/pay/transactions/id/{transaction_id}.
func (s *Sandbox) handleQueryByID(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.queryTrade(w, r, func() *trade { return s.byTxID[r.PathValue("transaction_id")] })
}

// queryTrade answers an order query for the trade find returns.
func (s *Sandbox) queryTrade(w http.ResponseWriter, r *http.Request, find func() *trade) {
	if r.URL.Query().Get("mchid") != s.cfg.MchID {
		s.writeError(w, http.StatusBadRequest, "PARAM_ERROR", "query parameter mchid is required and must be this merchant's")
		return
	}
	s.mu.Lock()
	t := find()
	if t == nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	s.refresh(t)
	tx := s.transaction(t)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, tx)
}

// handleClose serves POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close.
func (s *Sandbox) handleClose(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if !s.decode(w, body, &req) {
		return
	}
	if req.MchID != s.cfg.MchID {
		s.writeError(w, http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在: mchid must be "+s.cfg.MchID)
		return
	}
	s.mu.Lock()
	t := s.trades[r.PathValue("out_trade_no")]
	if t == nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	s.refresh(t)
	switch t.state {
	case stateSuccess, stateRefund:
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, "ORDERPAID", "订单已支付")
		return
	case stateNotPay, stateUserPaying, statePayError:
		t.state = stateClosed
		s.log.Info("order closed", "out_trade_no", t.outTradeNo)
	}
	s.mu.Unlock()
	s.writeNoContent(w)
}

// Pay has the scripted buyer pay an order: NOTPAY becomes SUCCESS and a
// TRANSACTION.SUCCESS notification goes to the order's notify_url. It fails
// with ErrTradeNotFound, ErrTradeClosed (closed or past time_expire) or ErrTradePaid.
func (s *Sandbox) Pay(ctx context.Context, outTradeNo string, p BuyerPayment) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	bank := "OTHERS"
	switch p.Method {
	case "", "balance":
	case "card":
		bank = "CMB_DEBIT"
	default:
		return fmt.Errorf("wechatpay sandbox: BuyerPayment.Method must be \"balance\" or \"card\", got %q", p.Method)
	}
	s.mu.Lock()
	t := s.trades[outTradeNo]
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrTradeNotFound, outTradeNo)
	}
	s.refresh(t)
	switch t.state {
	case stateSuccess, stateRefund:
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrTradePaid, outTradeNo)
	case stateClosed, stateRevoked:
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrTradeClosed, outTradeNo)
	}
	now := s.now()
	t.state = stateSuccess
	t.paidAt = now
	t.bankType = bank
	t.transactionID = "42000" + randDigits(5) + now.In(beijing).Format("20060102") + randDigits(10)
	if p.OpenID != "" {
		t.openID = p.OpenID
	} else if t.openID == "" {
		t.openID = "o" + randAlnum(27)
	}
	t.payerName, t.payerID = p.PayerName, p.PayerIDNumber
	if t.profitSharing {
		t.unsplit = t.total
	}
	s.byTxID[t.transactionID] = t
	tx := s.transaction(t)
	notifyURL := t.notifyURL
	s.mu.Unlock()

	s.log.Info("order paid", "out_trade_no", outTradeNo, "transaction_id", tx.TransactionID, "bank_type", bank)
	s.notify(notifyURL, "TRANSACTION.SUCCESS", "支付成功", "transaction", tx)
	return nil
}

// handleSandboxPay serves POST /sandbox/pay: the scripted buyer, as JSON
// {"out_trade_no","method",...} or as the cashier page's form.
func (s *Sandbox) handleSandboxPay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OutTradeNo string `json:"out_trade_no"`
		BuyerPayment
	}
	form := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	if form {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		req.OutTradeNo = r.PostForm.Get("out_trade_no")
		req.Method = r.PostForm.Get("method")
	} else if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, "body must be JSON {\"out_trade_no\",\"method\"}: "+err.Error(), http.StatusBadRequest)
		return
	}
	err := s.Pay(r.Context(), req.OutTradeNo, req.BuyerPayment)
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrTradeNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrTradeClosed), errors.Is(err, ErrTradePaid):
		status = http.StatusConflict
	case err != nil:
		status = http.StatusBadRequest
	}
	if form {
		msg := "支付成功 — paid"
		if err != nil {
			msg = err.Error()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = resultPage.Execute(w, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err != nil {
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"out_trade_no": req.OutTradeNo, "trade_state": stateSuccess})
}

var (
	cashierPage = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>微信支付 sandbox</title></head>
<body><h1>微信支付 (sandbox)</h1>
<p>{{.Description}}</p><p>¥ {{.Yuan}}</p><p>订单号 {{.OutTradeNo}} — {{.State}}</p>
<form method="post" action="/sandbox/pay">
<input type="hidden" name="out_trade_no" value="{{.OutTradeNo}}">
<button name="method" value="balance">零钱支付</button>
<button name="method" value="card">银行卡支付</button>
</form></body></html>`))
	resultPage = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>微信支付 sandbox</title></head><body><p>{{.}}</p></body></html>`))
)

// handleCashier serves the h5 pay page an h5_url points at.
func (s *Sandbox) handleCashier(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t := s.byPrepayID[r.URL.Query().Get("prepay_id")]
	if t == nil {
		s.mu.Unlock()
		http.Error(w, "unknown prepay_id", http.StatusNotFound)
		return
	}
	s.refresh(t)
	data := struct{ Description, Yuan, OutTradeNo, State string }{
		t.description, yuan(t.total), t.outTradeNo, stateDesc[t.state],
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = cashierPage.Execute(w, data)
}

// yuan formats fen as yuan with two decimals.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
