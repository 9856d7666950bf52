//! The Echelon dialect's reads.

use crate::ops::echelon::{self, Merchant, Payment};
use crate::postgres::PgConn;
use crate::sql::SqlError;
use crate::sqlite::{run_ready, SqliteConn};
use crate::{Backend, Store};
use kosh_core::echelon::Direction;
use kosh_core::ids::{MerchantId, PartnerId};

impl Store {
    /// The merchant with this merchant code.
    pub async fn echelon_merchant(&self, merchant_code: &str) -> Result<Option<Merchant>, SqlError> {
        read!(self, db => echelon::merchant_by_code(db, merchant_code))
    }

    /// The merchant with this id.
    pub async fn echelon_merchant_by_id(&self, id: MerchantId) -> Result<Option<Merchant>, SqlError> {
        read!(self, db => echelon::merchant_by_id(db, id))
    }

    /// Every merchant (for the admin console).
    pub async fn echelon_merchants(&self) -> Result<Vec<Merchant>, SqlError> {
        read!(self, db => echelon::merchants(db))
    }

    /// A payin or payout by its merchant order id.
    pub async fn echelon_payment(
        &self,
        merchant_id: MerchantId,
        direction: Direction,
        order_id: &str,
    ) -> Result<Option<Payment>, SqlError> {
        read!(self, db => echelon::payment(db, merchant_id, direction, order_id))
    }

    /// A payment by Kosh's own id (`idPayment`).
    pub async fn echelon_payment_by_id_payment(&self, id_payment: &str) -> Result<Option<Payment>, SqlError> {
        read!(self, db => echelon::payment_by_id_payment(db, id_payment))
    }

    /// Processing payments whose `check_at_ms` has come, oldest first.
    pub async fn echelon_due(&self, now_ms: i64, limit: i64) -> Result<Vec<Payment>, SqlError> {
        read!(self, db => echelon::due(db, now_ms, limit))
    }

    /// When the partner's ledger last moved, if ever.
    pub async fn last_ledger_movement(&self, partner_id: PartnerId) -> Result<Option<i64>, SqlError> {
        read!(self, db => echelon::last_ledger_movement(db, partner_id))
    }
}
