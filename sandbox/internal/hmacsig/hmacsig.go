// Package hmacsig is the provider side of the HMAC-signed JSON protocol the
// customs, card PSP and FX sandboxes speak: it verifies signed requests, signs
// responses, sends signed notifications with retries, and carries what the
// three sandboxes share around it (their common error codes, the signed
// endpoints with fault injection, the background sweeper). It is written apart
// from the adapters' client code on purpose, so that adapter tests against the
// sandboxes check one implementation against another.
//
// The signature is the lower-case hex HMAC-SHA256 under the shared secret of
// timestamp + "\n" + method + "\n" + path + "\n" + body, carried with the key id
// and the timestamp (Unix seconds, ±5 minutes) in the X-Xhs-Key-Id,
// X-Xhs-Timestamp and X-Xhs-Signature headers. A response is signed over the
// request's method and target; a notification over POST and the notify URL's
// path and query.
package hmacsig

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Protocol headers.
const (
	headerKeyID     = "X-Xhs-Key-Id"
	headerTimestamp = "X-Xhs-Timestamp"
	headerSignature = "X-Xhs-Signature"
)

// Codes every HMAC sandbox answers with.
const (
	// CodeInvalidRequest is a malformed or invalid request.
	CodeInvalidRequest = "INVALID_REQUEST"
	// CodeKeyUnknown means the X-Xhs-Key-Id is not a key of this account.
	CodeKeyUnknown = "AUTH_KEY_UNKNOWN"
	// CodeSignatureInvalid means a missing or wrong signature.
	CodeSignatureInvalid = "SIGNATURE_INVALID"
	// CodeTimestampExpired means the timestamp is more than five minutes off.
	CodeTimestampExpired = "TIMESTAMP_EXPIRED"
	// CodeRouteNotFound is a request to no endpoint.
	CodeRouteNotFound = "ROUTE_NOT_FOUND"
	// CodeRateLimited is a frequency limit.
	CodeRateLimited = "RATE_LIMITED"
	// CodeSystemError is an internal failure.
	CodeSystemError = "SYSTEM_ERROR"
	// CodeServiceUnavailable is a maintenance window or overload.
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
)

// skew is how far a request's timestamp may be from the sandbox's clock.
const skew = 5 * time.Minute

// maxRequest bounds a request body.
const maxRequest = 1 << 20

// Signer holds one account's key and signs and verifies messages with it.
// Signatures always use the real clock, whatever business clock a sandbox runs.
type Signer struct {
	// KeyID names the key.
	KeyID string
	// Secret is the shared secret.
	Secret string
}

// Sum returns the hex signature of a message.
func (s Signer) Sum(timestamp, method, path string, body []byte) string {
	h := hmac.New(sha256.New, []byte(s.Secret))
	fmt.Fprintf(h, "%s\n%s\n%s\n", timestamp, method, path)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// APIError is a refused API call: the code and message to answer with.
type APIError struct {
	// Code is the provider's error code.
	Code string
	// Message explains it.
	Message string
}

// Error formats the failure.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an APIError with a formatted message.
func Errorf(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an INVALID_REQUEST APIError with a formatted message.
func Invalid(format string, args ...any) *APIError {
	return Errorf(CodeInvalidRequest, format, args...)
}

// ReadRequest reads a request's body and checks its signature.
func (s Signer) ReadRequest(r *http.Request) ([]byte, *APIError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		return nil, &APIError{CodeSignatureInvalid, "request body unreadable: " + err.Error()}
	}
	kid, ts, sig := r.Header.Get(headerKeyID), r.Header.Get(headerTimestamp), r.Header.Get(headerSignature)
	switch {
	case kid == "" || ts == "" || sig == "":
		return nil, &APIError{CodeSignatureInvalid, "headers " + headerKeyID + ", " + headerTimestamp + " and " + headerSignature + " are required"}
	case kid != s.KeyID:
		return nil, &APIError{CodeKeyUnknown, fmt.Sprintf("key %q is not known", kid)}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, &APIError{CodeTimestampExpired, fmt.Sprintf("%s %q must be Unix seconds", headerTimestamp, ts)}
	}
	if d := time.Since(time.Unix(sec, 0)); d > skew || d < -skew {
		return nil, &APIError{CodeTimestampExpired, fmt.Sprintf("%s is %s away from server time, more than %s", headerTimestamp, d.Round(time.Second), skew)}
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.raw(ts, r.Method, r.RequestURI, body)) {
		return nil, &APIError{CodeSignatureInvalid, "signature does not match " + r.Method + " " + r.RequestURI}
	}
	return body, nil
}

func (s Signer) raw(timestamp, method, path string, body []byte) []byte {
	b, _ := hex.DecodeString(s.Sum(timestamp, method, path, body))
	return b
}

// WriteJSON answers r with v as a signed JSON body.
func (s Signer) WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"code":"SYSTEM_ERROR","message":"encode response"}`)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(headerKeyID, s.KeyID)
	h.Set(headerTimestamp, ts)
	h.Set(headerSignature, s.Sum(ts, r.Method, r.RequestURI, body))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ErrorBody is the protocol's error answer.
type ErrorBody struct {
	// Code is the provider's error code.
	Code string `json:"code"`
	// Message explains it.
	Message string `json:"message"`
}

// WriteError answers r with a signed error.
func (s Signer) WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	s.WriteJSON(w, r, status, ErrorBody{Code: code, Message: message})
}

// NewID returns a random identifier with a prefix, such as "ntf_3f9a…".
func NewID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// DecodeJSON decodes a request body strictly (unknown fields refused) into v.
func DecodeJSON(body []byte, v any) error {
	dec, err := decodeStrict(bytes.NewReader(body), v)
	if err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("malformed JSON body: trailing data")
	}
	return nil
}

// DecodeControl decodes the JSON body of an unsigned control request (at most
// 1 MiB, unknown fields refused) into v.
func DecodeControl(w http.ResponseWriter, r *http.Request, v any) error {
	_, err := decodeStrict(http.MaxBytesReader(w, r.Body, maxRequest), v)
	return err
}

// decodeStrict decodes one JSON value from r into v, refusing unknown fields,
// and returns the decoder for a look at what follows.
func decodeStrict(r io.Reader, v any) (*json.Decoder, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("malformed JSON body: %w", err)
	}
	return dec, nil
}
