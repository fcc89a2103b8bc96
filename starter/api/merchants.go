package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/xhspay/xhspay/money"
)

// ErrUnauthenticated is returned by MerchantStore.Authenticate for a key no
// merchant holds.
var ErrUnauthenticated = errors.New("api: unknown API key")

// ErrUnknownMerchant is returned by MerchantStore.Merchant for an unknown id.
var ErrUnknownMerchant = errors.New("api: unknown merchant")

// Merchant is a store (a brand) that calls the API.
type Merchant struct {
	// ID identifies the merchant in order ids ([A-Za-z0-9_], 1-32).
	ID string `json:"id"`
	// Name is the merchant's display name.
	Name string `json:"name"`
	// HomeCurrency is the currency the merchant is settled in.
	HomeCurrency money.Currency `json:"homeCurrency"`
	// KeyHashes are the SHA-256 hashes (lower-case hex) of the merchant's API
	// keys; several keys are valid at once so that keys can be rotated.
	KeyHashes []string `json:"keyHashes"`
	// CustomsPlatformCode is the merchant's e-commerce platform customs registration code.
	CustomsPlatformCode string `json:"customsPlatformCode,omitempty"`
	// CustomsPlatformName is the platform's registered name at customs.
	CustomsPlatformName string `json:"customsPlatformName,omitempty"`
	// Disabled refuses every key of the merchant.
	Disabled bool `json:"disabled,omitempty"`
	// Operator marks the platform's own finance account: its key reads every
	// merchant's finance reports and the reconciliations.
	Operator bool `json:"operator,omitempty"`
}

// MerchantStore looks merchants up by API key and by id.
type MerchantStore interface {
	// Authenticate returns the merchant holding apiKey, or ErrUnauthenticated.
	Authenticate(ctx context.Context, apiKey string) (Merchant, error)
	// Merchant returns the merchant with the id, or ErrUnknownMerchant.
	Merchant(ctx context.Context, id string) (Merchant, error)
}

var (
	merchantIDPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
	keyHashPattern    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// apiKeyPrefix starts every key GenerateAPIKey makes, so that leaked keys are
// easy to recognise in logs and by secret scanners.
const apiKeyPrefix = "xhspay_"

// GenerateAPIKey returns a new API key (the prefix "xhspay_" and 32 random
// bytes, base64url) and the hash to store for it.
func GenerateAPIKey() (key, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("api: generate key: %w", err)
	}
	key = apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return key, HashAPIKey(key), nil
}

// HashAPIKey returns the lower-case hex SHA-256 of an API key, the form keys
// are stored in. A plain hash (no salt, no slow KDF) is sound here because the
// keys are 256-bit random values, not passwords: nothing can be guessed from
// the hash faster than the key itself.
func HashAPIKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// validate checks a merchant record.
func (m Merchant) validate() error {
	if !merchantIDPattern.MatchString(m.ID) {
		return fmt.Errorf("merchant id %q: must be 1-32 characters of [A-Za-z0-9_]", m.ID)
	}
	if !m.HomeCurrency.Known() {
		return fmt.Errorf("merchant %s: unknown homeCurrency %q", m.ID, string(m.HomeCurrency))
	}
	for i, h := range m.KeyHashes {
		if !keyHashPattern.MatchString(h) {
			return fmt.Errorf("merchant %s: keyHashes[%d] must be 64 lower-case hex characters (SHA-256)", m.ID, i)
		}
	}
	return nil
}

// MemoryMerchantStore is a MerchantStore held in memory.
type MemoryMerchantStore struct {
	mu        sync.RWMutex
	merchants map[string]Merchant
}

var _ MerchantStore = (*MemoryMerchantStore)(nil)

// NewMemoryMerchantStore returns a store holding merchants; it refuses
// invalid records and duplicate ids or key hashes.
func NewMemoryMerchantStore(merchants ...Merchant) (*MemoryMerchantStore, error) {
	s := &MemoryMerchantStore{}
	if err := s.Replace(merchants); err != nil {
		return nil, err
	}
	return s, nil
}

