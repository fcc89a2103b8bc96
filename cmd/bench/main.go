// Command bench measures what the order workflow costs on top of Temporal
// itself. In one process it starts the whole stack (embedded Temporal server
// in memory, sandboxes, worker, API), then runs N orders through the happy
// path — created through the API, paid by the sandbox's scripted buyer,
// notified, cleared by customs, shipped, confirmed, Completed — and N no-op
// workflows with the same number of activities, signals, timers and updates
// as an order (counted from real orders' histories). It prints the
// throughput of both and their ratio, the create-order latency through the
// API, the history events per workflow and the process's memory.
//
//	go run ./cmd/bench -n 500 -concurrency 32
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	xclient "github.com/xhspay/xhspay/client"
	"github.com/xhspay/xhspay/internal/devstack"
	"github.com/xhspay/xhspay/internal/searchattr"
	"github.com/xhspay/xhspay/providers"
	"github.com/xhspay/xhspay/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// config holds the flags.
type config struct {
	n           int
	concurrency int
	verbose     bool
}

func run(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg config
	fs.IntVar(&cfg.n, "n", 500, "orders, and no-op workflows, to run")
	fs.IntVar(&cfg.concurrency, "concurrency", 32, "orders (and no-op workflows) in flight at once")
	fs.BoolVar(&cfg.verbose, "v", false, "log the stack's warnings to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.n < 1 || cfg.concurrency < 1 {
		return errors.New("-n and -concurrency must be at least 1")
	}
	logger := slog.New(slog.DiscardHandler)
	if cfg.verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	// Libraries that log through the default logger (the ledger) follow -v too.
	slog.SetDefault(logger)

	// The waits that are latency, not work, are short or instant; fallback
	// polls are rare so that the orders do what the counted plan says.
	timings := devstack.FastTimings()
	timings.PaymentExpiry = 10 * time.Minute
	timings.ClearanceDelay = -1
	timings.Polling.Payment = 30 * time.Second
	timings.Polling.Clearance = 30 * time.Second
	workerOpts := worker.Options{MaxConcurrentWorkflowTaskPollers: 4, MaxConcurrentActivityTaskPollers: 4, WorkerStopTimeout: 5 * time.Second}
	began := time.Now()
	stack, err := devstack.Start(ctx, devstack.Config{InMemory: true, UIPort: -1, Logger: logger, Timings: &timings, WorkerOptions: workerOpts})
	if err != nil {
		return err
	}
	defer func() { _ = stack.Close() }()
	fmt.Fprintf(out, "xhspay bench: n=%d concurrency=%d GOMAXPROCS=%d; stack up in %s\n",
		cfg.n, cfg.concurrency, runtime.GOMAXPROCS(0), time.Since(began).Round(100*time.Millisecond))

	b := &bench{stack: stack, runID: devstack.NewRunID(), out: out}
	noopQueue := "bench-noop-" + b.runID
	w := worker.New(stack.Temporal, noopQueue, workerOpts)
	w.RegisterWorkflow(NoopWorkflow)
	w.RegisterActivity(NoopActivity)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start the no-op worker: %w", err)
	}
	defer w.Stop()
	b.noopQueue = noopQueue

	// Warm up with one order per wallet and count their shape.
	warm := make([]string, 0, 2)
	for i := range 2 {
		id, _, err := b.order(ctx, i)
		if err != nil {
			return fmt.Errorf("warm-up order: %w", err)
		}
		warm = append(warm, id)
	}
	var shape shapeCount
	for _, id := range warm {
		c, err := countHistory(ctx, stack.Temporal, id)
		if err != nil {
			return err
		}
		shape = shape.add(c)
	}
	plan := shape.mean(len(warm))
	fmt.Fprintf(out, "happy path (mean of %d warm-up orders): %d activities, %d signals, %d timers, %d updates, %.0f history events\n",
		len(warm), plan.Activities, plan.Signals, plan.Timers, plan.Updates, float64(shape.Events)/float64(len(warm)))

	orders, err := b.phase(ctx, "orders", cfg, func(ctx context.Context, i int) (string, time.Duration, error) {
		return b.order(ctx, len(warm)+i)
	})
	if err != nil {
		return err
	}
	noops, err := b.phase(ctx, "no-op", cfg, func(ctx context.Context, i int) (string, time.Duration, error) {
		return b.noop(ctx, i, plan)
	})
	if err != nil {
		return err
	}

	orderEvents, err := meanEvents(ctx, stack.Temporal, orders.ids, cfg.concurrency)
	if err != nil {
		return err
	}
	noopEvents, err := meanEvents(ctx, stack.Temporal, noops.ids, cfg.concurrency)
	if err != nil {
		return err
	}
	rss, hwm := memory()
	fmt.Fprintf(out, "orders:  %d in %s = %.2f orders/s; create through the API p50 %s, p99 %s; %.1f history events/order\n",
		len(orders.ids), orders.elapsed.Round(100*time.Millisecond), orders.rate(), percentile(orders.latencies, 50), percentile(orders.latencies, 99), orderEvents)
	fmt.Fprintf(out, "no-op:   %d in %s = %.2f workflows/s; %.1f history events/workflow\n",
		len(noops.ids), noops.elapsed.Round(100*time.Millisecond), noops.rate(), noopEvents)
	fmt.Fprintf(out, "ratio:   orders/s / no-op workflows/s = %.2f\n", orders.rate()/noops.rate())
	fmt.Fprintf(out, "memory:  RSS %s, peak RSS %s\n", rss, hwm)
	return nil
}

