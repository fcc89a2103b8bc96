package wechatpay_test

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
)

// note describes a notification to forge for ParseNotification.
type note struct {
	eventType string
	plaintext string          // the resource before encryption
	apiV3Key  string          // the key the resource is sealed with
	signKey   *rsa.PrivateKey // the key the headers are signed with
	serial    string
	at        time.Time // signature timestamp
	body      func(env map[string]any) []byte
	tamper    func(env map[string]any)
}

// validNote is a correctly sealed and signed TRANSACTION.SUCCESS notification.
func validNote(t *testing.T) note {
	tx := map[string]any{
		"appid": testAppID, "mchid": testMchID, "out_trade_no": "ORDERNOTE000001",
		"transaction_id": "4200000000202501010000000001", "trade_type": "NATIVE",
		"trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
		"success_time": "2025-01-01T10:00:00+08:00", "payer": map[string]any{"openid": "oABC"},
		"amount": map[string]any{"total": 1000, "payer_total": 1000, "currency": "CNY", "payer_currency": "CNY"},
	}
	b, err := json.Marshal(tx)
	require.NoError(t, err)
	return note{
		eventType: "TRANSACTION.SUCCESS",
		plaintext: string(b),
		apiV3Key:  testAPIv3Key,
		signKey:   testKeys(t).platform,
		serial:    testPubKeyID,
		at:        time.Now(),
	}
}

// request builds the HTTP request WeChat Pay would send for n.
func (n note) request(t *testing.T) *http.Request {
	t.Helper()
	block, err := aes.NewCipher([]byte(n.apiV3Key))
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	nonce := "fdasflkja484"
	ct := gcm.Seal(nil, []byte(nonce), []byte(n.plaintext), []byte("transaction"))
	env := map[string]any{
		"id":            "EV-2018022511223320873",
		"create_time":   "2015-05-20T13:29:35+08:00",
		"resource_type": "encrypt-resource",
		"event_type":    n.eventType,
		"summary":       "支付成功",
		"resource": map[string]any{
			"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.StdEncoding.EncodeToString(ct),
			"associated_data": "transaction", "original_type": "transaction", "nonce": nonce,
		},
	}
	if n.tamper != nil {
		n.tamper(env)
	}
	var body []byte
	if n.body != nil {
		body = n.body(env)
	} else {
		body, err = json.Marshal(env)
		require.NoError(t, err)
	}
	ts := strconv.FormatInt(n.at.Unix(), 10)
	sigNonce := "593BEC0C930BF1AFEB40B4A08C8FB242"
	digest := sha256.Sum256([]byte(ts + "\n" + sigNonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, n.signKey, crypto.SHA256, digest[:])
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/notify/wechatpay", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Wechatpay-Serial", n.serial)
	r.Header.Set("Wechatpay-Timestamp", ts)
	r.Header.Set("Wechatpay-Nonce", sigNonce)
	r.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	r.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	return r
}

func TestParseNotificationValid(t *testing.T) {
	e := newEnv(t, nil)
	n, err := e.ad.ParseNotification(context.Background(), validNote(t).request(t))
	require.NoError(t, err)
	assert.Equal(t, "EV-2018022511223320873", n.ID)
	assert.Equal(t, providers.NotifyPayment, n.Kind)
	require.NotNil(t, n.Payment)
	assert.Equal(t, providers.PaymentPaid, n.Payment.Status)
	assert.Equal(t, "4200000000202501010000000001", n.Payment.TransactionID)
	assert.True(t, n.Payment.Amount.Equal(cny("10.00")))
	assert.Equal(t, time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC), n.Payment.PaidAt.UTC())
	assert.Equal(t, time.Date(2015, 5, 20, 5, 29, 35, 0, time.UTC), n.SentAt.UTC())

	// The same notification delivered again parses to the same ID.
	again, err := e.ad.ParseNotification(context.Background(), validNote(t).request(t))
	require.NoError(t, err)
	assert.Equal(t, n.ID, again.ID)
}

