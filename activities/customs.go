package activities

import (
	"context"

	"github.com/xhspay/xhspay/providers"
)

// Customs holds the customs activities: the payment declaration through the
// payment provider's CustomsDeclarer, and the manifest, clearance verdict and
// return (re-import) declarations through the customs clearance port.
type Customs struct {
	// Declarers are the payment companies' customs declarers by provider. A
	// provider without one (the card PSP) declares out of band: Declare
	// answers Supported=false and the customs verdict decides.
	Declarers map[providers.Name]providers.CustomsDeclarer
	// Clearance is the customs side (manifest, verdict, returns).
	Clearance providers.CustomsClearance
	// CustomsCode is the customs office, used where a request leaves it empty.
	CustomsCode string
	// PlatformCode is the e-commerce platform's customs registration code, used where a request leaves it empty.
	PlatformCode string
	// PlatformName is the e-commerce platform's registered name, used where a request leaves it empty.
	PlatformName string
}

// DeclareInput is the input of the declaration activities.
type DeclareInput struct {
	// Provider took the payment and declares it.
	Provider providers.Name `json:"provider"`
	// Request is the payment record; OutRequestNo is the idempotency key.
	// Empty customs and platform codes are filled from the Customs configuration.
	Request providers.DeclarationRequest `json:"request"`
}

// DeclareResult is the outcome of a declaration activity.
type DeclareResult struct {
	// Supported is false when the provider has no declarer here (declared out of band).
	Supported bool `json:"supported"`
	// Declaration is the provider's answer when supported.
	Declaration providers.Declaration `json:"declaration"`
}

func (c *Customs) clearance() (providers.CustomsClearance, error) {
	if c.Clearance == nil {
		return nil, notConfigured("customs clearance", "customs")
	}
	return c.Clearance, nil
}

// fill completes a declaration request with the configured codes.
func (c *Customs) fill(req providers.DeclarationRequest) providers.DeclarationRequest {
	if req.CustomsCode == "" {
		req.CustomsCode = c.CustomsCode
	}
	if req.MerchantCustomsCode == "" {
		req.MerchantCustomsCode = c.PlatformCode
	}
	if req.MerchantCustomsName == "" {
		req.MerchantCustomsName = c.PlatformName
	}
	return req
}

type declareOp int

const (
	opDeclare declareOp = iota
	opQuery
	opRedeclare
	opCancel
)

// customsProvider labels customs calls in the provider metrics.
const customsProvider = "customs"

// String names the operation in the provider metrics.
func (op declareOp) String() string {
	return [...]string{"declare", "query_declaration", "redeclare", "cancel_declaration"}[op]
}

func (c *Customs) declaration(ctx context.Context, in DeclareInput, op declareOp) (DeclareResult, error) {
	d, ok := c.Declarers[in.Provider]
	if !ok || d == nil {
		return DeclareResult{Supported: false}, nil
	}
	if in.Request.OutRequestNo == "" {
		return DeclareResult{}, invalidInput("request.outRequestNo: required")
	}
	req := c.fill(in.Request)
	var (
		out providers.Declaration
		err error
	)
	done := observe(ctx, string(in.Provider), op.String())
	switch op {
	case opDeclare:
		out, err = d.Declare(ctx, req)
	case opQuery:
		out, err = d.QueryDeclaration(ctx, req)
	case opRedeclare:
		out, err = d.Redeclare(ctx, req)
	case opCancel:
		out, err = d.CancelDeclaration(ctx, req)
	}
	done(&err)
	if op == opCancel && providers.IsType(err, providers.ErrTypeTradeNotFound) {
		return DeclareResult{Supported: true, Declaration: providers.Declaration{
			OutRequestNo: req.OutRequestNo, Status: providers.DeclarationNotFound,
		}}, nil
	}
	if providers.IsType(err, providers.ErrTypeNotSupported) {
		return DeclareResult{Supported: false}, nil
	}
	if err != nil {
		return DeclareResult{}, ProviderError(err)
	}
	return DeclareResult{Supported: true, Declaration: out}, nil
}

// Declare pushes the payment record to customs through the provider.
func (c *Customs) Declare(ctx context.Context, in DeclareInput) (DeclareResult, error) {
	return c.declaration(ctx, in, opDeclare)
}

// QueryDeclaration returns the declaration's state.
func (c *Customs) QueryDeclaration(ctx context.Context, in DeclareInput) (DeclareResult, error) {
	return c.declaration(ctx, in, opQuery)
}

// Redeclare pushes corrected data for an order already declared.
func (c *Customs) Redeclare(ctx context.Context, in DeclareInput) (DeclareResult, error) {
	return c.declaration(ctx, in, opRedeclare)
}

// CancelDeclaration withdraws the declaration; one the provider does not know counts as withdrawn.
func (c *Customs) CancelDeclaration(ctx context.Context, in DeclareInput) (DeclareResult, error) {
	return c.declaration(ctx, in, opCancel)
}

// SubmitManifest files the platform's order record; empty codes are filled
// from the configuration. Repeating it for the same order is a no-op.
func (c *Customs) SubmitManifest(ctx context.Context, m providers.Manifest) error {
	cc, err := c.clearance()
	if err != nil {
		return err
	}
	if m.OrderNo == "" {
		return invalidInput("manifest.orderNo: required")
	}
	if m.CustomsCode == "" {
		m.CustomsCode = c.CustomsCode
	}
	if m.PlatformCode == "" {
		m.PlatformCode = c.PlatformCode
	}
	done := observe(ctx, customsProvider, "submit_manifest")
	err = cc.SubmitManifest(ctx, m)
	done(&err)
	return ProviderError(err)
}

// QueryClearance returns customs' verdict on the order.
func (c *Customs) QueryClearance(ctx context.Context, orderNo string) (providers.Clearance, error) {
	cc, err := c.clearance()
	if err != nil {
		return providers.Clearance{}, err
	}
	done := observe(ctx, customsProvider, "query_clearance")
	cl, err := cc.QueryClearance(ctx, orderNo)
	done(&err)
	return cl, ProviderError(err)
}

// CancelManifest withdraws the order's manifest; a manifest customs does not know counts as withdrawn.
func (c *Customs) CancelManifest(ctx context.Context, orderNo string) error {
	cc, err := c.clearance()
	if err != nil {
		return err
	}
	done := observe(ctx, customsProvider, "cancel_manifest")
	err = cc.CancelManifest(ctx, orderNo)
	done(&err)
	if providers.IsType(err, providers.ErrTypeTradeNotFound) {
		return nil
	}
	return ProviderError(err)
}

// FileReturn files a return (re-import) declaration; repeating the same OutReturnNo is the same return.
func (c *Customs) FileReturn(ctx context.Context, req providers.ReturnRequest) (providers.Return, error) {
	cc, err := c.clearance()
	if err != nil {
		return providers.Return{}, err
	}
	if req.OutReturnNo == "" {
		return providers.Return{}, invalidInput("return.outReturnNo: required")
	}
	done := observe(ctx, customsProvider, "file_return")
	r, err := cc.FileReturn(ctx, req)
	done(&err)
	return r, ProviderError(err)
}

// QueryReturn returns the return declaration's state.
func (c *Customs) QueryReturn(ctx context.Context, outReturnNo string) (providers.Return, error) {
	cc, err := c.clearance()
	if err != nil {
		return providers.Return{}, err
	}
	done := observe(ctx, customsProvider, "query_return")
	r, err := cc.QueryReturn(ctx, outReturnNo)
	done(&err)
	return r, ProviderError(err)
}