// Replace swaps the store's merchants for merchants, all at once.
func (s *MemoryMerchantStore) Replace(merchants []Merchant) error {
	byID := make(map[string]Merchant, len(merchants))
	hashes := map[string]string{}
	for _, m := range merchants {
		if err := m.validate(); err != nil {
			return err
		}
		if _, dup := byID[m.ID]; dup {
			return fmt.Errorf("merchant id %s appears twice", m.ID)
		}
		for _, h := range m.KeyHashes {
			if other, dup := hashes[h]; dup {
				return fmt.Errorf("merchants %s and %s share an API key", other, m.ID)
			}
			hashes[h] = m.ID
		}
		m.KeyHashes = append([]string(nil), m.KeyHashes...)
		byID[m.ID] = m
	}
	s.mu.Lock()
	s.merchants = byID
	s.mu.Unlock()
	return nil
}

// Authenticate returns the merchant holding apiKey. It hashes the key and
// compares the hash with every stored hash in constant time, without stopping
// at the first match, so the timing says nothing about which keys exist.
func (s *MemoryMerchantStore) Authenticate(_ context.Context, apiKey string) (Merchant, error) {
	if apiKey == "" {
		return Merchant{}, ErrUnauthenticated
	}
	sum := sha256.Sum256([]byte(apiKey))
	var found Merchant
	matched := 0
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range s.merchants {
		for _, h := range m.KeyHashes {
			var stored [sha256.Size]byte
			if _, err := hex.Decode(stored[:], []byte(h)); err != nil {
				continue
			}
			if subtle.ConstantTimeCompare(sum[:], stored[:]) == 1 {
				found, matched = m, matched+1
			}
		}
	}
	if matched != 1 || found.Disabled {
		return Merchant{}, ErrUnauthenticated
	}
	return found, nil
}

// Merchant returns the merchant with the id.
func (s *MemoryMerchantStore) Merchant(_ context.Context, id string) (Merchant, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.merchants[id]
	if !ok {
		return Merchant{}, fmt.Errorf("%w: %q", ErrUnknownMerchant, id)
	}
	return m, nil
}

// merchantsFile is the JSON form of a merchants file.
type merchantsFile struct {
	Merchants []Merchant `json:"merchants"`
}

// FileMerchantStore is a MerchantStore read from a JSON file:
//
//	{"merchants":[{"id":"acme","name":"ACME Ltd","homeCurrency":"USD",
//	  "keyHashes":["<sha256 hex>", ...],"customsPlatformCode":"...","customsPlatformName":"..."}]}
//
// Reload re-reads it (the starter does on SIGHUP), so keys can be rotated
// without a restart: add the new key's hash, deploy the key, remove the old hash.
type FileMerchantStore struct {
	*MemoryMerchantStore
	path string
}

// LoadMerchantsFile reads a merchants file.
func LoadMerchantsFile(path string) (*FileMerchantStore, error) {
	s := &FileMerchantStore{MemoryMerchantStore: &MemoryMerchantStore{}, path: path}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the file; on error the previous merchants stay in place.
func (s *FileMerchantStore) Reload() error {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("api: read merchants file: %w", err)
	}
	var f merchantsFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("api: merchants file %s: %w", s.path, err)
	}
	if err := s.Replace(f.Merchants); err != nil {
		return fmt.Errorf("api: merchants file %s: %w", s.path, err)
	}
	return nil
}

// WriteMerchantsFile writes merchants to path in the form LoadMerchantsFile
// reads, readable by the owner only.
func WriteMerchantsFile(path string, merchants []Merchant) error {
	b, err := json.MarshalIndent(merchantsFile{Merchants: merchants}, "", "  ")
	if err != nil {
		return fmt.Errorf("api: encode merchants: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("api: write merchants file: %w", err)
	}
	return nil
}
