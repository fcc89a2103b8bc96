package alipay

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
)

// cst is China Standard Time: Alipay reads and writes every time in it.
var cst = time.FixedZone("CST", 8*3600)

// wireTime is the layout of times on Alipay's wire.
const wireTime = "2006-01-02 15:04:05"

// Alipay product codes.
const (
	productFaceToFace = "FACE_TO_FACE_PAYMENT"
	productPagePay    = "FAST_INSTANT_TRADE_PAY"
)

const (
	defaultHoldDays = 90
	maxAmountFen    = 100_000_000_00
)

var (
	outTradeNoRE   = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	outRequestNoRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	declareNoRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{6,64}$`)
	idNumberRE     = regexp.MustCompile(`^[0-9]{17}[0-9Xx]$`)
)

// Config configures the Alipay adapter. Choose public-key mode
// (AlipayPublicKeyPEM) or certificate mode (AppCertPEM, RootCertPEM and AlipayCertPEM).
type Config struct {
	// AppID is the application's app_id.
	AppID string
	// AppPrivateKeyPEM is the application's RSA private key (PKCS #1 or PKCS #8 PEM) that signs requests.
	AppPrivateKeyPEM string
	// AlipayPublicKeyPEM is Alipay's public key (PKIX "PUBLIC KEY" PEM): public-key mode.
	AlipayPublicKeyPEM string
	// AppCertPEM is the application's public-key certificate: certificate mode.
	AppCertPEM string
	// RootCertPEM is Alipay's root certificate bundle: certificate mode.
	RootCertPEM string
	// AlipayCertPEM is Alipay's public-key certificate: certificate mode.
	AlipayCertPEM string
	// GatewayURL is the gateway (…/gateway.do). Empty uses Alipay's production
	// gateway when Production is set, else Alipay's own developer sandbox.
	GatewayURL string
	// NotifyURL receives notifications when a PaymentRequest names none.
	NotifyURL string
	// HTTPClient makes the calls; nil uses a client with a 30 s timeout.
	HTTPClient *http.Client
	// Production selects Alipay's production behaviour (gateway default, certificate download).
	Production bool
	// HoldDays is the delayed-settlement period (settle_period_time) of trades
	// created with Hold: Alipay settles them by itself when it ends. 1-365; 0 means 90.
	HoldDays int
	// Logger logs classified failures at debug level; nil uses slog.Default().
	Logger *slog.Logger
}

// Adapter implements the payment, escrow and customs-declaration ports on
// Alipay's open platform through the smartwalle/alipay SDK.
type Adapter struct {
	client *sdk.Client
	cfg    Config
	log    *slog.Logger
}

var (
	_ providers.PaymentProvider = (*Adapter)(nil)
	_ providers.EscrowHolder    = (*Adapter)(nil)
	_ providers.CustomsDeclarer = (*Adapter)(nil)
)

// New builds the adapter, loading the keys (or certificates) once.
func New(cfg Config) (*Adapter, error) {
	if cfg.AppID == "" {
		return nil, errors.New("alipay: Config.AppID is required")
	}
	if cfg.AppPrivateKeyPEM == "" {
		return nil, errors.New("alipay: Config.AppPrivateKeyPEM is required")
	}
	certMode := cfg.AppCertPEM != "" || cfg.RootCertPEM != "" || cfg.AlipayCertPEM != ""
	switch {
	case certMode && (cfg.AppCertPEM == "" || cfg.RootCertPEM == "" || cfg.AlipayCertPEM == ""):
		return nil, errors.New("alipay: certificate mode needs Config.AppCertPEM, RootCertPEM and AlipayCertPEM together")
	case certMode && cfg.AlipayPublicKeyPEM != "":
		return nil, errors.New("alipay: set Config.AlipayPublicKeyPEM (public-key mode) or the certificates (certificate mode), not both")
	case !certMode && cfg.AlipayPublicKeyPEM == "":
		return nil, errors.New("alipay: Config.AlipayPublicKeyPEM is required in public-key mode")
	}
	if cfg.HoldDays < 0 || cfg.HoldDays > 365 {
		return nil, fmt.Errorf("alipay: Config.HoldDays must be 1-365 (0 for %d), got %d", defaultHoldDays, cfg.HoldDays)
	}
	if cfg.HoldDays == 0 {
		cfg.HoldDays = defaultHoldDays
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	opts := []sdk.OptionFunc{sdk.WithTimeLocation(cst), sdk.WithHTTPClient(hc)}
	if cfg.GatewayURL != "" {
		u, err := url.Parse(cfg.GatewayURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("alipay: Config.GatewayURL must be an absolute http(s) URL, got %q", cfg.GatewayURL)
		}
		opts = append(opts, sdk.WithProductionGateway(cfg.GatewayURL), sdk.WithSandboxGateway(cfg.GatewayURL))
	}
	client, err := sdk.New(cfg.AppID, cfg.AppPrivateKeyPEM, cfg.Production, opts...)
	if err != nil {
		return nil, fmt.Errorf("alipay: Config.AppPrivateKeyPEM is not an RSA private key in PKCS #1 or PKCS #8 PEM: %w", err)
	}
	if certMode {
		if err := client.LoadAppCertPublicKey(cfg.AppCertPEM); err != nil {
			return nil, fmt.Errorf("alipay: Config.AppCertPEM: %w", err)
		}
		if !hasCertificate(cfg.RootCertPEM) {
			return nil, errors.New("alipay: Config.RootCertPEM holds no certificate")
		}
		if err := client.LoadAliPayRootCert(cfg.RootCertPEM); err != nil {
			return nil, fmt.Errorf("alipay: Config.RootCertPEM: %w", err)
		}
		if err := client.LoadAlipayCertPublicKey(cfg.AlipayCertPEM); err != nil {
			return nil, fmt.Errorf("alipay: Config.AlipayCertPEM: %w", err)
		}
	} else if err := client.LoadAliPayPublicKey(cfg.AlipayPublicKeyPEM); err != nil {
		return nil, fmt.Errorf("alipay: Config.AlipayPublicKeyPEM is not a PKIX RSA public key PEM: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Adapter{client: client, cfg: cfg, log: log.With("provider", providerName)}, nil
}

// hasCertificate reports whether s holds at least one PEM certificate.
func hasCertificate(s string) bool {
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(block.Bytes); err == nil {
				return true
			}
		}
	}
}

// Name identifies the provider.
func (a *Adapter) Name() providers.Name { return providers.Alipay }

// fail logs a classified failure and returns it.
func (a *Adapter) fail(err error) error {
	a.log.Debug("alipay call failed", "error", err)
	return err
}

// cnyText returns an amount as Alipay's yuan text, refusing anything that is
// not a positive whole number of fen in CNY within Alipay's limit.
func cnyText(op, field string, amt money.Amount) (string, error) {
	if amt.Currency() != money.CNY {
		return "", invalidRequest(op, field, fmt.Sprintf("must be in CNY, got %q", amt.Currency()))
	}
	f, err := amt.MinorUnits()
	if err != nil {
		return "", invalidRequest(op, field, "must be a whole number of fen: "+err.Error())
	}
	if f < 1 || f > maxAmountFen {
		return "", invalidRequest(op, field, "must be between 0.01 and 100000000.00 CNY, got "+amt.String())
	}
	return amt.Number(), nil
}

// parseCNY reads a yuan amount from a response.
func parseCNY(s string) (money.Amount, error) { return money.Parse(s, money.CNY) }

// parseWireTime reads an Alipay time ("2006-01-02 15:04:05", optionally with
// milliseconds); "" is the zero time.
func parseWireTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, cst); err == nil {
		return t, nil
	}
	return time.ParseInLocation(wireTime, s, cst)
}

// tradeStatuses maps Alipay's trade_status to ours.
var tradeStatuses = map[sdk.TradeStatus]providers.PaymentStatus{
	sdk.TradeStatusWaitBuyerPay: providers.PaymentPending,
	sdk.TradeStatusSuccess:      providers.PaymentPaid,
	sdk.TradeStatusClosed:       providers.PaymentClosed,
	sdk.TradeStatusFinished:     providers.PaymentFinished,
}

// buildTrade validates a payment request into the SDK's common trade fields.
func (a *Adapter) buildTrade(op string, req providers.PaymentRequest) (sdk.Trade, error) {
	var t sdk.Trade
	if !outTradeNoRE.MatchString(req.OutTradeNo) {
		return t, invalidRequest(op, "OutTradeNo", "1-64 letters, digits or underscores")
	}
	if req.Subject == "" || utf8.RuneCountInString(req.Subject) > 256 {
		return t, invalidRequest(op, "Subject", "required, at most 256 characters")
	}
	if strings.ContainsAny(req.Subject, "/=&") {
		return t, invalidRequest(op, "Subject", "must not contain '/', '=' or '&' (Alipay forbids them in subject)")
	}
	amount, err := cnyText(op, "Amount", req.Amount)
	if err != nil {
		return t, err
	}
	t.OutTradeNo = req.OutTradeNo
	t.Subject = req.Subject
	t.TotalAmount = amount
	t.GoodsType = "1" // physical goods; Huabei is refused for virtual goods
	t.NotifyURL = req.NotifyURL
	if t.NotifyURL == "" {
		t.NotifyURL = a.cfg.NotifyURL
	}
	if !req.ExpireAt.IsZero() {
		t.TimeExpire = req.ExpireAt.In(cst).Format(wireTime)
	}
	if in := req.Instalments; in != nil {
		switch in.Count {
		case 3, 6, 12:
		default:
			return t, invalidRequest(op, "Instalments.Count", fmt.Sprintf("Huabei hb_fq_num must be 3, 6 or 12, got %d", in.Count))
		}
		var pct string
		switch in.FeeBearer {
		case providers.FeeBuyer:
			pct = "0"
		case providers.FeeSeller:
			pct = "100"
		default:
			return t, invalidRequest(op, "Instalments.FeeBearer", fmt.Sprintf("must be %q or %q, got %q", providers.FeeBuyer, providers.FeeSeller, in.FeeBearer))
		}
		t.ExtendParams = &sdk.ExtendParams{HBFQNum: strconv.Itoa(in.Count), HBFQSellerPercent: pct}
	}
	if req.Hold {
		// Delayed settlement: the paid funds wait in Alipay until
		// alipay.trade.settle.confirm (ReleaseFunds) or the period's end.
		t.SettleInfo = &sdk.SettleInfo{
			SettleDetailInfos: []*sdk.SettleDetailInfo{{TransInType: "defaultSettle", Amount: amount}},
			SettlePeriodTime:  strconv.Itoa(a.cfg.HoldDays) + "d",
		}
	}
	if req.Payer.Name != "" || req.Payer.IDNumber != "" {
		if req.Payer.Name == "" || !idNumberRE.MatchString(req.Payer.IDNumber) {
			return t, invalidRequest(op, "Payer", "needs both the real name and an 18-character resident ID number")
		}
		// Alipay refuses the payment unless the payer is this person: customs
		// requires the payer to be the buyer.
		t.ExtUserInfo = &sdk.ExtUserInfo{Name: req.Payer.Name, CertType: "IDENTITY_CARD", CertNo: req.Payer.IDNumber, NeedCheckInfo: "T"}
	}
	return t, nil
}

// CreatePayment creates the trade: SceneQR precreates it (alipay.trade.precreate)
// and returns the qr_code; ScenePage returns the signed alipay.trade.page.pay
// URL on the gateway (the trade exists at Alipay once the buyer opens it).
func (a *Adapter) CreatePayment(ctx context.Context, req providers.PaymentRequest) (providers.PaymentSession, error) {
	const op = "create"
	t, err := a.buildTrade(op, req)
	if err != nil {
		return providers.PaymentSession{}, err
	}
	switch req.Scene {
	case providers.SceneQR:
		t.ProductCode = productFaceToFace
		rsp, err := a.client.TradePreCreate(ctx, sdk.TradePreCreate{Trade: t})
		if err != nil {
			return providers.PaymentSession{}, a.fail(callError(op, err))
		}
		if !rsp.Code.IsSuccess() {
			return providers.PaymentSession{}, a.fail(businessError(op, rsp.Error))
		}
		if rsp.QRCode == "" {
			return providers.PaymentSession{}, a.fail(badResponse(op, "no qr_code", nil))
		}
		return providers.PaymentSession{OutTradeNo: req.OutTradeNo, QRCode: rsp.QRCode}, nil
	case providers.ScenePage:
		t.ProductCode = productPagePay
		u, err := a.client.TradePagePay(sdk.TradePagePay{Trade: t})
		if err != nil {
			return providers.PaymentSession{}, a.fail(providers.NewError(providerName, op, providers.ErrTypeSignature, "", "cannot sign the page-pay URL", err))
		}
		return providers.PaymentSession{OutTradeNo: req.OutTradeNo, PayURL: u.String()}, nil
	default:
		return providers.PaymentSession{}, invalidRequest(op, "Scene", fmt.Sprintf("must be %q or %q for Alipay, got %q", providers.SceneQR, providers.ScenePage, req.Scene))
	}
}

// QueryPayment queries the trade (alipay.trade.query). Alipay answers
// ACQ.TRADE_NOT_EXIST for a trade that does not exist yet — including a
// precreated one nobody scanned — which is PaymentNotFound, not an error.
func (a *Adapter) QueryPayment(ctx context.Context, outTradeNo string) (providers.Payment, error) {
	const op = "query"
	if !outTradeNoRE.MatchString(outTradeNo) {
		return providers.Payment{}, invalidRequest(op, "outTradeNo", "1-64 letters, digits or underscores")
	}
	rsp, err := a.client.TradeQuery(ctx, sdk.TradeQuery{OutTradeNo: outTradeNo})
	if err != nil {
		return providers.Payment{}, a.fail(callError(op, err))
	}
	if !rsp.Code.IsSuccess() {
		if rsp.SubCode == "ACQ.TRADE_NOT_EXIST" {
			return providers.Payment{OutTradeNo: outTradeNo, Status: providers.PaymentNotFound}, nil
		}
		return providers.Payment{}, a.fail(businessError(op, rsp.Error))
	}
	return paymentFromQuery(op, outTradeNo, rsp)
}

// paymentFromQuery reads a successful alipay.trade.query answer.
func paymentFromQuery(op, outTradeNo string, rsp *sdk.TradeQueryRsp) (providers.Payment, error) {
	status, ok := tradeStatuses[rsp.TradeStatus]
	if !ok {
		return providers.Payment{}, badResponse(op, fmt.Sprintf("unknown trade_status %q", rsp.TradeStatus), nil)
	}
	amount, err := parseCNY(rsp.TotalAmount)
	if err != nil {
		return providers.Payment{}, badResponse(op, "total_amount", err)
	}
	p := providers.Payment{OutTradeNo: outTradeNo, TransactionID: rsp.TradeNo, Status: status, Amount: amount, PayerAccount: rsp.BuyerLogonId}
	if status == providers.PaymentPaid || status == providers.PaymentFinished || rsp.SendPayDate != "" {
		if p.PaidAt, err = parseWireTime(rsp.SendPayDate); err != nil {
			return providers.Payment{}, badResponse(op, "send_pay_date", err)
		}
	}
	if rsp.HBFQPayInfo != nil && rsp.HBFQPayInfo.UserInstallNum != "" {
		if p.Instalments, err = strconv.Atoi(rsp.HBFQPayInfo.UserInstallNum); err != nil {
			return providers.Payment{}, badResponse(op, "hb_fq_pay_info.user_install_num", err)
		}
	}
	return p, nil
}

// ClosePayment closes an unpaid trade (alipay.trade.close). An unknown trade
// (a precreated QR code nobody scanned) and an already closed one are success.
// A paid trade fails with ErrTypeTradePaid: Alipay answers ACQ.TRADE_STATUS_ERROR
// for any trade not waiting for payment, so the adapter queries to tell paid from closed.
//
// Closing a QR trade nobody scanned does not void the code at Alipay: it stays
// payable until time_expire, so a late payment must be caught by query or notification.
func (a *Adapter) ClosePayment(ctx context.Context, outTradeNo string) error {
	const op = "close"
	if !outTradeNoRE.MatchString(outTradeNo) {
		return invalidRequest(op, "outTradeNo", "1-64 letters, digits or underscores")
	}
	rsp, err := a.client.TradeClose(ctx, sdk.TradeClose{OutTradeNo: outTradeNo})
	if err != nil {
		return a.fail(callError(op, err))
	}
	if rsp.Code.IsSuccess() {
		return nil
	}
	switch rsp.SubCode {
	case "ACQ.TRADE_NOT_EXIST", "ACQ.TRADE_HAS_CLOSE":
		a.log.Debug("alipay close: nothing to close", "out_trade_no", outTradeNo, "sub_code", rsp.SubCode)
		return nil
	case "ACQ.TRADE_HAS_SUCCESS", "ACQ.TRADE_HAS_FINISHED":
		return a.fail(providers.NewError(providerName, op, providers.ErrTypeTradePaid, rsp.SubCode, rsp.SubMsg, nil))
	case "ACQ.TRADE_STATUS_ERROR", "ACQ.REASON_TRADE_STATUS_INVALID", "ACQ.REASON_ILLEGAL_STATUS":
		p, err := a.QueryPayment(ctx, outTradeNo)
		if err != nil {
			return err
		}
		switch p.Status {
		case providers.PaymentClosed, providers.PaymentNotFound:
			return nil
		case providers.PaymentPaid, providers.PaymentFinished, providers.PaymentRefunded:
			return a.fail(providers.NewError(providerName, op, providers.ErrTypeTradePaid, rsp.SubCode, "trade is "+string(p.Status), nil))
		}
		return a.fail(providers.NewError(providerName, op, providers.ErrTypeUnavailable, rsp.SubCode, "close refused while the trade is "+string(p.Status), nil))
	}
	return a.fail(businessError(op, rsp.Error))
}

// Refund refunds part or all of a paid trade (alipay.trade.refund, with
// out_request_no = OutRefundNo). Alipay refunds synchronously: fund_change Y is
// a succeeded refund. A repeated OutRefundNo answers fund_change N; the
// adapter then confirms the refund with alipay.trade.fastpay.refund.query.
func (a *Adapter) Refund(ctx context.Context, req providers.RefundRequest) (providers.Refund, error) {
	const op = "refund"
	if !outTradeNoRE.MatchString(req.OutTradeNo) {
		return providers.Refund{}, invalidRequest(op, "OutTradeNo", "1-64 letters, digits or underscores")
	}
	if !outRequestNoRE.MatchString(req.OutRefundNo) {
		return providers.Refund{}, invalidRequest(op, "OutRefundNo", "1-64 letters, digits, '_' or '-'")
	}
	amount, err := cnyText(op, "Amount", req.Amount)
	if err != nil {
		return providers.Refund{}, err
	}
	if utf8.RuneCountInString(req.Reason) > 256 {
		return providers.Refund{}, invalidRequest(op, "Reason", "at most 256 characters")
	}
	// The SDK's typed answer lacks gmt_refund_pay: decode it alongside.
	var rsp refundRsp
	err = a.client.Request(ctx, sdk.TradeRefund{
		OutTradeNo: req.OutTradeNo, TradeNo: req.TransactionID, RefundAmount: amount,
		RefundReason: req.Reason, OutRequestNo: req.OutRefundNo,
	}, &rsp)
	if err != nil {
		return providers.Refund{}, a.fail(callError(op, err))
	}
	if !rsp.Code.IsSuccess() {
		return providers.Refund{}, a.fail(businessError(op, rsp.Error))
	}
	if rsp.FundChange != "Y" {
		r, err := a.QueryRefund(ctx, req.OutTradeNo, req.OutRefundNo)
		if err != nil {
			return providers.Refund{}, err
		}
		if r.Status == providers.RefundSucceeded {
			return r, nil
		}
		return providers.Refund{OutTradeNo: req.OutTradeNo, OutRefundNo: req.OutRefundNo, Status: providers.RefundProcessing, Amount: req.Amount}, nil
	}
	refunded, err := parseWireTime(rsp.GMTRefundPay)
	if err != nil {
		return providers.Refund{}, a.fail(badResponse(op, "gmt_refund_pay", err))
	}
	return providers.Refund{OutTradeNo: req.OutTradeNo, OutRefundNo: req.OutRefundNo,
		Status: providers.RefundSucceeded, Amount: req.Amount, RefundedAt: refunded}, nil
}

// refundRsp is the alipay.trade.refund answer with the refund time.
type refundRsp struct {
	sdk.TradeRefundRsp
	// GMTRefundPay is when the refund was paid out.
	GMTRefundPay string `json:"gmt_refund_pay"`
}

// QueryRefund returns a refund's state (alipay.trade.fastpay.refund.query).
// Alipay answers an unknown refund with a success lacking refund_status: RefundNotFound.
func (a *Adapter) QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (providers.Refund, error) {
	const op = "query_refund"
	if !outTradeNoRE.MatchString(outTradeNo) {
		return providers.Refund{}, invalidRequest(op, "outTradeNo", "1-64 letters, digits or underscores")
	}
	if !outRequestNoRE.MatchString(outRefundNo) {
		return providers.Refund{}, invalidRequest(op, "outRefundNo", "1-64 letters, digits, '_' or '-'")
	}
	rsp, err := a.client.TradeFastPayRefundQuery(ctx, sdk.TradeFastPayRefundQuery{
		OutTradeNo: outTradeNo, OutRequestNo: outRefundNo, QueryOptions: []string{"gmt_refund_pay"},
	})
	if err != nil {
		return providers.Refund{}, a.fail(callError(op, err))
	}
	r := providers.Refund{OutTradeNo: outTradeNo, OutRefundNo: outRefundNo}
	if !rsp.Code.IsSuccess() {
		if rsp.SubCode == "ACQ.TRADE_NOT_EXIST" {
			r.Status = providers.RefundNotFound
			return r, nil
		}
		return providers.Refund{}, a.fail(businessError(op, rsp.Error))
	}
	switch rsp.RefundStatus {
	case "REFUND_SUCCESS":
		r.Status = providers.RefundSucceeded
	case "REFUND_PROCESSING":
		r.Status = providers.RefundProcessing
	case "REFUND_FAIL":
		r.Status = providers.RefundFailed
	case "":
		r.Status = providers.RefundNotFound
		return r, nil
	default:
		return providers.Refund{}, a.fail(badResponse(op, fmt.Sprintf("unknown refund_status %q", rsp.RefundStatus), nil))
	}
	if r.Amount, err = parseCNY(rsp.RefundAmount); err != nil {
		return providers.Refund{}, a.fail(badResponse(op, "refund_amount", err))
	}
	if r.Status == providers.RefundSucceeded {
		if r.RefundedAt, err = parseWireTime(rsp.GMTRefundPay); err != nil {
			return providers.Refund{}, a.fail(badResponse(op, "gmt_refund_pay", err))
		}
	}
	return r, nil
}
