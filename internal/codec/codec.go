package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// MetadataEncodingEncrypted is the "encoding" metadata value of an encrypted payload.
	MetadataEncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the payload metadata key naming the key that encrypted it.
	MetadataKeyID = "encryption-key-id"

	nonceSize = 12
)

var (
	// ErrUnknownKey means a payload names a key id that is not in the keyring.
	ErrUnknownKey = errors.New("codec: unknown encryption key id")
	// ErrDecrypt means a payload failed authentication: wrong key, or tampered ciphertext or metadata.
	ErrDecrypt = errors.New("codec: payload failed authentication")
)

// Codec is a converter.PayloadCodec that encrypts every payload with the
// keyring's active key (AES-256-GCM, a random 12-byte nonce per payload, the
// key id as additional authenticated data) and decrypts with any key in the
// ring. It is safe for concurrent use.
type Codec struct {
	active string
	aeads  map[string]cipher.AEAD
	ids    string // for error messages
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec from a validated keyring.
func New(ring Keyring) (*Codec, error) {
	if err := ring.Validate(); err != nil {
		return nil, err
	}
	c := &Codec{active: ring.Active, aeads: make(map[string]cipher.AEAD, len(ring.Keys)), ids: strings.Join(ring.IDs(), ", ")}
	for id, key := range ring.Keys {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", id, err)
		}
		c.aeads[id] = aead
	}
	return c, nil
}

// ActiveKeyID returns the id of the key that encrypts new payloads.
func (c *Codec) ActiveKeyID() string { return c.active }

// Encode encrypts each payload, the whole payload (metadata and data)
// marshalled, into a payload with encoding binary/encrypted.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.active]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: marshal payload %d: %w", i, err)
		}
		sealed := make([]byte, nonceSize, nonceSize+len(plain)+aead.Overhead())
		if _, err := rand.Read(sealed); err != nil {
			return payloads, fmt.Errorf("codec: nonce: %w", err)
		}
		sealed = aead.Seal(sealed, sealed[:nonceSize], plain, []byte(c.active))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncodingEncrypted),
				MetadataKeyID:              []byte(c.active),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts payloads with encoding binary/encrypted and returns every
// other payload unchanged (histories written before the codec was enabled).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("%w %q in payload %d (keyring holds: %s)", ErrUnknownKey, id, i, c.ids)
		}
		data := p.GetData()
		if len(data) < nonceSize+aead.Overhead() {
			return payloads, fmt.Errorf("%w: payload %d is %d bytes, shorter than nonce and tag", ErrDecrypt, i, len(data))
		}
		plain, err := aead.Open(nil, data[:nonceSize], data[nonceSize:], []byte(id))
		if err != nil {
			return payloads, fmt.Errorf("%w: payload %d with key %q", ErrDecrypt, i, id)
		}
		dec := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, dec); err != nil {
			return payloads, fmt.Errorf("codec: unmarshal decrypted payload %d: %w", i, err)
		}
		out[i] = dec
	}
	return out, nil
}

// DataConverter returns the SDK's default data converter with this codec
// applied to every payload.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter returns a failure converter that encrypts failure
// details and also moves error messages and stack traces into the encrypted
// attributes, so an error that quotes a buyer's name or ID number does not
// leave it in clear in history. Error types (used by retry policies) stay
// readable.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          c.DataConverter(),
		EncodeCommonAttributes: true,
	})
}

// ApplyClientOptions sets the data converter and the failure converter of
// opts. Every client and worker of a namespace must use the same keyring.
func (c *Codec) ApplyClientOptions(opts *client.Options) {
	opts.DataConverter = c.DataConverter()
	opts.FailureConverter = c.FailureConverter()
}

// NewDataConverter is New followed by DataConverter.
func NewDataConverter(ring Keyring) (converter.DataConverter, error) {
	c, err := New(ring)
	if err != nil {
		return nil, err
	}
	return c.DataConverter(), nil
}
