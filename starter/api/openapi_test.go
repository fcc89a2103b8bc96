package api

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// spec is the part of an OpenAPI document the route test reads.
type spec struct {
	OpenAPI string                    `yaml:"openapi"`
	Paths   map[string]map[string]any `yaml:"paths"`
}

var pathParam = regexp.MustCompile(`\{[A-Za-z]+\}`)

// specRoutes returns "METHOD /path" for every operation of the spec.
func specRoutes(t *testing.T) []string {
	t.Helper()
	var s spec
	require.NoError(t, yaml.Unmarshal(OpenAPISpec, &s))
	require.True(t, strings.HasPrefix(s.OpenAPI, "3."), "an OpenAPI 3 document")
	var out []string
	for path, item := range s.Paths {
		for key := range item {
			switch key {
			case "get", "post", "put", "patch", "delete":
				out = append(out, strings.ToUpper(key)+" "+path)
			case "parameters", "summary", "description":
			default:
				t.Errorf("unexpected key %q under %s", key, path)
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIMatchesTheRoutes(t *testing.T) {
	f := newFixture(t)
	fromSpec := specRoutes(t)
	require.NotEmpty(t, fromSpec)

	// Every operation of the spec reaches the mux pattern of the same name.
	for _, op := range fromSpec {
		method, path, _ := strings.Cut(op, " ")
		concrete := pathParam.ReplaceAllStringFunc(path, func(p string) string {
			switch p {
			case "{provider}":
				return "alipay"
			case "{id}", "{orderId}":
				return "order-m1-A1"
			}
			return "x1"
		})
		_, pattern := f.srv.mux.Handler(httptest.NewRequest(method, concrete, nil))
		assert.Equal(t, op, pattern, "spec operation %s is served by its own route", op)
	}

	// Every route is in the spec.
	var fromRoutes []string
	for _, rt := range routes {
		fromRoutes = append(fromRoutes, rt.pattern())
	}
	sort.Strings(fromRoutes)
	assert.Equal(t, fromRoutes, fromSpec)
}

func TestOpenAPIDescribesAuthAndErrors(t *testing.T) {
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(OpenAPISpec, &doc))
	paths := doc["paths"].(map[string]any)
	for _, rt := range routes {
		op := paths[rt.path].(map[string]any)[strings.ToLower(rt.method)].(map[string]any)
		responses := op["responses"].(map[string]any)
		sec, hasSec := op["security"]
		if rt.auth {
			assert.False(t, hasSec, "%s uses the global API key security", rt.pattern())
			assert.Contains(t, responses, "401", rt.pattern())
			if rt.method == http.MethodPost {
				assert.Contains(t, responses, "400", rt.pattern())
			}
		} else {
			assert.Equal(t, []any{}, sec, "%s takes no API key", rt.pattern())
		}
	}
}
