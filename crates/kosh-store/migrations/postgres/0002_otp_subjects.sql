-- One row per OTP subject, locked by every issue for it, so that concurrent issues for
-- one subject are counted against the rate limit one after another.
CREATE TABLE otp_subjects (
    partner_id          BIGINT NOT NULL,
    purpose             TEXT NOT NULL,
    subject             TEXT NOT NULL,
    last_request_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (partner_id, purpose, subject)
);
