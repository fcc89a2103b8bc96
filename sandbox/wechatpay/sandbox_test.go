package wechatpay_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // checking the bill hash WeChat Pay states as SHA1.
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/profitsharing"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/xhspay/xhspay/sandbox/fault"
	"github.com/xhspay/xhspay/sandbox/wechatpay"
)

func TestNewValidatesConfig(t *testing.T) {
	merchant, _, _ := keys()
	good := wechatpay.Config{MchID: mchID, AppID: appID, MerchantPublicKey: &merchant.PublicKey, MerchantSerialNo: serial, Logger: quiet}
	for name, mutate := range map[string]func(*wechatpay.Config){
		"no mchid":      func(c *wechatpay.Config) { c.MchID = "" },
		"no appid":      func(c *wechatpay.Config) { c.AppID = "" },
		"no public key": func(c *wechatpay.Config) { c.MerchantPublicKey = nil },
		"no serial":     func(c *wechatpay.Config) { c.MerchantSerialNo = "" },
		"short key":     func(c *wechatpay.Config) { c.APIv3Key = "short" },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			_, err := wechatpay.New(c)
			require.Error(t, err)
		})
	}
	// Defaults: a platform key, a key id and an APIv3 key are generated.
	_, platform, _ := keys()
	c := good
	c.PlatformKey = platform
	sb, err := wechatpay.New(c)
	require.NoError(t, err)
	defer sb.Close()
	assert.True(t, strings.HasPrefix(sb.PlatformPublicKeyID(), "PUB_KEY_ID_"))
	assert.Len(t, sb.APIv3Key(), 32)
	assert.Contains(t, string(sb.PlatformPublicKeyPEM()), "-----BEGIN PUBLIC KEY-----")
}

func TestRequestAuthentication(t *testing.T) {
	h := newHarness(t, nil)
	merchant, _, other := keys()
	uri := "/v3/pay/transactions/out-trade-no/NOSUCHORDER1?mchid=" + mchID

	// A correctly signed request passes authentication (and finds no order).
	resp := h.rawRequest(http.MethodGet, uri, "", signWith(merchant), nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "ORDER_NOT_EXIST", decodeError(t, resp))

	tests := map[string]struct {
		sign   func(string) string
		params map[string]string
	}{
		"other key":       {signWith(other), nil},
		"stale timestamp": {signWith(merchant), map[string]string{"timestamp": strconv.FormatInt(time.Now().Add(-6*time.Minute).Unix(), 10)}},
		"future":          {signWith(merchant), map[string]string{"timestamp": strconv.FormatInt(time.Now().Add(6*time.Minute).Unix(), 10)}},
		"wrong serial":    {signWith(merchant), map[string]string{"serial_no": "0000"}},
		"wrong mchid":     {signWith(merchant), map[string]string{"mchid": "1999999999"}},
		"not base64":      {func(string) string { return "%%%" }, nil},
		"signs other uri": {func(string) string { return signWith(merchant)("GET\n/v3/other\n1\nx\n\n") }, nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			resp := h.rawRequest(http.MethodGet, uri, "", tt.sign, tt.params)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, "SIGN_ERROR", decodeError(t, resp))
		})
	}

	t.Run("no authorization", func(t *testing.T) {
		resp, err := http.Get(h.srv.URL + uri)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})

	t.Run("body altered after signing", func(t *testing.T) {
		body := `{"mchid":"` + mchID + `"}`
		resp := h.rawRequest(http.MethodPost, "/v3/pay/transactions/out-trade-no/NOSUCHORDER1/close", body, func(msg string) string {
			return signWith(merchant)(strings.Replace(msg, body, `{"mchid":"other"}`, 1))
		}, nil)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})

	t.Run("SDK with the wrong key", func(t *testing.T) {
		c := h.sdkClient(other)
		_, err := c.Get(context.Background(), api+uri)
		apiError(t, err, http.StatusUnauthorized, "SIGN_ERROR")
	})
}

