package activities

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// ErrNoHashKey is returned when a buyer id hash is asked for without a key.
var ErrNoHashKey = errors.New("activities: buyer id hash key is not configured")

// BuyerIDHash returns the buyer's pseudonymous id: the hex HMAC-SHA256 of the
// normalised (trimmed, upper-case) ID number under key. It is what search
// attributes, logs and annual-limit queries use instead of the clear ID.
func BuyerIDHash(key []byte, idNumber string) (string, error) {
	if len(key) == 0 {
		return "", ErrNoHashKey
	}
	id := strings.ToUpper(strings.TrimSpace(idNumber))
	if id == "" {
		return "", errors.New("idNumber: required")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// Identity holds the identity activities.
type Identity struct {
	// Key is the secret HMAC key (the configured salt) of buyer id hashes.
	Key []byte
}

// HashBuyerID computes BuyerIDHash for orders started without one.
func (i *Identity) HashBuyerID(_ context.Context, idNumber string) (string, error) {
	h, err := BuyerIDHash(i.Key, idNumber)
	if errors.Is(err, ErrNoHashKey) {
		return "", notConfigured("buyer id hash key", "identity")
	}
	if err != nil {
		return "", invalidInput("%v", err)
	}
	return h, nil
}
