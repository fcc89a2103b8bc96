package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/xhspay/xhspay/activities"
	"github.com/xhspay/xhspay/ledger"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/workflows"
)

// DefaultLedgerDSN is the ledger of a worker or API given none: a SQLite file
// in .xhspay/ under the working directory (created when missing). Production
// sets XHSPAY_LEDGER_DSN to its PostgreSQL.
const DefaultLedgerDSN = "sqlite:.xhspay/ledger.db"

// The finance schedules' ids and the workflow ids their runs start with.
const (
	// SettlementScheduleID starts a SettlementRunWorkflow (id prefix "settlement-run").
	SettlementScheduleID = "xhspay-settlement"
	// ReconciliationScheduleID starts a ReconciliationWorkflow (id prefix "reconcile-run").
	ReconciliationScheduleID = "xhspay-reconciliation"
)

// FinanceSettings are the worker's finance settings.
type FinanceSettings struct {
	// LedgerDSN is the ledger (XHSPAY_LEDGER_DSN; "none" runs without one).
	LedgerDSN string
	// SettlementEvery is the settlement schedule's interval (XHSPAY_SETTLEMENT_EVERY; 0 disables it).
	SettlementEvery time.Duration
	// SettlementOffset places the runs within the interval (XHSPAY_SETTLEMENT_OFFSET;
	// intervals count from midnight UTC: 18h is 02:00 China time).
	SettlementOffset time.Duration
	// ReconcileEvery is the reconciliation schedule's interval (XHSPAY_RECONCILE_EVERY; 0 disables it).
	ReconcileEvery time.Duration
	// ReconcileOffset places the reconciliation runs (XHSPAY_RECONCILE_OFFSET; 19h is 03:00 China time).
	ReconcileOffset time.Duration
	// Delays are the T+N days per provider, "alipay=1,wechatpay=1,card=2" (XHSPAY_SETTLEMENT_DELAYS).
	Delays string
	// Fees are the provider fee rates, "alipay=0.006,wechatpay=0.006,card=0.029" (XHSPAY_SETTLEMENT_FEES).
	Fees string
	// TradeType is the SAFE report's trade type, 1210 or 9610 (XHSPAY_SAFE_TRADE_TYPE).
	TradeType string
}

// envDuration reads a duration from the environment, def when unset or malformed.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(Env(name, "")); err == nil {
		return d
	}
	return def
}

// RegisterFlags binds the settings to flags on fs, with defaults from the environment.
func (s *FinanceSettings) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.LedgerDSN, "ledger-dsn", Env("XHSPAY_LEDGER_DSN", DefaultLedgerDSN),
		`ledger database: sqlite:PATH or postgres://...; "none" for no bookkeeping (env XHSPAY_LEDGER_DSN)`)
	fs.DurationVar(&s.SettlementEvery, "settlement-every", envDuration("XHSPAY_SETTLEMENT_EVERY", 24*time.Hour),
		"settlement schedule interval, 0 for none (env XHSPAY_SETTLEMENT_EVERY)")
	fs.DurationVar(&s.SettlementOffset, "settlement-offset", envDuration("XHSPAY_SETTLEMENT_OFFSET", 18*time.Hour),
		"settlement schedule offset from midnight UTC (env XHSPAY_SETTLEMENT_OFFSET)")
	fs.DurationVar(&s.ReconcileEvery, "reconcile-every", envDuration("XHSPAY_RECONCILE_EVERY", 24*time.Hour),
		"reconciliation schedule interval, 0 for none (env XHSPAY_RECONCILE_EVERY)")
	fs.DurationVar(&s.ReconcileOffset, "reconcile-offset", envDuration("XHSPAY_RECONCILE_OFFSET", 19*time.Hour),
		"reconciliation schedule offset from midnight UTC (env XHSPAY_RECONCILE_OFFSET)")
	fs.StringVar(&s.Delays, "settlement-delays", Env("XHSPAY_SETTLEMENT_DELAYS", ""),
		"T+N days per provider, e.g. alipay=1,wechatpay=1,card=2 (env XHSPAY_SETTLEMENT_DELAYS)")
	fs.StringVar(&s.Fees, "settlement-fees", Env("XHSPAY_SETTLEMENT_FEES", ""),
		"provider fee rates, e.g. alipay=0.006,wechatpay=0.006,card=0.029 (env XHSPAY_SETTLEMENT_FEES)")
	fs.StringVar(&s.TradeType, "safe-trade-type", Env("XHSPAY_SAFE_TRADE_TYPE", activities.DefaultTradeType),
		"SAFE report trade type: 1210 (bonded import) or 9610 (direct mail) (env XHSPAY_SAFE_TRADE_TYPE)")
}

