package app

import (
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
)

// Env returns the environment variable name's value, or def when unset or empty.
func Env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// Settings are the settings the worker, the API and the demo share.
type Settings struct {
	// TaskQueue is the orders' task queue (XHSPAY_TASK_QUEUE).
	TaskQueue string
	// ProvidersDir holds the provider credentials (XHSPAY_PROVIDERS_DIR).
	ProvidersDir string
	// PublicBaseURL is the API's address as providers reach it (XHSPAY_PUBLIC_BASE_URL).
	PublicBaseURL string
	// CustomsCode is the customs office (XHSPAY_CUSTOMS_CODE).
	CustomsCode string
	// PlatformCode is the platform's customs code (XHSPAY_PLATFORM_CODE).
	PlatformCode string
	// PlatformName is the platform's registered name (XHSPAY_PLATFORM_NAME).
	PlatformName string
	// BuyerHashKey is the hex or base64 key of buyer ID hashes (XHSPAY_BUYER_HASH_KEY).
	BuyerHashKey string
}

// RegisterFlags binds the settings to flags on fs, with defaults from the environment.
func (s *Settings) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.TaskQueue, "task-queue", Env("XHSPAY_TASK_QUEUE", DefaultTaskQueue), "orders' task queue (env XHSPAY_TASK_QUEUE)")
	fs.StringVar(&s.ProvidersDir, "providers-dir", Env("XHSPAY_PROVIDERS_DIR", "sandbox-credentials"), "folder of provider credentials (env XHSPAY_PROVIDERS_DIR)")
	fs.StringVar(&s.PublicBaseURL, "public-base-url", Env("XHSPAY_PUBLIC_BASE_URL", "http://127.0.0.1:8080"), "the API's base URL as providers reach it (env XHSPAY_PUBLIC_BASE_URL)")
	fs.StringVar(&s.CustomsCode, "customs-code", Env("XHSPAY_CUSTOMS_CODE", "HANGZHOU"), "customs office of the declarations (env XHSPAY_CUSTOMS_CODE)")
	fs.StringVar(&s.PlatformCode, "platform-code", Env("XHSPAY_PLATFORM_CODE", "3301960XHS"), "e-commerce platform customs code (env XHSPAY_PLATFORM_CODE)")
	fs.StringVar(&s.PlatformName, "platform-name", Env("XHSPAY_PLATFORM_NAME", "xhspay cross-border store"), "e-commerce platform registered name (env XHSPAY_PLATFORM_NAME)")
	fs.StringVar(&s.BuyerHashKey, "buyer-hash-key", Env("XHSPAY_BUYER_HASH_KEY", ""), "hex or base64 key (>=16 bytes) of buyer ID hashes (env XHSPAY_BUYER_HASH_KEY)")
}

// DecodeKey reads a secret key given as hex or standard base64.
func DecodeKey(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%s is required", name)
	}
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return nil, fmt.Errorf("%s must be hex or base64", name)
}
