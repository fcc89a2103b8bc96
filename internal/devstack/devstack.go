package devstack

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/xhspay/xhspay/activities"
	xclient "github.com/xhspay/xhspay/client"
	"github.com/xhspay/xhspay/internal/app"
	"github.com/xhspay/xhspay/internal/codec"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/temporalserver"
	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/providerset"
	"github.com/xhspay/xhspay/sandbox"
	"github.com/xhspay/xhspay/starter/api"
)

// The demo merchants.
const (
	// MerchantAcme is ACME Outdoor, settled in USD.
	MerchantAcme = "acme"
	// MerchantLumiere is Lumière Paris, settled in EUR.
	MerchantLumiere = "lumiere"
)

// Customs settings of the demo platform.
const (
	// CustomsCode is the customs office orders are declared to.
	CustomsCode = "HANGZHOU"
	// PlatformCode is the demo platform's customs registration code.
	PlatformCode = "3301960XHS"
	// PlatformName is the demo platform's registered name.
	PlatformName = "xhspay demo store"
)

// Merchant is a demo merchant and its API key.
type Merchant struct {
	// ID is the merchant id (the middle of its order ids).
	ID string
	// Name is the display name.
	Name string
	// HomeCurrency is the currency it is settled in.
	HomeCurrency money.Currency
	// APIKey is its store API key.
	APIKey string
}

// demoMerchants are the merchants the stack serves, without keys.
func demoMerchants() []Merchant {
	return []Merchant{
		{ID: MerchantAcme, Name: "ACME Outdoor", HomeCurrency: money.USD},
		{ID: MerchantLumiere, Name: "Lumière Paris", HomeCurrency: money.EUR},
	}
}

// Config configures a stack. Either DataDir or InMemory must be set.
type Config struct {
	// Host is the address every listener binds (default 127.0.0.1).
	Host string
	// TemporalPort is the embedded Temporal frontend's port (0: a free one).
	TemporalPort int
	// UIPort is the Web UI's port (0: a free one; -1: no UI).
	UIPort int
	// APIPort is the store API's port (0: a free one).
	APIPort int
	// DataDir holds the Temporal database, the ledger and the demo secrets,
	// so that a later run on the same folder finds everything again.
	DataDir string
	// InMemory keeps every database in memory and generates fresh secrets.
	InMemory bool
	// TemporalAddress, when set, is an already running server to use instead
	// of starting one (for tests sharing one server); no Web UI is started.
	TemporalAddress string
	// Namespace is the Temporal namespace (default "default").
	Namespace string
	// TaskQueue is the orders' task queue (default app.DefaultTaskQueue).
	TaskQueue string
	// Logger logs (default slog.Default()).
	Logger *slog.Logger
	// Fast uses FastTimings unless Timings is set.
	Fast bool
	// Timings, when set, are the stack's timings (Fast is then ignored).
	Timings *Timings
	// CodecKeys is the payload encryption keyring; nil uses the one saved in
	// DataDir (generated on the first run) or, in memory, a new one.
	CodecKeys *codec.Keyring
	// LedgerDSN is the ledger database (default: sqlite:<DataDir>/ledger.db,
	// or sqlite::memory: with InMemory).
	LedgerDSN string
	// WorkerOptions are the SDK worker's options (WorkerStopTimeout defaults to 5s).
	WorkerOptions worker.Options
}

