package sandbox

import "github.com/xhspay/xhspay/providers/credentials"

// Credential file names, as credentials.Set.Write writes them.
const (
	// FileAlipayAppKey is the Alipay application's private key.
	FileAlipayAppKey = credentials.FileAlipayAppKey
	// FileAlipayGatewayKey is the Alipay gateway's public key.
	FileAlipayGatewayKey = credentials.FileAlipayGatewayKey
	// FileWeChatPayMerchantKey is the WeChat Pay merchant's private key.
	FileWeChatPayMerchantKey = credentials.FileWeChatPayMerchantKey
	// FileWeChatPayPlatformKey is the WeChat Pay platform public key.
	FileWeChatPayPlatformKey = credentials.FileWeChatPayPlatformKey
	// FileEnv is the KEY=value summary.
	FileEnv = credentials.FileEnv
	// FileReadme explains the files.
	FileReadme = credentials.FileReadme
)

// Credentials is every sandbox's credentials.
type Credentials = credentials.Set

// AlipayCredentials is what an Alipay adapter needs (public-key mode).
type AlipayCredentials = credentials.Alipay

// WeChatPayCredentials is what a WeChat Pay adapter needs (public-key mode).
type WeChatPayCredentials = credentials.WeChatPay

// HMACCredentials is what a customs, card PSP or FX adapter needs.
type HMACCredentials = credentials.HMAC

// Credentials returns every sandbox's credentials.
func (e *Env) Credentials() Credentials {
	return Credentials{Alipay: e.alipay, WeChatPay: e.wechatpay, Customs: e.hmac[Customs], CardPSP: e.hmac[CardPSP], FX: e.hmac[FX]}
}

// WriteCredentials writes the credentials into dir; see credentials.Set.Write.
func (e *Env) WriteCredentials(dir string) error {
	return e.Credentials().Write(dir)
}

// ReadCredentials loads the credentials WriteCredentials wrote into dir.
func ReadCredentials(dir string) (Credentials, error) { return credentials.Read(dir) }
