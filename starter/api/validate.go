package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/money"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/workflows"
)

// MaxBodyBytes bounds every request body of the store API.
const MaxBodyBytes = 64 << 10

// Input limits.
const (
	maxItems         = 100
	maxQuantity      = 9999
	maxItemNameRunes = 128
	maxTextRunes     = 256
	maxCarrierRunes  = 64
	maxExtensionDays = 30
)

var (
	merchantOrderNoPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	skuPattern             = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	categoryPattern        = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
	phonePattern           = regexp.MustCompile(`^1\d{10}$`)
)

// maxUnitPrice and maxSurcharge bound amounts far above anything CBEC allows,
// so that absurd values are refused as input errors before any rule runs.
var (
	maxUnitPrice = money.MustParse("1000000.00", money.CNY)
	maxSurcharge = money.MustParse("100000.00", money.CNY)
)

// amountJSON is an amount on the wire: a decimal string and its currency.
type amountJSON struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

// identityJSON is a person's real name and resident ID number.
type identityJSON struct {
	Name     string `json:"name"`
	IDNumber string `json:"idNumber"`
}

// buyerJSON is the buyer: identity and phone.
type buyerJSON struct {
	Name     string `json:"name"`
	IDNumber string `json:"idNumber"`
	Phone    string `json:"phone,omitempty"`
}

// instalmentsJSON asks for Huabei instalments.
type instalmentsJSON struct {
	Count     int    `json:"count"`
	FeeBearer string `json:"feeBearer,omitempty"`
}

// itemJSON is one order line.
type itemJSON struct {
	SKU            string     `json:"sku"`
	Name           string     `json:"name"`
	Category       string     `json:"category"`
	RegistrationNo string     `json:"registrationNo,omitempty"`
	Quantity       int        `json:"quantity"`
	UnitPrice      amountJSON `json:"unitPrice"`
}

// createOrderRequest is the body of POST /v1/orders.
type createOrderRequest struct {
	MerchantOrderNo string           `json:"merchantOrderNo"`
	Provider        string           `json:"provider"`
	Scene           string           `json:"scene,omitempty"`
	Instalments     *instalmentsJSON `json:"instalments,omitempty"`
	Buyer           buyerJSON        `json:"buyer"`
	Payer           *identityJSON    `json:"payer,omitempty"`
	Items           []itemJSON       `json:"items"`
	Freight         *amountJSON      `json:"freight,omitempty"`
	Insurance       *amountJSON      `json:"insurance,omitempty"`
	// PaymentExpirySeconds is how long the buyer has to pay; 0 means the API's default.
	PaymentExpirySeconds int `json:"paymentExpirySeconds,omitempty"`
}

// Bounds of a per-order payment expiry: providers close trades after at
// least a minute, and an unpaid order should not hold a buyer's quota for days.
const (
	minPaymentExpiry = time.Minute
	maxPaymentExpiry = 24 * time.Hour
)

// maskedBuyer is the buyer as the API shows it back: never in clear.
type maskedBuyer struct {
	Name     string `json:"name"`
	IDNumber string `json:"idNumber"`
	Phone    string `json:"phone,omitempty"`
}

// orderDraft is a validated create request.
type orderDraft struct {
	// input is the workflow input, without the merchant's parts.
	input workflows.OrderInput
	// canonical holds each conflict-relevant field's canonical form.
	canonical map[string]string
	// masked is the buyer, masked.
	masked maskedBuyer
}

// decodeJSON reads a JSON body into v: application/json only, at most
// MaxBodyBytes, no unknown fields, nothing after the value. An empty body is
// allowed when emptyOK (v keeps its zero value).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) *Problem {
	body, p := readBody(w, r)
	if p != nil {
		return p
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if emptyOK {
			return nil
		}
		return problem(http.StatusBadRequest, CodeInvalidRequest, "", "the request needs a JSON body")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return problem(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "", "the body must be application/json, got %q", ct)
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return problem(http.StatusBadRequest, CodeInvalidRequest, "", "the body holds more than one JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem(http.StatusBadRequest, CodeInvalidRequest, "", "the body has data after the JSON value")
	}
	return nil
}

// readBody reads the (size-limited) body once and keeps it for re-reading.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Problem) {
	if b, ok := r.Context().Value(bodyKey{}).([]byte); ok {
		return b, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, problem(http.StatusRequestEntityTooLarge, CodeTooLarge, "", "the body is larger than %d bytes", MaxBodyBytes)
		}
		return nil, problem(http.StatusBadRequest, CodeInvalidRequest, "", "cannot read the body")
	}
	return b, nil
}

