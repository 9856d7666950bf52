-- The v3 money-transfer families (kosh_core::dmt_family) on the one DMT domain: which
-- verification steps a sender completed for which family, and which recipients were
-- registered with the bank for a family that needs it. Customers, recipients and
-- transfers stay in the 0004 tables.
CREATE TABLE dmt_sender_kyc (
    partner_id      BIGINT NOT NULL,
    mobile          TEXT NOT NULL,
    -- The family's path segment (dmt-fino, dmt-levin, dmt-airtel, ppi, ppi-levin).
    family          TEXT NOT NULL,
    -- kosh_core::dmt_family::KycStep::code (aadhaar_otp, pan, biometric_ekyc, ekyc_otp).
    step            TEXT NOT NULL,
    -- What the step saw, masked (the Aadhaar's last four digits, the PAN).
    detail          TEXT NOT NULL,
    done_at_ms      BIGINT NOT NULL,
    PRIMARY KEY (partner_id, mobile, family, step)
);

CREATE TABLE dmt_family_beneficiaries (
    partner_id      BIGINT NOT NULL,
    family          TEXT NOT NULL,
    recipient_id    BIGINT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (partner_id, family, recipient_id)
);
