package devstack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/client"
)

func TestNewIDNumberIsValid(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		id := NewIDNumber()
		require.NoError(t, cbec.ValidateIDNumber(id), id)
		seen[id] = true
	}
	assert.Greater(t, len(seen), 490, "ID numbers are random")
}

func TestIDCheckChar(t *testing.T) {
	// Published GB 11643 examples.
	for _, id := range []string{"11010519491231002X", "440524188001010014", "110105199003071239"} {
		assert.Equal(t, id[17], idCheckChar(id[:17]), id)
	}
}

func TestNewBuyerPassesTheCBECIdentityRules(t *testing.T) {
	b := NewBuyer()
	id := cbec.Identity{Name: b.Name, IDNumber: b.IDNumber}
	require.NoError(t, cbec.CheckIdentity(id, id))
	assert.Regexp(t, `^1[3-9]\d{9}$`, b.Phone)
}

func TestSecretsArePersistedAndReused(t *testing.T) {
	dir := t.TempDir()
	first, err := loadSecrets(dir, []string{MerchantAcme})
	require.NoError(t, err)
	require.NoError(t, first.validate())
	fi, err := os.Stat(filepath.Join(dir, SecretsFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "secrets are readable by the owner only")

	again, err := loadSecrets(dir, []string{MerchantAcme})
	require.NoError(t, err)
	assert.Equal(t, first, again, "a second run finds the same secrets")

	more, err := loadSecrets(dir, []string{MerchantAcme, MerchantLumiere})
	require.NoError(t, err)
	assert.Equal(t, first.APIKeys[MerchantAcme], more.APIKeys[MerchantAcme])
	assert.NotEmpty(t, more.APIKeys[MerchantLumiere], "a new merchant gets a key")
	assert.NotEqual(t, more.APIKeys[MerchantAcme], more.APIKeys[MerchantLumiere])
	reread, err := loadSecrets(dir, []string{MerchantAcme, MerchantLumiere})
	require.NoError(t, err)
	assert.Equal(t, more, reread, "the new key was saved")
}

func TestCorruptSecretsAreRefused(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":     "{",
		"bad keyring":  `{"codecKeys":"k1:short","buyerHashKey":"00112233445566778899aabbccddeeff","apiKeys":{}}`,
		"short hash":   `{"codecKeys":"` + mustKeyring(t) + `","buyerHashKey":"0011","apiKeys":{}}`,
		"empty apikey": `{"codecKeys":"` + mustKeyring(t) + `","buyerHashKey":"00112233445566778899aabbccddeeff","apiKeys":{"acme":" "}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, SecretsFile), []byte(body), 0o600))
			_, err := loadSecrets(dir, []string{MerchantAcme})
			require.Error(t, err)
			assert.Contains(t, err.Error(), SecretsFile)
		})
	}
}

func mustKeyring(t *testing.T) string {
	t.Helper()
	s, err := generateSecrets(nil)
	require.NoError(t, err)
	return s.CodecKeys
}

func TestConfigCheck(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no storage":      {Config{}, "DataDir is required"},
		"both storages":   {Config{DataDir: "x", InMemory: true}, "exclude each other"},
		"bad API port":    {Config{InMemory: true, APIPort: 70000}, "APIPort"},
		"bad UI port":     {Config{InMemory: true, UIPort: -2}, "UIPort"},
		"negative port":   {Config{InMemory: true, TemporalPort: -1}, "TemporalPort"},
		"in memory is ok": {Config{InMemory: true, UIPort: -1}, ""},
		"folder is ok":    {Config{DataDir: "x"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.check()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestDefaults(t *testing.T) {
	fast := Config{InMemory: true, Fast: true}.withDefaults()
	assert.Equal(t, FastTimings().PaymentExpiry, fast.Timings.PaymentExpiry)
	assert.Equal(t, "sqlite::memory:", fast.LedgerDSN)
	assert.Equal(t, "default", fast.Namespace)
	assert.NotZero(t, fast.WorkerOptions.WorkerStopTimeout)

	slow := Config{DataDir: "d"}.withDefaults()
	assert.Zero(t, slow.Timings.PaymentExpiry, "without Fast the workflows' own defaults apply")
	assert.Equal(t, "sqlite:"+filepath.Join("d", "ledger.db"), slow.LedgerDSN)

	own := Timings{PaymentExpiry: 42}
	assert.Equal(t, own, *Config{InMemory: true, Fast: true, Timings: &own}.withDefaults().Timings, "Timings win over Fast")
}

func TestWorkflowsURL(t *testing.T) {
	s := &Stack{UIURL: "http://127.0.0.1:8233", Namespace: "default"}
	assert.Equal(t, "http://127.0.0.1:8233/namespaces/default/workflows?query=WorkflowId%3D%22order-acme-1%22",
		s.WorkflowsURL(`WorkflowId="order-acme-1"`))
	assert.Equal(t, "http://127.0.0.1:8233/namespaces/default/workflows", s.WorkflowsURL(""))
	assert.Empty(t, (&Stack{}).WorkflowsURL("x"), "no UI, no link")
}

func TestScenariosAreWellFormed(t *testing.T) {
	names := map[string]bool{}
	runID := NewRunID()
	assert.Regexp(t, `^[a-z0-9]{6}$`, runID)
	for _, sc := range Scenarios() {
		assert.False(t, names[sc.Name], "duplicate scenario %s", sc.Name)
		names[sc.Name] = true
		assert.LessOrEqual(t, len(OrderNo(runID, sc.Name)), 32, "merchant order numbers have at most 32 characters")
		assert.Regexp(t, `^[A-Za-z0-9_-]+$`, OrderNo(runID, sc.Name))
		assert.Contains(t, []string{MerchantAcme, MerchantLumiere}, sc.Merchant)
		assert.Contains(t, []string{client.Alipay, client.WeChatPay, client.Card}, sc.Provider)
		assert.NotEmpty(t, sc.Expected)
		assert.NotEmpty(t, sc.Title)
		assert.NotNil(t, sc.Run)
	}
	assert.Len(t, names, 9)
}

func TestRunScenariosReportsProgressAndResults(t *testing.T) {
	boom := errors.New("boom")
	scenarios := []Scenario{
		{Name: "ok", Expected: client.StateCompleted, Run: func(context.Context, *Stack, string) (Outcome, error) {
			return Outcome{OrderID: "order-acme-x", Started: true, State: client.StateCompleted}, nil
		}},
		{Name: "wrong-state", Expected: client.StateExpired, Run: func(_ context.Context, _ *Stack, orderNo string) (Outcome, error) {
			return Outcome{OrderID: "order-acme-" + orderNo, Started: true, State: client.StateCompleted}, nil
		}},
		{Name: "error", Expected: client.StateCompleted, Run: func(context.Context, *Stack, string) (Outcome, error) {
			return Outcome{State: client.StateCompleted}, boom
		}},
		{Name: "refused", Expected: client.StateRejected, Run: func(context.Context, *Stack, string) (Outcome, error) {
			return Outcome{OrderID: "order-acme-y", State: client.StateRejected}, nil
		}},
	}
	var mu sync.Mutex
	var reports []Progress
	results := RunScenarios(context.Background(), nil, "run1", scenarios, func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, p)
	})
	require.Len(t, results, 4)
	for i, r := range results {
		assert.Equal(t, scenarios[i].Name, r.Scenario.Name, "results keep the scenarios' order")
		assert.Equal(t, OrderNo("run1", scenarios[i].Name), r.OrderNo)
	}
	assert.True(t, results[0].OK())
	assert.False(t, results[1].OK(), "another state than expected fails")
	assert.False(t, results[2].OK(), "an error fails even in the expected state")
	assert.ErrorIs(t, results[2].Err, boom)
	assert.True(t, results[3].OK())
	assert.Equal(t, `WorkflowId="order-acme-x"`, results[0].UIQuery())
	assert.Empty(t, results[3].UIQuery(), "no workflow, no search")

	require.Len(t, reports, 5, "one report at the start and one per scenario")
	assert.Equal(t, 0, reports[0].Done)
	assert.Len(t, reports[0].Running, 4)
	assert.Nil(t, reports[0].Finished)
	last := reports[4]
	assert.Equal(t, 4, last.Done)
	assert.Equal(t, 4, last.Total)
	assert.Empty(t, last.Running)
	require.NotNil(t, last.Finished)
}

func TestSameAmount(t *testing.T) {
	assert.True(t, SameAmount(client.CNY("5"), client.CNY("5.00")))
	assert.False(t, SameAmount(client.CNY("5.00"), client.CNY("5.01")))
	assert.False(t, SameAmount(client.CNY("5.00"), client.Amount{Value: "5.00", Currency: "USD"}))
	assert.False(t, SameAmount(client.CNY("x"), client.CNY("x")), "unparsable amounts are never equal")
}

func TestTimelineHas(t *testing.T) {
	tl := []client.Event{{Detail: "paid 10.00 CNY (notification) in 6 instalments"}}
	assert.True(t, timelineHas(tl, "in 6 instalments"))
	assert.False(t, timelineHas(tl, "in 3 instalments"))
	assert.False(t, timelineHas(nil, strings.TrimSpace(" x ")))
}
