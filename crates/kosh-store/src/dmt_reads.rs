//! The store's money-transfer reads: customers, recipients, transfers.

use crate::ops::dmt_customers::{self, Customer};
use crate::ops::dmt_recipients::{self, Recipient};
use crate::ops::dmt_transfers::{self, Transfer};
use crate::postgres::PgConn;
use crate::sql::SqlError;
use crate::sqlite::{run_ready, SqliteConn};
use crate::{Backend, Store};
use kosh_core::ids::{PartnerId, RecipientId, Tid};

impl Store {
    /// The partner's DMT customer with this mobile number.
    pub async fn dmt_customer(&self, partner_id: PartnerId, mobile: &str) -> Result<Option<Customer>, SqlError> {
        read!(self, db => dmt_customers::get(db, partner_id, mobile))
    }

    /// The customer's recipients, oldest first (at most [`dmt_recipients::MAX_LIST`]).
    pub async fn dmt_recipients(&self, partner_id: PartnerId, mobile: &str) -> Result<Vec<Recipient>, SqlError> {
        read!(self, db => dmt_recipients::list(db, partner_id, mobile))
    }

    /// A recipient of the partner by id, whichever customer it belongs to.
    pub async fn dmt_recipient(&self, partner_id: PartnerId, recipient_id: RecipientId) -> Result<Option<Recipient>, SqlError> {
        read!(self, db => dmt_recipients::get(db, partner_id, recipient_id))
    }

    /// The partner's transfer `tid`.
    pub async fn dmt_transfer(&self, partner_id: PartnerId, tid: Tid) -> Result<Option<Transfer>, SqlError> {
        read!(self, db => dmt_transfers::get(db, partner_id, tid))
    }

    /// The partner's transfer with this `client_ref_id`.
    pub async fn dmt_transfer_by_client_ref(
        &self,
        partner_id: PartnerId,
        client_ref_id: &str,
    ) -> Result<Option<Transfer>, SqlError> {
        read!(self, db => dmt_transfers::by_client_ref(db, partner_id, client_ref_id))
    }

    /// The partner's transfers after `after_tid`, oldest first (at most [`dmt_transfers::MAX_LIST`]).
    pub async fn dmt_transfers(&self, partner_id: PartnerId, after_tid: Tid) -> Result<Vec<Transfer>, SqlError> {
        read!(self, db => dmt_transfers::list(db, partner_id, after_tid))
    }

    /// Whether any transfer is due for a rail inquiry at `now_ms`.
    pub async fn dmt_any_due(&self, now_ms: i64) -> Result<bool, SqlError> {
        read!(self, db => dmt_transfers::any_due(db, now_ms))
    }
}
