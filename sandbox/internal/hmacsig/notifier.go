package hmacsig

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/xhspay/xhspay/sandbox/fault"
)

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
