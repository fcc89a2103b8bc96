package cbec

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Identity is a person's real name and 18-digit PRC resident ID number.
type Identity struct {
	// Name is the real name as on the ID card.
	Name string `json:"name"`
	// IDNumber is the 18-digit resident ID number; a trailing check character may be 'X' or 'x'.
	IDNumber string `json:"idNumber"`
}

// Name length bounds, in characters. Han names have at least two; ethnic
// minority and transliterated names can be long.
const (
	minNameRunes = 2
	maxNameRunes = 64
)

// idWeights are the GB 11643 weights 2^(17-i) mod 11 of the first 17 digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps (weighted sum mod 11) to the check character (ISO 7064 MOD 11-2).
const idCheckChars = "10X98765432"

// provinces are the valid first two digits of a resident ID's region code:
// the mainland provinces, and 81/82/83 for the residence permits of Hong Kong,
// Macao and Taiwan residents (71 for Taiwan as listed in GB/T 2260).
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true, "83": true,
}

// NormalizeIDNumber returns id with surrounding white space removed and a
// lower-case check character 'x' made 'X': the form to store, declare and compare.
func NormalizeIDNumber(id string) string {
	return strings.ToUpper(strings.TrimSpace(id))
}

// normalizeName returns name with surrounding white space removed.
func normalizeName(name string) string {
	return strings.TrimSpace(name)
}

// ValidateIDNumber checks an 18-digit PRC resident ID number (after
// NormalizeIDNumber): 17 digits and a check character, a known province code,
// a valid birth date (YYYYMMDD, year 1900 or later) and the GB 11643 check
// character. It does not compare the birth date with today, which would make
// the rule depend on a clock. Failures are *RuleError with RuleIDNumber.
func ValidateIDNumber(id string) error {
	return validateIDNumber("IDNumber", id)
}

func validateIDNumber(field, id string) error {
	id = NormalizeIDNumber(id)
	if id == "" {
		return ruleErr(RuleIDNumber, field, "ID number is required")
	}
	if n := utf8.RuneCountInString(id); n != 18 {
		return ruleErr(RuleIDNumber, field, "ID number must have 18 characters, got %d", n)
	}
	if len(id) != 18 {
		return ruleErr(RuleIDNumber, field, "ID number must be 17 ASCII digits and a digit or X")
	}
	sum := 0
	for i := range 17 {
		c := id[i]
		if c < '0' || c > '9' {
			return ruleErr(RuleIDNumber, field, "ID number character %d must be a digit", i+1)
		}
		sum += int(c-'0') * idWeights[i]
	}
	if c := id[17]; (c < '0' || c > '9') && c != 'X' {
		return ruleErr(RuleIDNumber, field, "ID number check character must be a digit or X")
	}
	if !provinces[id[:2]] {
		return ruleErr(RuleIDNumber, field, "ID number region code does not start with a known province code")
	}
	birth, err := time.Parse("20060102", id[6:14])
	if err != nil || birth.Year() < 1900 {
		return ruleErr(RuleIDNumber, field, "ID number birth date (characters 7-14) is not a valid date from 1900 on")
	}
	if want := idCheckChars[sum%11]; id[17] != want {
		return ruleErr(RuleIDNumber, field, "ID number check character does not match (GB 11643, ISO 7064 MOD 11-2)")
	}
	return nil
}

// validateName checks a real name: present, 2 to 64 characters, letters of any
// script with single spaces, middle dots (as in minority names), hyphens,
// apostrophes and full stops between them.
func validateName(field, name string) error {
	name = normalizeName(name)
	if name == "" {
		return ruleErr(RuleRealName, field, "real name is required")
	}
	if !utf8.ValidString(name) {
		return ruleErr(RuleRealName, field, "real name is not valid UTF-8")
	}
	n := utf8.RuneCountInString(name)
	if n < minNameRunes || n > maxNameRunes {
		return ruleErr(RuleRealName, field, "real name must have %d to %d characters, got %d", minNameRunes, maxNameRunes, n)
	}
	prev := ' '
	for i, r := range name {
		switch {
		case unicode.IsLetter(r):
		case unicode.Is(unicode.M, r) && i > 0: // combining marks after a letter
		case isNameSeparator(r):
			if i == 0 || (isNameSeparator(prev) && (prev != '.' || r != ' ')) { // only "J. R." may double up
				return ruleErr(RuleRealName, field, "real name has a misplaced separator at character %d", utf8.RuneCountInString(name[:i])+1)
			}
		default:
			return ruleErr(RuleRealName, field, "real name has a character that is not a letter (%U) at character %d", r, utf8.RuneCountInString(name[:i])+1)
		}
		prev = r
	}
	if isNameSeparator(prev) && prev != '.' {
		return ruleErr(RuleRealName, field, "real name ends with a separator")
	}
	return nil
}

// isNameSeparator reports whether r may stand between the parts of a name.
func isNameSeparator(r rune) bool {
	switch r {
	case ' ', '·', '•', '・', '.', '-', '\'':
		return true
	}
	return false
}

// CheckIdentity applies, in order, RuleRealName (buyer, then payer),
// RuleIDNumber (buyer, then payer) and RulePayerIsBuyer: customs matches the
// payer on the payment declaration with the buyer on the order. Names are
// compared after trimming, ID numbers after NormalizeIDNumber.
func CheckIdentity(buyer, payer Identity) error {
	if err := validateName("Buyer.Name", buyer.Name); err != nil {
		return err
	}
	if err := validateName("Payer.Name", payer.Name); err != nil {
		return err
	}
	if err := validateIDNumber("Buyer.IDNumber", buyer.IDNumber); err != nil {
		return err
	}
	if err := validateIDNumber("Payer.IDNumber", payer.IDNumber); err != nil {
		return err
	}
	if normalizeName(payer.Name) != normalizeName(buyer.Name) {
		return ruleErr(RulePayerIsBuyer, "Payer.Name", "payer's name differs from the buyer's")
	}
	if NormalizeIDNumber(payer.IDNumber) != NormalizeIDNumber(buyer.IDNumber) {
		return ruleErr(RulePayerIsBuyer, "Payer.IDNumber", "payer's ID number differs from the buyer's")
	}
	return nil
}
