package cbec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/cbec"
)

// Test ID numbers. The check character is ISO 7064 MOD 11-2 over the first 17
// digits with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; S mod 11 -> "10X98765432".
const (
	// 1·7+1·9+0+1·5+0+5·4+1·2+9·1+4·6+9·3+1·7+2·9+3·10+1·5+0+0+2·2 = 167; 167 mod 11 = 2 -> X.
	idSample = "11010519491231002X"
	// 3·7+1·9+0+1·5+0+1·4+1·2+9·1+9·6+0+0+1·9+0+1·5+1·8+2·4+3·2 = 140; 140 mod 11 = 8 -> 4.
	idShanghai = "310101199001011234"
	// Born 2000-02-29 (a leap day): S = 188; 188 mod 11 = 1 -> 0.
	idLeapDay = "440305200002290010"
	// 1900-02-29 does not exist (1900 is not a leap year); S = 195, mod 11 = 8 -> 4: right check character, bad date.
	idNoLeap1900 = "440305190002290014"
	// 2001-02-29 does not exist; S = 191, mod 11 = 4 -> 8.
	idNoLeap2001 = "440305200102290018"
	// Month 13; S = 176, mod 11 = 0 -> 1.
	idMonth13 = "110105194913310021"
	// Born 1899-12-31, before the accepted range; S = 196, mod 11 = 9 -> 3.
	id1899 = "110105189912310023"
	// Province 99 does not exist; S = 295, mod 11 = 9 -> 3.
	idProvince99 = "990105194912310023"
	// idSample with the wrong check character.
	idBadCheck = "110105194912310021"
)

func requireRule(t *testing.T, err error, rule cbec.Rule, field string) *cbec.RuleError {
	t.Helper()
	require.Error(t, err)
	var re *cbec.RuleError
	require.True(t, errors.As(err, &re), "want *RuleError, got %T: %v", err, err)
	assert.Equal(t, rule, re.Rule, "rule of %v", err)
	assert.Equal(t, field, re.Field, "field of %v", err)
	assert.Contains(t, err.Error(), string(rule))
	assert.Contains(t, err.Error(), field)
	return re
}

func TestValidateIDNumber(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
		msg  string // a fragment of the message on failure
	}{
		{"well-known sample with X", idSample, true, ""},
		{"lower-case x", strings.ToLower(idSample), true, ""},
		{"surrounding spaces", "  " + idSample + "\t", true, ""},
		{"digit check character", idShanghai, true, ""},
		{"leap day", idLeapDay, true, ""},
		{"empty", "", false, "required"},
		{"blank", "   ", false, "required"},
		{"17 characters", idSample[:17], false, "18 characters, got 17"},
		{"19 characters", idSample + "1", false, "18 characters, got 19"},
		{"old 15-digit format", "110105491231002", false, "18 characters, got 15"},
		{"full-width digits", "１１０１０５１９４９１２３１００２Ｘ", false, "ASCII"},
		{"letter in the body", "1101051949123100X2", false, "character 17 must be a digit"},
		{"letter check character", "11010519491231002A", false, "digit or X"},
		{"inner space", "110105 9491231002X", false, "character 7 must be a digit"},
		{"unknown province", idProvince99, false, "province"},
		{"1900-02-29", idNoLeap1900, false, "birth date"},
		{"2001-02-29", idNoLeap2001, false, "birth date"},
		{"month 13", idMonth13, false, "birth date"},
		{"born 1899", id1899, false, "birth date"},
		{"wrong check character", idBadCheck, false, "check character does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cbec.ValidateIDNumber(tt.id)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			requireRule(t, err, cbec.RuleIDNumber, "IDNumber")
			assert.Contains(t, err.Error(), tt.msg)
			if n := strings.TrimSpace(tt.id); len(n) >= 8 {
				assert.NotContains(t, err.Error(), n, "the message must not repeat the ID number")
				assert.NotContains(t, err.Error(), n[6:14], "the message must not repeat the birth date")
			}
		})
	}
}

