package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/xhspay/xhspay/internal/devstack"
)

func TestLogPath(t *testing.T) {
	assert.Equal(t, filepath.Join(".xhspay", "dev.log"), logPath(devConfig{dataDir: ".xhspay"}))
	assert.Equal(t, "x.log", logPath(devConfig{dataDir: ".xhspay", logFile: "x.log"}))
	assert.Equal(t, filepath.Join(os.TempDir(), "xhspay-dev.log"), logPath(devConfig{dataDir: ".xhspay", inMemory: true}))
}

func TestPrintResults(t *testing.T) {
	stack := &devstack.Stack{UIURL: "http://127.0.0.1:8233", Namespace: "default"}
	results := []devstack.Result{
		{Scenario: devstack.Scenario{Name: "alipay-paid", Title: "Alipay, paid", Provider: "alipay", Expected: "Completed"},
			Outcome: devstack.Outcome{OrderID: "order-acme-demo-r1-alipay-paid", Started: true, State: "Completed", Detail: "paid 10.00 CNY"},
			Elapsed: 1200 * time.Millisecond},
		{Scenario: devstack.Scenario{Name: "cbec-limit", Title: "over the limit", Provider: "wechatpay", Expected: "Rejected"},
			Outcome: devstack.Outcome{OrderID: "order-acme-demo-r1-cbec-limit", State: "Rejected", Detail: "422 cbec.order_limit"}},
		{Scenario: devstack.Scenario{Name: "expired", Title: "never paid", Provider: "alipay", Expected: "Expired"},
			Outcome: devstack.Outcome{OrderID: "order-lumiere-demo-r1-expired", Started: true, State: "AwaitingPayment"},
			Err:     errors.New("still AwaitingPayment")},
	}
	var out bytes.Buffer
	failures := printResults(&out, stack, results)
	assert.Equal(t, 1, failures)
	text := out.String()
	assert.Regexp(t, `1\s+alipay-paid\s+order-acme-demo-r1-alipay-paid\s+alipay\s+Completed\s+Completed\s+OK\s+1.2s`, text)
	assert.Regexp(t, `3\s+expired\s+order-lumiere-demo-r1-expired\s+alipay\s+Expired\s+AwaitingPayment\s+FAIL`, text)
	assert.Contains(t, text, "http://127.0.0.1:8233/namespaces/default/workflows?query=WorkflowId%3D%22order-acme-demo-r1-alipay-paid%22")
	assert.Contains(t, text, "(no workflow: the API refused the order before starting anything)")
	assert.Contains(t, text, "error: still AwaitingPayment")
}
