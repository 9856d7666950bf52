//! Bill payments (BBPS bills, recharges, credit-card bills), shaped like [`super::dmt`]:
//! a fetch asks the biller, then records the bill; a payment is *record* (one command:
//! idempotency claim, the bill checked and claimed, the debit reserved) → the biller
//! ([`BillerProvider`]) → *apply* its answer (one command). A payment the biller
//! answers later (offline channel, slow biller), or whose request died between the
//! steps, has a `check_at_ms`; the worker ([`crate::workers::bbps`]) finishes it through
//! [`check`], and the change goes out as the status callback.

use super::StoreError;
use crate::config::Config;
use crate::state::AppState;
use kosh_core::dmt::TxStatus;
use kosh_core::ids::{PartnerId, Tid};
use kosh_core::ledger::AccountKind;
use kosh_core::money::Paise;
use kosh_rails::biller::{BillOrder, BillQuery, BillerError, BillerProvider, BillerStatus, FetchAnswer};
use kosh_rails::sandbox::biller::SandboxBiller;
use kosh_store::commands::bbps::{
    ApplyBillerReport, BillFetch, BillerReport, NewBillPayment, PaymentRecord, PaymentView, RecordBill,
};
use kosh_store::commands::{IdemKey, RequestHashUse};
use kosh_store::error::CommandError;
use kosh_store::ops::bbps::{Bill, Payment};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The sandbox biller with this configuration's timings.
pub fn sandbox_biller(config: &Config) -> Arc<dyn BillerProvider> {
    let awaited_ms = i64::try_from(config.bbps_awaited_secs).unwrap_or(21_600).saturating_mul(1000);
    Arc::new(SandboxBiller { awaited_ms })
}

/// Why nothing was fetched or paid.
#[derive(Debug)]
pub enum BbpsError {
    /// No biller connector on this node (outside sandbox mode): nothing was recorded.
    NoBiller,
    /// The biller is down: nothing was fetched.
    BillerDown(String),
    /// The store refused it (a product rule, a reused `client_ref_id` or request hash).
    Refused(CommandError),
    /// The store could not answer.
    Store(String),
}

/// Why nothing can be fetched or paid outside sandbox mode.
pub const NO_BILLER: &str = "no biller connector is configured on this server (the sandbox biller runs only in sandbox mode)";
/// The `reason` of a payment refused because the biller was down starts with this.
pub const BILLER_DOWN_PREFIX: &str = "Biller down: ";

/// A fetch: the operator, the account and the operator's other parameters.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The partner fetching.
    pub partner_id: PartnerId,
    /// The catalogue operator.
    pub operator_id: i64,
    /// `utility_acc_no`.
    pub account: String,
    /// The operator's other parameters, as sent.
    pub params: BTreeMap<String, String>,
}

/// What a fetch found.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// A bill is due; it is stored for the payment to name (boxed: far larger than the rest).
    Bill(Box<Bill>),
    /// Nothing is due.
    NoBillDue,
    /// The bill due was paid already, by `tid`.
    AlreadyPaid(Tid),
}

fn biller(app: &AppState) -> Result<&Arc<dyn BillerProvider>, BbpsError> {
    app.biller.as_ref().ok_or(BbpsError::NoBiller)
}

/// Asks the biller for the account's bill and stores it.
pub async fn fetch(app: &AppState, request: FetchRequest) -> Result<Fetched, BbpsError> {
    let query = BillQuery { operator_id: request.operator_id, account: request.account.clone(), params: request.params };
    let answer = biller(app)?.fetch(&query, app.now_ms()).await;
    let bill = match answer {
        Err(BillerError::Unavailable(why)) => return Err(BbpsError::BillerDown(why)),
        Ok(FetchAnswer::NoBillDue) => return Ok(Fetched::NoBillDue),
        Ok(FetchAnswer::Bill(bill)) => bill,
    };
    let record = RecordBill {
        partner_id: request.partner_id,
        operator_id: request.operator_id,
        utility_acc_no: request.account,
        amount_paise: bill.amount,
        customer_name: bill.customer_name,
        bill_number: bill.bill_number,
        bill_date: bill.bill_date,
        due_date: bill.due_date,
        biller_reference: bill.reference,
        fetch_token: kosh_core::secret::new_token(24),
    };
    match app.store.execute(record).await.map_err(BbpsError::Refused)? {
        BillFetch::Recorded(bill) => Ok(Fetched::Bill(bill)),
        BillFetch::AlreadyPaid { tid } => Ok(Fetched::AlreadyPaid(tid)),
    }
}

/// What a payment request answers.
#[derive(Debug, Clone)]
pub enum Paid {
    /// The payment as it stands.
    Payment(PaymentView),
    /// Its amount was not the fetched bill's: recorded failed, nothing debited.
    Mismatch {
        /// The failed payment.
        view: PaymentView,
        /// The fetched bill's amount.
        bill_amount_paise: Paise,
    },
}

