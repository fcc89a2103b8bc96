package codec

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
)

const (
	// KeysEnv names the environment variable holding the keyring in the form
	// "id:base64key,id:base64key"; the first entry is the active key.
	KeysEnv = "XHSPAY_CODEC_KEYS"
	// KeysFileEnv names a file holding the keyring in the same form, for
	// secret mounts; KeysEnv wins when both are set.
	KeysFileEnv = "XHSPAY_CODEC_KEYS_FILE"
	// KeySize is the AES-256 key length in bytes.
	KeySize = 32
)

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ErrNoKeys means no keyring was configured.
var ErrNoKeys = errors.New("codec: no encryption keys configured")

// Keyring holds the payload encryption keys by id. Active encrypts new
// payloads; every key in Keys decrypts, so a rotated-out key stays in the
// ring until no retained history needs it.
type Keyring struct {
	// Active is the id of the key that encrypts new payloads.
	Active string
	// Keys maps key ids to 32-byte AES-256 keys.
	Keys map[string][]byte
}

// Validate checks that the ring is usable: a non-empty active id present in
// Keys, valid ids, and 32-byte keys.
func (k Keyring) Validate() error {
	if len(k.Keys) == 0 {
		return ErrNoKeys
	}
	if k.Active == "" {
		return errors.New("codec: keyring: active key id is empty")
	}
	if _, ok := k.Keys[k.Active]; !ok {
		return fmt.Errorf("codec: keyring: active key id %q is not in the ring", k.Active)
	}
	for _, id := range k.IDs() {
		if !keyIDPattern.MatchString(id) {
			return fmt.Errorf("codec: keyring: key id %q must be 1-64 characters of A-Z a-z 0-9 . _ -", id)
		}
		if n := len(k.Keys[id]); n != KeySize {
			return fmt.Errorf("codec: keyring: key %q must be %d bytes (AES-256), got %d", id, KeySize, n)
		}
	}
	return nil
}

// IDs returns the ring's key ids, the active one first and the rest sorted.
func (k Keyring) IDs() []string {
	ids := make([]string, 0, len(k.Keys))
	for id := range k.Keys {
		if id != k.Active {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if _, ok := k.Keys[k.Active]; ok {
		ids = append([]string{k.Active}, ids...)
	}
	return ids
}

// String describes the ring by key ids only; key material is never printed.
func (k Keyring) String() string {
	return fmt.Sprintf("Keyring{active=%s keys=%s}", k.Active, strings.Join(k.IDs(), ","))
}

// GoString is String, so %#v cannot print key material either.
func (k Keyring) GoString() string { return k.String() }

// LogValue logs the ring by key ids only.
func (k Keyring) LogValue() slog.Value {
	return slog.GroupValue(slog.String("active", k.Active), slog.Any("keys", k.IDs()))
}

// ParseKeyring parses "id:base64key,id:base64key"; the first entry becomes
// the active key. Keys may use standard or URL-safe base64, padded or not.
// Errors name the entry and the rule but never echo key material.
func ParseKeyring(s string) (Keyring, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Keyring{}, ErrNoKeys
	}
	ring := Keyring{Keys: map[string][]byte{}}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		id, enc, ok := strings.Cut(entry, ":")
		id, enc = strings.TrimSpace(id), strings.TrimSpace(enc)
		if !ok || id == "" || enc == "" {
			return Keyring{}, fmt.Errorf("codec: keyring entry %d: want id:base64key", i+1)
		}
		if !keyIDPattern.MatchString(id) {
			return Keyring{}, fmt.Errorf("codec: keyring entry %d: key id %q must be 1-64 characters of A-Z a-z 0-9 . _ -", i+1, id)
		}
		if _, dup := ring.Keys[id]; dup {
			return Keyring{}, fmt.Errorf("codec: keyring entry %d: key id %q appears twice", i+1, id)
		}
		key, err := decodeKey(enc)
		if err != nil {
			return Keyring{}, fmt.Errorf("codec: keyring entry %d (%q): key is not base64", i+1, id)
		}
		if len(key) != KeySize {
			return Keyring{}, fmt.Errorf("codec: keyring entry %d (%q): key must be %d bytes (AES-256), got %d", i+1, id, KeySize, len(key))
		}
		ring.Keys[id] = key
		if i == 0 {
			ring.Active = id
		}
	}
	return ring, nil
}

func decodeKey(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// KeyringFromEnv reads the keyring from KeysEnv, or from the file named by
// KeysFileEnv. It returns ErrNoKeys when neither is set.
func KeyringFromEnv() (Keyring, error) {
	if v := os.Getenv(KeysEnv); strings.TrimSpace(v) != "" {
		ring, err := ParseKeyring(v)
		if err != nil {
			return Keyring{}, fmt.Errorf("%s: %w", KeysEnv, err)
		}
		return ring, nil
	}
	if path := os.Getenv(KeysFileEnv); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Keyring{}, fmt.Errorf("%s: %w", KeysFileEnv, err)
		}
		ring, err := ParseKeyring(string(b))
		if err != nil {
			return Keyring{}, fmt.Errorf("%s: %w", KeysFileEnv, err)
		}
		return ring, nil
	}
	return Keyring{}, ErrNoKeys
}

// GenerateKey returns a new random AES-256 key in standard base64, ready for
// an "id:key" keyring entry.
func GenerateKey() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("codec: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}
