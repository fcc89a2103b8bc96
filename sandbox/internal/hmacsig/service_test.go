package hmacsig

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/sandbox/fault"
)

func TestWithCommonCodes(t *testing.T) {
	codes := WithCommonCodes(Codes{"THING_GONE": http.StatusGone, CodeRateLimited: http.StatusServiceUnavailable})
	for code, want := range map[string]int{
		CodeInvalidRequest:     http.StatusBadRequest,
		CodeKeyUnknown:         http.StatusUnauthorized,
		CodeSignatureInvalid:   http.StatusUnauthorized,
		CodeTimestampExpired:   http.StatusUnauthorized,
		CodeRouteNotFound:      http.StatusNotFound,
		CodeSystemError:        http.StatusInternalServerError,
		CodeServiceUnavailable: http.StatusServiceUnavailable,
		CodeRateLimited:        http.StatusServiceUnavailable, // the sandbox's own status wins
		"THING_GONE":           http.StatusGone,
	} {
		got, ok := codes.Status(code)
		assert.True(t, ok, code)
		assert.Equal(t, want, got, code)
	}
	assert.Len(t, codes, 9)
	got, ok := codes.Status("NO_SUCH_CODE")
	assert.False(t, ok)
	assert.Equal(t, http.StatusInternalServerError, got)
	assert.Equal(t, http.StatusTooManyRequests, commonCodes[CodeRateLimited], "the common table is not changed")
}

func TestOrDefault(t *testing.T) {
	assert.Equal(t, time.Minute, OrDefault(0, time.Minute))
	assert.Equal(t, time.Duration(0), OrDefault(-time.Second, time.Minute))
	assert.Equal(t, time.Second, OrDefault(time.Second, time.Minute))
}

func TestNewRequiresCredentials(t *testing.T) {
	_, err := New(Config{Name: "test", KeyID: "k"})
	require.EqualError(t, err, "test sandbox: KeyID and Secret are required")
	_, err = New(Config{Name: "test", Secret: "s"})
	require.Error(t, err)
}

func TestDecodeJSONAndDecodeControl(t *testing.T) {
	var v struct{ A int }
	require.NoError(t, DecodeJSON([]byte(`{"A":1}`), &v))
	assert.Equal(t, 1, v.A)
	assert.ErrorContains(t, DecodeJSON([]byte(`{"A":1,"B":2}`), &v), "malformed JSON body")
	assert.ErrorContains(t, DecodeJSON([]byte(`{"A":1} {"A":2}`), &v), "trailing data")

	control := func(body string) error {
		r := httptest.NewRequest(http.MethodPost, "/sandbox/x", strings.NewReader(body))
		return DecodeControl(httptest.NewRecorder(), r, &v)
	}
	require.NoError(t, control(`{"A":3}`))
	assert.Equal(t, 3, v.A)
	assert.ErrorContains(t, control(`{"B":1}`), "malformed JSON body")
	assert.ErrorContains(t, control(`{"A":`), "malformed JSON body")
}

// thing is what the test endpoints answer with.
type thing struct {
	ID string `json:"id"`
}

func TestServiceEndpoints(t *testing.T) {
	faults := fault.New()
	svc, err := New(Config{
		Name: "test", KeyID: "k", Secret: "s", Codes: WithCommonCodes(Codes{"THING_GONE": http.StatusGone}),
		Faults: faults, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	mux := svc.NewMux()
	mux.HandleFunc("POST /things", JSON(svc, func(req thing) (thing, *APIError) {
		if req.ID == "" {
			return thing{}, Invalid("id is required")
		}
		return req, nil
	}))
	mux.HandleFunc("GET /things/{id}", ByPath(svc, "id", func(id string) (thing, *APIError) {
		if id == "gone" {
			return thing{}, Errorf("THING_GONE", "thing %s is gone", id)
		}
		return thing{ID: id}, nil
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	do := func(method, target, body string, sign bool) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+target, strings.NewReader(body))
		require.NoError(t, err)
		if sign {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req.Header.Set(headerKeyID, "k")
			req.Header.Set(headerTimestamp, ts)
			req.Header.Set(headerSignature, svc.Signer.Sum(ts, method, target, []byte(body)))
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b), resp.Header
	}
	code := func(body string) string {
		var e ErrorBody
		require.NoError(t, json.Unmarshal([]byte(body), &e), body)
		return e.Code
	}

	status, body, h := do(http.MethodPost, "/things", `{"id":"t1"}`, true)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"id":"t1"}`, body)
	assert.Equal(t, svc.Signer.Sum(h.Get(headerTimestamp), http.MethodPost, "/things", []byte(body)), h.Get(headerSignature), "the answer is signed")

	for name, tc := range map[string]struct {
		method, target, body string
		sign                 bool
		status               int
		code                 string
	}{
		"call error":      {http.MethodPost, "/things", `{}`, true, http.StatusBadRequest, CodeInvalidRequest},
		"malformed body":  {http.MethodPost, "/things", `{"id":`, true, http.StatusBadRequest, CodeInvalidRequest},
		"unknown field":   {http.MethodPost, "/things", `{"id":"t","x":1}`, true, http.StatusBadRequest, CodeInvalidRequest},
		"unsigned":        {http.MethodPost, "/things", `{"id":"t"}`, false, http.StatusUnauthorized, CodeSignatureInvalid},
		"own code":        {http.MethodGet, "/things/gone", ``, true, http.StatusGone, "THING_GONE"},
		"route not found": {http.MethodGet, "/nothing", ``, true, http.StatusNotFound, CodeRouteNotFound},
	} {
		status, body, _ := do(tc.method, tc.target, tc.body, tc.sign)
		assert.Equal(t, tc.status, status, "%s: %s", name, body)
		assert.Equal(t, tc.code, code(body), name)
	}

	status, body, _ = do(http.MethodGet, "/things/t2", ``, true)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"id":"t2"}`, body)

	// A business-error fault answers the code at its status, 500 for a code not in the table.
	faults.Set("GET /things/{id}", fault.Rule{BusinessError: "THING_GONE", Times: 1})
	status, body, _ = do(http.MethodGet, "/things/t3", ``, true)
	assert.Equal(t, http.StatusGone, status)
	assert.Equal(t, "THING_GONE", code(body))
	faults.Set("GET /things/{id}", fault.Rule{BusinessError: "SOMETHING_NEW", Times: 1})
	status, body, _ = do(http.MethodGet, "/things/t3", ``, true)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "SOMETHING_NEW", code(body))
	status, _, _ = do(http.MethodGet, "/things/t3", ``, true)
	assert.Equal(t, http.StatusOK, status, "the fault rules are used up")

	status, _, _ = do(http.MethodGet, "/sandbox/faults", ``, false)
	assert.Equal(t, http.StatusOK, status, "the fault injector's control API is served")
}

func TestServiceSweeperStopsOnClose(t *testing.T) {
	svc, err := New(Config{Name: "test", KeyID: "k", Secret: "s", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	var sweeps atomic.Int32
	svc.StartSweeper(time.Millisecond, func() { sweeps.Add(1) })
	require.Eventually(t, func() bool { return sweeps.Load() >= 2 }, 5*time.Second, time.Millisecond)
	svc.Close()
	after := sweeps.Load()
	svc.Close() // a second Close does nothing
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, after, sweeps.Load(), "no sweep after Close")
}
