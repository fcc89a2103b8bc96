package activities

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/xhspay/xhspay/cbec"
	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/money"
)

// ChinaTime is the calendar the annual CBEC limit counts in (UTC+8, no DST).
var ChinaTime = time.FixedZone("CST", 8*60*60)

// BuyerHistory answers how much a buyer has bought through CBEC this year.
type BuyerHistory interface {
	// YearToDate returns the total (CNY) of the buyer's orders that count
	// against the annual limit in the given calendar year (China time).
	YearToDate(ctx context.Context, buyerIDHash string, year int) (money.Amount, error)
}

// Validation holds the CBEC validation activities.
type Validation struct {
	// Buyers answers the buyer's year-to-date total.
	Buyers BuyerHistory
}

// YearToDateInput is the input of BuyerYearToDate.
type YearToDateInput struct {
	// BuyerIDHash is the buyer's pseudonymous id (see BuyerIDHash).
	BuyerIDHash string `json:"buyerIdHash"`
	// Year is the calendar year in China time.
	Year int `json:"year"`
}

// BuyerYearToDate returns the buyer's year-to-date CBEC total.
func (v *Validation) BuyerYearToDate(ctx context.Context, in YearToDateInput) (money.Amount, error) {
	if v.Buyers == nil {
		return money.Amount{}, notConfigured("buyer history", "visibility")
	}
	if err := checkBuyerIDHash(in.BuyerIDHash); err != nil {
		return money.Amount{}, invalidInput("%v", err)
	}
	if in.Year < 2000 || in.Year > 9999 {
		return money.Amount{}, invalidInput("year: %d is out of range", in.Year)
	}
	total, err := v.Buyers.YearToDate(ctx, in.BuyerIDHash, in.Year)
	if err != nil {
		// Visibility is a store we own: its failures are transient.
		return money.Amount{}, fmt.Errorf("buyer year-to-date: %w", err)
	}
	return total, nil
}

// ValidateInput is the input of ValidateOrder.
type ValidateInput struct {
	// Order is the order as the CBEC rules see it, with the buyer's year-to-date total.
	Order cbec.Order `json:"order"`
}

// Violation is the CBEC rule an order breaks.
type Violation struct {
	// Rule names the rule (cbec.Rule).
	Rule string `json:"rule"`
	// Field is the offending field.
	Field string `json:"field"`
	// Message says what is wrong; it never holds a name or ID number.
	Message string `json:"message"`
}

// ValidateResult is the outcome of ValidateOrder: either the tax, or the violation.
type ValidateResult struct {
	// Tax is the composite tax the buyer pays, when the order passes.
	Tax cbec.TaxBreakdown `json:"tax"`
	// Violation is the first rule the order breaks; nil when it passes.
	Violation *Violation `json:"violation,omitempty"`
}

// ValidateOrder applies the CBEC rules (cbec.Validate). The rules are pure and
// deterministic, yet they run as an activity: the verdict and the tax are
// then recorded in the order's history, so a later change of rates or rules
// in package cbec can never change the replay of an order already running.
// A rule failure is a result, not an error.
func (v *Validation) ValidateOrder(_ context.Context, in ValidateInput) (ValidateResult, error) {
	tax, err := cbec.Validate(in.Order)
	var re *cbec.RuleError
	if errors.As(err, &re) {
		return ValidateResult{Violation: &Violation{Rule: string(re.Rule), Field: re.Field, Message: re.Message}}, nil
	}
	if err != nil {
		return ValidateResult{}, invalidInput("cbec validation: %v", err)
	}
	return ValidateResult{Tax: tax}, nil
}

var buyerIDHashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkBuyerIDHash(h string) error {
	if !buyerIDHashPattern.MatchString(h) {
		return errors.New("buyerIdHash: must be 64 lower-case hex characters")
	}
	return nil
}

