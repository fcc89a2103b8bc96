package archtest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadGraph lists every package of the module and all their dependencies with
// their direct, non-test imports. Test files may import anything (the
// sandboxes in particular), so they are left out.
func loadGraph(t *testing.T) graph {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the architecture test runs the go command")

	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), goTool, "list", "-m", "-f", "{{.Path}}\t{{.Dir}}")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), "go list -m: %s", stderr.String())
	path, dir, ok := strings.Cut(strings.TrimSpace(out.String()), "\t")
	require.True(t, ok, "go list -m printed %q", out.String())
	require.Equal(t, module, path)

	out.Reset()
	stderr.Reset()
	// -e keeps a package that does not compile (its imports are still known)
	// from hiding the rest of the graph.
	cmd = exec.CommandContext(t.Context(), goTool, "list", "-e", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), "go list -deps: %s", stderr.String())

	g := graph{}
	for line := range strings.Lines(out.String()) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		g[fields[0]] = fields[1:]
	}
	return g
}

// TestGraphLoads guards against a loader that silently finds nothing, which
// would make every rule pass.
func TestGraphLoads(t *testing.T) {
	g := loadGraph(t)
	for _, pkg := range []string{"money", "providers", "providers/alipay", "sandbox", "sandbox/fault", "internal/archtest"} {
		assert.True(t, g.has(module+"/"+pkg), "the graph has %s", pkg)
	}
	assert.Contains(t, g[module+"/providers"], module+"/money", "direct imports are recorded")
	assert.Contains(t, g[module+"/providers/alipay"], "github.com/smartwalle/alipay/v3")
	assert.True(t, g.has("github.com/smartwalle/alipay/v3"), "dependencies outside the module are listed too")
	assert.True(t, g.has("net/http"), "the standard library is listed too")
}

// TestArchitecture checks the project against the dependency rules.
func TestArchitecture(t *testing.T) {
	g := loadGraph(t)
	for _, r := range rules() {
		t.Run(r.name, func(t *testing.T) {
			if !r.applies(g) {
				t.Skipf("%s/%s does not exist yet", module, r.requires)
			}
			for _, v := range r.violations(g) {
				t.Error(v)
			}
		})
	}
}