func TestResponsesAreSignedWithThePlatformKey(t *testing.T) {
	h := newHarness(t, nil)
	merchant, platform, _ := keys()
	h.createNative("ORDERSIGNED001", 100, false)
	resp := h.rawRequest(http.MethodGet, "/v3/pay/transactions/out-trade-no/ORDERSIGNED001?mchid="+mchID, "", signWith(merchant), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, h.sb.PlatformPublicKeyID(), resp.Header.Get("Wechatpay-Serial"))
	assert.NotEmpty(t, resp.Header.Get("Request-Id"))
	ts, err := strconv.ParseInt(resp.Header.Get("Wechatpay-Timestamp"), 10, 64)
	require.NoError(t, err)
	assert.InDelta(t, time.Now().Unix(), ts, 5)
	sig, err := base64.StdEncoding.DecodeString(resp.Header.Get("Wechatpay-Signature"))
	require.NoError(t, err)
	d := sha256.Sum256([]byte(resp.Header.Get("Wechatpay-Timestamp") + "\n" + resp.Header.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	require.NoError(t, rsa.VerifyPKCS1v15(&platform.PublicKey, crypto.SHA256, d[:], sig))
}

func TestNativePaymentWithSDK(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	svc := native.NativeApiService{Client: h.client}
	expire := time.Now().Add(time.Hour)
	resp, _, err := svc.Prepay(ctx, native.PrepayRequest{
		Appid: core.String(appID), Mchid: core.String(mchID), Description: core.String("Face cream"),
		OutTradeNo: core.String("ORDERSDK000001"), TimeExpire: &expire, Attach: core.String("batch-7"),
		NotifyUrl: core.String(h.notifyTo), Amount: &native.Amount{Total: core.Int64(9900)},
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(*resp.CodeUrl, "weixin://wxpay/bizpayurl?pr="))

	tx, _, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("ORDERSDK000001"), Mchid: core.String(mchID)})
	require.NoError(t, err)
	assert.Equal(t, "NOTPAY", *tx.TradeState)
	assert.Equal(t, int64(9900), *tx.Amount.Total)
	assert.Nil(t, tx.TransactionId)

	require.NoError(t, h.sb.Pay(ctx, "ORDERSDK000001", wechatpay.BuyerPayment{Method: "card", OpenID: "oBuyer1"}))
	n := h.next()
	assert.Equal(t, "TRANSACTION.SUCCESS", n.req.EventType)
	assert.Equal(t, "encrypt-resource", n.req.ResourceType)
	assert.Equal(t, "transaction", n.req.Resource.OriginalType)
	assert.Equal(t, "SUCCESS", n.content["trade_state"])
	assert.Equal(t, "ORDERSDK000001", n.content["out_trade_no"])
	assert.Equal(t, "batch-7", n.content["attach"])
	assert.Equal(t, "CMB_DEBIT", n.content["bank_type"])

	tx, _, err = svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("ORDERSDK000001"), Mchid: core.String(mchID)})
	require.NoError(t, err)
	assert.Equal(t, "SUCCESS", *tx.TradeState)
	assert.Equal(t, n.content["transaction_id"], *tx.TransactionId)
	assert.Equal(t, "oBuyer1", *tx.Payer.Openid)
	require.NotNil(t, tx.SuccessTime)
	_, err = time.Parse(time.RFC3339, *tx.SuccessTime)
	require.NoError(t, err)

	byID, _, err := svc.QueryOrderById(ctx, native.QueryOrderByIdRequest{TransactionId: tx.TransactionId, Mchid: core.String(mchID)})
	require.NoError(t, err)
	assert.Equal(t, "ORDERSDK000001", *byID.OutTradeNo)

	_, err = svc.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String("ORDERSDK000001"), Mchid: core.String(mchID)})
	apiError(t, err, http.StatusBadRequest, "ORDERPAID")
}

