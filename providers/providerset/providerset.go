// Package providerset builds every provider adapter from a credentials.Set:
// the payment providers (Alipay, WeChat Pay, the card PSP), their customs
// declarers and escrow holders, customs clearance, payouts and the FX feed.
// The worker, the API and the demo share it, so each process talks to the
// providers the same way.
package providerset

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/alipay"
	"github.com/xhspay/xhspay/providers/cardpsp"
	"github.com/xhspay/xhspay/providers/credentials"
	"github.com/xhspay/xhspay/providers/customs"
	"github.com/xhspay/xhspay/providers/fx"
	"github.com/xhspay/xhspay/providers/wechatpay"
)

// Set is every adapter, built once per process.
type Set struct {
	// Alipay is the Alipay adapter.
	Alipay *alipay.Adapter
	// WeChatPay is the WeChat Pay adapter.
	WeChatPay *wechatpay.Adapter
	// Card is the card PSP adapter (payments and payouts).
	Card *cardpsp.Client
	// Customs is the customs clearance adapter.
	Customs *customs.Client
	// FX is the FX rate feed adapter.
	FX *fx.Client
}

// Options tune how the adapters call out.
type Options struct {
	// HTTPClient makes every provider call; nil uses a client with a 30 s timeout.
	HTTPClient *http.Client
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
}

// Build creates every adapter from creds.
func Build(ctx context.Context, creds credentials.Set, opts Options) (*Set, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var s Set
	var err error
	if s.Alipay, err = alipay.New(alipay.Config{
		AppID:              creds.Alipay.AppID,
		AppPrivateKeyPEM:   creds.Alipay.AppPrivateKeyPEM,
		AlipayPublicKeyPEM: creds.Alipay.GatewayPublicKeyPEM,
		GatewayURL:         creds.Alipay.GatewayURL,
		NotifyURL:          creds.Alipay.NotifyURL,
		HTTPClient:         opts.HTTPClient,
		Production:         true,
		Logger:             opts.Logger,
	}); err != nil {
		return nil, fmt.Errorf("providerset: alipay: %w", err)
	}
	if s.WeChatPay, err = wechatpay.New(ctx, wechatpay.Config{
		MchID:                 creds.WeChatPay.MchID,
		AppID:                 creds.WeChatPay.AppID,
		MerchantPrivateKeyPEM: creds.WeChatPay.MerchantPrivateKeyPEM,
		MerchantSerialNo:      creds.WeChatPay.MerchantSerialNo,
		PlatformPublicKeyPEM:  creds.WeChatPay.PlatformPublicKeyPEM,
		PlatformPublicKeyID:   creds.WeChatPay.PlatformPublicKeyID,
		APIv3Key:              creds.WeChatPay.APIv3Key,
		BaseURL:               creds.WeChatPay.BaseURL,
		NotifyURL:             creds.WeChatPay.NotifyURL,
		HTTPClient:            opts.HTTPClient,
		Logger:                opts.Logger,
	}); err != nil {
		return nil, fmt.Errorf("providerset: wechatpay: %w", err)
	}
	if s.Card, err = cardpsp.New(cardpsp.Config{
		BaseURL: creds.CardPSP.BaseURL, KeyID: creds.CardPSP.KeyID, Secret: creds.CardPSP.Secret,
		HTTPClient: opts.HTTPClient, Logger: opts.Logger,
	}); err != nil {
		return nil, fmt.Errorf("providerset: card: %w", err)
	}
	if s.Customs, err = customs.New(customs.Config{
		BaseURL: creds.Customs.BaseURL, KeyID: creds.Customs.KeyID, Secret: creds.Customs.Secret,
		HTTPClient: opts.HTTPClient, Logger: opts.Logger,
	}); err != nil {
		return nil, fmt.Errorf("providerset: customs: %w", err)
	}
	if s.FX, err = fx.New(fx.Config{
		BaseURL: creds.FX.BaseURL, KeyID: creds.FX.KeyID, Secret: creds.FX.Secret,
		HTTPClient: opts.HTTPClient, Logger: opts.Logger,
	}); err != nil {
		return nil, fmt.Errorf("providerset: fx: %w", err)
	}
	return &s, nil
}

// Payments returns the payment providers by name.
func (s *Set) Payments() map[providers.Name]providers.PaymentProvider {
	return map[providers.Name]providers.PaymentProvider{
		providers.Alipay: s.Alipay, providers.WeChatPay: s.WeChatPay, providers.Card: s.Card,
	}
}

// Bills returns the providers whose daily trade bills can be downloaded, by name.
func (s *Set) Bills() map[providers.Name]providers.BillSource {
	return map[providers.Name]providers.BillSource{providers.Alipay: s.Alipay, providers.WeChatPay: s.WeChatPay}
}

// Declarers returns each payment provider's customs declarer by name.
func (s *Set) Declarers() map[providers.Name]providers.CustomsDeclarer {
	return map[providers.Name]providers.CustomsDeclarer{
		providers.Alipay: s.Alipay, providers.WeChatPay: s.WeChatPay, providers.Card: s.Card,
	}
}
