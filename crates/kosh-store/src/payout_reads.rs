//! The store's payout reads.

use crate::ops::payouts::{self, PayoutOrder, SettlementAccount};
use crate::postgres::PgConn;
use crate::sql::SqlError;
use crate::sqlite::{run_ready, SqliteConn};
use crate::{Backend, Store};
use kosh_core::ids::{PartnerId, UserCode};

impl Store {
    /// The partner's payout `tid`.
    pub async fn payout(&self, partner_id: PartnerId, tid: i64) -> Result<Option<PayoutOrder>, SqlError> {
        read!(self, db => payouts::get(db, partner_id, tid))
    }

    /// The partner's payout with this `client_ref_id`.
    pub async fn payout_by_client_ref(
        &self,
        partner_id: PartnerId,
        client_ref_id: &str,
    ) -> Result<Option<PayoutOrder>, SqlError> {
        read!(self, db => payouts::by_client_ref(db, partner_id, client_ref_id))
    }

    /// The agent's settlement accounts, oldest first.
    pub async fn settlement_accounts(
        &self,
        partner_id: PartnerId,
        user_code: UserCode,
    ) -> Result<Vec<SettlementAccount>, SqlError> {
        read!(self, db => payouts::accounts(db, partner_id, user_code))
    }

    /// The agent's AePS cash withdrawals and its settlements since `since_ms`, in paise.
    pub async fn settlement_totals(
        &self,
        partner_id: PartnerId,
        user_code: UserCode,
        since_ms: i64,
    ) -> Result<(i64, i64), SqlError> {
        read!(self, db => payouts::settlement_totals(db, partner_id, user_code, since_ms))
    }

    /// The `user_code` of the partner's agent with this mobile number.
    pub async fn agent_by_mobile(&self, partner_id: PartnerId, mobile: &str) -> Result<Option<UserCode>, SqlError> {
        read!(self, db => payouts::agent_by_mobile(db, partner_id, mobile))
    }

    /// Whether any payout is due for a rail inquiry at `now_ms`.
    pub async fn payout_any_due(&self, now_ms: i64) -> Result<bool, SqlError> {
        read!(self, db => payouts::any_due(db, now_ms))
    }
}
