-- The journal: postings (one per idempotency key) and their entries.
-- Amounts are exact decimals, signed: debit positive, credit negative.
CREATE TABLE postings (
    id           BIGSERIAL PRIMARY KEY,
    posting_key  TEXT NOT NULL,
    order_id     TEXT NOT NULL DEFAULT '',
    merchant_id  TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    effective_at TIMESTAMPTZ NOT NULL,
    memo         TEXT NOT NULL DEFAULT '',
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT postings_key_unique UNIQUE (posting_key)
);
CREATE INDEX postings_order_idx ON postings (order_id);
CREATE INDEX postings_merchant_idx ON postings (merchant_id, effective_at);
CREATE INDEX postings_effective_idx ON postings (effective_at);

CREATE TABLE entries (
    posting_id   BIGINT NOT NULL REFERENCES postings (id),
    seq          INTEGER NOT NULL,
    account      TEXT NOT NULL,
    account_type TEXT NOT NULL,
    currency     TEXT NOT NULL CHECK (length(currency) = 3),
    amount       NUMERIC(28, 8) NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (posting_id, seq)
);
CREATE INDEX entries_account_idx ON entries (account, currency);
CREATE INDEX entries_type_idx ON entries (account_type, currency);

-- The journal is append-only.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
