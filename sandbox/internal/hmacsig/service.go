package hmacsig

import (
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/xhspay/xhspay/sandbox/fault"
)

// Codes maps a sandbox's error codes to the HTTP statuses it answers them with.
type Codes map[string]int

// commonCodes are the statuses of the codes every HMAC sandbox answers with.
var commonCodes = Codes{
	CodeInvalidRequest:     http.StatusBadRequest,
	CodeKeyUnknown:         http.StatusUnauthorized,
	CodeSignatureInvalid:   http.StatusUnauthorized,
	CodeTimestampExpired:   http.StatusUnauthorized,
	CodeRouteNotFound:      http.StatusNotFound,
	CodeRateLimited:        http.StatusTooManyRequests,
	CodeSystemError:        http.StatusInternalServerError,
	CodeServiceUnavailable: http.StatusServiceUnavailable,
}

// WithCommonCodes returns a sandbox's own codes together with the codes every
// HMAC sandbox answers with.
func WithCommonCodes(own Codes) Codes {
	out := maps.Clone(commonCodes)
	maps.Copy(out, own)
	return out
}

// Status returns the HTTP status of a code; a code not in the table is 500 and false.
func (c Codes) Status(code string) (int, bool) {
	s, ok := c[code]
	if !ok {
		return http.StatusInternalServerError, false
	}
	return s, true
}

// defaultSweepInterval is how often a sweeper runs when no interval is set.
const defaultSweepInterval = 50 * time.Millisecond

// Config configures a Service.
type Config struct {
	// Name names the sandbox in errors ("<Name> sandbox: ...") and logs ("sandbox"=Name).
	Name string
	// KeyID and Secret are the account's HMAC credentials (required).
	KeyID, Secret string
	// Codes is the sandbox's error-code table (see WithCommonCodes).
	Codes Codes
	// Faults injects failures; nil injects none.
	Faults *fault.Injector
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
	// Now is the business clock; nil is time.Now. Signatures always use real time.
	Now func() time.Time
	// NotifyClient sends notifications; nil uses a client with a 10-second timeout.
	NotifyClient *http.Client
}

// Service is what the HMAC sandboxes share: the account's signer, the signed
// endpoints with fault injection and the error-code table, the notifier, the
// business clock, the logger and an optional background sweeper.
type Service struct {
	// Signer signs and verifies with the account's key.
	Signer Signer
	// Log is the sandbox's logger.
	Log *slog.Logger
	// Now is the business clock.
	Now func() time.Time

	faults   *fault.Injector
	codes    Codes
	notifier *Notifier

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New checks the credentials and returns a Service; Close releases it.
func New(cfg Config) (*Service, error) {
	if cfg.KeyID == "" || cfg.Secret == "" {
		return nil, errors.New(cfg.Name + " sandbox: KeyID and Secret are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		Signer: Signer{KeyID: cfg.KeyID, Secret: cfg.Secret},
		Log:    cfg.Logger.With("sandbox", cfg.Name),
		Now:    cfg.Now,
		faults: cfg.Faults,
		codes:  cfg.Codes,
	}
	s.notifier = NewNotifier(s.Signer, cfg.NotifyClient, cfg.Faults, s.Log)
	return s, nil
}

// StartSweeper calls sweep every interval (50ms when not positive) in the
// background until Close. Call it at most once, before the Service is shared.
func (s *Service) StartSweeper(interval time.Duration, sweep func()) {
	if interval <= 0 {
		interval = defaultSweepInterval
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				sweep()
			}
		}
	}()
}

// Close stops the sweeper and pending notification retries; later calls do nothing.
func (s *Service) Close() {
	s.once.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		s.notifier.Close()
	})
}

// Notify sends v to notifyURL as a signed notification (none when the URL is empty).
func (s *Service) Notify(notifyURL string, v any) { s.notifier.Send(notifyURL, v) }

// Fail answers r with err at the HTTP status of its code (500 for a code not in the table).
func (s *Service) Fail(w http.ResponseWriter, r *http.Request, err *APIError) {
	status, _ := s.codes.Status(err.Code)
	s.Signer.WriteError(w, r, status, err.Code, err.Message)
}

// reply answers r with v, or with err when it is not nil.
func (s *Service) reply(w http.ResponseWriter, r *http.Request, v any, err *APIError) {
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	s.Signer.WriteJSON(w, r, http.StatusOK, v)
}

// Handler is a signed endpoint: it gets the verified request body.
type Handler func(w http.ResponseWriter, r *http.Request, body []byte)

// Endpoint wraps h for a route registered on a ServeMux: it applies the fault
// rule named by the route pattern (e.g. "POST /psp/v1/refunds"), answering a
// business-error rule with that code at its HTTP status, then verifies the
// request's signature.
func (s *Service) Endpoint(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rule, handled := s.faults.Intercept(r.Pattern, w, r); handled {
			return
		} else if rule.BusinessError != "" {
			s.Fail(w, r, &APIError{Code: rule.BusinessError, Message: "injected fault"})
			return
		}
		body, aerr := s.Signer.ReadRequest(r)
		if aerr != nil {
			s.Signer.WriteError(w, r, http.StatusUnauthorized, aerr.Code, aerr.Message)
			return
		}
		h(w, r, body)
	}
}

// NewMux returns a ServeMux that answers requests to no endpoint with
// ROUTE_NOT_FOUND and serves the fault injector's control API at
// /sandbox/faults; the sandbox registers its own routes on it.
func (s *Service) NewMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.Fail(w, r, Errorf(CodeRouteNotFound, "%s %s is not an endpoint", r.Method, r.URL.Path))
	})
	mux.Handle("/sandbox/faults", s.faults.Handler())
	return mux
}

// Call serves a signed endpoint that reads no body: it answers with call's
// result or error.
func Call[R any](s *Service, call func(r *http.Request) (R, *APIError)) http.HandlerFunc {
	return s.Endpoint(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		v, err := call(r)
		s.reply(w, r, v, err)
	})
}

// ByPath serves a signed endpoint that reads no body: call gets the route's
// path value name, and its result or error is the answer.
func ByPath[R any](s *Service, name string, call func(string) (R, *APIError)) http.HandlerFunc {
	return Call(s, func(r *http.Request) (R, *APIError) { return call(r.PathValue(name)) })
}

// WithBody serves a signed endpoint whose body is a JSON T: a malformed body
// is answered INVALID_REQUEST, a well-formed one with call's result or error.
func WithBody[T, R any](s *Service, call func(r *http.Request, req T) (R, *APIError)) http.HandlerFunc {
	return s.Endpoint(func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req T
		if err := DecodeJSON(body, &req); err != nil {
			s.Fail(w, r, Invalid("%v", err))
			return
		}
		v, aerr := call(r, req)
		s.reply(w, r, v, aerr)
	})
}

// JSON is WithBody for a call that needs only the decoded body.
func JSON[T, R any](s *Service, call func(req T) (R, *APIError)) http.HandlerFunc {
	return WithBody(s, func(_ *http.Request, req T) (R, *APIError) { return call(req) })
}

// OrDefault maps a configured duration: zero to def, negative to zero.
func OrDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
