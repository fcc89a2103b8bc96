package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/providers"
)

// value returns the value of the series of family name whose labels include
// want: a counter's or gauge's value, a histogram's sample count. ok is false
// when no such series exists.
func value(t *testing.T, reg *metrics.Registry, name string, want map[string]string) (v float64, ok bool) {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			default:
				t.Fatalf("unexpected type %v of %s", f.GetType(), name)
			}
		}
	}
	return 0, false
}

func mustValue(t *testing.T, reg *metrics.Registry, name string, want map[string]string) float64 {
	t.Helper()
	v, ok := value(t, reg, name, want)
	require.True(t, ok, "no series %s%v", name, want)
	return v
}

// seriesCount returns how many series family name has.
func seriesCount(t *testing.T, reg *metrics.Registry, name string) int {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}

func scrape(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	srv := httptest.NewServer(metrics.Handler(reg))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestHandlerServesProjectMetrics(t *testing.T) {
	reg := metrics.NewRegistry()
	h := metrics.TemporalHandler(reg)
	metrics.OrderTransition(h, "PAID", "alipay")
	metrics.OrderTransition(h, "PAID", "alipay")
	metrics.Refund(h, "alipay", metrics.RefundSucceeded)
	metrics.ReconcileMismatch(h, "wechatpay", "amount", 3)
	metrics.ReconcileMismatch(h, "wechatpay", "status", 0)
	func() (err error) {
		defer metrics.ObserveProvider(h, "customs", "declare")(&err)
		return providers.NewError("customs", "declare", providers.ErrTypeRateLimited, "429", "slow down", nil)
	}()

	body := scrape(t, reg)
	for _, line := range []string{
		`# HELP xhspay_order_transitions_total Order state transitions by new state and provider.`,
		`# TYPE xhspay_order_transitions_total counter`,
		`xhspay_order_transitions_total{provider="alipay",state="PAID"} 2`,
		`xhspay_refunds_total{provider="alipay",result="succeeded"} 1`,
		`xhspay_reconcile_mismatches_total{kind="amount",provider="wechatpay"} 3`,
		`# TYPE xhspay_provider_call_duration_seconds histogram`,
		`xhspay_provider_call_duration_seconds_count{op="declare",provider="customs"} 1`,
		`xhspay_provider_call_duration_seconds_bucket{op="declare",provider="customs",le="60"} 1`,
		`xhspay_provider_errors_total{code="ProviderRateLimited",op="declare",provider="customs"} 1`,
	} {
		assert.Contains(t, body, line+"\n")
	}
	assert.NotContains(t, body, `kind="status"`, "zero mismatches must not create a series")
	assert.Contains(t, body, "go_goroutines ")
	assert.Contains(t, body, "process_cpu_seconds_total ")
}

func TestObserveProviderClassifiesErrors(t *testing.T) {
	call := func(h metrics.ProviderObserver, err error) {
		_, _ = func() (res string, rerr error) {
			defer h.Observe("alipay", "query")(&rerr)
			return "", err
		}()
	}
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"success", nil, ""},
		{"classified", fmt.Errorf("query: %w", providers.NewError("alipay", "query", providers.ErrTypeTradeNotFound, "ACQ.TRADE_NOT_EXIST", "", nil)), string(providers.ErrTypeTradeNotFound)},
		{"unclassified", errors.New("connection reset"), string(providers.ErrTypeUnavailable)},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), metrics.CodeCanceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := metrics.NewRegistry()
			call(metrics.ProviderObserver{Handler: metrics.TemporalHandler(reg)}, tc.err)
			tags := map[string]string{"provider": "alipay", "op": "query"}
			assert.Equal(t, 1.0, mustValue(t, reg, "xhspay_provider_call_duration_seconds", tags))
			n := seriesCount(t, reg, "xhspay_provider_errors_total")
			if tc.code == "" {
				assert.Zero(t, n)
				return
			}
			assert.Equal(t, 1, n)
			tags["code"] = tc.code
			assert.Equal(t, 1.0, mustValue(t, reg, "xhspay_provider_errors_total", tags))
		})
	}
	// A nil handler and a zero observer record nothing and do not panic.
	var err error
	metrics.ObserveProvider(nil, "alipay", "pay")(&err)
	metrics.ProviderObserver{}.Observe("alipay", "pay")(nil)
	metrics.OrderTransition(nil, "PAID", "alipay")
}

func TestBridgeExposition(t *testing.T) {
	reg := metrics.NewRegistry()
	h := metrics.TemporalHandler(reg)
	require.Same(t, h, metrics.TemporalHandler(reg), "one bridge per registry")

	// The SDK records one name with different tag sets; both must be served.
	h.Counter("temporal_request").Inc(1)
	h.WithTags(map[string]string{"operation": "PollWorkflowTaskQueue", "namespace": "default"}).Counter("temporal_request").Inc(2)
	h.WithTags(map[string]string{"operation": "x"}).WithTags(map[string]string{"operation": ""}).Counter("temporal_request").Inc(4)
	h.Counter("temporal_request").Inc(-5)
	// Odd names and tag keys are made valid.
	h.WithTags(map[string]string{"bad-key": "v", "le": "1", "__meta": "m"}).Gauge("temporal.sticky-cache.size").Update(2.5)
	h.Timer("temporal_workflow_endtoend_latency").Record(1500 * time.Millisecond)
	// A name exposed with two kinds keeps the first.
	h.Counter("dup").Inc(1)
	h.Gauge("dup_total").Update(9)

	body := scrape(t, reg)
	for _, block := range []string{`# HELP temporal_request_total Temporal SDK metric temporal_request.
# TYPE temporal_request_total counter
temporal_request_total{namespace="",operation=""} 5
temporal_request_total{namespace="default",operation="PollWorkflowTaskQueue"} 2
`, `# HELP temporal_sticky_cache_size Temporal SDK metric temporal.sticky-cache.size.
# TYPE temporal_sticky_cache_size gauge
temporal_sticky_cache_size{bad_key="v",tag__meta="m",tagle="1"} 2.5
`, `# HELP dup_total Temporal SDK metric dup.
# TYPE dup_total counter
dup_total 1
`} {
		assert.Contains(t, body, block)
	}
	assert.Equal(t, 2, seriesCount(t, reg, "temporal_request_total"))
	assert.Equal(t, 1.0, mustValue(t, reg, "temporal_workflow_endtoend_latency_seconds", nil))
	assert.Contains(t, body, `temporal_workflow_endtoend_latency_seconds_bucket{le="1"} 0`+"\n")
	assert.Contains(t, body, `temporal_workflow_endtoend_latency_seconds_bucket{le="2.5"} 1`+"\n")
	assert.Contains(t, body, `temporal_workflow_endtoend_latency_seconds_sum 1.5`+"\n")
}

func TestBridgeConcurrentUse(t *testing.T) {
	reg := metrics.NewRegistry()
	h := metrics.TemporalHandler(reg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			tagged := h.WithTags(map[string]string{"worker": fmt.Sprint(g % 2)})
			for range 500 {
				tagged.Counter("temporal_poller_start").Inc(1)
				tagged.Timer("temporal_request_latency").Record(time.Millisecond)
				tagged.Gauge("temporal_num_pollers").Update(float64(g))
			}
		})
	}
	for range 20 {
		_, err := reg.Gather()
		require.NoError(t, err)
	}
	wg.Wait()
	assert.Equal(t, 2000.0, mustValue(t, reg, "temporal_poller_start_total", map[string]string{"worker": "0"}))
	assert.Equal(t, 2000.0, mustValue(t, reg, "temporal_request_latency_seconds", map[string]string{"worker": "1"}))
}
