package customs_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/customs"
	"github.com/xhspay/xhspay/providers/internal/hmacsig/hmacsigtest"
	customssandbox "github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/fault"
)

const (
	keyID  = "platform-key"
	secret = "customs-secret-0123456789abcdef"
)

var (
	buyer    = providers.Identity{Name: "张伟", IDNumber: "11010519491231002X"}
	stranger = providers.Identity{Name: "李娜", IDNumber: "440305199001011234"}
	discard  = slog.New(slog.DiscardHandler)
)

type harness struct {
	sb     *customssandbox.Sandbox
	c      *customs.Client
	tap    *hmacsigtest.Tap
	faults *fault.Injector
	clock  *hmacsigtest.Clock
	events chan customs.Event
	url    string
}

func start(t *testing.T, mod func(*customssandbox.Config)) *harness {
	t.Helper()
	h := &harness{faults: fault.New(), clock: hmacsigtest.NewClock(time.Date(2025, 5, 10, 9, 0, 0, 0, time.UTC)), events: make(chan customs.Event, 32)}
	notifyURL := hmacsigtest.NotifyServer(t, func(r *http.Request) (customs.Event, error) { return h.c.ParseNotification(r.Context(), r) }, h.events)
	cfg := customssandbox.Config{
		KeyID: keyID, Secret: secret, NotifyURL: notifyURL + "/notify/customs", Faults: h.faults, Logger: discard,
		Now: h.clock.Now, ClearanceDelay: -1, SweepInterval: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	h.sb, h.tap, h.url = hmacsigtest.Start(t, customssandbox.New, cfg)
	h.c = newClient(t, h.url, nil)
	return h
}

func newClient(t *testing.T, url string, mod func(*customs.Config)) *customs.Client {
	t.Helper()
	return hmacsigtest.Build(t, customs.New, customs.Config{BaseURL: url, KeyID: keyID, Secret: secret, Logger: discard}, mod)
}

func cny(s string) money.Amount { return money.MustParse(s, money.CNY) }

func manifestFor(orderNo string, b providers.Identity, items ...providers.Item) providers.Manifest {
	if len(items) == 0 {
		items = []providers.Item{{SKU: "SKU-BAG", Name: "Tote bag", Category: "bags", Quantity: 2, UnitPrice: cny("400.00")}}
	}
	goods := money.Zero(money.CNY)
	for _, it := range items {
		var err error
		goods, err = goods.Add(it.UnitPrice.Mul(decimalOf(it.Quantity)))
		if err != nil {
			panic(err)
		}
	}
	return providers.Manifest{
		OrderNo: orderNo, Buyer: b, Items: items, Goods: goods, Freight: cny("20.00"), Tax: cny("74.62"),
		CustomsCode: "HANGZHOU", PlatformCode: "PLATFORM01",
	}
}

// total is what the buyer pays for m, in fen.
func total(m providers.Manifest) int64 {
	sum, _ := m.Goods.Add(m.Freight)
	sum, _ = sum.Add(m.Tax)
	f, _ := sum.MinorUnits()
	return f
}

func record(m providers.Manifest, payer providers.Identity, amountFen int64) customssandbox.PaymentRecord {
	return customssandbox.PaymentRecord{
		Provider: "alipay", OrderNo: m.OrderNo, TransactionID: "2025051022001400000000" + m.OrderNo,
		PayerName: payer.Name, PayerIDNumber: payer.IDNumber, AmountFen: amountFen,
		CustomsCode: m.CustomsCode, MerchantCustomsCode: m.PlatformCode, At: time.Now(),
	}
}

func (h *harness) waitEvent(t *testing.T, kind customs.EventKind) customs.Event {
	t.Helper()
	select {
	case ev := <-h.events:
		require.Equal(t, kind, ev.Kind)
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s notification", kind)
		return customs.Event{}
	}
}

func (h *harness) clear(t *testing.T, m providers.Manifest) providers.Clearance {
	t.Helper()
	ctx := context.Background()
	h.sb.ReceivePaymentRecord(record(m, m.Buyer, total(m)))
	require.NoError(t, h.c.SubmitManifest(ctx, m))
	cl, err := h.c.QueryClearance(ctx, m.OrderNo)
	require.NoError(t, err)
	require.Equal(t, providers.ClearanceCleared, cl.Status, "%+v", cl)
	ev := h.waitEvent(t, customs.EventClearance)
	require.Equal(t, m.OrderNo, ev.OrderNo)
	return cl
}

func TestClearedEndToEnd(t *testing.T) {
	h := start(t, func(c *customssandbox.Config) { c.ClearanceDelay = time.Hour })
	ctx := context.Background()
	m := manifestFor("ORD-1", buyer)

	cl, err := h.c.QueryClearance(ctx, m.OrderNo)
	require.NoError(t, err)
	assert.Equal(t, providers.ClearanceNotFound, cl.Status)

	require.NoError(t, h.c.SubmitManifest(ctx, m))
	require.NoError(t, h.c.SubmitManifest(ctx, m), "resubmitting the same manifest is a no-op")
	h.sb.ReceivePaymentRecord(record(m, buyer, total(m)))

	cl, err = h.c.QueryClearance(ctx, m.OrderNo)
	require.NoError(t, err)
	assert.Equal(t, providers.ClearancePending, cl.Status, "the clearance delay has not passed")

	h.clock.Advance(time.Hour)
	ev := h.waitEvent(t, customs.EventClearance)
	require.NotNil(t, ev.Clearance)
	assert.Equal(t, providers.ClearanceCleared, ev.Clearance.Status)
	assert.Equal(t, h.clock.Now(), ev.Clearance.ReleasedAt.UTC())
	assert.NotEmpty(t, ev.ID)

	cl, err = h.c.QueryClearance(ctx, m.OrderNo)
	require.NoError(t, err)
	assert.Equal(t, providers.ClearanceCleared, cl.Status)
	assert.Empty(t, cl.Code)
	assert.False(t, cl.ReleasedAt.IsZero())

	err = h.c.CancelManifest(ctx, m.OrderNo)
	assert.True(t, providers.IsType(err, providers.ErrTypeRejected), "a released order cannot be cancelled: %v", err)

	changed := m
	changed.Freight = cny("30.00")
	err = h.c.SubmitManifest(ctx, changed)
	assert.True(t, providers.IsType(err, providers.ErrTypeDuplicateRequest), "%v", err)
}

func TestRejectionRules(t *testing.T) {
	cosmetics := providers.Item{SKU: "SKU-CREAM", Name: "Night cream", Category: "cosmetics_high_end", Quantity: 1, UnitPrice: cny("800.00")}
	registered := cosmetics
	registered.RegistrationNo = "国妆网备进字J2025000123"
	for _, tc := range []struct {
		name     string
		manifest providers.Manifest
		payer    providers.Identity
		delta    int64 // added to the paid amount
		prior    []providers.Manifest
		code     string
	}{
		{name: "payer is someone else", manifest: manifestFor("R-ID", buyer), payer: stranger, code: providers.RejectIdentityMismatch},
		{name: "payer name differs", manifest: manifestFor("R-NAME", buyer), payer: providers.Identity{Name: "张伟伟", IDNumber: buyer.IDNumber}, code: providers.RejectIdentityMismatch},
		{name: "payer ID differs", manifest: manifestFor("R-IDNO", buyer), payer: providers.Identity{Name: buyer.Name, IDNumber: stranger.IDNumber}, code: providers.RejectIdentityMismatch},
		{name: "lower-case x in ID still matches", manifest: manifestFor("R-X", buyer), payer: providers.Identity{Name: buyer.Name, IDNumber: strings.ToLower(buyer.IDNumber)}},
		{
			name: "annual quota", payer: buyer, code: providers.RejectQuotaExceeded,
			prior: []providers.Manifest{
				manifestFor("Q-1", buyer, providers.Item{SKU: "W", Name: "Watch", Category: "watches", Quantity: 1, UnitPrice: cny("4900.00")}),
				manifestFor("Q-2", buyer, providers.Item{SKU: "W", Name: "Watch", Category: "watches", Quantity: 1, UnitPrice: cny("4900.00")}),
				manifestFor("Q-3", buyer, providers.Item{SKU: "W", Name: "Watch", Category: "watches", Quantity: 1, UnitPrice: cny("4900.00")}),
				manifestFor("Q-4", buyer, providers.Item{SKU: "W", Name: "Watch", Category: "watches", Quantity: 1, UnitPrice: cny("4900.00")}),
				manifestFor("Q-5", buyer, providers.Item{SKU: "W", Name: "Watch", Category: "watches", Quantity: 1, UnitPrice: cny("4900.00")}),
			},
			// 5 × (4900 + 20) = 24,600 cleared; 24,600 + 1,420 > 26,000.
			manifest: manifestFor("Q-6", buyer, providers.Item{SKU: "B", Name: "Bag", Category: "bags", Quantity: 1, UnitPrice: cny("1400.00")}),
		},
		{
			name: "quota exactly reached clears", payer: buyer,
			prior: []providers.Manifest{
				manifestFor("QE-1", buyer, providers.Item{SKU: "W", Name: "Watch", Category: "watches", Quantity: 5, UnitPrice: cny("4000.00")}),
			},
			// 20,020 + 5,980 = 26,000: at the limit, not over it.
			manifest: manifestFor("QE-2", buyer, providers.Item{SKU: "B", Name: "Bag", Category: "bags", Quantity: 1, UnitPrice: cny("5960.00")}),
		},
		{name: "registration missing", manifest: manifestFor("R-REG", buyer, cosmetics), payer: buyer, code: providers.RejectMissingRegistration},
		{name: "registration present", manifest: manifestFor("R-REG-OK", buyer, registered), payer: buyer},
		{name: "amount differs", manifest: manifestFor("R-AMT", buyer), payer: buyer, delta: -1, code: customs.CodeAmountMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, nil)
			ctx := context.Background()
			for _, p := range tc.prior {
				h.clear(t, p)
			}
			m := tc.manifest
			require.NoError(t, h.c.SubmitManifest(ctx, m))
			h.sb.ReceivePaymentRecord(record(m, tc.payer, total(m)+tc.delta))
			cl, err := h.c.QueryClearance(ctx, m.OrderNo)
			require.NoError(t, err)
			ev := h.waitEvent(t, customs.EventClearance)
			if tc.code == "" {
				assert.Equal(t, providers.ClearanceCleared, cl.Status, "%+v", cl)
				return
			}
			assert.Equal(t, providers.ClearanceRejected, cl.Status)
			assert.Equal(t, tc.code, cl.Code)
			assert.NotEmpty(t, cl.Reason)
			assert.Equal(t, tc.code, ev.Clearance.Code)
		})
	}
}

