-- Replay protection (SQLite): every request_hash a partner's financial request was
-- accepted under, until its timestamp leaves the tolerance. The vendor's signature
-- covers only the timestamp, so without this a captured header set signs any request
-- for the whole tolerance. The hash is bound to the idempotency record of the request
-- it was used for: that request's retry is answered, any other use refused.
CREATE TABLE request_hash_uses (
    partner_id      INTEGER NOT NULL,
    request_hash    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    used_at_ms      INTEGER NOT NULL,
    -- The hash's timestamp plus the tolerance: past it the timestamp is refused as
    -- stale anyway, and the row is pruned.
    expires_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (partner_id, request_hash)
);
CREATE INDEX request_hash_uses_expiry ON request_hash_uses (expires_at_ms);
