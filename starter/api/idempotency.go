package api

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// IdempotencyKeyHeader is the request header naming an idempotency key.
const IdempotencyKeyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds an idempotency key's length.
const maxIdempotencyKey = 255

// Errors of IdempotencyStore.Begin.
var (
	// ErrIdempotencyMismatch means the key was used for a different request.
	ErrIdempotencyMismatch = errors.New("api: idempotency key used for a different request")
	// ErrIdempotencyInFlight means the key's first request has not finished.
	ErrIdempotencyInFlight = errors.New("api: idempotency key in use by a running request")
)

// StoredResponse is an answer kept for an idempotency key.
type StoredResponse struct {
	// Status is the HTTP status.
	Status int `json:"status"`
	// ContentType is the Content-Type header.
	ContentType string `json:"contentType"`
	// Body is the body.
	Body []byte `json:"body"`
}

// IdempotencyStore keeps the answers to requests sent with an Idempotency-Key,
// scoped by merchant (the key passed in is already scoped).
type IdempotencyStore interface {
	// Begin reserves key for a request with the given fingerprint. It returns
	// the stored answer when the key's request with the same fingerprint has
	// completed, ErrIdempotencyMismatch when the key was used with another
	// fingerprint, ErrIdempotencyInFlight while the first request runs, and
	// (nil, nil) when the caller now holds the reservation.
	Begin(ctx context.Context, key, fingerprint string) (*StoredResponse, error)
	// Complete stores the answer of the request holding the reservation.
	Complete(ctx context.Context, key string, resp StoredResponse) error
	// Abandon drops the reservation without an answer, so that a retry runs again.
	Abandon(ctx context.Context, key string) error
}

// MemoryIdempotencyStore is an IdempotencyStore in memory: bounded in size,
// entries expire after a TTL. Several API instances behind a load balancer
// need a shared store instead; order creation stays idempotent without one,
// as the merchant order number names the workflow.
type MemoryIdempotencyStore struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[string]*list.Element
	order   *list.List // of *idemEntry, oldest first
}

type idemEntry struct {
	key, fingerprint string
	resp             *StoredResponse
	expires          time.Time
}

var _ IdempotencyStore = (*MemoryIdempotencyStore)(nil)

// NewMemoryIdempotencyStore keeps at most max keys for ttl each.
func NewMemoryIdempotencyStore(ttl time.Duration, max int) *MemoryIdempotencyStore {
	return &MemoryIdempotencyStore{ttl: ttl, max: max, now: time.Now, entries: map[string]*list.Element{}, order: list.New()}
}

// evict drops expired entries and, beyond max, the oldest ones. Call with mu held.
func (s *MemoryIdempotencyStore) evict(now time.Time) {
	for e := s.order.Front(); e != nil; e = s.order.Front() {
		ent := e.Value.(*idemEntry)
		if now.Before(ent.expires) && s.order.Len() <= s.max {
			return
		}
		s.order.Remove(e)
		delete(s.entries, ent.key)
	}
}

// Begin implements IdempotencyStore.
func (s *MemoryIdempotencyStore) Begin(_ context.Context, key, fingerprint string) (*StoredResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.evict(now)
	if e, ok := s.entries[key]; ok {
		ent := e.Value.(*idemEntry)
		switch {
		case ent.fingerprint != fingerprint:
			return nil, ErrIdempotencyMismatch
		case ent.resp == nil:
			return nil, ErrIdempotencyInFlight
		}
		resp := *ent.resp
		return &resp, nil
	}
	s.entries[key] = s.order.PushBack(&idemEntry{key: key, fingerprint: fingerprint, expires: now.Add(s.ttl)})
	s.evict(now)
	return nil, nil
}

// Complete implements IdempotencyStore.
func (s *MemoryIdempotencyStore) Complete(_ context.Context, key string, resp StoredResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok {
		e.Value.(*idemEntry).resp = &resp
	}
	return nil
}

