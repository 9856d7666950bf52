//! Commands of the callback engine: partner endpoint configuration, the worker's
//! claim / release / finish of outbox events and pruning of old attempts, and replay
//! by hand.

use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, CommandError, Rejection};
use crate::ops::callbacks::{self as ops, CallbackEvent, ClaimRequest, Claimed, Endpoint, Finish, Next, TOKEN_ACK};
use crate::ops::{outbox, partners, tokens};
use crate::sql::Conn;
use kosh_core::ids::PartnerId;
use serde::{Deserialize, Serialize};

/// A command of the callback engine (endpoints, signing, delivery claims and results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallbackCommand {
    /// Creates or replaces the partner's endpoint for `endpoint.kind`.
    SetEndpoint(SetEndpoint),
    /// Removes the partner's endpoint of `kind`.
    UnsetEndpoint(UnsetEndpoint),
    /// Turns signed callbacks on (a secret) or off (`None`) for the partner.
    SetSigning(SetSigning),
    /// Leases due events to a delivery worker.
    Claim(ClaimRequest),
    /// Gives leased events back undelivered, due at once for another claim.
    Release(Release),
    /// Records one delivery attempt and the event's next state.
    Finish(Finish),
    /// Queues a failed or unconfigured event for delivery again (a new retry cycle).
    Replay(Replay),
    /// Deletes attempt records that started before `before_ms`, at most `limit`
    /// (retention of the delivery log).
    PruneAttempts(PruneAttempts),
    /// Queues a deliverable event by hand (an operator's test callback, a benchmark):
    /// the same outbox row a producer writes.
    Enqueue(Enqueue),
}

/// Creates or replaces the partner's endpoint for `endpoint.kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetEndpoint {
    /// The partner whose endpoint this is.
    pub partner_id: PartnerId,
    /// The endpoint: its kind, URL and settings.
    pub endpoint: Endpoint,
}

/// Removes the partner's endpoint of `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsetEndpoint {
    /// The partner whose endpoint this is.
    pub partner_id: PartnerId,
    /// The event kind whose endpoint is removed.
    pub kind: String,
}

/// Turns signed callbacks on (a secret) or off (`None`) for the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSigning {
    /// The partner whose callbacks are (or stop being) signed.
    pub partner_id: PartnerId,
    /// The signing secret; `None` turns signing off.
    pub secret: Option<kosh_core::secret::Secret>,
}

/// Gives leased events back undelivered, due at once for another claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The outbox ids to release.
    pub ids: Vec<i64>,
    /// The lease they were claimed under; a lease lost meanwhile releases nothing.
    pub lease_token: String,
}

/// Queues a failed or unconfigured event for delivery again (a new retry cycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    /// The outbox id of the event.
    pub id: i64,
}

/// Deletes attempt records that started before `before_ms`, at most `limit`
/// (retention of the delivery log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneAttempts {
    /// Attempts that started before this instant (ms since the epoch) are deleted.
    pub before_ms: i64,
    /// At most this many per command.
    pub limit: i64,
}

/// Queues a deliverable event by hand (an operator's test callback, a benchmark):
/// the same outbox row a producer writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueue {
    /// The partner the event is for.
    pub partner_id: PartnerId,
    /// The event kind (`eko.tx_status`, …), which picks the endpoint.
    pub kind: String,
    /// The body to deliver, as JSON text.
    pub payload_json: String,
}

/// What a [`CallbackCommand`] did.
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

fn callback_outcome(outcome: Outcome) -> CmdResult<CallbackOutcome> {
    match outcome {
        Outcome::Callbacks(callbacks) => Ok(callbacks),
        other => unexpected(other),
    }
}

store_command!(CallbackCommand => CallbackOutcome, Command::Callbacks, callback_outcome, o => o);
store_command!(SetEndpoint => (), |c| Command::Callbacks(CallbackCommand::SetEndpoint(c)), callback_outcome,
    CallbackOutcome::EndpointSet => ());
