// Package sandbox starts the whole provider sandbox environment: Alipay,
// WeChat Pay, customs, the card PSP and the FX feed, each on its own HTTP
// listener, with freshly generated keys and secrets, customs wired in as the
// sink of the payment companies' customs declarations, and one fault injector
// per sandbox. Tests, the demo and cmd/sandbox use it; production code never
// imports it.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/sandbox/alipay"
	"github.com/xhspay/xhspay/sandbox/cardpsp"
	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
	"github.com/xhspay/xhspay/sandbox/fx"
	"github.com/xhspay/xhspay/sandbox/wechatpay"
)

// Names of the sandboxes, as used by Env.Faults, Env.BaseURL and the credential files.
const (
	// Alipay is the Alipay open-platform gateway.
	Alipay = "alipay"
	// WeChatPay is WeChat Pay APIv3.
	WeChatPay = "wechatpay"
	// Customs is the customs clearance service.
	Customs = "customs"
	// CardPSP is the card PSP (the same name as providers.Card).
	CardPSP = "card"
	// FX is the FX rate feed.
	FX = "fx"
)

// Names returns the sandbox names in start order.
func Names() []string { return []string{Alipay, WeChatPay, Customs, CardPSP, FX} }

// Default ports of cmd/sandbox.
const (
	// DefaultAlipayPort is the Alipay sandbox's default port.
	DefaultAlipayPort = 9101
	// DefaultWeChatPayPort is the WeChat Pay sandbox's default port.
	DefaultWeChatPayPort = 9102
	// DefaultCustomsPort is the customs sandbox's default port.
	DefaultCustomsPort = 9103
	// DefaultCardPSPPort is the card PSP sandbox's default port.
	DefaultCardPSPPort = 9104
	// DefaultFXPort is the FX sandbox's default port.
	DefaultFXPort = 9105
)

// Ports are the sandboxes' listening ports; 0 picks a free port.
type Ports struct {
	// Alipay is the Alipay gateway's port.
	Alipay int
	// WeChatPay is the WeChat Pay API's port.
	WeChatPay int
	// Customs is the customs API's port.
	Customs int
	// CardPSP is the card PSP's port.
	CardPSP int
	// FX is the FX feed's port.
	FX int
}

// DefaultPorts returns the fixed ports of cmd/sandbox (9101 to 9105).
func DefaultPorts() Ports {
	return Ports{DefaultAlipayPort, DefaultWeChatPayPort, DefaultCustomsPort, DefaultCardPSPPort, DefaultFXPort}
}

// Faults are the sandboxes' fault injectors; a nil one is created.
type Faults struct {
	// Alipay injects faults into the Alipay sandbox.
	Alipay *fault.Injector
	// WeChatPay injects faults into the WeChat Pay sandbox.
	WeChatPay *fault.Injector
	// Customs injects faults into the customs sandbox.
	Customs *fault.Injector
	// CardPSP injects faults into the card PSP sandbox.
	CardPSP *fault.Injector
	// FX injects faults into the FX sandbox.
	FX *fault.Injector
}

// EnvConfig configures the environment. The zero value starts everything on
// free ports of 127.0.0.1 with the sandboxes' default timings.
type EnvConfig struct {
	// Host is the interface to listen on; empty means 127.0.0.1.
	Host string
	// Ports are the listening ports; 0 picks a free one.
	Ports Ports
	// NotifyBaseURL is where provider notifications go (e.g. the API's
	// "http://127.0.0.1:8080/notify/"): customs posts to NotifyBaseURL+"customs"
	// and the card PSP, for requests naming no notify URL, to NotifyBaseURL+"card"
	// (payouts to NotifyBaseURL+"card/payouts").
	// The credentials suggest NotifyBaseURL+name to every adapter. Empty sends
	// customs and default card notifications nowhere.
	NotifyBaseURL string
	// CredentialsDir, when set, receives the credentials (see Env.WriteCredentials).
	CredentialsDir string
	// Faults are the fault injectors; nil ones are created.
	Faults Faults
	// Seed selects the FX rate series.
	Seed int64
	// ClearanceDelay is how long customs takes to decide: zero means
	// customs.DefaultClearanceDelay (2s), negative at once.
	ClearanceDelay time.Duration
	// PaymentRecordTimeout is how long customs waits for a payment record:
	// zero means customs.DefaultPaymentRecordTimeout, negative at once.
	PaymentRecordTimeout time.Duration
	// ReturnArrivalDelay, when positive, has returned goods reach the bonded
	// zone that long after the return is filed; zero waits for the arrive control call.
	ReturnArrivalDelay time.Duration
	// RefundDelay is how long card PSP and WeChat Pay refunds stay PROCESSING:
	// zero means their defaults; negative means at once at the card PSP.
	RefundDelay time.Duration
	// PayoutDelay is how long card PSP payouts stay PROCESSING: zero means
	// cardpsp.DefaultPayoutDelay, negative at once.
	PayoutDelay time.Duration
	// NotifyRetry, when set, replaces Alipay's and WeChat Pay's notification
	// retry schedules (hours long) with these waits.
	NotifyRetry []time.Duration
	// NotifyClient sends every sandbox's notifications; nil uses their defaults.
	NotifyClient *http.Client
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
	// Now is the business clock of every sandbox; nil is time.Now.
	Now func() time.Time
}

