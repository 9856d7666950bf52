//! The store's verification reads.

use crate::ops::verifications::{self, Verification};
use crate::postgres::PgConn;
use crate::sql::SqlError;
use crate::sqlite::{run_ready, SqliteConn};
use crate::{Backend, Store};

impl Store {
    /// The partner's verification `tid`.
    pub async fn verification(&self, partner_id: i64, tid: i64) -> Result<Option<Verification>, SqlError> {
        read!(self, db => verifications::get(db, partner_id, tid))
    }

    /// The partner's newest verification with this `client_ref_id`.
    pub async fn verification_by_client_ref(
        &self,
        partner_id: i64,
        client_ref_id: &str,
    ) -> Result<Option<Verification>, SqlError> {
        read!(self, db => verifications::by_client_ref(db, partner_id, client_ref_id))
    }
}
