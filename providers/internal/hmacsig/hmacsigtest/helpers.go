package hmacsigtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
)

// Clock is a settable business clock for a sandbox under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sandbox is a provider sandbox as the adapter tests run it.
type Sandbox interface {
	// Handler serves the sandbox's API.
	Handler() http.Handler
	// Close stops the sandbox.
	Close()
}

// Start starts a sandbox with newFn(cfg), closes it when the test ends and
// serves it through a Tap; it returns the sandbox, the tap and the server's
// base URL.
func Start[Cfg any, S Sandbox](t testing.TB, newFn func(Cfg) (S, error), cfg Cfg) (S, *Tap, string) {
	t.Helper()
	sb, err := newFn(cfg)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	tap := New(sb.Handler())
	srv := httptest.NewServer(tap)
	t.Cleanup(srv.Close)
	return sb, tap, srv.URL
}

// NotifyServer serves, for the test's duration, a notification endpoint that
// parses every request with parse and sends what it returns to events,
// answering 204; a request parse refuses is answered 400 with the error. It
// returns the server's base URL.
func NotifyServer[E any](t testing.TB, parse func(*http.Request) (E, error), events chan<- E) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := parse(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		events <- ev
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Build returns newFn(cfg) after mod (when not nil) has changed cfg, failing
// the test on an error.
func Build[Cfg, C any](t testing.TB, newFn func(Cfg) (C, error), cfg Cfg, mod func(*Cfg)) C {
	t.Helper()
	if mod != nil {
		mod(&cfg)
	}
	c, err := newFn(cfg)
	require.NoError(t, err)
	return c
}

// Sign computes a protocol signature independently of both the adapters' and
// the sandboxes' implementations: the hex HMAC-SHA256 under secret of
// timestamp + "\n" + method + "\n" + path + "\n" + body.
func Sign(secret, timestamp, method, path string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "\n" + method + "\n" + path + "\n"))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Notification returns a POST to target carrying body, signed with keyID and
// secret at time at over signedPath (target itself for a genuine one).
func Notification(target string, body []byte, keyID, secret string, at time.Time, signedPath string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	ts := strconv.FormatInt(at.Unix(), 10)
	r.Header.Set("X-Xhs-Key-Id", keyID)
	r.Header.Set("X-Xhs-Timestamp", ts)
	r.Header.Set("X-Xhs-Signature", Sign(secret, ts, http.MethodPost, signedPath, body))
	return r
}

// commonTypes are the types of the codes every HMAC provider answers with.
var commonTypes = map[string]providers.ErrorType{
	"INVALID_REQUEST":     providers.ErrTypeInvalidRequest,
	"AUTH_KEY_UNKNOWN":    providers.ErrTypeAuth,
	"SIGNATURE_INVALID":   providers.ErrTypeSignature,
	"TIMESTAMP_EXPIRED":   providers.ErrTypeSignature,
	"ROUTE_NOT_FOUND":     providers.ErrTypeInvalidRequest,
	"RATE_LIMITED":        providers.ErrTypeRateLimited,
	"SYSTEM_ERROR":        providers.ErrTypeUnavailable,
	"SERVICE_UNAVAILABLE": providers.ErrTypeUnavailable,
}

// CheckClassify checks that classify types every code a sandbox answers with
// (codes, with their HTTP statuses) as expected: the codes every HMAC
// provider answers with as this package knows them, the provider's own ones
// as own says. Each code must have an expectation and each expectation a code,
// and exactly the codes answered 429 or 5xx must be retryable.
func CheckClassify(t *testing.T, codes map[string]int, own map[string]providers.ErrorType, classify func(status int, code string) providers.ErrorType) {
	t.Helper()
	want := maps.Clone(commonTypes)
	for code, typ := range own {
		_, common := want[code]
		require.False(t, common, "%s is a common code, expected here already", code)
		want[code] = typ
	}
	require.Len(t, want, len(codes), "every code the sandbox answers is classified here")
	for code, status := range codes {
		t.Run(code, func(t *testing.T) {
			exp, ok := want[code]
			require.True(t, ok, "code %s missing from the table", code)
			assert.Equal(t, exp, classify(status, code))
			assert.Equal(t, exp.Retryable(), status == 429 || status >= 500, "retryable exactly for 429 and 5xx")
		})
	}
}
