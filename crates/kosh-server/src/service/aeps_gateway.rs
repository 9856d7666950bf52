//! The hosted AePS gateway's transactions: a page announces an intent, the partner's
//! server confirms (or refuses) it, and the confirmed intent becomes an AePS
//! transaction. The page's handlers (`gateway/api.rs`) check the wire and the
//! confirmation's signatures; the steps that change state are here, each one store
//! command, like the API's transactions in [`super::aeps`]. The only bank is the
//! sandbox simulator, a pure function inside the confirming command, so no step calls
//! out; a real connector will split [`confirm`] into record → bank → apply.

use super::StoreError;
use crate::state::AppState;
use kosh_store::commands::aeps::{ConfirmIntent, CreateIntent, RefuseIntent, Transacted};
use kosh_store::error::CommandError;
use kosh_store::ops::aeps::{GatewayIntent, GatewaySession};

/// The live session a page's token names (by the token's hash), if any; expiry is
/// the caller's to check against its clock.
pub async fn session(app: &AppState, token_hash: &str) -> Result<Option<GatewaySession>, StoreError> {
    Ok(app.store.aeps_gateway_session(token_hash).await?)
}

/// Records an announced transaction (an intent) in its session, within the session's
/// limit; answers it with its `client_ref_id`.
pub async fn announce(app: &AppState, intent: CreateIntent) -> Result<GatewayIntent, CommandError> {
    app.store.execute(intent).await
}

/// The session's intent `intent_id`, as announced.
pub async fn intent(app: &AppState, session: &GatewaySession, intent_id: i64) -> Result<Option<GatewayIntent>, StoreError> {
    Ok(app.store.aeps_gateway_intent(session.id, intent_id).await?)
}

/// Runs a confirmed intent as a transaction (once: a used confirmation is refused);
/// answers it with the partner's wallet.
pub async fn confirm(app: &AppState, confirmation: ConfirmIntent) -> Result<Transacted, CommandError> {
    app.store.execute(confirmation).await
}

/// Closes an intent the partner refused; it can no longer be confirmed.
pub async fn refuse(app: &AppState, refusal: RefuseIntent) -> Result<GatewayIntent, CommandError> {
    app.store.execute(refusal).await
}
