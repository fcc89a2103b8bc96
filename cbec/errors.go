package cbec

import "fmt"

// Rule names one CBEC rule; it is the Rule of every RuleError.
type Rule string

// The rules, in the order Validate applies them.
const (
	// RuleCurrency: every amount is in CNY and a whole number of fen.
	RuleCurrency Rule = "cbec.currency"
	// RuleQuantity: at least one line, quantity >= 1, unit price > 0, freight and insurance >= 0.
	RuleQuantity Rule = "cbec.quantity"
	// RuleRealName: the buyer's and payer's names are present, of sane length and characters.
	RuleRealName Rule = "cbec.real_name"
	// RuleIDNumber: an 18-digit PRC resident ID with a valid region, birth date and GB 11643 check digit.
	RuleIDNumber Rule = "cbec.id_number"
	// RulePayerIsBuyer: the payer's name and ID number equal the buyer's (after normalisation).
	RulePayerIsBuyer Rule = "cbec.payer_is_buyer"
	// RulePositiveList: every line's category is on the CBEC positive list.
	RulePositiveList Rule = "cbec.positive_list"
	// RuleRegistrationRequired: cosmetics, food, infant formula and health supplements carry a registration or filing number.
	RuleRegistrationRequired Rule = "cbec.registration_required"
	// RuleOrderLimit: the order's dutiable value is at most RMB 5,000, unless it is one indivisible item.
	RuleOrderLimit Rule = "cbec.order_limit"
	// RuleAnnualLimit: the buyer's year-to-date total plus this order is at most RMB 26,000.
	RuleAnnualLimit Rule = "cbec.annual_limit"
)

// RuleError is the failure of one rule on one field. Its Message states the
// limit and the actual value where there are any, but never a name or ID number.
type RuleError struct {
	// Rule is the rule that failed.
	Rule Rule `json:"rule"`
	// Field is the offending field, e.g. "Lines[2].Quantity" or "Buyer.IDNumber".
	Field string `json:"field"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// Error formats the error as "cbec.order_limit: Dutiable: <message>".
func (e *RuleError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Rule, e.Field, e.Message)
}

// ruleErr builds a *RuleError with a formatted message.
func ruleErr(rule Rule, field, format string, args ...any) *RuleError {
	return &RuleError{Rule: rule, Field: field, Message: fmt.Sprintf(format, args...)}
}