// Stack is a running stack. Close it to stop everything.
type Stack struct {
	// APIURL is the store API's base URL, e.g. "http://127.0.0.1:8080".
	APIURL string
	// UIURL is the Temporal Web UI's base URL, "" without a UI.
	UIURL string
	// FrontendAddress is the Temporal frontend's host:port.
	FrontendAddress string
	// Namespace is the Temporal namespace.
	Namespace string
	// TaskQueue is the orders' task queue.
	TaskQueue string
	// Temporal is the stack's Temporal client (with the payload codec).
	Temporal client.Client
	// Codec is the payload codec of every client of the stack.
	Codec *codec.Codec
	// Sandbox is the provider sandboxes: scripted buyers, customs controls, fault injection.
	Sandbox *sandbox.Env
	// Ledger is the ledger database.
	Ledger *ledger.Ledger
	// Metrics is the registry /metrics serves (SDK, API and process metrics).
	Metrics *metrics.Registry
	// Merchants are the demo merchants with their API keys.
	Merchants []Merchant
	// Timings are the stack's timings.
	Timings Timings

	log       *slog.Logger
	server    *temporalserver.Server
	worker    worker.Worker
	http      *http.Server
	served    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Start starts, in order, the Temporal server and Web UI (unless
// TemporalAddress names one), the sandboxes, the worker and the API, and
// returns once all of them serve. On failure everything started is stopped.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Stack{
		Namespace: cfg.Namespace,
		TaskQueue: cfg.TaskQueue,
		Metrics:   metrics.NewRegistry(),
		Timings:   *cfg.Timings,
		log:       cfg.Logger,
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()

	merchantIDs := make([]string, 0, 2)
	for _, m := range demoMerchants() {
		merchantIDs = append(merchantIDs, m.ID)
	}
	var sec secrets
	if cfg.InMemory {
		sec, err = generateSecrets(merchantIDs)
	} else {
		if err = os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("devstack: data dir: %w", err)
		}
		sec, err = loadSecrets(cfg.DataDir, merchantIDs)
	}
	if err != nil {
		return nil, err
	}
	ring := cfg.CodecKeys
	if ring == nil {
		r, err := codec.ParseKeyring(sec.CodecKeys)
		if err != nil {
			return nil, fmt.Errorf("devstack: demo keyring: %w", err)
		}
		ring = &r
	}
	if s.Codec, err = codec.New(*ring); err != nil {
		return nil, err
	}
	hashKey, err := hex.DecodeString(sec.BuyerHashKey)
	if err != nil {
		return nil, fmt.Errorf("devstack: buyer hash key: %w", err)
	}
	for _, m := range demoMerchants() {
		m.APIKey = sec.APIKeys[m.ID]
		s.Merchants = append(s.Merchants, m)
	}

	// The API's address must be known before the Web UI (its codec
	// endpoint) and the sandboxes (their notification URLs) start.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.APIPort)))
	if err != nil {
		return nil, fmt.Errorf("devstack: API listener: %w", err)
	}
	s.APIURL = "http://" + advertised(cfg.Host, ln.Addr())
	s.http = &http.Server{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 75 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(cfg.Logger.With("component", "api").Handler(), slog.LevelWarn)}
	listening := ln
	defer func() {
		if listening != nil {
			_ = listening.Close()
		}
	}()

	if err := s.startTemporal(ctx, cfg); err != nil {
		return nil, err
	}
	if err := s.openLedger(ctx, cfg); err != nil {
		return nil, err
	}
	t := s.Timings
	if s.Sandbox, err = sandbox.Start(ctx, sandbox.EnvConfig{
		Host: cfg.Host, NotifyBaseURL: s.APIURL + "/notify/",
		ClearanceDelay: t.ClearanceDelay, RefundDelay: t.RefundDelay, PayoutDelay: t.PayoutDelay, NotifyRetry: t.NotifyRetry,
		Logger: cfg.Logger,
	}); err != nil {
		return nil, fmt.Errorf("devstack: sandboxes: %w", err)
	}
	provs, err := providerset.Build(ctx, s.Sandbox.Credentials(), providerset.Options{Logger: cfg.Logger.With("component", "providers")})
	if err != nil {
		return nil, fmt.Errorf("devstack: providers: %w", err)
	}
	if err := s.startWorker(cfg, provs, hashKey); err != nil {
		return nil, err
	}
	handler, err := s.handler(cfg, provs)
	if err != nil {
		return nil, err
	}
	s.http.Handler = handler
	s.served = make(chan struct{})
	listening = nil
	go func() {
		defer close(s.served)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("API server stopped", "err", err)
		}
	}()
	s.log.Info("stack started", "api", s.APIURL, "ui", s.UIURL, "temporal", s.FrontendAddress,
		"namespace", s.Namespace, "taskQueue", s.TaskQueue)
	return s, nil
}

