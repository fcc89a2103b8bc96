// Package deploy holds the deployment files' checks: docker-compose.yml cannot
// run without a Docker engine, so its test loads it with the compose-spec
// loader and checks the stack the README promises.
package deploy

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/internal/app"
	"github.com/xhspay/xhspay/internal/codec"
	"github.com/xhspay/xhspay/starter/api"
)

// loadProject loads ../docker-compose.yml the way `docker compose` does.
func loadProject(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithName("xhspay"),
		cli.WithEnv([]string{}),
	)
	require.NoError(t, err)
	project, err := opts.LoadProject(context.Background())
	require.NoError(t, err, "docker-compose.yml must load with the compose-spec loader")
	return project
}

func TestComposeServices(t *testing.T) {
	p := loadProject(t)
	names := p.ServiceNames()
	slices.Sort(names)
	assert.Equal(t, []string{"api", "postgresql", "sandbox", "temporal", "temporal-ui", "worker"}, names)

	images := map[string]string{
		"postgresql":  `^postgres:\d+$`,
		"temporal":    `^temporalio/auto-setup:\d+\.\d+\.\d+$`,
		"temporal-ui": `^temporalio/ui:\d+\.\d+\.\d+$`,
	}
	for name, pattern := range images {
		svc, err := p.GetService(name)
		require.NoError(t, err)
		assert.Regexp(t, regexp.MustCompile(pattern), svc.Image, "%s must use a pinned official image", name)
	}
	for _, name := range []string{"worker", "api", "sandbox"} {
		svc, err := p.GetService(name)
		require.NoError(t, err)
		require.NotNil(t, svc.Build, "%s is built from the project's Dockerfile", name)
		assert.FileExists(t, filepath.Join(svc.Build.Context, "Dockerfile"))
	}
}

func TestComposePortsAndDependencies(t *testing.T) {
	p := loadProject(t)
	published := map[string][]string{}
	for _, svc := range p.Services {
		for _, port := range svc.Ports {
			published[svc.Name] = append(published[svc.Name], port.Published)
		}
	}
	assert.Contains(t, published["temporal"], "7233", "Temporal frontend on 7233")
	assert.Contains(t, published["temporal-ui"], "8233", "Web UI on 8233")
	assert.Contains(t, published["api"], "8080", "store API on 8080")

	deps := map[string][]string{
		"temporal":    {"postgresql"},
		"temporal-ui": {"temporal"},
		"worker":      {"postgresql", "sandbox", "temporal"},
		"api":         {"temporal", "worker"},
	}
	for name, want := range deps {
		svc, err := p.GetService(name)
		require.NoError(t, err)
		var got []string
		for dep := range svc.DependsOn {
			got = append(got, dep)
		}
		slices.Sort(got)
		assert.Equal(t, want, got, "%s depends_on", name)
	}
	pg, err := p.GetService("postgresql")
	require.NoError(t, err)
	require.NotNil(t, pg.HealthCheck, "postgresql needs a health check for the condition others wait on")
}

func TestComposeEnvironment(t *testing.T) {
	p := loadProject(t)
	for _, name := range []string{"worker", "api"} {
		svc, err := p.GetService(name)
		require.NoError(t, err)
		env := svc.Environment
		require.NotNil(t, env["TEMPORAL_ADDRESS"], "%s needs TEMPORAL_ADDRESS", name)
		assert.Equal(t, "temporal:7233", *env["TEMPORAL_ADDRESS"])
		require.NotNil(t, env["XHSPAY_LEDGER_DSN"], "%s needs the ledger DSN", name)
		assert.True(t, strings.HasPrefix(*env["XHSPAY_LEDGER_DSN"], "postgres://xhspay:"), "ledger on the compose PostgreSQL")
		assert.Contains(t, *env["XHSPAY_LEDGER_DSN"], "@postgresql:5432/xhspay")
		require.NotNil(t, env["XHSPAY_TASK_QUEUE"])
	}
	temporal, err := p.GetService("temporal")
	require.NoError(t, err)
	assert.Equal(t, "postgresql", *temporal.Environment["POSTGRES_SEEDS"])
	ui, err := p.GetService("temporal-ui")
	require.NoError(t, err)
	assert.Equal(t, "temporal:7233", *ui.Environment["TEMPORAL_ADDRESS"])
}

