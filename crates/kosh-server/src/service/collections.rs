//! UPI QR collection: generating an agent's QR code, and accepting a customer's payment
//! to it (in sandbox mode from the simulated UPI network: the sandbox endpoint, the
//! `kosh sandbox qr-pay` command, or the magic amount that pays a dynamic QR at once).
//! Settlement (T+1 on the injected clock) is the collections worker's.

use crate::state::AppState;
use kosh_core::collections::{self as rules, QrBank};
use kosh_core::money::Paise;
use kosh_core::pricing::Pricing;
use kosh_store::commands::collections::{AcceptQrPayment, CreateQr, QrCreated, QrPaymentAccepted};
use kosh_store::error::CommandError;
use kosh_store::ops::collections::NewQr;
use kosh_store::Store;
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;

/// The VPA the sandbox's simulated customer pays from.
pub const SANDBOX_PAYER_VPA: &str = "customer@oksandbox";

/// A QR code as an adapter asks for it.
pub struct QrRequest {
    pub partner_id: i64,
    pub user_code: i64,
    pub sender_id: String,
    pub bank: QrBank,
    pub amount: Option<Paise>,
    pub name: String,
    pub email: String,
}

/// Generates the QR (a static one again: the existing one). In sandbox mode a dynamic
/// QR for a magic amount is paid by the simulated customer before this answers.
pub async fn generate_qr(app: &AppState, r: QrRequest) -> Result<QrCreated, CommandError> {
    let suffix = Alphanumeric.sample_string(&mut rand::rng(), 14);
    let qr = NewQr {
        partner_id: r.partner_id,
        user_code: r.user_code,
        sender_id: r.sender_id,
        bank: r.bank,
        amount: r.amount,
        client_ref_id: format!("qr_{suffix}"),
        utility_acc_no: format!("cust_{suffix}"),
        name: r.name,
        email: r.email,
    };
    let created = app.store.execute(CreateQr { qr }).await?;
    if let (true, Some(amount)) = (app.config.sandbox, created.qr.amount) {
        if created.created && rules::is_sandbox_autopay(amount) {
            let paid =
                accept_payment(&app.store, &app.config.qr_pricing, r.partner_id, &created.qr.client_ref_id, amount).await?;
            return Ok(QrCreated { qr: paid.qr, created: true });
        }
    }
    Ok(created)
}

/// A customer's payment of `amount` to the partner's QR `qr_reference`, as the UPI
/// network reports it: accepted now, settled at T+1.
pub async fn accept_payment(
    store: &Store,
    pricing: &Pricing,
    partner_id: i64,
    qr_reference: &str,
    amount: Paise,
) -> Result<QrPaymentAccepted, CommandError> {
    let utr = format!("{:012}", rand::rng().random_range(100_000_000_000u64..1_000_000_000_000));
    let cmd = AcceptQrPayment {
        partner_id,
        qr_reference: qr_reference.to_owned(),
        charges: pricing.charges(amount),
        payer_vpa: SANDBOX_PAYER_VPA.into(),
        utr,
        settle_at_ms: store.now_ms() + rules::QR_SETTLEMENT_MS,
    };
    store.execute(cmd).await
}
