//! The store's payout reads.

use crate::ops::payouts::{self, PayoutOrder};
use crate::postgres::PgConn;
use crate::sql::SqlError;
use crate::sqlite::{run_ready, SqliteConn};
use crate::{Backend, Store};

impl Store {
    /// The partner's payout `tid`.
    pub async fn payout(&self, partner_id: i64, tid: i64) -> Result<Option<PayoutOrder>, SqlError> {
        read!(self, db => payouts::get(db, partner_id, tid))
    }

    /// The partner's payout with this `client_ref_id`.
    pub async fn payout_by_client_ref(&self, partner_id: i64, client_ref_id: &str) -> Result<Option<PayoutOrder>, SqlError> {
        read!(self, db => payouts::by_client_ref(db, partner_id, client_ref_id))
    }

    /// Whether any payout is due for a rail inquiry at `now_ms`.
    pub async fn payout_any_due(&self, now_ms: i64) -> Result<bool, SqlError> {
        read!(self, db => payouts::any_due(db, now_ms))
    }
}
