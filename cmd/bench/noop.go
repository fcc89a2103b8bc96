package main

import (
	"context"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Names of the no-op workflow's handlers.
const (
	noopUpdate = "Step"
	noopSignal = "Event"
)

// Plan is the shape of an order's happy path, counted from a real order's
// history, that a no-op workflow reproduces without doing anything.
type Plan struct {
	// Activities is the number of activities scheduled.
	Activities int `json:"activities"`
	// Signals is the number of signals received.
	Signals int `json:"signals"`
	// Timers is the number of timers started.
	Timers int `json:"timers"`
	// Updates is the number of updates accepted (the first comes with the start).
	Updates int `json:"updates"`
}

// NoopActivity does nothing.
func NoopActivity(context.Context) error { return nil }

// NoopWorkflow has the shape of an order without its work: it starts
// plan.Timers timers (cancelled at the end, as an order's waits mostly are),
// runs plan.Activities no-op activities one after the other, and ends once
// it has received plan.Signals signals and plan.Updates updates.
func NoopWorkflow(ctx workflow.Context, plan Plan) (int, error) {
	signals, updates := 0, 0
	if err := workflow.SetUpdateHandler(ctx, noopUpdate, func(workflow.Context) (int, error) {
		updates++
		return updates, nil
	}); err != nil {
		return 0, err
	}
	ch := workflow.GetSignalChannel(ctx, noopSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			ch.Receive(ctx, nil)
			signals++
		}
	})

	timerCtx, cancelTimers := workflow.WithCancel(ctx)
	for range plan.Timers {
		_ = workflow.NewTimer(timerCtx, time.Hour) // cancelled below
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for range plan.Activities {
		if err := workflow.ExecuteActivity(actx, NoopActivity).Get(ctx, nil); err != nil {
			return 0, err
		}
	}
	if err := workflow.Await(ctx, func() bool { return signals >= plan.Signals && updates >= plan.Updates }); err != nil {
		return 0, err
	}
	cancelTimers()
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return 0, err
	}
	return signals + updates, nil
}
