// Package devstack runs the whole of xhspay in one process: the embedded
// Temporal server and its Web UI (or an existing server), the provider
// sandboxes, a worker and the store API with two demo merchants. The demo
// (xhspay dev), the end-to-end tests and the benchmark share it, together
// with the scripted demo scenarios (Scenarios, RunScenarios), so that what the
// demo shows is what the tests check.
//
// It wires the sandboxes in and generates demo secrets: it is demo, test and
// benchmark wiring, never part of a production process.
package devstack