// WorkflowLister is the part of client.Client that VisibilityBuyerHistory uses.
type WorkflowLister interface {
	// ListWorkflow lists workflow executions matching a visibility query.
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// VisibilityBuyerHistory sums a buyer's orders from Temporal visibility: the
// AmountCNY of every order workflow with the buyer's BuyerIdHash started this
// calendar year (China time) whose OrderState is not one of ExcludedStates.
// An order sets BuyerIdHash only once it has passed validation, so the order
// being validated never counts itself. Visibility is eventually consistent:
// two orders validated within about a second of each other may not see each
// other, and customs' own quota check (QUOTA_EXCEEDED) remains the final word.
type VisibilityBuyerHistory struct {
	// Client lists workflows (a client.Client).
	Client WorkflowLister
	// WorkflowType is the order workflow's type name.
	WorkflowType string
	// ExcludedStates are the OrderState values that do not count against the
	// limit (rejected, expired, cancelled, refunded, ...); workflows.QuotaFreeStates gives them.
	ExcludedStates []string
	// PageSize is the visibility page size (default 500).
	PageSize int32
}

// Query returns the visibility query for a buyer and year.
func (h *VisibilityBuyerHistory) Query(buyerIDHash string, year int) (string, error) {
	if err := checkBuyerIDHash(buyerIDHash); err != nil {
		return "", err
	}
	if h.WorkflowType == "" || strings.ContainsAny(h.WorkflowType, `'"\`) {
		return "", errors.New("visibility buyer history: WorkflowType is required and must not contain quotes")
	}
	if len(h.ExcludedStates) == 0 {
		return "", errors.New("visibility buyer history: ExcludedStates is required")
	}
	states := make([]string, len(h.ExcludedStates))
	for i, s := range h.ExcludedStates {
		if s == "" || strings.ContainsAny(s, `'"\`) {
			return "", fmt.Errorf("visibility buyer history: bad excluded state %q", s)
		}
		states[i] = "'" + s + "'"
	}
	from := time.Date(year, time.January, 1, 0, 0, 0, 0, ChinaTime)
	to := from.AddDate(1, 0, 0)
	return fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND StartTime >= '%s' AND StartTime < '%s' AND %s NOT IN (%s)",
		h.WorkflowType,
		searchattr.BuyerIdHash.GetName(), buyerIDHash,
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339),
		searchattr.OrderState.GetName(), strings.Join(states, ", ")), nil
}

// YearToDate implements BuyerHistory. It heartbeats once per page when called from an activity.
func (h *VisibilityBuyerHistory) YearToDate(ctx context.Context, buyerIDHash string, year int) (money.Amount, error) {
	if h.Client == nil {
		return money.Amount{}, errors.New("visibility buyer history: no client")
	}
	q, err := h.Query(buyerIDHash, year)
	if err != nil {
		return money.Amount{}, err
	}
	size := h.PageSize
	if size <= 0 {
		size = 500
	}
	total := money.Zero(money.CNY)
	var token []byte
	for page := 0; ; page++ {
		resp, err := h.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: size, NextPageToken: token, Query: q,
		})
		if err != nil {
			return money.Amount{}, fmt.Errorf("list workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			a, err := amountCNY(e.GetSearchAttributes())
			if err != nil {
				return money.Amount{}, fmt.Errorf("workflow %s: %w", e.GetExecution().GetWorkflowId(), err)
			}
			if total, err = total.Add(a); err != nil {
				return money.Amount{}, err
			}
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, page)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return total, nil
		}
	}
}

// amountCNY reads the AmountCNY search attribute and rounds it to the fen. The
// attribute is a Double only because visibility has no decimal type; it is
// written from an exact amount and read back to the nearest fen, which is
// exact for any amount below 10^13 yuan.
func amountCNY(sa *commonpb.SearchAttributes) (money.Amount, error) {
	p, ok := sa.GetIndexedFields()[searchattr.AmountCNY.GetName()]
	if !ok || p == nil {
		return money.Zero(money.CNY), nil
	}
	var f float64
	if err := converter.GetDefaultDataConverter().FromPayload(p, &f); err != nil {
		return money.Amount{}, fmt.Errorf("decode %s: %w", searchattr.AmountCNY.GetName(), err)
	}
	return money.New(decimal.NewFromFloat(f).Round(2), money.CNY)
}

// MemoryBuyerHistory is an in-memory BuyerHistory for tests and demos.
type MemoryBuyerHistory struct {
	mu     sync.Mutex
	totals map[string]money.Amount
}

// NewMemoryBuyerHistory returns an empty history.
func NewMemoryBuyerHistory() *MemoryBuyerHistory {
	return &MemoryBuyerHistory{totals: make(map[string]money.Amount)}
}

func memKey(buyerIDHash string, year int) string { return fmt.Sprintf("%s/%d", buyerIDHash, year) }

// Add records an amount bought by the buyer in the year.
func (m *MemoryBuyerHistory) Add(buyerIDHash string, year int, a money.Amount) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.totals[memKey(buyerIDHash, year)]
	if !ok {
		cur = money.Zero(money.CNY)
	}
	sum, err := cur.Add(a)
	if err != nil {
		return err
	}
	m.totals[memKey(buyerIDHash, year)] = sum
	return nil
}

// YearToDate implements BuyerHistory.
func (m *MemoryBuyerHistory) YearToDate(_ context.Context, buyerIDHash string, year int) (money.Amount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.totals[memKey(buyerIDHash, year)]; ok {
		return a, nil
	}
	return money.Zero(money.CNY), nil
}
