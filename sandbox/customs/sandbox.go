// # Wire protocol
//
// JSON over HTTP. Every request and response is signed: the headers
// X-Xhs-Key-Id, X-Xhs-Timestamp (Unix seconds, within ±5 minutes) and
// X-Xhs-Signature carry the lower-case hex HMAC-SHA256, under the shared
// secret, of timestamp + "\n" + method + "\n" + path + "\n" + body, where path
// is the request target (path and query). A response is signed over the
// request's method and target with the response's own timestamp and body. An
// error is answered with an HTTP status and {"code","message"} (see Codes).
// Amounts are integers in fen; times are RFC 3339.
//
//	POST /customs/v1/manifests                     file the platform's order record (idempotent by orderNo)
//	     {"orderNo","buyer":{"name","idNumber"},"items":[{"sku","name","category","registrationNo",
//	      "quantity","unitPriceFen"}],"goodsFen","freightFen","taxFen","currency":"CNY","customsCode","platformCode"}
//	     → clearance
//	GET  /customs/v1/manifests/{orderNo}/clearance → clearance
//	POST /customs/v1/manifests/{orderNo}/cancel    withdraw an order not yet released → clearance
//	POST /customs/v1/returns                       file a return (re-import) declaration (idempotent by outReturnNo)
//	     {"outReturnNo","orderNo","items":[item...],"trackingNo","reason"} → return
//	GET  /customs/v1/returns/{outReturnNo}         → return
//
//	clearance: {"orderNo","status":"PENDING|CLEARED|REJECTED|CANCELLED","code","reason","filedAt","decidedAt","releasedAt"}
//	return:    {"outReturnNo","orderNo","status":"FILED|ACCEPTED|REJECTED","code","reason","trackingNo",
//	            "filedAt","arrivalDeadline","decidedAt"}
//
// A manifest's goodsFen must equal the sum of its items and the currency must
// be CNY. Repeating a manifest with the same content is a no-op; different
// content is refused with DUPLICATE_ORDER_NO while the order is pending or
// released, and re-files it (a corrected declaration) once rejected or
// cancelled.
//
// # Three-document match
//
// Customs decides an order once it holds both the manifest and the payment
// company's payment record (ReceivePaymentRecord) and ClearanceDelay has
// passed since the later of them, by these rules in order: the payer is not
// the buyer (name or ID number) → REJECTED IDENTITY_MISMATCH; the buyer's
// cleared value this calendar year (China time; goods + freight, less accepted
// returns) plus this order's exceeds RMB 26,000 → QUOTA_EXCEEDED; an item of a
// category that needs a registration or filing number has none →
// MISSING_REGISTRATION; the paid amount differs from goods + freight + tax →
// AMOUNT_MISMATCH; otherwise CLEARED and released. A manifest with no payment
// record after PaymentRecordTimeout is rejected NO_PAYMENT_RECORD. A
// re-declared payment record or a corrected manifest reopens a rejected order.
//
// A return is filed within 30 days of release (later: REJECTED
// RETURN_WINDOW_CLOSED) and accepted when the goods are back in the bonded zone
// (the arrive control endpoint, or ReturnArrivalDelay after filing), which must
// be within 45 days of release (later: REJECTED RETURN_GOODS_NOT_ARRIVED).
//
// # Notifications
//
// Each verdict on an order or a return is POSTed, signed the same way (over
// POST and the notify URL's path), to the configured NotifyURL through the
// fault injector and retried until answered 2xx:
//
//	{"id","type":"clearance.decided|return.decided","createdAt","clearance":{...}|"return":{...}}
//
// # Control endpoints (unsigned, for tests and the demo)
//
//	POST /sandbox/manifests/{orderNo}/decide   {"status":"CLEARED|REJECTED","code","reason"}: a manual verdict
//	POST /sandbox/returns/{outReturnNo}/arrive the goods are back: the return is accepted
//	POST /sandbox/returns/{outReturnNo}/decide {"status":"ACCEPTED|REJECTED","reason"}: a manual verdict
//	POST /sandbox/payment-records              a PaymentRecord as JSON, as a payment company would push it
//	GET|PUT|DELETE /sandbox/faults             the fault injector (endpoint names are the route patterns,
//	                                           e.g. "POST /customs/v1/manifests")
package customs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/xhspay/xhspay/sandbox/fault"
	"github.com/xhspay/xhspay/sandbox/internal/hmacsig"
)

