package tclient

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlagsDefaultFromEnvironment(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "orders")
	t.Setenv("TEMPORAL_TLS", "true")
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, "temporal.internal:7233", c.Address)
	assert.Equal(t, "orders", c.Namespace)
	assert.True(t, c.TLS)

	require.NoError(t, fs.Parse([]string{"-temporal-address", "127.0.0.1:7000"}))
	assert.Equal(t, "127.0.0.1:7000", c.Address, "a flag overrides the environment")
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))

	tests := []struct {
		name    string
		cfg     Config
		wantTLS bool
		wantErr string
	}{
		{name: "plain", cfg: Config{Address: "127.0.0.1:7233", Namespace: "default"}},
		{name: "tls without client cert", cfg: Config{Address: "h:7233", TLS: true}, wantTLS: true},
		{name: "api key implies tls", cfg: Config{Address: "h:7233", APIKey: "k"}, wantTLS: true},
		{name: "empty address", cfg: Config{}, wantErr: "address is empty"},
		{name: "cert without key", cfg: Config{Address: "h:7233", TLSCertFile: "c.pem"}, wantErr: "must be given together"},
		{name: "missing cert file", cfg: Config{Address: "h:7233", TLSCertFile: "nope.pem", TLSKeyFile: "nope.key"}, wantErr: "load client certificate"},
		{name: "CA is not PEM", cfg: Config{Address: "h:7233", TLSCAFile: notPEM}, wantErr: "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.cfg.Options(nil)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.cfg.Address, opts.HostPort)
			assert.Equal(t, tt.wantTLS, opts.ConnectionOptions.TLS != nil)
			assert.Equal(t, tt.cfg.APIKey != "", opts.Credentials != nil)
		})
	}
}
