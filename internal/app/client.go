package app

import (
	"errors"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/xhspay/xhspay/internal/codec"
	"github.com/xhspay/xhspay/internal/metrics"
)

// CodecFromEnv returns the payload codec from XHSPAY_CODEC_KEYS (or
// XHSPAY_CODEC_KEYS_FILE), or nil with a warning when no keyring is configured.
func CodecFromEnv(logger *slog.Logger) (*codec.Codec, error) {
	ring, err := codec.KeyringFromEnv()
	switch {
	case errors.Is(err, codec.ErrNoKeys):
		logger.Warn("no payload encryption keyring (XHSPAY_CODEC_KEYS): buyer identity is stored in clear in workflow histories")
		return nil, nil
	case err != nil:
		return nil, err
	}
	return codec.New(ring)
}

// ClientOptions returns the adjustment every process applies to its Temporal
// client options: SDK metrics into reg, and payload encryption with cdc (nil: none).
func ClientOptions(reg *metrics.Registry, cdc *codec.Codec) func(*client.Options) {
	return func(o *client.Options) {
		if reg != nil {
			o.MetricsHandler = metrics.TemporalHandler(reg)
		}
		if cdc != nil {
			cdc.ApplyClientOptions(o)
		}
	}
}
