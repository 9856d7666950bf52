-- The common v3 transaction inquiry finds a Token payment by its tid or by the paying
-- partner's client_ref_id, like every other product's transaction.
CREATE INDEX tokens_payment_tid ON tokens (tid);
CREATE INDEX tokens_payment_ref ON tokens (paid_by_partner_id, pay_client_ref_id);
