// Package api is the HTTP API of xhspay: the store API that merchants' backends
// call to create and drive orders (JSON over HTTP, API-key authentication),
// and the notification endpoints where payment providers and customs report
// asynchronously. Handlers start, update, signal and query the order
// workflows in Temporal; they keep no state of their own beyond short-lived
// caches (idempotency keys, recently seen notification ids).
//
// The routes are listed in openapi.yaml, embedded as OpenAPISpec.
package api

import (
	"context"
	_ "embed" // the OpenAPI document
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/customs"
	"github.com/xhspay/xhspay/workflows"
)

// OpenAPISpec is the OpenAPI 3 description of the routes New serves.
//
//go:embed openapi.yaml
var OpenAPISpec []byte

// NotificationParser verifies and decodes a payment provider's notification;
// the provider adapters (alipay, wechatpay, cardpsp) implement it.
type NotificationParser interface {
	// ParseNotification verifies and decodes the request; forged or malformed
	// notifications fail with a *providers.Error of type ErrTypeSignature or ErrTypeInvalidRequest.
	ParseNotification(ctx context.Context, r *http.Request) (providers.Notification, error)
}

// CustomsParser verifies and decodes a customs notification (clearance
// verdicts and return decisions); the customs adapter implements it.
type CustomsParser interface {
	// ParseNotification verifies and decodes the request.
	ParseNotification(ctx context.Context, r *http.Request) (customs.Event, error)
}

// OrderDefaults are the order settings the API puts into every new order;
// zero values leave the workflow's defaults.
type OrderDefaults struct {
	// PaymentExpiry is how long the buyer has to pay.
	PaymentExpiry time.Duration
	// AutoConfirmAfter is the escrow auto-confirm delay after shipment.
	AutoConfirmAfter time.Duration
	// MaxExtensions bounds the buyer's extensions of the deadline.
	MaxExtensions int
	// MaxExtensionTotal bounds the total extension.
	MaxExtensionTotal time.Duration
	// ClearanceTimeout is how long to wait for customs' verdict.
	ClearanceTimeout time.Duration
	// Polling holds the fallback polling intervals.
	Polling workflows.Polling
}

// Config configures the API.
type Config struct {
	// Temporal is the client the handlers use (required).
	Temporal client.Client
	// TaskQueue is the order workflows' task queue (required).
	TaskQueue string
	// Merchants authenticates API keys (required).
	Merchants MerchantStore
	// Notifiers verify payment notifications by provider; a provider without
	// one has no notification endpoint (404).
	Notifiers map[providers.Name]NotificationParser
	// Customs verifies customs notifications; nil disables /notify/customs.
	Customs CustomsParser
	// Payouts verifies the card PSP's payout notifications; nil disables /notify/card/payouts.
	Payouts PayoutParser
	// Finance reads the settlements, FX exposure and reconciliations; nil
	// answers their routes 404.
	Finance FinanceReader
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Metrics registers the API's metrics (xhspay_notify_total,
	// xhspay_api_requests_total, xhspay_api_request_duration_seconds); nil registers none.
	Metrics prometheus.Registerer
	// DataConverter decodes memos; it must match the Temporal client's (nil: the SDK default).
	DataConverter converter.DataConverter
	// Idempotency keeps Idempotency-Key answers; nil keeps them in memory for 24 hours.
	Idempotency IdempotencyStore
	// NotificationDedupTTL is how long a notification id is remembered (default 24h).
	NotificationDedupTTL time.Duration
	// NotificationDedupSize bounds the remembered notification ids (default 100000).
	NotificationDedupSize int
	// CreateTimeout bounds waiting for a new order's payment session (default 60s).
	CreateTimeout time.Duration
	// CallTimeout bounds every other Temporal call of a request (default 15s).
	CallTimeout time.Duration
	// Defaults are settings put into every new order.
	Defaults OrderDefaults
}

// Validate reports a missing required setting.
func (c Config) Validate() error {
	var errs []error
	if c.Temporal == nil {
		errs = append(errs, errors.New("api: Config.Temporal is required"))
	}
	if strings.TrimSpace(c.TaskQueue) == "" {
		errs = append(errs, errors.New("api: Config.TaskQueue is required"))
	}
	if c.Merchants == nil {
		errs = append(errs, errors.New("api: Config.Merchants is required"))
	}
	for name, p := range c.Notifiers {
		if !name.Valid() {
			errs = append(errs, fmt.Errorf("api: Config.Notifiers: unknown provider %q", name))
		}
		if p == nil {
			errs = append(errs, fmt.Errorf("api: Config.Notifiers[%s] is nil", name))
		}
	}
	return errors.Join(errs...)
}

// server holds the handlers' dependencies.
type server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	dc      converter.DataConverter
	idem    IdempotencyStore
	seen    *seenSet
	metrics *metrics
	mux     *http.ServeMux
}

// route is one endpoint of the API.
type route struct {
	method, path string
	// auth marks store API routes (Bearer key); notification routes verify signatures instead.
	auth    bool
	handler handlerFunc
}

// pattern is the route's ServeMux pattern.
func (rt route) pattern() string { return rt.method + " " + rt.path }

