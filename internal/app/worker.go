// Package app assembles the project's processes from their parts: the worker
// (workflows and activities wired to the provider adapters) and the shared
// settings of the worker, the API and the demo.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/providers/providerset"
	"github.com/xhspay/xhspay/workflows"
)

// DefaultTaskQueue is the task queue orders run on.
const DefaultTaskQueue = "xhspay-orders"

// WorkerConfig is what a worker needs.
type WorkerConfig struct {
	// Client is the Temporal client.
	Client client.Client
	// TaskQueue is the task queue (DefaultTaskQueue when empty).
	TaskQueue string
	// Providers are the provider adapters.
	Providers *providerset.Set
	// PublicBaseURL is the API's address as providers reach it; notifications
	// go to PublicBaseURL + "/notify/<provider>/<orderId>".
	PublicBaseURL string
	// CustomsCode is the customs office orders are declared to (e.g. "HANGZHOU").
	CustomsCode string
	// PlatformCode is the e-commerce platform's customs registration code.
	PlatformCode string
	// PlatformName is the e-commerce platform's registered name.
	PlatformName string
	// BuyerHashKey keys the buyer ID hashes (search attributes, annual limits).
	BuyerHashKey []byte
	// Ledger books the orders' money and runs the settlements and
	// reconciliations; nil runs the orders without bookkeeping (and
	// settlements and reconciliations fail as not configured).
	Ledger *ledger.Ledger
	// Settlement sets the settlements' T+N delays, provider fees and SAFE
	// trade type; zero values take activities.DefaultSettlementConfig's.
	Settlement activities.SettlementConfig
	// Options are the SDK worker options.
	Options worker.Options
	// Logger logs.
	Logger *slog.Logger
}

// NotifyURLFunc returns the per-order notification URL builder for base.
func NotifyURLFunc(base string) func(providers.Name, string) string {
	base = strings.TrimRight(base, "/")
	return func(p providers.Name, orderID string) string {
		return base + "/notify/" + url.PathEscape(string(p)) + "/" + url.PathEscape(orderID)
	}
}

// Deps builds the activity dependencies of cfg.
func (cfg WorkerConfig) Deps() (activities.Deps, error) {
	if cfg.Providers == nil {
		return activities.Deps{}, errors.New("app: WorkerConfig.Providers is required")
	}
	if cfg.PublicBaseURL == "" {
		return activities.Deps{}, errors.New("app: WorkerConfig.PublicBaseURL is required for provider notifications")
	}
	if len(cfg.BuyerHashKey) < 16 {
		return activities.Deps{}, errors.New("app: WorkerConfig.BuyerHashKey must be at least 16 bytes")
	}
	if err := cfg.Settlement.Validate(); err != nil {
		return activities.Deps{}, fmt.Errorf("app: WorkerConfig.Settlement: %w", err)
	}
	deps := activities.Deps{
		Payments: &activities.Payments{
			Providers: cfg.Providers.Payments(),
			NotifyURL: NotifyURLFunc(cfg.PublicBaseURL),
		},
		Customs: &activities.Customs{
			Declarers:    cfg.Providers.Declarers(),
			Clearance:    cfg.Providers.Customs,
			CustomsCode:  cfg.CustomsCode,
			PlatformCode: cfg.PlatformCode,
			PlatformName: cfg.PlatformName,
		},
		Validation: &activities.Validation{Buyers: &activities.VisibilityBuyerHistory{
			Client:         cfg.Client,
			WorkflowType:   workflows.OrderWorkflowType,
			ExcludedStates: workflows.QuotaFreeStates(),
		}},
		FX:       &activities.FX{Rates: cfg.Providers.FX},
		Identity: &activities.Identity{Key: cfg.BuyerHashKey},
	}
	if cfg.Ledger != nil {
		deps.Ledger = &activities.Ledger{L: cfg.Ledger}
		deps.Settlement = &activities.Settlement{Ledger: cfg.Ledger, Rates: cfg.Providers.FX,
			Payouts: cfg.Providers.Card, Config: cfg.Settlement}
		deps.Reconciliation = &activities.Reconciliation{Ledger: cfg.Ledger, Bills: cfg.Providers.Bills()}
	}
	return deps, nil
}

// NewWorker returns a worker with every workflow and activity registered; the
// caller runs it (Start/Stop or Run).
func NewWorker(cfg WorkerConfig) (worker.Worker, error) {
	if cfg.Client == nil {
		return nil, errors.New("app: WorkerConfig.Client is required")
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = DefaultTaskQueue
	}
	deps, err := cfg.Deps()
	if err != nil {
		return nil, err
	}
	w := worker.New(cfg.Client, cfg.TaskQueue, cfg.Options)
	if err := workflows.Register(w, deps); err != nil {
		return nil, fmt.Errorf("app: register: %w", err)
	}
	return w, nil
}
