-- Payouts (Eko service 45 fund transfers, UPI payments): one row per order, recorded
-- with its pending ledger entry before the rail is asked. Amounts are integer paise;
-- times are ms since the epoch.

CREATE TABLE payout_orders (
    -- The platform's transaction id, from the payout_tid counter.
    tid                 INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    client_ref_id       TEXT NOT NULL,
    -- 0 when the partner paid for itself (no user_code sent).
    user_code           INTEGER NOT NULL,
    -- 45 payouts and UPI payments, 39 AePS fund settlements.
    service_code        INTEGER NOT NULL,
    -- The settlement account paid (service 39).
    recipient_id        INTEGER,
    -- neft, imps, rtgs or upi.
    mode                TEXT NOT NULL,
    amount              INTEGER NOT NULL,
    fee                 INTEGER NOT NULL,
    gst                 INTEGER NOT NULL,
    recipient_name      TEXT NOT NULL,
    -- Account number, or the VPA for UPI.
    account             TEXT NOT NULL,
    ifsc                TEXT NOT NULL,
    sender_name         TEXT NOT NULL,
    tag                 TEXT NOT NULL,
    account_type        INTEGER,
    -- The pending ledger entry that reserves the wallet debit; posted or voided later.
    entry_id            INTEGER NOT NULL,
    tx_status           INTEGER NOT NULL,
    -- 0 until the rail's first answer is applied.
    answered            INTEGER NOT NULL DEFAULT 0,
    bank_ref_num        TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    -- When the payout worker should next ask the rail; NULL when nothing is awaited.
    check_at_ms         INTEGER,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
CREATE INDEX payout_orders_due ON payout_orders (check_at_ms) WHERE check_at_ms IS NOT NULL;

-- Agents' bank accounts for AePS fund settlement, added with their bank statement.
CREATE TABLE payout_settlement_accounts (
    recipient_id        INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    user_code           INTEGER NOT NULL,
    bank_id             TEXT NOT NULL,
    account             TEXT NOT NULL,
    ifsc                TEXT NOT NULL,
    name                TEXT NOT NULL,
    -- The bank statement's file name and size, when one was uploaded (its bytes are not kept).
    document            TEXT NOT NULL DEFAULT '',
    created_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, user_code, account, ifsc)
);
-- What an agent settled in the last 7 days is summed per agent.
CREATE INDEX payout_orders_agent ON payout_orders (partner_id, user_code, created_at_ms);

INSERT INTO counters (name, value) VALUES ('payout_tid', 4000000000);
