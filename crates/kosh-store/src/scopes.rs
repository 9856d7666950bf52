//! Idempotency scopes: the key spaces of [`IdemKey`](crate::commands::IdemKey), one
//! constant each. An idempotency key is unique per partner *and scope*, so which
//! products share a scope decides which references may collide. The values are stored
//! with every idempotency record: changing one would make every earlier request
//! forgettable, so they never change.
//!
//! Echelon has no scope here: its payins and payouts are idempotent by the merchant's
//! order id, unique per merchant and direction in the payments table itself.

/// Eko `client_ref_id`s of money-moving requests: DMT transfers, AePS transactions and
/// Token payments (the paying partner's reference). One scope on purpose: a partner's
/// `client_ref_id` names one transaction across all of them, so the reference of an
/// AePS withdrawal reused for a transfer or a Token payment is "Duplicate
/// client_ref_id", not a second transaction.
pub const EKO_CLIENT_REF: &str = "eko";

/// Eko `client_ref_id`s of Token generation (the issuing partner's reference for a
/// token). Apart from [`EKO_CLIENT_REF`]: such a reference names a token, not a
/// transaction, so it may equal one of the partner's transaction references.
pub const EKO_TOKEN: &str = "eko_token";

/// `Idempotency-Key`s of admin wallet credits, apart from every API dialect's keys so an
/// operator's key can never replay (or block) a partner's request.
pub const ADMIN_WALLET_CREDIT: &str = "admin_wallet_credit";
