// Package tclient connects the project's processes to a Temporal cluster from
// flags and environment variables (address, namespace, TLS), and registers the
// project's search attributes on an external cluster.
package tclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Config says how to reach Temporal.
type Config struct {
	// Address is the frontend host:port (TEMPORAL_ADDRESS, default 127.0.0.1:7233).
	Address string
	// Namespace is the namespace (TEMPORAL_NAMESPACE, default "default").
	Namespace string
	// TLSCertFile is the client certificate for mTLS (TEMPORAL_TLS_CERT).
	TLSCertFile string
	// TLSKeyFile is the client key for mTLS (TEMPORAL_TLS_KEY).
	TLSKeyFile string
	// TLSCAFile is the CA that signs the server certificate (TEMPORAL_TLS_CA).
	TLSCAFile string
	// TLSServerName overrides the server name checked in the certificate (TEMPORAL_TLS_SERVER_NAME).
	TLSServerName string
	// TLS enables TLS without a client certificate (TEMPORAL_TLS=true), e.g. for API-key auth.
	TLS bool
	// APIKey authenticates to clusters that take API keys (TEMPORAL_API_KEY).
	APIKey string
}

// envOr returns the environment variable name's value, or def when unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// RegisterFlags binds the config to flags on fs, with defaults from the environment.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Address, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&c.Namespace, "temporal-namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&c.TLSCertFile, "temporal-tls-cert", envOr("TEMPORAL_TLS_CERT", ""), "client certificate PEM for mTLS (env TEMPORAL_TLS_CERT)")
	fs.StringVar(&c.TLSKeyFile, "temporal-tls-key", envOr("TEMPORAL_TLS_KEY", ""), "client key PEM for mTLS (env TEMPORAL_TLS_KEY)")
	fs.StringVar(&c.TLSCAFile, "temporal-tls-ca", envOr("TEMPORAL_TLS_CA", ""), "CA PEM for the server certificate (env TEMPORAL_TLS_CA)")
	fs.StringVar(&c.TLSServerName, "temporal-tls-server-name", envOr("TEMPORAL_TLS_SERVER_NAME", ""), "server name to verify (env TEMPORAL_TLS_SERVER_NAME)")
	fs.BoolVar(&c.TLS, "temporal-tls", envOr("TEMPORAL_TLS", "") == "true", "use TLS without a client certificate (env TEMPORAL_TLS)")
	fs.StringVar(&c.APIKey, "temporal-api-key", envOr("TEMPORAL_API_KEY", ""), "API key (env TEMPORAL_API_KEY)")
}

// tlsConfig builds the TLS settings, or nil for plain text.
func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS && c.TLSCertFile == "" && c.TLSCAFile == "" && c.APIKey == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return nil, errors.New("tclient: -temporal-tls-cert and -temporal-tls-key must be given together")
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("tclient: load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tclient: read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tclient: %s holds no PEM certificate", c.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Options returns the SDK client options for the config; callers may add
// interceptors, a data converter or metrics before dialing.
func (c Config) Options(logger *slog.Logger) (client.Options, error) {
	if strings.TrimSpace(c.Address) == "" {
		return client.Options{}, errors.New("tclient: temporal address is empty")
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	opts := client.Options{
		HostPort:          c.Address,
		Namespace:         c.Namespace,
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
	}
	if logger != nil {
		opts.Logger = sdklog.NewStructuredLogger(logger)
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	return opts, nil
}

// Dial connects with the config's options after applying adjust (may be nil).
func (c Config) Dial(ctx context.Context, logger *slog.Logger, adjust func(*client.Options)) (client.Client, error) {
	opts, err := c.Options(logger)
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(&opts)
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("tclient: dial %s: %w", c.Address, err)
	}
	return cl, nil
}
