package cardpsp

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"

	"github.com/xhspay/xhspay/sandbox/internal/hmacsig"
)

// Error codes of the card PSP API, answered as {"code","message"}.
const (
	// CodeInvalidRequest is a malformed or invalid request.
	CodeInvalidRequest = hmacsig.CodeInvalidRequest
	// CodeKeyUnknown is an unknown X-Xhs-Key-Id.
	CodeKeyUnknown = hmacsig.CodeKeyUnknown
	// CodeSignatureInvalid is a missing or wrong signature.
	CodeSignatureInvalid = hmacsig.CodeSignatureInvalid
	// CodeTimestampExpired is a timestamp more than five minutes off.
	CodeTimestampExpired = hmacsig.CodeTimestampExpired
	// CodeRouteNotFound is a request to no endpoint.
	CodeRouteNotFound = hmacsig.CodeRouteNotFound
	// CodeRateLimited is a frequency limit.
	CodeRateLimited = hmacsig.CodeRateLimited
	// CodeSystemError is an internal failure.
	CodeSystemError = hmacsig.CodeSystemError
	// CodeServiceUnavailable is a maintenance window or overload.
	CodeServiceUnavailable = hmacsig.CodeServiceUnavailable
)

// Error codes of the card PSP API beyond those every HMAC provider answers with.
const (
	// CodeCurrencyNotSupported is a payment not in CNY or a payout in a currency not offered.
	CodeCurrencyNotSupported = "CURRENCY_NOT_SUPPORTED"
	// CodePaymentNotFound means no such payment.
	CodePaymentNotFound = "PAYMENT_NOT_FOUND"
	// CodeRefundNotFound means no such refund.
	CodeRefundNotFound = "REFUND_NOT_FOUND"
	// CodePayoutNotFound means no such payout.
	CodePayoutNotFound = "PAYOUT_NOT_FOUND"
	// CodeDuplicateOutTradeNo means the outTradeNo was used with different content.
	CodeDuplicateOutTradeNo = "DUPLICATE_OUT_TRADE_NO"
	// CodeDuplicateOutRefundNo means the outRefundNo was used with different content.
	CodeDuplicateOutRefundNo = "DUPLICATE_OUT_REFUND_NO"
	// CodeDuplicateOutPayoutNo means the outPayoutNo was used with different content.
	CodeDuplicateOutPayoutNo = "DUPLICATE_OUT_PAYOUT_NO"
	// CodePaymentAlreadyPaid means a captured payment cannot be closed.
	CodePaymentAlreadyPaid = "PAYMENT_ALREADY_PAID"
	// CodePaymentClosed means the payment was closed unpaid.
	CodePaymentClosed = "PAYMENT_CLOSED"
	// CodePaymentNotPaid means an unpaid payment cannot be refunded.
	CodePaymentNotPaid = "PAYMENT_NOT_PAID"
	// CodeRefundExceeded means the refunds would exceed what was captured.
	CodeRefundExceeded = "REFUND_EXCEEDED"
	// CodeDeclarationNotFound means no such customs declaration.
	CodeDeclarationNotFound = "DECLARATION_NOT_FOUND"
	// CodeDuplicateOutRequestNo means the outRequestNo was used with different content.
	CodeDuplicateOutRequestNo = "DUPLICATE_OUT_REQUEST_NO"
)

// codes maps every error code to its HTTP status.
var codes = hmacsig.WithCommonCodes(hmacsig.Codes{
	CodeCurrencyNotSupported:  http.StatusUnprocessableEntity,
	CodePaymentNotFound:       http.StatusNotFound,
	CodeRefundNotFound:        http.StatusNotFound,
	CodePayoutNotFound:        http.StatusNotFound,
	CodeDuplicateOutTradeNo:   http.StatusConflict,
	CodeDuplicateOutRefundNo:  http.StatusConflict,
	CodeDuplicateOutPayoutNo:  http.StatusConflict,
	CodePaymentAlreadyPaid:    http.StatusConflict,
	CodePaymentClosed:         http.StatusConflict,
	CodePaymentNotPaid:        http.StatusConflict,
	CodeRefundExceeded:        http.StatusUnprocessableEntity,
	CodeDeclarationNotFound:   http.StatusNotFound,
	CodeDuplicateOutRequestNo: http.StatusConflict,
})

// Codes returns every error code of the API with its HTTP status.
func Codes() map[string]int { return maps.Clone(codes) }

