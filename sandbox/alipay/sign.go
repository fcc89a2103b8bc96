package alipay

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"sort"
	"strings"
	"time"
)

// signContent builds Alipay's string to sign: every parameter except the
// excluded ones and the empty ones, as raw (not URL-encoded) key=value pairs
// sorted by key and joined by "&". A parameter given more than once is refused.
func signContent(params url.Values, exclude ...string) (string, error) {
	skip := make(map[string]bool, len(exclude))
	for _, k := range exclude {
		skip[k] = true
	}
	keys := make([]string, 0, len(params))
	for k, vs := range params {
		if skip[k] {
			continue
		}
		if len(vs) > 1 {
			return "", fmt.Errorf("parameter %q is given %d times", k, len(vs))
		}
		if len(vs) == 0 || vs[0] == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params.Get(k))
	}
	return b.String(), nil
}

// rsaSign signs content with SHA256withRSA (PKCS #1 v1.5) and returns the
// signature in standard base64, as Alipay's RSA2 does.
func rsaSign(key *rsa.PrivateKey, content []byte) (string, error) {
	h := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// rsaVerify checks a standard-base64 SHA256withRSA signature over content.
func rsaVerify(pub *rsa.PublicKey, content []byte, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	h := sha256.Sum256(content)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
}

// publicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block, the form Alipay's
// console shows and SDKs load.
func publicKeyPEM(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// certSN is Alipay's certificate serial: the hex MD5 of the issuer's
// distinguished name followed by the decimal serial number.
func certSN(cert *x509.Certificate) string {
	sum := md5.Sum([]byte(cert.Issuer.String() + cert.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

// gatewayCerts issues a self-signed root and a gateway certificate for key,
// for applications that use Alipay's certificate mode.
func gatewayCerts(key *rsa.PrivateKey, now time.Time) (rootPEM, certPEM []byte, sn, rootSN string, err error) {
	serial := func() (*big.Int, error) {
		return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	}
	rootSerial, err := serial()
	if err != nil {
		return nil, nil, "", "", err
	}
	root := &x509.Certificate{
		SerialNumber:          rootSerial,
		Subject:               pkix.Name{Country: []string{"CN"}, Organization: []string{"Ant Financial Sandbox"}, OrganizationalUnit: []string{"Certification Authority"}, CommonName: "Ant Financial Sandbox Root CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &key.PublicKey, key)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("create root certificate: %w", err)
	}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("parse root certificate: %w", err)
	}
	leafSerial, err := serial()
	if err != nil {
		return nil, nil, "", "", err
	}
	leaf := &x509.Certificate{
		SerialNumber:       leafSerial,
		Subject:            pkix.Name{Country: []string{"CN"}, Organization: []string{"Alipay Sandbox"}, OrganizationalUnit: []string{"Alipay Open Platform"}, CommonName: "Alipay Sandbox Gateway"},
		NotBefore:          now.Add(-time.Hour),
		NotAfter:           now.AddDate(5, 0, 0),
		KeyUsage:           x509.KeyUsageDigitalSignature,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, rootCert, &key.PublicKey, key)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("create gateway certificate: %w", err)
	}
	leafCert, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("parse gateway certificate: %w", err)
	}
	rootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	return rootPEM, certPEM, certSN(leafCert), certSN(rootCert), nil
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	const digits = "0123456789"
	return randomString(n, digits)
}

// randomString returns n random characters from alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(errors.New("crypto/rand failed: " + err.Error()))
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}