func TestJSAPIPrepay(t *testing.T) {
	h := newHarness(t, nil)
	svc := jsapi.JsapiApiService{Client: h.client}
	resp, _, err := svc.Prepay(context.Background(), jsapi.PrepayRequest{
		Appid: core.String(appID), Mchid: core.String(mchID), Description: core.String("Mask"),
		OutTradeNo: core.String("ORDERJSAPI0001"), NotifyUrl: core.String(h.notifyTo),
		Amount: &jsapi.Amount{Total: core.Int64(100)}, Payer: &jsapi.Payer{Openid: core.String("oJsapiBuyer")},
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(*resp.PrepayId, "wx"))
	require.NoError(t, h.sb.Pay(context.Background(), "ORDERJSAPI0001", wechatpay.BuyerPayment{}))
	assert.Equal(t, "oJsapiBuyer", h.next().content["payer"].(map[string]any)["openid"])
}

func TestPrepayValidation(t *testing.T) {
	h := newHarness(t, nil)
	valid := func() map[string]any {
		return map[string]any{
			"appid": appID, "mchid": mchID, "description": "x", "out_trade_no": "ORDERVALID001",
			"notify_url": h.notifyTo, "amount": map[string]any{"total": 100},
		}
	}
	tests := []struct {
		name   string
		path   string
		mutate func(map[string]any)
		status int
		code   string
	}{
		{"other mchid", "native", func(b map[string]any) { b["mchid"] = "1" }, 400, "MCH_NOT_EXISTS"},
		{"other appid", "native", func(b map[string]any) { b["appid"] = "wx0" }, 400, "APPID_MCHID_NOT_MATCH"},
		{"no description", "native", func(b map[string]any) { delete(b, "description") }, 400, "PARAM_ERROR"},
		{"short out_trade_no", "native", func(b map[string]any) { b["out_trade_no"] = "A" }, 400, "PARAM_ERROR"},
		{"zero total", "native", func(b map[string]any) { b["amount"] = map[string]any{"total": 0} }, 400, "PARAM_ERROR"},
		{"USD", "native", func(b map[string]any) { b["amount"] = map[string]any{"total": 1, "currency": "USD"} }, 400, "PARAM_ERROR"},
		{"notify_url with query", "native", func(b map[string]any) { b["notify_url"] = h.notifyTo + "?a=1" }, 400, "PARAM_ERROR"},
		{"past time_expire", "native", func(b map[string]any) { b["time_expire"] = time.Now().Add(-time.Hour).Format(time.RFC3339) }, 400, "PARAM_ERROR"},
		{"bad time_expire", "native", func(b map[string]any) { b["time_expire"] = "tomorrow" }, 400, "PARAM_ERROR"},
		{"h5 without scene_info", "h5", func(map[string]any) {}, 400, "PARAM_ERROR"},
		{"jsapi without payer", "jsapi", func(map[string]any) {}, 400, "PARAM_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := valid()
			tt.mutate(b)
			apiError(t, h.post("/v3/pay/transactions/"+tt.path, b, nil), tt.status, tt.code)
		})
	}
	require.NoError(t, h.post("/v3/pay/transactions/native", valid(), nil))
	b := valid()
	b["amount"] = map[string]any{"total": 101}
	apiError(t, h.post("/v3/pay/transactions/native", b, nil), http.StatusForbidden, "OUT_TRADE_NO_USED")
	apiError(t, h.post("/v3/pay/transactions/h5", map[string]any{"appid": appID, "mchid": mchID, "description": "x",
		"out_trade_no": "ORDERVALID001", "notify_url": h.notifyTo, "amount": map[string]any{"total": 100},
		"scene_info": map[string]any{"payer_client_ip": "1.2.3.4", "h5_info": map[string]any{"type": "Wap"}}}, nil),
		http.StatusForbidden, "OUT_TRADE_NO_USED")
}

func TestTimeExpireClosesOrder(t *testing.T) {
	h := newHarness(t, nil)
	b := map[string]any{
		"appid": appID, "mchid": mchID, "description": "x", "out_trade_no": "ORDEREXPIRE01",
		"notify_url": h.notifyTo, "amount": map[string]any{"total": 100},
		"time_expire": h.clock().Add(10 * time.Minute).Format(time.RFC3339),
	}
	require.NoError(t, h.post("/v3/pay/transactions/native", b, nil))
	var tx payments.Transaction
	require.NoError(t, h.get("/v3/pay/transactions/out-trade-no/ORDEREXPIRE01?mchid="+mchID, &tx))
	assert.Equal(t, "NOTPAY", *tx.TradeState)
	h.advance(11 * time.Minute)
	require.NoError(t, h.get("/v3/pay/transactions/out-trade-no/ORDEREXPIRE01?mchid="+mchID, &tx))
	assert.Equal(t, "CLOSED", *tx.TradeState)
	require.ErrorIs(t, h.sb.Pay(context.Background(), "ORDEREXPIRE01", wechatpay.BuyerPayment{}), wechatpay.ErrTradeClosed)
}

func TestScriptedBuyerEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	post := func(body string) int {
		resp, err := http.Post(h.srv.URL+"/sandbox/pay", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusNotFound, post(`{"out_trade_no":"NOSUCHORDER01","method":"balance"}`))
	h.createNative("ORDERBUYER0001", 100, false)
	assert.Equal(t, http.StatusBadRequest, post(`{"out_trade_no":"ORDERBUYER0001","method":"cash"}`))
	assert.Equal(t, http.StatusBadRequest, post(`not json`))

	// The cashier page's form pays too.
	resp, err := http.PostForm(h.srv.URL+"/sandbox/pay", url.Values{"out_trade_no": {"ORDERBUYER0001"}, "method": {"card"}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "SUCCESS", h.next().content["trade_state"])
	assert.Equal(t, http.StatusConflict, post(`{"out_trade_no":"ORDERBUYER0001","method":"balance"}`))
}

func TestRefundWithSDK(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	paid := h.pay("ORDERREFUNDSDK1", 1000, wechatpay.BuyerPayment{})
	svc := refunddomestic.RefundsApiService{Client: h.client}
	create := func(no string, amount int64) (*refunddomestic.Refund, error) {
		r, _, err := svc.Create(ctx, refunddomestic.CreateRequest{
			OutTradeNo: core.String("ORDERREFUNDSDK1"), OutRefundNo: core.String(no), Reason: core.String("damaged"),
			Amount: &refunddomestic.AmountReq{Refund: core.Int64(amount), Total: core.Int64(1000), Currency: core.String("CNY")},
		})
		return r, err
	}
	r, err := create("RSDK0001", 400)
	require.NoError(t, err)
	assert.Equal(t, refunddomestic.STATUS_PROCESSING, *r.Status)
	assert.Equal(t, paid.content["transaction_id"], *r.TransactionId)
	assert.Equal(t, int64(400), *r.Amount.Refund)
	assert.Nil(t, r.SuccessTime)

	n := h.next()
	assert.Equal(t, "REFUND.SUCCESS", n.req.EventType)
	assert.Equal(t, "refund", n.req.Resource.OriginalType)
	assert.Equal(t, "SUCCESS", n.content["refund_status"])
	assert.Equal(t, "RSDK0001", n.content["out_refund_no"])
	assert.Equal(t, float64(400), n.content["amount"].(map[string]any)["refund"])

	q, _, err := svc.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String("RSDK0001")})
	require.NoError(t, err)
	assert.Equal(t, refunddomestic.STATUS_SUCCESS, *q.Status)
	require.NotNil(t, q.SuccessTime)

	_, err = create("RSDK0002", 601)
	apiError(t, err, http.StatusForbidden, "NOT_ENOUGH")
	_, err = create("RSDK0002", 600)
	require.NoError(t, err)
	h.next()
	_, err = create("RSDK0003", 1)
	apiError(t, err, http.StatusForbidden, "NOT_ENOUGH")

	_, _, err = svc.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String("RSDK0003")})
	apiError(t, err, http.StatusNotFound, "RESOURCE_NOT_EXISTS")

	var tx payments.Transaction
	require.NoError(t, h.get("/v3/pay/transactions/out-trade-no/ORDERREFUNDSDK1?mchid="+mchID, &tx))
	assert.Equal(t, "REFUND", *tx.TradeState)

	// A refund with the wrong order total, and of an unpaid order.
	_, _, err = svc.Create(ctx, refunddomestic.CreateRequest{
		OutTradeNo: core.String("ORDERREFUNDSDK1"), OutRefundNo: core.String("RSDK0004"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(1), Total: core.Int64(999), Currency: core.String("CNY")},
	})
	apiError(t, err, http.StatusBadRequest, "PARAM_ERROR")
	h.createNative("ORDERUNPAIDRF01", 100, false)
	_, _, err = svc.Create(ctx, refunddomestic.CreateRequest{
		OutTradeNo: core.String("ORDERUNPAIDRF01"), OutRefundNo: core.String("RSDK0005"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(1), Total: core.Int64(100), Currency: core.String("CNY")},
	})
	apiError(t, err, http.StatusBadRequest, "INVALID_REQUEST")
}

func TestNotificationsRetryThenGiveUp(t *testing.T) {
	h := newHarness(t, nil)
	var attempts atomic.Int32
	h.status = func() int {
		attempts.Add(1)
		return http.StatusInternalServerError
	}
	h.createNative("ORDERGIVEUP001", 100, false)
	require.NoError(t, h.sb.Pay(context.Background(), "ORDERGIVEUP001", wechatpay.BuyerPayment{}))
	require.Eventually(t, func() bool { return attempts.Load() == 3 }, 5*time.Second, 5*time.Millisecond, "1 attempt + 2 retries")
	time.Sleep(30 * time.Millisecond)
	assert.Equal(t, int32(3), attempts.Load(), "no attempt after the schedule is exhausted")
}

func TestDroppedNotificationIsNotSent(t *testing.T) {
	h := newHarness(t, nil)
	h.faults.SetNotify(fault.NotifyRule{Drop: true, Times: 1})
	h.createNative("ORDERDROP00001", 100, false)
	require.NoError(t, h.sb.Pay(context.Background(), "ORDERDROP00001", wechatpay.BuyerPayment{}))
	h.createNative("ORDERDROP00002", 100, false)
	require.NoError(t, h.sb.Pay(context.Background(), "ORDERDROP00002", wechatpay.BuyerPayment{}))
	n := h.next()
	assert.Equal(t, "ORDERDROP00002", n.content["out_trade_no"], "the first notification was lost")
}