// bodyKey keys a body already read (by the idempotency layer) in a request's context.
type bodyKey struct{}

// jsonProblem explains a JSON decoding error, naming the field where it can.
func jsonProblem(err error) *Problem {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return problem(http.StatusBadRequest, CodeInvalidRequest, typeErr.Field, "must be a JSON %s", typeErr.Type.Kind())
	case errors.As(err, &syntaxErr):
		return problem(http.StatusBadRequest, CodeInvalidRequest, "", "the body is not valid JSON (offset %d)", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return problem(http.StatusBadRequest, CodeInvalidRequest, field, "unknown field %q", field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, CodeInvalidRequest, "", "the body is truncated JSON")
	}
	return problem(http.StatusBadRequest, CodeInvalidRequest, "", "the body is not valid JSON")
}

// parseCNY reads an amount that must be in CNY, whole fen, within [min, max]
// (positive when !zeroOK).
func parseCNY(field string, a amountJSON, zeroOK bool, max money.Amount) (money.Amount, *Problem) {
	if a.Currency != string(money.CNY) {
		return money.Amount{}, badField(field+".currency", "must be \"CNY\", got %q", a.Currency)
	}
	amt, err := money.Parse(a.Value, money.CNY)
	if err != nil {
		return money.Amount{}, badField(field+".value", "must be a decimal string with at most 2 places, like \"12.30\"")
	}
	if amt.IsNegative() || (!zeroOK && amt.IsZero()) {
		if zeroOK {
			return money.Amount{}, badField(field+".value", "must not be negative, got %s", a.Value)
		}
		return money.Amount{}, badField(field+".value", "must be positive, got %s", a.Value)
	}
	if c, _ := amt.Cmp(max); c > 0 {
		return money.Amount{}, badField(field+".value", "must be at most %s", max.Number())
	}
	return amt, nil
}

