-- Settlement batch membership: an order is in at most one batch per kind
-- (settled, clawback).
CREATE TABLE settlement_members (
    order_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, kind)
);
CREATE INDEX settlement_members_batch_idx ON settlement_members (batch_id);