func TestFaultsAnsweredInWeChatProtocol(t *testing.T) {
	h := newHarness(t, nil)
	h.createNative("ORDERFAULTS001", 100, false)
	query := "/v3/pay/transactions/out-trade-no/ORDERFAULTS001?mchid=" + mchID
	for code, status := range map[string]int{
		"SYSTEM_ERROR":        500,
		"BANK_ERROR":          500,
		"FREQUENCY_LIMITED":   429,
		"PARAM_ERROR":         400,
		"NOT_ENOUGH":          403,
		"RESOURCE_NOT_EXISTS": 404,
		"INVALID_REQUEST":     400,
	} {
		h.faults.Set(wechatpay.EndpointQueryByOutTradeNo, fault.Rule{BusinessError: code, Times: 1})
		var tx payments.Transaction
		apiError(t, h.get(query, &tx), status, code)
	}
	// Rules installed over the control API.
	req, err := http.NewRequest(http.MethodPut, h.srv.URL+"/sandbox/faults",
		strings.NewReader(`{"endpoints":{"GET /v3/pay/transactions/out-trade-no/{out_trade_no}":{"status":503,"times":1}}}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	var tx payments.Transaction
	apiError(t, h.get(query, &tx), http.StatusServiceUnavailable, "")
	require.NoError(t, h.get(query, &tx))
}

func TestProfitSharingUnfreeze(t *testing.T) {
	h := newHarness(t, func(c *wechatpay.Config) { c.UnfreezeDelay = time.Minute })
	ctx := context.Background()
	h.createNative("ORDERPS0000001", 5000, true)
	require.NoError(t, h.sb.Pay(ctx, "ORDERPS0000001", wechatpay.BuyerPayment{}))
	txID := h.next().content["transaction_id"].(string)

	txs := profitsharing.TransactionsApiService{Client: h.client}
	amt, _, err := txs.QueryOrderAmount(ctx, profitsharing.QueryOrderAmountRequest{TransactionId: core.String(txID)})
	require.NoError(t, err)
	assert.Equal(t, int64(5000), *amt.UnsplitAmount)

	// A partial refund comes out of the frozen funds.
	refunds := refunddomestic.RefundsApiService{Client: h.client}
	_, _, err = refunds.Create(ctx, refunddomestic.CreateRequest{
		TransactionId: core.String(txID), OutRefundNo: core.String("RPS0001"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(1000), Total: core.Int64(5000), Currency: core.String("CNY")},
	})
	require.NoError(t, err)
	h.next()
	amt, _, err = txs.QueryOrderAmount(ctx, profitsharing.QueryOrderAmountRequest{TransactionId: core.String(txID)})
	require.NoError(t, err)
	assert.Equal(t, int64(4000), *amt.UnsplitAmount)

	orders := profitsharing.OrdersApiService{Client: h.client}
	o, _, err := orders.UnfreezeOrder(ctx, profitsharing.UnfreezeOrderRequest{
		TransactionId: core.String(txID), OutOrderNo: core.String("PSUNFREEZE01"), Description: core.String("release"),
	})
	require.NoError(t, err)
	assert.Equal(t, profitsharing.ORDERSTATUS_PROCESSING, *o.State)
	require.Len(t, o.Receivers, 1)
	assert.Equal(t, int64(4000), *o.Receivers[0].Amount)

	h.advance(2 * time.Minute)
	q, _, err := orders.QueryOrder(ctx, profitsharing.QueryOrderRequest{TransactionId: core.String(txID), OutOrderNo: core.String("PSUNFREEZE01")})
	require.NoError(t, err)
	assert.Equal(t, profitsharing.ORDERSTATUS_FINISHED, *q.State)
	assert.Equal(t, *o.OrderId, *q.OrderId)

	_, _, err = orders.UnfreezeOrder(ctx, profitsharing.UnfreezeOrderRequest{
		TransactionId: core.String(txID), OutOrderNo: core.String("PSUNFREEZE02"), Description: core.String("release"),
	})
	apiError(t, err, http.StatusForbidden, "NOT_ENOUGH")
	_, _, err = orders.QueryOrder(ctx, profitsharing.QueryOrderRequest{TransactionId: core.String(txID), OutOrderNo: core.String("PSUNFREEZE02")})
	apiError(t, err, http.StatusNotFound, "RESOURCE_NOT_EXISTS")
}

// customsBody is a declaration body with the identity encrypted as the SDK does.
type customsBody struct {
	AppID             string `json:"appid"`
	MchID             string `json:"mchid"`
	OutTradeNo        string `json:"out_trade_no"`
	TransactionID     string `json:"transaction_id"`
	Customs           string `json:"customs"`
	MerchantCustomsNo string `json:"merchant_customs_no,omitempty"`
	SubOrderNo        string `json:"sub_order_no,omitempty"`
	FeeType           string `json:"fee_type,omitempty"`
	OrderFee          *int64 `json:"order_fee,omitempty"`
	TransportFee      *int64 `json:"transport_fee,omitempty"`
	ProductFee        *int64 `json:"product_fee,omitempty"`
	CertificateType   string `json:"certificate_type,omitempty"`
	CertificateID     string `json:"certificate_id,omitempty" encryption:"EM_APIV3"`
	CertificateName   string `json:"certificate_name,omitempty" encryption:"EM_APIV3"`
}

// declarationAnswer is the part of a declaration answer the tests check.
type declarationAnswer struct {
	State           string `json:"state"`
	SubOrderID      string `json:"sub_order_id"`
	CertCheckResult string `json:"cert_check_result"`
	OrderFee        int64  `json:"order_fee"`
}

// sendCustoms encrypts the identity and sends body to path.
func (h *harness) sendCustoms(method, path string, body *customsBody, out any) error {
	serial, err := h.client.EncryptRequest(context.Background(), body)
	require.NoError(h.t, err)
	res, err := h.client.Request(context.Background(), method, api+path, http.Header{"Wechatpay-Serial": {serial}}, nil, body, "application/json")
	if err != nil {
		return err
	}
	return core.UnMarshalResponse(res.Response, out)
}

func TestCustomsDeclarationWithSDK(t *testing.T) {
	h := newHarness(t, nil)
	paid := h.pay("ORDERCUSTOMSSDK", 20000, wechatpay.BuyerPayment{PayerName: "王五", PayerIDNumber: "110101199003074477"})
	txID := paid.content["transaction_id"].(string)
	body := func(subOrder, name, id string) *customsBody {
		return &customsBody{
			AppID: appID, MchID: mchID, OutTradeNo: "ORDERCUSTOMSSDK", TransactionID: txID, Customs: "GUANGZHOU_ZS",
			MerchantCustomsNo: "440316T004", SubOrderNo: subOrder, FeeType: "CNY",
			OrderFee: core.Int64(12000), ProductFee: core.Int64(11000), TransportFee: core.Int64(1000),
			CertificateType: "IDCARD", CertificateID: id, CertificateName: name,
		}
	}
	var d declarationAnswer
	require.NoError(t, h.sendCustoms(http.MethodPost, "/v3/global/customs/orders", body("SUB-1", "王五", "110101199003074477"), &d))
	assert.Equal(t, "SUCCESS", d.State, "CustomsDelay 0: customs has it at once")
	assert.Equal(t, "SAME", d.CertCheckResult)
	assert.Equal(t, int64(12000), d.OrderFee)
	assert.NotEmpty(t, d.SubOrderID)

	// The declared identity differs from the paying account's: WeChat Pay
	// flags it and pushes the account holder's identity to customs.
	require.NoError(t, h.sendCustoms(http.MethodPost, "/v3/global/customs/orders", body("SUB-2", "赵六", "110101199003070000"), &d))
	assert.Equal(t, "DIFFERENT", d.CertCheckResult)
	recs := h.sink.all()
	require.Len(t, recs, 2)
	assert.Equal(t, "SUB-2", recs[1].OrderNo)
	assert.Equal(t, "王五", recs[1].PayerName)
	assert.Equal(t, "GUANGZHOU", recs[1].CustomsCode)
	assert.Equal(t, int64(12000), recs[1].AmountFen)

	// Query by out_trade_no lists both sub-orders, pageable.
	var list struct {
		TotalCount int                 `json:"total_count"`
		Data       []declarationAnswer `json:"data"`
	}
	q := "/v3/global/customs/orders?appid=" + appID + "&mchid=" + mchID + "&order_type=out_trade_no&order_no=ORDERCUSTOMSSDK&customs=GUANGZHOU_ZS&offset=1&limit=1"
	require.NoError(t, h.get(q, &list))
	assert.Equal(t, 2, list.TotalCount)
	assert.Len(t, list.Data, 1)

	// Validation.
	bad := body("SUB-3", "王五", "110101199003074477")
	bad.Customs = "BEIJING_AIRPORT"
	apiError(t, h.sendCustoms(http.MethodPost, "/v3/global/customs/orders", bad, &d), 400, "PARAM_ERROR")
	bad = body("SUB-3", "王五", "110101199003074477")
	bad.OrderFee = core.Int64(20001)
	apiError(t, h.sendCustoms(http.MethodPost, "/v3/global/customs/orders", bad, &d), 400, "PARAM_ERROR")
	bad = body("SUB-3", "王五", "110101199003074477")
	bad.TransactionID = "4200000000000000000000000000"
	apiError(t, h.sendCustoms(http.MethodPost, "/v3/global/customs/orders", bad, &d), 404, "ORDER_NOT_EXIST")
	// Identity sent in clear (not encrypted with the platform key).
	res, err := h.client.Post(context.Background(), api+"/v3/global/customs/orders", body("SUB-3", "王五", "110101199003074477"))
	_ = res
	apiError(t, err, 400, "PARAM_ERROR")
	apiError(t, h.get("/v3/global/customs/orders?appid="+appID+"&mchid="+mchID+"&order_type=nonsense&order_no=x&customs=GUANGZHOU_ZS", &list), 400, "PARAM_ERROR")
	apiError(t, h.get("/v3/global/customs/orders?appid="+appID+"&mchid="+mchID+"&order_type=sub_order_no&order_no=SUB-404&customs=GUANGZHOU_ZS", &list), 404, "RESOURCE_NOT_EXISTS")
	assert.Len(t, h.sink.all(), 2, "refused declarations push nothing")
}

// tradeBill asks for a bill and downloads it without response validation.
func (h *harness) tradeBill(date string) ([]byte, error) {
	var info struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	if err := h.get("/v3/bill/tradebill?bill_date="+date+"&bill_type=ALL", &info); err != nil {
		return nil, err
	}
	require.Equal(h.t, "SHA1", info.HashType)
	// Bill files are not signed: the download skips response validation.
	dl := core.NewClientWithValidator(h.client, &validators.NullValidator{})
	res, err := dl.Get(context.Background(), info.DownloadURL)
	require.NoError(h.t, err)
	content, err := io.ReadAll(res.Response.Body)
	require.NoError(h.t, err)
	sum := sha1.Sum(content) //nolint:gosec // protocol-mandated.
	require.Equal(h.t, info.HashValue, hex.EncodeToString(sum[:]))

	// The default, validating client refuses the unsigned file.
	_, err = h.client.Get(context.Background(), info.DownloadURL)
	require.Error(h.t, err)
	return content, nil
}

// billLines splits a bill into header, rows and summary, stripping backquotes.
func billLines(t *testing.T, content []byte) (header string, rows [][]string, summary []string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(content))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.GreaterOrEqual(t, len(lines), 3)
	header = lines[0]
	require.True(t, strings.HasPrefix(lines[len(lines)-2], "总交易单数,"))
	split := func(l string) []string {
		fs := strings.Split(l, ",")
		for i, f := range fs {
			require.True(t, strings.HasPrefix(f, "`"), "field %q of %q lacks the backquote", f, l)
			fs[i] = strings.TrimPrefix(f, "`")
		}
		return fs
	}
	for _, l := range lines[1 : len(lines)-2] {
		rows = append(rows, split(l))
	}
	return header, rows, split(lines[len(lines)-1])
}

