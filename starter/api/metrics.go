package api

import (
	"container/list"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	projectmetrics "github.com/xhspay/xhspay/internal/metrics"
)

// Results of a notification, the result label of xhspay_notify_total; the
// values are the project's (internal/metrics) plus order_closed.
const (
	// notifyAccepted was verified and delivered to its workflow.
	notifyAccepted = projectmetrics.NotifyAccepted
	// notifyDuplicate was verified, seen before and acknowledged without a signal.
	notifyDuplicate = projectmetrics.NotifyDuplicate
	// notifyForged failed signature, decryption or timestamp checks.
	notifyForged = projectmetrics.NotifyBadSignature
	// notifyMalformed was not a notification we can read.
	notifyMalformed = projectmetrics.NotifyMalformed
	// notifyMismatch was genuine but names no order of ours, or another order than its URL.
	notifyMismatch = projectmetrics.NotifyUnknownOrder
	// notifyUnroutable was genuine but its order's workflow has ended; acknowledged.
	notifyUnroutable = "order_closed"
	// notifyError could not be delivered now; the sender retries.
	notifyError = projectmetrics.NotifyError
)

// metrics are the API's Prometheus collectors.
type metrics struct {
	notify   *prometheus.CounterVec
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newMetrics creates the collectors and registers them on reg (when not nil).
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		notify: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xhspay_notify_total",
			Help: "Provider and customs notifications received, by provider and result.",
		}, []string{"provider", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xhspay_api_requests_total",
			Help: "HTTP requests served, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xhspay_api_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.notify, m.requests, m.duration)
	}
	return m
}

// notified counts one notification.
func (m *metrics) notified(provider, result string) {
	m.notify.WithLabelValues(provider, result).Inc()
}

// observeRequest records one request.
func (m *metrics) observeRequest(route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// seenSet remembers recently handled notification ids: bounded in size
// (least recently added first out) and in time.
type seenSet struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	items map[string]*list.Element
	order *list.List // of seenItem, oldest first
}

type seenItem struct {
	key     string
	expires time.Time
}

func newSeenSet(max int, ttl time.Duration, now func() time.Time) *seenSet {
	return &seenSet{max: max, ttl: ttl, now: now, items: map[string]*list.Element{}, order: list.New()}
}

// contains reports whether key was added within the TTL.
func (s *seenSet) contains(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.items[key]
	return ok && s.now().Before(e.Value.(seenItem).expires)
}

// add remembers key.
func (s *seenSet) add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if e, ok := s.items[key]; ok {
		s.order.Remove(e)
	}
	s.items[key] = s.order.PushBack(seenItem{key: key, expires: now.Add(s.ttl)})
	for e := s.order.Front(); e != nil; e = s.order.Front() {
		it := e.Value.(seenItem)
		if s.order.Len() <= s.max && now.Before(it.expires) {
			break
		}
		s.order.Remove(e)
		delete(s.items, it.key)
	}
}