// Defaults of Config.
const (
	// DefaultClearanceDelay is how long customs takes to decide once both records are in.
	DefaultClearanceDelay = 2 * time.Second
	// DefaultPaymentRecordTimeout is how long a manifest waits for its payment record.
	DefaultPaymentRecordTimeout = time.Hour
)

// CBEC limits the rules apply.
const (
	// AnnualQuotaFen is a buyer's annual CBEC limit, RMB 26,000, in fen.
	AnnualQuotaFen = 26_000_00
	// ReturnWindow is how long after release a return may be filed.
	ReturnWindow = 30 * 24 * time.Hour
	// ArrivalWindow is how long after release returned goods must be back in the bonded zone.
	ArrivalWindow = 45 * 24 * time.Hour
)

// chinaTime is the zone in which customs counts calendar years.
var chinaTime = time.FixedZone("CST", 8*3600)

// Manifest and return states on the wire.
const (
	// StatusPending is an order still being matched.
	StatusPending = "PENDING"
	// StatusCleared is a released order.
	StatusCleared = "CLEARED"
	// StatusRejected is a refused order or return.
	StatusRejected = "REJECTED"
	// StatusCancelled is an order the platform withdrew.
	StatusCancelled = "CANCELLED"
	// StatusFiled is a return on its way back.
	StatusFiled = "FILED"
	// StatusAccepted is a return customs accepted.
	StatusAccepted = "ACCEPTED"
)

// Verdict codes of rejected orders and returns.
const (
	// RejectIdentityMismatch means the payer is not the buyer.
	RejectIdentityMismatch = "IDENTITY_MISMATCH"
	// RejectQuotaExceeded means the buyer's annual quota would be exceeded.
	RejectQuotaExceeded = "QUOTA_EXCEEDED"
	// RejectMissingRegistration means an item lacks a required registration number.
	RejectMissingRegistration = "MISSING_REGISTRATION"
	// RejectNoPaymentRecord means no payment record arrived in time.
	RejectNoPaymentRecord = "NO_PAYMENT_RECORD"
	// RejectAmountMismatch means the paid amount is not goods + freight + tax.
	RejectAmountMismatch = "AMOUNT_MISMATCH"
	// RejectManual is the code of a manual rejection given without one.
	RejectManual = "MANUAL_REJECTION"
	// RejectReturnWindowClosed means the return was filed more than 30 days after release.
	RejectReturnWindowClosed = "RETURN_WINDOW_CLOSED"
	// RejectGoodsNotArrived means the goods were not back within 45 days of release.
	RejectGoodsNotArrived = "RETURN_GOODS_NOT_ARRIVED"
)

// Notification types.
const (
	// EventClearanceDecided reports an order's verdict.
	EventClearanceDecided = "clearance.decided"
	// EventReturnDecided reports a return's verdict.
	EventReturnDecided = "return.decided"
)

// Control errors of the Go API; test them with errors.Is.
var (
	// ErrNotFound means no such order or return.
	ErrNotFound = errors.New("customs sandbox: not found")
	// ErrConflict means the order or return is in a state that forbids the action.
	ErrConflict = errors.New("customs sandbox: conflicting state")
)

// Config configures the customs sandbox.
type Config struct {
	// KeyID and Secret are the platform's HMAC credentials (required).
	KeyID, Secret string
	// NotifyURL receives clearance and return notifications; empty sends none.
	NotifyURL string
	// NotifyClient sends notifications; nil uses a client with a 10-second timeout.
	NotifyClient *http.Client
	// Faults injects failures; nil injects none.
	Faults *fault.Injector
	// Logger logs; nil uses slog.Default().
	Logger *slog.Logger
	// Now is the business clock (verdicts, windows); nil is time.Now. Signatures always use real time.
	Now func() time.Time
	// ClearanceDelay is how long customs takes once both records are in: zero means
	// DefaultClearanceDelay, negative means at once.
	ClearanceDelay time.Duration
	// PaymentRecordTimeout is how long a manifest waits for its payment record:
	// zero means DefaultPaymentRecordTimeout, negative means at once.
	PaymentRecordTimeout time.Duration
	// ReturnArrivalDelay, when positive, has returned goods arrive that long
	// after filing; zero leaves arrival to Arrive or the control endpoint.
	ReturnArrivalDelay time.Duration
	// SweepInterval is how often due verdicts are decided in the background; zero means 50ms.
	SweepInterval time.Duration
}