// check rejects contradictory settings.
func (cfg Config) check() error {
	switch {
	case cfg.DataDir == "" && !cfg.InMemory:
		return errors.New("devstack: Config.DataDir is required unless Config.InMemory is set")
	case cfg.DataDir != "" && cfg.InMemory:
		return errors.New("devstack: Config.DataDir and Config.InMemory exclude each other")
	}
	for name, p := range map[string]int{"TemporalPort": cfg.TemporalPort, "APIPort": cfg.APIPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("devstack: Config.%s %d is not a port", name, p)
		}
	}
	if cfg.UIPort < temporalserver.UIDisabled || cfg.UIPort > 65535 {
		return fmt.Errorf("devstack: Config.UIPort %d must be a port, 0 or -1", cfg.UIPort)
	}
	return nil
}

// withDefaults fills in the defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Host == "" {
		cfg.Host = temporalserver.DefaultHost
	}
	if cfg.Namespace == "" {
		cfg.Namespace = temporalserver.DefaultNamespace
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = app.DefaultTaskQueue
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timings == nil {
		t := Timings{}
		if cfg.Fast {
			t = FastTimings()
		}
		cfg.Timings = &t
	}
	if cfg.LedgerDSN == "" {
		cfg.LedgerDSN = "sqlite::memory:"
		if !cfg.InMemory {
			cfg.LedgerDSN = "sqlite:" + filepath.Join(cfg.DataDir, "ledger.db")
		}
	}
	if cfg.WorkerOptions.WorkerStopTimeout == 0 {
		cfg.WorkerOptions.WorkerStopTimeout = 5 * time.Second
	}
	return cfg
}

// startTemporal starts the embedded server (or takes the configured one) and
// dials the stack's client.
func (s *Stack) startTemporal(ctx context.Context, cfg Config) error {
	s.FrontendAddress = cfg.TemporalAddress
	if s.FrontendAddress == "" {
		opts := temporalserver.Options{
			Host: cfg.Host, Port: cfg.TemporalPort, UIPort: cfg.UIPort, Namespace: cfg.Namespace,
			Logger: cfg.Logger.With("component", "temporal"), CodecEndpoint: s.APIURL + "/codec",
		}
		if !cfg.InMemory {
			opts.DBFile = filepath.Join(cfg.DataDir, "temporal.db")
		}
		srv, err := temporalserver.Start(ctx, opts)
		if err != nil {
			return fmt.Errorf("devstack: Temporal server: %w", err)
		}
		s.server = srv
		s.FrontendAddress = srv.FrontendAddress()
		if ui := srv.UIAddress(); ui != "" {
			s.UIURL = "http://" + ui
		}
	}
	opts := client.Options{
		HostPort: s.FrontendAddress, Namespace: s.Namespace,
		Logger: sdklog.NewStructuredLogger(cfg.Logger.With("component", "temporal-client")),
	}
	app.ClientOptions(s.Metrics, s.Codec)(&opts)
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("devstack: connect to Temporal at %s: %w", s.FrontendAddress, err)
	}
	s.Temporal = c
	return nil
}

// openLedger opens the ledger database.
func (s *Stack) openLedger(ctx context.Context, cfg Config) error {
	l, err := ledger.Open(ctx, cfg.LedgerDSN)
	if err != nil {
		return fmt.Errorf("devstack: ledger: %w", err)
	}
	s.Ledger = l
	return nil
}

// startWorker starts the worker with the sandboxes' adapters.
func (s *Stack) startWorker(cfg Config, provs *providerset.Set, hashKey []byte) error {
	w, err := app.NewWorker(app.WorkerConfig{
		Client: s.Temporal, TaskQueue: s.TaskQueue, Providers: provs, PublicBaseURL: s.APIURL,
		CustomsCode: CustomsCode, PlatformCode: PlatformCode, PlatformName: PlatformName,
		BuyerHashKey: hashKey, Ledger: s.Ledger, Options: cfg.WorkerOptions, Logger: cfg.Logger.With("component", "worker"),
	})
	if err != nil {
		return fmt.Errorf("devstack: worker: %w", err)
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("devstack: start worker: %w", err)
	}
	s.worker = w
	return nil
}