func TestParseNotificationRejects(t *testing.T) {
	e := newEnv(t, nil)
	k := testKeys(t)
	tests := []struct {
		name   string
		mutate func(n *note)
		header func(r *http.Request)
		want   providers.ErrorType
	}{
		{"forged signature", func(n *note) { n.signKey = k.other }, nil, providers.ErrTypeSignature},
		{"merchant key signature", func(n *note) { n.signKey = k.merchant }, nil, providers.ErrTypeSignature},
		{"wrong key id", func(n *note) { n.serial = "PUB_KEY_ID_OTHER" }, nil, providers.ErrTypeSignature},
		{"wrong APIv3 key", func(n *note) { n.apiV3Key = otherAPIv3Key }, nil, providers.ErrTypeSignature},
		{"tampered ciphertext", func(n *note) {
			n.tamper = func(env map[string]any) {
				res := env["resource"].(map[string]any)
				ct, _ := base64.StdEncoding.DecodeString(res["ciphertext"].(string))
				ct[3] ^= 0x01
				res["ciphertext"] = base64.StdEncoding.EncodeToString(ct)
			}
		}, nil, providers.ErrTypeSignature},
		{"tampered associated data", func(n *note) {
			n.tamper = func(env map[string]any) { env["resource"].(map[string]any)["associated_data"] = "refund" }
		}, nil, providers.ErrTypeSignature},
		{"stale timestamp", func(n *note) { n.at = time.Now().Add(-6 * time.Minute) }, nil, providers.ErrTypeSignature},
		{"future timestamp", func(n *note) { n.at = time.Now().Add(6 * time.Minute) }, nil, providers.ErrTypeSignature},
		{"body altered after signing", nil, func(r *http.Request) {
			r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"id":"EV-X"}`)).Body
		}, providers.ErrTypeSignature},
		{"no signature header", nil, func(r *http.Request) { r.Header.Del("Wechatpay-Signature") }, providers.ErrTypeSignature},
		{"bad timestamp header", nil, func(r *http.Request) { r.Header.Set("Wechatpay-Timestamp", "yesterday") }, providers.ErrTypeSignature},
		{"other signature type", nil, func(r *http.Request) { r.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3") }, providers.ErrTypeSignature},
		{"not JSON", func(n *note) { n.body = func(map[string]any) []byte { return []byte("<xml/>") } }, nil, providers.ErrTypeInvalidRequest},
		{"no resource", func(n *note) { n.tamper = func(env map[string]any) { delete(env, "resource") } }, nil, providers.ErrTypeInvalidRequest},
		{"no id", func(n *note) { n.tamper = func(env map[string]any) { delete(env, "id") } }, nil, providers.ErrTypeInvalidRequest},
		{"other algorithm", func(n *note) {
			n.tamper = func(env map[string]any) { env["resource"].(map[string]any)["algorithm"] = "AEAD_SM4_GCM" }
		}, nil, providers.ErrTypeInvalidRequest},
		{"unknown event", func(n *note) { n.eventType = "MCHTRANSFER.BILL.FINISHED" }, nil, providers.ErrTypeInvalidRequest},
		{"plaintext not JSON", func(n *note) { n.plaintext = "not json" }, nil, providers.ErrTypeInvalidRequest},
		{"unknown trade state", func(n *note) {
			n.plaintext = `{"mchid":"` + testMchID + `","out_trade_no":"X","trade_state":"WHATEVER"}`
		}, nil, providers.ErrTypeUnavailable},
		{"other merchant", func(n *note) { n.plaintext = `{"mchid":"1111111111","out_trade_no":"X","trade_state":"SUCCESS"}` }, nil, providers.ErrTypeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := validNote(t)
			if tt.mutate != nil {
				tt.mutate(&n)
			}
			r := n.request(t)
			if tt.header != nil {
				tt.header(r)
			}
			_, err := e.ad.ParseNotification(context.Background(), r)
			requireType(t, err, tt.want)
		})
	}
}

func TestParseRefundNotificationStatuses(t *testing.T) {
	e := newEnv(t, nil)
	for status, want := range map[string]providers.RefundStatus{
		"SUCCESS":  providers.RefundSucceeded,
		"ABNORMAL": providers.RefundFailed,
		"CLOSED":   providers.RefundFailed,
	} {
		t.Run(status, func(t *testing.T) {
			n := validNote(t)
			n.eventType = "REFUND." + status
			n.plaintext = `{"mchid":"` + testMchID + `","out_trade_no":"ORDER0001","transaction_id":"4200","out_refund_no":"R1","refund_id":"50","refund_status":"` +
				status + `","amount":{"total":1000,"refund":250,"payer_total":1000,"payer_refund":250}}`
			got, err := e.ad.ParseNotification(context.Background(), n.request(t))
			require.NoError(t, err)
			assert.Equal(t, providers.NotifyRefund, got.Kind)
			require.NotNil(t, got.Refund)
			assert.Equal(t, want, got.Refund.Status)
			assert.Equal(t, "R1", got.Refund.OutRefundNo)
			assert.True(t, got.Refund.Amount.Equal(cny("2.50")))
		})
	}
}
