//! Domain events: what happened, in the domain's own terms, as the outbox stores them.
//!
//! The store writes an [`Event`] in the same transaction as the change it describes;
//! each dialect renders its partner's callback body from it when the event is
//! delivered (kosh-server's `eko::callbacks` and `echelon::callbacks`). So no wire
//! format is frozen into stored rows, and a dialect's body changes in one place.
//!
//! The `kind` tag names an event and its version. Changing an event's fields makes a
//! new kind (`….v2`); a kind stays readable as long as stored events of it may exist.

use crate::aeps;
use crate::collections::PaymentStatus;
use crate::dmt::{DmtChannel, TxStatus};
use crate::echelon::{Direction, Status};
use crate::ids::{RecipientId, Tid, UserCode};
use crate::money::Paise;
use serde::{Deserialize, Serialize};

/// Field names of the dialects' callback bodies (Eko status callback and Token
/// acknowledgement, Echelon's anemic callback and its delivery envelope). No stored
/// event carries one: bodies are rendered from events at delivery, outside the store,
/// and the store's tests check every event they write against this list.
pub const DIALECT_FIELD_NAMES: [&str; 14] = [
    "tx_status",
    "txstatus_desc",
    "old_tx_status",
    "old_tx_status_desc",
    "client_ref_id",
    "bank_ref_num",
    "payment_mode",
    "channel_desc",
    "beneficiary_account_type",
    "customer_id",
    "timestamp",
    "idEntity",
    "url",
    "body",
];

/// An event the outbox stores: a partner is told about most; an AePS transaction's
/// change is internal (recorded, never delivered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Event {
    /// A DMT transfer's `tx_status` changed (the partner's status callback).
    #[serde(rename = "dmt.transfer_status_changed.v1")]
    TransferStatusChanged(TransferStatusChanged),
    /// A Token was paid (the issuer's acknowledgement).
    #[serde(rename = "token.paid.v1")]
    TokenPaid(TokenPaid),
    /// An Echelon payment changed status (the merchant's anemic callback).
    #[serde(rename = "echelon.payment_status_changed.v1")]
    PaymentStatusChanged(PaymentStatusChanged),
    /// An AePS transaction was recorded or settled (internal, never delivered).
    #[serde(rename = "aeps.transaction_changed.v1")]
    AepsTransactionChanged(AepsTransactionChanged),
    /// A bill payment's `tx_status` changed after the partner's first answer (the
    /// partner's status callback).
    #[serde(rename = "bbps.payment_status_changed.v1")]
    BillPaymentStatusChanged(BillPaymentStatusChanged),
    /// A payout (fund transfer, UPI payment) left `initiated` (the partner's common
    /// status callback).
    #[serde(rename = "payout.status_changed.v1")]
    PayoutStatusChanged(PayoutStatusChanged),
    /// A payment to a UPI QR code was accepted or settled (the status callback).
    #[serde(rename = "collections.qr_payment_status_changed.v1")]
    QrPaymentStatusChanged(QrPaymentStatusChanged),
    /// A CMS (cash drop) payment succeeded or failed (the status callback).
    #[serde(rename = "collections.cms_payment_status_changed.v1")]
    CmsPaymentStatusChanged(CmsPaymentStatusChanged),
    /// A loan was disbursed or repaid (the lender's callback).
    #[serde(rename = "loans.loan_changed.v1")]
    LoanChanged(LoanChanged),
}

impl Event {
    /// Every `kind` tag, so a reader can tell a typed event from an untyped payload.
    pub const KINDS: [&'static str; 9] = [
        "dmt.transfer_status_changed.v1",
        "token.paid.v1",
        "echelon.payment_status_changed.v1",
        "aeps.transaction_changed.v1",
        "bbps.payment_status_changed.v1",
        "payout.status_changed.v1",
        "collections.qr_payment_status_changed.v1",
        "collections.cms_payment_status_changed.v1",
        "loans.loan_changed.v1",
    ];

