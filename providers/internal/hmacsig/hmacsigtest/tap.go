// Package hmacsigtest helps the HMAC adapters' tests: it watches and tampers
// with the traffic between an adapter and a provider sandbox, serves the
// sandbox and a notification endpoint, keeps a settable clock, signs
// notifications independently of both implementations, and checks an
// adapter's classification of every code a sandbox answers with.
package hmacsigtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Tap wraps a provider handler: it records the code of the last error answer
// and can rewrite response bodies in flight (keeping the provider's headers,
// signature included).
type Tap struct {
	next http.Handler

	mu       sync.Mutex
	lastCode string
	tamper   func([]byte) []byte
}

// New wraps next.
func New(next http.Handler) *Tap { return &Tap{next: next} }

// SetTamper installs a body rewrite for the responses that follow; nil removes it.
func (t *Tap) SetTamper(f func([]byte) []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tamper = f
}

// LastCode returns the "code" of the last non-2xx answer, "" if none since the last call.
func (t *Tap) LastCode() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.lastCode
	t.lastCode = ""
	return c
}

// ServeHTTP passes the request on and relays (possibly rewritten) the answer.
func (t *Tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	t.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	t.mu.Lock()
	if rec.Code < 200 || rec.Code > 299 {
		var e struct{ Code string }
		_ = json.Unmarshal(body, &e)
		t.lastCode = e.Code
	}
	if t.tamper != nil {
		body = t.tamper(body)
	}
	t.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}