// Abandon implements IdempotencyStore.
func (s *MemoryIdempotencyStore) Abandon(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok && e.Value.(*idemEntry).resp == nil {
		s.order.Remove(e)
		delete(s.entries, key)
	}
	return nil
}

// bufferedWriter collects a handler's answer.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header returns the header map.
func (b *bufferedWriter) Header() http.Header { return b.header }

// WriteHeader records the first status.
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

// Write buffers the body.
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// fingerprint identifies a request: method, path and the body, canonicalised
// when it is JSON (so that key order and white space do not matter).
func fingerprint(r *http.Request, body []byte) string {
	if canon, ok := canonicalJSON(body); ok {
		body = canon
	}
	h := sha256.New()
	h.Write([]byte(r.Method + "\x00" + r.URL.Path + "\x00"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON re-encodes a JSON value with sorted keys and no white space.
func canonicalJSON(b []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	out, err := json.Marshal(v)
	return out, err == nil
}

// withIdempotencyKey runs h at most once per (merchant, Idempotency-Key):
// a repeat with the same request gets the first answer again (marked
// Idempotent-Replayed: true), a repeat with another request 409. Answers of
// 5xx and 429 are not kept, so that a retry runs again.
func (s *server) withIdempotencyKey(w http.ResponseWriter, r *http.Request, m Merchant, h handlerFunc) {
	key := r.Header.Get(IdempotencyKeyHeader)
	if len(key) > maxIdempotencyKey || !printableASCII(key) {
		writeProblem(w, problem(http.StatusBadRequest, CodeInvalidField, IdempotencyKeyHeader,
			"must be 1-%d printable ASCII characters", maxIdempotencyKey))
		return
	}
	body, p := readBody(w, r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
	scoped := m.ID + "\x00" + key
	stored, err := s.idem.Begin(r.Context(), scoped, fingerprint(r, body))
	switch {
	case errors.Is(err, ErrIdempotencyMismatch):
		writeProblem(w, problem(http.StatusConflict, CodeIdempotencyKeyReused, IdempotencyKeyHeader,
			"this Idempotency-Key was used for a different request"))
		return
	case errors.Is(err, ErrIdempotencyInFlight):
		writeProblem(w, problem(http.StatusConflict, CodeIdempotencyKeyInUse, IdempotencyKeyHeader,
			"the first request with this Idempotency-Key is still running; retry later"))
		return
	case err != nil:
		s.logger(r.Context()).Error("idempotency store failed", "err", err)
		writeProblem(w, problem(http.StatusServiceUnavailable, CodeUnavailable, "", "cannot check the Idempotency-Key now; retry"))
		return
	case stored != nil:
		w.Header().Set("Content-Type", stored.ContentType)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(stored.Status)
		_, _ = w.Write(stored.Body)
		return
	}
	finished := false
	defer func() {
		if !finished { // the handler panicked: let a retry run again
			_ = s.idem.Abandon(context.WithoutCancel(r.Context()), scoped)
		}
	}()
	buf := &bufferedWriter{header: w.Header()}
	h(s, buf, r, m)
	finished = true
	if buf.status == 0 {
		buf.status = http.StatusOK
	}
	if buf.status >= 500 || buf.status == http.StatusTooManyRequests {
		if err := s.idem.Abandon(context.WithoutCancel(r.Context()), scoped); err != nil {
			s.logger(r.Context()).Warn("idempotency store: abandon failed", "err", err)
		}
	} else {
		resp := StoredResponse{Status: buf.status, ContentType: buf.header.Get("Content-Type"), Body: buf.body.Bytes()}
		if err := s.idem.Complete(context.WithoutCancel(r.Context()), scoped, resp); err != nil {
			s.logger(r.Context()).Warn("idempotency store: complete failed", "err", err)
		}
	}
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}

// printableASCII reports a non-empty string of printable ASCII without spaces.
func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
