// Package wechatpay is the WeChat Pay APIv3 adapter: payments (native QR and
// h5), refunds, the profit-sharing freeze used as escrow hold, cross-border
// customs payment declaration and notification parsing, on the official
// wechatpay-go SDK. Requests are signed and responses verified by the SDK in
// WeChat Pay public-key mode (no platform certificate download); every failure
// is classified into a *providers.Error.
package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/profitsharing"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/xhspay/xhspay/providers"
)

// providerName is the Provider of every error this adapter returns.
const providerName = string(providers.WeChatPay)

// Compile-time checks that the adapter implements its ports.
var (
	_ providers.PaymentProvider = (*Adapter)(nil)
	_ providers.EscrowHolder    = (*Adapter)(nil)
	_ providers.CustomsDeclarer = (*Adapter)(nil)
)

// Config configures the adapter for one WeChat Pay merchant account.
type Config struct {
	// MchID is the merchant id (mchid).
	MchID string
	// AppID is the app id bound to the merchant (appid).
	AppID string
	// MerchantPrivateKeyPEM is the merchant API private key, PKCS#8 "PRIVATE KEY" PEM.
	MerchantPrivateKeyPEM string
	// MerchantSerialNo is the merchant API certificate's serial number.
	MerchantSerialNo string
	// PlatformPublicKeyPEM is the WeChat Pay public key, PKIX "PUBLIC KEY" PEM.
	PlatformPublicKeyPEM string
	// PlatformPublicKeyID is that key's id ("PUB_KEY_ID_..."), sent as Wechatpay-Serial.
	PlatformPublicKeyID string
	// APIv3Key is the 32-byte APIv3 key notifications are encrypted with.
	APIv3Key string
	// BaseURL, when set, receives every request instead of the WeChat Pay API
	// host (scheme and host only, e.g. a sandbox); empty means the real API.
	BaseURL string
	// NotifyURL is the default notify_url for payments and refunds whose request names none.
	NotifyURL string
	// HTTPClient sends requests; nil uses a client with a 30s timeout.
	HTTPClient *http.Client
	// PayerClientIP is sent as scene_info.payer_client_ip for h5 payments, as the
	// payment port does not carry the buyer's IP; empty sends 127.0.0.1.
	PayerClientIP string
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
}

// Adapter is a WeChat Pay APIv3 client implementing providers.PaymentProvider,
// providers.EscrowHolder and providers.CustomsDeclarer.
type Adapter struct {
	cfg      Config
	log      *slog.Logger
	client   *core.Client
	native   native.NativeApiService
	h5       h5.H5ApiService
	refunds  refunddomestic.RefundsApiService
	psOrders profitsharing.OrdersApiService
	psTx     profitsharing.TransactionsApiService
	notify   *notify.Handler
	verify   *validators.WechatPayNotifyValidator
	now      func() time.Time
}

// New builds the adapter. It loads the keys and prepares the SDK client in
// public-key verification mode; it makes no network call.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	const op = "new"
	invalid := func(msg string, err error) error {
		return providers.NewError(providerName, op, providers.ErrTypeInvalidRequest, "", msg, err)
	}
	switch {
	case cfg.MchID == "":
		return nil, invalid("Config.MchID is required", nil)
	case cfg.AppID == "":
		return nil, invalid("Config.AppID is required", nil)
	case cfg.MerchantSerialNo == "":
		return nil, invalid("Config.MerchantSerialNo is required", nil)
	case cfg.PlatformPublicKeyID == "":
		return nil, invalid("Config.PlatformPublicKeyID is required", nil)
	case len(cfg.APIv3Key) != 32:
		return nil, invalid(fmt.Sprintf("Config.APIv3Key must be 32 bytes, got %d", len(cfg.APIv3Key)), nil)
	}
	priv, err := utils.LoadPrivateKey(cfg.MerchantPrivateKeyPEM)
	if err != nil {
		return nil, invalid("Config.MerchantPrivateKeyPEM must be a PKCS#8 RSA private key PEM", err)
	}
	pub, err := utils.LoadPublicKey(cfg.PlatformPublicKeyPEM)
	if err != nil {
		return nil, invalid("Config.PlatformPublicKeyPEM must be a PKIX RSA public key PEM", err)
	}
	hc, err := httpClient(cfg)
	if err != nil {
		return nil, invalid("Config.BaseURL is not usable", err)
	}
	client, err := core.NewClient(ctx,
		option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MerchantSerialNo, priv, cfg.PlatformPublicKeyID, pub),
		option.WithHTTPClient(hc),
		markVerificationFailures{},
	)
	if err != nil {
		return nil, invalid("build WeChat Pay client", err)
	}
	verifier := verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PlatformPublicKeyID, *pub)
	nh, err := notify.NewRSANotifyHandler(cfg.APIv3Key, verifier)
	if err != nil {
		return nil, invalid("Config.APIv3Key does not make an AES-256 key", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Adapter{
		cfg:      cfg,
		log:      log.With("provider", providerName),
		client:   client,
		native:   native.NativeApiService{Client: client},
		h5:       h5.H5ApiService{Client: client},
		refunds:  refunddomestic.RefundsApiService{Client: client},
		psOrders: profitsharing.OrdersApiService{Client: client},
		psTx:     profitsharing.TransactionsApiService{Client: client},
		notify:   nh,
		verify:   validators.NewWechatPayNotifyValidator(verifier),
		now:      time.Now,
	}, nil
}

// Name identifies the provider.
func (a *Adapter) Name() providers.Name { return providers.WeChatPay }

// httpClient returns the client the SDK sends through: the configured one (or
// a default), redirected to BaseURL when it is set. The caller's client is not modified.
func httpClient(cfg Config) (*http.Client, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	if cfg.BaseURL == "" {
		return hc, nil
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL: Config.BaseURL must be an absolute http(s) URL, got %q", cfg.BaseURL)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		// The request signature covers the path: a prefix would break it.
		return nil, fmt.Errorf("base URL: Config.BaseURL must have no path or query (the signature covers the request path), got %q", cfg.BaseURL)
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = &redirect{scheme: u.Scheme, host: u.Host, next: next}
	return hc, nil
}

// redirect sends every request to another scheme and host, keeping the
// request URI the SDK signed.
type redirect struct {
	scheme, host string
	next         http.RoundTripper
}

// RoundTrip rewrites the request's scheme and host and sends it on.
func (t *redirect) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.Host = t.scheme, t.host, t.host
	return t.next.RoundTrip(out)
}

// errResponseSignature marks a response whose WeChat Pay signature did not verify.
var errResponseSignature = errors.New("response signature verification failed")

// markVerificationFailures is a client option that wraps the SDK's response
// validator so its failures can be told apart from transport errors.
type markVerificationFailures struct{}

// Apply wraps the validator installed by the options before it.
func (markVerificationFailures) Apply(s *core.DialSettings) error {
	if s.Validator == nil {
		return errors.New("no response validator to wrap")
	}
	s.Validator = markingValidator{inner: s.Validator}
	return nil
}

// markingValidator wraps validation failures in errResponseSignature.
type markingValidator struct{ inner auth.Validator }

// Validate verifies the response, marking a failure.
func (v markingValidator) Validate(ctx context.Context, resp *http.Response) error {
	if err := v.inner.Validate(ctx, resp); err != nil {
		return fmt.Errorf("%w: %w", errResponseSignature, err)
	}
	return nil
}

// GetAcceptSerial returns the serial the inner validator accepts.
func (v markingValidator) GetAcceptSerial(ctx context.Context) (string, error) {
	return v.inner.GetAcceptSerial(ctx)
}