// TestComposeCommandsExist checks every command the compose file and the
// Dockerfile run is a main package of the project and every mounted file exists.
func TestComposeCommandsExist(t *testing.T) {
	p := loadProject(t)
	dockerfile, err := os.ReadFile(filepath.Join(p.WorkingDir, "Dockerfile"))
	require.NoError(t, err)
	built := map[string]bool{}
	for _, m := range regexp.MustCompile(`-o /out/(\S+) \./(\S+)`).FindAllStringSubmatch(string(dockerfile), -1) {
		built[m[1]] = true
		main, err := os.ReadFile(filepath.Join(p.WorkingDir, m[2], "main.go"))
		require.NoError(t, err, "the Dockerfile builds ./%s", m[2])
		assert.Contains(t, string(main), "package main")
	}
	for _, name := range []string{"worker", "api", "sandbox"} {
		svc, err := p.GetService(name)
		require.NoError(t, err)
		require.NotEmpty(t, svc.Command, "%s has a command", name)
		assert.True(t, built[svc.Command[0]], "%s runs %q, which the Dockerfile builds", name, svc.Command[0])
	}
	for _, svc := range p.Services {
		for _, v := range svc.Volumes {
			if v.Type == types.VolumeTypeBind {
				assert.FileExists(t, v.Source, "%s mounts a file of the repository", svc.Name)
			}
		}
	}
}

// TestComposeSecretsAndMerchants checks the worker and the API share the
// payload keyring, the worker has its buyer-hash key, and the API's merchants
// file is mounted and loads, with the documented demo key.
func TestComposeSecretsAndMerchants(t *testing.T) {
	p := loadProject(t)
	worker, err := p.GetService("worker")
	require.NoError(t, err)
	apiSvc, err := p.GetService("api")
	require.NoError(t, err)

	require.NotNil(t, worker.Environment["XHSPAY_CODEC_KEYS"])
	require.NotNil(t, apiSvc.Environment["XHSPAY_CODEC_KEYS"])
	assert.Equal(t, *worker.Environment["XHSPAY_CODEC_KEYS"], *apiSvc.Environment["XHSPAY_CODEC_KEYS"], "worker and API must share the keyring")
	_, err = codec.ParseKeyring(*worker.Environment["XHSPAY_CODEC_KEYS"])
	require.NoError(t, err)
	require.NotNil(t, worker.Environment["XHSPAY_BUYER_HASH_KEY"])
	key, err := app.DecodeKey("XHSPAY_BUYER_HASH_KEY", *worker.Environment["XHSPAY_BUYER_HASH_KEY"])
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(key), 16)

	require.NotNil(t, apiSvc.Environment["XHSPAY_MERCHANTS_FILE"])
	var mounted string
	for _, v := range apiSvc.Volumes {
		if v.Target == *apiSvc.Environment["XHSPAY_MERCHANTS_FILE"] {
			mounted = v.Source
		}
	}
	require.NotEmpty(t, mounted, "the merchants file is mounted where XHSPAY_MERCHANTS_FILE points")
	store, err := api.LoadMerchantsFile(mounted)
	require.NoError(t, err)
	m, err := store.Authenticate(context.Background(), demoComposeKey)
	require.NoError(t, err, "the README's compose demo key authenticates")
	assert.Equal(t, "acme", m.ID)
}

// demoComposeKey is the API key the README gives for the compose stack's demo merchant.
const demoComposeKey = "xhspay_compose_demo_key_not_for_production"