func TestTradeBill(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.pay("ORDERBILL00001", 10000, wechatpay.BuyerPayment{})
	h.pay("ORDERBILL00002", 2550, wechatpay.BuyerPayment{Method: "card"})
	refunds := refunddomestic.RefundsApiService{Client: h.client}
	_, _, err := refunds.Create(ctx, refunddomestic.CreateRequest{
		OutTradeNo: core.String("ORDERBILL00001"), OutRefundNo: core.String("RBILL0001"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(3000), Total: core.Int64(10000), Currency: core.String("CNY")},
	})
	require.NoError(t, err)
	h.next()
	h.createNative("ORDERBILLUNPAID", 999, false) // unpaid orders are not billed
	date := h.clock().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")

	content, err := h.tradeBill(date)
	require.NoError(t, err)
	header, rows, summary := billLines(t, content)
	assert.True(t, strings.HasPrefix(header, "交易时间,公众账号ID,商户号,"))
	require.Len(t, rows, 3)
	byKey := map[string][]string{}
	for _, r := range rows {
		require.Len(t, r, 27)
		byKey[r[6]+"/"+r[9]] = r
	}
	p1 := byKey["ORDERBILL00001/SUCCESS"]
	require.NotNil(t, p1)
	assert.Equal(t, appID, p1[1])
	assert.Equal(t, mchID, p1[2])
	assert.Equal(t, "NATIVE", p1[8])
	assert.Equal(t, "100.00", p1[12])
	assert.Equal(t, "0.60000", p1[22])
	assert.Equal(t, "0.60%", p1[23])
	assert.Equal(t, "CMB_DEBIT", byKey["ORDERBILL00002/SUCCESS"][10])
	rf := byKey["ORDERBILL00001/REFUND"]
	require.NotNil(t, rf)
	assert.Equal(t, "RBILL0001", rf[15])
	assert.Equal(t, "30.00", rf[16])
	assert.Equal(t, "-0.18000", rf[22])
	assert.Equal(t, []string{"3", "125.50", "30.00", "0.00", "0.57300", "125.50", "30.00"}, summary)

	// A day without trades has no bill; a future day is refused.
	yesterday := h.clock().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1).Format("2006-01-02")
	_, err = h.tradeBill(yesterday)
	apiError(t, err, http.StatusBadRequest, "NO_STATEMENT_EXIST")
	tomorrow := h.clock().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 1).Format("2006-01-02")
	_, err = h.tradeBill(tomorrow)
	apiError(t, err, http.StatusBadRequest, "INVALID_REQUEST")
	_, err = h.tradeBill("2025-13-45")
	apiError(t, err, http.StatusBadRequest, "PARAM_ERROR")
}

