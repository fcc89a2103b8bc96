package archtest

import (
	"fmt"
	"slices"
	"strings"
)

// module is the project's module path.
const module = "github.com/xhspay/xhspay"

// graph maps an import path to its direct, non-test imports.
type graph map[string][]string

// has reports whether path is a package of the graph.
func (g graph) has(path string) bool {
	_, ok := g[path]
	return ok
}

// matcher reports whether an import path belongs to a set of packages.
type matcher func(path string) bool

// under matches each path and the packages below it.
func under(paths ...string) matcher {
	return func(p string) bool {
		for _, q := range paths {
			if p == q || strings.HasPrefix(p, q+"/") {
				return true
			}
		}
		return false
	}
}

// project matches the project's packages below each of rel ("money",
// "providers/alipay"); with no argument, every project package.
func project(rel ...string) matcher {
	if len(rel) == 0 {
		return under(module)
	}
	paths := make([]string, len(rel))
	for i, r := range rel {
		paths[i] = module + "/" + r
	}
	return under(paths...)
}

// exactly matches the project packages named, not the ones below them.
func exactly(rel ...string) matcher {
	return func(p string) bool {
		for _, r := range rel {
			if p == module+"/"+r {
				return true
			}
		}
		return false
	}
}

func anyOf(ms ...matcher) matcher {
	return func(p string) bool {
		for _, m := range ms {
			if m(p) {
				return true
			}
		}
		return false
	}
}

func allOf(ms ...matcher) matcher {
	return func(p string) bool {
		for _, m := range ms {
			if !m(p) {
				return false
			}
		}
		return true
	}
}

func not(m matcher) matcher { return func(p string) bool { return !m(p) } }

// rule forbids a set of packages some imports.
type rule struct {
	// name is the rule as the design states it.
	name string
	// requires is a project package (relative path) the rule is about; the rule
	// is skipped while it does not exist. Empty means always checked.
	requires string
	// from selects the project packages the rule constrains.
	from matcher
	// forbid selects the imports they must not have.
	forbid matcher
	// transitive checks every dependency, not only direct imports.
	transitive bool
}

// Adapter packages: the implementations of the ports, with their SDKs.
var adapters = project(
	"providers/alipay", "providers/wechatpay", "providers/cardpsp",
	"providers/customs", "providers/fx", "providers/providerset",
	"providers/internal", // the adapters' shared signing code
)

// Provider SDKs.
var sdks = under("github.com/smartwalle", "github.com/wechatpay-apiv3")

// sandboxImporters are the only production packages that may wire in the
// sandboxes: the sandbox command, the demo and the bench command.
var sandboxImporters = exactly("cmd/sandbox", "cmd/xhspay", "cmd/bench", "internal/devstack")

// rules are the dependency rules of the design.
func rules() []rule {
	return []rule{
		{
			name:   "no production package imports sandbox",
			from:   allOf(project(), not(project("sandbox")), not(sandboxImporters)),
			forbid: project("sandbox"),
		},
		{
			name:       "workflows import no adapter, provider SDK or Temporal server",
			requires:   "workflows",
			from:       project("workflows"),
			forbid:     anyOf(adapters, sdks, under("go.temporal.io/server")),
			transitive: true,
		},
		{
			name:     "money imports nothing of the project",
			requires: "money",
			from:     project("money"),
			forbid:   allOf(project(), not(project("money"))),
		},
		{
			name:     "ledger imports only money of the project",
			requires: "ledger",
			from:     project("ledger"),
			forbid:   allOf(project(), not(project("money", "ledger"))),
		},
		{
			name:     "cbec imports only money of the project",
			requires: "cbec",
			from:     project("cbec"),
			forbid:   allOf(project(), not(project("money", "cbec"))),
		},
		{
			name:     "providers (the ports) import only money of the project",
			requires: "providers",
			from:     exactly("providers"),
			forbid:   anyOf(allOf(project(), not(project("money"))), sdks),
		},
		{
			name:       "sandboxes import no adapter or provider SDK",
			requires:   "sandbox",
			from:       project("sandbox"),
			forbid:     anyOf(adapters, sdks),
			transitive: true,
		},
		{
			name:       "client links neither the Temporal SDK nor the server",
			requires:   "client",
			from:       project("client"),
			forbid:     under("go.temporal.io/sdk", "go.temporal.io/server"),
			transitive: true,
		},
	}
}

// applies reports whether the packages the rule is about exist in g.
func (r rule) applies(g graph) bool {
	return r.requires == "" || g.has(module+"/"+r.requires)
}

// violations returns one message per forbidden import, naming the importer,
// the import and, for a transitive one, the chain of imports leading to it.
// A transitive search does not look past a forbidden package, so each message
// names the first forbidden package on its path.
func (r rule) violations(g graph) []string {
	var out []string
	for _, pkg := range sortedKeys(g) {
		if !project()(pkg) || !r.from(pkg) {
			continue
		}
		if !r.transitive {
			for _, imp := range g[pkg] {
				if r.forbid(imp) {
					out = append(out, fmt.Sprintf("%s: %s imports %s", r.name, pkg, imp))
				}
			}
			continue
		}
		parent := map[string]string{pkg: ""}
		queue := []string{pkg}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, imp := range g[cur] {
				if _, seen := parent[imp]; seen {
					continue
				}
				parent[imp] = cur
				if r.forbid(imp) {
					out = append(out, fmt.Sprintf("%s: %s imports %s (via %s)", r.name, pkg, imp, chain(parent, imp)))
					continue
				}
				queue = append(queue, imp)
			}
		}
	}
	return out
}

// chain renders the import path from the search's root to pkg.
func chain(parent map[string]string, pkg string) string {
	var path []string
	for p := pkg; p != ""; p = parent[p] {
		path = append(path, p)
	}
	slices.Reverse(path)
	return strings.Join(path, " -> ")
}

func sortedKeys(g graph) []string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
