//! AePS transactions. Kosh reaches no AePS bank over the network yet: the only bank is
//! the sandbox simulator (`kosh_core::aeps::sandbox`), a pure function the store
//! command consults, so a transaction is one command (claim, checks, the bank's
//! answer, the ledger entry, pending while awaited) and an awaited one is settled by a
//! second ([`resolve`]) once its answer is due. A real connector will split the first
//! into record → bank → apply, as [`super::dmt`] does.

use super::StoreError;
use crate::state::AppState;
use kosh_core::ids::{PartnerId, Tid};
use kosh_core::ledger::{AccountKind, Balance};
use kosh_store::commands::aeps::{NewTransaction, ResolveAwaited, Transacted};
use kosh_store::commands::{IdemKey, RequestHashUse};
use kosh_store::error::CommandError;
use kosh_store::ops::aeps::AepsTransaction;

/// Why a transaction was not made.
#[derive(Debug)]
pub enum TransactError {
    /// The store refused it (a product rule, a reused `client_ref_id` or request hash).
    Refused(CommandError),
    /// The store could not answer.
    Store(String),
}

fn store(e: impl std::fmt::Display) -> TransactError {
    TransactError::Store(e.to_string())
}

/// Makes a transaction under `key` (and `request_hash`, when replay protection records
/// it). The same request again answers the transaction as it stands now (it may have
/// resolved since), with the partner's wallet.
pub async fn transact(
    app: &AppState,
    key: IdemKey,
    request_hash: Option<RequestHashUse>,
    new: NewTransaction,
) -> Result<(AepsTransaction, Balance), TransactError> {
    let partner_id = new.partner_id;
    let executed = app.store.execute_idempotent_with_hash(key, request_hash, new).await;
    let executed = executed.map_err(TransactError::Refused)?;
    let Transacted { tx, wallet } = executed.outcome;
    if !executed.replayed {
        return Ok((tx, wallet));
    }
    let current = app.store.aeps_transaction(partner_id, tx.tid).await.map_err(store)?;
    let wallet = app.store.balance(partner_id, &AccountKind::PartnerWallet).await.map_err(store)?;
    Ok((current.unwrap_or(tx), wallet))
}

/// Settles an awaited transaction when its bank answer is due; answers it as it stands.
pub async fn resolve(app: &AppState, partner_id: PartnerId, tid: Tid) -> Result<Transacted, StoreError> {
    Ok(app.store.execute(ResolveAwaited { partner_id, tid }).await?)
}