// TestRules checks that each rule catches what it forbids and allows the rest,
// on small made-up graphs.
func TestRules(t *testing.T) {
	const (
		m        = module + "/"
		smartPay = "github.com/smartwalle/alipay/v3"
		wxUtils  = "github.com/wechatpay-apiv3/wechatpay-go/utils"
		tServer  = "go.temporal.io/server/temporal"
		tSDK     = "go.temporal.io/sdk/client"
	)
	byName := map[string]rule{}
	for _, r := range rules() {
		byName[r.name] = r
	}
	tests := []struct {
		rule string
		g    graph
		want []string // violations, without the rule name prefix
	}{
		// (a) the sandboxes are wired in only by the allowed commands.
		{
			rule: "no production package imports sandbox",
			g: graph{
				m + "cmd/sandbox":    {m + "sandbox"},
				m + "cmd/xhspay":     {m + "sandbox", m + "internal/app"},
				m + "cmd/bench":      {m + "sandbox/fault"},
				m + "sandbox":        {m + "sandbox/alipay", m + "sandbox/fault"},
				m + "sandbox/alipay": {m + "sandbox/fault", m + "money"},
				m + "internal/app":   {m + "providers/providerset"},
			},
		},
		{
			rule: "no production package imports sandbox",
			g: graph{
				m + "starter/api":    {m + "sandbox/fault", "net/http"},
				m + "worker":         {m + "sandbox"},
				m + "internal/app":   {m + "internal/demo"},
				m + "internal/demo":  {m + "sandbox"},
				m + "cmd/sandboxctl": {m + "sandbox"},
				m + "sandboxes":      {m + "sandbox"},
			},
			want: []string{
				m + "cmd/sandboxctl imports " + m + "sandbox",
				m + "internal/demo imports " + m + "sandbox",
				m + "sandboxes imports " + m + "sandbox",
				m + "starter/api imports " + m + "sandbox/fault",
				m + "worker imports " + m + "sandbox",
			},
		},
		// (b) workflows: ports and domain types only, at any depth.
		{
			rule: "workflows import no adapter, provider SDK or Temporal server",
			g: graph{
				m + "workflows":  {m + "activities", m + "providers", "go.temporal.io/sdk/workflow"},
				m + "activities": {m + "providers", m + "money", "go.temporal.io/sdk/activity"},
				m + "providers":  {m + "money"},
			},
		},
		{
			rule: "workflows import no adapter, provider SDK or Temporal server",
			g: graph{
				m + "workflows":          {m + "activities", m + "workflows/internal", m + "providers/providerset"},
				m + "workflows/internal": {m + "internal/tserver"},
				m + "activities":         {m + "providers/alipay"},
				m + "providers/alipay":   {smartPay},
				m + "internal/tserver":   {tServer},
				m + "providers/fx":       {m + "providers/internal/hmacsig"},
			},
			want: []string{
				m + "workflows imports " + m + "providers/providerset (via " + m + "workflows -> " + m + "providers/providerset)",
				m + "workflows imports " + m + "providers/alipay (via " + m + "workflows -> " + m + "activities -> " + m + "providers/alipay)",
				m + "workflows imports " + tServer + " (via " + m + "workflows -> " + m + "workflows/internal -> " + m + "internal/tserver -> " + tServer + ")",
				m + "workflows/internal imports " + tServer + " (via " + m + "workflows/internal -> " + m + "internal/tserver -> " + tServer + ")",
			},
		},
		{
			rule: "workflows import no adapter, provider SDK or Temporal server",
			g: graph{
				m + "workflows":  {m + "activities"},
				m + "activities": {wxUtils},
			},
			want: []string{m + "workflows imports " + wxUtils + " (via " + m + "workflows -> " + m + "activities -> " + wxUtils + ")"},
		},
		// (c) money is a leaf; ledger and cbec know only money.
		{
			rule: "money imports nothing of the project",
			g:    graph{m + "money": {"github.com/shopspring/decimal", "fmt"}, m + "money/internal": {m + "money"}},
		},
		{
			rule: "money imports nothing of the project",
			g:    graph{m + "money": {m + "cbec", "fmt"}},
			want: []string{m + "money imports " + m + "cbec"},
		},
		{
			rule: "ledger imports only money of the project",
			g:    graph{m + "ledger": {m + "money", "database/sql"}, m + "ledger/sqlite": {m + "ledger", "modernc.org/sqlite"}},
		},
		{
			rule: "ledger imports only money of the project",
			g:    graph{m + "ledger": {m + "money", m + "workflows"}, m + "ledger/pg": {m + "providers"}},
			want: []string{m + "ledger imports " + m + "workflows", m + "ledger/pg imports " + m + "providers"},
		},
		{
			rule: "cbec imports only money of the project",
			g:    graph{m + "cbec": {m + "money", m + "ledger"}},
			want: []string{m + "cbec imports " + m + "ledger"},
		},
		{
			rule: "providers (the ports) import only money of the project",
			g:    graph{m + "providers": {m + "money", m + "cbec", smartPay}, m + "providers/alipay": {m + "providers", smartPay}},
			want: []string{m + "providers imports " + m + "cbec", m + "providers imports " + smartPay},
		},
		// (d) the sandboxes implement the wire protocols on their own.
		{
			rule: "sandboxes import no adapter or provider SDK",
			g: graph{
				m + "sandbox":           {m + "providers", m + "providers/credentials", m + "sandbox/wechatpay"},
				m + "sandbox/wechatpay": {m + "sandbox/fault", "crypto/rsa"},
				m + "providers":         {m + "money"},
			},
		},
		{
			rule: "sandboxes import no adapter or provider SDK",
			g: graph{
				m + "sandbox/wechatpay":  {wxUtils},
				m + "sandbox/customs":    {m + "providers/customs"},
				m + "sandbox/fx":         {m + "sandbox/internal/x"},
				m + "sandbox/internal/x": {m + "providers/internal/hmacsig"},
			},
			want: []string{
				m + "sandbox/customs imports " + m + "providers/customs (via " + m + "sandbox/customs -> " + m + "providers/customs)",
				m + "sandbox/fx imports " + m + "providers/internal/hmacsig (via " + m + "sandbox/fx -> " + m + "sandbox/internal/x -> " + m + "providers/internal/hmacsig)",
				m + "sandbox/internal/x imports " + m + "providers/internal/hmacsig (via " + m + "sandbox/internal/x -> " + m + "providers/internal/hmacsig)",
				m + "sandbox/wechatpay imports " + wxUtils + " (via " + m + "sandbox/wechatpay -> " + wxUtils + ")",
			},
		},
		// (e) the client speaks HTTP only.
		{
			rule: "client links neither the Temporal SDK nor the server",
			g:    graph{m + "client": {"net/http", m + "money"}, m + "money": {"fmt"}},
		},
		{
			rule: "client links neither the Temporal SDK nor the server",
			g:    graph{m + "client": {m + "internal/codec"}, m + "internal/codec": {tSDK}},
			want: []string{m + "client imports " + tSDK + " (via " + m + "client -> " + m + "internal/codec -> " + tSDK + ")"},
		},
	}
	for _, tc := range tests {
		r, ok := byName[tc.rule]
		require.True(t, ok, "no rule named %q", tc.rule)
		name := tc.rule + "/allowed"
		if len(tc.want) > 0 {
			name = tc.rule + "/violated"
		}
		t.Run(name, func(t *testing.T) {
			got := r.violations(tc.g)
			for i := range got {
				msg, ok := strings.CutPrefix(got[i], r.name+": ")
				require.True(t, ok, "the message names the rule: %s", got[i])
				got[i] = msg
			}
			assert.ElementsMatch(t, tc.want, got)
		})
	}
}

func TestRuleApplies(t *testing.T) {
	r := rule{name: "client", requires: "client", from: project("client"), forbid: under("go.temporal.io/sdk")}
	assert.False(t, r.applies(graph{module + "/money": nil}), "skipped while the package does not exist")
	assert.True(t, r.applies(graph{module + "/client": nil}))
	assert.True(t, rule{name: "always"}.applies(graph{}))
	for _, r := range rules() {
		if r.requires != "" {
			assert.True(t, r.from(module+"/"+r.requires), "rule %q constrains the package it requires", r.name)
		}
	}
}

func TestMatchers(t *testing.T) {
	sb := project("sandbox")
	assert.True(t, sb(module+"/sandbox"))
	assert.True(t, sb(module+"/sandbox/fault"))
	assert.False(t, sb(module+"/sandboxes"), "a prefix is a path element, not a string prefix")
	assert.False(t, sb(module+"/cmd/sandbox"))
	assert.True(t, sandboxImporters(module+"/cmd/sandbox"))
	assert.False(t, sandboxImporters(module+"/cmd/sandbox/sub"), "allowed importers are listed exactly")
	assert.True(t, adapters(module+"/providers/providerset"))
	assert.False(t, adapters(module+"/providers"))
	assert.False(t, adapters(module+"/providers/credentials"))
	assert.True(t, sdks("github.com/smartwalle/nsign"))
	assert.False(t, under("go.temporal.io/server")("go.temporal.io/sdk/client"))
}
