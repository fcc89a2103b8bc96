package customs_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/shopspring/decimal"
)

// sign computes a notification signature independently of both implementations.
func sign(secret, ts, path string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "\nPOST\n" + path + "\n"))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func decimalOf(n int) decimal.Decimal { return decimal.NewFromInt(int64(n)) }