// bench holds what the phases share.
type bench struct {
	stack     *devstack.Stack
	runID     string
	noopQueue string
	out       io.Writer
}

// phaseResult is what one phase measured.
type phaseResult struct {
	ids       []string
	latencies []time.Duration
	elapsed   time.Duration
}

// rate is the phase's throughput per second.
func (p phaseResult) rate() float64 { return float64(len(p.ids)) / p.elapsed.Seconds() }

// phase runs cfg.n units of work, cfg.concurrency at a time, and fails on the first error.
func (b *bench) phase(ctx context.Context, name string, cfg config, unit func(context.Context, int) (string, time.Duration, error)) (phaseResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res := phaseResult{ids: make([]string, cfg.n), latencies: make([]time.Duration, cfg.n)}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				fmt.Fprintf(os.Stderr, "  %s: %d/%d after %s\n", name, done.Load(), cfg.n, time.Since(began).Round(time.Second))
			}
		}
	}()
	for range min(cfg.concurrency, cfg.n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.n || ctx.Err() != nil {
					return
				}
				id, lat, err := unit(ctx, i)
				if err != nil {
					cancel(fmt.Errorf("%s %d: %w", name, i, err))
					return
				}
				res.ids[i], res.latencies[i] = id, lat
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(stopProgress)
	res.elapsed = time.Since(began)
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// benchItems are what the bench's buyers order, by merchant.
var benchItems = map[string]xclient.Item{
	devstack.MerchantAcme: {SKU: "ACME-JKT-01", Name: "Storm shell jacket", Category: "apparel", Quantity: 1, UnitPrice: xclient.CNY("899.00")},
	devstack.MerchantLumiere: {SKU: "LUM-SRM-01", Name: "Vitamin C serum 30ml", Category: "skincare", RegistrationNo: "J20231234",
		Quantity: 1, UnitPrice: xclient.CNY("329.00")},
}

// order runs order i through the happy path and returns its id and how long
// the API took to create it. Even orders are paid with Alipay for acme, odd
// ones with WeChat Pay for lumiere.
func (b *bench) order(ctx context.Context, i int) (string, time.Duration, error) {
	merchant, provider := devstack.MerchantAcme, xclient.Alipay
	if i%2 == 1 {
		merchant, provider = devstack.MerchantLumiere, xclient.WeChatPay
	}
	c := b.stack.Client(merchant)
	req := xclient.CreateOrderRequest{
		MerchantOrderNo: fmt.Sprintf("bench-%s-%d", b.runID, i), Provider: provider,
		Buyer: devstack.NewBuyer(), Items: []xclient.Item{benchItems[merchant]},
	}
	began := time.Now()
	co, err := c.CreateOrder(ctx, req)
	latency := time.Since(began)
	if err != nil {
		return "", 0, err
	}
	if co.State != xclient.StateAwaitingPayment {
		return co.OrderID, latency, fmt.Errorf("order %s is %s after creation", co.OrderID, co.State)
	}
	o, err := c.GetOrder(ctx, co.OrderID)
	if err != nil {
		return co.OrderID, latency, err
	}
	if err := b.stack.Sandbox.Pay(ctx, providers.Name(provider), o.OutTradeNo, "", 0); err != nil {
		return co.OrderID, latency, fmt.Errorf("pay %s: %w", co.OrderID, err)
	}
	if err := b.awaitState(ctx, co.OrderID, workflows.StateAwaitingShipment); err != nil {
		return co.OrderID, latency, err
	}
	if _, err := c.Ship(ctx, co.OrderID, xclient.ShipmentRequest{Carrier: "SF Express", TrackingNo: fmt.Sprintf("SF%s%06d", b.runID, i)}); err != nil {
		return co.OrderID, latency, fmt.Errorf("ship %s: %w", co.OrderID, err)
	}
	if _, err := c.ConfirmReceipt(ctx, co.OrderID, xclient.ConfirmRequest{By: "bench"}); err != nil {
		return co.OrderID, latency, fmt.Errorf("confirm %s: %w", co.OrderID, err)
	}
	return co.OrderID, latency, b.awaitState(ctx, co.OrderID, workflows.StateCompleted)
}

// awaitState waits for an order's OrderState search attribute, read with
// DescribeWorkflowExecution: the bench's own polling then costs the server a
// read and the worker nothing, unlike the API's state query.
func (b *bench) awaitState(ctx context.Context, id string, want workflows.OrderState) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dc := converter.GetDefaultDataConverter()
	var state string
	for {
		resp, err := b.stack.Temporal.DescribeWorkflowExecution(ctx, id, "")
		if err == nil {
			if p, ok := resp.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[searchattr.OrderState.GetName()]; ok {
				_ = dc.FromPayload(p, &state)
			}
			switch state {
			case string(want):
				return nil
			case string(workflows.StateNeedsAttention), string(workflows.StateExpired), string(workflows.StateRejected), string(workflows.StateCustomsRejected):
				return fmt.Errorf("order %s went %s waiting for %s", id, state, want)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("order %s still %q waiting for %s: %w", id, state, want, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// noop runs no-op workflow i the way the API and the notifications drive an
// order: Update-with-Start, then the signals and the other updates; it
// returns its id and how long the Update-with-Start took.
func (b *bench) noop(ctx context.Context, i int, plan Plan) (string, time.Duration, error) {
	c := b.stack.Temporal
	id := fmt.Sprintf("noop-%s-%d", b.runID, i)
	start := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: id, TaskQueue: b.noopQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, NoopWorkflow, plan)
	began := time.Now()
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: noopUpdate, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	latency := time.Since(began)
	if err != nil {
		return id, latency, fmt.Errorf("start %s: %w", id, err)
	}
	for range plan.Signals {
		if err := c.SignalWorkflow(ctx, id, "", noopSignal, nil); err != nil {
			return id, latency, fmt.Errorf("signal %s: %w", id, err)
		}
	}
	for range max(plan.Updates-1, 0) {
		uh, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: noopUpdate, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = uh.Get(ctx, nil)
		}
		if err != nil {
			return id, latency, fmt.Errorf("update %s: %w", id, err)
		}
	}
	return id, latency, c.GetWorkflow(ctx, id, "").Get(ctx, nil)
}

// shapeCount counts the events of a history that make up a Plan.
type shapeCount struct {
	Plan
	// Events is the number of events.
	Events int
}

func (s shapeCount) add(o shapeCount) shapeCount {
	return shapeCount{Plan: Plan{Activities: s.Activities + o.Activities, Signals: s.Signals + o.Signals,
		Timers: s.Timers + o.Timers, Updates: s.Updates + o.Updates}, Events: s.Events + o.Events}
}

// mean is the plan of n summed counts, rounded.
func (s shapeCount) mean(n int) Plan {
	r := func(v int) int { return int(math.Round(float64(v) / float64(n))) }
	return Plan{Activities: r(s.Activities), Signals: r(s.Signals), Timers: r(s.Timers), Updates: r(s.Updates)}
}

// countEvent adds one history event to the count.
func (s *shapeCount) countEvent(ev *historypb.HistoryEvent) {
	s.Events++
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		s.Activities++
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
		s.Signals++
	case enumspb.EVENT_TYPE_TIMER_STARTED:
		s.Timers++
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
		s.Updates++
	}
}

// countHistory counts a workflow's history.
func countHistory(ctx context.Context, c client.Client, id string) (shapeCount, error) {
	var s shapeCount
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return s, fmt.Errorf("history of %s: %w", id, err)
		}
		s.countEvent(ev)
	}
	return s, nil
}

// meanEvents is the mean history length of the workflows.
func meanEvents(ctx context.Context, c client.Client, ids []string, concurrency int) (float64, error) {
	var total atomic.Int64
	errs := make(chan error, len(ids))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s, err := countHistory(ctx, c, id)
			if err != nil {
				errs <- err
				return
			}
			total.Add(int64(s.Events))
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(total.Load()) / float64(len(ids)), nil
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1].Round(time.Millisecond)
}