// identity is a person on the wire.
type identity struct {
	Name     string `json:"name"`
	IDNumber string `json:"idNumber"`
}

// item is an order line on the wire.
type item struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Category       string `json:"category"`
	RegistrationNo string `json:"registrationNo,omitempty"`
	Quantity       int    `json:"quantity"`
	UnitPriceFen   int64  `json:"unitPriceFen"`
}

// manifestBody is the platform's order record on the wire.
type manifestBody struct {
	OrderNo      string   `json:"orderNo"`
	Buyer        identity `json:"buyer"`
	Items        []item   `json:"items"`
	GoodsFen     int64    `json:"goodsFen"`
	FreightFen   int64    `json:"freightFen"`
	TaxFen       int64    `json:"taxFen"`
	Currency     string   `json:"currency"`
	CustomsCode  string   `json:"customsCode"`
	PlatformCode string   `json:"platformCode"`
}

// clearanceBody is an order's state on the wire.
type clearanceBody struct {
	OrderNo    string     `json:"orderNo"`
	Status     string     `json:"status"`
	Code       string     `json:"code,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	FiledAt    time.Time  `json:"filedAt"`
	DecidedAt  *time.Time `json:"decidedAt,omitzero"`
	ReleasedAt *time.Time `json:"releasedAt,omitzero"`
}

// returnRequest files a return on the wire.
type returnRequest struct {
	OutReturnNo string `json:"outReturnNo"`
	OrderNo     string `json:"orderNo"`
	Items       []item `json:"items"`
	TrackingNo  string `json:"trackingNo"`
	Reason      string `json:"reason,omitempty"`
}

// returnBody is a return's state on the wire.
type returnBody struct {
	OutReturnNo     string     `json:"outReturnNo"`
	OrderNo         string     `json:"orderNo"`
	Status          string     `json:"status"`
	Code            string     `json:"code,omitempty"`
	Reason          string     `json:"reason,omitempty"`
	TrackingNo      string     `json:"trackingNo"`
	FiledAt         time.Time  `json:"filedAt"`
	ArrivalDeadline time.Time  `json:"arrivalDeadline"`
	DecidedAt       *time.Time `json:"decidedAt,omitzero"`
}

// notification is a callback body.
type notification struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	CreatedAt time.Time      `json:"createdAt"`
	Clearance *clearanceBody `json:"clearance,omitempty"`
	Return    *returnBody    `json:"return,omitempty"`
}

// order is an order customs knows.
type order struct {
	m          manifestBody
	status     string
	code       string
	reason     string
	manual     bool
	filedAt    time.Time
	decidedAt  time.Time
	releasedAt time.Time
}

// paymentRecord is a payment record with when customs received it.
type paymentRecord struct {
	rec        PaymentRecord
	receivedAt time.Time
}

// ret is a return declaration.
type ret struct {
	req       returnRequest
	status    string
	code      string
	reason    string
	filedAt   time.Time
	deadline  time.Time
	decidedAt time.Time
	valueFen  int64
}

// Sandbox is the customs sandbox. It implements Sink.
type Sandbox struct {
	cfg     Config
	svc     *hmacsig.Service
	log     *slog.Logger
	now     func() time.Time
	delay   time.Duration
	timeout time.Duration

	mu       sync.Mutex
	orders   map[string]*order
	byBuyer  map[string][]*order
	records  map[string]paymentRecord
	returns  map[string]*ret
	pending  map[string]*order
	inFlight map[string]*ret
}

var _ Sink = (*Sandbox)(nil)

// New starts a customs sandbox and its background sweeper; Close stops them.
func New(cfg Config) (*Sandbox, error) {
	svc, err := hmacsig.New(hmacsig.Config{
		Name: "customs", KeyID: cfg.KeyID, Secret: cfg.Secret, Codes: codes,
		Faults: cfg.Faults, Logger: cfg.Logger, Now: cfg.Now, NotifyClient: cfg.NotifyClient,
	})
	if err != nil {
		return nil, err
	}
	s := &Sandbox{
		cfg:      cfg,
		svc:      svc,
		log:      svc.Log,
		now:      svc.Now,
		delay:    hmacsig.OrDefault(cfg.ClearanceDelay, DefaultClearanceDelay),
		timeout:  hmacsig.OrDefault(cfg.PaymentRecordTimeout, DefaultPaymentRecordTimeout),
		orders:   map[string]*order{},
		byBuyer:  map[string][]*order{},
		records:  map[string]paymentRecord{},
		returns:  map[string]*ret{},
		pending:  map[string]*order{},
		inFlight: map[string]*ret{},
	}
	svc.StartSweeper(cfg.SweepInterval, s.Sweep)
	return s, nil
}

// Close stops the sweeper and pending notification retries.
func (s *Sandbox) Close() { s.svc.Close() }

// Sweep decides every order and return whose time has come by the business
// clock. The background sweeper calls it; tests on a fake clock may too.
func (s *Sandbox) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
}

func (s *Sandbox) sweepLocked() {
	now := s.now()
	for _, o := range s.pending {
		s.evaluate(o, now)
	}
	for _, rt := range s.inFlight {
		switch {
		case now.After(rt.deadline):
			s.decideReturn(rt, StatusRejected, RejectGoodsNotArrived, "returned goods not back in the bonded zone within 45 days of release", now)
		case s.cfg.ReturnArrivalDelay > 0 && !now.Before(rt.filedAt.Add(s.cfg.ReturnArrivalDelay)):
			s.decideReturn(rt, StatusAccepted, "", "goods back in the bonded zone", now)
		}
	}
}

// ReceivePaymentRecord takes a payment company's (re-)declared or cancelled
// payment record for an order.
func (s *Sandbox) ReceivePaymentRecord(rec PaymentRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	o := s.orders[rec.OrderNo]
	if o != nil && o.status == StatusCleared {
		s.log.Warn("payment record for a released order ignored", "orderNo", rec.OrderNo, "cancelled", rec.Cancelled)
		return
	}
	if rec.Cancelled {
		delete(s.records, rec.OrderNo)
		s.log.Info("payment record withdrawn", "orderNo", rec.OrderNo, "provider", rec.Provider)
	} else {
		s.records[rec.OrderNo] = paymentRecord{rec: rec, receivedAt: now}
		s.log.Info("payment record received", "orderNo", rec.OrderNo, "provider", rec.Provider, "amountFen", rec.AmountFen)
	}
	if o != nil && o.status == StatusRejected && !o.manual {
		s.reopen(o, o.filedAt)
	}
	if o != nil && o.status == StatusPending {
		s.evaluate(o, now)
	}
}

// reopen puts a rejected or cancelled order back to pending.
func (s *Sandbox) reopen(o *order, filedAt time.Time) {
	o.status, o.code, o.reason, o.manual = StatusPending, "", "", false
	o.filedAt, o.decidedAt, o.releasedAt = filedAt, time.Time{}, time.Time{}
	s.pending[o.m.OrderNo] = o
}

// evaluate decides a pending order if its time has come.
func (s *Sandbox) evaluate(o *order, now time.Time) {
	pr, ok := s.records[o.m.OrderNo]
	if !ok {
		if !now.Before(o.filedAt.Add(s.timeout)) {
			s.decide(o, StatusRejected, RejectNoPaymentRecord, fmt.Sprintf("no payment record within %s of the manifest", s.timeout), false, now)
		}
		return
	}
	since := o.filedAt
	if pr.receivedAt.After(since) {
		since = pr.receivedAt
	}
	if now.Before(since.Add(s.delay)) {
		return
	}
	status, code, reason := s.match(o, pr.rec, now)
	s.decide(o, status, code, reason, false, now)
}

// match applies the three-document match rules.
func (s *Sandbox) match(o *order, rec PaymentRecord, now time.Time) (status, code, reason string) {
	m := o.m
	if !sameName(rec.PayerName, m.Buyer.Name) || !sameID(rec.PayerIDNumber, m.Buyer.IDNumber) {
		return StatusRejected, RejectIdentityMismatch, "payer on the payment record is not the buyer on the order"
	}
	year := now.In(chinaTime).Year()
	used := s.clearedThisYear(m.Buyer.IDNumber, year)
	if value := m.GoodsFen + m.FreightFen; used+value > AnnualQuotaFen {
		return StatusRejected, RejectQuotaExceeded, fmt.Sprintf("buyer's %d CBEC purchases %s plus this order %s exceed the annual limit %s",
			year, yuan(used), yuan(value), yuan(AnnualQuotaFen))
	}
	for _, it := range m.Items {
		if needsRegistration(it.Category) && strings.TrimSpace(it.RegistrationNo) == "" {
			return StatusRejected, RejectMissingRegistration, fmt.Sprintf("item %s (category %s) has no registration or filing number", it.SKU, it.Category)
		}
	}
	if want := m.GoodsFen + m.FreightFen + m.TaxFen; rec.AmountFen != want {
		return StatusRejected, RejectAmountMismatch, fmt.Sprintf("payment record declares %s, order totals %s (goods + freight + tax)", yuan(rec.AmountFen), yuan(want))
	}
	return StatusCleared, "", "released"
}

// clearedThisYear is a buyer's released value (goods + freight, less accepted returns) in a calendar year.
func (s *Sandbox) clearedThisYear(idNumber string, year int) int64 {
	var total int64
	for _, o := range s.byBuyer[normID(idNumber)] {
		if o.status == StatusCleared && o.releasedAt.In(chinaTime).Year() == year {
			total += o.m.GoodsFen + o.m.FreightFen
		}
	}
	for _, rt := range s.returns {
		if rt.status != StatusAccepted {
			continue
		}
		if o := s.orders[rt.req.OrderNo]; o != nil && normID(o.m.Buyer.IDNumber) == normID(idNumber) &&
			o.status == StatusCleared && o.releasedAt.In(chinaTime).Year() == year {
			total -= rt.valueFen
		}
	}
	return total
}

// decide records an order's verdict and notifies it.
func (s *Sandbox) decide(o *order, status, code, reason string, manual bool, now time.Time) {
	o.status, o.code, o.reason, o.manual, o.decidedAt = status, code, reason, manual, now
	o.releasedAt = time.Time{}
	if status == StatusCleared {
		o.code = ""
		o.releasedAt = now
	}
	delete(s.pending, o.m.OrderNo)
	s.log.Info("clearance decided", "orderNo", o.m.OrderNo, "status", status, "code", o.code)
	c := o.view()
	s.notify(notification{Type: EventClearanceDecided, CreatedAt: now, Clearance: &c})
}

// decideReturn records a return's verdict and notifies it.
func (s *Sandbox) decideReturn(rt *ret, status, code, reason string, now time.Time) {
	rt.status, rt.code, rt.reason, rt.decidedAt = status, code, reason, now
	delete(s.inFlight, rt.req.OutReturnNo)
	s.log.Info("return decided", "outReturnNo", rt.req.OutReturnNo, "status", status, "code", code)
	v := rt.view()
	s.notify(notification{Type: EventReturnDecided, CreatedAt: now, Return: &v})
}

func (s *Sandbox) notify(n notification) {
	n.ID = hmacsig.NewID("ntf_")
	s.svc.Notify(s.cfg.NotifyURL, n)
}

func (o *order) view() clearanceBody {
	c := clearanceBody{OrderNo: o.m.OrderNo, Status: o.status, Code: o.code, Reason: o.reason, FiledAt: o.filedAt}
	if !o.decidedAt.IsZero() {
		t := o.decidedAt
		c.DecidedAt = &t
	}
	if !o.releasedAt.IsZero() {
		t := o.releasedAt
		c.ReleasedAt = &t
	}
	return c
}

func (rt *ret) view() returnBody {
	v := returnBody{
		OutReturnNo: rt.req.OutReturnNo, OrderNo: rt.req.OrderNo, Status: rt.status, Code: rt.code, Reason: rt.reason,
		TrackingNo: rt.req.TrackingNo, FiledAt: rt.filedAt, ArrivalDeadline: rt.deadline,
	}
	if !rt.decidedAt.IsZero() {
		t := rt.decidedAt
		v.DecidedAt = &t
	}
	return v
}

// submitManifest files or re-files an order record.
func (s *Sandbox) submitManifest(m manifestBody) (clearanceBody, *hmacsig.APIError) {
	if err := validateManifest(m); err != nil {
		return clearanceBody{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	now := s.now()
	o := s.orders[m.OrderNo]
	switch {
	case o == nil:
		o = &order{m: m, status: StatusPending, filedAt: now}
		s.orders[m.OrderNo] = o
		id := normID(m.Buyer.IDNumber)
		s.byBuyer[id] = append(s.byBuyer[id], o)
		s.pending[m.OrderNo] = o
		s.log.Info("manifest filed", "orderNo", m.OrderNo)
	case reflect.DeepEqual(o.m, m) && o.status != StatusCancelled:
		return o.view(), nil
	case o.status == StatusPending || o.status == StatusCleared:
		return clearanceBody{}, hmacsig.Errorf(CodeDuplicateOrderNo, "order %s was filed with different content and is %s", m.OrderNo, o.status)
	default: // rejected or cancelled: a corrected re-filing
		if oldID, newID := normID(o.m.Buyer.IDNumber), normID(m.Buyer.IDNumber); oldID != newID {
			s.byBuyer[oldID] = without(s.byBuyer[oldID], o)
			s.byBuyer[newID] = append(s.byBuyer[newID], o)
		}
		o.m = m
		s.reopen(o, now)
		s.log.Info("manifest re-filed", "orderNo", m.OrderNo)
	}
	s.evaluate(o, now)
	return o.view(), nil
}

func without(os []*order, o *order) []*order {
	out := os[:0]
	for _, x := range os {
		if x != o {
			out = append(out, x)
		}
	}
	return out
}

func validateManifest(m manifestBody) *hmacsig.APIError {
	switch {
	case m.OrderNo == "" || len(m.OrderNo) > 64:
		return hmacsig.Invalid("orderNo must be 1 to 64 characters")
	case strings.TrimSpace(m.Buyer.Name) == "":
		return hmacsig.Invalid("buyer.name is required")
	case !validIDNumber(m.Buyer.IDNumber):
		return hmacsig.Invalid("buyer.idNumber must be 17 digits and a digit or X")
	case m.Currency != "CNY":
		return hmacsig.Invalid("currency must be CNY, got %q", m.Currency)
	case len(m.Items) == 0:
		return hmacsig.Invalid("items must not be empty")
	case m.GoodsFen < 0 || m.FreightFen < 0 || m.TaxFen < 0:
		return hmacsig.Invalid("goodsFen, freightFen and taxFen must not be negative")
	case m.CustomsCode == "":
		return hmacsig.Invalid("customsCode is required")
	case m.PlatformCode == "":
		return hmacsig.Invalid("platformCode is required")
	}
	var sum int64
	for i, it := range m.Items {
		switch {
		case it.SKU == "":
			return hmacsig.Invalid("items[%d].sku is required", i)
		case it.Quantity <= 0:
			return hmacsig.Invalid("items[%d].quantity must be positive", i)
		case it.UnitPriceFen < 0:
			return hmacsig.Invalid("items[%d].unitPriceFen must not be negative", i)
		}
		sum += int64(it.Quantity) * it.UnitPriceFen
	}
	if sum != m.GoodsFen {
		return hmacsig.Invalid("goodsFen %d must equal the sum of the items, %d", m.GoodsFen, sum)
	}
	return nil
}

// clearance returns an order's state.
func (s *Sandbox) clearance(orderNo string) (clearanceBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	o := s.orders[orderNo]
	if o == nil {
		return clearanceBody{}, hmacsig.Errorf(CodeManifestNotFound, "no manifest for order %s", orderNo)
	}
	return o.view(), nil
}

// cancel withdraws an order not yet released.
func (s *Sandbox) cancel(orderNo string) (clearanceBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	o := s.orders[orderNo]
	switch {
	case o == nil:
		return clearanceBody{}, hmacsig.Errorf(CodeManifestNotFound, "no manifest for order %s", orderNo)
	case o.status == StatusCleared:
		return clearanceBody{}, hmacsig.Errorf(CodeAlreadyReleased, "order %s was released at %s", orderNo, o.releasedAt.Format(time.RFC3339))
	case o.status != StatusCancelled:
		o.status, o.decidedAt = StatusCancelled, s.now()
		delete(s.pending, orderNo)
		s.log.Info("manifest cancelled", "orderNo", orderNo)
	}
	return o.view(), nil
}

// fileReturn files a return declaration.
func (s *Sandbox) fileReturn(req returnRequest) (returnBody, *hmacsig.APIError) {
	switch {
	case req.OutReturnNo == "" || len(req.OutReturnNo) > 64:
		return returnBody{}, hmacsig.Invalid("outReturnNo must be 1 to 64 characters")
	case req.OrderNo == "":
		return returnBody{}, hmacsig.Invalid("orderNo is required")
	case req.TrackingNo == "":
		return returnBody{}, hmacsig.Invalid("trackingNo is required")
	case len(req.Items) == 0:
		return returnBody{}, hmacsig.Invalid("items must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	if rt := s.returns[req.OutReturnNo]; rt != nil {
		if !reflect.DeepEqual(rt.req, req) {
			return returnBody{}, hmacsig.Errorf(CodeDuplicateOutReturnNo, "return %s was filed with different content", req.OutReturnNo)
		}
		return rt.view(), nil
	}
	o := s.orders[req.OrderNo]
	if o == nil {
		return returnBody{}, hmacsig.Errorf(CodeManifestNotFound, "no manifest for order %s", req.OrderNo)
	}
	if o.status != StatusCleared {
		return returnBody{}, hmacsig.Errorf(CodeOrderNotReleased, "order %s is %s, not released", req.OrderNo, o.status)
	}
	value, aerr := s.returnValue(o, req.Items)
	if aerr != nil {
		return returnBody{}, aerr
	}
	now := s.now()
	rt := &ret{req: req, status: StatusFiled, filedAt: now, deadline: o.releasedAt.Add(ArrivalWindow), valueFen: value}
	s.returns[req.OutReturnNo] = rt
	if now.After(o.releasedAt.Add(ReturnWindow)) {
		s.decideReturn(rt, StatusRejected, RejectReturnWindowClosed,
			fmt.Sprintf("filed %s after release, more than 30 days", now.Sub(o.releasedAt).Round(time.Hour)), now)
		return rt.view(), nil
	}
	s.inFlight[req.OutReturnNo] = rt
	s.log.Info("return filed", "outReturnNo", req.OutReturnNo, "orderNo", req.OrderNo)
	s.sweepLocked()
	return rt.view(), nil
}

// returnValue checks returned items against the order and what other returns
// already take back, and values them at the order's prices.
func (s *Sandbox) returnValue(o *order, items []item) (int64, *hmacsig.APIError) {
	ordered := map[string]item{}
	left := map[string]int{}
	for _, it := range o.m.Items {
		ordered[it.SKU] = it
		left[it.SKU] += it.Quantity
	}
	for _, rt := range s.returns {
		if rt.req.OrderNo == o.m.OrderNo && rt.status != StatusRejected {
			for _, it := range rt.req.Items {
				left[it.SKU] -= it.Quantity
			}
		}
	}
	var value int64
	for i, it := range items {
		o, ok := ordered[it.SKU]
		switch {
		case !ok:
			return 0, hmacsig.Errorf(CodeReturnItemsInvalid, "items[%d].sku %q is not on the order", i, it.SKU)
		case it.Quantity <= 0:
			return 0, hmacsig.Errorf(CodeReturnItemsInvalid, "items[%d].quantity must be positive", i)
		case it.Quantity > left[it.SKU]:
			return 0, hmacsig.Errorf(CodeReturnItemsInvalid, "items[%d]: %d of %s returned, only %d left to return", i, it.Quantity, it.SKU, left[it.SKU])
		}
		left[it.SKU] -= it.Quantity
		value += int64(it.Quantity) * o.UnitPriceFen
	}
	return value, nil
}

// queryReturn returns a return's state.
func (s *Sandbox) queryReturn(outReturnNo string) (returnBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	rt := s.returns[outReturnNo]
	if rt == nil {
		return returnBody{}, hmacsig.Errorf(CodeReturnNotFound, "no return %s", outReturnNo)
	}
	return rt.view(), nil
}

// Decide gives an order a manual verdict: status CLEARED or REJECTED (with
// code, RejectManual when empty). It fails with ErrNotFound or, for a
// cancelled order, ErrConflict.
func (s *Sandbox) Decide(orderNo, status, code, reason string) error {
	if status != StatusCleared && status != StatusRejected {
		return fmt.Errorf("status must be %s or %s, got %q", StatusCleared, StatusRejected, status)
	}
	if status == StatusRejected && code == "" {
		code = RejectManual
	}
	if reason == "" {
		reason = "manual verdict"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[orderNo]
	switch {
	case o == nil:
		return fmt.Errorf("%w: order %s", ErrNotFound, orderNo)
	case o.status == StatusCancelled:
		return fmt.Errorf("%w: order %s is cancelled", ErrConflict, orderNo)
	}
	s.decide(o, status, code, reason, true, s.now())
	return nil
}

// Arrive reports a return's goods back in the bonded zone: the return is
// accepted, or rejected when they come after the 45-day deadline. Repeating it
// for an accepted return is a no-op; a rejected one fails with ErrConflict.
func (s *Sandbox) Arrive(outReturnNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	rt := s.returns[outReturnNo]
	switch {
	case rt == nil:
		return fmt.Errorf("%w: return %s", ErrNotFound, outReturnNo)
	case rt.status == StatusAccepted:
		return nil
	case rt.status == StatusRejected:
		return fmt.Errorf("%w: return %s is rejected (%s)", ErrConflict, outReturnNo, rt.code)
	}
	s.decideReturn(rt, StatusAccepted, "", "goods back in the bonded zone", s.now())
	return nil
}

// DecideReturn gives a return a manual verdict: status ACCEPTED or REJECTED.
func (s *Sandbox) DecideReturn(outReturnNo, status, reason string) error {
	if status != StatusAccepted && status != StatusRejected {
		return fmt.Errorf("status must be %s or %s, got %q", StatusAccepted, StatusRejected, status)
	}
	code := ""
	if status == StatusRejected {
		code = RejectManual
	}
	if reason == "" {
		reason = "manual verdict"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.returns[outReturnNo]
	if rt == nil {
		return fmt.Errorf("%w: return %s", ErrNotFound, outReturnNo)
	}
	s.decideReturn(rt, status, code, reason, s.now())
	return nil
}

// Handler serves the signed API and the control endpoints.
func (s *Sandbox) Handler() http.Handler {
	mux := s.svc.NewMux()
	mux.HandleFunc("POST /customs/v1/manifests", hmacsig.JSON(s.svc, s.submitManifest))
	mux.HandleFunc("GET /customs/v1/manifests/{orderNo}/clearance", hmacsig.ByPath(s.svc, "orderNo", s.clearance))
	mux.HandleFunc("POST /customs/v1/manifests/{orderNo}/cancel", hmacsig.ByPath(s.svc, "orderNo", s.cancel))
	mux.HandleFunc("POST /customs/v1/returns", hmacsig.JSON(s.svc, s.fileReturn))
	mux.HandleFunc("GET /customs/v1/returns/{outReturnNo}", hmacsig.ByPath(s.svc, "outReturnNo", s.queryReturn))

	mux.HandleFunc("POST /sandbox/manifests/{orderNo}/decide", func(w http.ResponseWriter, r *http.Request) {
		var d struct{ Status, Code, Reason string }
		if !decodeControl(w, r, &d) {
			return
		}
		controlResult(w, s.Decide(r.PathValue("orderNo"), d.Status, d.Code, d.Reason))
	})
	mux.HandleFunc("POST /sandbox/returns/{outReturnNo}/arrive", func(w http.ResponseWriter, r *http.Request) {
		controlResult(w, s.Arrive(r.PathValue("outReturnNo")))
	})
	mux.HandleFunc("POST /sandbox/returns/{outReturnNo}/decide", func(w http.ResponseWriter, r *http.Request) {
		var d struct{ Status, Reason string }
		if !decodeControl(w, r, &d) {
			return
		}
		controlResult(w, s.DecideReturn(r.PathValue("outReturnNo"), d.Status, d.Reason))
	})
	mux.HandleFunc("POST /sandbox/payment-records", func(w http.ResponseWriter, r *http.Request) {
		var rec PaymentRecord
		if !decodeControl(w, r, &rec) {
			return
		}
		if rec.OrderNo == "" {
			http.Error(w, "orderNo is required", http.StatusBadRequest)
			return
		}
		s.ReceivePaymentRecord(rec)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := hmacsig.DecodeControl(w, r, v); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func controlResult(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	case errors.Is(err, ErrConflict):
		http.Error(w, err.Error(), http.StatusConflict)
	default:
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}