// checkText checks a free-text field: valid UTF-8, no control characters, at most maxRunes.
func checkText(field, s string, required bool, maxRunes int) *Problem {
	if s == "" {
		if required {
			return badField(field, "is required")
		}
		return nil
	}
	if !utf8.ValidString(s) {
		return badField(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return badField(field, "must have at most %d characters, got %d", maxRunes, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return badField(field, "must not contain control characters")
		}
	}
	return nil
}

// checkIdentity applies the real-name and ID-number rules to one person;
// their failures are input errors (400) naming the rule.
func checkIdentity(prefix string, id providers.Identity) *Problem {
	if id.Name == "" {
		return badField(prefix+".name", "is required")
	}
	if id.IDNumber == "" {
		return badField(prefix+".idNumber", "is required")
	}
	err := cbec.CheckIdentity(cbec.Identity{Name: id.Name, IDNumber: id.IDNumber}, cbec.Identity{Name: id.Name, IDNumber: id.IDNumber})
	var re *cbec.RuleError
	if errors.As(err, &re) {
		field := prefix + ".name"
		if re.Rule == cbec.RuleIDNumber {
			field = prefix + ".idNumber"
		}
		return problem(http.StatusBadRequest, string(re.Rule), field, "%s", re.Message)
	}
	return nil
}

// validateCreate checks every field of a create request and applies the CBEC
// rules that need no history (all but the annual limit, which the workflow
// applies with the buyer's year-to-date total). It returns a 400 for bad input
// and a 422 naming the rule for an order the rules refuse.
func validateCreate(req createOrderRequest) (*orderDraft, *Problem) {
	if !merchantOrderNoPattern.MatchString(req.MerchantOrderNo) {
		return nil, badField("merchantOrderNo", "must be 1-32 characters of [A-Za-z0-9_-]")
	}
	in := workflows.OrderInput{MerchantOrderNo: req.MerchantOrderNo}
	in.Provider = providers.Name(req.Provider)
	if !in.Provider.Valid() {
		return nil, badField("provider", "must be one of alipay, wechatpay, card; got %q", req.Provider)
	}
	switch providers.Scene(req.Scene) {
	case "", providers.SceneQR:
		in.Scene = providers.SceneQR
	case providers.ScenePage:
		in.Scene = providers.ScenePage
	default:
		return nil, badField("scene", "must be qr or page; got %q", req.Scene)
	}
	if req.Instalments != nil {
		if in.Provider != providers.Alipay {
			return nil, badField("instalments", "Huabei instalments are offered by alipay only")
		}
		if c := req.Instalments.Count; c != 3 && c != 6 && c != 12 {
			return nil, badField("instalments.count", "must be 3, 6 or 12; got %d", c)
		}
		fb := providers.FeeBearer(req.Instalments.FeeBearer)
		switch fb {
		case "":
			fb = providers.FeeBuyer
		case providers.FeeBuyer, providers.FeeSeller:
		default:
			return nil, badField("instalments.feeBearer", "must be buyer or seller; got %q", req.Instalments.FeeBearer)
		}
		in.Instalments = &providers.Instalments{Count: req.Instalments.Count, FeeBearer: fb}
	}

	if req.PaymentExpirySeconds != 0 {
		d := time.Duration(req.PaymentExpirySeconds) * time.Second
		if d < minPaymentExpiry || d > maxPaymentExpiry {
			return nil, badField("paymentExpirySeconds", "must be between %d and %d seconds; got %d",
				int(minPaymentExpiry.Seconds()), int(maxPaymentExpiry.Seconds()), req.PaymentExpirySeconds)
		}
		in.PaymentExpiry = d
	}

	in.Buyer = providers.Identity{Name: strings.TrimSpace(req.Buyer.Name), IDNumber: cbec.NormalizeIDNumber(req.Buyer.IDNumber)}
	if p := checkIdentity("buyer", in.Buyer); p != nil {
		return nil, p
	}
	if req.Buyer.Phone != "" && !phonePattern.MatchString(req.Buyer.Phone) {
		return nil, badField("buyer.phone", "must be a mainland mobile number: 11 digits starting with 1")
	}
	in.BuyerPhone = req.Buyer.Phone
	in.Payer = in.Buyer
	if req.Payer != nil {
		in.Payer = providers.Identity{Name: strings.TrimSpace(req.Payer.Name), IDNumber: cbec.NormalizeIDNumber(req.Payer.IDNumber)}
		if p := checkIdentity("payer", in.Payer); p != nil {
			return nil, p
		}
	}

	if len(req.Items) == 0 || len(req.Items) > maxItems {
		return nil, badField("items", "must have 1 to %d items, got %d", maxItems, len(req.Items))
	}
	seen := make(map[string]int, len(req.Items))
	for i, it := range req.Items {
		f := "items[" + strconv.Itoa(i) + "]"
		if !skuPattern.MatchString(it.SKU) {
			return nil, badField(f+".sku", "must be 1-64 characters of [A-Za-z0-9._-]")
		}
		if j, dup := seen[it.SKU]; dup {
			return nil, badField(f+".sku", "SKU %q is already items[%d]: merge the lines", it.SKU, j)
		}
		seen[it.SKU] = i
		if p := checkText(f+".name", it.Name, true, maxItemNameRunes); p != nil {
			return nil, p
		}
		if !categoryPattern.MatchString(it.Category) {
			return nil, badField(f+".category", "must be a category code of [a-z0-9_], 1-64 characters")
		}
		if p := checkText(f+".registrationNo", it.RegistrationNo, false, 64); p != nil {
			return nil, p
		}
		if it.Quantity < 1 || it.Quantity > maxQuantity {
			return nil, badField(f+".quantity", "must be 1 to %d, got %d", maxQuantity, it.Quantity)
		}
		price, p := parseCNY(f+".unitPrice", it.UnitPrice, false, maxUnitPrice)
		if p != nil {
			return nil, p
		}
		in.Items = append(in.Items, providers.Item{SKU: it.SKU, Name: it.Name, Category: it.Category,
			RegistrationNo: strings.TrimSpace(it.RegistrationNo), Quantity: it.Quantity, UnitPrice: price})
	}
	in.Freight, in.Insurance = money.Zero(money.CNY), money.Zero(money.CNY)
	if req.Freight != nil {
		a, p := parseCNY("freight", *req.Freight, true, maxSurcharge)
		if p != nil {
			return nil, p
		}
		in.Freight = a
	}
	if req.Insurance != nil {
		a, p := parseCNY("insurance", *req.Insurance, true, maxSurcharge)
		if p != nil {
			return nil, p
		}
		in.Insurance = a
	}

	// The CBEC rules that need no history: payer is buyer, positive list,
	// registration numbers, the single-order limit.
	if _, err := cbec.Validate(cbecOrder(in)); err != nil {
		var re *cbec.RuleError
		if errors.As(err, &re) {
			return nil, ruleProblem(re)
		}
		return nil, problem(http.StatusUnprocessableEntity, CodeRejected, "", "%v", err)
	}

	return &orderDraft{input: in, canonical: canonicalFields(in), masked: maskBuyer(in.Buyer, in.BuyerPhone)}, nil
}

// cbecOrder is the order as the CBEC rules see it, with no year-to-date history.
func cbecOrder(in workflows.OrderInput) cbec.Order {
	lines := make([]cbec.Line, len(in.Items))
	for i, it := range in.Items {
		lines[i] = cbec.Line{SKU: it.SKU, Category: it.Category, RegistrationNo: it.RegistrationNo,
			Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	return cbec.Order{
		Lines: lines, Freight: in.Freight, Insurance: in.Insurance,
		Buyer:           cbec.Identity{Name: in.Buyer.Name, IDNumber: in.Buyer.IDNumber},
		Payer:           cbec.Identity{Name: in.Payer.Name, IDNumber: in.Payer.IDNumber},
		BuyerYearToDate: money.Zero(money.CNY),
	}
}

// canonicalFields returns, for each field that decides what the order is, a
// canonical string: two requests for the same merchant order number are the
// same order exactly when these agree.
func canonicalFields(in workflows.OrderInput) map[string]string {
	inst := "none"
	if in.Instalments != nil {
		inst = fmt.Sprintf("%d/%s", in.Instalments.Count, in.Instalments.FeeBearer)
	}
	items := make([]string, len(in.Items))
	for i, it := range in.Items {
		b, _ := json.Marshal([]string{it.SKU, it.Name, it.Category, it.RegistrationNo,
			strconv.Itoa(it.Quantity), it.UnitPrice.Number()})
		items[i] = string(b)
	}
	sort.Strings(items) // line order does not change the order
	expiry := "default"
	if in.PaymentExpiry > 0 {
		expiry = in.PaymentExpiry.String()
	}
	return map[string]string{
		"paymentExpirySeconds": expiry,
		"provider":             string(in.Provider),
		"scene":                string(in.Scene),
		"instalments":          inst,
		"buyer":                in.Buyer.Name + "\x00" + in.Buyer.IDNumber + "\x00" + in.BuyerPhone,
		"payer":                in.Payer.Name + "\x00" + in.Payer.IDNumber,
		"items":                strings.Join(items, "\n"),
		"freight":              in.Freight.Number(),
		"insurance":            in.Insurance.Number(),
	}
}

// fieldHashes hashes each canonical field, salted with the order id so that
// equal values of different orders do not hash alike.
func fieldHashes(orderID string, canonical map[string]string) map[string]string {
	out := make(map[string]string, len(canonical))
	for k, v := range canonical {
		h := sha256.Sum256([]byte(orderID + "\x00" + k + "\x00" + v))
		out[k] = hex.EncodeToString(h[:16])
	}
	return out
}

// requestHash is one hash over all field hashes.
func requestHash(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, fields[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// differingFields names the fields whose hashes differ, sorted.
func differingFields(stored, ours map[string]string) []string {
	var diff []string
	for k, v := range ours {
		if stored[k] != v {
			diff = append(diff, k)
		}
	}
	for k := range stored {
		if _, ok := ours[k]; !ok {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	return diff
}

// maskName keeps a name's first character.
func maskName(name string) string {
	r, size := utf8.DecodeRuneInString(name)
	if size == 0 {
		return ""
	}
	return string(r) + "*"
}

// maskIDNumber keeps an 18-character ID number's first 3 and last 4 characters.
func maskIDNumber(id string) string {
	if len(id) != 18 {
		return strings.Repeat("*", len(id))
	}
	return id[:3] + strings.Repeat("*", 11) + id[14:]
}

// maskPhone keeps an 11-digit phone number's first 3 and last 4 digits.
func maskPhone(phone string) string {
	if len(phone) != 11 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + "****" + phone[7:]
}

func maskBuyer(id providers.Identity, phone string) maskedBuyer {
	return maskedBuyer{Name: maskName(id.Name), IDNumber: maskIDNumber(id.IDNumber), Phone: maskPhone(phone)}
}