// Env is a running sandbox environment.
type Env struct {
	// Alipay is the Alipay sandbox.
	Alipay *alipay.Sandbox
	// WeChatPay is the WeChat Pay sandbox.
	WeChatPay *wechatpay.Sandbox
	// Customs is the customs sandbox, the sink of both payment sandboxes' declarations.
	Customs *customs.Sandbox
	// CardPSP is the card PSP sandbox.
	CardPSP *cardpsp.Sandbox
	// FX is the FX sandbox.
	FX *fx.Sandbox

	log       *slog.Logger
	faults    map[string]*fault.Injector
	urls      map[string]string
	servers   []*http.Server
	closers   []func()
	alipay    AlipayCredentials
	wechatpay WeChatPayCredentials
	hmac      map[string]HMACCredentials
	closeOnce sync.Once
}

// Start generates every key and secret, starts the five sandboxes on their
// listeners and, when cfg.CredentialsDir is set, writes the credentials there.
// ctx bounds the start only; Close stops everything.
func Start(ctx context.Context, cfg EnvConfig) (_ *Env, err error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	faults := map[string]*fault.Injector{
		Alipay: cfg.Faults.Alipay, WeChatPay: cfg.Faults.WeChatPay, Customs: cfg.Faults.Customs, CardPSP: cfg.Faults.CardPSP, FX: cfg.Faults.FX,
	}
	for name, in := range faults {
		if in == nil {
			faults[name] = fault.New()
		}
	}
	e := &Env{log: cfg.Logger.With("component", "sandbox-env"), faults: faults, urls: map[string]string{}, hmac: map[string]HMACCredentials{}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()

	// Listen first, so that every base URL is known before the sandboxes are built.
	ports := map[string]int{Alipay: cfg.Ports.Alipay, WeChatPay: cfg.Ports.WeChatPay, Customs: cfg.Ports.Customs, CardPSP: cfg.Ports.CardPSP, FX: cfg.Ports.FX}
	listeners := map[string]net.Listener{}
	defer func() {
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
		}
	}()
	var lc net.ListenConfig
	for _, name := range Names() {
		l, lerr := lc.Listen(ctx, "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(ports[name])))
		if lerr != nil {
			return nil, fmt.Errorf("sandbox env: listen for %s: %w", name, lerr)
		}
		listeners[name] = l
		e.urls[name] = "http://" + advertised(cfg.Host, l.Addr())
	}
	notifyURL := func(name string) string {
		if cfg.NotifyBaseURL == "" {
			return ""
		}
		return cfg.NotifyBaseURL + name
	}

	keys, err := generateKeys(ctx, 4)
	if err != nil {
		return nil, err
	}
	appKey, gatewayKey, merchantKey, platformKey := keys[0], keys[1], keys[2], keys[3]

	hmacs := map[string]HMACCredentials{}
	for _, name := range []string{Customs, CardPSP, FX} {
		hmacs[name] = HMACCredentials{BaseURL: e.urls[name], KeyID: name + "_" + randomHex(6), Secret: randomHex(32), NotifyURL: notifyURL(name)}
	}
	e.hmac = hmacs

	if e.Customs, err = customs.New(customs.Config{
		KeyID: hmacs[Customs].KeyID, Secret: hmacs[Customs].Secret, NotifyURL: notifyURL(Customs), NotifyClient: cfg.NotifyClient,
		Faults: faults[Customs], Logger: cfg.Logger, Now: cfg.Now, ClearanceDelay: cfg.ClearanceDelay,
		PaymentRecordTimeout: cfg.PaymentRecordTimeout, ReturnArrivalDelay: cfg.ReturnArrivalDelay,
	}); err != nil {
		return nil, fmt.Errorf("sandbox env: customs: %w", err)
	}
	e.closers = append(e.closers, e.Customs.Close)

	// The payment companies push their customs declarations to customs.
	alipayAppID := "2021" + randomDigits(12)
	if e.Alipay, err = alipay.New(alipay.Config{
		AppID: alipayAppID, AppPublicKey: &appKey.PublicKey, GatewayKey: gatewayKey, Faults: faults[Alipay], Customs: e.Customs,
		NotifyClient: cfg.NotifyClient, Logger: cfg.Logger, Now: cfg.Now, NotifyRetryDelays: cfg.NotifyRetry,
	}); err != nil {
		return nil, fmt.Errorf("sandbox env: alipay: %w", err)
	}
	e.closers = append(e.closers, e.Alipay.Close)

	merchantSerial := strings.ToUpper(randomHex(20))
	wcfg := wechatpay.Config{
		MchID: "19" + randomDigits(8), AppID: "wx" + randomHex(8), MerchantPublicKey: &merchantKey.PublicKey,
		MerchantSerialNo: merchantSerial, PlatformKey: platformKey, Faults: faults[WeChatPay], Customs: e.Customs,
		NotifyClient: cfg.NotifyClient, Logger: cfg.Logger, Now: cfg.Now, NotifyRetry: cfg.NotifyRetry,
	}
	if cfg.RefundDelay > 0 {
		wcfg.RefundDelay = cfg.RefundDelay
	}
	if e.WeChatPay, err = wechatpay.New(wcfg); err != nil {
		return nil, fmt.Errorf("sandbox env: wechatpay: %w", err)
	}
	e.closers = append(e.closers, e.WeChatPay.Close)

	if e.CardPSP, err = cardpsp.New(cardpsp.Config{
		KeyID: hmacs[CardPSP].KeyID, Secret: hmacs[CardPSP].Secret, NotifyURL: notifyURL(CardPSP), PayoutNotifyURL: notifyURL(CardPSP + "/payouts"),
		NotifyClient: cfg.NotifyClient, Faults: faults[CardPSP], Customs: e.Customs, Logger: cfg.Logger, Now: cfg.Now, RefundDelay: cfg.RefundDelay, PayoutDelay: cfg.PayoutDelay,
	}); err != nil {
		return nil, fmt.Errorf("sandbox env: card: %w", err)
	}
	e.closers = append(e.closers, e.CardPSP.Close)
	if e.FX, err = fx.New(fx.Config{KeyID: hmacs[FX].KeyID, Secret: hmacs[FX].Secret, Seed: cfg.Seed, Faults: faults[FX], Logger: cfg.Logger, Now: cfg.Now}); err != nil {
		return nil, fmt.Errorf("sandbox env: fx: %w", err)
	}
	e.closers = append(e.closers, e.FX.Close)

	appPEM, err := privatePEM(appKey)
	if err != nil {
		return nil, err
	}
	merchantPEM, err := privatePEM(merchantKey)
	if err != nil {
		return nil, err
	}
	e.alipay = AlipayCredentials{
		AppID: alipayAppID, AppPrivateKeyPEM: appPEM, GatewayPublicKeyPEM: string(e.Alipay.GatewayPublicKeyPEM()),
		GatewayURL: e.urls[Alipay] + "/gateway.do", SellerID: e.Alipay.SellerID(), NotifyURL: notifyURL(Alipay),
	}
	e.wechatpay = WeChatPayCredentials{
		MchID: wcfg.MchID, AppID: wcfg.AppID, MerchantPrivateKeyPEM: merchantPEM, MerchantSerialNo: merchantSerial,
		PlatformPublicKeyPEM: string(e.WeChatPay.PlatformPublicKeyPEM()), PlatformPublicKeyID: e.WeChatPay.PlatformPublicKeyID(),
		APIv3Key: e.WeChatPay.APIv3Key(), BaseURL: e.urls[WeChatPay], NotifyURL: notifyURL(WeChatPay),
	}

	handlers := map[string]http.Handler{
		Alipay: e.Alipay.Handler(), WeChatPay: e.WeChatPay.Handler(), Customs: e.Customs.Handler(),
		CardPSP: e.CardPSP.Handler(), FX: e.FX.Handler(),
	}
	for _, name := range Names() {
		srv := &http.Server{
			Handler:           handlers[name],
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.With("sandbox", name).Handler(), slog.LevelWarn),
		}
		e.servers = append(e.servers, srv)
		l := listeners[name]
		delete(listeners, name)
		go func() {
			if serr := srv.Serve(l); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
				e.log.Error("sandbox server stopped", "sandbox", name, "error", serr)
			}
		}()
	}
	if cfg.CredentialsDir != "" {
		if err := e.WriteCredentials(cfg.CredentialsDir); err != nil {
			return nil, err
		}
	}
	e.log.Info("sandboxes started", "alipay", e.urls[Alipay], "wechatpay", e.urls[WeChatPay], "customs", e.urls[Customs], "card", e.urls[CardPSP], "fx", e.urls[FX])
	return e, nil
}

