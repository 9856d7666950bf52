//! The store's bill-payment reads.

use crate::ops::bbps::{self, Payment};
use crate::postgres::PgConn;
use crate::sql::SqlError;
use crate::sqlite::{run_ready, SqliteConn};
use crate::{Backend, Store};
use kosh_core::ids::{PartnerId, Tid};

impl Store {
    /// The partner's bill payment `tid`.
    pub async fn bbps_payment(&self, partner_id: PartnerId, tid: Tid) -> Result<Option<Payment>, SqlError> {
        read!(self, db => bbps::get(db, partner_id, tid))
    }

    /// The partner's bill payment with this `client_ref_id`.
    pub async fn bbps_payment_by_client_ref(
        &self,
        partner_id: PartnerId,
        client_ref_id: &str,
    ) -> Result<Option<Payment>, SqlError> {
        read!(self, db => bbps::by_client_ref(db, partner_id, client_ref_id))
    }

    /// Whether any bill payment's time to ask the biller has come.
    pub async fn bbps_any_due(&self, now_ms: i64) -> Result<bool, SqlError> {
        read!(self, db => bbps::any_due(db, now_ms))
    }
}