/// Records a payment under `key` (and `request_hash`), then hands it to the biller and
/// applies the answer. The same request again answers the payment as it stands now,
/// without asking the biller.
pub async fn pay(
    app: &AppState,
    key: IdemKey,
    request_hash: Option<RequestHashUse>,
    request: NewBillPayment,
) -> Result<Paid, BbpsError> {
    biller(app)?;
    let executed = app.store.execute_idempotent_with_hash(key, request_hash, request).await.map_err(BbpsError::Refused)?;
    let view = match executed.outcome {
        PaymentRecord::AmountMismatch { view, bill_amount_paise } => return Ok(Paid::Mismatch { view, bill_amount_paise }),
        PaymentRecord::Recorded(view) => view,
    };
    if executed.replayed {
        let current = app.store.bbps_payment(view.payment.partner_id, view.payment.tid).await;
        let current = current.map_err(|e| BbpsError::Store(e.to_string()))?.unwrap_or(view.payment);
        return with_balance(app, current).await.map(Paid::Payment).map_err(|e| BbpsError::Store(e.to_string()));
    }
    Ok(Paid::Payment(submit(app, view).await))
}

/// A payment as an inquiry answers it: one awaited whose time to ask has come is asked
/// about first; if the biller cannot be asked, the stored status is answered.
pub async fn inquire(app: &AppState, payment: Payment) -> Result<PaymentView, StoreError> {
    let due = payment.tx_status == TxStatus::Initiated && payment.check_at_ms.is_some_and(|at| at <= app.now_ms());
    if due {
        match check(app, &payment).await {
            Ok(view) => return Ok(view),
            Err(e) => {
                tracing::warn!(tid = %payment.tid, error = %e, "inquiry could not ask the biller; answering the stored status")
            }
        }
    }
    with_balance(app, payment).await
}

/// The payment with the partner's available e-value.
pub async fn with_balance(app: &AppState, payment: Payment) -> Result<PaymentView, StoreError> {
    let balance = app.store.balance(payment.partner_id, &AccountKind::PartnerWallet).await?;
    Ok(PaymentView { payment, balance_paise: balance.available_credit() })
}

/// The order the biller knows a payment by.
pub fn order_of(p: &Payment) -> BillOrder {
    BillOrder {
        reference: p.tid.to_string(),
        operator_id: p.operator_id,
        account: p.utility_acc_no.clone(),
        amount: p.charges.amount_paise,
        offline: p.hc_channel,
        submitted_at_ms: p.created_at_ms,
    }
}

fn report_of(answer: Result<BillerStatus, BillerError>, retry_at_ms: i64) -> BillerReport {
    match answer {
        Ok(BillerStatus::Paid { reference }) => BillerReport::Paid { biller_reference: reference },
        Ok(BillerStatus::Failed { reason, accepted }) => BillerReport::Failed { reason, accepted },
        Ok(BillerStatus::Awaited { check_at_ms }) => BillerReport::Awaited { check_at_ms },
        Err(BillerError::Unavailable(why)) => {
            BillerReport::Unavailable { reason: format!("{BILLER_DOWN_PREFIX}{why}"), retry_at_ms }
        }
    }
}

fn retry_at_ms(app: &AppState, now_ms: i64) -> i64 {
    now_ms.saturating_add(i64::try_from(app.config.rail_recovery_secs).unwrap_or(3_600) * 1000)
}

/// Hands a freshly recorded payment to the biller and applies the answer (no callback:
/// the answer goes back in the response). If the answer cannot be stored, the payment
/// stays as recorded and the worker finishes it later.
async fn submit(app: &AppState, view: PaymentView) -> PaymentView {
    let now_ms = app.now_ms();
    let answer = match &app.biller {
        Some(biller) => biller.pay(&order_of(&view.payment), now_ms).await,
        None => Err(BillerError::Unavailable(NO_BILLER.into())),
    };
    match apply(app, &view.payment, report_of(answer, retry_at_ms(app, now_ms)), false).await {
        Ok(applied) => applied,
        Err(e) => {
            tracing::error!(tid = %view.payment.tid, error = %e, "could not store the biller's answer; the worker will finish the payment");
            view
        }
    }
}

/// Asks the biller where a payment stands and applies the answer, announcing any change
/// through the outbox.
pub async fn check(app: &AppState, p: &Payment) -> Result<PaymentView, StoreError> {
    let now_ms = app.now_ms();
    let answer = match &app.biller {
        Some(biller) if p.answered => biller.status(&order_of(p), now_ms).await,
        // The request died before handing it over: hand it over now.
        Some(biller) => biller.pay(&order_of(p), now_ms).await,
        None => Err(BillerError::Unavailable(NO_BILLER.into())),
    };
    apply(app, p, report_of(answer, retry_at_ms(app, now_ms)), true).await
}

async fn apply(app: &AppState, p: &Payment, report: BillerReport, notify: bool) -> Result<PaymentView, StoreError> {
    let cmd = ApplyBillerReport { partner_id: p.partner_id, tid: p.tid, report, notify };
    Ok(app.store.execute(cmd).await?.view)
}
