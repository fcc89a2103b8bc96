package wechatpay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// notification is the envelope WeChat Pay POSTs to a notify_url.
type notification struct {
	ID           string            `json:"id"`
	CreateTime   string            `json:"create_time"`
	ResourceType string            `json:"resource_type"`
	EventType    string            `json:"event_type"`
	Summary      string            `json:"summary"`
	Resource     encryptedResource `json:"resource"`
}

// notify encrypts resource into a notification envelope and delivers it to
// notifyURL through the fault injector, retrying on the configured schedule
// until the receiver answers 2xx. Every attempt carries the same envelope (the
// same id) with fresh signature headers.
func (s *Sandbox) notify(notifyURL, eventType, summary, originalType string, resource any) {
	if notifyURL == "" {
		return
	}
	plain, err := json.Marshal(resource)
	if err != nil {
		s.log.Error("marshal notification resource", "event_type", eventType, "err", err)
		return
	}
	enc, err := s.encryptResource(plain, originalType, originalType)
	if err != nil {
		s.log.Error("encrypt notification resource", "event_type", eventType, "err", err)
		return
	}
	env := notification{
		ID:           fmt.Sprintf("%s-%s-%s-%s-%s", randHex(8), randHex(4), randHex(4), randHex(4), randHex(12)),
		CreateTime:   fmtTime(s.now()),
		ResourceType: "encrypt-resource",
		EventType:    eventType,
		Summary:      summary,
		Resource:     enc,
	}
	body, err := json.Marshal(env)
	if err != nil {
		s.log.Error("marshal notification", "event_type", eventType, "err", err)
		return
	}
	s.cfg.Faults.Deliver(func() { s.deliver(notifyURL, env.ID, eventType, body) })
}

// deliver posts one notification, retrying until a 2xx answer, the retry
// schedule is exhausted, or the sandbox is closed.
func (s *Sandbox) deliver(notifyURL, id, eventType string, body []byte) {
	for attempt := 0; ; attempt++ {
		err := s.post(notifyURL, body)
		if err == nil {
			s.log.Debug("notification delivered", "id", id, "event_type", eventType, "attempt", attempt+1)
			return
		}
		if attempt >= len(s.retry) {
			s.log.Warn("notification given up", "id", id, "event_type", eventType, "attempts", attempt+1, "err", err)
			return
		}
		s.log.Info("notification failed, will retry", "id", id, "event_type", eventType, "attempt", attempt+1, "in", s.retry[attempt], "err", err)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(s.retry[attempt]):
		}
	}
}

// post sends body once with fresh platform signature headers.
func (s *Sandbox) post(notifyURL string, body []byte) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, notifyURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	s.signResponse(req.Header, body)
	resp, err := s.notifyHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// randHex returns n random lowercase hex digits.
func randHex(n int) string { return randFrom("0123456789abcdef", n) }
