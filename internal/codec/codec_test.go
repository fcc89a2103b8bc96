package codec_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/xhspay/xhspay/internal/codec"
)

const (
	testIDNumber = "11010519491231002X"
	testName     = "张三"
	testPhone    = "13800138000"
)

// Buyer is the kind of value the codec protects.
type Buyer struct {
	Name     string `json:"name"`
	IDNumber string `json:"idNumber"`
	Phone    string `json:"phone"`
}

var testBuyer = Buyer{Name: testName, IDNumber: testIDNumber, Phone: testPhone}

// newKey returns a random key in base64 and raw form.
func newKey(t *testing.T) (string, []byte) {
	t.Helper()
	enc, err := codec.GenerateKey()
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(enc)
	require.NoError(t, err)
	require.Len(t, raw, codec.KeySize)
	return enc, raw
}

func newCodec(t *testing.T, ring codec.Keyring) *codec.Codec {
	t.Helper()
	c, err := codec.New(ring)
	require.NoError(t, err)
	return c
}

func ring(active string, keys map[string][]byte) codec.Keyring {
	return codec.Keyring{Active: active, Keys: keys}
}

// assertNoPII fails when b holds any of the buyer's identifiers in clear.
func assertNoPII(t *testing.T, b []byte) {
	t.Helper()
	for _, s := range []string{testIDNumber, testName, testPhone} {
		assert.False(t, bytes.Contains(b, []byte(s)), "found %q in clear", s)
	}
}

func TestParseKeyring(t *testing.T) {
	k1, raw1 := newKey(t)
	k2, raw2 := newKey(t)
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))

	t.Run("first entry is active", func(t *testing.T) {
		got, err := codec.ParseKeyring(" k2:" + k2 + " , k1:" + k1 + " ")
		require.NoError(t, err)
		assert.Equal(t, "k2", got.Active)
		assert.Equal(t, map[string][]byte{"k1": raw1, "k2": raw2}, got.Keys)
		assert.Equal(t, []string{"k2", "k1"}, got.IDs())
		require.NoError(t, got.Validate())
	})
	t.Run("url-safe unpadded base64", func(t *testing.T) {
		got, err := codec.ParseKeyring("k1:" + base64.RawURLEncoding.EncodeToString(raw1))
		require.NoError(t, err)
		assert.Equal(t, raw1, got.Keys["k1"])
	})

	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "  ", "no encryption keys"},
		{"no colon", "k1" + k1, "entry 1: want id:base64key"},
		{"empty key", "k1:", "entry 1: want id:base64key"},
		{"bad id", "k 1:" + k1, `key id "k 1" must be`},
		{"duplicate id", "k1:" + k1 + ",k1:" + k2, `entry 2: key id "k1" appears twice`},
		{"not base64", "k1:" + k1 + ",k2:***", `entry 2 ("k2"): key is not base64`},
		{"short key", "k1:" + short, `entry 1 ("k1"): key must be 32 bytes (AES-256), got 16`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := codec.ParseKeyring(tc.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), k1, "error must not echo key material")
			assert.NotContains(t, err.Error(), k2, "error must not echo key material")
		})
	}
}

func TestKeyringFromEnv(t *testing.T) {
	k1, raw1 := newKey(t)
	t.Setenv(codec.KeysEnv, "")
	t.Setenv(codec.KeysFileEnv, "")
	_, err := codec.KeyringFromEnv()
	require.ErrorIs(t, err, codec.ErrNoKeys)

	t.Setenv(codec.KeysEnv, "live:"+k1)
	got, err := codec.KeyringFromEnv()
	require.NoError(t, err)
	assert.Equal(t, "live", got.Active)
	assert.Equal(t, raw1, got.Keys["live"])

	t.Setenv(codec.KeysEnv, "live:short")
	_, err = codec.KeyringFromEnv()
	require.ErrorContains(t, err, codec.KeysEnv)
}

