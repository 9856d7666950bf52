-- Payouts (Eko service 45 fund transfers, UPI payments): one row per order, recorded
-- with its pending ledger entry before the rail is asked. Amounts are integer paise;
-- times are ms since the epoch.

CREATE TABLE payout_orders (
    -- The platform's transaction id, from the payout_tid counter.
    tid                 BIGINT PRIMARY KEY,
    partner_id          BIGINT NOT NULL,
    client_ref_id       TEXT NOT NULL,
    -- 0 when the partner paid for itself (no user_code sent).
    user_code           BIGINT NOT NULL,
    -- neft, imps, rtgs or upi.
    mode                TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    fee                 BIGINT NOT NULL,
    gst                 BIGINT NOT NULL,
    recipient_name      TEXT NOT NULL,
    -- Account number, or the VPA for UPI.
    account             TEXT NOT NULL,
    ifsc                TEXT NOT NULL,
    sender_name         TEXT NOT NULL,
    tag                 TEXT NOT NULL,
    account_type        BIGINT,
    -- The pending ledger entry that reserves the wallet debit; posted or voided later.
    entry_id            BIGINT NOT NULL,
    tx_status           BIGINT NOT NULL,
    -- 0 until the rail's first answer is applied.
    answered            BIGINT NOT NULL DEFAULT 0,
    bank_ref_num        TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    -- When the payout worker should next ask the rail; NULL when nothing is awaited.
    check_at_ms         BIGINT,
    created_at_ms       BIGINT NOT NULL,
    updated_at_ms       BIGINT NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
CREATE INDEX payout_orders_due ON payout_orders (check_at_ms) WHERE check_at_ms IS NOT NULL;

INSERT INTO counters (name, value) VALUES ('payout_tid', 4000000000);
