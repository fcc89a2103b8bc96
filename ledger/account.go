package ledger

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrInvalidAccount is returned for an account name that is not a known
// account type with a well-formed sub-ledger.
var ErrInvalidAccount = errors.New("ledger: invalid account")

// AccountType is the part of an account name before the optional ":sub".
type AccountType string

// The account types of the chart. Sign convention for all of them: a debit is
// positive and a credit negative, so assets (receivables, money in transit or
// in a bank) carry positive balances and liabilities (escrow, payables, tax)
// negative ones.
const (
	// TypeBuyerReceivable is money buyers paid that a payment provider holds
	// for us (asset); sub-ledger: the provider.
	TypeBuyerReceivable AccountType = "buyer_receivable"
	// TypeEscrowHeld is buyers' money held until receipt is confirmed (liability).
	TypeEscrowHeld AccountType = "escrow_held"
	// TypeMerchantPayable is money released to a merchant and not yet paid out
	// (liability); sub-ledger: the merchant.
	TypeMerchantPayable AccountType = "merchant_payable"
	// TypeProviderFees is fees charged by a provider (expense); sub-ledger: the provider.
	TypeProviderFees AccountType = "provider_fees"
	// TypeTaxPayable is CBEC composite tax collected for customs (liability).
	TypeTaxPayable AccountType = "tax_payable"
	// TypeRefunds is refunds owed to buyers and not yet confirmed paid by the provider (liability).
	TypeRefunds AccountType = "refunds"
	// TypeFXGainLoss is realised FX gains (credit) and losses (debit).
	TypeFXGainLoss AccountType = "fx_gain_loss"
	// TypeFXClearing bridges currencies in a conversion: each side of the
	// conversion balances in its own currency through it.
	TypeFXClearing AccountType = "fx_clearing"
	// TypeSettlementInTransit is money a provider has settled that has not yet
	// arrived (asset).
	TypeSettlementInTransit AccountType = "settlement_in_transit"
	// TypeMerchantBank is money paid out to a merchant's bank account; sub-ledger: the merchant.
	TypeMerchantBank AccountType = "merchant_bank"
)

// subRule says whether an account type takes a sub-ledger.
type subRule int

const (
	subOptional subRule = iota
	subRequired
)

// accountTypes is the chart of accounts.
var accountTypes = map[AccountType]subRule{
	TypeBuyerReceivable:     subRequired,
	TypeEscrowHeld:          subOptional,
	TypeMerchantPayable:     subRequired,
	TypeProviderFees:        subRequired,
	TypeTaxPayable:          subOptional,
	TypeRefunds:             subOptional,
	TypeFXGainLoss:          subOptional,
	TypeFXClearing:          subOptional,
	TypeSettlementInTransit: subOptional,
	TypeMerchantBank:        subRequired,
}

// maxSubLen bounds a sub-ledger name.
const maxSubLen = 128

// Account names one account: a type, optionally followed by ":" and a
// sub-ledger (a provider or merchant id), e.g. "merchant_payable:acme".
// Build accounts with the constructors below or ParseAccount.
type Account string

// BuyerReceivable is the money provider holds for us from buyers' payments.
func BuyerReceivable(provider string) Account { return sub(TypeBuyerReceivable, provider) }

// EscrowHeld is buyers' money held in escrow.
func EscrowHeld() Account { return Account(TypeEscrowHeld) }

// MerchantPayable is what is owed to merchant after release.
func MerchantPayable(merchant string) Account { return sub(TypeMerchantPayable, merchant) }

// ProviderFees is the fees provider charged.
func ProviderFees(provider string) Account { return sub(TypeProviderFees, provider) }

// TaxPayable is composite tax owed to customs.
func TaxPayable() Account { return Account(TypeTaxPayable) }

// Refunds is refunds owed to buyers and not yet confirmed paid.
func Refunds() Account { return Account(TypeRefunds) }

// FXGainLoss is the realised FX gain or loss.
func FXGainLoss() Account { return Account(TypeFXGainLoss) }

// FXClearing is the currency bridge of FX conversions.
func FXClearing() Account { return Account(TypeFXClearing) }

// SettlementInTransit is money settled by a provider and not yet arrived.
func SettlementInTransit() Account { return Account(TypeSettlementInTransit) }

// MerchantBank is money paid out to merchant's bank account.
func MerchantBank(merchant string) Account { return sub(TypeMerchantBank, merchant) }

func sub(t AccountType, name string) Account { return Account(string(t) + ":" + name) }

// ParseAccount validates s as an account name.
func ParseAccount(s string) (Account, error) {
	a := Account(s)
	if err := a.Validate(); err != nil {
		return "", err
	}
	return a, nil
}

// Type returns the account's type (the part before ":").
func (a Account) Type() AccountType {
	t, _, _ := strings.Cut(string(a), ":")
	return AccountType(t)
}

// Sub returns the account's sub-ledger, "" when it has none.
func (a Account) Sub() string {
	_, s, _ := strings.Cut(string(a), ":")
	return s
}

// String returns the account name.
func (a Account) String() string { return string(a) }

// Validate checks that the account type is in the chart, that the sub-ledger
// is present where the type requires one, and that the sub-ledger is 1 to 128
// printable characters without spaces or ":".
func (a Account) Validate() error {
	t, s, hasSub := strings.Cut(string(a), ":")
	rule, ok := accountTypes[AccountType(t)]
	if !ok {
		return fmt.Errorf("%w: %q: unknown account type %q", ErrInvalidAccount, string(a), t)
	}
	if !hasSub {
		if rule == subRequired {
			return fmt.Errorf("%w: %q: type %s needs a sub-ledger (%s:<id>)", ErrInvalidAccount, string(a), t, t)
		}
		return nil
	}
	if s == "" || len(s) > maxSubLen {
		return fmt.Errorf("%w: %q: sub-ledger must be 1 to %d characters", ErrInvalidAccount, string(a), maxSubLen)
	}
	for _, r := range s {
		if r == ':' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %q: sub-ledger must not contain %q", ErrInvalidAccount, string(a), r)
		}
	}
	return nil
}
