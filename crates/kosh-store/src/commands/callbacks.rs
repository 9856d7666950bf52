//! Commands of the callback engine: partner endpoint configuration, the worker's
//! claim / release / finish of outbox events and pruning of old attempts, and replay
//! by hand.

use crate::error::{CmdResult, CommandError, Rejection};
use crate::ops::callbacks::{self as ops, CallbackEvent, ClaimRequest, Claimed, Endpoint, Finish, Next, TOKEN_ACK};
use crate::ops::{outbox, partners, tokens};
use crate::sql::Conn;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallbackCmd {
    /// Creates or replaces the partner's endpoint for `endpoint.kind`.
    SetEndpoint {
        partner_id: i64,
        endpoint: Endpoint,
    },
    UnsetEndpoint {
        partner_id: i64,
        kind: String,
    },
    /// Turns signed callbacks on (a secret) or off (`None`) for the partner.
    SetSigning {
        partner_id: i64,
        secret: Option<kosh_core::secret::Secret>,
    },
    Claim(ClaimRequest),
    Release {
        ids: Vec<i64>,
        lease_token: String,
    },
    Finish(Finish),
    Replay {
        id: i64,
    },
    /// Deletes attempt records that started before `before_ms`, at most `limit`
    /// (retention of the delivery log).
    PruneAttempts {
        before_ms: i64,
        limit: i64,
    },
    /// Queues a deliverable event by hand (an operator's test callback, a benchmark):
    /// the same outbox row a producer writes.
    Enqueue {
        partner_id: i64,
        kind: String,
        payload_json: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallbackOutcome {
    EndpointSet,
    /// Whether there was an endpoint to remove.
    EndpointUnset(bool),
    SigningSet,
    Claimed(Vec<Claimed>),
    Released(u64),
    /// `applied` false: the lease was lost, nothing was recorded.
    Finished {
        applied: bool,
    },
    Replayed(CallbackEvent),
    Enqueued(i64),
    /// How many attempt records were deleted.
    Pruned(u64),
}

pub async fn apply(db: &mut impl Conn, cmd: &CallbackCmd, now_ms: i64) -> CmdResult<CallbackOutcome> {
    match cmd {
        CallbackCmd::SetEndpoint { partner_id, endpoint } => {
            require_partner(db, *partner_id).await?;
            ops::put_endpoint(db, *partner_id, endpoint, now_ms).await?;
            Ok(CallbackOutcome::EndpointSet)
        }
        CallbackCmd::UnsetEndpoint { partner_id, kind } => {
            require_partner(db, *partner_id).await?;
            Ok(CallbackOutcome::EndpointUnset(ops::delete_endpoint(db, *partner_id, kind).await?))
        }
        CallbackCmd::SetSigning { partner_id, secret } => {
            require_partner(db, *partner_id).await?;
            ops::set_signing(db, *partner_id, secret.as_ref().map(|s| s.expose()), now_ms).await?;
            Ok(CallbackOutcome::SigningSet)
        }
        CallbackCmd::Claim(req) => Ok(CallbackOutcome::Claimed(ops::claim(db, req, now_ms).await?)),
        CallbackCmd::Release { ids, lease_token } => {
            Ok(CallbackOutcome::Released(ops::release(db, ids, lease_token, now_ms).await?))
        }
        CallbackCmd::Finish(finish) => finish_event(db, finish, now_ms).await,
        CallbackCmd::Replay { id } => Ok(CallbackOutcome::Replayed(ops::replay(db, *id, now_ms).await?)),
        CallbackCmd::PruneAttempts { before_ms, limit } => {
            Ok(CallbackOutcome::Pruned(ops::prune_attempts(db, *before_ms, *limit).await?))
        }
        CallbackCmd::Enqueue { partner_id, kind, payload_json } => {
            require_partner(db, *partner_id).await?;
            let payload = ops::check_payload(kind, payload_json).map_err(Rejection::InvalidCallbackConfig)?;
            Ok(CallbackOutcome::Enqueued(outbox::append(db, *partner_id, kind, &payload, now_ms).await?))
        }
    }
}

async fn require_partner(db: &mut impl Conn, partner_id: i64) -> CmdResult<()> {
    partners::by_id(db, partner_id).await?.ok_or(CommandError::Rejected(Rejection::PartnerNotFound)).map(drop)
}

/// Records the attempt; a delivered Token acknowledgement also moves its token to
/// `acknowledged` with the partner's `partner_tid`, in the same transaction.
async fn finish_event(db: &mut impl Conn, finish: &Finish, now_ms: i64) -> CmdResult<CallbackOutcome> {
    let Some((partner_id, kind)) = ops::finish(db, finish, now_ms).await? else {
        return Ok(CallbackOutcome::Finished { applied: false });
    };
    if finish.next == Next::Delivered && kind == TOKEN_ACK {
        if let Some(ack) = &finish.token_ack {
            tokens::acknowledge(db, partner_id, &ack.token, ack.partner_tid.as_deref(), now_ms).await?;
        }
    }
    Ok(CallbackOutcome::Finished { applied: true })
}
