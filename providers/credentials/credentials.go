// Package credentials is the on-disk layout of the provider credentials the
// worker and the API load (one JSON file per provider, the keys also as PEM
// files, and a KEY=value summary): the sandbox environment writes it, and a
// production deployment puts the real merchant credentials in the same shape.
package credentials

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Credential file names written by Set.Write.
const (
	// FileAlipayAppKey is the Alipay application's private key.
	FileAlipayAppKey = "alipay-app-private-key.pem"
	// FileAlipayGatewayKey is the Alipay gateway's public key.
	FileAlipayGatewayKey = "alipay-gateway-public-key.pem"
	// FileWeChatPayMerchantKey is the WeChat Pay merchant's private key.
	FileWeChatPayMerchantKey = "wechatpay-merchant-private-key.pem"
	// FileWeChatPayPlatformKey is the WeChat Pay platform public key.
	FileWeChatPayPlatformKey = "wechatpay-platform-public-key.pem"
	// FileEnv is the KEY=value summary.
	FileEnv = "providers.env"
	// FileReadme explains the files.
	FileReadme = "README.txt"
)

// Set is every provider's credentials, as Read loads them.
type Set struct {
	// Alipay is the Alipay credentials.
	Alipay Alipay
	// WeChatPay is the WeChat Pay credentials.
	WeChatPay WeChatPay
	// Customs, CardPSP and FX are the HMAC credentials.
	Customs, CardPSP, FX HMAC
}

// Write writes the credentials into dir (created 0700 if needed): one JSON
// file per provider (alipay.json, wechatpay.json, customs.json, card.json,
// fx.json), the keys as PEM files, a providers.env summary and a README.txt.
// Files holding a private key or a secret are mode 0600.
func (c Set) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	type file struct {
		name string
		mode os.FileMode
		data []byte
	}
	files := []file{
		{FileAlipayAppKey, 0o600, []byte(c.Alipay.AppPrivateKeyPEM)},
		{FileAlipayGatewayKey, 0o644, []byte(c.Alipay.GatewayPublicKeyPEM)},
		{FileWeChatPayMerchantKey, 0o600, []byte(c.WeChatPay.MerchantPrivateKeyPEM)},
		{FileWeChatPayPlatformKey, 0o644, []byte(c.WeChatPay.PlatformPublicKeyPEM)},
		{FileEnv, 0o600, []byte(c.env(abs))},
		{FileReadme, 0o644, []byte(readme)},
	}
	for name, v := range map[string]any{"alipay": c.Alipay, "wechatpay": c.WeChatPay, "customs": c.Customs, "card": c.CardPSP, "fx": c.FX} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("credentials: %s: %w", name, err)
		}
		files = append(files, file{name + ".json", 0o600, append(b, '\n')})
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
		// WriteFile keeps the mode of a file that already exists.
		if err := os.Chmod(path, f.mode); err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
	}
	return nil
}

// env renders the KEY=value summary; PEM keys are referred to by path.
func (c Set) env(dir string) string {
	var b strings.Builder
	kv := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, v) }
	b.WriteString("# xhspay sandbox credentials: see README.txt\n")
	kv("XHSPAY_ALIPAY_APP_ID", c.Alipay.AppID)
	kv("XHSPAY_ALIPAY_GATEWAY_URL", c.Alipay.GatewayURL)
	kv("XHSPAY_ALIPAY_APP_PRIVATE_KEY_FILE", filepath.Join(dir, FileAlipayAppKey))
	kv("XHSPAY_ALIPAY_PUBLIC_KEY_FILE", filepath.Join(dir, FileAlipayGatewayKey))
	kv("XHSPAY_ALIPAY_SELLER_ID", c.Alipay.SellerID)
	kv("XHSPAY_WECHATPAY_MCH_ID", c.WeChatPay.MchID)
	kv("XHSPAY_WECHATPAY_APP_ID", c.WeChatPay.AppID)
	kv("XHSPAY_WECHATPAY_BASE_URL", c.WeChatPay.BaseURL)
	kv("XHSPAY_WECHATPAY_MERCHANT_PRIVATE_KEY_FILE", filepath.Join(dir, FileWeChatPayMerchantKey))
	kv("XHSPAY_WECHATPAY_MERCHANT_SERIAL_NO", c.WeChatPay.MerchantSerialNo)
	kv("XHSPAY_WECHATPAY_PLATFORM_PUBLIC_KEY_FILE", filepath.Join(dir, FileWeChatPayPlatformKey))
	kv("XHSPAY_WECHATPAY_PLATFORM_PUBLIC_KEY_ID", c.WeChatPay.PlatformPublicKeyID)
	kv("XHSPAY_WECHATPAY_APIV3_KEY", c.WeChatPay.APIv3Key)
	for _, p := range []struct {
		prefix string
		h      HMAC
	}{{"CUSTOMS", c.Customs}, {"CARD", c.CardPSP}, {"FX", c.FX}} {
		kv("XHSPAY_"+p.prefix+"_BASE_URL", p.h.BaseURL)
		kv("XHSPAY_"+p.prefix+"_KEY_ID", p.h.KeyID)
		kv("XHSPAY_"+p.prefix+"_SECRET", p.h.Secret)
	}
	return b.String()
}