func TestBillMismatches(t *testing.T) {
	h := newHarness(t, nil)
	h.pay("ORDERMISMATCH01", 1000, wechatpay.BuyerPayment{})
	h.pay("ORDERMISMATCH02", 2000, wechatpay.BuyerPayment{})
	date := h.clock().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	trades := func(content []byte) map[string]string {
		_, rows, _ := billLines(t, content)
		m := map[string]string{}
		for _, r := range rows {
			m[r[6]] = r[12]
		}
		return m
	}
	content, err := h.tradeBill(date)
	require.NoError(t, err)
	honest := trades(content)
	require.Equal(t, map[string]string{"ORDERMISMATCH01": "10.00", "ORDERMISMATCH02": "20.00"}, honest)

	h.sb.InjectBillMismatch(wechatpay.MismatchMissingOurs)
	content, err = h.tradeBill(date)
	require.NoError(t, err)
	got := trades(content)
	assert.Len(t, got, 3)
	var phantom string
	for no := range got {
		if _, ok := honest[no]; !ok {
			phantom = no
		}
	}
	assert.True(t, strings.HasPrefix(phantom, "PHANTOM"), "a trade the merchant never made")

	h.sb.InjectBillMismatch(wechatpay.MismatchMissingTheirs)
	content, err = h.tradeBill(date)
	require.NoError(t, err)
	assert.Len(t, trades(content), 1)

	h.sb.InjectBillMismatch(wechatpay.MismatchAmount)
	content, err = h.tradeBill(date)
	require.NoError(t, err)
	got = trades(content)
	assert.Len(t, got, 2)
	assert.NotEqual(t, honest, got)
	assert.True(t, got["ORDERMISMATCH01"] == "10.01" || got["ORDERMISMATCH02"] == "20.01", "%v", got)

	h.sb.InjectBillMismatch("nonsense")
	content, err = h.tradeBill(date)
	require.NoError(t, err)
	assert.Equal(t, honest, trades(content), "mismatches affect one bill each; unknown kinds none")
}

func TestCashierPage(t *testing.T) {
	h := newHarness(t, nil)
	var res struct {
		H5URL string `json:"h5_url"`
	}
	require.NoError(t, h.post("/v3/pay/transactions/h5", map[string]any{
		"appid": appID, "mchid": mchID, "description": "Lipstick", "out_trade_no": "ORDERCASHIER01",
		"notify_url": h.notifyTo, "amount": map[string]any{"total": 12345},
		"scene_info": map[string]any{"payer_client_ip": "203.0.113.7", "h5_info": map[string]any{"type": "Wap"}},
	}, &res))
	resp, err := http.Get(res.H5URL)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), "123.45")
	assert.Contains(t, string(page), "ORDERCASHIER01")

	resp, err = http.Get(h.srv.URL + "/sandbox/cashier?prepay_id=wx404")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
