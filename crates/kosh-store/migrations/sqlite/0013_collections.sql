-- Collections: UPI QR codes and their payments (service 59), CMS cash drop pages and
-- payments (service 58). Tids come from their own counters, disjoint from every other
-- product's, so one inquiry can look a tid up everywhere.

INSERT INTO counters (name, value) VALUES ('qr_tid', 7000000000);
INSERT INTO counters (name, value) VALUES ('cms_tid', 7500000000);

CREATE TABLE qr_codes (
    id                  INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    user_code           INTEGER NOT NULL,
    -- The agent's mobile number the QR was asked for.
    sender_id           TEXT NOT NULL,
    -- razorpay or au
    bank                TEXT NOT NULL,
    -- static or dynamic
    kind                TEXT NOT NULL,
    client_ref_id       TEXT NOT NULL,
    utility_acc_no      TEXT NOT NULL,
    name                TEXT NOT NULL,
    email               TEXT NOT NULL,
    vpa                 TEXT NOT NULL,
    amount              INTEGER,
    qr_string           TEXT NOT NULL,
    -- 0 inactive, 1 active, 2 QR active, 3 QR inactive
    status              INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
-- One static QR per agent mobile and bank.
CREATE UNIQUE INDEX qr_codes_static ON qr_codes (partner_id, sender_id, bank) WHERE kind = 'static';

CREATE TABLE qr_payments (
    tid                 INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    qr_id               INTEGER NOT NULL REFERENCES qr_codes(id),
    -- 1 for a dynamic QR's payment: such a QR is paid once.
    single_use          INTEGER NOT NULL,
    user_code           INTEGER NOT NULL,
    amount              INTEGER NOT NULL,
    fee                 INTEGER NOT NULL,
    gst                 INTEGER NOT NULL,
    commission          INTEGER NOT NULL,
    tds                 INTEGER NOT NULL,
    payer_vpa           TEXT NOT NULL,
    utr                 TEXT NOT NULL,
    -- 5 initiated (accepted), 0 success (settled), 1 failed
    tx_status           INTEGER NOT NULL,
    entry_id            INTEGER NOT NULL,
    settle_at_ms        INTEGER NOT NULL,
    settled_at_ms       INTEGER,
    created_at_ms       INTEGER NOT NULL
);
CREATE UNIQUE INDEX qr_payments_single_use ON qr_payments (qr_id) WHERE single_use = 1;
CREATE INDEX qr_payments_by_qr ON qr_payments (partner_id, qr_id);
CREATE INDEX qr_payments_due ON qr_payments (tx_status, settle_at_ms);

-- A hosted CMS page: its URL's token is stored only hashed.
CREATE TABLE cms_sessions (
    id                  INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    user_code           INTEGER NOT NULL,
    client_ref_id       TEXT NOT NULL,
    token_hash          TEXT NOT NULL UNIQUE,
    latlong             TEXT NOT NULL,
    locale              TEXT NOT NULL,
    -- issued (URL not opened yet), opened, used (paid)
    state               TEXT NOT NULL,
    expires_at_ms       INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);

CREATE TABLE cms_payments (
    tid                 INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    session_id          INTEGER NOT NULL REFERENCES cms_sessions(id),
    user_code           INTEGER NOT NULL,
    client_ref_id       TEXT NOT NULL,
    biller_id           TEXT NOT NULL,
    loan_reference      TEXT NOT NULL,
    amount              INTEGER NOT NULL,
    commission          INTEGER NOT NULL,
    tds                 INTEGER NOT NULL,
    -- initiated (asking the partner), approved (debit-hook said proceed), success, failed
    state               TEXT NOT NULL,
    reason              TEXT NOT NULL DEFAULT '',
    entry_id            INTEGER,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);
CREATE INDEX cms_payments_by_ref ON cms_payments (partner_id, client_ref_id);

-- Working-capital loans: a lender partner disburses e-value to an agent; the agent's
-- partner repays in tranches. Loan ids and repayment ids share their own counter.
INSERT INTO counters (name, value) VALUES ('loan_id', 8000000000);

CREATE TABLE loans (
    loan_id             INTEGER PRIMARY KEY,
    lender_partner_id   INTEGER NOT NULL,
    -- The borrowing agent's partner, whose wallet received the e-value and repays.
    partner_id          INTEGER NOT NULL,
    user_code           INTEGER NOT NULL,
    client_ref_id       TEXT NOT NULL,
    bank_ref_num        TEXT NOT NULL,
    sanction_id         TEXT NOT NULL,
    principal           INTEGER NOT NULL,
    outstanding         INTEGER NOT NULL,
    -- active or repaid
    state               TEXT NOT NULL,
    entry_id            INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (lender_partner_id, client_ref_id)
);
CREATE INDEX loans_by_borrower ON loans (partner_id, user_code);

CREATE TABLE loan_tranches (
    loan_id             INTEGER NOT NULL REFERENCES loans(loan_id),
    tranche_no          INTEGER NOT NULL,
    amount              INTEGER NOT NULL,
    repaid              INTEGER NOT NULL,
    due_at_ms           INTEGER NOT NULL,
    -- When the tranche was repaid in full, and whether that was after its due date.
    paid_at_ms          INTEGER,
    paid_late           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (loan_id, tranche_no)
);

CREATE TABLE loan_repayments (
    repayment_id        INTEGER PRIMARY KEY,
    loan_id             INTEGER NOT NULL REFERENCES loans(loan_id),
    partner_id          INTEGER NOT NULL,
    client_ref_id       TEXT NOT NULL,
    amount              INTEGER NOT NULL,
    -- Whether any of it paid a tranche past its due date.
    late                INTEGER NOT NULL,
    entry_id            INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
CREATE INDEX loan_repayments_by_loan ON loan_repayments (loan_id);
