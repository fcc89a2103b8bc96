// Package ledger is the system of record for money: a double-entry journal of
// idempotent postings on PostgreSQL (production) or SQLite (the embedded
// default for the demo and tests), behind one API.
//
// # Sign convention
//
// An entry's amount is signed: a debit is positive, a credit negative. A
// posting balances when its entries sum to zero in every currency; an
// account's balance is the sum of its entries, so assets (buyer_receivable,
// settlement_in_transit, merchant_bank) carry positive balances and
// liabilities (escrow_held, merchant_payable, tax_payable, refunds) negative ones.
//
// # Order flows
//
// Postings carry the order they belong to. The canonical flows of an order
// paid with Alipay for 109.10 CNY (100.00 goods, 9.10 composite tax):
//
//	captured   Dr buyer_receivable:alipay  109.10   Cr escrow_held              109.10
//	released   Dr escrow_held              109.10   Cr merchant_payable:acme    100.00
//	                                                Cr tax_payable                9.10
//	refunded   Dr escrow_held               30.00   Cr buyer_receivable:alipay   30.00   (before release)
//	clawback   Dr merchant_payable:acme     30.00   Cr escrow_held               30.00   (after release,
//	refunded   Dr escrow_held               30.00   Cr buyer_receivable:alipay   30.00    then the refund)
//
// CheckInvariants verifies per order and currency that captured = released +
// refunded + held, as OrderFlow defines them. A provider-side hold moves the
// money within escrow (escrow_held to escrow_held:<provider>, kind held);
// settlement postings move merchant_payable and buyer_receivable in CNY and
// the home-currency side through settlement_in_transit, provider_fees,
// fx_clearing and fx_gain_loss, never escrow, so the flows are unaffected.
//
// # Order records and documents
//
// Beside the journal the ledger keeps, per order, the reference data that
// settlement and the SAFE report need (OrderRecord: provider transaction id,
// pseudonymous payer reference, goods category, home currency and locked FX
// quote; recorded once, idempotently, with RecordOrder), and finance
// documents (Document: a JSON body under a kind and an id, e.g. a settlement
// batch with its lines, or a day's reconciliation report), which unlike the
// journal are updated as the work they describe progresses.
//
// # Storage
//
// PostgreSQL stores amounts as numeric(28,8) and sums them in SQL. SQLite
// stores them as INTEGER minor units of the entry's currency (fen for CNY) in
// STRICT tables and sums them in SQL too: integer sums are exact, and SQLite
// fails a query rather than overflow. Entries must be whole minor units. No
// floating point is used anywhere. Effective times are kept in UTC to the
// microsecond. The journal tables are append-only (triggers refuse UPDATE and
// DELETE). The schema is versioned by numbered SQL files per backend, applied
// on Open and recorded in schema_migrations.
//
// # Idempotency and concurrency
//
// A posting's key is unique. Post inserts the posting with ON CONFLICT DO
// NOTHING and its entries in the same transaction; when the key is taken it
// reads the recorded posting and compares content, so concurrent posters of
// one key record it exactly once and all but one get created=false.
package ledger
