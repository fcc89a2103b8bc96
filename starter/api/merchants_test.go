package api

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
)

func TestGenerateAPIKey(t *testing.T) {
	key, hash, err := GenerateAPIKey()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(key, "xhspay_"))
	assert.Len(t, key, len("xhspay_")+43, "32 bytes in unpadded base64url")
	assert.Equal(t, HashAPIKey(key), hash)
	assert.Regexp(t, `^[0-9a-f]{64}$`, hash)
	key2, _, err := GenerateAPIKey()
	require.NoError(t, err)
	assert.NotEqual(t, key, key2)
}

func TestFileMerchantStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "merchants.json")
	k1, h1, err := GenerateAPIKey()
	require.NoError(t, err)
	k2, h2, err := GenerateAPIKey()
	require.NoError(t, err)
	require.NoError(t, WriteMerchantsFile(path, []Merchant{{ID: "acme", Name: "ACME", HomeCurrency: money.USD, KeyHashes: []string{h1},
		CustomsPlatformCode: "3301960ACME"}}))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	s, err := LoadMerchantsFile(path)
	require.NoError(t, err)
	m, err := s.Authenticate(ctx, k1)
	require.NoError(t, err)
	assert.Equal(t, "acme", m.ID)
	assert.Equal(t, "3301960ACME", m.CustomsPlatformCode)
	_, err = s.Authenticate(ctx, k2)
	require.ErrorIs(t, err, ErrUnauthenticated)

	// Rotation: add the new key, reload; both work; drop the old one.
	require.NoError(t, WriteMerchantsFile(path, []Merchant{{ID: "acme", Name: "ACME", HomeCurrency: money.USD, KeyHashes: []string{h1, h2}}}))
	require.NoError(t, s.Reload())
	for _, k := range []string{k1, k2} {
		_, err := s.Authenticate(ctx, k)
		require.NoError(t, err)
	}
	require.NoError(t, WriteMerchantsFile(path, []Merchant{{ID: "acme", Name: "ACME", HomeCurrency: money.USD, KeyHashes: []string{h2}}}))
	require.NoError(t, s.Reload())
	_, err = s.Authenticate(ctx, k1)
	require.ErrorIs(t, err, ErrUnauthenticated)

	// A broken file keeps the merchants in place.
	require.NoError(t, os.WriteFile(path, []byte(`{"merchants":[{"id":"acme","homeCurrency":"USD","keyHashes":["nothex"]}]}`), 0o600))
	require.Error(t, s.Reload())
	_, err = s.Authenticate(ctx, k2)
	require.NoError(t, err)

	_, err = s.Merchant(ctx, "nobody")
	require.ErrorIs(t, err, ErrUnknownMerchant)
}

func TestMerchantStoreRefusesBadRecords(t *testing.T) {
	h := HashAPIKey("k")
	for name, ms := range map[string][]Merchant{
		"bad id":       {{ID: "a-b", HomeCurrency: money.USD}},
		"currency":     {{ID: "a", HomeCurrency: "XXX"}},
		"hash":         {{ID: "a", HomeCurrency: money.USD, KeyHashes: []string{"ABC"}}},
		"duplicate id": {{ID: "a", HomeCurrency: money.USD}, {ID: "a", HomeCurrency: money.USD}},
		"shared key":   {{ID: "a", HomeCurrency: money.USD, KeyHashes: []string{h}}, {ID: "b", HomeCurrency: money.USD, KeyHashes: []string{h}}},
	} {
		_, err := NewMemoryMerchantStore(ms...)
		assert.Error(t, err, name)
	}
	path := filepath.Join(t.TempDir(), "m.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"merchants":[],"extra":1}`), 0o600))
	_, err := LoadMerchantsFile(path)
	assert.Error(t, err, "unknown fields are refused")
}

func TestMasking(t *testing.T) {
	assert.Equal(t, "110***********1239", maskIDNumber(testID))
	assert.Len(t, maskIDNumber(testID), 18)
	assert.Equal(t, "138****8000", maskPhone("13800138000"))
	assert.Equal(t, "", maskPhone(""))
	assert.Equal(t, "张*", maskName("张三丰"))
	assert.Equal(t, "J*", maskName("John Smith"))
	assert.Equal(t, "", maskName(""))
}

func TestJSONField(t *testing.T) {
	for in, want := range map[string]string{
		"Lines[2].UnitPrice": "items[2].unitPrice",
		"Buyer.IDNumber":     "buyer.idNumber",
		"Payer.Name":         "payer.name",
		"Dutiable":           "items",
		"BuyerYearToDate":    "buyer",
		"amount":             "amount",
		"items[0].sku":       "items[0].sku",
		"":                   "",
	} {
		assert.Equal(t, want, jsonField(in), in)
	}
}

func TestMemoryIdempotencyStore(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewMemoryIdempotencyStore(time.Hour, 2)
	s.now = func() time.Time { return now }

	got, err := s.Begin(ctx, "k", "fp")
	require.NoError(t, err)
	require.Nil(t, got)
	_, err = s.Begin(ctx, "k", "fp")
	require.ErrorIs(t, err, ErrIdempotencyInFlight)
	require.NoError(t, s.Complete(ctx, "k", StoredResponse{Status: 201, Body: []byte("x")}))
	got, err = s.Begin(ctx, "k", "fp")
	require.NoError(t, err)
	assert.Equal(t, 201, got.Status)
	_, err = s.Begin(ctx, "k", "other")
	require.ErrorIs(t, err, ErrIdempotencyMismatch)

	// Abandoned reservations run again; completed answers are kept.
	_, err = s.Begin(ctx, "a", "fp")
	require.NoError(t, err)
	require.NoError(t, s.Abandon(ctx, "a"))
	got, err = s.Begin(ctx, "a", "fp")
	require.NoError(t, err)
	assert.Nil(t, got)

	// Size and time bound the store.
	_, err = s.Begin(ctx, "b", "fp")
	require.NoError(t, err)
	got, err = s.Begin(ctx, "k", "fp")
	require.NoError(t, err)
	assert.Nil(t, got, "the oldest key was evicted by size")
	now = now.Add(2 * time.Hour)
	got, err = s.Begin(ctx, "b", "other")
	require.NoError(t, err, "expired keys are forgotten")
	assert.Nil(t, got)
}
