// Package codec keeps buyer identity (name, national ID number, phone) out of
// Temporal histories in clear: an AES-256-GCM payload codec that encrypts
// every payload the SDK writes (inputs, results, signals, updates, queries,
// memos, heartbeats, failure details), data and failure converters built on
// it, and a codec server handler the Temporal Web UI and CLI call to decode.
//
// Search attributes do not pass through payload codecs: they are stored and
// indexed in clear and must never carry personal data. Workflow ids, task
// queues and error types are not encrypted either.
//
// # Keys
//
// XHSPAY_CODEC_KEYS (or a file named by XHSPAY_CODEC_KEYS_FILE) holds
// "id:base64key,id:base64key" with 32-byte keys; the first is active. To
// rotate, put a new key first and keep the old ones after it until no
// retained history (namespace retention plus archival) still needs them;
// every worker, API process and codec server must get the new ring before
// the first payload is written with the new key, so deploy the ring with
// the new key listed second, then swap the order.
//
// # Codec server and the Web UI
//
// Mount NewHandler under a prefix (e.g. "/codec/") and give the UI the
// endpoint without the trailing /encode or /decode. The UI's browser code
// calls POST {endpoint}/decode?preserveStorageRefs=true directly, with the
// headers Content-Type: application/json and X-Namespace: <namespace>, so
// the UI's origin (scheme://host:port as the operator's browser sees it,
// e.g. http://127.0.0.1:8233, and http://localhost:8233 if used) must be in
// ServerOptions.AllowedOrigins. The UI's codec settings (ui-server config
// "codec:", or per browser in the UI's codec server dialog) are:
//
//   - endpoint: the codec server URL.
//   - passAccessToken: the UI adds "Authorization: Bearer <access token>"
//     (and "Authorization-Extras: <id token>"), where the token is the
//     signed-in user's OIDC access token. It needs UI login (auth) enabled
//     and an https:// endpoint; with http:// the UI refuses to send it and
//     decodes nothing. Check such tokens with ServerOptions.VerifyToken, or
//     issue the users' static tokens through DecodeTokens/EncodeTokens only
//     for CLI and tooling.
//   - includeCredentials: the browser sends cookies (fetch credentials
//     "include"); the server answers with Access-Control-Allow-Credentials,
//     which it always does for allowed origins. Use it when an SSO proxy in
//     front of the codec server authenticates by cookie and forwards a
//     bearer token.
//
// A UI without login sends no token at all: for a local demo on one machine
// set ServerOptions.LoopbackAnonymous to AccessDecode, which lets loopback
// peers decode without a token and nobody else.
//
// The CLI passes a token with --codec-endpoint and --codec-auth "Bearer
// <token>"; Go tools use converter.NewRemotePayloadCodec with a
// ModifyRequest that sets Authorization and X-Namespace.
package codec
