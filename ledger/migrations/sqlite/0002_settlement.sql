-- Settlement batch membership: an order is in at most one batch per kind
-- (settled, clawback).
CREATE TABLE settlement_members (
    order_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (order_id, kind)
) STRICT;
CREATE INDEX settlement_members_batch_idx ON settlement_members (batch_id);