func TestNormalizeIDNumber(t *testing.T) {
	assert.Equal(t, idSample, cbec.NormalizeIDNumber(" 11010519491231002x\n"))
	assert.Equal(t, idShanghai, cbec.NormalizeIDNumber(idShanghai))
}

func TestCheckIdentity(t *testing.T) {
	buyer := cbec.Identity{Name: "张三", IDNumber: idSample}
	tests := []struct {
		name  string
		buyer cbec.Identity
		payer cbec.Identity
		rule  cbec.Rule // empty for success
		field string
	}{
		{"same person", buyer, buyer, "", ""},
		{"payer normalised: spaces and lower-case x", buyer, cbec.Identity{Name: " 张三 ", IDNumber: " 11010519491231002x"}, "", ""},
		{"minority name with middle dot", cbec.Identity{Name: "阿依古丽·买买提", IDNumber: idShanghai}, cbec.Identity{Name: "阿依古丽·买买提", IDNumber: idShanghai}, "", ""},
		{"latin name with hyphen, apostrophe and initials", cbec.Identity{Name: "J. R. Mary-Jane O'Neil", IDNumber: idLeapDay}, cbec.Identity{Name: "J. R. Mary-Jane O'Neil", IDNumber: idLeapDay}, "", ""},
		{"combining accent", cbec.Identity{Name: "Jose\u0301 Li", IDNumber: idLeapDay}, cbec.Identity{Name: "Jose\u0301 Li", IDNumber: idLeapDay}, "", ""},
		{"buyer name missing", cbec.Identity{IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name one character", cbec.Identity{Name: "张", IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name with a digit", cbec.Identity{Name: "张3", IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name with an emoji", cbec.Identity{Name: "张三😀", IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name with zero-width space", cbec.Identity{Name: "张\u200b三", IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name with double space", cbec.Identity{Name: "Li  Wei", IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name starting with a separator", cbec.Identity{Name: "·张三", IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name ending with a hyphen", cbec.Identity{Name: "张三-", IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name too long", cbec.Identity{Name: strings.Repeat("张", 65), IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"buyer name invalid UTF-8", cbec.Identity{Name: "张\xff三", IDNumber: idSample}, buyer, cbec.RuleRealName, "Buyer.Name"},
		{"payer name missing", buyer, cbec.Identity{IDNumber: idSample}, cbec.RuleRealName, "Payer.Name"},
		{"names before ID numbers", cbec.Identity{Name: "张三", IDNumber: "bad"}, cbec.Identity{Name: "", IDNumber: idSample}, cbec.RuleRealName, "Payer.Name"},
		{"buyer ID invalid", cbec.Identity{Name: "张三", IDNumber: idBadCheck}, buyer, cbec.RuleIDNumber, "Buyer.IDNumber"},
		{"payer ID invalid", buyer, cbec.Identity{Name: "张三", IDNumber: idMonth13}, cbec.RuleIDNumber, "Payer.IDNumber"},
		{"payer is someone else", buyer, cbec.Identity{Name: "李四", IDNumber: idSample}, cbec.RulePayerIsBuyer, "Payer.Name"},
		{"payer has another ID", buyer, cbec.Identity{Name: "张三", IDNumber: idShanghai}, cbec.RulePayerIsBuyer, "Payer.IDNumber"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cbec.CheckIdentity(tt.buyer, tt.payer)
			if tt.rule == "" {
				require.NoError(t, err)
				return
			}
			requireRule(t, err, tt.rule, tt.field)
			for _, p := range []cbec.Identity{tt.buyer, tt.payer} {
				if n := strings.TrimSpace(p.Name); n != "" {
					assert.NotContains(t, err.Error(), n, "the message must not repeat a name")
				}
				if id := strings.TrimSpace(p.IDNumber); len(id) == 18 {
					assert.NotContains(t, err.Error(), id, "the message must not repeat an ID number")
				}
			}
		})
	}
}
