package wechatpay

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // WeChat Pay's sensitive-field encryption is RSA-OAEP with SHA-1.
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// authScheme is the only Authorization scheme APIv3 accepts.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// maxClockSkew is how far a signed timestamp may be from real time.
const maxClockSkew = 5 * time.Minute

// verifyRequest checks a request's Authorization header: scheme, merchant id,
// serial number, timestamp within five minutes, and the SHA256-RSA signature
// over "METHOD\nURI\nTIMESTAMP\nNONCE\nBODY\n" with the raw body.
func (s *Sandbox) verifyRequest(r *http.Request, body []byte) error {
	h := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(h, authScheme+" ")
	if !ok {
		return fmt.Errorf("authorization header: must use the %s scheme", authScheme)
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("authorization header: parameter %q is not key=\"value\"", part)
		}
		v, err := strconv.Unquote(v)
		if err != nil {
			return fmt.Errorf("authorization header: parameter %s is not quoted", k)
		}
		params[k] = v
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if params[k] == "" {
			return fmt.Errorf("authorization header: lacks %s", k)
		}
	}
	if params["mchid"] != s.cfg.MchID {
		return fmt.Errorf("authorization header: mchid %q is not this merchant", params["mchid"])
	}
	if params["serial_no"] != s.cfg.MerchantSerialNo {
		return fmt.Errorf("authorization header: serial_no %q is not the merchant certificate's", params["serial_no"])
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil {
		return errors.New("authorization header: timestamp is not a number")
	}
	if skew := time.Since(time.Unix(ts, 0)); skew > maxClockSkew || skew < -maxClockSkew {
		return fmt.Errorf("authorization header: timestamp is %s away from now (limit 5m)", skew.Round(time.Second))
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return errors.New("authorization header: signature is not base64")
	}
	msg := r.Method + "\n" + requestURI(r) + "\n" + params["timestamp"] + "\n" + params["nonce_str"] + "\n" + string(body) + "\n"
	digest := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(s.cfg.MerchantPublicKey, crypto.SHA256, digest[:], sig); err != nil {
		return errors.New("authorization header: signature does not verify with the merchant key")
	}
	return nil
}

// requestURI is the request target as the client sent and signed it.
func requestURI(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" || strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
		return r.URL.RequestURI()
	}
	return uri
}

// signResponse adds the platform signature headers for body.
func (s *Sandbox) signResponse(h http.Header, body []byte) {
	ts, nonce, sig := s.signMessage(body)
	h.Set("Wechatpay-Serial", s.pubKeyID)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Signature-Type", authScheme)
	h.Set("Request-Id", randAlnum(8)+"-"+randAlnum(4)+"-"+randAlnum(12))
}

// signMessage signs "TIMESTAMP\nNONCE\nBODY\n" with the platform key at the real time.
func (s *Sandbox) signMessage(body []byte) (ts, nonce, sig string) {
	ts = strconv.FormatInt(time.Now().Unix(), 10)
	nonce = randAlnum(32)
	digest := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	raw, err := rsa.SignPKCS1v15(rand.Reader, s.platformKey, crypto.SHA256, digest[:])
	if err != nil {
		// Signing with a valid RSA key only fails if the entropy source does.
		panic(fmt.Sprintf("wechatpay sandbox: sign response: %v", err))
	}
	return ts, nonce, base64.StdEncoding.EncodeToString(raw)
}

// encryptedResource is a notification's AEAD_AES_256_GCM encrypted resource.
type encryptedResource struct {
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	OriginalType   string `json:"original_type"`
	Nonce          string `json:"nonce"`
}

// encryptResource seals plaintext under the APIv3 key: AES-256-GCM with a
// 12-character nonce string and associatedData as AAD; the ciphertext is
// base64(ct || tag).
func (s *Sandbox) encryptResource(plaintext []byte, associatedData, originalType string) (encryptedResource, error) {
	block, err := aes.NewCipher([]byte(s.apiV3Key))
	if err != nil {
		return encryptedResource{}, fmt.Errorf("aes key: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return encryptedResource{}, fmt.Errorf("gcm: %w", err)
	}
	nonce := randAlnum(12)
	ct := gcm.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))
	return encryptedResource{
		Algorithm:      "AEAD_AES_256_GCM",
		Ciphertext:     base64.StdEncoding.EncodeToString(ct),
		AssociatedData: associatedData,
		OriginalType:   originalType,
		Nonce:          nonce,
	}, nil
}

// decryptSensitive decrypts a field the merchant encrypted with the platform
// public key (RSA-OAEP with SHA-1, base64).
func (s *Sandbox) decryptSensitive(field, b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("%s is not base64: %w", field, err)
	}
	pt, err := rsa.DecryptOAEP(sha1.New(), rand.Reader, s.platformKey, raw, nil) //nolint:gosec // protocol-mandated.
	if err != nil {
		return "", fmt.Errorf("%s does not decrypt with the platform key", field)
	}
	return string(pt), nil
}

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	digits = "0123456789"
)

// randFrom returns n characters drawn uniformly from alphabet.
func randFrom(alphabet string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("wechatpay sandbox: entropy: %v", err))
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// randAlnum returns n random letters and digits.
func randAlnum(n int) string { return randFrom(alnum, n) }

// randDigits returns n random digits.
func randDigits(n int) string { return randFrom(digits, n) }

// baseURL is the scheme and host the request reached the sandbox at.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host}).String()
}
