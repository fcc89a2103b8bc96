package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/xhspay/xhspay/internal/metrics"
)

// observe starts timing one provider call for the provider metrics (duration,
// and errors by type); call what it returns with the call's error. Outside an
// activity (unit tests calling a method directly) it records nothing.
func observe(ctx context.Context, provider, op string) func(*error) {
	if !activity.IsActivity(ctx) {
		return func(*error) {}
	}
	return metrics.ObserveProvider(activity.GetMetricsHandler(ctx), provider, op)
}
