package app

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/internal/codec"
	"github.com/xhspay/xhspay/internal/metrics"
	"github.com/xhspay/xhspay/internal/tclient"
	"github.com/xhspay/xhspay/providers/credentials"
	"github.com/xhspay/xhspay/providers/providerset"
)

// Runtime is what every long-running process sets up first: the provider
// adapters, the metrics registry, the payload codec and the Temporal client.
type Runtime struct {
	// Providers are the provider adapters.
	Providers *providerset.Set
	// Metrics is the Prometheus registry (SDK metrics included).
	Metrics *metrics.Registry
	// Codec encrypts payloads; nil when no keyring is configured.
	Codec *codec.Codec
	// Client is the Temporal client, with metrics and the codec applied.
	Client client.Client
}

// Connect loads the provider credentials from providersDir, builds the
// adapters, reads the codec keyring from the environment and dials Temporal.
func Connect(ctx context.Context, tc tclient.Config, providersDir string, logger *slog.Logger) (*Runtime, error) {
	creds, err := credentials.Read(providersDir)
	if err != nil {
		return nil, fmt.Errorf("provider credentials: %w", err)
	}
	provs, err := providerset.Build(ctx, creds, providerset.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	reg := metrics.NewRegistry()
	cdc, err := CodecFromEnv(logger)
	if err != nil {
		return nil, err
	}
	cl, err := tc.Dial(ctx, logger, ClientOptions(reg, cdc))
	if err != nil {
		return nil, err
	}
	return &Runtime{Providers: provs, Metrics: reg, Codec: cdc, Client: cl}, nil
}

// Close closes the Temporal client.
func (r *Runtime) Close() { r.Client.Close() }
