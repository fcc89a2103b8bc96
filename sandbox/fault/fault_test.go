package fault_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/sandbox/fault"
)

const endpoint = "alipay.trade.query"

func TestTakeCountsTimesDown(t *testing.T) {
	tests := []struct {
		name   string
		rule   *fault.Rule // nil installs nothing
		taken  string      // endpoint taken; empty means endpoint
		wantOK []bool
	}{
		{name: "no rule", wantOK: []bool{false, false}},
		{name: "other endpoint", rule: &fault.Rule{Status: 503}, taken: "alipay.trade.refund", wantOK: []bool{false}},
		{name: "times 0 is every call", rule: &fault.Rule{Status: 503}, wantOK: []bool{true, true, true, true}},
		{name: "times 1", rule: &fault.Rule{Status: 503, Times: 1}, wantOK: []bool{true, false, false}},
		{name: "times 3", rule: &fault.Rule{BusinessError: "ACQ.SYSTEM_ERROR", Times: 3}, wantOK: []bool{true, true, true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := fault.New()
			if tc.rule != nil {
				in.Set(endpoint, *tc.rule)
			}
			taken := tc.taken
			if taken == "" {
				taken = endpoint
			}
			for i, want := range tc.wantOK {
				r, ok := in.Take(taken)
				require.Equal(t, want, ok, "call %d", i+1)
				if ok {
					assert.Equal(t, tc.rule.Status, r.Status, "call %d", i+1)
					assert.Equal(t, tc.rule.BusinessError, r.BusinessError, "call %d", i+1)
				} else {
					assert.Equal(t, fault.Rule{}, r, "call %d", i+1)
				}
			}
		})
	}
}

func TestTakeRemovesSpentRule(t *testing.T) {
	in := fault.New()
	in.Set(endpoint, fault.Rule{Status: 500, Times: 1})
	in.Set("other", fault.Rule{Status: 502})
	_, ok := in.Take(endpoint)
	require.True(t, ok)
	got := getConfig(t, in)
	assert.NotContains(t, got.Endpoints, endpoint, "a spent rule is removed")
	assert.Contains(t, got.Endpoints, "other")
}

func TestSetReplacesRule(t *testing.T) {
	in := fault.New()
	in.Set(endpoint, fault.Rule{Status: 500})
	in.Set(endpoint, fault.Rule{Status: 503, Times: 1})
	r, ok := in.Take(endpoint)
	require.True(t, ok)
	assert.Equal(t, 503, r.Status)
	_, ok = in.Take(endpoint)
	assert.False(t, ok, "the replacing rule's Times applies")
}

func TestIntercept(t *testing.T) {
	const latency = 40 * time.Millisecond
	tests := []struct {
		name        string
		rule        *fault.Rule
		ctxTimeout  time.Duration // 0: the request's context never ends
		wantHandled bool
		wantStatus  int // 0: nothing written
		wantMin     time.Duration
		wantBizErr  string
	}{
		{name: "no rule", wantHandled: false},
		{name: "latency only", rule: &fault.Rule{Latency: latency}, wantMin: latency},
		{name: "status 503", rule: &fault.Rule{Status: http.StatusServiceUnavailable}, wantHandled: true, wantStatus: http.StatusServiceUnavailable},
		{name: "status 500 after latency", rule: &fault.Rule{Latency: latency, Status: http.StatusInternalServerError}, wantHandled: true, wantStatus: http.StatusInternalServerError, wantMin: latency},
		{name: "timeout holds until the client gives up", rule: &fault.Rule{Timeout: true}, ctxTimeout: 30 * time.Millisecond, wantHandled: true, wantStatus: http.StatusGatewayTimeout, wantMin: 30 * time.Millisecond},
		{name: "latency cut short by the client", rule: &fault.Rule{Latency: time.Minute}, ctxTimeout: 30 * time.Millisecond, wantHandled: true, wantMin: 30 * time.Millisecond},
		{name: "business error is left to the caller", rule: &fault.Rule{BusinessError: "SYSTEM_ERROR"}, wantBizErr: "SYSTEM_ERROR"},
		{name: "business error after latency", rule: &fault.Rule{Latency: latency, BusinessError: "ACQ.SYSTEM_ERROR"}, wantBizErr: "ACQ.SYSTEM_ERROR", wantMin: latency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := fault.New()
			if tc.rule != nil {
				in.Set(endpoint, *tc.rule)
			}
			ctx := context.Background()
			if tc.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
				defer cancel()
			}
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/gateway.do", nil)
			rec := httptest.NewRecorder()

			start := time.Now()
			rule, handled := in.Intercept(endpoint, rec, req)
			elapsed := time.Since(start)

			assert.Equal(t, tc.wantHandled, handled)
			assert.Equal(t, tc.wantBizErr, rule.BusinessError)
			assert.GreaterOrEqual(t, elapsed, tc.wantMin)
			assert.Less(t, elapsed, 5*time.Second, "must not hang")
			if tc.wantStatus == 0 {
				assert.False(t, rec.Flushed)
				assert.Empty(t, rec.Body.String(), "nothing is written")
				assert.Empty(t, rec.Header())
			} else {
				assert.Equal(t, tc.wantStatus, rec.Code)
			}
		})
	}
}