// Handler serves the signed API, the hosted checkout and the control endpoints.
func (s *Sandbox) Handler() http.Handler {
	mux := s.svc.NewMux()
	mux.HandleFunc("POST /psp/v1/payments", hmacsig.WithBody(s.svc, func(r *http.Request, req paymentRequest) (paymentBody, *hmacsig.APIError) {
		return s.createPayment(req, baseURL(r))
	}))
	mux.HandleFunc("GET /psp/v1/payments/{outTradeNo}", hmacsig.ByPath(s.svc, "outTradeNo", s.queryPayment))
	mux.HandleFunc("POST /psp/v1/payments/{outTradeNo}/close", hmacsig.ByPath(s.svc, "outTradeNo", s.closePayment))
	mux.HandleFunc("POST /psp/v1/refunds", hmacsig.JSON(s.svc, s.createRefund))
	mux.HandleFunc("GET /psp/v1/refunds/{outRefundNo}", hmacsig.ByPath(s.svc, "outRefundNo", s.queryRefund))
	mux.HandleFunc("POST /psp/v1/payouts", hmacsig.JSON(s.svc, s.createPayout))
	mux.HandleFunc("GET /psp/v1/payouts/{outPayoutNo}", hmacsig.ByPath(s.svc, "outPayoutNo", s.queryPayout))
	s.customsRoutes(mux)

	mux.HandleFunc("GET /checkout/{paymentId}", s.serveCheckout)
	mux.HandleFunc("POST /checkout/{paymentId}", s.serveCheckout)
	mux.HandleFunc("POST /sandbox/pay", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			OutTradeNo string `json:"outTradeNo"`
			BuyerPayment
		}
		if err := hmacsig.DecodeControl(w, r, &req); err != nil {
			controlError(w, http.StatusBadRequest, CodeInvalidRequest, err)
			return
		}
		if err := s.Pay(r.Context(), req.OutTradeNo, req.BuyerPayment); err != nil {
			status, code := payFailure(err)
			controlError(w, status, code, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /sandbox/payouts/{outPayoutNo}/fail", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := hmacsig.DecodeControl(w, r, &req); err != nil {
				controlError(w, http.StatusBadRequest, CodeInvalidRequest, err)
				return
			}
		}
		switch err := s.FailPayout(r.PathValue("outPayoutNo"), req.Reason); {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.Is(err, ErrNotFound):
			controlError(w, http.StatusNotFound, CodePayoutNotFound, err)
		default:
			controlError(w, http.StatusConflict, "PAYOUT_NOT_PROCESSING", err)
		}
	})
	return mux
}

// payFailure maps a scripted-buyer error to a control answer.
func payFailure(err error) (int, string) {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, CodePaymentNotFound
	case errors.Is(err, ErrPaymentClosed):
		return http.StatusConflict, CodePaymentClosed
	case errors.Is(err, ErrAlreadyPaid):
		return http.StatusConflict, CodePaymentAlreadyPaid
	case errors.Is(err, ErrDeclined):
		return http.StatusPaymentRequired, "CARD_DECLINED"
	case errors.Is(err, ErrInvalidCard):
		return http.StatusBadRequest, "INVALID_CARD"
	}
	return http.StatusInternalServerError, CodeSystemError
}

func controlError(w http.ResponseWriter, status int, code string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(hmacsig.ErrorBody{Code: code, Message: err.Error()})
}

// baseURL is the sandbox's own base URL as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Card checkout</title></head>
<body style="font-family:sans-serif;max-width:28em;margin:2em auto">
<h1>Card checkout</h1>
<p>{{.Subject}}: <strong>{{.Amount}} CNY</strong></p>
{{if .Message}}<p style="color:{{if .OK}}green{{else}}#b00{{end}}">{{.Message}}</p>{{end}}
{{if .Open}}<form method="post">
<label>Card number <input name="cardNumber" value="4242 4242 4242 4242" autocomplete="off"></label><br>
<label>Cardholder <input name="holderName" value="ZHANG WEI"></label><br>
<button type="submit">Pay</button>
</form>
<p><small>Test cards: 4242 4242 4242 4242 is approved, 4000 0000 0000 0002 is declined.</small></p>{{end}}
</body></html>`))

type checkoutView struct {
	Subject, Amount, Message string
	OK, Open                 bool
}

// serveCheckout shows the hosted card form and takes the buyer's payment.
func (s *Sandbox) serveCheckout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.sweepLocked()
	p, ok := s.byID[r.PathValue("paymentId")]
	if !ok {
		s.mu.Unlock()
		http.Error(w, "no such checkout", http.StatusNotFound)
		return
	}
	var payErr error
	if r.Method == http.MethodPost {
		payErr = s.payLocked(p, BuyerPayment{CardNumber: r.PostFormValue("cardNumber"), HolderName: r.PostFormValue("holderName")})
	}
	v := checkoutView{
		Subject: p.body.Subject, Amount: fmt.Sprintf("%d.%02d", p.body.Amount/100, p.body.Amount%100),
		Open: p.body.Status == StatusPending,
	}
	switch {
	case payErr != nil:
		v.Message = payErr.Error()
	case p.body.Status == StatusPending:
	case p.body.Status == StatusClosed:
		v.Message = "This payment is closed."
	default:
		v.OK, v.Message = true, "Paid. You may close this page."
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = checkoutPage.Execute(w, v)
}