    /// This event's `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::TransferStatusChanged(_) => Event::KINDS[0],
            Event::TokenPaid(_) => Event::KINDS[1],
            Event::PaymentStatusChanged(_) => Event::KINDS[2],
            Event::AepsTransactionChanged(_) => Event::KINDS[3],
            Event::BillPaymentStatusChanged(_) => Event::KINDS[4],
            Event::PayoutStatusChanged(_) => Event::KINDS[5],
            Event::QrPaymentStatusChanged(_) => Event::KINDS[6],
            Event::CmsPaymentStatusChanged(_) => Event::KINDS[7],
            Event::LoanChanged(_) => Event::KINDS[8],
        }
    }

    /// Reads a stored payload: `Ok(None)` when it carries no event `kind` tag (it is
    /// a callback body stored as sent), an error when it names an event kind but does
    /// not hold one.
    pub fn from_payload(payload: &serde_json::Value) -> Result<Option<Event>, String> {
        let tagged = payload.get("kind").and_then(|k| k.as_str()).is_some_and(|k| Event::KINDS.contains(&k));
        if !tagged {
            return Ok(None);
        }
        Event::deserialize(payload).map(Some).map_err(|e| format!("the stored {} event is malformed: {e}", payload["kind"]))
    }
}

/// Where a transaction stands, as the common status callback sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Initiated: the outcome is not known yet (a hold, awaiting inquiry, included).
    Initiated,
    /// Done: the money reached the recipient.
    Succeeded,
    /// Failed (a failure after initiation that awaits its refund included).
    Failed,
    /// After the outcome: refunds and the like.
    Settled,
}

/// The platform's rule for the common transaction status callback (DMT, fund transfer,
/// QR, CMS, BBPS): it is sent only when a transaction moves from initiated to success
/// or failed. A product's store command appends its callback event only when this holds.
pub fn status_callback_due(old: Phase, new: Phase) -> bool {
    old == Phase::Initiated && matches!(new, Phase::Succeeded | Phase::Failed)
}

impl TxStatus {
    /// This DMT status's phase for the common status callback.
    pub fn phase(self) -> Phase {
        match self {
            TxStatus::Initiated | TxStatus::Hold => Phase::Initiated,
            TxStatus::Success => Phase::Succeeded,
            TxStatus::Fail | TxStatus::RefundPending => Phase::Failed,
            TxStatus::Refunded => Phase::Settled,
        }
    }
}

/// A payout moved from one status to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutStatusChanged {
    /// Kosh's transaction id of the payout.
    pub tid: i64,
    /// The partner's own reference for it, unique per partner.
    pub partner_reference: String,
    /// The status before the change.
    pub old_status: TxStatus,
    /// The status after the change.
    pub status: TxStatus,
    /// NEFT, IMPS, RTGS or UPI.
    pub mode: crate::payouts::PaymentMode,
    /// The amount sent.
    pub amount: Paise,
    /// The fee, GST included.
    pub fee: Paise,
    /// The GST part of `fee`.
    pub gst: Paise,
    /// The bank's reference (UTR); empty until settled.
    pub utr: String,
    /// The beneficiary's name.
    pub recipient_name: String,
    /// The beneficiary's account number (or VPA).
    pub account: String,
    /// The beneficiary's IFSC (empty for UPI).
    pub ifsc: String,
    /// The sender's name as the partner gave it.
    pub sender_name: String,
    /// 1 savings, 2 current, when the partner said.
    pub account_type: Option<i64>,
    /// Why it failed, when it did.
    pub reason: String,
    /// When the change happened (the callback's timestamp).
    pub at_ms: i64,
}

/// A money transfer moved from one status to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferStatusChanged {
    /// Kosh's transaction id of the transfer.
    pub tid: Tid,
    /// The partner's own reference for the transfer, unique per partner.
    pub partner_reference: String,
    /// The agent who sent it.
    pub user_code: UserCode,
    /// The status before the change (the callback fires only on a real move).
    pub old_status: TxStatus,
    /// The status after the change.
    pub status: TxStatus,
    /// IMPS or NEFT: the rail the transfer went by.
    pub channel: DmtChannel,
    /// The amount sent to the recipient.
    pub amount: Paise,
    /// Charged to the customer, GST included.
    pub fee: Paise,
    /// The GST part of `fee`.
    pub gst: Paise,
    /// Earned by the partner.
    pub commission: Paise,
    /// Withheld from the commission.
    pub tds: Paise,
    /// The bank's reference (UTR); empty until settled.
    pub utr: String,
    /// The recipient's id under the customer.
    pub recipient_id: RecipientId,
    /// The recipient's name as registered.
    pub recipient_name: String,
    /// The recipient's account number.
    pub account: String,
    /// The recipient's branch IFSC.
    pub ifsc: String,
    /// The sending customer's name.
    pub sender_name: String,
    /// The sending customer's mobile number (their customer id).
    pub sender_mobile: String,
    /// The refund's transaction id, once refunded.
    pub refund_tid: Option<Tid>,
    /// Why it failed, when it did.
    pub reason: String,
    /// When the change happened (the callback's timestamp).
    pub at_ms: i64,
}