func TestInterceptTimesOnce(t *testing.T) {
	in := fault.New()
	in.Set(endpoint, fault.Rule{Status: http.StatusBadGateway, Times: 1})
	rec := httptest.NewRecorder()
	_, handled := in.Intercept(endpoint, rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.True(t, handled)
	assert.Equal(t, http.StatusBadGateway, rec.Code)

	rec = httptest.NewRecorder()
	_, handled = in.Intercept(endpoint, rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.False(t, handled, "the second call is not affected")
	assert.Empty(t, rec.Body.String())
}

func TestNilInjectorInjectsNothing(t *testing.T) {
	var in *fault.Injector

	r, ok := in.Take(endpoint)
	assert.False(t, ok)
	assert.Equal(t, fault.Rule{}, r)

	rec := httptest.NewRecorder()
	_, handled := in.Intercept(endpoint, rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.False(t, handled)
	assert.Empty(t, rec.Body.String())

	rc := newRecorder()
	in.Deliver(rc.send(1))
	rc.waitFor(t, 1)
	assert.Equal(t, []int{1}, rc.got())
}

// recorder records the notifications Deliver sends, in order.
type recorder struct {
	mu   sync.Mutex
	sent []int
	at   []time.Time
}

func newRecorder() *recorder { return &recorder{} }

func (rc *recorder) send(id int) func() {
	return func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.sent = append(rc.sent, id)
		rc.at = append(rc.at, time.Now())
	}
}

func (rc *recorder) got() []int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]int(nil), rc.sent...)
}

func (rc *recorder) firstAt() time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.at[0]
}

func (rc *recorder) waitFor(t *testing.T, n int) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, len(rc.got()), n, "notifications so far: %v", rc.got())
	}, 2*time.Second, 2*time.Millisecond, "waiting for %d notifications", n)
}

// quiet is how long a test waits to see that nothing (more) is sent.
const quiet = 60 * time.Millisecond

func (rc *recorder) staysAt(t *testing.T, n int) {
	t.Helper()
	assert.Never(t, func() bool { return len(rc.got()) != n }, quiet, 2*time.Millisecond, "expected exactly %d notifications", n)
}

