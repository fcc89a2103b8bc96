package codec_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xhspay/xhspay/internal/codec"
)

const (
	uiOrigin    = "http://127.0.0.1:8233"
	viewerToken = "viewer-token-0123456789"
	adminToken  = "operator-token-0123456789"
	oidcToken   = "oidc-access-token-from-the-ui"
	testNS      = "default"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

type serverFixture struct {
	codec   *codec.Codec
	handler http.Handler
}

func newServer(t *testing.T, adjust func(*codec.ServerOptions)) serverFixture {
	t.Helper()
	_, raw := newKey(t)
	c := newCodec(t, ring("k1", map[string][]byte{"k1": raw}))
	opts := codec.ServerOptions{
		Codec:          c,
		Namespaces:     []string{testNS},
		AllowedOrigins: []string{uiOrigin + "/"},
		DecodeTokens:   []string{viewerToken},
		EncodeTokens:   []string{adminToken},
		MaxBodyBytes:   64 << 10,
		Logger:         quietLog,
	}
	if adjust != nil {
		adjust(&opts)
	}
	h, err := codec.NewHandler(opts)
	require.NoError(t, err)
	return serverFixture{codec: c, handler: h}
}

// encryptedBody returns a /decode request body, as the Web UI sends it, for
// the buyer encrypted by c.
func encryptedBody(t *testing.T, c *codec.Codec) string {
	t.Helper()
	p, err := c.DataConverter().ToPayload(testBuyer)
	require.NoError(t, err)
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)
	assertNoPII(t, b)
	return string(b)
}

type req struct {
	method, path, body string
	headers            map[string]string
	remote             string
}

func (f serverFixture) do(r req) *httptest.ResponseRecorder {
	if r.method == "" {
		r.method = http.MethodPost
	}
	hr := httptest.NewRequest(r.method, "http://codec.test"+r.path, strings.NewReader(r.body))
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, hr)
	return w
}

func headers(token string, extra ...string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", codec.HeaderNamespace: testNS}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// decodedBuyer parses a /decode response and returns the clear JSON of its
// single payload.
func decodedJSON(t *testing.T, body []byte) string {
	t.Helper()
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &out))
	require.Len(t, out.Payloads, 1)
	p := out.Payloads[0]
	assert.Equal(t, "json/plain", string(p.Metadata[converter.MetadataEncoding]))
	return string(p.Data)
}

func TestCodecServerDecode(t *testing.T) {
	f := newServer(t, nil)
	w := f.do(req{path: "/codec/decode?preserveStorageRefs=true", body: encryptedBody(t, f.codec),
		headers: headers(viewerToken, "Origin", uiOrigin)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, uiOrigin, w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))

	var got Buyer
	require.NoError(t, json.Unmarshal([]byte(decodedJSON(t, w.Body.Bytes())), &got))
	assert.Equal(t, testBuyer, got)
}

