package metrics

import (
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/sdk/client"
)

// kind is how a metric name is exposed.
type kind uint8

const (
	counterKind   kind = iota // "<name>_total"
	gaugeKind                 // "<name>"
	histogramKind             // "<name>_seconds", from a timer
)

func (k kind) String() string {
	return [...]string{"counter", "gauge", "histogram"}[k]
}

// DefaultBuckets are the histogram buckets, in seconds, of every timer
// without buckets of its own: from a millisecond to a week, since workflow
// end-to-end latencies span escrow holds.
var DefaultBuckets = []float64{
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
	300, 900, 3600, 6 * 3600, 86400, 7 * 86400,
}

// family is one exposed metric name.
type family struct {
	name    string
	kind    kind
	help    string
	buckets []float64
}

// series is one combination of a family and tag values.
type series struct {
	family *family
	tags   map[string]string
	count  atomic.Int64  // counter
	gauge  atomic.Uint64 // gauge, float64 bits
	hist   prometheus.Histogram
}

// store holds every series recorded through the bridge and collects them
// for Prometheus. Series of one family may carry different tag keys (the
// SDK adds task queue or activity tags in some places only); on collection
// a family's series all get the union of its keys, missing ones empty,
// which Prometheus reads as absent.
type store struct {
	mu       sync.RWMutex
	families map[string]*family
	series   map[string]*series
	warned   sync.Map // exposed name -> struct{}, type conflicts already logged
}

func newStore() *store {
	return &store{families: map[string]*family{}, series: map[string]*series{}}
}

// get returns the series of name and tags as kind k, creating it, or nil
// when name is already exposed with another kind.
func (st *store) get(name string, k kind, tags map[string]string, tagKey string) *series {
	exposed := exposedName(name, k)
	key := exposed + "\xff" + tagKey
	st.mu.RLock()
	s := st.series[key]
	st.mu.RUnlock()
	if s != nil {
		return s
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if s = st.series[key]; s != nil {
		return s
	}
	f := st.families[exposed]
	if f == nil {
		f = &family{name: exposed, kind: k, help: helpFor(exposed, name), buckets: bucketsFor(exposed)}
		st.families[exposed] = f
	}
	if f.kind != k {
		if _, dup := st.warned.LoadOrStore(exposed, struct{}{}); !dup {
			slog.Warn("metrics: metric recorded as two kinds; keeping the first", "metric", exposed, "kept", f.kind, "dropped", k)
		}
		return nil
	}
	s = &series{family: f, tags: tags}
	if k == histogramKind {
		s.hist = prometheus.NewHistogram(prometheus.HistogramOpts{Name: exposed, Help: f.help, Buckets: f.buckets})
	}
	st.series[key] = s
	return s
}

// Describe sends nothing: the bridge's metric names are only known once
// recorded, so it registers as an unchecked collector.
func (st *store) Describe(chan<- *prometheus.Desc) {}

// Collect sends every series.
func (st *store) Collect(ch chan<- prometheus.Metric) {
	st.mu.RLock()
	byFamily := make(map[*family][]*series, len(st.families))
	for _, s := range st.series {
		byFamily[s.family] = append(byFamily[s.family], s)
	}
	st.mu.RUnlock()

	for f, ss := range byFamily {
		keySet := map[string]struct{}{}
		for _, s := range ss {
			for k := range s.tags {
				keySet[k] = struct{}{}
			}
		}
		keys := slices.Sorted(maps.Keys(keySet))
		desc := prometheus.NewDesc(f.name, f.help, keys, nil)
		values := make([]string, len(keys))
		for _, s := range ss {
			for i, k := range keys {
				values[i] = s.tags[k]
			}
			m, err := s.metric(desc, values)
			if err != nil {
				m = prometheus.NewInvalidMetric(desc, err)
			}
			ch <- m
		}
	}
}

func (s *series) metric(desc *prometheus.Desc, values []string) (prometheus.Metric, error) {
	switch s.family.kind {
	case counterKind:
		return prometheus.NewConstMetric(desc, prometheus.CounterValue, float64(s.count.Load()), values...)
	case gaugeKind:
		return prometheus.NewConstMetric(desc, prometheus.GaugeValue, math.Float64frombits(s.gauge.Load()), values...)
	default:
		var m dto.Metric
		if err := s.hist.Write(&m); err != nil {
			return nil, err
		}
		h := m.GetHistogram()
		buckets := make(map[float64]uint64, len(h.GetBucket()))
		for _, b := range h.GetBucket() {
			buckets[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		return prometheus.NewConstHistogram(desc, h.GetSampleCount(), h.GetSampleSum(), buckets, values...)
	}
}

// handler is the client.MetricsHandler of the bridge.
type handler struct {
	store  *store
	tags   map[string]string
	tagKey string
}

var _ client.MetricsHandler = (*handler)(nil)

// WithTags returns a handler whose metrics also carry tags; a new value
// replaces an old one and an empty value removes the tag.
func (h *handler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	maps.Copy(merged, h.tags)
	for k, v := range tags {
		k = labelName(k)
		if v == "" {
			delete(merged, k)
			continue
		}
		merged[k] = strings.ToValidUTF8(v, string(utf8.RuneError))
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(merged[k])
		b.WriteByte(0)
	}
	return &handler{store: h.store, tags: merged, tagKey: b.String()}
}

// Counter returns the counter name with the handler's tags.
func (h *handler) Counter(name string) client.MetricsCounter {
	if s := h.store.get(name, counterKind, h.tags, h.tagKey); s != nil {
		return counter{s}
	}
	return client.MetricsNopHandler.Counter(name)
}

// Gauge returns the gauge name with the handler's tags.
func (h *handler) Gauge(name string) client.MetricsGauge {
	if s := h.store.get(name, gaugeKind, h.tags, h.tagKey); s != nil {
		return gauge{s}
	}
	return client.MetricsNopHandler.Gauge(name)
}

// Timer returns the timer name, exposed as a histogram in seconds, with the handler's tags.
func (h *handler) Timer(name string) client.MetricsTimer {
	if s := h.store.get(name, histogramKind, h.tags, h.tagKey); s != nil {
		return timer{s}
	}
	return client.MetricsNopHandler.Timer(name)
}

type counter struct{ s *series }

// Inc adds d; counters never go down, so a negative d is ignored.
func (c counter) Inc(d int64) {
	if d > 0 {
		c.s.count.Add(d)
	}
}

type gauge struct{ s *series }

// Update sets the gauge.
func (g gauge) Update(v float64) { g.s.gauge.Store(math.Float64bits(v)) }

type timer struct{ s *series }

// Record observes d in seconds.
func (t timer) Record(d time.Duration) { t.s.hist.Observe(d.Seconds()) }

// exposedName turns an SDK metric name into a Prometheus one: invalid
// characters become '_', counters end in _total and timers in _seconds.
func exposedName(name string, k kind) string {
	n := sanitize(name, true)
	switch k {
	case counterKind:
		if !strings.HasSuffix(n, "_total") {
			n += "_total"
		}
	case histogramKind:
		if !strings.HasSuffix(n, "_seconds") {
			n += "_seconds"
		}
	}
	return n
}

// labelName makes a tag key a valid label name that is not reserved.
func labelName(k string) string {
	n := sanitize(k, false)
	if strings.HasPrefix(n, "__") || n == "le" || n == "quantile" {
		n = "tag" + n
	}
	return n
}

// sanitize keeps [a-zA-Z0-9_] (no leading digit), and ':' in metric names,
// and maps every other byte to '_'.
func sanitize(s string, colon bool) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || (colon && c == ':') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
