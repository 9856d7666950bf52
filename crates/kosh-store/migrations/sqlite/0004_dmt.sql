-- Money transfer (DMT): customers (senders), their recipients, transfers.
-- Amounts are integer paise; times are ms since the epoch; the partner id comes first
-- in every key.

CREATE TABLE dmt_customers (
    partner_id          INTEGER NOT NULL,
    mobile              TEXT NOT NULL,
    name                TEXT NOT NULL,
    dob                 TEXT NOT NULL,
    residence_address   TEXT NOT NULL,
    -- 1 OTP pending, 2 verified non-KYC, 3 KYC pending, 4 full KYC, 5 name change pending, 8 partial KYC.
    state               INTEGER NOT NULL,
    -- The agent who enrolled the customer.
    user_code           INTEGER NOT NULL,
    -- The monthly limit's counter: what was sent in month `used_month` (yyyymm, IST).
    -- Transfers update it conditionally, so no interleaving can pass the limit.
    used_month          INTEGER NOT NULL DEFAULT 0,
    used_paise          INTEGER NOT NULL DEFAULT 0,
    -- Recipients registered, counted under the same row lock as the maximum.
    recipient_count     INTEGER NOT NULL DEFAULT 0,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    PRIMARY KEY (partner_id, mobile),
    CHECK (used_paise >= 0 AND recipient_count >= 0)
);

CREATE TABLE dmt_recipients (
    recipient_id        INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    customer_mobile     TEXT NOT NULL,
    -- acc_ifsc or acc_bankcode: how the partner added it.
    id_type             TEXT NOT NULL,
    account             TEXT NOT NULL,
    ifsc                TEXT NOT NULL,
    bank_code           TEXT NOT NULL,
    recipient_name      TEXT NOT NULL,
    recipient_mobile    TEXT NOT NULL,
    recipient_type      INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, customer_mobile, account, ifsc)
);

CREATE TABLE dmt_transfers (
    -- The platform's transaction id, from the dmt_tid counter (shared with refund tids).
    tid                 INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    client_ref_id       TEXT NOT NULL,
    user_code           INTEGER NOT NULL,
    customer_mobile     TEXT NOT NULL,
    sender_name         TEXT NOT NULL,
    -- The recipient as it was when the transfer was made (it may be removed later).
    recipient_id        INTEGER NOT NULL,
    recipient_name      TEXT NOT NULL,
    account             TEXT NOT NULL,
    ifsc                TEXT NOT NULL,
    bank_code           TEXT NOT NULL,
    channel             INTEGER NOT NULL,
    amount              INTEGER NOT NULL,
    fee                 INTEGER NOT NULL,
    gst                 INTEGER NOT NULL,
    commission          INTEGER NOT NULL,
    tds                 INTEGER NOT NULL,
    -- The pending ledger entry that reserves the wallet debit; posted or voided later.
    entry_id            INTEGER NOT NULL,
    tx_status           INTEGER NOT NULL,
    -- 0 until the rail's first answer is applied (the partner's initial answer).
    answered            INTEGER NOT NULL DEFAULT 0,
    bank_ref_num        TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    -- The month whose limit counter the amount was added to.
    limit_month         INTEGER NOT NULL,
    -- When the rail worker should next ask the rail; NULL when nothing is awaited.
    check_at_ms         INTEGER,
    refund_tid          INTEGER,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
CREATE INDEX dmt_transfers_due ON dmt_transfers (check_at_ms) WHERE check_at_ms IS NOT NULL;

INSERT INTO counters (name, value) VALUES ('dmt_tid', 1000000000);
