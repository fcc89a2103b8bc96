package hmacsig

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	c, err := NewClient("test", srv.URL+"/base/", "k", "s", nil, nil, func(int, string) providers.ErrorType { return providers.ErrTypeRejected })
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
	c, err := NewClient("test", "https://psp.example/api", "k", "s", nil, nil, nil)
	require.NoError(t, err)
	assert.NotNil(t, c.HTTP)
	assert.NotNil(t, c.Now)
	_, err = NewClient("test", "psp.example", "k", "s", nil, nil, nil)
	assert.Error(t, err)
}