// advertised is the host:port clients use to reach a listener: a wildcard
// address is reached on the loopback interface.
func advertised(host string, addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// generateKeys makes n 2048-bit RSA keys concurrently.
func generateKeys(ctx context.Context, n int) ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sandbox env: generate RSA keys: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox env: %w", err)
	}
	return keys, nil
}

func privatePEM(k *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("sandbox env: encode private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// BaseURL returns a sandbox's base URL ("http://127.0.0.1:9103"), "" for an unknown name.
func (e *Env) BaseURL(name string) string { return e.urls[name] }

// Faults returns a sandbox's fault injector, nil for an unknown name.
func (e *Env) Faults(name string) *fault.Injector { return e.faults[name] }

// AlipayCredentials returns what an Alipay adapter needs.
func (e *Env) AlipayCredentials() AlipayCredentials { return e.alipay }

// WeChatPayCredentials returns what a WeChat Pay adapter needs.
func (e *Env) WeChatPayCredentials() WeChatPayCredentials { return e.wechatpay }

// CustomsCredentials returns what the customs adapter needs.
func (e *Env) CustomsCredentials() HMACCredentials { return e.hmac[Customs] }

// CardPSPCredentials returns what the card PSP adapter needs.
func (e *Env) CardPSPCredentials() HMACCredentials { return e.hmac[CardPSP] }

// FXCredentials returns what the FX adapter needs.
func (e *Env) FXCredentials() HMACCredentials { return e.hmac[FX] }

// Pay makes the scripted buyer pay a trade at a provider. method is the
// provider's own: for Alipay "balance" (the default, or "huabei" when
// instalments is set), "huabei" or "card"; for WeChat Pay "balance" (the
// default) or "card"; for the card PSP a card number, "" or "card" for
// cardpsp.ApprovedCard and "decline" for cardpsp.DeclinedCard. instalments
// (Huabei 3, 6 or 12) is for Alipay only.
func (e *Env) Pay(ctx context.Context, provider providers.Name, outTradeNo, method string, instalments int) error {
	if instalments != 0 && provider != providers.Alipay {
		return fmt.Errorf("sandbox env: instalments are an Alipay (Huabei) option, not %s", provider)
	}
	switch provider {
	case providers.Alipay:
		if method == "" {
			method = "balance"
			if instalments != 0 {
				method = "huabei"
			}
		}
		return e.Alipay.Pay(ctx, outTradeNo, alipay.BuyerPayment{Method: method, Instalments: instalments})
	case providers.WeChatPay:
		if method == "" {
			method = "balance"
		}
		return e.WeChatPay.Pay(ctx, outTradeNo, wechatpay.BuyerPayment{Method: method})
	case providers.Card:
		card := method
		switch method {
		case "", "card":
			card = cardpsp.ApprovedCard
		case "decline":
			card = cardpsp.DeclinedCard
		}
		return e.CardPSP.Pay(ctx, outTradeNo, cardpsp.BuyerPayment{CardNumber: card})
	}
	return fmt.Errorf("sandbox env: unknown provider %q", provider)
}

// Close stops the HTTP servers (waiting up to five seconds for requests in
// flight) and then the sandboxes. It is safe to call more than once.
func (e *Env) Close() {
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range e.servers {
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		}
		for i := len(e.closers) - 1; i >= 0; i-- {
			e.closers[i]()
		}
		e.log.Info("sandboxes stopped")
	})
}
