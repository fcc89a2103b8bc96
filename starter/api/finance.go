package api

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/cardpsp"
	"github.com/xhspay/xhspay/workflows"
)

// FinanceReader reads the finance reports: settlement batches with their
// SAFE reports, the open FX exposure and the daily reconciliations.
// activities.FinanceReports implements it on the ledger.
type FinanceReader interface {
	// Settlements lists batches (summaries, without lines), latest day first.
	Settlements(ctx context.Context, q activities.SettlementQuery) ([]activities.SettlementBatch, error)
	// Settlement returns one batch with its lines and SAFE report.
	Settlement(ctx context.Context, batchID string) (activities.SettlementBatch, bool, error)
	// Exposure computes the exposure of one merchant ("" for all).
	Exposure(ctx context.Context, merchantID string) (activities.ExposureReport, error)
	// Reconciliation returns a day's reconciliation report.
	Reconciliation(ctx context.Context, day string) (activities.ReconciliationReport, bool, error)
}

// PayoutParser verifies and decodes the card PSP's notifications, payouts
// included; the card PSP adapter implements it.
type PayoutParser interface {
	// ParseEvent verifies and decodes the request.
	ParseEvent(ctx context.Context, r *http.Request) (cardpsp.Event, error)
}

// CodeForbidden is a request the caller's key may not make (an operator route).
const CodeForbidden = "forbidden"

// settlementList answers GET /v1/settlements.
type settlementList struct {
	Settlements []activities.SettlementBatch `json:"settlements"`
}

var (
	dayPattern     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	batchIDPattern = regexp.MustCompile(`^settlement-([A-Za-z0-9_]{1,32})-(\d{8})$`)
)

// settlementFilters are the query parameters of GET /v1/settlements.
var settlementFilters = map[string]bool{"from": true, "to": true, "limit": true, "merchantId": true}

// finance returns the reader, answering 404 when the API has none.
func (s *server) finance(w http.ResponseWriter) (FinanceReader, bool) {
	if s.cfg.Finance == nil {
		writeProblem(w, problem(http.StatusNotFound, CodeNotFound, "", "finance reports are not enabled on this server"))
		return nil, false
	}
	return s.cfg.Finance, true
}

// financeProblem logs a reader failure and answers 503.
func (s *server) financeProblem(ctx context.Context, what string, err error) *Problem {
	s.logger(ctx).Error("finance report failed", "report", what, "err", err)
	return problem(http.StatusServiceUnavailable, CodeUnavailable, "", "the %s is not available now; retry", what)
}

// scopeMerchant returns the merchant a report is for: the caller, or for an
// operator the merchantId parameter ("" for every merchant).
func scopeMerchant(r *http.Request, m Merchant) (string, *Problem) {
	q := r.URL.Query().Get("merchantId")
	switch {
	case q == "" && m.Operator:
		return "", nil
	case q == "" || q == m.ID:
		return m.ID, nil
	case !m.Operator:
		return "", problem(http.StatusForbidden, CodeForbidden, "merchantId", "only an operator key may read another merchant's reports")
	case !merchantIDPattern.MatchString(q):
		return "", badField("merchantId", "must be 1-32 characters of [A-Za-z0-9_]")
	}
	return q, nil
}

