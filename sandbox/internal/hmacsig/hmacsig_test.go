package hmacsig

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/sandbox/fault"
)

func TestNotifierRetriesUntilAcknowledgedAndSigns(t *testing.T) {
	signer := Signer{KeyID: "k", Secret: "s"}
	var attempts atomic.Int32
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Xhs-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), time.Unix(sec, 0), time.Minute)
		assert.Equal(t, signer.Sum(ts, http.MethodPost, "/hook?x=1", body), r.Header.Get("X-Xhs-Signature"))
		if attempts.Add(1) < 3 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		got <- string(body)
	}))
	defer srv.Close()
	n := NewNotifier(signer, nil, fault.New(), slog.New(slog.DiscardHandler))
	n.backoff = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	n.Send(srv.URL+"/hook?x=1", map[string]string{"id": "1"})
	select {
	case body := <-got:
		assert.JSONEq(t, `{"id":"1"}`, body)
	case <-time.After(5 * time.Second):
		t.Fatal("notification not delivered")
	}
	assert.Equal(t, int32(3), attempts.Load())
	n.Close()
}

func TestNotifierCloseStopsRetries(t *testing.T) {
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		attempts.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	n := NewNotifier(Signer{KeyID: "k", Secret: "s"}, nil, nil, slog.New(slog.DiscardHandler))
	n.backoff = []time.Duration{time.Hour}
	n.Send(srv.URL, "x")
	require.Eventually(t, func() bool { return attempts.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	done := make(chan struct{})
	go func() { n.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for an hour-long retry")
	}
	n.Send(srv.URL, "after close") // dropped silently
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int32(1), attempts.Load())
}

func TestReadRequest(t *testing.T) {
	s := Signer{KeyID: "k", Secret: "s"}
	req := func(kid, secret string, at time.Time) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/a?b=c", nil)
		ts := strconv.FormatInt(at.Unix(), 10)
		r.Header.Set("X-Xhs-Key-Id", kid)
		r.Header.Set("X-Xhs-Timestamp", ts)
		r.Header.Set("X-Xhs-Signature", Signer{Secret: secret}.Sum(ts, http.MethodPost, "/a?b=c", nil))
		return r
	}
	_, aerr := s.ReadRequest(req("k", "s", time.Now()))
	assert.Nil(t, aerr)
	for want, r := range map[string]*http.Request{
		CodeKeyUnknown:       req("other", "s", time.Now()),
		CodeSignatureInvalid: req("k", "wrong", time.Now()),
		CodeTimestampExpired: req("k", "s", time.Now().Add(-6*time.Minute)),
	} {
		_, aerr := s.ReadRequest(r)
		require.NotNil(t, aerr, want)
		assert.Equal(t, want, aerr.Code)
	}
}