func TestDeliver(t *testing.T) {
	tests := []struct {
		name  string
		rule  *fault.NotifyRule
		after []int // sends expected in total after each delivery (ids 1, 2, ...)
		want  []int // what is sent, in order
	}{
		{name: "no rule sends each once", after: []int{1, 2}, want: []int{1, 2}},
		{name: "drop", rule: &fault.NotifyRule{Drop: true}, after: []int{0, 0, 0}, want: nil},
		{name: "drop once", rule: &fault.NotifyRule{Drop: true, Times: 1}, after: []int{0, 1, 2}, want: []int{2, 3}},
		{name: "duplicate", rule: &fault.NotifyRule{Duplicate: true}, after: []int{2}, want: []int{1, 1}},
		{name: "duplicate once", rule: &fault.NotifyRule{Duplicate: true, Times: 1}, after: []int{2, 3}, want: []int{1, 1, 2}},
		{name: "reorder pairs newest first", rule: &fault.NotifyRule{Reorder: true}, after: []int{0, 2, 2, 4}, want: []int{2, 1, 4, 3}},
		{name: "reorder twice", rule: &fault.NotifyRule{Reorder: true, Times: 2}, after: []int{0, 2, 3}, want: []int{2, 1, 3}},
		{name: "reorder once still sends the held one", rule: &fault.NotifyRule{Reorder: true, Times: 1}, after: []int{0, 2}, want: []int{2, 1}},
		{name: "reorder three times", rule: &fault.NotifyRule{Reorder: true, Times: 3}, after: []int{0, 2, 2, 4, 5}, want: []int{2, 1, 4, 3, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := fault.New()
			if tc.rule != nil {
				in.SetNotify(*tc.rule)
			}
			rc := newRecorder()
			for i, n := range tc.after {
				in.Deliver(rc.send(i + 1))
				// Let each one land before the next, so the order is the injector's, not the scheduler's.
				rc.waitFor(t, n)
			}
			rc.staysAt(t, len(tc.want))
			assert.Equal(t, tc.want, rc.got())
		})
	}
}

func TestDeliverReorderHoldsTheFirst(t *testing.T) {
	in := fault.New()
	in.SetNotify(fault.NotifyRule{Reorder: true})
	rc := newRecorder()
	in.Deliver(rc.send(1))
	rc.staysAt(t, 0)
	in.Deliver(rc.send(2))
	rc.waitFor(t, 2)
	assert.Equal(t, []int{2, 1}, rc.got(), "held until the next one, then newest first")
}

func TestDeliverReleasesHeldWhenRuleChanges(t *testing.T) {
	in := fault.New()
	in.SetNotify(fault.NotifyRule{Reorder: true})
	rc := newRecorder()
	in.Deliver(rc.send(1))
	rc.staysAt(t, 0)

	in.SetNotify(fault.NotifyRule{Drop: true})
	in.Deliver(rc.send(2))
	rc.waitFor(t, 1)
	rc.staysAt(t, 1)
	assert.Equal(t, []int{1}, rc.got(), "the new one is dropped, the held one is not lost")
}

func TestDeliverDelay(t *testing.T) {
	const delay = 80 * time.Millisecond
	in := fault.New()
	in.SetNotify(fault.NotifyRule{Delay: delay, Times: 1})
	rc := newRecorder()
	start := time.Now()
	in.Deliver(rc.send(1))
	rc.waitFor(t, 1)
	assert.GreaterOrEqual(t, rc.firstAt().Sub(start), delay)

	assert.Nil(t, getConfig(t, in).Notify, "the rule was spent")
	in.Deliver(rc.send(2))
	rc.waitFor(t, 2)
	assert.Equal(t, []int{1, 2}, rc.got())
}

func TestClearSendsHeldNotifications(t *testing.T) {
	in := fault.New()
	in.SetNotify(fault.NotifyRule{Reorder: true})
	in.Set(endpoint, fault.Rule{Status: 503})
	rc := newRecorder()
	in.Deliver(rc.send(1))
	rc.staysAt(t, 0)

	in.Clear()
	rc.waitFor(t, 1)
	assert.Equal(t, []int{1}, rc.got())
	_, ok := in.Take(endpoint)
	assert.False(t, ok, "endpoint rules are cleared")

	in.Deliver(rc.send(2))
	rc.waitFor(t, 2)
	assert.Equal(t, []int{1, 2}, rc.got(), "the notify rule is cleared")
}

