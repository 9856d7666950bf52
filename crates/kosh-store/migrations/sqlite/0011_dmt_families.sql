-- The v3 money-transfer families (kosh_core::dmt_family) on the one DMT domain: which
-- verification steps a sender completed for which family, and which recipients were
-- registered with the bank for a family that needs it. Customers, recipients and
-- transfers stay in the 0004 tables.
CREATE TABLE dmt_sender_kyc (
    partner_id      INTEGER NOT NULL,
    mobile          TEXT NOT NULL,
    -- The family's path segment (dmt-fino, dmt-levin, dmt-airtel, ppi, ppi-levin).
    family          TEXT NOT NULL,
    -- kosh_core::dmt_family::KycStep::code (aadhaar_otp, pan, biometric_ekyc, ekyc_otp).
    step            TEXT NOT NULL,
    -- What the step saw, masked (the Aadhaar's last four digits, the PAN).
    detail          TEXT NOT NULL,
    done_at_ms      INTEGER NOT NULL,
    PRIMARY KEY (partner_id, mobile, family, step)
);

CREATE TABLE dmt_family_beneficiaries (
    partner_id      INTEGER NOT NULL,
    family          TEXT NOT NULL,
    recipient_id    INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (partner_id, family, recipient_id)
);

-- Saved transactions: a transfer request (its OTP consent already given) kept to be
-- committed later, by the partner or, once scheduled, by the rail worker when
-- commit_at_ms comes. Committing runs the same family transfer command under the same
-- client_ref_id, so a commit that is repeated or races makes one transfer.
CREATE TABLE dmt_saved_transfers (
    -- From the dmt_tid counter, like transfer tids.
    tid             INTEGER PRIMARY KEY,
    partner_id      INTEGER NOT NULL,
    user_code       INTEGER NOT NULL,
    client_ref_id   TEXT NOT NULL,
    -- The family transfer command as JSON (kosh_store::commands::dmt::FamilyTransfer).
    request         TEXT NOT NULL,
    -- saved, scheduled, committed, cancelled, failed.
    state           TEXT NOT NULL,
    -- When a scheduled one is due (a claim pushes it ahead by the lease).
    commit_at_ms    INTEGER,
    transfer_tid    INTEGER,
    reason          TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    UNIQUE (partner_id, client_ref_id)
);
CREATE INDEX dmt_saved_transfers_due ON dmt_saved_transfers (state, commit_at_ms);
CREATE INDEX dmt_saved_transfers_agent ON dmt_saved_transfers (partner_id, user_code, state);