/// A Token was paid at an agent: its issuer is told (the acknowledgement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPaid {
    /// The token number.
    pub token: String,
    /// The issuer's own reference for the token.
    pub partner_reference: String,
    /// The issuer's customer: their id (mobile) and the name the payment was taken in.
    pub customer: String,
    /// The customer's name as the payment was taken.
    pub customer_name: String,
    /// The amount collected.
    pub amount: Paise,
    /// Kosh's transaction id of the payment.
    pub tid: String,
}

/// An Echelon payin or payout moved from one status to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentStatusChanged {
    /// Payin or payout: which of the merchant's endpoints the id belongs to.
    pub direction: Direction,
    /// The merchant's order id.
    pub order_id: String,
    /// Kosh's own id of the payment.
    pub payment_ref: String,
    /// `None` for a payment created in its final status.
    pub old_status: Option<Status>,
    /// The status after the change.
    pub status: Status,
    /// The payment's amount.
    pub amount: Paise,
    /// The platform's fee on it.
    pub fee: Paise,
    /// Where the merchant asked to be told, given with the payment.
    pub notify_url: String,
}

/// An AePS transaction was recorded, or settled after the bank's late answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AepsTransactionChanged {
    /// Kosh's transaction id.
    pub tid: Tid,
    /// The partner's own reference for the transaction.
    pub partner_reference: String,
    /// How it came in: `api` or `gateway`.
    pub channel: String,
    /// The agent at whose counter it happened.
    pub user_code: UserCode,
    /// Cash withdrawal, balance enquiry or mini statement.
    pub tx_type: aeps::TxType,
    /// The amount withdrawn (zero for enquiries).
    pub amount: Paise,
    /// Earned by the partner.
    pub commission: Paise,
    /// Withheld from the commission.
    pub tds: Paise,
    /// Where the transaction stands.
    pub status: aeps::TxStatus,
    /// Why it failed, when it did.
    pub reason: String,
    /// The customer's Aadhaar number, masked.
    pub aadhaar_masked: String,
}

/// A bill payment (BBPS, recharge or credit-card bill) moved from one status to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillPaymentStatusChanged {
    /// Kosh's transaction id of the payment.
    pub tid: Tid,
    /// The partner's own reference for the payment, unique per partner.
    pub partner_reference: String,
    /// The agent at whose counter it was paid.
    pub user_code: UserCode,
    /// The status before the change.
    pub old_status: TxStatus,
    /// The status after the change.
    pub status: TxStatus,
    /// A catalogue bill or a credit-card bill (not `kind`: that is the event's tag).
    pub payment_kind: crate::bbps::PaymentKind,
    /// The biller (`bbps::CREDIT_CARD_OPERATOR_ID` for a credit-card bill).
    pub operator_id: i64,
    /// The biller's name, at the time of the payment.
    pub operator_name: String,
    /// The account the bill belongs to (for a card: the card account).
    pub account: String,
    /// The amount paid to the biller.
    pub amount: Paise,
    /// Charged on top, GST included.
    pub fee: Paise,
    /// The GST part of `fee`.
    pub gst: Paise,
    /// Earned by the partner.
    pub commission: Paise,
    /// Withheld from the commission.
    pub tds: Paise,
    /// The biller's (BBPS) reference, once paid.
    pub biller_reference: String,
    /// The customer who paid.
    pub sender_name: String,
    /// The customer's mobile number.
    pub customer_mobile: String,
    /// Why it failed, when it did.
    pub reason: String,
    /// When the change happened.
    pub at_ms: i64,
}

/// A payment to a UPI QR code moved: accepted (`old_status` none, status initiated),
/// then settled at T+1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrPaymentStatusChanged {
    /// Kosh's transaction id of the payment.
    pub tid: i64,
    /// The QR code's reference (its `client_ref_id`, `utility_acc_no`).
    pub qr_reference: String,
    /// The agent the QR belongs to.
    pub user_code: i64,
    /// The agent's mobile number the QR was generated for.
    pub sender_mobile: String,
    /// The status before the change; `None` at acceptance.
    pub old_status: Option<PaymentStatus>,
    /// The status after the change.
    pub status: PaymentStatus,
    /// What the customer paid.
    pub amount: Paise,
    /// The merchant discount rate charged, GST included.
    pub fee: Paise,
    /// The GST part of `fee`.
    pub gst: Paise,
    /// Earned by the partner.
    pub commission: Paise,
    /// Withheld from the commission.
    pub tds: Paise,
    /// The paying customer's VPA.
    pub payer_vpa: String,
    /// The UPI network's reference (RRN).
    pub utr: String,
    /// When the change happened.
    pub at_ms: i64,
}