// Read loads the credentials Write wrote into dir.
func Read(dir string) (Set, error) {
	var c Set
	for name, v := range map[string]any{"alipay": &c.Alipay, "wechatpay": &c.WeChatPay, "customs": &c.Customs, "card": &c.CardPSP, "fx": &c.FX} {
		b, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			return Set{}, fmt.Errorf("credentials: %w", err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			return Set{}, fmt.Errorf("credentials: %s.json: %w", name, err)
		}
	}
	return c, nil
}

const readme = `xhspay provider credentials
===========================

The worker and the API load these files (XHSPAY_PROVIDERS_DIR). The sandbox
environment (go run ./cmd/sandbox) writes them with keys and secrets it
generates at every start: restart the API and worker with these files after
restarting the sandboxes. Files marked (secret) are mode 0600.

alipay.json                         (secret) Alipay, public-key mode: appId,
                                    appPrivateKeyPem, gatewayPublicKeyPem (the
                                    "Alipay public key"), gatewayUrl (.../gateway.do),
                                    sellerId, notifyUrl.
alipay-app-private-key.pem          (secret) the application's RSA private key
                                    (PKCS #8) that signs requests to the gateway.
alipay-gateway-public-key.pem       the gateway's RSA public key (PKIX) that
                                    verifies its responses and notifications.

wechatpay.json                      (secret) WeChat Pay APIv3, public-key mode:
                                    mchId, appId, merchantPrivateKeyPem,
                                    merchantSerialNo, platformPublicKeyPem,
                                    platformPublicKeyId, apiV3Key, baseUrl (replaces
                                    the API host), notifyUrl.
wechatpay-merchant-private-key.pem  (secret) the merchant's API private key
                                    (PKCS #8) that signs requests.
wechatpay-platform-public-key.pem   the platform public key (PKIX) that verifies
                                    responses and notifications (Wechatpay-Serial =
                                    platformPublicKeyId).

customs.json                        (secret) customs clearance API: baseUrl, keyId,
                                    secret (HMAC-SHA256), notifyUrl.
card.json                           (secret) card PSP API: baseUrl, keyId, secret,
                                    notifyUrl.
fx.json                             (secret) FX rate feed: baseUrl, keyId, secret.

providers.env                         (secret) the same as KEY=value lines, with the
                                    PEM keys given as file paths.

Each sandbox also serves unsigned control endpoints under /sandbox/ (the
scripted buyer, customs verdicts and returns, and /sandbox/faults, the fault
injector) on its own base URL.
`

// Alipay is what an Alipay adapter needs (public-key mode).
type Alipay struct {
	// AppID is the merchant application's app_id.
	AppID string `json:"appId"`
	// AppPrivateKeyPEM is the application's RSA private key (PKCS #8 "PRIVATE KEY").
	AppPrivateKeyPEM string `json:"appPrivateKeyPem"`
	// GatewayPublicKeyPEM is the gateway's ("Alipay") public key (PKIX "PUBLIC KEY").
	GatewayPublicKeyPEM string `json:"gatewayPublicKeyPem"`
	// GatewayURL is the gateway endpoint (…/gateway.do).
	GatewayURL string `json:"gatewayUrl"`
	// SellerID is the merchant's partner id.
	SellerID string `json:"sellerId"`
	// NotifyURL is the suggested notify URL (NotifyBaseURL + "alipay"), if any.
	NotifyURL string `json:"notifyUrl,omitempty"`
}

// WeChatPay is what a WeChat Pay adapter needs (public-key mode).
type WeChatPay struct {
	// MchID is the merchant id.
	MchID string `json:"mchId"`
	// AppID is the app id bound to the merchant.
	AppID string `json:"appId"`
	// MerchantPrivateKeyPEM is the merchant's API key (PKCS #8 "PRIVATE KEY").
	MerchantPrivateKeyPEM string `json:"merchantPrivateKeyPem"`
	// MerchantSerialNo is the merchant certificate's serial number.
	MerchantSerialNo string `json:"merchantSerialNo"`
	// PlatformPublicKeyPEM is the WeChat Pay platform public key (PKIX "PUBLIC KEY").
	PlatformPublicKeyPEM string `json:"platformPublicKeyPem"`
	// PlatformPublicKeyID identifies the platform public key (Wechatpay-Serial).
	PlatformPublicKeyID string `json:"platformPublicKeyId"`
	// APIv3Key decrypts notification resources.
	APIv3Key string `json:"apiV3Key"`
	// BaseURL replaces the API host.
	BaseURL string `json:"baseUrl"`
	// NotifyURL is the suggested notify URL (NotifyBaseURL + "wechatpay"), if any.
	NotifyURL string `json:"notifyUrl,omitempty"`
}

// HMAC is what a customs, card PSP or FX adapter needs.
type HMAC struct {
	// BaseURL is the API's base URL.
	BaseURL string `json:"baseUrl"`
	// KeyID names the shared secret (X-Xhs-Key-Id).
	KeyID string `json:"keyId"`
	// Secret is the shared HMAC-SHA256 secret.
	Secret string `json:"secret"`
	// NotifyURL is where the sandbox sends notifications (NotifyBaseURL + name), if any.
	NotifyURL string `json:"notifyUrl,omitempty"`
}
