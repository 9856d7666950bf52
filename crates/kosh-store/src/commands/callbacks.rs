//! Commands of the callback engine: partner endpoint configuration, the worker's
//! claim / release / finish of outbox events and pruning of old attempts, and replay
//! by hand.

use crate::error::{CmdResult, CommandError, Rejection};
use crate::ops::callbacks::{self as ops, CallbackEvent, ClaimRequest, Claimed, Endpoint, Finish, Next, TOKEN_ACK};
use crate::ops::{outbox, partners, tokens};
use crate::sql::Conn;
use serde::{Deserialize, Serialize};

/// A command of the callback engine (endpoints, signing, delivery claims and results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallbackCmd {
    /// Creates or replaces the partner's endpoint for `endpoint.kind`.
    SetEndpoint {
        /// The partner whose endpoint this is.
        partner_id: i64,
        /// The endpoint: its kind, URL and settings.
        endpoint: Endpoint,
    },
    /// Removes the partner's endpoint of `kind`.
    UnsetEndpoint {
        /// The partner whose endpoint this is.
        partner_id: i64,
        /// The event kind whose endpoint is removed.
        kind: String,
    },
    /// Turns signed callbacks on (a secret) or off (`None`) for the partner.
    SetSigning {
        /// The partner whose callbacks are (or stop being) signed.
        partner_id: i64,
        /// The signing secret; `None` turns signing off.
        secret: Option<kosh_core::secret::Secret>,
    },
    /// Leases due events to a delivery worker.
    Claim(ClaimRequest),
    /// Gives leased events back undelivered, due at once for another claim.
    Release {
        /// The outbox ids to release.
        ids: Vec<i64>,
        /// The lease they were claimed under; a lease lost meanwhile releases nothing.
        lease_token: String,
    },
    /// Records one delivery attempt and the event's next state.
    Finish(Finish),
    /// Queues a failed or unconfigured event for delivery again (a new retry cycle).
    Replay {
        /// The outbox id of the event.
        id: i64,
    },
    /// Deletes attempt records that started before `before_ms`, at most `limit`
    /// (retention of the delivery log).
    PruneAttempts {
        /// Attempts that started before this instant (ms since the epoch) are deleted.
        before_ms: i64,
        /// At most this many per command.
        limit: i64,
    },
    /// Queues a deliverable event by hand (an operator's test callback, a benchmark):
    /// the same outbox row a producer writes.
    Enqueue {
        /// The partner the event is for.
        partner_id: i64,
        /// The event kind (`eko.tx_status`, …), which picks the endpoint.
        kind: String,
        /// The body to deliver, as JSON text.
        payload_json: String,
    },
}

/// What a [`CallbackCmd`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallbackOutcome {
    /// The endpoint was stored.
    EndpointSet,
    /// Whether there was an endpoint to remove.
    EndpointUnset(bool),
    /// The signing secret was stored or removed.
    SigningSet,
    /// The events leased, with what their delivery needs.
    Claimed(Vec<Claimed>),
    /// How many events were released.
    Released(u64),
    /// `applied` false: the lease was lost, nothing was recorded.
    Finished {
        /// False when the lease was lost: nothing was recorded.
        applied: bool,
    },
    /// The event, queued again.
    Replayed(CallbackEvent),
    /// The new outbox id.
    Enqueued(i64),
    /// How many attempt records were deleted.
    Pruned(u64),
}

/// Runs a callback command inside the caller's transaction.
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