func TestNoPaymentRecord(t *testing.T) {
	h := start(t, func(c *customssandbox.Config) { c.PaymentRecordTimeout = 30 * time.Minute })
	ctx := context.Background()
	m := manifestFor("NP-1", buyer)
	require.NoError(t, h.c.SubmitManifest(ctx, m))
	h.clock.Advance(29 * time.Minute)
	cl, err := h.c.QueryClearance(ctx, m.OrderNo)
	require.NoError(t, err)
	assert.Equal(t, providers.ClearancePending, cl.Status)

	h.clock.Advance(time.Minute)
	ev := h.waitEvent(t, customs.EventClearance)
	assert.Equal(t, providers.RejectNoPaymentRecord, ev.Clearance.Code)

	// A late payment record re-opens the order and clears it.
	h.sb.ReceivePaymentRecord(record(m, buyer, total(m)))
	ev = h.waitEvent(t, customs.EventClearance)
	assert.Equal(t, providers.ClearanceCleared, ev.Clearance.Status)
}

func TestCancelManifest(t *testing.T) {
	h := start(t, func(c *customssandbox.Config) { c.ClearanceDelay = time.Hour })
	ctx := context.Background()
	m := manifestFor("C-1", buyer)
	require.NoError(t, h.c.SubmitManifest(ctx, m))
	require.NoError(t, h.c.CancelManifest(ctx, m.OrderNo))
	require.NoError(t, h.c.CancelManifest(ctx, m.OrderNo), "cancelling twice is a no-op")
	cl, err := h.c.QueryClearance(ctx, m.OrderNo)
	require.NoError(t, err)
	assert.Equal(t, providers.ClearanceRejected, cl.Status)
	assert.Equal(t, customs.CodeManifestCancelled, cl.Code)

	err = h.c.CancelManifest(ctx, "NOPE")
	assert.True(t, providers.IsType(err, providers.ErrTypeTradeNotFound), "%v", err)

	// A cancelled order is not decided even when its payment record comes.
	h.sb.ReceivePaymentRecord(record(m, buyer, total(m)))
	h.clock.Advance(2 * time.Hour)
	h.sb.Sweep()
	cl, err = h.c.QueryClearance(ctx, m.OrderNo)
	require.NoError(t, err)
	assert.Equal(t, customs.CodeManifestCancelled, cl.Code)
}

