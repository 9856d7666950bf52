-- The Echelon dialect (SQLite): merchants, payins and payouts, the throttle's windows.

-- A merchant is a partner's Echelon identity. The secret itself is never stored: see
-- kosh_core::echelon::merchant for the verifier and the token key derived from it.
CREATE TABLE echelon_merchants (
    id              INTEGER PRIMARY KEY,
    partner_id      INTEGER NOT NULL REFERENCES partners(id),
    merchant_code   TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    secret_salt     TEXT NOT NULL,
    secret_verifier TEXT NOT NULL,
    token_key       TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    is_sandbox      INTEGER NOT NULL DEFAULT 0,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX echelon_merchants_partner ON echelon_merchants (partner_id);

-- Payins and payouts. The merchant order id is the idempotency key: unique per
-- merchant and direction, claimed by the insert that creates the payment.
CREATE TABLE echelon_payments (
    id                  INTEGER PRIMARY KEY,
    merchant_id         INTEGER NOT NULL REFERENCES echelon_merchants(id),
    direction           TEXT NOT NULL,
    order_id            TEXT NOT NULL,
    id_payment          TEXT NOT NULL UNIQUE,
    partner_id          INTEGER NOT NULL,
    amount_paise        INTEGER NOT NULL,
    fee_paise           INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    segment_code        TEXT,
    exchanged_to        TEXT,
    method_code         TEXT NOT NULL,
    rail                TEXT NOT NULL,
    operator_code       TEXT,
    method_json         TEXT NOT NULL,
    callback_url        TEXT,
    return_url          TEXT,
    customer_ip         TEXT,
    scenario            TEXT NOT NULL,
    status              TEXT NOT NULL,
    failure_code        TEXT,
    failure_message     TEXT,
    failed_at_ms        INTEGER,
    processed_at_ms     INTEGER,
    external_reference  TEXT,
    utr                 TEXT,
    entry_id            INTEGER,
    is_test             INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    expire_at_ms        INTEGER,
    -- When the worker looks at the payment again; NULL once it is final.
    check_at_ms         INTEGER,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (merchant_id, direction, order_id)
);
CREATE INDEX echelon_payments_due ON echelon_payments (check_at_ms) WHERE check_at_ms IS NOT NULL;

-- Requests per merchant per second, shared by every node on the database.
CREATE TABLE echelon_throttle (
    merchant_id INTEGER NOT NULL,
    window_s    INTEGER NOT NULL,
    hits        INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, window_s)
);

-- GET /balances reports the partner's last ledger movement.
CREATE INDEX ledger_entries_partner_resolved ON ledger_entries (partner_id, resolved_at_ms);