func TestKeyringValidate(t *testing.T) {
	_, raw := newKey(t)
	for _, tc := range []struct {
		name string
		ring codec.Keyring
		want string
	}{
		{"no keys", codec.Keyring{}, "no encryption keys"},
		{"no active", ring("", map[string][]byte{"k1": raw}), "active key id is empty"},
		{"active missing", ring("k2", map[string][]byte{"k1": raw}), `active key id "k2" is not in the ring`},
		{"short key", ring("k1", map[string][]byte{"k1": raw[:24]}), `key "k1" must be 32 bytes (AES-256), got 24`},
		{"bad id", ring("k/1", map[string][]byte{"k/1": raw}), `key id "k/1" must be`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := codec.New(tc.ring)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestKeyringNeverPrintsKeys(t *testing.T) {
	enc, raw := newKey(t)
	r := ring("k1", map[string][]byte{"k1": raw})
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("ring", "keyring", r)
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), logged.String()} {
		assert.Contains(t, s, "k1")
		assert.NotContains(t, s, enc)
		assert.False(t, strings.Contains(s, string(raw)))
		assert.NotContains(t, s, fmt.Sprint(raw))
	}
}

func TestRoundTripHidesIdentity(t *testing.T) {
	_, raw := newKey(t)
	c := newCodec(t, ring("k1", map[string][]byte{"k1": raw}))
	dc := c.DataConverter()

	p, err := dc.ToPayload(testBuyer)
	require.NoError(t, err)
	assert.Equal(t, codec.MetadataEncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
	assert.Equal(t, "k1", string(p.Metadata[codec.MetadataKeyID]))
	assert.Len(t, p.Metadata, 2, "the original encoding must be inside the ciphertext")
	wire, err := proto.Marshal(p)
	require.NoError(t, err)
	assertNoPII(t, wire)

	var got Buyer
	require.NoError(t, dc.FromPayload(p, &got))
	assert.Equal(t, testBuyer, got)

	// Several values at once, including nil and an empty payload.
	ps, err := dc.ToPayloads(testBuyer, nil, "", 42)
	require.NoError(t, err)
	var (
		b    Buyer
		null *Buyer
		str  string
		num  int
	)
	require.NoError(t, dc.FromPayloads(ps, &b, &null, &str, &num))
	assert.Equal(t, testBuyer, b)
	assert.Nil(t, null)
	assert.Equal(t, "", str)
	assert.Equal(t, 42, num)
}

func TestEncodeUsesFreshNonces(t *testing.T) {
	_, raw := newKey(t)
	c := newCodec(t, ring("k1", map[string][]byte{"k1": raw}))
	in := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + testIDNumber + `"`)}
	a, err := c.Encode([]*commonpb.Payload{in})
	require.NoError(t, err)
	b, err := c.Encode([]*commonpb.Payload{in})
	require.NoError(t, err)
	assert.NotEqual(t, a[0].Data[:12], b[0].Data[:12], "nonce reused")
	assert.NotEqual(t, a[0].Data, b[0].Data)
	assert.Equal(t, `"`+testIDNumber+`"`, string(in.Data), "input payload mutated")
}

func TestDecodePassesClearPayloadsThrough(t *testing.T) {
	_, raw := newKey(t)
	c := newCodec(t, ring("k1", map[string][]byte{"k1": raw}))
	clear, err := converter.GetDefaultDataConverter().ToPayload("written before the codec")
	require.NoError(t, err)
	out, err := c.Decode([]*commonpb.Payload{clear})
	require.NoError(t, err)
	assert.True(t, proto.Equal(clear, out[0]))
}

func TestTamperingFails(t *testing.T) {
	_, raw1 := newKey(t)
	_, raw2 := newKey(t)
	c := newCodec(t, ring("k1", map[string][]byte{"k1": raw1, "k2": raw2}))
	p, err := c.DataConverter().ToPayload(testBuyer)
	require.NoError(t, err)

	flip := func(i int) func(*commonpb.Payload) {
		return func(p *commonpb.Payload) { p.Data[i] ^= 0x01 }
	}
	for _, tc := range []struct {
		name   string
		mutate func(*commonpb.Payload)
	}{
		{"nonce", flip(0)},
		{"ciphertext", flip(20)},
		{"tag", func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 0x80 }},
		{"truncated", func(p *commonpb.Payload) { p.Data = p.Data[:20] }},
		{"key id swapped", func(p *commonpb.Payload) { p.Metadata[codec.MetadataKeyID] = []byte("k2") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := proto.Clone(p).(*commonpb.Payload)
			tc.mutate(bad)
			_, err := c.Decode([]*commonpb.Payload{bad})
			require.ErrorIs(t, err, codec.ErrDecrypt)
			var b Buyer
			require.Error(t, c.DataConverter().FromPayload(bad, &b))
		})
	}
}

