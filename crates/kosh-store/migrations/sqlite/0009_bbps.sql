-- Bill payments (BBPS, recharges, credit-card bills): fetched bills and payments.
-- Amounts are integer paise; times are ms since the epoch; the partner id comes first
-- in every key.

-- Every bill fetched: a payment of an operator that fetches must name one (its
-- billfetchresponse token, or the account's latest) and pay exactly its amount.
CREATE TABLE bbps_bills (
    bill_id             INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    operator_id         INTEGER NOT NULL,
    utility_acc_no      TEXT NOT NULL,
    amount              INTEGER NOT NULL,
    customer_name       TEXT NOT NULL,
    bill_number         TEXT NOT NULL,
    bill_date           TEXT NOT NULL,
    due_date            TEXT NOT NULL,
    -- The BBPS reference the biller gave the fetch (bbpstrxnrefid).
    biller_reference    TEXT NOT NULL,
    -- The opaque billfetchresponse handed to the partner.
    fetch_token         TEXT NOT NULL UNIQUE,
    fetched_at_ms       INTEGER NOT NULL,
    -- The payment that paid it; cleared again when that payment fails.
    paid_tid            INTEGER
);
CREATE INDEX bbps_bills_account ON bbps_bills (partner_id, operator_id, utility_acc_no, bill_id);

CREATE TABLE bbps_payments (
    -- The platform's transaction id, from the bbps_tid counter.
    tid                 INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    client_ref_id       TEXT NOT NULL,
    user_code           INTEGER NOT NULL,
    -- bill or credit_card.
    kind                TEXT NOT NULL,
    operator_id         INTEGER NOT NULL,
    operator_name       TEXT NOT NULL,
    utility_acc_no      TEXT NOT NULL,
    customer_mobile     TEXT NOT NULL,
    sender_name         TEXT NOT NULL,
    -- The DMT recipient a credit-card bill is paid to.
    recipient_id        INTEGER,
    bill_id             INTEGER,
    -- The fetched bill's details, as its receipt shows them ('' without a bill).
    bill_number         TEXT NOT NULL DEFAULT '',
    bill_date           TEXT NOT NULL DEFAULT '',
    bill_customer_name  TEXT NOT NULL DEFAULT '',
    -- 1: the offline high-commission channel (the biller completes within hours).
    hc_channel          INTEGER NOT NULL,
    amount              INTEGER NOT NULL,
    fee                 INTEGER NOT NULL,
    gst                 INTEGER NOT NULL,
    commission          INTEGER NOT NULL,
    tds                 INTEGER NOT NULL,
    -- The pending ledger entry reserving the wallet debit; NULL when nothing was reserved.
    entry_id            INTEGER,
    tx_status           INTEGER NOT NULL,
    -- 0 until the biller's first answer is applied (the partner's initial answer).
    answered            INTEGER NOT NULL DEFAULT 0,
    biller_reference    TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    -- When the worker should next ask the biller; NULL when nothing is awaited.
    check_at_ms         INTEGER,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
CREATE INDEX bbps_payments_due ON bbps_payments (check_at_ms) WHERE check_at_ms IS NOT NULL;

INSERT INTO counters (name, value) VALUES ('bbps_tid', 6000000000);
