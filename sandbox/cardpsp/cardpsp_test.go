package cardpsp

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLuhnAndBrand(t *testing.T) {
	for _, tc := range []struct {
		number string
		valid  bool
		brand  string
	}{
		{ApprovedCard, true, "VISA"},
		{DeclinedCard, true, "VISA"},
		{"5555555555554444", true, "MASTERCARD"},
		{"2223003122003222", true, "MASTERCARD"},
		{"378282246310005", true, "AMEX"},
		{"3530111333300000", true, "JCB"},
		{"6200000000000005", true, "UNIONPAY"},
		{"4242424242424241", false, ""},
		{"4242", false, ""},
		{"4242x42424242424", false, ""},
		{"42424242424242424242", false, ""},
	} {
		assert.Equal(t, tc.valid, luhn(tc.number), tc.number)
		if tc.valid {
			assert.Equal(t, tc.brand, brand(tc.number), tc.number)
		}
	}
}
