// Package settlementtest holds the integration tests of the finance side:
// the order workflows booking in a ledger, the settlement of merchants in
// their home currencies with a crash of the worker mid-batch, the Temporal
// Schedules, and the reconciliation of the Alipay and WeChat Pay sandboxes'
// bills, on an embedded Temporal server. It has no code besides its tests.
package settlementtest
