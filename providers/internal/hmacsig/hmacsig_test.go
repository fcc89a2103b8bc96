package hmacsig

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
)

func TestVerify(t *testing.T) {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderKeyID, "k")
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign("s", ts, "GET", "/x?y=1", []byte("body")))
	require.NoError(t, Verify("k", "s", h, "GET", "/x?y=1", []byte("body"), now))

	assert.ErrorIs(t, Verify("k", "s", h, "GET", "/x?y=2", []byte("body"), now), ErrMismatch)
	assert.ErrorIs(t, Verify("k", "s", h, "POST", "/x?y=1", []byte("body"), now), ErrMismatch)
	assert.ErrorIs(t, Verify("k", "s", h, "GET", "/x?y=1", []byte("bodY"), now), ErrMismatch)
	assert.ErrorIs(t, Verify("k", "other", h, "GET", "/x?y=1", []byte("body"), now), ErrMismatch)
	assert.ErrorIs(t, Verify("k2", "s", h, "GET", "/x?y=1", []byte("body"), now), ErrKeyID)
	assert.ErrorIs(t, Verify("k", "s", h, "GET", "/x?y=1", []byte("body"), now.Add(MaxSkew+time.Second)), ErrStale)
	assert.ErrorIs(t, Verify("k", "s", h, "GET", "/x?y=1", []byte("body"), now.Add(-MaxSkew-time.Second)), ErrStale)
	h.Del(HeaderSignature)
	assert.ErrorIs(t, Verify("k", "s", h, "GET", "/x?y=1", []byte("body"), now), ErrUnsigned)
}

func TestDoClassifiesUnsignedAnswers(t *testing.T) {
	status := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	c, err := NewClient("test", Config{BaseURL: srv.URL + "/base/", KeyID: "k", Secret: "s"}, func(int, string) providers.ErrorType { return providers.ErrTypeRejected })
	require.NoError(t, err)
	for st, want := range map[int]providers.ErrorType{
		http.StatusTooManyRequests:     providers.ErrTypeRateLimited,
		http.StatusBadGateway:          providers.ErrTypeUnavailable,
		http.StatusOK:                  providers.ErrTypeSignature,
		http.StatusBadRequest:          providers.ErrTypeSignature,
		http.StatusInternalServerError: providers.ErrTypeUnavailable,
	} {
		status = st
		err := c.Do(context.Background(), "op", http.MethodGet, "/thing", nil, nil, nil)
		assert.True(t, providers.IsType(err, want), "HTTP %d: %v", st, err)
	}
}

func TestNewClientDefaults(t *testing.T) {
	c, err := NewClient("test", Config{BaseURL: "https://psp.example/api", KeyID: "k", Secret: "s"}, nil)
	require.NoError(t, err)
	assert.NotNil(t, c.HTTP)
	assert.NotNil(t, c.Now)
	assert.NotNil(t, c.Log)
	_, err = NewClient("test", Config{BaseURL: "psp.example", KeyID: "k", Secret: "s"}, nil)
	assert.Error(t, err)
}

func TestReadNotification(t *testing.T) {
	c, err := NewClient("test", Config{BaseURL: "https://psp.example", KeyID: "k", Secret: "s"}, nil)
	require.NoError(t, err)
	notification := func(method, body, secret string) *http.Request {
		r := httptest.NewRequest(method, "/notify/test?x=1", strings.NewReader(body))
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		r.Header.Set(HeaderKeyID, "k")
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderSignature, Sign(secret, ts, http.MethodPost, "/notify/test?x=1", []byte(body)))
		return r
	}
	var payload struct {
		Thing *struct{ N int } `json:"thing"`
	}
	env, err := c.ReadNotification(context.Background(), notification(http.MethodPost, `{"id":"n1","type":"thing.done","createdAt":"2025-05-10T09:00:00Z","thing":{"N":7}}`, "s"), &payload)
	require.NoError(t, err)
	assert.Equal(t, Envelope{ID: "n1", Type: "thing.done", CreatedAt: time.Date(2025, 5, 10, 9, 0, 0, 0, time.UTC)}, env)
	require.NotNil(t, payload.Thing)
	assert.Equal(t, 7, payload.Thing.N)

	for name, tc := range map[string]struct {
		r    *http.Request
		want providers.ErrorType
	}{
		"forged":     {notification(http.MethodPost, `{"id":"n1"}`, "guess"), providers.ErrTypeSignature},
		"not POST":   {notification(http.MethodGet, `{"id":"n1"}`, "s"), providers.ErrTypeInvalidRequest},
		"malformed":  {notification(http.MethodPost, `{"id":`, "s"), providers.ErrTypeInvalidRequest},
		"wrong type": {notification(http.MethodPost, `{"id":"n1","thing":"x"}`, "s"), providers.ErrTypeInvalidRequest},
		"no id":      {notification(http.MethodPost, `{"type":"thing.done"}`, "s"), providers.ErrTypeInvalidRequest},
	} {
		_, err := c.ReadNotification(context.Background(), tc.r, &payload)
		assert.True(t, providers.IsType(err, tc.want), "%s: %v", name, err)
	}
}

func TestQueryAndHasCode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, body := http.StatusOK, []byte(`{"id":"t1"}`)
		switch r.URL.Path {
		case "/things/missing":
			status, body = http.StatusNotFound, []byte(`{"code":"THING_NOT_FOUND","message":"no thing"}`)
		case "/things/broken":
			status, body = http.StatusConflict, []byte(`{"code":"THING_BROKEN","message":"broken"}`)
		}
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		w.Header().Set(HeaderKeyID, "k")
		w.Header().Set(HeaderTimestamp, ts)
		w.Header().Set(HeaderSignature, Sign("s", ts, r.Method, r.RequestURI, body))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c, err := NewClient("test", Config{BaseURL: srv.URL, KeyID: "k", Secret: "s"}, func(int, string) providers.ErrorType { return providers.ErrTypeRejected })
	require.NoError(t, err)
	ctx := context.Background()

	var out struct{ ID string }
	found, err := c.Query(ctx, "op", "/things/t1", "THING_NOT_FOUND", &out)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "t1", out.ID)

	found, err = c.Query(ctx, "op", "/things/missing", "THING_NOT_FOUND", &out)
	require.NoError(t, err)
	assert.False(t, found)

	found, err = c.Query(ctx, "op", "/things/broken", "THING_NOT_FOUND", &out)
	assert.False(t, found)
	assert.True(t, HasCode(err, "THING_BROKEN"), "%v", err)
	assert.False(t, HasCode(err, "THING_NOT_FOUND"))

	err = c.Invalid("op", "field %s is required", "X")
	assert.True(t, providers.IsType(err, providers.ErrTypeInvalidRequest), "%v", err)
	assert.ErrorContains(t, err, "field X is required")
}
