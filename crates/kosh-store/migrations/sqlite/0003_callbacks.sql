-- The callback engine and Token cash collection (SQLite).

-- Where a partner wants each kind of callback: tx_status, token_fetch, token_ack.
CREATE TABLE callback_endpoints (
    partner_id      INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    url             TEXT NOT NULL,
    basic_user      TEXT,
    -- Kept readable: Kosh must send it.
    basic_password  TEXT,
    -- A JSON array of [name, value] pairs, bounded in count and length.
    headers         TEXT NOT NULL DEFAULT '[]',
    updated_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (partner_id, kind)
);

-- Per-partner callback signing (off unless a secret is set).
CREATE TABLE callback_signing (
    partner_id      INTEGER PRIMARY KEY,
    secret          TEXT NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);

-- Delivery state of outbox events. While a worker holds an event, state is
-- 'delivering' and due_at_ms is its lease expiry: a crashed node's claim comes back
-- when the lease runs out. lease_token fences a late answer from a lost lease.
ALTER TABLE outbox ADD COLUMN lease_token TEXT;
ALTER TABLE outbox ADD COLUMN cycle_started_at_ms INTEGER;
ALTER TABLE outbox ADD COLUMN cycle_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_attempt_at_ms INTEGER;
ALTER TABLE outbox ADD COLUMN delivered_at_ms INTEGER;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
CREATE INDEX outbox_deliverable ON outbox (due_at_ms, id)
    WHERE state IN ('pending', 'delivering') AND kind IN ('eko.tx_status', 'echelon.callback', 'token.ack');
CREATE INDEX outbox_partner ON outbox (partner_id, id);

-- Every delivery attempt, as it happened.
CREATE TABLE callback_attempts (
    id                  INTEGER PRIMARY KEY,
    outbox_id           INTEGER NOT NULL REFERENCES outbox(id),
    partner_id          INTEGER NOT NULL,
    attempt_no          INTEGER NOT NULL,
    started_at_ms       INTEGER NOT NULL,
    url                 TEXT NOT NULL,
    request_body        TEXT NOT NULL,
    response_status     INTEGER,
    response_excerpt    TEXT,
    latency_ms          INTEGER NOT NULL,
    error               TEXT,
    succeeded           INTEGER NOT NULL
);
CREATE INDEX callback_attempts_event ON callback_attempts (outbox_id, id);
-- Retention: the worker deletes attempts older than callbacks_attempts_retention_days,
-- oldest first, in bounded batches.
CREATE INDEX callback_attempts_started ON callback_attempts (started_at_ms);

-- Token cash collection: a partner issues a token, a customer pays it in cash at any
-- agent. state: generated, paid, acknowledged ("expired" is read from expires_at_ms).
CREATE TABLE tokens (
    id                  INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    client_ref_id       TEXT NOT NULL,
    -- The number the customer takes to an agent: unique platform-wide.
    token               TEXT NOT NULL UNIQUE,
    product_code        TEXT NOT NULL DEFAULT '',
    customer_id         TEXT NOT NULL,
    customer_name       TEXT NOT NULL,
    email               TEXT NOT NULL DEFAULT '',
    amount              INTEGER NOT NULL,
    label               TEXT NOT NULL DEFAULT '',
    display_items       TEXT NOT NULL DEFAULT '[]',
    expires_at_ms       INTEGER NOT NULL,
    state               TEXT NOT NULL,
    tid                 TEXT,
    paid_amount         INTEGER,
    paid_customer_name  TEXT,
    paid_customer_mobile TEXT,
    paid_by_partner_id  INTEGER,
    paid_by_user_code   INTEGER,
    pay_client_ref_id   TEXT,
    entry_id            INTEGER,
    paid_at_ms          INTEGER,
    partner_tid         TEXT,
    acknowledged_at_ms  INTEGER,
    created_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
INSERT INTO counters (name, value) VALUES ('token_tid', 910000000000) ON CONFLICT (name) DO NOTHING;
