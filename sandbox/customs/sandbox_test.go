package customs

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestSandbox(t *testing.T, delay time.Duration) (*Sandbox, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2025, 12, 31, 10, 0, 0, 0, time.UTC)} // 18:00 in China
	s, err := New(Config{KeyID: "k", Secret: "s", Logger: slog.New(slog.DiscardHandler), Now: clk.Now, ClearanceDelay: delay, SweepInterval: time.Hour})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, clk
}

var buyerID = identity{Name: "张伟", IDNumber: "11010519491231002X"}

func orderOf(no string, unitFen int64) manifestBody {
	return manifestBody{
		OrderNo: no, Buyer: buyerID, Items: []item{{SKU: "W", Name: "Watch", Category: "watches", Quantity: 1, UnitPriceFen: unitFen}},
		GoodsFen: unitFen, FreightFen: 0, TaxFen: 0, Currency: "CNY", CustomsCode: "HANGZHOU", PlatformCode: "P",
	}
}

func pay(s *Sandbox, m manifestBody, name string) {
	s.ReceivePaymentRecord(PaymentRecord{Provider: "alipay", OrderNo: m.OrderNo, PayerName: name, PayerIDNumber: m.Buyer.IDNumber, AmountFen: m.GoodsFen + m.FreightFen + m.TaxFen})
}

func status(t *testing.T, s *Sandbox, orderNo string) clearanceBody {
	t.Helper()
	c, err := s.clearance(orderNo)
	require.Nil(t, err)
	return c
}

func TestQuotaCountsReleasesOfTheChineseYearLessReturns(t *testing.T) {
	s, clk := newTestSandbox(t, -1)
	for i, no := range []string{"A", "B", "C", "D", "E"} {
		m := orderOf(no, 500_000) // RMB 5,000 each
		_, err := s.submitManifest(m)
		require.Nil(t, err)
		pay(s, m, buyerID.Name)
		require.Equal(t, StatusCleared, status(t, s, no).Status, "order %d", i)
	}
	over := orderOf("F", 100_001) // 25,000 + 1,000.01 > 26,000
	_, err := s.submitManifest(over)
	require.Nil(t, err)
	pay(s, over, buyerID.Name)
	assert.Equal(t, RejectQuotaExceeded, status(t, s, "F").Code)

	// Returning one watch gives its value back to the quota; the corrected
	// payment record re-opens the rejected order.
	_, err2 := s.fileReturn(returnRequest{OutReturnNo: "R1", OrderNo: "A", Items: []item{{SKU: "W", Quantity: 1}}, TrackingNo: "T"})
	require.Nil(t, err2)
	require.NoError(t, s.Arrive("R1"))
	pay(s, over, buyerID.Name)
	assert.Equal(t, StatusCleared, status(t, s, "F").Status)

	// A new calendar year in China (UTC+8) starts with a fresh quota.
	clk.Advance(6 * time.Hour) // 2026-01-01 00:00 CST
	big := orderOf("G", 2_000_000)
	_, err = s.submitManifest(big)
	require.Nil(t, err)
	pay(s, big, buyerID.Name)
	assert.Equal(t, StatusCleared, status(t, s, "G").Status)
}

func TestCorrectedManifestReopensRejection(t *testing.T) {
	s, _ := newTestSandbox(t, -1)
	m := orderOf("M", 10_000)
	m.Items[0].Category = "food"
	_, err := s.submitManifest(m)
	require.Nil(t, err)
	pay(s, m, buyerID.Name)
	assert.Equal(t, RejectMissingRegistration, status(t, s, "M").Code)

	_, err = s.submitManifest(m)
	require.Nil(t, err, "the same manifest again is a no-op")
	assert.Equal(t, RejectMissingRegistration, status(t, s, "M").Code)

	m.Items = []item{m.Items[0]} // a new request, as the wire would decode it
	m.Items[0].RegistrationNo = "食品备案2025-001"
	c, err := s.submitManifest(m)
	require.Nil(t, err)
	assert.Equal(t, StatusCleared, c.Status, "a corrected manifest is decided again")
}

func TestConflictingManifestWhilePending(t *testing.T) {
	s, _ := newTestSandbox(t, time.Hour)
	m := orderOf("P", 10_000)
	_, err := s.submitManifest(m)
	require.Nil(t, err)
	m.FreightFen = 100
	_, err = s.submitManifest(m)
	require.NotNil(t, err)
	assert.Equal(t, CodeDuplicateOrderNo, err.Code)
}

func TestWithdrawnPaymentRecord(t *testing.T) {
	s, clk := newTestSandbox(t, time.Minute)
	m := orderOf("W", 10_000)
	_, err := s.submitManifest(m)
	require.Nil(t, err)
	pay(s, m, buyerID.Name)
	s.ReceivePaymentRecord(PaymentRecord{OrderNo: "W", Cancelled: true})
	clk.Advance(2 * time.Minute)
	s.Sweep()
	assert.Equal(t, StatusPending, status(t, s, "W").Status, "without a payment record the order waits")
	clk.Advance(DefaultPaymentRecordTimeout)
	s.Sweep()
	assert.Equal(t, RejectNoPaymentRecord, status(t, s, "W").Code)
}

func TestDecideRefusesCancelledAndBadStatus(t *testing.T) {
	s, _ := newTestSandbox(t, time.Hour)
	_, err := s.submitManifest(orderOf("X", 100))
	require.Nil(t, err)
	assert.Error(t, s.Decide("X", "MAYBE", "", ""))
	_, err = s.cancel("X")
	require.Nil(t, err)
	assert.ErrorIs(t, s.Decide("X", StatusCleared, "", ""), ErrConflict)
	assert.ErrorIs(t, s.Arrive("NONE"), ErrNotFound)
	assert.ErrorIs(t, s.DecideReturn("NONE", StatusAccepted, ""), ErrNotFound)
}