// routes lists every endpoint; the mux and the OpenAPI test both read it.
var routes = []route{
	{http.MethodPost, "/v1/orders", true, (*server).createOrder},
	{http.MethodGet, "/v1/orders", true, (*server).listOrders},
	{http.MethodGet, "/v1/orders/{id}", true, (*server).getOrder},
	{http.MethodPost, "/v1/orders/{id}/shipment", true, (*server).ship},
	{http.MethodPost, "/v1/orders/{id}/confirm-receipt", true, (*server).confirmReceipt},
	{http.MethodPost, "/v1/orders/{id}/extend-confirmation", true, (*server).extendConfirmation},
	{http.MethodPost, "/v1/orders/{id}/cancel", true, (*server).cancel},
	{http.MethodPost, "/v1/orders/{id}/refunds", true, (*server).requestRefund},
	{http.MethodGet, "/v1/orders/{id}/refunds/{refundNo}", true, (*server).getRefund},
	{http.MethodPost, "/v1/orders/{id}/refunds/{refundNo}/return-shipment", true, (*server).returnShipment},
	{http.MethodGet, "/v1/settlements", true, (*server).listSettlements},
	{http.MethodGet, "/v1/settlements/{id}", true, (*server).getSettlement},
	{http.MethodGet, "/v1/reports/fx-exposure", true, (*server).fxExposure},
	{http.MethodGet, "/v1/reconciliations/{date}", true, (*server).getReconciliation},
	{http.MethodPost, "/notify/customs", false, (*server).notifyCustoms},
	{http.MethodPost, "/notify/card/payouts", false, (*server).notifyPayout},
	{http.MethodPost, "/notify/{provider}/{orderId}", false, (*server).notifyPayment},
}

// New returns the API's handler. It panics when cfg is invalid (see
// Config.Validate), like http.ServeMux does on a bad pattern: that is a
// wiring bug, not a runtime condition.
func New(cfg Config) http.Handler {
	s := newServer(cfg)
	return s.observe(s.mux)
}

// newServer builds the server and its mux; New wraps it.
func newServer(cfg Config) *server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	s := &server{cfg: cfg, log: cfg.Logger, now: cfg.Now, dc: cfg.DataConverter, idem: cfg.Idempotency}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.dc == nil {
		s.dc = converter.GetDefaultDataConverter()
	}
	if s.idem == nil {
		s.idem = NewMemoryIdempotencyStore(24*time.Hour, 100_000)
	}
	if s.cfg.CreateTimeout <= 0 {
		s.cfg.CreateTimeout = 60 * time.Second
	}
	if s.cfg.CallTimeout <= 0 {
		s.cfg.CallTimeout = 15 * time.Second
	}
	ttl, size := cfg.NotificationDedupTTL, cfg.NotificationDedupSize
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if size <= 0 {
		size = 100_000
	}
	s.seen = newSeenSet(size, ttl, s.now)
	s.metrics = newMetrics(cfg.Metrics)

	s.mux = http.NewServeMux()
	for _, rt := range routes {
		h := rt.handler
		var handler http.Handler
		if rt.auth {
			handler = s.authenticated(h, rt.method == http.MethodPost)
		} else {
			handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(s, w, r, Merchant{}) })
		}
		s.mux.Handle(rt.pattern(), handler)
	}
	s.mux.HandleFunc("/", s.unmatched)
	return s
}

// unmatched answers a request no route takes: 405 naming the allowed methods
// when the path exists, else 404.
func (s *server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeProblem(w, problem(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "use %s", strings.Join(allowed, " or ")))
		return
	}
	writeProblem(w, problem(http.StatusNotFound, CodeNotFound, "", "no such endpoint"))
}

// requestIDPattern is what a caller-supplied X-Request-Id may look like.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// ctxKey keys the request's logger in its context.
type ctxKey struct{}

// logger returns the request's logger (carrying its request id).
func (s *server) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return s.log
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first status.
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe gives each request an id (X-Request-Id, taken from the caller when
// well-formed), a logger carrying it, an access log line and metrics.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		log := s.log.With("request_id", id)
		var merchantID string // set by authenticated, for the access log
		ctx := context.WithValue(r.Context(), ctxKey{}, log)
		r = r.WithContext(context.WithValue(ctx, merchantKey{}, &merchantID))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		pattern := r.Pattern
		if pattern == "" || pattern == "/" {
			pattern = "unmatched"
		}
		s.metrics.observeRequest(pattern, rec.status, elapsed)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "http request", "method", r.Method, "route", pattern,
			"status", rec.status, "duration_ms", elapsed.Milliseconds(), "merchant", merchantID)
	})
}

// merchantKey keys, in a request's context, where authenticated writes the
// merchant's id for the access log.
type merchantKey struct{}

// handlerFunc is a route's handler; m is the authenticated merchant (zero on
// the notification routes).
type handlerFunc func(s *server, w http.ResponseWriter, r *http.Request, m Merchant)

// authenticated checks the Bearer API key and passes the merchant on; with
// idempotent it also honours the Idempotency-Key header.
func (s *server) authenticated(h handlerFunc, idempotent bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xhspay"`)
			writeProblem(w, problem(http.StatusUnauthorized, CodeUnauthenticated, "", "send the API key as Authorization: Bearer <key>"))
			return
		}
		m, err := s.cfg.Merchants.Authenticate(r.Context(), strings.TrimSpace(key))
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				s.logger(r.Context()).Error("merchant store failed", "err", err)
				writeProblem(w, problem(http.StatusServiceUnavailable, CodeUnavailable, "", "cannot check the API key now; retry"))
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="xhspay", error="invalid_token"`)
			writeProblem(w, problem(http.StatusUnauthorized, CodeUnauthenticated, "", "unknown API key"))
			return
		}
		if slot, ok := r.Context().Value(merchantKey{}).(*string); ok {
			*slot = m.ID
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, s.logger(r.Context()).With("merchant", m.ID)))
		if idempotent && r.Header.Get(IdempotencyKeyHeader) != "" {
			s.withIdempotencyKey(w, r, m, h)
			return
		}
		h(s, w, r, m)
	})
}
