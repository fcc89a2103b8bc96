package credentials_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers/credentials"
)

// sample is a Set with every field set to a distinct value.
func sample() credentials.Set {
	return credentials.Set{
		Alipay: credentials.Alipay{
			AppID:               "2021000000000001",
			AppPrivateKeyPEM:    "-----BEGIN PRIVATE KEY-----\nYXBw\n-----END PRIVATE KEY-----\n",
			GatewayPublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nZ2F0ZXdheQ==\n-----END PUBLIC KEY-----\n",
			GatewayURL:          "http://127.0.0.1:9101/gateway.do",
			SellerID:            "2088000000000001",
			NotifyURL:           "http://127.0.0.1:8080/notify/alipay",
		},
		WeChatPay: credentials.WeChatPay{
			MchID:                 "1900000001",
			AppID:                 "wx0000000000000001",
			MerchantPrivateKeyPEM: "-----BEGIN PRIVATE KEY-----\nbWVyY2hhbnQ=\n-----END PRIVATE KEY-----\n",
			MerchantSerialNo:      "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
			PlatformPublicKeyPEM:  "-----BEGIN PUBLIC KEY-----\ncGxhdGZvcm0=\n-----END PUBLIC KEY-----\n",
			PlatformPublicKeyID:   "PUB_KEY_ID_0000000001",
			APIv3Key:              "0123456789abcdef0123456789abcdef",
			BaseURL:               "http://127.0.0.1:9102",
			NotifyURL:             "http://127.0.0.1:8080/notify/wechatpay",
		},
		Customs: credentials.HMAC{BaseURL: "http://127.0.0.1:9103", KeyID: "customs_k", Secret: "customs-secret", NotifyURL: "http://127.0.0.1:8080/notify/customs"},
		CardPSP: credentials.HMAC{BaseURL: "http://127.0.0.1:9104", KeyID: "card_k", Secret: "card-secret", NotifyURL: "http://127.0.0.1:8080/notify/card"},
		FX:      credentials.HMAC{BaseURL: "http://127.0.0.1:9105", KeyID: "fx_k", Secret: "fx-secret"},
	}
}

// jsonFiles are the per-provider files Read loads.
var jsonFiles = []string{"alipay.json", "wechatpay.json", "customs.json", "card.json", "fx.json"}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "creds")
	want := sample()
	require.NoError(t, want.Write(dir))

	got, err := credentials.Read(dir)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// Writing again over existing files is fine and reads back the new values.
	want.FX.Secret = "rotated"
	require.NoError(t, want.Write(dir))
	got, err = credentials.Read(dir)
	require.NoError(t, err)
	assert.Equal(t, "rotated", got.FX.Secret)
}

func TestWriteFileModesAndContents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	c := sample()
	require.NoError(t, c.Write(dir))

	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "the directory is private")

	modes := map[string]os.FileMode{
		credentials.FileAlipayAppKey:         0o600,
		credentials.FileAlipayGatewayKey:     0o644,
		credentials.FileWeChatPayMerchantKey: 0o600,
		credentials.FileWeChatPayPlatformKey: 0o644,
		credentials.FileEnv:                  0o600,
		credentials.FileReadme:               0o644,
	}
	for _, name := range jsonFiles {
		modes[name] = 0o600
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, len(modes), "no other files are written")
	for name, mode := range modes {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Equal(t, mode, st.Mode().Perm(), name)
	}

	pems := map[string]string{
		credentials.FileAlipayAppKey:         c.Alipay.AppPrivateKeyPEM,
		credentials.FileAlipayGatewayKey:     c.Alipay.GatewayPublicKeyPEM,
		credentials.FileWeChatPayMerchantKey: c.WeChatPay.MerchantPrivateKeyPEM,
		credentials.FileWeChatPayPlatformKey: c.WeChatPay.PlatformPublicKeyPEM,
	}
	for name, want := range pems {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, want, string(b), name)
	}

	env, err := os.ReadFile(filepath.Join(dir, credentials.FileEnv))
	require.NoError(t, err)
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	for _, line := range []string{
		"XHSPAY_ALIPAY_APP_ID=" + c.Alipay.AppID,
		"XHSPAY_ALIPAY_APP_PRIVATE_KEY_FILE=" + filepath.Join(abs, credentials.FileAlipayAppKey),
		"XHSPAY_WECHATPAY_PLATFORM_PUBLIC_KEY_FILE=" + filepath.Join(abs, credentials.FileWeChatPayPlatformKey),
		"XHSPAY_WECHATPAY_APIV3_KEY=" + c.WeChatPay.APIv3Key,
		"XHSPAY_CUSTOMS_SECRET=" + c.Customs.Secret,
		"XHSPAY_CARD_KEY_ID=" + c.CardPSP.KeyID,
		"XHSPAY_FX_BASE_URL=" + c.FX.BaseURL,
	} {
		assert.Contains(t, strings.Split(string(env), "\n"), line)
	}
	assert.NotContains(t, string(env), "BEGIN PRIVATE KEY", "keys are referred to by path, not inlined")

	readme, err := os.ReadFile(filepath.Join(dir, credentials.FileReadme))
	require.NoError(t, err)
	for name := range modes {
		if name != credentials.FileReadme {
			assert.Contains(t, string(readme), name, "README explains every other file")
		}
	}
}

func TestWriteTightensExistingFileModes(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "fx.json")
	require.NoError(t, os.WriteFile(loose, []byte("{}"), 0o644))
	require.NoError(t, os.Chmod(loose, 0o644))
	require.NoError(t, sample().Write(dir))
	st, err := os.Stat(loose)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "a secret file left readable is tightened")
}

func TestWriteIntoAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	err := sample().Write(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not-a-dir")
}

func TestReadErrorsNameTheFile(t *testing.T) {
	for _, name := range jsonFiles {
		for _, tc := range []struct {
			kind    string
			corrupt func(path string) error
		}{
			{"missing", os.Remove},
			{"garbled", func(path string) error { return os.WriteFile(path, []byte("{not json"), 0o600) }},
			{"wrong type", func(path string) error {
				return os.WriteFile(path, []byte(`{"keyId": 42, "appId": 42, "mchId": 42}`), 0o600)
			}},
		} {
			t.Run(tc.kind+" "+name, func(t *testing.T) {
				dir := t.TempDir()
				require.NoError(t, sample().Write(dir))
				require.NoError(t, tc.corrupt(filepath.Join(dir, name)))
				_, err := credentials.Read(dir)
				require.Error(t, err)
				assert.Contains(t, err.Error(), name)
			})
		}
	}
}

func TestReadEmptyDir(t *testing.T) {
	_, err := credentials.Read(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), ".json")
	assert.ErrorIs(t, err, os.ErrNotExist)
}
