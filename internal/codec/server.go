package codec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// ErrNoAuth is returned by NewHandler when no way to authenticate callers is
// configured: a codec server open to anyone would decrypt buyer identity for anyone.
var ErrNoAuth = errors.New("codec server: no authentication configured: set DecodeTokens, EncodeTokens, VerifyToken or LoopbackAnonymous")

// Access is what a codec server caller may do.
type Access int

const (
	// AccessNone allows nothing.
	AccessNone Access = iota
	// AccessDecode allows /decode: reading histories in clear (viewers).
	AccessDecode
	// AccessEncode allows /encode and /decode (operators who send signals or start workflows from the UI).
	AccessEncode
)

// String names the access level.
func (a Access) String() string {
	switch a {
	case AccessNone:
		return "none"
	case AccessDecode:
		return "decode"
	case AccessEncode:
		return "encode"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

const (
	// DefaultMaxBodyBytes bounds a codec request body when ServerOptions.MaxBodyBytes is zero.
	DefaultMaxBodyBytes int64 = 4 << 20
	// HeaderNamespace is the header the Web UI and the CLI send with the namespace being viewed.
	HeaderNamespace = "X-Namespace"

	allowHeaders = "Content-Type, X-Namespace, Authorization, Authorization-Extras"
	opEncode     = "encode"
	opDecode     = "decode"
)

// ServerOptions configures the codec server handler.
type ServerOptions struct {
	// Codec encodes and decodes; required.
	Codec converter.PayloadCodec
	// Namespaces lists the namespaces whose payloads callers may encode or
	// decode, matched against the X-Namespace header; required.
	Namespaces []string
	// AllowedOrigins are the browser origins (scheme://host[:port]) allowed
	// to call cross-origin, e.g. the Web UI's "http://127.0.0.1:8233". A
	// request carrying any other Origin is refused.
	AllowedOrigins []string
	// DecodeTokens are bearer tokens that may call /decode (viewers).
	DecodeTokens []string
	// EncodeTokens are bearer tokens that may call /encode and /decode.
	EncodeTokens []string
	// VerifyToken, when set, decides on bearer tokens that are in neither
	// list, e.g. the OIDC access token the Web UI forwards when its codec
	// setting passAccessToken is on. It returns AccessNone or an error to refuse.
	VerifyToken func(ctx context.Context, token string) (Access, error)
	// LoopbackAnonymous is the access given to callers without a token when
	// the peer is a loopback address: for a local demo whose Web UI has no
	// login and so sends no token. Keep AccessNone anywhere else.
	LoopbackAnonymous Access
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Logger receives refused requests at warn level (default slog.Default()).
	Logger *slog.Logger
}

type server struct {
	codec        http.Handler
	namespaces   map[string]bool
	origins      map[string]bool
	decodeTokens [][sha256.Size]byte
	encodeTokens [][sha256.Size]byte
	verify       func(context.Context, string) (Access, error)
	loopback     Access
	maxBody      int64
	log          *slog.Logger
}

// NewHandler returns the codec server: POST {prefix}/encode and
// {prefix}/decode in the Temporal remote codec protocol, with CORS for the
// allowed origins, bearer-token authentication, a namespace check and a body
// size limit. Mount it under any prefix, e.g. mux.Handle("/codec/", h), and
// give the UI the endpoint "https://host/codec".
func NewHandler(opts ServerOptions) (http.Handler, error) {
	if opts.Codec == nil {
		return nil, errors.New("codec server: Codec is required")
	}
	if len(opts.Namespaces) == 0 {
		return nil, errors.New("codec server: Namespaces must name at least one namespace")
	}
	if opts.LoopbackAnonymous < AccessNone || opts.LoopbackAnonymous > AccessEncode {
		return nil, fmt.Errorf("codec server: LoopbackAnonymous %v is not an access level", opts.LoopbackAnonymous)
	}
	if len(opts.DecodeTokens) == 0 && len(opts.EncodeTokens) == 0 && opts.VerifyToken == nil && opts.LoopbackAnonymous == AccessNone {
		return nil, ErrNoAuth
	}
	if opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("codec server: MaxBodyBytes %d must not be negative", opts.MaxBodyBytes)
	}
	s := &server{
		codec:      converter.NewPayloadCodecHTTPHandler(opts.Codec),
		namespaces: map[string]bool{},
		origins:    map[string]bool{},
		verify:     opts.VerifyToken,
		loopback:   opts.LoopbackAnonymous,
		maxBody:    opts.MaxBodyBytes,
		log:        opts.Logger,
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for i, ns := range opts.Namespaces {
		if strings.TrimSpace(ns) == "" {
			return nil, fmt.Errorf("codec server: Namespaces[%d] is empty", i)
		}
		s.namespaces[ns] = true
	}
	for i, o := range opts.AllowedOrigins {
		norm, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("codec server: AllowedOrigins[%d]: %w", i, err)
		}
		s.origins[norm] = true
	}
	var err error
	if s.decodeTokens, err = hashTokens("DecodeTokens", opts.DecodeTokens); err != nil {
		return nil, err
	}
	if s.encodeTokens, err = hashTokens("EncodeTokens", opts.EncodeTokens); err != nil {
		return nil, err
	}
	return s, nil
}

func hashTokens(field string, tokens []string) ([][sha256.Size]byte, error) {
	out := make([][sha256.Size]byte, 0, len(tokens))
	for i, t := range tokens {
		if len(t) < 16 {
			return nil, fmt.Errorf("codec server: %s[%d] must be at least 16 characters", field, i)
		}
		out = append(out, sha256.Sum256([]byte(t)))
	}
	return out, nil
}

// normalizeOrigin returns scheme://host[:port] in lower case, refusing
// wildcards, paths and schemes other than http and https.
func normalizeOrigin(o string) (string, error) {
	o = strings.TrimSuffix(strings.TrimSpace(o), "/")
	if o == "*" {
		return "", errors.New(`"*" is not allowed: the UI may send credentials, so origins must be listed`)
	}
	u, err := url.Parse(o)
	if err != nil {
		return "", fmt.Errorf("origin %q: %w", o, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("origin %q must be scheme://host[:port] with scheme http or https", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := path.Base(r.URL.Path)
	if op != opEncode && op != opDecode {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if len(s.origins) > 0 {
		h.Add("Vary", "Origin")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !s.originAllowed(origin) {
			s.refuse(w, r, op, http.StatusForbidden, "origin not allowed")
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method == http.MethodOptions {
		if r.Header.Get("Origin") == "" {
			s.refuse(w, r, op, http.StatusForbidden, "preflight without origin")
			return
		}
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", allowHeaders)
		h.Set("Access-Control-Max-Age", "600")
		if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			// A UI on another host calling a codec server on the operator's machine.
			h.Set("Access-Control-Allow-Private-Network", "true")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		h.Set("Allow", "POST, OPTIONS")
		s.refuse(w, r, op, http.StatusMethodNotAllowed, "method not allowed")
		return
	}

	access, authenticated := s.authenticate(r)
	need := AccessDecode
	if op == opEncode {
		need = AccessEncode
	}
	if access < need {
		if !authenticated {
			h.Set("WWW-Authenticate", `Bearer realm="codec"`)
			s.refuse(w, r, op, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		s.refuse(w, r, op, http.StatusForbidden, "token may not "+op)
		return
	}

	ns := r.Header.Get(HeaderNamespace)
	if ns == "" {
		s.refuse(w, r, op, http.StatusBadRequest, HeaderNamespace+" header is required")
		return
	}
	if !s.namespaces[ns] {
		s.refuse(w, r, op, http.StatusForbidden, "namespace not served")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.refuse(w, r, op, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.refuse(w, r, op, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", s.maxBody))
			return
		}
		s.refuse(w, r, op, http.StatusBadRequest, "cannot read body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.codec.ServeHTTP(w, r)
}

func (s *server) originAllowed(origin string) bool {
	norm, err := normalizeOrigin(origin)
	return err == nil && s.origins[norm]
}

// authenticate returns the caller's access and whether a credential (a
// bearer token) was accepted. Token comparison runs in constant time over
// every configured token.
func (s *server) authenticate(r *http.Request) (Access, bool) {
	token, ok := bearerToken(r)
	if !ok {
		if s.loopback > AccessNone && isLoopback(r.RemoteAddr) {
			return s.loopback, false
		}
		return AccessNone, false
	}
	sum := sha256.Sum256([]byte(token))
	encode, decode := 0, 0
	for _, t := range s.encodeTokens {
		encode |= subtle.ConstantTimeCompare(sum[:], t[:])
	}
	for _, t := range s.decodeTokens {
		decode |= subtle.ConstantTimeCompare(sum[:], t[:])
	}
	switch {
	case encode == 1:
		return AccessEncode, true
	case decode == 1:
		return AccessDecode, true
	case s.verify != nil:
		access, err := s.verify(r.Context(), token)
		if err != nil || access <= AccessNone {
			if err != nil {
				s.log.Warn("codec server: token verification failed", "remote", r.RemoteAddr, "error", err)
			}
			return AccessNone, false
		}
		return min(access, AccessEncode), true
	}
	return AccessNone, false
}

func bearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

func (s *server) refuse(w http.ResponseWriter, r *http.Request, op string, status int, reason string) {
	s.log.Warn("codec server: request refused", "op", op, "status", status, "reason", reason,
		"remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "namespace", r.Header.Get(HeaderNamespace))
	http.Error(w, reason, status)
}

// ParseList splits a comma-separated configuration value, trimming blanks
// and dropping empty entries.
func ParseList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return slices.Clip(out)
}

const (
	// DecodeTokensEnv names the environment variable with comma-separated viewer tokens (ServerOptions.DecodeTokens).
	DecodeTokensEnv = "XHSPAY_CODEC_DECODE_TOKENS"
	// EncodeTokensEnv names the environment variable with comma-separated operator tokens (ServerOptions.EncodeTokens).
	EncodeTokensEnv = "XHSPAY_CODEC_ENCODE_TOKENS"
	// OriginsEnv names the environment variable with comma-separated allowed origins (ServerOptions.AllowedOrigins).
	OriginsEnv = "XHSPAY_CODEC_ORIGINS"
)

// ServerOptionsFromEnv returns options serving namespaces with c, tokens
// from DecodeTokensEnv and EncodeTokensEnv, and origins from OriginsEnv;
// callers may adjust the rest before NewHandler.
func ServerOptionsFromEnv(getenv func(string) string, c converter.PayloadCodec, namespaces ...string) ServerOptions {
	return ServerOptions{
		Codec:          c,
		Namespaces:     namespaces,
		AllowedOrigins: ParseList(getenv(OriginsEnv)),
		DecodeTokens:   ParseList(getenv(DecodeTokensEnv)),
		EncodeTokens:   ParseList(getenv(EncodeTokensEnv)),
	}
}
