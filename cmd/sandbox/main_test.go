package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/sandbox"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader on two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestRunServesUntilCancelled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-dir", dir, "-alipay-port", "0", "-wechatpay-port", "0", "-customs-port", "0", "-card-port", "0", "-fx-port", "0", "-log-level", "warn"}, &out, &errs)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "press Ctrl-C") }, 30*time.Second, 20*time.Millisecond)

	creds, err := sandbox.ReadCredentials(dir)
	require.NoError(t, err)
	assert.Contains(t, out.String(), creds.FX.BaseURL)
	resp, err := http.Get(creds.Customs.BaseURL + "/sandbox/faults")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	_, err = http.Get(creds.Customs.BaseURL + "/sandbox/faults")
	assert.Error(t, err, "the listeners are closed")
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out, errs syncBuffer
	assert.Error(t, run(context.Background(), []string{"-log-level", "loud"}, &out, &errs))
	assert.Error(t, run(context.Background(), []string{"extra"}, &out, &errs))
	assert.Error(t, run(context.Background(), []string{"-no-such-flag"}, &out, &errs))
}