// Whether there was an endpoint to remove.
store_command!(UnsetEndpoint => bool, |c| Command::Callbacks(CallbackCommand::UnsetEndpoint(c)), callback_outcome,
    CallbackOutcome::EndpointUnset(removed) => removed);
store_command!(SetSigning => (), |c| Command::Callbacks(CallbackCommand::SetSigning(c)), callback_outcome,
    CallbackOutcome::SigningSet => ());
store_command!(ClaimRequest => Vec<Claimed>, |c| Command::Callbacks(CallbackCommand::Claim(c)), callback_outcome,
    CallbackOutcome::Claimed(claimed) => claimed);
// How many events were released.
store_command!(Release => u64, |c| Command::Callbacks(CallbackCommand::Release(c)), callback_outcome,
    CallbackOutcome::Released(n) => n);
// False when the lease was lost: nothing was recorded.
store_command!(Finish => bool, |c| Command::Callbacks(CallbackCommand::Finish(c)), callback_outcome,
    CallbackOutcome::Finished { applied } => applied);
store_command!(Replay => CallbackEvent, |c| Command::Callbacks(CallbackCommand::Replay(c)), callback_outcome,
    CallbackOutcome::Replayed(event) => event);
// How many attempt records were deleted.
store_command!(PruneAttempts => u64, |c| Command::Callbacks(CallbackCommand::PruneAttempts(c)), callback_outcome,
    CallbackOutcome::Pruned(n) => n);
// The new outbox id.
store_command!(Enqueue => i64, |c| Command::Callbacks(CallbackCommand::Enqueue(c)), callback_outcome,
    CallbackOutcome::Enqueued(id) => id);

/// Runs a callback command inside the caller's transaction.
pub async fn apply(db: &mut impl Conn, cmd: &CallbackCommand, now_ms: i64) -> CmdResult<CallbackOutcome> {
    match cmd {
        CallbackCommand::SetEndpoint(SetEndpoint { partner_id, endpoint }) => {
            require_partner(db, *partner_id).await?;
            ops::put_endpoint(db, *partner_id, endpoint, now_ms).await?;
            Ok(CallbackOutcome::EndpointSet)
        }
        CallbackCommand::UnsetEndpoint(UnsetEndpoint { partner_id, kind }) => {
            require_partner(db, *partner_id).await?;
            Ok(CallbackOutcome::EndpointUnset(ops::delete_endpoint(db, *partner_id, kind).await?))
        }
        CallbackCommand::SetSigning(SetSigning { partner_id, secret }) => {
            require_partner(db, *partner_id).await?;
            ops::set_signing(db, *partner_id, secret.as_ref().map(|s| s.expose()), now_ms).await?;
            Ok(CallbackOutcome::SigningSet)
        }
        CallbackCommand::Claim(req) => Ok(CallbackOutcome::Claimed(ops::claim(db, req, now_ms).await?)),
        CallbackCommand::Release(Release { ids, lease_token }) => {
            Ok(CallbackOutcome::Released(ops::release(db, ids, lease_token, now_ms).await?))
        }
        CallbackCommand::Finish(finish) => finish_event(db, finish, now_ms).await,
        CallbackCommand::Replay(Replay { id }) => Ok(CallbackOutcome::Replayed(ops::replay(db, *id, now_ms).await?)),
        CallbackCommand::PruneAttempts(PruneAttempts { before_ms, limit }) => {
            Ok(CallbackOutcome::Pruned(ops::prune_attempts(db, *before_ms, *limit).await?))
        }
        CallbackCommand::Enqueue(Enqueue { partner_id, kind, payload_json }) => {
            require_partner(db, *partner_id).await?;
            let payload = ops::check_payload(kind, payload_json).map_err(|e| Rejection::InvalidCallbackConfig(e.to_string()))?;
            Ok(CallbackOutcome::Enqueued(outbox::append(db, *partner_id, kind, &payload, now_ms).await?))
        }
    }
}

async fn require_partner(db: &mut impl Conn, partner_id: PartnerId) -> CmdResult<()> {
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