func TestApply(t *testing.T) {
	in := fault.New()
	in.Apply(fault.Config{
		Endpoints: map[string]fault.Rule{endpoint: {Status: 500}, "b": {Timeout: true, Times: 2}},
		Notify:    &fault.NotifyRule{Drop: true},
	})
	got := getConfig(t, in)
	assert.Equal(t, fault.Config{
		Endpoints: map[string]fault.Rule{endpoint: {Status: 500}, "b": {Timeout: true, Times: 2}},
		Notify:    &fault.NotifyRule{Drop: true},
	}, got)

	in.Apply(fault.Config{Endpoints: map[string]fault.Rule{"c": {Status: 502}}})
	got = getConfig(t, in)
	assert.Len(t, got.Endpoints, 3, "Apply adds to the rules in place")
	assert.NotNil(t, got.Notify, "a config without notify keeps the notify rule")
}

func serve(t *testing.T, h http.Handler, method, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/sandbox/faults", strings.NewReader(body)))
	return rec
}

func getConfig(t *testing.T, in *fault.Injector) fault.Config {
	t.Helper()
	rec := serve(t, in.Handler(), http.MethodGet, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var c fault.Config
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &c))
	return c
}

func TestHandler(t *testing.T) {
	in := fault.New()
	h := in.Handler()

	assert.Empty(t, getConfig(t, in).Endpoints, "no rules at first")

	body := `{"endpoints":{"alipay.trade.query":{"status":503,"times":2},"POST /v3/refund/domestic/refunds":{"latency":1000000,"businessError":"SYSTEM_ERROR"}},"notify":{"drop":true,"times":1}}`
	rec := serve(t, h, http.MethodPut, body)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())

	want := fault.Config{
		Endpoints: map[string]fault.Rule{
			"alipay.trade.query":               {Status: 503, Times: 2},
			"POST /v3/refund/domestic/refunds": {Latency: time.Millisecond, BusinessError: "SYSTEM_ERROR"},
		},
		Notify: &fault.NotifyRule{Drop: true, Times: 1},
	}
	assert.Equal(t, want, getConfig(t, in))
	r, ok := in.Take("alipay.trade.query")
	require.True(t, ok, "the rules set over HTTP apply")
	assert.Equal(t, 503, r.Status)
	assert.Equal(t, 1, getConfig(t, in).Endpoints["alipay.trade.query"].Times, "GET shows the remaining count")

	rec = serve(t, h, http.MethodPost, `{"endpoints":{"fx":{"status":500}}}`)
	require.Equal(t, http.StatusNoContent, rec.Code, "POST is accepted like PUT")
	assert.Len(t, getConfig(t, in).Endpoints, 3)

	rec = serve(t, h, http.MethodDelete, "")
	require.Equal(t, http.StatusNoContent, rec.Code)
	got := getConfig(t, in)
	assert.Empty(t, got.Endpoints)
	assert.Nil(t, got.Notify)
	_, ok = in.Take("fx")
	assert.False(t, ok)
}

func TestHandlerRejects(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		body       string
		wantStatus int
		wantBody   string
	}{
		{name: "unknown field", method: http.MethodPut, body: `{"endpoints":{"x":{"status":500,"bogus":1}}}`, wantStatus: http.StatusBadRequest, wantBody: "bogus"},
		{name: "unknown top-level field", method: http.MethodPut, body: `{"rules":{}}`, wantStatus: http.StatusBadRequest, wantBody: "rules"},
		{name: "malformed JSON", method: http.MethodPut, body: `{"endpoints":`, wantStatus: http.StatusBadRequest, wantBody: "bad fault config"},
		{name: "wrong type", method: http.MethodPut, body: `{"endpoints":{"x":{"status":"500"}}}`, wantStatus: http.StatusBadRequest, wantBody: "status"},
		{name: "PATCH", method: http.MethodPatch, body: `{}`, wantStatus: http.StatusMethodNotAllowed},
		{name: "HEAD", method: http.MethodHead, wantStatus: http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := fault.New()
			rec := serve(t, in.Handler(), tc.method, tc.body)
			assert.Equal(t, tc.wantStatus, rec.Code)
			assert.Contains(t, rec.Body.String(), tc.wantBody)
			if tc.wantStatus == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET, PUT, POST, DELETE", rec.Header().Get("Allow"))
			}
			assert.Empty(t, getConfig(t, in).Endpoints, "a refused request changes nothing")
		})
	}
}
