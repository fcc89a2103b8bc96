// Package metrics exposes the process's Prometheus metrics: Go and process
// collectors, every metric the Temporal SDK emits (workflow task latency,
// request counts, poller and slot gauges, ...) through a client.MetricsHandler
// bridge, and the project's own order, provider, notification, refund and
// reconciliation metrics.
//
// The project's metrics are recorded through a client.MetricsHandler too, so
// that one code path serves workflows (workflow.GetMetricsHandler, which
// drops metrics while a workflow replays), activities
// (activity.GetMetricsHandler) and plain code (TemporalHandler).
package metrics

import (
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// Registry is a Prometheus registry with the Go and process collectors and,
// once TemporalHandler is called, the Temporal SDK bridge.
type Registry struct {
	*prometheus.Registry

	sdkOnce sync.Once
	sdk     *handler
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return &Registry{Registry: r}
}

// Handler serves reg in the Prometheus exposition format, for /metrics.
// A metric that fails to collect is logged and left out; the rest are served.
func Handler(reg *Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(slog.Default().Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	})
}

// TemporalHandler returns the client.MetricsHandler that records into reg,
// for client.Options.MetricsHandler. Every call for the same registry
// returns the same handler, so a worker and an API sharing a process share
// its series.
func TemporalHandler(reg *Registry) client.MetricsHandler {
	reg.sdkOnce.Do(func() {
		st := newStore()
		reg.MustRegister(st)
		reg.sdk = &handler{store: st}
	})
	return reg.sdk
}