/// A CMS (cash drop) payment of an EMI from an agent's wallet succeeded or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmsPaymentStatusChanged {
    /// Kosh's transaction id.
    pub tid: i64,
    /// The partner's reference of the CMS session.
    pub partner_reference: String,
    /// The agent who paid.
    pub user_code: i64,
    /// The status before the change (initiated).
    pub old_status: PaymentStatus,
    /// The status after the change.
    pub status: PaymentStatus,
    /// The EMI paid.
    pub amount: Paise,
    /// Earned by the partner.
    pub commission: Paise,
    /// Withheld from the commission.
    pub tds: Paise,
    /// The biller (lender) paid.
    pub biller_id: String,
    /// The biller's name.
    pub biller_name: String,
    /// The loan or account reference the EMI was paid to.
    pub loan_reference: String,
    /// Why it failed, when it did.
    pub reason: String,
    /// When the change happened.
    pub at_ms: i64,
}

/// A loan moved: disbursed, or repaid in part or in full. The lender is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanChanged {
    /// Kosh's loan id.
    pub loan_id: i64,
    /// The lender's own reference for the loan.
    pub partner_reference: String,
    /// `disbursed`, `repayment` or `repaid` (the last repayment).
    pub change: String,
    /// The repayment's id (for a repayment).
    pub repayment_id: Option<i64>,
    /// The borrowing agent.
    pub user_code: i64,
    /// The principal.
    pub principal: Paise,
    /// What this change moved (the disbursal or the repayment).
    pub amount: Paise,
    /// What is still owed after it.
    pub outstanding: Paise,
    /// Whether the repayment paid a tranche past its due date.
    pub late: bool,
    /// When it happened.
    pub at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid() -> Event {
        Event::TokenPaid(TokenPaid {
            token: "123".into(),
            partner_reference: "R1".into(),
            customer: "9400000000".into(),
            customer_name: "A".into(),
            amount: Paise::new(150_000).unwrap(),
            tid: "7".into(),
        })
    }

    #[test]
    fn the_status_callback_is_due_only_from_initiated_to_an_outcome() {
        use TxStatus::*;
        let due = |old: TxStatus, new: TxStatus| status_callback_due(old.phase(), new.phase());
        assert!(due(Initiated, Success) && due(Initiated, Fail) && due(Hold, Success) && due(Initiated, RefundPending));
        assert!(!due(RefundPending, Refunded) && !due(Initiated, Hold) && !due(Success, Success) && !due(Fail, Fail));
    }

    #[test]
    fn an_event_reads_back_from_its_payload() {
        let payload = serde_json::to_value(paid()).unwrap();
        assert_eq!(payload["kind"], "token.paid.v1");
        assert_eq!(payload["kind"], paid().kind());
        assert_eq!(Event::from_payload(&payload), Ok(Some(paid())));
    }

    #[test]
    fn an_echelon_event_names_no_wire_field() {
        let event = Event::PaymentStatusChanged(PaymentStatusChanged {
            direction: Direction::Payin,
            order_id: "PI-1".into(),
            payment_ref: "P1".into(),
            old_status: None,
            status: Status::Refused,
            amount: Paise::new(100).unwrap(),
            fee: Paise::ZERO,
            notify_url: "http://127.0.0.1:9/cb".into(),
        });
        let stored = serde_json::to_value(&event).unwrap();
        for wire in ["idEntity", "idPayin", "idPayment", "callbackUrl", "url", "body"] {
            assert!(stored.get(wire).is_none(), "{wire} in {stored}");
        }
        assert_eq!(Event::from_payload(&stored), Ok(Some(event)));
    }

    #[test]
    fn an_untagged_payload_is_no_event_and_a_tagged_one_must_parse() {
        assert_eq!(Event::from_payload(&serde_json::json!({"tx_status": 0, "kind": "other"})), Ok(None));
        let broken = serde_json::json!({"kind": "token.paid.v1", "token": "1"});
        assert!(Event::from_payload(&broken).unwrap_err().contains("malformed"));
    }
}
