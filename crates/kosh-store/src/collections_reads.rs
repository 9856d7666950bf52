//! Collections' reads: QR codes and payments, CMS pages and payments, loans.

use crate::ops::collections::{self as ops, CmsPayment, CmsSession, QrCode, QrPayment};
use crate::postgres::PgConn;
use crate::sql::SqlError;
use crate::sqlite::{run_ready, SqliteConn};
use crate::{Backend, Store};

impl Store {
    /// The partner's QR code with this reference (`client_ref_id`).
    pub async fn qr_code(&self, partner_id: i64, client_ref_id: &str) -> Result<Option<QrCode>, SqlError> {
        read!(self, db => ops::qr_by_ref(db, partner_id, client_ref_id))
    }

    /// The QR code `id`.
    pub async fn qr_code_by_id(&self, id: i64) -> Result<Option<QrCode>, SqlError> {
        read!(self, db => ops::qr_by_id(db, id))
    }

    /// The partner's QR payment `tid`.
    pub async fn qr_payment(&self, partner_id: i64, tid: i64) -> Result<Option<QrPayment>, SqlError> {
        read!(self, db => ops::payment(db, partner_id, tid))
    }

    /// The newest payment to the partner's QR `qr_id`.
    pub async fn latest_qr_payment(&self, partner_id: i64, qr_id: i64) -> Result<Option<QrPayment>, SqlError> {
        read!(self, db => ops::latest_payment(db, partner_id, qr_id))
    }
}

impl Store {
    /// The CMS session whose URL token hashes to `token_hash`.
    pub async fn cms_session_by_token_hash(&self, token_hash: &str) -> Result<Option<CmsSession>, SqlError> {
        read!(self, db => ops::session_by_token_hash(db, token_hash))
    }

    /// The CMS payment `tid` (of any partner: callers check whose it is).
    pub async fn cms_payment(&self, tid: i64) -> Result<Option<CmsPayment>, SqlError> {
        read!(self, db => ops::cms_payment(db, tid))
    }

    /// The partner's newest CMS payment with this `client_ref_id`.
    pub async fn cms_payment_by_ref(&self, partner_id: i64, client_ref_id: &str) -> Result<Option<CmsPayment>, SqlError> {
        read!(self, db => ops::cms_payment_by_ref(db, partner_id, client_ref_id))
    }
}

impl Store {
    /// The loan `loan_id`, with its tranches (of any partner: callers check whose it is).
    pub async fn loan(&self, loan_id: i64) -> Result<Option<crate::ops::loans::Loan>, SqlError> {
        read!(self, db => crate::ops::loans::get(db, loan_id))
    }

    /// The repayments of loan `loan_id`, oldest first.
    pub async fn loan_repayments(&self, loan_id: i64) -> Result<Vec<crate::ops::loans::Repayment>, SqlError> {
        read!(self, db => crate::ops::loans::repayments(db, loan_id))
    }
}