// SettlementConfig parses the delays, fees and trade type.
func (s FinanceSettings) SettlementConfig() (activities.SettlementConfig, error) {
	cfg := activities.SettlementConfig{Delays: map[providers.Name]int{}, FeeRates: map[providers.Name]decimal.Decimal{}, TradeType: s.TradeType}
	if cfg.TradeType != "" && cfg.TradeType != "1210" && cfg.TradeType != "9610" {
		return cfg, fmt.Errorf("-safe-trade-type: must be 1210 or 9610, got %q", cfg.TradeType)
	}
	err := eachPair("-settlement-delays", s.Delays, func(p providers.Name, v string) error {
		n, err := strconv.Atoi(v)
		cfg.Delays[p] = n
		return err
	})
	if err != nil {
		return cfg, err
	}
	err = eachPair("-settlement-fees", s.Fees, func(p providers.Name, v string) error {
		r, err := decimal.NewFromString(v)
		cfg.FeeRates[p] = r
		return err
	})
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// eachPair parses "provider=value,..." calling fn for each pair.
func eachPair(flagName, s string, fn func(providers.Name, string) error) error {
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		p := providers.Name(strings.TrimSpace(k))
		if !ok || !p.Valid() {
			return fmt.Errorf("%s: %q: want provider=value with provider alipay, wechatpay or card", flagName, item)
		}
		if err := fn(p, strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("%s: %q: %w", flagName, item, err)
		}
	}
	return nil
}

// OpenLedger opens the ledger named by dsn, creating a SQLite file's folder
// when missing; "none" or "" returns nil.
func OpenLedger(ctx context.Context, dsn string) (*ledger.Ledger, error) {
	if dsn == "" || dsn == "none" {
		return nil, nil
	}
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok && path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("ledger folder: %w", err)
		}
	}
	return ledger.Open(ctx, dsn)
}

// FinanceSchedules are the schedules of the settlement and reconciliation runs.
type FinanceSchedules struct {
	// TaskQueue is where the runs' workflows go (DefaultTaskQueue when empty).
	TaskQueue string
	// SettlementEvery is the settlement interval (0: no settlement schedule).
	SettlementEvery time.Duration
	// SettlementOffset places the settlement runs within the interval.
	SettlementOffset time.Duration
	// ReconcileEvery is the reconciliation interval (0: no reconciliation schedule).
	ReconcileEvery time.Duration
	// ReconcileOffset places the reconciliation runs within the interval.
	ReconcileOffset time.Duration
}

// EnsureSchedules creates the settlement and reconciliation schedules, or
// brings existing ones up to date with s (interval, offset, task queue), so
// that every worker start may call it. A disabled one (interval 0) is left
// as it is if it exists. Missed runs are caught up within a day; a run never
// overlaps the previous one.
func EnsureSchedules(ctx context.Context, c client.Client, s FinanceSchedules, logger *slog.Logger) error {
	if s.TaskQueue == "" {
		s.TaskQueue = DefaultTaskQueue
	}
	if logger == nil {
		logger = slog.Default()
	}
	type sched struct {
		id, prefix, workflow string
		every, offset        time.Duration
		arg                  any
	}
	for _, sc := range []sched{
		{SettlementScheduleID, "settlement-run", workflows.SettlementRunWorkflowType, s.SettlementEvery, s.SettlementOffset, workflows.SettlementRunInput{}},
		{ReconciliationScheduleID, "reconcile-run", workflows.ReconciliationWorkflowType, s.ReconcileEvery, s.ReconcileOffset, workflows.ReconciliationInput{}},
	} {
		if sc.every <= 0 {
			continue
		}
		if sc.offset < 0 || sc.offset >= sc.every {
			return fmt.Errorf("schedule %s: offset %s must be within the interval %s", sc.id, sc.offset, sc.every)
		}
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: sc.every, Offset: sc.offset}}}
		action := &client.ScheduleWorkflowAction{ID: sc.prefix, Workflow: sc.workflow, TaskQueue: s.TaskQueue, Args: []any{sc.arg}}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: sc.id, Spec: spec, Action: action,
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: 24 * time.Hour,
			Note: "created by the xhspay worker",
		})
		switch {
		case err == nil:
			logger.InfoContext(ctx, "schedule created", "schedule", sc.id, "every", sc.every, "offset", sc.offset)
			continue
		case !errors.Is(err, temporal.ErrScheduleAlreadyRunning):
			return fmt.Errorf("create schedule %s: %w", sc.id, err)
		}
		h := c.ScheduleClient().GetHandle(ctx, sc.id)
		err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sch := in.Description.Schedule
			if sameSchedule(sch, spec, action) {
				return nil, temporal.ErrSkipScheduleUpdate // nothing to change
			}
			sch.Spec, sch.Action = &spec, action
			return &client.ScheduleUpdate{Schedule: &sch}, nil
		}})
		if err != nil {
			return fmt.Errorf("update schedule %s: %w", sc.id, err)
		}
		logger.InfoContext(ctx, "schedule ensured", "schedule", sc.id, "every", sc.every, "offset", sc.offset)
	}
	return nil
}

// sameSchedule reports whether a schedule already has the interval and action wanted.
func sameSchedule(sch client.Schedule, spec client.ScheduleSpec, action *client.ScheduleWorkflowAction) bool {
	cur, ok := sch.Action.(*client.ScheduleWorkflowAction)
	if !ok || sch.Spec == nil || cur.ID != action.ID || cur.TaskQueue != action.TaskQueue {
		return false
	}
	name, _ := cur.Workflow.(string)
	return name == action.Workflow.(string) && slices.Equal(sch.Spec.Intervals, spec.Intervals) &&
		len(sch.Spec.Calendars) == 0 && len(sch.Spec.CronExpressions) == 0
}
