package devstack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xhspay/xhspay/internal/codec"
	"github.com/xhspay/xhspay/starter/api"
)

// SecretsFile is the file in Config.DataDir that keeps the demo's generated
// secrets, so that a later run on the same folder still decrypts the
// histories, hashes buyers the same way and accepts the same API keys.
const SecretsFile = "demo-secrets.json"

// demoKeyID is the id of the generated payload encryption key.
const demoKeyID = "demo-1"

// secrets are the demo's generated secrets.
type secrets struct {
	// CodecKeys is the payload keyring in the XHSPAY_CODEC_KEYS form.
	CodecKeys string `json:"codecKeys"`
	// BuyerHashKey is the hex key of buyer ID hashes.
	BuyerHashKey string `json:"buyerHashKey"`
	// APIKeys are the demo merchants' API keys by merchant id.
	APIKeys map[string]string `json:"apiKeys"`
}

// generateSecrets makes a fresh set of secrets for merchants.
func generateSecrets(merchants []string) (secrets, error) {
	key, err := codec.GenerateKey()
	if err != nil {
		return secrets{}, err
	}
	hashKey := make([]byte, 32)
	if _, err := rand.Read(hashKey); err != nil {
		return secrets{}, fmt.Errorf("devstack: generate buyer hash key: %w", err)
	}
	s := secrets{CodecKeys: demoKeyID + ":" + key, BuyerHashKey: hex.EncodeToString(hashKey), APIKeys: map[string]string{}}
	if err := s.fillAPIKeys(merchants); err != nil {
		return secrets{}, err
	}
	return s, nil
}

// fillAPIKeys generates an API key for every merchant that has none.
func (s *secrets) fillAPIKeys(merchants []string) error {
	if s.APIKeys == nil {
		s.APIKeys = map[string]string{}
	}
	for _, m := range merchants {
		if s.APIKeys[m] != "" {
			continue
		}
		key, _, err := api.GenerateAPIKey()
		if err != nil {
			return err
		}
		s.APIKeys[m] = key
	}
	return nil
}

// validate checks secrets read back from a file.
func (s secrets) validate() error {
	if _, err := codec.ParseKeyring(s.CodecKeys); err != nil {
		return fmt.Errorf("codecKeys: %w", err)
	}
	if k, err := hex.DecodeString(s.BuyerHashKey); err != nil || len(k) < 16 {
		return errors.New("buyerHashKey: must be at least 16 bytes, hex")
	}
	for m, k := range s.APIKeys {
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("apiKeys.%s: empty", m)
		}
	}
	return nil
}

// loadSecrets reads the secrets of dir, or generates and writes them (owner
// read/write only) when the file is missing; keys for merchants added since
// are generated and saved.
func loadSecrets(dir string, merchants []string) (secrets, error) {
	path := filepath.Join(dir, SecretsFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s, err := generateSecrets(merchants)
		if err != nil {
			return secrets{}, err
		}
		return s, writeSecrets(path, s)
	case err != nil:
		return secrets{}, fmt.Errorf("devstack: read %s: %w", path, err)
	}
	var s secrets
	if err := json.Unmarshal(b, &s); err != nil {
		return secrets{}, fmt.Errorf("devstack: %s: %w", path, err)
	}
	if err := s.validate(); err != nil {
		return secrets{}, fmt.Errorf("devstack: %s: %w", path, err)
	}
	missing := false
	for _, m := range merchants {
		missing = missing || s.APIKeys[m] == ""
	}
	if missing {
		if err := s.fillAPIKeys(merchants); err != nil {
			return secrets{}, err
		}
		return s, writeSecrets(path, s)
	}
	return s, nil
}

// writeSecrets writes s to path, readable by the owner only.
func writeSecrets(path string, s secrets) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("devstack: encode secrets: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("devstack: write secrets: %w", err)
	}
	return nil
}