func TestReturnAccepted(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()
	m := manifestFor("RT-1", buyer)
	h.clear(t, m)

	req := providers.ReturnRequest{OutReturnNo: "RET-1", OrderNo: m.OrderNo, Items: []providers.Item{{SKU: "SKU-BAG", Name: "Tote bag", Category: "bags", Quantity: 1, UnitPrice: cny("400.00")}}, TrackingNo: "SF1234567890", Reason: "damaged"}
	h.clock.Advance(10 * 24 * time.Hour)
	r, err := h.c.FileReturn(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, providers.ReturnFiled, r.Status)
	again, err := h.c.FileReturn(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, r, again, "filing the same return twice is the same return")

	other := req
	other.TrackingNo = "SF999"
	_, err = h.c.FileReturn(ctx, other)
	assert.True(t, providers.IsType(err, providers.ErrTypeDuplicateRequest), "%v", err)

	tooMany := req
	tooMany.OutReturnNo = "RET-2"
	tooMany.Items = []providers.Item{{SKU: "SKU-BAG", Name: "Tote bag", Quantity: 2, UnitPrice: cny("400.00")}}
	_, err = h.c.FileReturn(ctx, tooMany)
	assert.True(t, providers.IsType(err, providers.ErrTypeInvalidRequest), "only one bag is left to return: %v", err)

	resp, err := http.Post(h.url+"/sandbox/returns/RET-1/arrive", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	ev := h.waitEvent(t, customs.EventReturn)
	assert.Equal(t, m.OrderNo, ev.OrderNo)
	assert.Equal(t, providers.ReturnAccepted, ev.Return.Status)
	r, err = h.c.QueryReturn(ctx, "RET-1")
	require.NoError(t, err)
	assert.Equal(t, providers.ReturnAccepted, r.Status)
	assert.Equal(t, h.clock.Now(), r.DecidedAt.UTC())

	r, err = h.c.QueryReturn(ctx, "RET-NONE")
	require.NoError(t, err)
	assert.Equal(t, providers.ReturnNotFound, r.Status)
}

func TestReturnArrivesAutomatically(t *testing.T) {
	h := start(t, func(c *customssandbox.Config) { c.ReturnArrivalDelay = 72 * time.Hour })
	ctx := context.Background()
	m := manifestFor("RT-AUTO", buyer)
	h.clear(t, m)
	_, err := h.c.FileReturn(ctx, providers.ReturnRequest{OutReturnNo: "RET-AUTO", OrderNo: m.OrderNo, Items: m.Items, TrackingNo: "EMS1"})
	require.NoError(t, err)
	h.clock.Advance(72 * time.Hour)
	ev := h.waitEvent(t, customs.EventReturn)
	assert.Equal(t, providers.ReturnAccepted, ev.Return.Status)
}

func TestReturnRejections(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()

	pending := manifestFor("RJ-PENDING", buyer)
	require.NoError(t, h.c.SubmitManifest(ctx, pending))
	_, err := h.c.FileReturn(ctx, providers.ReturnRequest{OutReturnNo: "RJ-0", OrderNo: pending.OrderNo, Items: pending.Items, TrackingNo: "T"})
	assert.True(t, providers.IsType(err, providers.ErrTypeRejected), "an order not released cannot be returned: %v", err)
	_, err = h.c.FileReturn(ctx, providers.ReturnRequest{OutReturnNo: "RJ-00", OrderNo: "UNKNOWN", Items: pending.Items, TrackingNo: "T"})
	assert.True(t, providers.IsType(err, providers.ErrTypeTradeNotFound), "%v", err)
	require.NoError(t, h.c.CancelManifest(ctx, pending.OrderNo))

	m := manifestFor("RJ-1", buyer)
	h.clear(t, m)
	h.clock.Advance(30*24*time.Hour + time.Minute)
	r, err := h.c.FileReturn(ctx, providers.ReturnRequest{OutReturnNo: "RJ-LATE", OrderNo: m.OrderNo, Items: m.Items, TrackingNo: "T"})
	require.NoError(t, err)
	assert.Equal(t, providers.ReturnRejected, r.Status)
	assert.True(t, strings.HasPrefix(r.Reason, "RETURN_WINDOW_CLOSED"), r.Reason)
	ev := h.waitEvent(t, customs.EventReturn)
	assert.Equal(t, providers.ReturnRejected, ev.Return.Status)

	// Filed in time, but the goods are not back within 45 days of release.
	m2 := manifestFor("RJ-2", buyer)
	h.clear(t, m2)
	h.clock.Advance(29 * 24 * time.Hour)
	r, err = h.c.FileReturn(ctx, providers.ReturnRequest{OutReturnNo: "RJ-SLOW", OrderNo: m2.OrderNo, Items: m2.Items, TrackingNo: "T"})
	require.NoError(t, err)
	require.Equal(t, providers.ReturnFiled, r.Status)
	h.clock.Advance(16*24*time.Hour + time.Minute)
	ev = h.waitEvent(t, customs.EventReturn)
	assert.Equal(t, providers.ReturnRejected, ev.Return.Status)
	assert.True(t, strings.HasPrefix(ev.Return.Reason, customssandbox.RejectGoodsNotArrived), ev.Return.Reason)

	// A manual verdict.
	m3 := manifestFor("RJ-3", buyer)
	h.clear(t, m3)
	_, err = h.c.FileReturn(ctx, providers.ReturnRequest{OutReturnNo: "RJ-MAN", OrderNo: m3.OrderNo, Items: m3.Items, TrackingNo: "T"})
	require.NoError(t, err)
	resp, err := http.Post(h.url+"/sandbox/returns/RJ-MAN/decide", "application/json", strings.NewReader(`{"status":"REJECTED","reason":"goods not as declared"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	ev = h.waitEvent(t, customs.EventReturn)
	assert.Equal(t, providers.ReturnRejected, ev.Return.Status)
	assert.Contains(t, ev.Return.Reason, "goods not as declared")
}

func TestManualDecide(t *testing.T) {
	h := start(t, func(c *customssandbox.Config) { c.ClearanceDelay = time.Hour })
	ctx := context.Background()
	m := manifestFor("MD-1", buyer)
	require.NoError(t, h.c.SubmitManifest(ctx, m))
	resp, err := http.Post(h.url+"/sandbox/manifests/MD-1/decide", "application/json", strings.NewReader(`{"status":"REJECTED","code":"QUOTA_EXCEEDED","reason":"by hand"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	ev := h.waitEvent(t, customs.EventClearance)
	assert.Equal(t, providers.RejectQuotaExceeded, ev.Clearance.Code)

	resp, err = http.Post(h.url+"/sandbox/manifests/NOPE/decide", "application/json", strings.NewReader(`{"status":"CLEARED"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestInvalidManifests(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()
	good := manifestFor("INV", buyer)
	subFen, err := money.New(decimal.RequireFromString("0.001"), money.CNY)
	require.NoError(t, err)
	for name, mod := range map[string]func(*providers.Manifest){
		"no order no":     func(m *providers.Manifest) { m.OrderNo = "" },
		"no items":        func(m *providers.Manifest) { m.Items = nil },
		"USD goods":       func(m *providers.Manifest) { m.Goods = money.MustParse("10.00", money.USD) },
		"sub-fen freight": func(m *providers.Manifest) { m.Freight = subFen },
		"no buyer":        func(m *providers.Manifest) { m.Buyer = providers.Identity{} },
	} {
		m := good
		mod(&m)
		err := h.c.SubmitManifest(ctx, m)
		assert.True(t, providers.IsType(err, providers.ErrTypeInvalidRequest), "%s: %v", name, err)
	}
	// Checks the sandbox makes itself.
	m := good
	m.Goods = cny("1.00")
	err = h.c.SubmitManifest(ctx, m)
	assert.True(t, providers.IsType(err, providers.ErrTypeInvalidRequest), "goods must sum the items: %v", err)
	assert.Equal(t, customssandbox.CodeInvalidRequest, h.tap.LastCode())
	m = good
	m.Buyer.IDNumber = "12345"
	err = h.c.SubmitManifest(ctx, m)
	assert.True(t, providers.IsType(err, providers.ErrTypeInvalidRequest), "bad ID number: %v", err)
}

func TestSignatureFailuresBothWays(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()

	err := newClient(t, h.url, func(c *customs.Config) { c.Secret = "wrong" }).SubmitManifest(ctx, manifestFor("S-1", buyer))
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Equal(t, customssandbox.CodeSignatureInvalid, h.tap.LastCode())

	_, err = newClient(t, h.url, func(c *customs.Config) { c.KeyID = "other" }).QueryClearance(ctx, "S-1")
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Equal(t, customssandbox.CodeKeyUnknown, h.tap.LastCode())

	stale := func(c *customs.Config) { c.Now = func() time.Time { return time.Now().Add(6 * time.Minute) } }
	_, err = newClient(t, h.url, stale).QueryClearance(ctx, "S-1")
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%v", err)
	assert.Equal(t, customssandbox.CodeTimestampExpired, h.tap.LastCode())

	require.NoError(t, h.c.SubmitManifest(ctx, manifestFor("S-2", buyer)))
	h.tap.SetTamper(func(b []byte) []byte { return bytes.Replace(b, []byte("PENDING"), []byte("CLEARED"), 1) })
	_, err = h.c.QueryClearance(ctx, "S-2")
	assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "a tampered answer is refused: %v", err)
	h.tap.SetTamper(nil)

	h.faults.Set("GET /customs/v1/manifests/{orderNo}/clearance", fault.Rule{Status: http.StatusBadGateway, Times: 1})
	_, err = h.c.QueryClearance(ctx, "S-2")
	assert.True(t, providers.IsType(err, providers.ErrTypeUnavailable), "%v", err)
	h.faults.Set("POST /customs/v1/manifests", fault.Rule{BusinessError: customssandbox.CodeSystemError, Times: 1})
	err = h.c.SubmitManifest(ctx, manifestFor("S-3", buyer))
	assert.True(t, providers.IsType(err, providers.ErrTypeUnavailable), "%v", err)
	require.NoError(t, h.c.SubmitManifest(ctx, manifestFor("S-3", buyer)))
}

func TestParseNotificationRefusesForgeries(t *testing.T) {
	h := start(t, nil)
	body := []byte(`{"id":"ntf_1","type":"clearance.decided","createdAt":"2025-05-10T09:00:00Z","clearance":{"orderNo":"X","status":"CLEARED"}}`)
	post := func(mod func(*http.Request)) error {
		r := hmacsigtest.Notification("/notify/customs", body, keyID, secret, time.Now(), "/notify/customs")
		if mod != nil {
			mod(r)
		}
		_, err := h.c.ParseNotification(context.Background(), r)
		return err
	}
	require.NoError(t, post(nil), "a correctly signed notification parses")
	for name, mod := range map[string]func(*http.Request){
		"unsigned":  func(r *http.Request) { r.Header.Del("X-Xhs-Signature") },
		"wrong key": func(r *http.Request) { r.Header.Set("X-Xhs-Key-Id", "other") },
		"forged": func(r *http.Request) {
			r.Header.Set("X-Xhs-Signature", hmacsigtest.Sign("guess", r.Header.Get("X-Xhs-Timestamp"), http.MethodPost, "/notify/customs", body))
		},
		"other path": func(r *http.Request) { r.RequestURI = "/notify/card" },
		"stale": func(r *http.Request) {
			ts := strconv.FormatInt(time.Now().Add(-6*time.Minute).Unix(), 10)
			r.Header.Set("X-Xhs-Timestamp", ts)
			r.Header.Set("X-Xhs-Signature", hmacsigtest.Sign(secret, ts, http.MethodPost, "/notify/customs", body))
		},
	} {
		err := post(mod)
		assert.True(t, providers.IsType(err, providers.ErrTypeSignature), "%s: %v", name, err)
	}
}

func TestClassifyEveryCode(t *testing.T) {
	own := map[string]providers.ErrorType{
		customssandbox.CodeManifestNotFound:     providers.ErrTypeTradeNotFound,
		customssandbox.CodeReturnNotFound:       providers.ErrTypeTradeNotFound,
		customssandbox.CodeDuplicateOrderNo:     providers.ErrTypeDuplicateRequest,
		customssandbox.CodeDuplicateOutReturnNo: providers.ErrTypeDuplicateRequest,
		customssandbox.CodeAlreadyReleased:      providers.ErrTypeRejected,
		customssandbox.CodeOrderNotReleased:     providers.ErrTypeRejected,
		customssandbox.CodeReturnItemsInvalid:   providers.ErrTypeInvalidRequest,
	}
	hmacsigtest.CheckClassify(t, customssandbox.Codes(), own, customs.Classify)
	assert.Equal(t, providers.ErrTypeUnavailable, customs.Classify(500, "SOMETHING_NEW"))
	assert.Equal(t, providers.ErrTypeRejected, customs.Classify(409, "SOMETHING_NEW"))
}
