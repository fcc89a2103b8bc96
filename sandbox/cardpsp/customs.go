package cardpsp

import (
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/xhspay/xhspay/sandbox/customs"
	"github.com/xhspay/xhspay/sandbox/internal/hmacsig"
)

// declarationRequest is a customs payment declaration on the wire.
type declarationRequest struct {
	OutRequestNo        string   `json:"outRequestNo"`
	OrderNo             string   `json:"orderNo"`
	OutTradeNo          string   `json:"outTradeNo"`
	Payer               identity `json:"payer"`
	Amount              int64    `json:"amount"`
	Currency            string   `json:"currency"`
	CustomsCode         string   `json:"customsCode"`
	MerchantCustomsCode string   `json:"merchantCustomsCode"`
	MerchantCustomsName string   `json:"merchantCustomsName"`
}

// declarationBody is a declaration's state on the wire.
type declarationBody struct {
	OutRequestNo  string    `json:"outRequestNo"`
	DeclarationID string    `json:"declarationId"`
	OrderNo       string    `json:"orderNo"`
	OutTradeNo    string    `json:"outTradeNo"`
	Status        string    `json:"status"`
	DeclaredAt    time.Time `json:"declaredAt"`
}

type declaration struct {
	req  declarationRequest
	body declarationBody
}

// Declaration states.
const (
	// StatusDeclared is a declaration pushed to customs.
	StatusDeclared = "SUCCEEDED"
	// StatusWithdrawn is a declaration withdrawn from customs.
	StatusWithdrawn = "CANCELLED"
)

// declare pushes (or, with redeclare, re-pushes corrected) payment records to customs.
func (s *Sandbox) declare(req declarationRequest, redeclare bool) (declarationBody, *hmacsig.APIError) {
	switch {
	case req.OutRequestNo == "" || len(req.OutRequestNo) > 64:
		return declarationBody{}, hmacsig.Invalid("outRequestNo must be 1 to 64 characters")
	case req.OrderNo == "" || req.OutTradeNo == "":
		return declarationBody{}, hmacsig.Invalid("orderNo and outTradeNo are required")
	case strings.TrimSpace(req.Payer.Name) == "" || strings.TrimSpace(req.Payer.IDNumber) == "":
		return declarationBody{}, hmacsig.Invalid("payer.name and payer.idNumber are required")
	case req.CustomsCode == "" || req.MerchantCustomsCode == "":
		return declarationBody{}, hmacsig.Invalid("customsCode and merchantCustomsCode are required")
	case req.Currency != "CNY" || req.Amount <= 0:
		return declarationBody{}, hmacsig.Invalid("amount must be positive CNY minor units")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	d, exists := s.declarations[req.OutRequestNo]
	switch {
	case exists && !redeclare && reflect.DeepEqual(d.req, req):
		return d.body, nil
	case exists && !redeclare:
		return declarationBody{}, hmacsig.Errorf(CodeDuplicateOutRequestNo, "declaration %s exists with different content", req.OutRequestNo)
	case !exists && redeclare:
		return declarationBody{}, hmacsig.Errorf(CodeDeclarationNotFound, "no declaration %s to redeclare", req.OutRequestNo)
	case exists && d.req.OrderNo != req.OrderNo:
		return declarationBody{}, hmacsig.Invalid("a redeclaration keeps the order number %s", d.req.OrderNo)
	}
	p, ok := s.payments[req.OutTradeNo]
	switch {
	case !ok:
		return declarationBody{}, hmacsig.Errorf(CodePaymentNotFound, "no payment %s", req.OutTradeNo)
	case p.body.PaidAt == nil:
		return declarationBody{}, hmacsig.Errorf(CodePaymentNotPaid, "payment %s is not paid", req.OutTradeNo)
	case req.Amount > p.body.Amount:
		return declarationBody{}, hmacsig.Invalid("amount %d exceeds the payment's %d", req.Amount, p.body.Amount)
	}
	now := s.now()
	if !exists {
		d = &declaration{body: declarationBody{DeclarationID: hmacsig.NewID("dcl_")}}
		s.declarations[req.OutRequestNo] = d
	}
	d.req = req
	d.body = declarationBody{
		OutRequestNo: req.OutRequestNo, DeclarationID: d.body.DeclarationID, OrderNo: req.OrderNo,
		OutTradeNo: req.OutTradeNo, Status: StatusDeclared, DeclaredAt: now,
	}
	s.push(d, p, false, now)
	return d.body, nil
}

// push forwards a declaration's payment record to customs.
func (s *Sandbox) push(d *declaration, p *payment, cancelled bool, now time.Time) {
	s.log.Info("customs declaration pushed", "orderNo", d.req.OrderNo, "outRequestNo", d.req.OutRequestNo, "cancelled", cancelled)
	if s.cfg.Customs == nil {
		return
	}
	s.cfg.Customs.ReceivePaymentRecord(customs.PaymentRecord{
		Provider: "card", OrderNo: d.req.OrderNo, TransactionID: p.body.PaymentID,
		PayerName: d.req.Payer.Name, PayerIDNumber: d.req.Payer.IDNumber, AmountFen: d.req.Amount,
		CustomsCode: d.req.CustomsCode, MerchantCustomsCode: d.req.MerchantCustomsCode, Cancelled: cancelled, At: now,
	})
}

func (s *Sandbox) queryDeclaration(outRequestNo string) (declarationBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.declarations[outRequestNo]
	if !ok {
		return declarationBody{}, hmacsig.Errorf(CodeDeclarationNotFound, "no declaration %s", outRequestNo)
	}
	return d.body, nil
}

func (s *Sandbox) cancelDeclaration(outRequestNo string) (declarationBody, *hmacsig.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.declarations[outRequestNo]
	if !ok {
		return declarationBody{}, hmacsig.Errorf(CodeDeclarationNotFound, "no declaration %s", outRequestNo)
	}
	if d.body.Status != StatusWithdrawn {
		d.body.Status = StatusWithdrawn
		s.push(d, s.payments[d.req.OutTradeNo], true, s.now())
	}
	return d.body, nil
}

// customsRoutes registers the customs declaration endpoints.
func (s *Sandbox) customsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /psp/v1/customs/declarations", hmacsig.JSON(s.svc, func(req declarationRequest) (declarationBody, *hmacsig.APIError) {
		return s.declare(req, false)
	}))
	mux.HandleFunc("POST /psp/v1/customs/declarations/{outRequestNo}/redeclare", hmacsig.WithBody(s.svc,
		func(r *http.Request, req declarationRequest) (declarationBody, *hmacsig.APIError) {
			if req.OutRequestNo != r.PathValue("outRequestNo") {
				return declarationBody{}, hmacsig.Invalid("outRequestNo %q must match the path", req.OutRequestNo)
			}
			return s.declare(req, true)
		}))
	mux.HandleFunc("GET /psp/v1/customs/declarations/{outRequestNo}", hmacsig.ByPath(s.svc, "outRequestNo", s.queryDeclaration))
	mux.HandleFunc("POST /psp/v1/customs/declarations/{outRequestNo}/cancel", hmacsig.ByPath(s.svc, "outRequestNo", s.cancelDeclaration))
}
