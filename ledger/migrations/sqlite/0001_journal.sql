-- The journal: postings (one per idempotency key) and their entries.
-- Amounts are INTEGER minor units of the entry's currency (fen for CNY),
-- signed: debit positive, credit negative. Times are UTC text in the fixed
-- form 2006-01-02T15:04:05.000000Z, which sorts as time.
CREATE TABLE postings (
    id           INTEGER PRIMARY KEY,
    posting_key  TEXT NOT NULL UNIQUE,
    order_id     TEXT NOT NULL DEFAULT '',
    merchant_id  TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    effective_at TEXT NOT NULL,
    memo         TEXT NOT NULL DEFAULT '',
    recorded_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX postings_order_idx ON postings (order_id);
CREATE INDEX postings_merchant_idx ON postings (merchant_id, effective_at);
CREATE INDEX postings_effective_idx ON postings (effective_at);

CREATE TABLE entries (
    posting_id   INTEGER NOT NULL REFERENCES postings (id),
    seq          INTEGER NOT NULL,
    account      TEXT NOT NULL,
    account_type TEXT NOT NULL,
    currency     TEXT NOT NULL CHECK (length(currency) = 3),
    amount       INTEGER NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (posting_id, seq)
) STRICT;
CREATE INDEX entries_account_idx ON entries (account, currency);
CREATE INDEX entries_type_idx ON entries (account_type, currency);

-- The journal is append-only.
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'ledger: postings is append-only (UPDATE refused)'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'ledger: postings is append-only (DELETE refused)'); END;
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger: entries is append-only (UPDATE refused)'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger: entries is append-only (DELETE refused)'); END;
