// Package hmacsig is the provider side of the HMAC-signed JSON protocol the
// customs, card PSP and FX sandboxes speak: it verifies signed requests, signs
// responses and sends signed notifications with retries. It is written apart
// from the adapters' client code on purpose, so that adapter tests against the
// sandboxes check one implementation against another.
//
// The signature is the lower-case hex HMAC-SHA256 under the shared secret of
// timestamp + "\n" + method + "\n" + path + "\n" + body, carried with the key id
// and the timestamp (Unix seconds, ±5 minutes) in the X-Xhs-Key-Id,
// X-Xhs-Timestamp and X-Xhs-Signature headers. A response is signed over the
// request's method and target; a notification over POST and the notify URL's
// path and query.
package hmacsig

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/xhspay/xhspay/sandbox/fault"
)

// Protocol headers.
const (
	headerKeyID     = "X-Xhs-Key-Id"
	headerTimestamp = "X-Xhs-Timestamp"
	headerSignature = "X-Xhs-Signature"
)

// Codes every HMAC sandbox answers with when a request fails authentication.
const (
	// CodeKeyUnknown means the X-Xhs-Key-Id is not a key of this account.
	CodeKeyUnknown = "AUTH_KEY_UNKNOWN"
	// CodeSignatureInvalid means a missing or wrong signature.
	CodeSignatureInvalid = "SIGNATURE_INVALID"
	// CodeTimestampExpired means the timestamp is more than five minutes off.
	CodeTimestampExpired = "TIMESTAMP_EXPIRED"
)

// skew is how far a request's timestamp may be from the sandbox's clock.
const skew = 5 * time.Minute

// maxRequest bounds a request body.
const maxRequest = 1 << 20

// Signer holds one account's key and signs and verifies messages with it.
// Signatures always use the real clock, whatever business clock a sandbox runs.
type Signer struct {
	// KeyID names the key.
	KeyID string
	// Secret is the shared secret.
	Secret string
}

