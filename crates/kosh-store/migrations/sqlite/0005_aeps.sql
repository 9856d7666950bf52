-- AePS: agents' e-KYC and daily authentication, transactions, the per-Aadhaar daily
-- counter, and the hosted gateway's sessions and intents. Aadhaar numbers are stored
-- only masked (XXXX XXXX 1234) or as a keyed hash; the key (aeps_aadhaar_pepper) is
-- configuration and never stored here, so these tables alone cannot be searched for a number.

INSERT INTO counters (name, value) VALUES ('aeps_tid', 3000000000);

CREATE TABLE aeps_agents (
    partner_id          INTEGER NOT NULL,
    user_code           INTEGER NOT NULL REFERENCES agents(user_code),
    -- not_started, otp_sent, otp_verified, fino_pending, complete
    ekyc                TEXT NOT NULL,
    -- fingpay or fino
    ekyc_provider       TEXT NOT NULL,
    ekyc_ready_at_ms    INTEGER,
    aadhaar_masked      TEXT NOT NULL,
    aadhaar_hash        TEXT NOT NULL,
    otp_mobile          TEXT,
    otp_ref_id          INTEGER,
    reference_tid       INTEGER,
    -- IST calendar day (days since 1970-01-01) of the last daily authentication
    daily_auth_day      INTEGER,
    daily_auth_at_ms    INTEGER,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    PRIMARY KEY (partner_id, user_code)
);

CREATE TABLE aeps_transactions (
    tid                     INTEGER PRIMARY KEY,
    partner_id              INTEGER NOT NULL,
    client_ref_id           TEXT NOT NULL,
    -- api or gateway
    channel                 TEXT NOT NULL,
    user_code               INTEGER NOT NULL,
    tx_type                 INTEGER NOT NULL,
    amount                  INTEGER NOT NULL,
    commission              INTEGER NOT NULL,
    tds                     INTEGER NOT NULL,
    customer_mobile         TEXT NOT NULL,
    bank_code               TEXT NOT NULL,
    aadhaar_masked          TEXT NOT NULL,
    aadhaar_hash            TEXT NOT NULL,
    ist_day                 INTEGER NOT NULL,
    tx_status               INTEGER NOT NULL,
    reason                  TEXT NOT NULL DEFAULT '',
    -- For tx_status 2: what inquiry will find from resolve_at_ms on
    -- ('approved' or the decline reason).
    awaited_verdict         TEXT,
    resolve_at_ms           INTEGER,
    customer_balance        INTEGER,
    entry_id                INTEGER,
    created_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
CREATE INDEX aeps_transactions_aadhaar ON aeps_transactions (aadhaar_hash, tx_status);

-- NPCI's limit is per Aadhaar number across every acquirer, so this counter is the one
-- key here that does not start with the partner id.
CREATE TABLE aeps_aadhaar_days (
    aadhaar_hash    TEXT NOT NULL,
    ist_day         INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    PRIMARY KEY (aadhaar_hash, ist_day)
);

CREATE TABLE aeps_gateway_sessions (
    id                  INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    token_hash          TEXT NOT NULL UNIQUE,
    user_code           INTEGER NOT NULL,
    callback_url        TEXT NOT NULL,
    custom_params       TEXT NOT NULL,
    custom_headers      TEXT NOT NULL,
    partner_name        TEXT NOT NULL,
    logo_url            TEXT NOT NULL,
    language            TEXT NOT NULL,
    intents             INTEGER NOT NULL DEFAULT 0,
    expires_at_ms       INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL
);

CREATE TABLE aeps_gateway_intents (
    id                  INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL,
    session_id          INTEGER NOT NULL REFERENCES aeps_gateway_sessions(id),
    client_ref_id       TEXT NOT NULL,
    -- awaiting, refused, done
    state               TEXT NOT NULL,
    tx_type             INTEGER NOT NULL,
    amount              INTEGER NOT NULL,
    customer_mobile     TEXT NOT NULL,
    bank_code           TEXT NOT NULL,
    aadhaar_masked      TEXT NOT NULL,
    aadhaar_hash        TEXT NOT NULL,
    -- The request_hash of the confirmation that was used: each is used once.
    confirmation_hash   TEXT,
    tid                 INTEGER,
    message             TEXT NOT NULL DEFAULT '',
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);
CREATE UNIQUE INDEX aeps_gateway_intents_confirmation ON aeps_gateway_intents (partner_id, confirmation_hash);
