// Package workflows holds the durable orchestration of a CBEC order:
// OrderWorkflow (one per order, id OrderWorkflowID) and RefundWorkflow (one
// per refund, a child of the order, id RefundWorkflowID), and of its money
// afterwards: SettlementWorkflow (one per merchant and settlement day, id
// activities.SettlementWorkflowID, started for every merchant with a payable
// by SettlementRunWorkflow, the settlement Schedule's action) and
// ReconciliationWorkflow (one per day, the reconciliation Schedule's action).
// The order books each money step in the ledger as it happens (captured,
// held, released, refunded, clawed back). Activities live in package
// activities; Register wires all of them into a worker.
//
// # Talking to an order
//
// The API creates an order with Update-with-Start (OrderStartOptions) of
// UpdateAwaitCheckout, which answers once the buyer can pay (QR code or pay
// URL) or the order was rejected. Everything else an order accepts is an
// update whose validator rejects bad requests before anything is written to
// history (Cancel, RequestRefund, Shipped, ConfirmReceipt,
// ExtendConfirmation, Redeclare, RetryStep, ForceRelease), a signal carrying
// a verified notification (PaymentNotified, CustomsResult, RefundNotified,
// ReturnDecision), or the state query (OrderView). Rejections are
// temporal.ApplicationErrors whose type is the rule (Rule* constants, or a
// cbec rule name) with a Rejection in their details.
//
// Every provider or customs callback is routed to the order workflow: the
// notify URL carries the order id in its path and customs knows the order id
// as its order number. The order forwards refund and return notifications to
// the refund they belong to. The return shipment is the one exception: the
// API sends UpdateReturnShipped to RefundWorkflowID directly.
//
// # Failures
//
// Retryable provider failures are retried by Temporal with the activity
// options in options.go. A step that fails for good does not fail the
// workflow: the order moves to NeedsAttention with LastError and waits for
// RetryStep (after the data or configuration was fixed) or Cancel. Money is
// never left captured without an outcome: a payment of the wrong amount, a
// customs rejection and a cancellation all end in refunds (compensation),
// and an order only ends Cancelled, Refunded, CustomsRejected or
// PaymentMismatch once everything paid was refunded. A Temporal cancellation
// request acts as a Cancel while one is allowed and is ignored after
// shipment.
//
// # Determinism and versioning
//
// Workflow code uses only workflow.Now, workflow timers, workflow.Go and
// workflow.Await; no time.Now, randomness, I/O, or map iteration that feeds
// commands or output. The CBEC rules run in an activity, so changing rates or
// rules in package cbec never changes the replay of a running order.
//
// Orders live long: 15 minutes to pay, days in customs, 10 to 20 days to
// confirm, then the 30-day return window and up to 45 days more for a
// return. Any change to these workflows that alters the commands an open
// order issues (which activities, timers, child workflows or search attribute
// upserts, their order or their number) must be guarded with
//
//	v := workflow.GetVersion(ctx, "short-change-id", workflow.DefaultVersion, 1)
//
// keeping the old branch until no open order can still reach it. Before
// changing the code, rename the recorded histories in testdata (e.g.
// happy_path.json to happy_path.v1.json), record new ones with
//
//	go test ./workflows -run TestOnServer -record
//
// and keep both: TestReplayHistories replays every file in testdata.
//
// # History size
//
// An order's history stays small: about 100 events for a plain order, 120
// with a return. The waits are durable timers with short polling activities,
// bounded by their deadlines: waiting for payment costs about 11 events per
// poll (30 polls in 15 minutes at most), waiting for customs about 14 per
// hourly poll (72 at most before the order needs attention), and the escrow
// and return windows are single timers. Each refund adds about 10 events to
// the order; MaxRefunds bounds them. A refund's own history is 25 to 40
// events; a provider refund still processing is polled with backoff up to
// once an hour, about 250 events a day. The worst case stays far below
// Temporal's limits, so neither workflow uses continue-as-new.
package workflows