func TestCodecServerEncodeThenDecode(t *testing.T) {
	f := newServer(t, nil)
	clear, err := converter.GetDefaultDataConverter().ToPayload(testBuyer)
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{clear}})
	require.NoError(t, err)

	w := f.do(req{path: "/encode", body: string(body), headers: headers(viewerToken)})
	assert.Equal(t, http.StatusForbidden, w.Code, "a viewer token must not encode")

	w = f.do(req{path: "/encode", body: string(body), headers: headers(adminToken)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assertNoPII(t, w.Body.Bytes())

	w = f.do(req{path: "/decode", body: w.Body.String(), headers: headers(adminToken)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, decodedJSON(t, w.Body.Bytes()), testIDNumber)
}

func TestCodecServerRefusals(t *testing.T) {
	f := newServer(t, nil)
	body := encryptedBody(t, f.codec)
	for _, tc := range []struct {
		name string
		req  req
		want int
	}{
		{"no token", req{path: "/decode", body: body, headers: headers("")}, http.StatusUnauthorized},
		{"wrong token", req{path: "/decode", body: body, headers: headers("not-a-valid-token-at-all")}, http.StatusUnauthorized},
		{"basic auth", req{path: "/decode", body: body, headers: headers("", "Authorization", "Basic dXNlcjpwYXNz")}, http.StatusUnauthorized},
		{"loopback needs a token by default", req{path: "/decode", body: body, headers: headers(""), remote: "127.0.0.1:5000"}, http.StatusUnauthorized},
		{"viewer encodes", req{path: "/encode", body: body, headers: headers(viewerToken)}, http.StatusForbidden},
		{"other origin", req{path: "/decode", body: body, headers: headers(viewerToken, "Origin", "https://evil.example")}, http.StatusForbidden},
		{"no namespace", req{path: "/decode", body: body, headers: headers(viewerToken, codec.HeaderNamespace, "")}, http.StatusBadRequest},
		{"other namespace", req{path: "/decode", body: body, headers: headers(viewerToken, codec.HeaderNamespace, "payroll")}, http.StatusForbidden},
		{"form content", req{path: "/decode", body: body, headers: headers(viewerToken, "Content-Type", "text/plain")}, http.StatusUnsupportedMediaType},
		{"GET", req{method: http.MethodGet, path: "/decode", headers: headers(viewerToken)}, http.StatusMethodNotAllowed},
		{"other path", req{path: "/codec/keys", body: body, headers: headers(adminToken)}, http.StatusNotFound},
		{"too large", req{path: "/decode", body: `{"payloads":[` + strings.Repeat(" ", 70<<10) + `]}`, headers: headers(viewerToken)}, http.StatusRequestEntityTooLarge},
		{"not payloads", req{path: "/decode", body: `{"payloads":"x"}`, headers: headers(viewerToken)}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tc.req)
			assert.Equal(t, tc.want, w.Code, w.Body.String())
			assertNoPII(t, w.Body.Bytes())
			if tc.want == http.StatusUnauthorized {
				assert.Equal(t, `Bearer realm="codec"`, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestCodecServerPreflight(t *testing.T) {
	f := newServer(t, nil)
	preflight := func(origin string) *httptest.ResponseRecorder {
		return f.do(req{method: http.MethodOptions, path: "/codec/decode", headers: map[string]string{
			"Origin":                                 origin,
			"Access-Control-Request-Method":          "POST",
			"Access-Control-Request-Headers":         "content-type,x-namespace,authorization",
			"Access-Control-Request-Private-Network": "true",
		}})
	}
	w := preflight(uiOrigin)
	require.Equal(t, http.StatusNoContent, w.Code)
	h := w.Header()
	assert.Equal(t, uiOrigin, h.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, h.Get("Access-Control-Allow-Methods"), "POST")
	for _, name := range []string{"Content-Type", "X-Namespace", "Authorization"} {
		assert.Contains(t, h.Get("Access-Control-Allow-Headers"), name)
	}
	assert.Contains(t, h.Values("Vary"), "Origin")
	assert.Equal(t, "true", h.Get("Access-Control-Allow-Private-Network"))

	w = preflight("http://127.0.0.1:9999")
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
}

func TestCodecServerLoopbackAnonymous(t *testing.T) {
	f := newServer(t, func(o *codec.ServerOptions) {
		o.DecodeTokens, o.EncodeTokens = nil, nil
		o.LoopbackAnonymous = codec.AccessDecode
	})
	body := encryptedBody(t, f.codec)
	for _, remote := range []string{"127.0.0.1:4000", "[::1]:4000"} {
		w := f.do(req{path: "/decode", body: body, headers: headers(""), remote: remote})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		assert.Contains(t, decodedJSON(t, w.Body.Bytes()), testIDNumber)
	}
	w := f.do(req{path: "/decode", body: body, headers: headers(""), remote: "192.0.2.7:4000"})
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	w = f.do(req{path: "/encode", body: body, headers: headers(""), remote: "127.0.0.1:4000"})
	assert.Equal(t, http.StatusUnauthorized, w.Code, "decode-only anonymous access must not encode")
	w = f.do(req{path: "/decode", body: body, headers: headers("a-wrong-token-on-loopback"), remote: "127.0.0.1:4000"})
	assert.Equal(t, http.StatusUnauthorized, w.Code, "a bad token must not fall back to anonymous access")
}

func TestCodecServerVerifyToken(t *testing.T) {
	var seen []string
	f := newServer(t, func(o *codec.ServerOptions) {
		o.VerifyToken = func(_ context.Context, token string) (codec.Access, error) {
			seen = append(seen, token)
			if token == oidcToken {
				return codec.AccessDecode, nil
			}
			return codec.AccessNone, errors.New("unknown issuer")
		}
	})
	body := encryptedBody(t, f.codec)
	w := f.do(req{path: "/decode", body: body, headers: headers(oidcToken)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = f.do(req{path: "/encode", body: body, headers: headers(oidcToken)})
	assert.Equal(t, http.StatusForbidden, w.Code)
	w = f.do(req{path: "/decode", body: body, headers: headers("forged-token-xxxxxxxx")})
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	w = f.do(req{path: "/decode", body: body, headers: headers(viewerToken)})
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, []string{oidcToken, oidcToken, "forged-token-xxxxxxxx"}, seen, "listed tokens must not reach the verifier")
}

// The SDK's remote codec is what the CLI and Go tools use; it must work
// against the server through a real HTTP listener.
func TestCodecServerWithRemoteCodec(t *testing.T) {
	f := newServer(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/codec/", f.handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+viewerToken)
			r.Header.Set(codec.HeaderNamespace, testNS)
			return nil
		},
	})
	p, err := f.codec.DataConverter().ToPayload(testBuyer)
	require.NoError(t, err)
	var got Buyer
	require.NoError(t, converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), remote).FromPayload(p, &got))
	assert.Equal(t, testBuyer, got)

	_, err = remote.Encode([]*commonpb.Payload{p})
	require.ErrorContains(t, err, "Forbidden")
}

func TestNewHandlerRejectsBadOptions(t *testing.T) {
	_, raw := newKey(t)
	c := newCodec(t, ring("k1", map[string][]byte{"k1": raw}))
	valid := func() codec.ServerOptions {
		return codec.ServerOptions{Codec: c, Namespaces: []string{testNS}, DecodeTokens: []string{viewerToken}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*codec.ServerOptions)
		want   string
	}{
		{"no codec", func(o *codec.ServerOptions) { o.Codec = nil }, "Codec is required"},
		{"no namespace", func(o *codec.ServerOptions) { o.Namespaces = nil }, "Namespaces must name"},
		{"blank namespace", func(o *codec.ServerOptions) { o.Namespaces = []string{" "} }, "Namespaces[0] is empty"},
		{"no auth", func(o *codec.ServerOptions) { o.DecodeTokens = nil }, "no authentication configured"},
		{"short token", func(o *codec.ServerOptions) { o.EncodeTokens = []string{"secret"} }, "EncodeTokens[0] must be at least 16 characters"},
		{"wildcard origin", func(o *codec.ServerOptions) { o.AllowedOrigins = []string{"*"} }, `AllowedOrigins[0]: "*" is not allowed`},
		{"origin with path", func(o *codec.ServerOptions) { o.AllowedOrigins = []string{"http://ui/x"} }, "must be scheme://host[:port]"},
		{"negative body", func(o *codec.ServerOptions) { o.MaxBodyBytes = -1 }, "MaxBodyBytes -1 must not be negative"},
		{"bad access", func(o *codec.ServerOptions) { o.LoopbackAnonymous = 7 }, "not an access level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.mutate(&o)
			_, err := codec.NewHandler(o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	noAuth := valid()
	noAuth.DecodeTokens = nil
	_, err := codec.NewHandler(noAuth)
	require.ErrorIs(t, err, codec.ErrNoAuth, "callers tell a missing configuration from a broken one")
	_, err = codec.NewHandler(valid())
	require.NoError(t, err)
}

func TestServerOptionsFromEnv(t *testing.T) {
	env := map[string]string{
		codec.OriginsEnv:      uiOrigin + ", https://ops.example",
		codec.DecodeTokensEnv: viewerToken,
		codec.EncodeTokensEnv: " " + adminToken + " ,",
	}
	o := codec.ServerOptionsFromEnv(func(k string) string { return env[k] }, nil, testNS)
	assert.Equal(t, []string{uiOrigin, "https://ops.example"}, o.AllowedOrigins)
	assert.Equal(t, []string{viewerToken}, o.DecodeTokens)
	assert.Equal(t, []string{adminToken}, o.EncodeTokens)
	assert.Equal(t, []string{testNS}, o.Namespaces)
	assert.Empty(t, codec.ParseList(" , "))
}
