package activities

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
)

// fakeLister serves pages of executions with the given AmountCNY values.
type fakeLister struct {
	pages   [][]float64
	queries []string
	err     error
}

func (f *fakeLister) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	if f.err != nil {
		return nil, f.err
	}
	page := 0
	if len(req.GetNextPageToken()) > 0 {
		page = int(req.GetNextPageToken()[0])
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, v := range f.pages[page] {
		fields := map[string]*commonpb.Payload{}
		if v >= 0 {
			p, err := converter.GetDefaultDataConverter().ToPayload(v)
			if err != nil {
				return nil, err
			}
			fields["AmountCNY"] = p
		}
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields}})
	}
	if page+1 < len(f.pages) {
		resp.NextPageToken = []byte{byte(page + 1)}
	}
	return resp, nil
}

const hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestVisibilityBuyerHistoryQuery(t *testing.T) {
	h := &VisibilityBuyerHistory{WorkflowType: "OrderWorkflow", ExcludedStates: []string{"Rejected", "Cancelled"}}
	q, err := h.Query(hash, 2026)
	require.NoError(t, err)
	assert.Equal(t, "WorkflowType = 'OrderWorkflow' AND BuyerIdHash = '"+hash+"'"+
		" AND StartTime >= '2025-12-31T16:00:00Z' AND StartTime < '2026-12-31T16:00:00Z'"+
		" AND OrderState NOT IN ('Rejected', 'Cancelled')", q, "the calendar year runs in China time")

	_, err = h.Query("not-a-hash", 2026)
	assert.Error(t, err)
	_, err = (&VisibilityBuyerHistory{WorkflowType: "OrderWorkflow"}).Query(hash, 2026)
	assert.ErrorContains(t, err, "ExcludedStates is required")
	_, err = (&VisibilityBuyerHistory{WorkflowType: "OrderWorkflow", ExcludedStates: []string{"x') OR ('1"}}).Query(hash, 2026)
	assert.ErrorContains(t, err, "bad excluded state")
}

func TestVisibilityBuyerHistorySumsPages(t *testing.T) {
	l := &fakeLister{pages: [][]float64{{229.11, 0.1 + 0.2}, {4999.99, -1}}}
	h := &VisibilityBuyerHistory{Client: l, WorkflowType: "OrderWorkflow", ExcludedStates: []string{"Rejected"}}
	got, err := h.YearToDate(context.Background(), hash, 2026)
	require.NoError(t, err)
	// 0.1+0.2 is 0.30000000000000004 as a double: it reads back as 0.30.
	assert.Equal(t, "5229.40 CNY", got.String())
	assert.Len(t, l.queries, 2)

	l.err = errors.New("visibility unavailable")
	_, err = h.YearToDate(context.Background(), hash, 2026)
	assert.ErrorContains(t, err, "visibility unavailable")
}