// listSettlements is GET /v1/settlements: the caller's settlement batches,
// latest day first (an operator's: every merchant's, or merchantId's).
func (s *server) listSettlements(w http.ResponseWriter, r *http.Request, m Merchant) {
	fin, ok := s.finance(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	for k, vs := range q {
		if !settlementFilters[k] {
			writeProblem(w, badField(k, "unknown query parameter"))
			return
		}
		if len(vs) != 1 {
			writeProblem(w, badField(k, "give the parameter once"))
			return
		}
	}
	sq := activities.SettlementQuery{From: q.Get("from"), To: q.Get("to"), Limit: defaultPageSize}
	for _, f := range []string{"from", "to"} {
		if v := q.Get(f); v != "" && !validDay(v) {
			writeProblem(w, badField(f, "must be a date YYYY-MM-DD"))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			writeProblem(w, badField("limit", "must be 1 to %d", maxPageSize))
			return
		}
		sq.Limit = n
	}
	merchantID, p := scopeMerchant(r, m)
	if p != nil {
		writeProblem(w, p)
		return
	}
	sq.MerchantID = merchantID
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	list, err := fin.Settlements(ctx, sq)
	if err != nil {
		writeProblem(w, s.financeProblem(ctx, "settlement list", err))
		return
	}
	if list == nil {
		list = []activities.SettlementBatch{}
	}
	writeJSON(w, http.StatusOK, settlementList{Settlements: list})
}

// validDay reports whether v is a calendar date YYYY-MM-DD.
func validDay(v string) bool {
	if !dayPattern.MatchString(v) {
		return false
	}
	_, err := time.Parse(time.DateOnly, v)
	return err == nil
}

// getSettlement is GET /v1/settlements/{id}: one batch with its lines, FX
// result and SAFE report; ?format=csv answers the SAFE report as CSV.
func (s *server) getSettlement(w http.ResponseWriter, r *http.Request, m Merchant) {
	fin, ok := s.finance(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	sub := batchIDPattern.FindStringSubmatch(id)
	if sub == nil || (sub[1] != m.ID && !m.Operator) {
		writeProblem(w, notFound("settlement"))
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeProblem(w, badField("format", "must be json or csv"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	b, found, err := fin.Settlement(ctx, id)
	switch {
	case err != nil:
		writeProblem(w, s.financeProblem(ctx, "settlement", err))
		return
	case !found || (b.MerchantID != m.ID && !m.Operator):
		writeProblem(w, notFound("settlement"))
		return
	}
	if format == "csv" {
		body, err := activities.SAFECSV(b)
		if err != nil {
			writeProblem(w, s.financeProblem(ctx, "SAFE report", err))
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+`-safe.csv"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return
	}
	if b.Lines == nil {
		b.Lines = []activities.SettlementLine{}
	}
	if b.SAFE == nil {
		b.SAFE = []activities.SAFERecord{}
	}
	writeJSON(w, http.StatusOK, b)
}

// fxExposure is GET /v1/reports/fx-exposure: the RMB held or payable and not
// yet settled, valued at the current rate, by merchant and age.
func (s *server) fxExposure(w http.ResponseWriter, r *http.Request, m Merchant) {
	fin, ok := s.finance(w)
	if !ok {
		return
	}
	for k := range r.URL.Query() {
		if k != "merchantId" {
			writeProblem(w, badField(k, "unknown query parameter"))
			return
		}
	}
	merchantID, p := scopeMerchant(r, m)
	if p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	rep, err := fin.Exposure(ctx, merchantID)
	if err != nil {
		writeProblem(w, s.financeProblem(ctx, "FX exposure report", err))
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// getReconciliation is GET /v1/reconciliations/{date}: the day's
// reconciliation of the providers' bills with the ledger (operators only:
// it covers every merchant).
func (s *server) getReconciliation(w http.ResponseWriter, r *http.Request, m Merchant) {
	fin, ok := s.finance(w)
	if !ok {
		return
	}
	if !m.Operator {
		writeProblem(w, problem(http.StatusForbidden, CodeForbidden, "", "reconciliations cover every merchant: an operator key is needed"))
		return
	}
	day := r.PathValue("date")
	if !validDay(day) {
		writeProblem(w, badField("date", "must be a date YYYY-MM-DD"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	rep, found, err := fin.Reconciliation(ctx, day)
	switch {
	case err != nil:
		writeProblem(w, s.financeProblem(ctx, "reconciliation", err))
	case !found:
		writeProblem(w, notFound("reconciliation"))
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

// notifyPayout is POST /notify/card/payouts: the card PSP's payout result,
// signalled to the settlement that made the payout (whose id the payout
// number carries). The settlement also queries the payout, so a lost
// notification only delays it.
func (s *server) notifyPayout(w http.ResponseWriter, r *http.Request, _ Merchant) {
	const provider = string(providers.Card)
	log := s.logger(r.Context()).With("provider", provider)
	if s.cfg.Payouts == nil {
		s.metrics.notified(provider, notifyMalformed)
		log.Warn("payout notification rejected: payout notifications are not configured")
		writeProblem(w, problem(http.StatusNotFound, CodeNotFound, "", "no such endpoint"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	ev, err := s.cfg.Payouts.ParseEvent(ctx, r)
	if err != nil {
		result, status := parseFailure(err)
		s.metrics.notified(provider, result)
		log.Warn("payout notification rejected", "result", result, "reason", err)
		refuse(w, provider, status, "notification rejected")
		return
	}
	if ev.Kind != cardpsp.NotifyPayout || ev.Payout == nil {
		s.metrics.notified(provider, notifyMalformed)
		log.Warn("payout notification rejected", "reason", "not a payout: "+string(ev.Kind))
		refuse(w, provider, http.StatusBadRequest, "not a payout notification")
		return
	}
	batchID, ok := activities.BatchOfPayout(ev.Payout.OutPayoutNo)
	if !ok || ev.ID == "" {
		s.metrics.notified(provider, notifyMismatch)
		log.Warn("payout notification rejected", "reason", "not a settlement's payout", "outPayoutNo", ev.Payout.OutPayoutNo)
		refuse(w, provider, http.StatusBadRequest, "notification names no settlement of ours")
		return
	}
	s.deliver(ctx, w, delivery{provider: provider, orderID: batchID, notificationID: ev.ID, kind: string(ev.Kind),
		signal: workflows.SignalPayoutNotified, payload: *ev.Payout})
}
