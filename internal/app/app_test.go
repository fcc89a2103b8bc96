package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/providers"
)

func TestNotifyURLFunc(t *testing.T) {
	f := NotifyURLFunc("http://127.0.0.1:8080/")
	assert.Equal(t, "http://127.0.0.1:8080/notify/alipay/order-acme-A1", f(providers.Alipay, "order-acme-A1"))
	assert.Equal(t, "http://127.0.0.1:8080/notify/wechatpay/order-a%2Fb", f(providers.WeChatPay, "order-a/b"), "the order id is one path segment")
}

func TestDecodeKey(t *testing.T) {
	b, err := DecodeKey("k", "00112233445566778899aabbccddeeff")
	require.NoError(t, err)
	assert.Len(t, b, 16)
	b, err = DecodeKey("k", "AAECAwQFBgcICQoLDA0ODw==")
	require.NoError(t, err)
	assert.Len(t, b, 16)
	_, err = DecodeKey("-buyer-hash-key", "")
	require.ErrorContains(t, err, "-buyer-hash-key is required")
	_, err = DecodeKey("k", "not a key!")
	require.ErrorContains(t, err, "hex or base64")
}

func TestWorkerConfigDeps(t *testing.T) {
	_, err := WorkerConfig{}.Deps()
	require.ErrorContains(t, err, "Providers is required")
	_, err = NewWorker(WorkerConfig{})
	require.ErrorContains(t, err, "Client is required")
}
