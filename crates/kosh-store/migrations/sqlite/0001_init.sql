-- Kosh schema v1 (SQLite). Amounts are integer paise; times are ms since the epoch.
-- The owner (partner) id comes first in every unique key.

CREATE TABLE partners (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    developer_key   TEXT NOT NULL UNIQUE,
    -- Kept readable: verifying an HMAC needs the key itself.
    access_key      TEXT NOT NULL,
    initiator_id    TEXT NOT NULL UNIQUE,
    is_sandbox      INTEGER NOT NULL DEFAULT 0,
    created_at_ms   INTEGER NOT NULL
);

CREATE TABLE counters (
    name    TEXT PRIMARY KEY,
    value   INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('user_code', 20810199);

CREATE TABLE agents (
    user_code           INTEGER PRIMARY KEY,
    partner_id          INTEGER NOT NULL REFERENCES partners(id),
    pan                 TEXT NOT NULL,
    mobile              TEXT NOT NULL,
    first_name          TEXT NOT NULL,
    middle_name         TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    email               TEXT NOT NULL,
    dob                 TEXT NOT NULL,
    shop_name           TEXT NOT NULL,
    residence_address   TEXT NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    UNIQUE (partner_id, pan),
    UNIQUE (partner_id, mobile)
);

CREATE TABLE agent_services (
    partner_id          INTEGER NOT NULL,
    user_code           INTEGER NOT NULL REFERENCES agents(user_code),
    service_code        INTEGER NOT NULL,
    status              INTEGER NOT NULL,
    verification_status INTEGER NOT NULL,
    review_done_at_ms   INTEGER,
    comments            TEXT NOT NULL DEFAULT '',
    details             TEXT NOT NULL DEFAULT '{}',
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    PRIMARY KEY (partner_id, user_code, service_code)
);

CREATE TABLE otps (
    id              INTEGER PRIMARY KEY,
    partner_id      INTEGER NOT NULL,
    purpose         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    salt            TEXT NOT NULL,
    code_hash       TEXT NOT NULL,
    -- Only in sandbox mode, so partners can read OTPs that are never delivered.
    sandbox_code    TEXT,
    expires_at_ms   INTEGER NOT NULL,
    attempts_left   INTEGER NOT NULL,
    consumed_at_ms  INTEGER,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX otps_subject ON otps (partner_id, purpose, subject, id);

CREATE TABLE verified_mobiles (
    partner_id      INTEGER NOT NULL,
    mobile          TEXT NOT NULL,
    verified_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (partner_id, mobile)
);

CREATE TABLE ledger_accounts (
    id              INTEGER PRIMARY KEY,
    owner_id        INTEGER NOT NULL,
    code            TEXT NOT NULL,
    limit_kind      INTEGER NOT NULL,
    debits_posted   INTEGER NOT NULL DEFAULT 0,
    credits_posted  INTEGER NOT NULL DEFAULT 0,
    debits_pending  INTEGER NOT NULL DEFAULT 0,
    credits_pending INTEGER NOT NULL DEFAULT 0,
    created_at_ms   INTEGER NOT NULL,
    UNIQUE (owner_id, code),
    CHECK (debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0)
);

CREATE TABLE ledger_entries (
    id              INTEGER PRIMARY KEY,
    partner_id      INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL,
    reference       TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    resolved_at_ms  INTEGER
);
CREATE INDEX ledger_entries_partner ON ledger_entries (partner_id, id);

CREATE TABLE ledger_legs (
    entry_id    INTEGER NOT NULL REFERENCES ledger_entries(id),
    seq         INTEGER NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES ledger_accounts(id),
    side        TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (entry_id, seq)
);
CREATE INDEX ledger_legs_account ON ledger_legs (account_id);

CREATE TABLE idempotency (
    partner_id      INTEGER NOT NULL,
    scope           TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    outcome         TEXT,
    created_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (partner_id, scope, idem_key)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    partner_id      INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    due_at_ms       INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, due_at_ms);