func TestKeyRotation(t *testing.T) {
	_, raw1 := newKey(t)
	_, raw2 := newKey(t)
	before := newCodec(t, ring("k1", map[string][]byte{"k1": raw1}))
	old, err := before.DataConverter().ToPayload(testBuyer)
	require.NoError(t, err)
	require.Equal(t, "k1", string(old.Metadata[codec.MetadataKeyID]))

	after := newCodec(t, ring("k2", map[string][]byte{"k2": raw2, "k1": raw1}))
	assert.Equal(t, "k2", after.ActiveKeyID())
	var got Buyer
	require.NoError(t, after.DataConverter().FromPayload(old, &got), "old payloads must decode after rotation")
	assert.Equal(t, testBuyer, got)

	fresh, err := after.DataConverter().ToPayload(testBuyer)
	require.NoError(t, err)
	assert.Equal(t, "k2", string(fresh.Metadata[codec.MetadataKeyID]), "new payloads must use the active key")

	// A node that never learned k2 cannot read the new payloads, and says why.
	_, err = before.Decode([]*commonpb.Payload{fresh})
	require.ErrorIs(t, err, codec.ErrUnknownKey)
	assert.Contains(t, err.Error(), `"k2"`)
	assert.Contains(t, err.Error(), "keyring holds: k1")

	// Once k1 is retired, its payloads fail with a clear error.
	retired := newCodec(t, ring("k2", map[string][]byte{"k2": raw2}))
	_, err = retired.Decode([]*commonpb.Payload{old})
	require.ErrorIs(t, err, codec.ErrUnknownKey)
	assert.Contains(t, err.Error(), `unknown encryption key id "k1"`)
}

func TestFailureConverterHidesMessages(t *testing.T) {
	_, raw := newKey(t)
	c := newCodec(t, ring("k1", map[string][]byte{"k1": raw}))
	fc := c.FailureConverter()

	cause := temporal.NewNonRetryableApplicationError("identity mismatch for "+testIDNumber, "IdentityMismatch", nil, testBuyer)
	f := fc.ErrorToFailure(cause)
	wire, err := proto.Marshal(f)
	require.NoError(t, err)
	assertNoPII(t, wire)
	assert.Equal(t, "IdentityMismatch", f.GetApplicationFailureInfo().GetType(), "error type must stay readable for retry policies")

	back := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(back, &appErr))
	assert.Contains(t, appErr.Error(), testIDNumber)
	var details Buyer
	require.NoError(t, appErr.Details(&details))
	assert.Equal(t, testBuyer, details)
}

func TestApplyClientOptions(t *testing.T) {
	_, raw := newKey(t)
	c := newCodec(t, ring("k1", map[string][]byte{"k1": raw}))
	var opts client.Options
	c.ApplyClientOptions(&opts)
	require.NotNil(t, opts.DataConverter)
	require.NotNil(t, opts.FailureConverter)
	p, err := opts.DataConverter.ToPayload(testBuyer)
	require.NoError(t, err)
	assert.Equal(t, codec.MetadataEncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))

	dc, err := codec.NewDataConverter(ring("k1", map[string][]byte{"k1": raw}))
	require.NoError(t, err)
	var got Buyer
	require.NoError(t, dc.FromPayload(p, &got))
	assert.Equal(t, testBuyer, got)

	_, err = codec.NewDataConverter(codec.Keyring{})
	require.ErrorIs(t, err, codec.ErrNoKeys)
}