// Sum returns the hex signature of a message.
func (s Signer) Sum(timestamp, method, path string, body []byte) string {
	h := hmac.New(sha256.New, []byte(s.Secret))
	fmt.Fprintf(h, "%s\n%s\n%s\n", timestamp, method, path)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// APIError is a refused API call: the code and message to answer with.
type APIError struct {
	// Code is the provider's error code.
	Code string
	// Message explains it.
	Message string
}

// Error formats the failure.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an APIError with a formatted message.
func Errorf(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ReadRequest reads a request's body and checks its signature.
func (s Signer) ReadRequest(r *http.Request) ([]byte, *APIError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		return nil, &APIError{CodeSignatureInvalid, "request body unreadable: " + err.Error()}
	}
	kid, ts, sig := r.Header.Get(headerKeyID), r.Header.Get(headerTimestamp), r.Header.Get(headerSignature)
	switch {
	case kid == "" || ts == "" || sig == "":
		return nil, &APIError{CodeSignatureInvalid, "headers " + headerKeyID + ", " + headerTimestamp + " and " + headerSignature + " are required"}
	case kid != s.KeyID:
		return nil, &APIError{CodeKeyUnknown, fmt.Sprintf("key %q is not known", kid)}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, &APIError{CodeTimestampExpired, fmt.Sprintf("%s %q must be Unix seconds", headerTimestamp, ts)}
	}
	if d := time.Since(time.Unix(sec, 0)); d > skew || d < -skew {
		return nil, &APIError{CodeTimestampExpired, fmt.Sprintf("%s is %s away from server time, more than %s", headerTimestamp, d.Round(time.Second), skew)}
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.raw(ts, r.Method, r.RequestURI, body)) {
		return nil, &APIError{CodeSignatureInvalid, "signature does not match " + r.Method + " " + r.RequestURI}
	}
	return body, nil
}

func (s Signer) raw(timestamp, method, path string, body []byte) []byte {
	b, _ := hex.DecodeString(s.Sum(timestamp, method, path, body))
	return b
}

// WriteJSON answers r with v as a signed JSON body.
func (s Signer) WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"code":"SYSTEM_ERROR","message":"encode response"}`)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(headerKeyID, s.KeyID)
	h.Set(headerTimestamp, ts)
	h.Set(headerSignature, s.Sum(ts, r.Method, r.RequestURI, body))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ErrorBody is the protocol's error answer.
type ErrorBody struct {
	// Code is the provider's error code.
	Code string `json:"code"`
	// Message explains it.
	Message string `json:"message"`
}

// Replier returns a function answering r with a result, or with an error at
// the HTTP status statusOf gives its code (500 for a code it does not know).
func (s Signer) Replier(w http.ResponseWriter, r *http.Request, statusOf func(string) (int, bool)) func(any, *APIError) {
	return func(v any, err *APIError) {
		if err != nil {
			s.Fail(w, r, statusOf, err)
			return
		}
		s.WriteJSON(w, r, http.StatusOK, v)
	}
}

// Fail answers r with err at the HTTP status statusOf gives its code (500 for a code it does not know).
func (s Signer) Fail(w http.ResponseWriter, r *http.Request, statusOf func(string) (int, bool), err *APIError) {
	status, ok := statusOf(err.Code)
	if !ok {
		status = http.StatusInternalServerError
	}
	s.WriteError(w, r, status, err.Code, err.Message)
}

// WriteError answers r with a signed error.
func (s Signer) WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	s.WriteJSON(w, r, status, ErrorBody{Code: code, Message: message})
}

// Notifier sends signed JSON notifications through a fault injector, retrying
// each until the receiver answers 2xx, the attempts run out or it is closed.
type Notifier struct {
	signer  Signer
	client  *http.Client
	faults  *fault.Injector
	log     *slog.Logger
	backoff []time.Duration
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup
}

// defaultBackoff is the wait before each retry of an unacknowledged
// notification, like a provider's schedule compressed for a sandbox.
var defaultBackoff = []time.Duration{
	200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second,
	10 * time.Second, 15 * time.Second, 30 * time.Second, 30 * time.Second, 60 * time.Second,
}

// NewNotifier returns a notifier; a nil client gets a 10-second timeout.
func NewNotifier(s Signer, client *http.Client, faults *fault.Injector, log *slog.Logger) *Notifier {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{signer: s, client: client, faults: faults, log: log, backoff: defaultBackoff, ctx: ctx, cancel: cancel}
}

// Send delivers v to notifyURL as a signed POST; it returns at once.
func (n *Notifier) Send(notifyURL string, v any) {
	if notifyURL == "" {
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		n.log.Error("encode notification", "url", notifyURL, "error", err)
		return
	}
	u, err := url.Parse(notifyURL)
	if err != nil {
		n.log.Error("bad notify URL", "url", notifyURL, "error", err)
		return
	}
	target := u.RequestURI()
	n.faults.Deliver(func() {
		if !n.begin() {
			return
		}
		defer n.wg.Done()
		n.deliver(notifyURL, target, body)
	})
}

// begin counts a delivery in flight, unless the notifier is closed.
func (n *Notifier) begin() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	return true
}

func (n *Notifier) deliver(notifyURL, target string, body []byte) {
	for attempt := 0; ; attempt++ {
		if n.post(notifyURL, target, body) {
			return
		}
		if attempt >= len(n.backoff) {
			n.log.Warn("notification abandoned", "url", notifyURL, "attempts", attempt+1)
			return
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(n.backoff[attempt]):
		}
	}
}

func (n *Notifier) post(notifyURL, target string, body []byte) bool {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, notifyURL, bytes.NewReader(body))
	if err != nil {
		n.log.Error("build notification", "url", notifyURL, "error", err)
		return true
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerKeyID, n.signer.KeyID)
	req.Header.Set(headerTimestamp, ts)
	req.Header.Set(headerSignature, n.signer.Sum(ts, http.MethodPost, target, body))
	resp, err := n.client.Do(req)
	if err != nil {
		n.log.Debug("notification not delivered", "url", notifyURL, "error", err)
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		n.log.Debug("notification refused", "url", notifyURL, "status", resp.StatusCode)
		return false
	}
	return true
}

// Close stops retrying and waits for deliveries in flight.
func (n *Notifier) Close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
}

// NewID returns a random identifier with a prefix, such as "ntf_3f9a…".
func NewID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Handler is a signed endpoint: it gets the verified request body.
type Handler func(w http.ResponseWriter, r *http.Request, body []byte)

// Endpoint wraps h for a route registered on a ServeMux: it applies the fault
// rule named by the route pattern (e.g. "POST /psp/v1/refunds"), answering a
// business-error rule with that code and the HTTP status statusOf gives it
// (500 for a code it does not know), then verifies the request's signature.
func (s Signer) Endpoint(faults *fault.Injector, statusOf func(code string) (int, bool), h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rule, handled := faults.Intercept(r.Pattern, w, r); handled {
			return
		} else if rule.BusinessError != "" {
			s.Fail(w, r, statusOf, &APIError{Code: rule.BusinessError, Message: "injected fault"})
			return
		}
		body, aerr := s.ReadRequest(r)
		if aerr != nil {
			s.WriteError(w, r, http.StatusUnauthorized, aerr.Code, aerr.Message)
			return
		}
		h(w, r, body)
	}
}

// DecodeJSON decodes a request body strictly (unknown fields refused) into v.
func DecodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed JSON body: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("malformed JSON body: trailing data")
	}
	return nil
}
