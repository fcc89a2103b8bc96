-- Reference data of each order that settlement and the finance reports need,
-- recorded once when the payment is captured. No personal data: the payer is
-- a pseudonymous reference (the buyer's keyed hash). Times are UTC text as in
-- postings; quote_rate is a decimal string ('' when the order has no quote).
CREATE TABLE order_records (
    order_id          TEXT PRIMARY KEY,
    merchant_id       TEXT NOT NULL,
    merchant_order_no TEXT NOT NULL DEFAULT '',
    provider          TEXT NOT NULL,
    transaction_id    TEXT NOT NULL DEFAULT '',
    payer_ref         TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL DEFAULT '',
    home_currency     TEXT NOT NULL CHECK (length(home_currency) = 3),
    quote_rate        TEXT NOT NULL DEFAULT '',
    quote_at          TEXT NOT NULL DEFAULT '',
    quote_source      TEXT NOT NULL DEFAULT '',
    captured_at       TEXT NOT NULL,
    recorded_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX order_records_transaction_idx ON order_records (provider, transaction_id);
CREATE INDEX order_records_merchant_idx ON order_records (merchant_id, captured_at);

-- Finance documents (settlement batches, reconciliation reports): a JSON body
-- under a kind and an id, with the columns lists filter on. Unlike the
-- journal they are updated as the work they describe progresses.
CREATE TABLE documents (
    kind        TEXT NOT NULL,
    document_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL DEFAULT '',
    day         TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (kind, document_id)
) STRICT;
CREATE INDEX documents_merchant_idx ON documents (kind, merchant_id, day);