// handler builds the API's routes: the store API and notification endpoints,
// /metrics, /healthz and the codec server under /codec/.
func (s *Stack) handler(cfg Config, provs *providerset.Set) (http.Handler, error) {
	var merchants []api.Merchant
	for _, m := range s.Merchants {
		merchants = append(merchants, api.Merchant{ID: m.ID, Name: m.Name, HomeCurrency: m.HomeCurrency,
			KeyHashes: []string{api.HashAPIKey(m.APIKey)}, CustomsPlatformCode: PlatformCode, CustomsPlatformName: PlatformName})
	}
	store, err := api.NewMemoryMerchantStore(merchants...)
	if err != nil {
		return nil, fmt.Errorf("devstack: merchants: %w", err)
	}
	t := s.Timings
	apiCfg := api.Config{
		Temporal: s.Temporal, TaskQueue: s.TaskQueue, Merchants: store,
		Notifiers: map[providers.Name]api.NotificationParser{
			providers.Alipay: provs.Alipay, providers.WeChatPay: provs.WeChatPay, providers.Card: provs.Card,
		},
		Customs: provs.Customs, Payouts: provs.Card, Finance: &activities.FinanceReports{Ledger: s.Ledger, Rates: provs.FX},
		Logger: cfg.Logger.With("component", "api"), Metrics: s.Metrics,
		DataConverter: s.Codec.DataConverter(),
		Defaults:      api.OrderDefaults{PaymentExpiry: t.PaymentExpiry, Polling: t.Polling},
	}
	if err := apiCfg.Validate(); err != nil {
		return nil, err
	}
	origins := []string{}
	if s.UIURL != "" {
		origins = append(origins, s.UIURL)
		if u, err := url.Parse(s.UIURL); err == nil && u.Hostname() == "127.0.0.1" {
			origins = append(origins, "http://localhost:"+u.Port())
		}
	}
	codecHandler, err := codec.NewHandler(codec.ServerOptions{
		Codec: s.Codec, Namespaces: []string{s.Namespace}, AllowedOrigins: origins,
		// The local Web UI has no login and sends no token: loopback callers may decode.
		LoopbackAnonymous: codec.AccessDecode,
		Logger:            cfg.Logger.With("component", "codec-server"),
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", api.New(apiCfg))
	mux.Handle("GET /metrics", metrics.Handler(s.Metrics))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("/codec/", http.StripPrefix("/codec", codecHandler))
	return mux, nil
}

// healthz answers 200 while Temporal answers, 503 otherwise.
func (s *Stack) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"unavailable","temporal":"unreachable"}` + "\n"))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// advertised is the host:port other processes dial to reach a listener.
func advertised(host string, addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Merchant returns the demo merchant with the id.
func (s *Stack) Merchant(id string) (Merchant, bool) {
	for _, m := range s.Merchants {
		if m.ID == id {
			return m, true
		}
	}
	return Merchant{}, false
}

// Client returns a store API client authenticated as the merchant; an
// unknown merchant gets a client with no valid key (every call answers 401).
func (s *Stack) Client(merchant string) *xclient.Client {
	m, _ := s.Merchant(merchant)
	return xclient.New(s.APIURL, m.APIKey, xclient.WithUserAgent("xhspay-devstack"))
}

// WorkflowsURL returns the Web UI's workflow list filtered by a visibility
// query (e.g. `WorkflowId="order-acme-1"` or `OrderState="Expired"`), or ""
// without a UI.
func (s *Stack) WorkflowsURL(query string) string {
	if s.UIURL == "" {
		return ""
	}
	u := s.UIURL + "/namespaces/" + url.PathEscape(s.Namespace) + "/workflows"
	if query != "" {
		u += "?query=" + url.QueryEscape(query)
	}
	return u
}

// Close stops the API, the worker, the sandboxes, the ledger, the client and
// the server, in that order. Later calls return the first call's result.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.served != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.http.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("devstack: stop API: %w", err))
				_ = s.http.Close()
			}
			cancel()
			<-s.served
		}
		if s.worker != nil {
			s.worker.Stop()
		}
		if s.Sandbox != nil {
			s.Sandbox.Close()
		}
		if s.Ledger != nil {
			if err := s.Ledger.Close(); err != nil {
				errs = append(errs, fmt.Errorf("devstack: close ledger: %w", err))
			}
		}
		if s.Temporal != nil {
			s.Temporal.Close()
		}
		if s.server != nil {
			if err := s.server.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
		s.closeErr = errors.Join(errs...)
		s.log.Info("stack stopped")
	})
	return s.closeErr
}
