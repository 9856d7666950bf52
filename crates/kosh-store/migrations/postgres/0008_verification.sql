-- Verification (KYC): one row per verification, whatever its kind. The subject (PAN,
-- account, Aadhaar, …) is kept only masked and as a keyed hash; the provider's answer
-- only with personal identifiers masked, and only until purge_at_ms (the configured
-- retention), after which the worker empties it.
CREATE TABLE verifications (
    partner_id      BIGINT NOT NULL,
    tid             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    -- NULL when the request carried none (the vendor's SDK sends none for bank accounts).
    client_ref_id   TEXT,
    user_code       BIGINT,
    -- recorded (fee reserved, provider not answered yet) | done | negative | failed
    state           TEXT NOT NULL,
    fee_paise       BIGINT NOT NULL,
    gst_paise       BIGINT NOT NULL,
    -- The fee's ledger entry: pending until the provider answers, then posted or voided.
    entry_id        BIGINT,
    subject_masked  TEXT NOT NULL,
    subject_hash    TEXT NOT NULL,
    -- A flow step's handle (the Aadhaar access_key), unique per partner when set.
    flow_key        TEXT,
    -- When flow_key stops opening the next step.
    flow_expires_at_ms BIGINT,
    -- What the next step needs (the Aadhaar OTP's reference and mobile), JSON.
    flow_json       TEXT NOT NULL,
    message         TEXT NOT NULL,
    -- The provider's answer, personal identifiers masked; for answers that come later,
    -- a list of parts each with its ready_at_ms.
    result_json     TEXT NOT NULL,
    -- Async kinds: when the last part is answered.
    ready_at_ms     BIGINT,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL,
    purge_at_ms     BIGINT NOT NULL,
    purged          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (partner_id, tid)
);
CREATE INDEX verifications_client_ref ON verifications (partner_id, client_ref_id);
CREATE UNIQUE INDEX verifications_flow_key ON verifications (partner_id, flow_key);
CREATE INDEX verifications_purge ON verifications (purged, purge_at_ms);
CREATE INDEX verifications_stale ON verifications (state, updated_at_ms);
INSERT INTO counters (name, value) VALUES ('verify_tid', 5000000000);
