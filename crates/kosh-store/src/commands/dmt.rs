//! Money transfer (DMT) commands. Each runs as one atomic unit with everything it
//! touches: customer and recipient rows, the transfer row, its ledger entry, the
//! customer's monthly-limit counter, OTPs and the outbox.
//!
//! A transfer's life in commands:
//! 1. [`DmtCommand::InitiateTransfer`] checks the customer, recipient, channel and
//!    limits, records the transfer (`tx_status` 2) and a **pending** ledger entry that
//!    reserves the wallet debit. It is found by `tid` and `client_ref_id` from here on.
//! 2. The server asks the rail (outside any transaction), then
//!    [`DmtCommand::ApplyRailReport`] applies the answer: settled → posted (0); refused
//!    at once → voided (1); waiting → 2 or hold 5 with a time to ask again; failed after
//!    the bank accepted it → refund pending (3) with an OTP sent to the customer, even
//!    when that failure is the first answer heard (see `next_status`).
//! 3. [`DmtCommand::Refund`] takes that OTP: voided, e-value back (4).
//!
//! If the server dies between 1 and 2, the transfer's `check_at_ms` (set in 1) comes due
//! and the rail worker, claiming it with [`DmtCommand::ClaimDueTransfers`], finishes it.
//! Every status change after the partner's initial answer appends an `eko.tx_status`
//! outbox event carrying the status callback's body.

use super::{store_command, unexpected, Command, Outcome};
use crate::error::{CmdResult, Rejection};
use crate::ops::dmt_customers::{self as customers, Customer, NewCustomer};
use crate::ops::dmt_recipients::{self as recipients, NewRecipient, Recipient};
use crate::ops::dmt_transfers::{self as transfers, Transfer};
use crate::ops::otp::{self, OtpCheck, OtpIssue, OtpRequest};
use crate::ops::{agents, ledger, outbox};
use crate::sql::Conn;
use kosh_core::banks;
use kosh_core::dmt::{self, CustomerState, DmtChannel, TxStatus};
use kosh_core::events::{Event, TransferStatusChanged};
use kosh_core::ids::{PartnerId, RecipientId, Tid, UserCode};
use kosh_core::ledger::{AccountKind, Entry, EntryState, Leg, Side};
use kosh_core::money::Paise;
use kosh_core::pricing::{Charges, Pricing};
use kosh_core::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The OTP purpose that verifies a DMT customer's mobile number.
pub const CUSTOMER_OTP: &str = "dmt_customer";
/// The ledger entry kind of a transfer.
pub const ENTRY_KIND: &str = "dmt_transfer";

/// The OTP purpose that consents to refunding transfer `tid`.
pub fn refund_otp_purpose(tid: Tid) -> String {
    format!("dmt_refund:{tid}")
}

/// A money-transfer command: customers, recipients, transfers, rail reports, refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DmtCommand {
    /// Enrols a customer (state 1) and sends the verification OTP; for an enrolled but
    /// unverified customer, sends a fresh OTP. A verified customer is left as it is.
    EnrollCustomer(EnrollCustomer),
    /// Sends a fresh verification OTP to an unverified customer.
    SendCustomerOtp(SendCustomerOtp),
    /// Checks the verification OTP; accepted → state 2 (verified, non-KYC).
    VerifyCustomer(VerifyCustomer),
    /// Adds a recipient (beneficiary account) to a verified customer.
    AddRecipient(AddRecipient),
    /// Removes one of a customer's recipients.
    RemoveRecipient(RemoveRecipient),
    /// Records a transfer and reserves its debit; the rail is asked afterwards.
    InitiateTransfer(NewTransfer),
    /// Applies what the rail said about transfer `tid`. `notify`: the partner has had its
    /// initial answer, so a change is announced through the outbox. `refund_otp` is sent
    /// to the customer if the transfer fails after initiation.
    ApplyRailReport(ApplyRailReport),
    /// Leases up to `limit` transfers whose time to ask the rail has come.
    ClaimDueTransfers(ClaimDueTransfers),
    /// Sends a fresh refund OTP for a transfer in refund pending.
    SendRefundOtp(SendRefundOtp),
    /// Refunds a transfer in refund pending, with the customer's OTP as consent.
    Refund(Refund),
}

/// Enrols a customer (state 1) and sends the verification OTP; for an enrolled but
/// unverified customer, sends a fresh OTP. A verified customer is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollCustomer {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The customer's details as sent.
    pub customer: NewCustomer,
    /// The verification OTP to send to the customer's mobile.
    pub otp: OtpRequest,
}

/// Sends a fresh verification OTP to an unverified customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendCustomerOtp {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The customer's mobile number.
    pub mobile: String,
    /// The verification OTP to send.
    pub otp: OtpRequest,
}

/// Checks the verification OTP; accepted → state 2 (verified, non-KYC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyCustomer {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The customer's mobile number.
    pub mobile: String,
    /// The code the user typed; compared in constant time with the stored hash.
    pub code: Secret,
    /// The `otp_ref_id` the OTP was issued with, when the caller names it; a check against another OTP is refused.
    pub otp_ref_id: Option<i64>,
}

/// Adds a recipient (beneficiary account) to a verified customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddRecipient {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The customer's mobile number.
    pub mobile: String,
    /// The recipient's account and bank.
    pub recipient: NewRecipient,
    /// Most recipients one customer may have (a setting).
    pub max_recipients: i64,
}

/// Removes one of a customer's recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveRecipient {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The customer's mobile number.
    pub mobile: String,
    /// The recipient to remove; it must be this customer's.
    pub recipient_id: RecipientId,
}

/// Applies what the rail said about transfer `tid`. `notify`: the partner has had its
/// initial answer, so a change is announced through the outbox. `refund_otp` is sent
/// to the customer if the transfer fails after initiation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyRailReport {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The transfer.
    pub tid: Tid,
    /// What the rail said.
    pub report: RailReport,
    /// The partner has had its first answer: a change is announced through the outbox.
    pub notify: bool,
    /// The refund OTP sent to the customer if the transfer fails after initiation.
    pub refund_otp: OtpRequest,
}

/// Leases up to `limit` transfers whose time to ask the rail has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimDueTransfers {
    /// How long a claimed transfer is leased to this worker, in ms.
    pub lease_ms: i64,
    /// Most transfers per claim.
    pub limit: i64,
}

/// Sends a fresh refund OTP for a transfer in refund pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRefundOtp {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The transfer in refund pending.
    pub tid: Tid,
    /// The refund OTP to send.
    pub otp: OtpRequest,
}

/// Refunds a transfer in refund pending, with the customer's OTP as consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// The partner the command acts for (`partners.id`); it reads and changes only that partner's rows.
    pub partner_id: PartnerId,
    /// The transfer in refund pending.
    pub tid: Tid,
    /// The customer's refund OTP, as typed.
    pub code: Secret,
    /// The `otp_ref_id` the OTP was issued with, when the caller names it; a check against another OTP is refused.
    pub otp_ref_id: Option<i64>,
}

/// A transfer request, checked for shape by the dialect adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTransfer {
    /// The partner sending the money; its wallet pays.
    pub partner_id: PartnerId,
    /// The agent at whose counter the customer stands.
    pub user_code: UserCode,
    /// The partner's unique reference for the transfer.
    pub client_ref_id: String,
    /// The sending customer's mobile number (must be verified).
    pub customer_mobile: String,
    /// The recipient to pay; it must be this customer's.
    pub recipient_id: RecipientId,
    /// What the recipient gets, in paise, within the per-transfer bounds.
    pub amount_paise: Paise,
    /// IMPS or NEFT; the recipient's bank must accept it.
    pub channel: DmtChannel,
    /// This server's pricing table, which the fee, GST, commission and TDS come from.
    pub pricing: Pricing,
    /// How long the request may take to report the rail's first answer before the rail
    /// worker takes over (a crashed or stalled request).
    pub recovery_ms: i64,
}

impl NewTransfer {
    /// The fields the partner sent (see [`super::Command::fingerprint_fields`]): not
    /// `pricing` nor `recovery_ms`, which are this server's settings. Destructured in
    /// full so that a new field must be sorted into one or the other.
    pub fn fingerprint_fields(&self) -> Value {
        let NewTransfer {
            partner_id,
            user_code,
            client_ref_id,
            customer_mobile,
            recipient_id,
            amount_paise,
            channel,
            pricing: _,
            recovery_ms: _,
        } = self;
        json!({
            "partner_id": partner_id,
            "user_code": user_code,
            "client_ref_id": client_ref_id,
            "customer_mobile": customer_mobile,
            "recipient_id": recipient_id,
            "amount_paise": amount_paise,
            "channel": channel,
        })
    }
}

/// What a rail said about a transfer, in the store's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RailReport {
    /// The bank credited the beneficiary.
    Settled {
        /// The bank's reference (UTR), shown to the partner as `bank_ref_num`.
        utr: String,
    },
    /// Refused or returned by the bank: no money reached the beneficiary. `accepted`:
    /// the bank had taken the transfer first (see `kosh_rails::RailStatus::Failed`).
    Failed {
        /// The bank's reason, as the partner will see it.
        reason: String,
        /// True when the bank had accepted the transfer before it failed.
        accepted: bool,
    },
    /// Not final: ask again at `check_at_ms`; `hold` when the bank did not answer.
    Waiting {
        /// When to ask the rail again (ms since the epoch).
        check_at_ms: i64,
        /// True when the bank did not answer (`tx_status` 5, hold).
        hold: bool,
    },
    /// The rail could not be reached or the bank is down: nothing was submitted.
    Unavailable {
        /// Why, kept as the transfer's `reason`.
        reason: String,
        /// When to try again (ms since the epoch).
        retry_at_ms: i64,
    },
}

/// A transfer, and the partner's available e-value after the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferView {
    /// The transfer after the command.
    pub transfer: Transfer,
    /// The partner's available e-value after the command, in paise.
    pub balance_paise: i64,
}

/// What a [`DmtCommand`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DmtOutcome {
    /// Enrolled now, or still unverified: `otp` says whether an OTP went out.
    CustomerEnrolled {
        /// The customer as stored.
        customer: Customer,
        /// Whether a verification OTP went out.
        otp: OtpIssue,
    },
    /// Already verified: nothing changed, no OTP sent.
    CustomerExists(Customer),
    /// Whether a fresh verification OTP went out.
    CustomerOtp(OtpIssue),
    /// The customer, now verified.
    CustomerVerified(Customer),
    /// The OTP was not accepted (the attempt counts).
    OtpRefused(OtpCheck),
    /// The recipient, with its new `recipient_id`.
    RecipientAdded(Recipient),
    /// The recipient was removed.
    RecipientRemoved {
        /// Its id.
        recipient_id: RecipientId,
    },
    /// Recorded, its debit reserved; the rail has not been asked yet.
    TransferRecorded(Transfer),
    /// `changed` is false when the transfer had already moved on (another writer).
    TransferUpdated {
        /// The transfer after the report, and the wallet.
        view: TransferView,
        /// False when the transfer had already moved on (another writer).
        changed: bool,
    },
    /// The transfers leased to the caller.
    DueTransfers(Vec<Transfer>),
    /// Whether a fresh refund OTP went out.
    RefundOtp(OtpIssue),
    /// The refunded transfer, and the wallet credited back.
    Refunded(TransferView),
}

impl DmtOutcome {
    /// Ledger entries posted (for metrics).
    pub fn entries_posted(&self) -> u64 {
        matches!(self, Self::TransferUpdated { view, changed: true } if view.transfer.tx_status == TxStatus::Success).into()
    }

    /// Ledger entries recorded pending (for metrics).
    pub fn entries_pending(&self) -> u64 {
        matches!(self, Self::TransferRecorded(_)).into()
    }

    /// Ledger entries voided (for metrics).
    pub fn entries_voided(&self) -> u64 {
        let voided = |v: &TransferView| matches!(v.transfer.tx_status, TxStatus::Fail | TxStatus::Refunded);
        match self {
            Self::TransferUpdated { view, changed: true } => voided(view).into(),
            Self::Refunded(_) => 1,
            _ => 0,
        }
    }
}

/// What [`EnrollCustomer`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrolment {
    /// The customer is enrolled but unverified: `otp` says whether an OTP went out.
    Sent {
        /// The customer as stored.
        customer: Customer,
        /// Whether a verification OTP went out.
        otp: OtpIssue,
    },
    /// Already verified: nothing changed, no OTP sent.
    AlreadyVerified(Customer),
}

/// What [`SendCustomerOtp`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerOtp {
    /// Whether a fresh verification OTP went out.
    Sent(OtpIssue),
    /// Already verified: nothing changed, no OTP sent.
    AlreadyVerified(Customer),
}

/// What a command that takes an OTP as consent answers ([`VerifyCustomer`], [`Refund`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpConsent<T> {
    /// The OTP was accepted and the command done: what it answers.
    Accepted(T),
    /// The OTP was not accepted (the attempt counts); nothing else changed.
    Refused(OtpCheck),
}

/// What [`ApplyRailReport`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferUpdate {
    /// The transfer after the report, and the wallet.
    pub view: TransferView,
    /// False when the transfer had already moved on (another writer).
    pub changed: bool,
}

fn dmt_outcome(outcome: Outcome) -> CmdResult<DmtOutcome> {
    match outcome {
        Outcome::Dmt(dmt) => Ok(dmt),
        other => unexpected(other),
    }
}

store_command!(DmtCommand => DmtOutcome, Command::Dmt, dmt_outcome, o => o);
store_command!(EnrollCustomer => Enrolment, |c| Command::Dmt(DmtCommand::EnrollCustomer(c)), dmt_outcome,
    DmtOutcome::CustomerEnrolled { customer, otp } => Enrolment::Sent { customer, otp },
    DmtOutcome::CustomerExists(customer) => Enrolment::AlreadyVerified(customer));
store_command!(SendCustomerOtp => CustomerOtp, |c| Command::Dmt(DmtCommand::SendCustomerOtp(c)), dmt_outcome,
    DmtOutcome::CustomerOtp(otp) => CustomerOtp::Sent(otp),
    DmtOutcome::CustomerExists(customer) => CustomerOtp::AlreadyVerified(customer));
store_command!(VerifyCustomer => OtpConsent<Customer>, |c| Command::Dmt(DmtCommand::VerifyCustomer(c)), dmt_outcome,
    DmtOutcome::CustomerVerified(customer) => OtpConsent::Accepted(customer),
    DmtOutcome::OtpRefused(check) => OtpConsent::Refused(check));
store_command!(AddRecipient => Recipient, |c| Command::Dmt(DmtCommand::AddRecipient(c)), dmt_outcome,
    DmtOutcome::RecipientAdded(recipient) => recipient);
store_command!(RemoveRecipient => RecipientId, |c| Command::Dmt(DmtCommand::RemoveRecipient(c)), dmt_outcome,
    DmtOutcome::RecipientRemoved { recipient_id } => recipient_id);
store_command!(NewTransfer => Transfer, |c| Command::Dmt(DmtCommand::InitiateTransfer(c)), dmt_outcome,
    DmtOutcome::TransferRecorded(transfer) => transfer);
store_command!(ApplyRailReport => TransferUpdate, |c| Command::Dmt(DmtCommand::ApplyRailReport(c)), dmt_outcome,
    DmtOutcome::TransferUpdated { view, changed } => TransferUpdate { view, changed });
store_command!(ClaimDueTransfers => Vec<Transfer>, |c| Command::Dmt(DmtCommand::ClaimDueTransfers(c)), dmt_outcome,
    DmtOutcome::DueTransfers(due) => due);
store_command!(SendRefundOtp => OtpIssue, |c| Command::Dmt(DmtCommand::SendRefundOtp(c)), dmt_outcome,
    DmtOutcome::RefundOtp(otp) => otp);
store_command!(Refund => OtpConsent<TransferView>, |c| Command::Dmt(DmtCommand::Refund(c)), dmt_outcome,
    DmtOutcome::Refunded(view) => OtpConsent::Accepted(view),
    DmtOutcome::OtpRefused(check) => OtpConsent::Refused(check));

/// Moved to kosh-core with the rules it reports on; re-exported so callers keep their path.
pub use kosh_core::dmt::DmtRejection;

fn refuse(r: DmtRejection) -> crate::error::CommandError {
    Rejection::Dmt(r).into()
}

pub(super) async fn apply(db: &mut impl Conn, cmd: &DmtCommand, now_ms: i64) -> CmdResult<Outcome> {
    let outcome = match cmd {
        DmtCommand::EnrollCustomer(EnrollCustomer { partner_id, customer, otp }) => {
            enroll(db, *partner_id, customer, otp, now_ms).await?
        }
        DmtCommand::SendCustomerOtp(SendCustomerOtp { partner_id, mobile, otp }) => {
            send_customer_otp(db, *partner_id, mobile, otp, now_ms).await?
        }
        DmtCommand::VerifyCustomer(VerifyCustomer { partner_id, mobile, code, otp_ref_id }) => {
            verify(db, *partner_id, mobile, code.expose(), *otp_ref_id, now_ms).await?
        }
        DmtCommand::AddRecipient(AddRecipient { partner_id, mobile, recipient, max_recipients }) => {
            add_recipient(db, *partner_id, mobile, recipient, *max_recipients, now_ms).await?
        }
        DmtCommand::RemoveRecipient(RemoveRecipient { partner_id, mobile, recipient_id }) => {
            remove_recipient(db, *partner_id, mobile, *recipient_id, now_ms).await?
        }
        DmtCommand::InitiateTransfer(t) => DmtOutcome::TransferRecorded(initiate(db, t, now_ms).await?),
        DmtCommand::ApplyRailReport(ApplyRailReport { partner_id, tid, report, notify, refund_otp }) => {
            apply_report(db, *partner_id, *tid, report, *notify, refund_otp, now_ms).await?
        }
        DmtCommand::ClaimDueTransfers(ClaimDueTransfers { lease_ms, limit }) => {
            DmtOutcome::DueTransfers(transfers::claim_due(db, now_ms, now_ms.saturating_add(*lease_ms), *limit).await?)
        }
        DmtCommand::SendRefundOtp(SendRefundOtp { partner_id, tid, otp }) => {
            send_refund_otp(db, *partner_id, *tid, otp, now_ms).await?
        }
        DmtCommand::Refund(Refund { partner_id, tid, code, otp_ref_id }) => {
            refund(db, *partner_id, *tid, code.expose(), *otp_ref_id, now_ms).await?
        }
    };
    Ok(Outcome::Dmt(outcome))
}

async fn customer(db: &mut impl Conn, partner_id: PartnerId, mobile: &str) -> CmdResult<Customer> {
    customers::get(db, partner_id, mobile).await?.ok_or_else(|| refuse(DmtRejection::CustomerNotFound))
}

async fn enroll(
    db: &mut impl Conn,
    partner_id: PartnerId,
    new: &NewCustomer,
    otp: &OtpRequest,
    now_ms: i64,
) -> CmdResult<DmtOutcome> {
    super::require_partner(db, partner_id).await?;
    agents::get(db, partner_id, new.user_code).await?.ok_or(Rejection::AgentNotFound)?;
    // On PostgreSQL a concurrent enrolment may win the insert; either way the row exists after it.
    customers::insert(db, partner_id, new, now_ms).await?;
    let existing = customer(db, partner_id, &new.mobile).await?;
    if existing.state.may_transact() {
        return Ok(DmtOutcome::CustomerExists(existing));
    }
    let issued = otp::issue(db, partner_id, otp, now_ms).await?;
    Ok(DmtOutcome::CustomerEnrolled { customer: existing, otp: issued })
}

async fn send_customer_otp(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    otp: &OtpRequest,
    now_ms: i64,
) -> CmdResult<DmtOutcome> {
    let existing = customer(db, partner_id, mobile).await?;
    if existing.state.may_transact() {
        return Ok(DmtOutcome::CustomerExists(existing));
    }
    Ok(DmtOutcome::CustomerOtp(otp::issue(db, partner_id, otp, now_ms).await?))
}

async fn verify(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    code: &str,
    otp_ref_id: Option<i64>,
    now_ms: i64,
) -> CmdResult<DmtOutcome> {
    customer(db, partner_id, mobile).await?;
    match otp::check(db, partner_id, CUSTOMER_OTP, mobile, code, otp_ref_id, now_ms).await? {
        OtpCheck::Accepted => {
            customers::change_state(db, partner_id, mobile, CustomerState::OtpPending, CustomerState::VerifiedNonKyc, now_ms)
                .await?;
            Ok(DmtOutcome::CustomerVerified(customer(db, partner_id, mobile).await?))
        }
        refused => Ok(DmtOutcome::OtpRefused(refused)),
    }
}

async fn add_recipient(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    new: &NewRecipient,
    max: i64,
    now_ms: i64,
) -> CmdResult<DmtOutcome> {
    customer(db, partner_id, mobile).await?;
    // Taking the slot first locks the customer's row, so concurrent adds for one
    // customer run one after another and the duplicate check below sees them all.
    if !customers::add_recipient_slot(db, partner_id, mobile, max, now_ms).await? {
        if let Some(same) = recipients::find_same_account(db, partner_id, mobile, &new.account, &new.ifsc).await? {
            return Err(refuse(DmtRejection::RecipientExists { recipient_id: same.recipient_id }));
        }
        return Err(refuse(DmtRejection::TooManyRecipients { max }));
    }
    if let Some(same) = recipients::find_same_account(db, partner_id, mobile, &new.account, &new.ifsc).await? {
        return Err(refuse(DmtRejection::RecipientExists { recipient_id: same.recipient_id }));
    }
    Ok(DmtOutcome::RecipientAdded(recipients::insert(db, partner_id, mobile, new, now_ms).await?))
}

async fn remove_recipient(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    recipient_id: RecipientId,
    now_ms: i64,
) -> CmdResult<DmtOutcome> {
    customer(db, partner_id, mobile).await?;
    if !recipients::delete(db, partner_id, mobile, recipient_id).await? {
        return Err(refuse(recipient_refusal(db, partner_id, recipient_id).await?));
    }
    customers::free_recipient_slot(db, partner_id, mobile, now_ms).await?;
    Ok(DmtOutcome::RecipientRemoved { recipient_id })
}

/// Why a recipient id did not name one of the customer's recipients.
async fn recipient_refusal(db: &mut impl Conn, partner_id: PartnerId, recipient_id: RecipientId) -> CmdResult<DmtRejection> {
    Ok(match recipients::get(db, partner_id, recipient_id).await? {
        Some(_) => DmtRejection::RecipientOfAnotherCustomer,
        None => DmtRejection::RecipientNotFound,
    })
}

async fn initiate(db: &mut impl Conn, t: &NewTransfer, now_ms: i64) -> CmdResult<Transfer> {
    let sender = customer(db, t.partner_id, &t.customer_mobile).await?;
    if !sender.state.may_transact() {
        return Err(refuse(DmtRejection::CustomerNotVerified));
    }
    let recipient = match recipients::get(db, t.partner_id, t.recipient_id).await? {
        Some(r) if r.customer_mobile == t.customer_mobile => r,
        Some(_) => return Err(refuse(DmtRejection::RecipientOfAnotherCustomer)),
        None => return Err(refuse(DmtRejection::RecipientNotFound)),
    };
    let bank = banks::find(&recipient.bank_code).ok_or_else(|| refuse(DmtRejection::BankNotFound))?;
    if !bank.channels.allows(t.channel) {
        return Err(refuse(DmtRejection::ChannelNotAvailable { channel: t.channel, bank: bank.name.to_owned() }));
    }
    dmt::check_amount(t.amount_paise.get()).map_err(|m| refuse(DmtRejection::AmountOutOfBounds(m)))?;
    t.pricing.validate().map_err(Rejection::InvalidEntry)?;
    let month = dmt::month_key(now_ms);
    let limit = sender.state.monthly_limit_paise();
    if !customers::use_limit(db, t.partner_id, &sender.mobile, month, t.amount_paise, limit, now_ms).await? {
        let available_paise = dmt::available_limit_paise(sender.state, sender.used_month, sender.used_paise.get(), now_ms);
        return Err(refuse(DmtRejection::MonthlyLimit { available_paise }));
    }
    let charges = t.pricing.charges(t.amount_paise);
    let tid = transfers::next_tid(db).await?;
    let entry = transfer_entry(db, t.partner_id, t.channel, &charges, now_ms).await?;
    let entry_id = ledger::record(db, t.partner_id, ENTRY_KIND, &tid.to_string(), &entry, EntryState::Pending, now_ms).await?;
    let transfer = Transfer {
        tid,
        partner_id: t.partner_id,
        client_ref_id: t.client_ref_id.clone(),
        user_code: t.user_code,
        customer_mobile: sender.mobile.clone(),
        sender_name: sender.name.clone(),
        recipient_id: recipient.recipient_id,
        recipient_name: recipient.recipient_name.clone(),
        account: recipient.account.clone(),
        ifsc: recipient.ifsc.clone(),
        bank_code: recipient.bank_code.clone(),
        channel: t.channel,
        charges,
        entry_id,
        tx_status: TxStatus::Initiated,
        answered: false,
        bank_ref_num: String::new(),
        reason: String::new(),
        limit_month: month,
        check_at_ms: Some(now_ms.saturating_add(t.recovery_ms)),
        refund_tid: None,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    transfers::insert(db, &transfer).await?;
    Ok(transfer)
}

/// The transfer's ledger entry: the wallet pays amount + fee − commission + TDS; the
/// rail's clearing account receives the amount, the platform its revenue, GST and TDS.
async fn transfer_entry(
    db: &mut impl Conn,
    partner_id: PartnerId,
    channel: DmtChannel,
    c: &Charges,
    now_ms: i64,
) -> CmdResult<Entry> {
    let rail = match channel {
        DmtChannel::Imps => "imps",
        DmtChannel::Neft => "neft",
    };
    let [wallet, clearing, revenue, gst, tds] = transfers::ledger_accounts(db, partner_id, rail, now_ms).await?;
    let legs = [
        (wallet, Side::Debit, c.debit_paise()),
        (clearing, Side::Credit, Some(c.amount_paise)),
        (revenue, Side::Credit, c.revenue_paise()),
        (gst, Side::Credit, Some(c.gst_paise)),
        (tds, Side::Credit, Some(c.tds_paise)),
    ];
    let mut resolved = Vec::with_capacity(legs.len());
    for (account_id, side, amount) in legs {
        let amount = amount.ok_or_else(|| Rejection::InvalidEntry(format!("a leg of charges {c:?} is out of range")))?;
        if !amount.is_zero() {
            resolved.push(Leg { account_id, side, amount });
        }
    }
    Entry::new(resolved).map_err(|e| Rejection::InvalidEntry(e.to_string()).into())
}

async fn wallet_balance(db: &mut impl Conn, partner_id: PartnerId) -> CmdResult<i64> {
    Ok(ledger::balance_of(db, partner_id.get(), &AccountKind::PartnerWallet).await?.available_credit())
}

async fn transfer(db: &mut impl Conn, partner_id: PartnerId, tid: Tid) -> CmdResult<Transfer> {
    transfers::get(db, partner_id, tid).await?.ok_or_else(|| refuse(DmtRejection::TransferNotFound))
}

/// The status a report moves a transfer to, or `None` when it changes nothing.
///
/// A failure is a decline (voided at once) only when the bank never took the transfer
/// and nobody was told it was under way; a failure of a transfer the bank had accepted
/// is a refund pending even when it is the first answer heard (a worker finishing the
/// transfer of a node that died asks only after the failure), so the outcome does not
/// depend on who asked the rail, or when.
fn next_status(t: &Transfer, report: &RailReport) -> Option<TxStatus> {
    let to = match report {
        RailReport::Settled { .. } => TxStatus::Success,
        RailReport::Failed { accepted: false, .. } | RailReport::Unavailable { .. } if !t.answered => TxStatus::Fail,
        RailReport::Failed { .. } => TxStatus::RefundPending,
        RailReport::Unavailable { .. } => t.tx_status,
        RailReport::Waiting { hold: true, .. } => TxStatus::Hold,
        RailReport::Waiting { hold: false, .. } => match t.tx_status {
            TxStatus::Hold => TxStatus::Hold,
            _ => TxStatus::Initiated,
        },
    };
    t.tx_status.may_become(to).then_some(to)
}

async fn apply_report(
    db: &mut impl Conn,
    partner_id: PartnerId,
    tid: Tid,
    report: &RailReport,
    notify: bool,
    refund_otp: &OtpRequest,
    now_ms: i64,
) -> CmdResult<DmtOutcome> {
    let before = transfer(db, partner_id, tid).await?;
    let Some(to) = next_status(&before, report) else { return unchanged(db, before).await };
    let mut after = Transfer { tx_status: to, answered: true, updated_at_ms: now_ms, check_at_ms: None, ..before.clone() };
    match report {
        RailReport::Settled { utr } => after.bank_ref_num = utr.clone(),
        RailReport::Failed { reason, .. } => after.reason = reason.clone(),
        RailReport::Unavailable { reason, retry_at_ms } => {
            after.reason = reason.clone();
            if to != TxStatus::Fail {
                after.check_at_ms = Some(*retry_at_ms);
            }
        }
        RailReport::Waiting { check_at_ms, .. } => after.check_at_ms = Some(*check_at_ms),
    }
    if !transfers::update(db, &after, before.tx_status).await? {
        let current = transfer(db, partner_id, tid).await?;
        return unchanged(db, current).await;
    }
    match to {
        TxStatus::Success => ledger::resolve(db, before.entry_id, EntryState::Posted, now_ms).await?,
        TxStatus::Fail => void_and_release(db, &after, now_ms).await?,
        TxStatus::RefundPending if before.tx_status != TxStatus::RefundPending => {
            // The customer is asked for this OTP when the agent returns the cash.
            let otp =
                OtpRequest { purpose: refund_otp_purpose(tid), subject: after.customer_mobile.clone(), ..refund_otp.clone() };
            otp::issue(db, partner_id, &otp, now_ms).await?;
        }
        _ => {}
    }
    if notify && to != before.tx_status {
        outbox::append_event(db, partner_id, &status_event(&after, before.tx_status, now_ms)?, now_ms).await?;
    }
    let balance_paise = wallet_balance(db, partner_id).await?;
    Ok(DmtOutcome::TransferUpdated { view: TransferView { transfer: after, balance_paise }, changed: true })
}

async fn unchanged(db: &mut impl Conn, transfer: Transfer) -> CmdResult<DmtOutcome> {
    let balance_paise = wallet_balance(db, transfer.partner_id).await?;
    Ok(DmtOutcome::TransferUpdated { view: TransferView { transfer, balance_paise }, changed: false })
}

/// Gives the amount back to the customer's monthly limit and voids the transfer's entry
/// (its reserved debit returns to the wallet). The customer's row is locked before the
/// wallet's, in the same order as a transfer takes them, so that on PostgreSQL the two
/// never wait for each other in a cycle.
async fn void_and_release(db: &mut impl Conn, t: &Transfer, now_ms: i64) -> CmdResult<()> {
    customers::release_limit(db, t.partner_id, &t.customer_mobile, t.limit_month, t.charges.amount_paise, now_ms).await?;
    ledger::resolve(db, t.entry_id, EntryState::Voided, now_ms).await?;
    Ok(())
}

/// A transfer that can be refunded: in refund pending.
async fn refundable(db: &mut impl Conn, partner_id: PartnerId, tid: Tid) -> CmdResult<Transfer> {
    let t = transfer(db, partner_id, tid).await?;
    match (t.tx_status, t.refund_tid) {
        (TxStatus::RefundPending, _) => Ok(t),
        (TxStatus::Refunded, Some(refund_tid)) => Err(refuse(DmtRejection::AlreadyRefunded { refund_tid })),
        (tx_status, _) => Err(refuse(DmtRejection::NotRefundable { tx_status })),
    }
}

async fn send_refund_otp(
    db: &mut impl Conn,
    partner_id: PartnerId,
    tid: Tid,
    otp: &OtpRequest,
    now_ms: i64,
) -> CmdResult<DmtOutcome> {
    let t = refundable(db, partner_id, tid).await?;
    let otp = OtpRequest { purpose: refund_otp_purpose(tid), subject: t.customer_mobile, ..otp.clone() };
    Ok(DmtOutcome::RefundOtp(otp::issue(db, partner_id, &otp, now_ms).await?))
}

async fn refund(
    db: &mut impl Conn,
    partner_id: PartnerId,
    tid: Tid,
    code: &str,
    otp_ref_id: Option<i64>,
    now_ms: i64,
) -> CmdResult<DmtOutcome> {
    let before = refundable(db, partner_id, tid).await?;
    let check = otp::check(db, partner_id, &refund_otp_purpose(tid), &before.customer_mobile, code, otp_ref_id, now_ms).await?;
    if check != OtpCheck::Accepted {
        return Ok(DmtOutcome::OtpRefused(check));
    }
    let refund_tid = transfers::next_tid(db).await?;
    let after = Transfer {
        tx_status: TxStatus::Refunded,
        refund_tid: Some(refund_tid),
        check_at_ms: None,
        updated_at_ms: now_ms,
        ..before.clone()
    };
    if !transfers::update(db, &after, TxStatus::RefundPending).await? {
        // The OTP was consumed above, so no concurrent refund can have got this far.
        return Err(crate::sql::SqlError::Other(format!("transfer {tid} changed during its refund")).into());
    }
    void_and_release(db, &after, now_ms).await?;
    outbox::append_event(db, partner_id, &status_event(&after, TxStatus::RefundPending, now_ms)?, now_ms).await?;
    let balance_paise = wallet_balance(db, partner_id).await?;
    Ok(DmtOutcome::Refunded(TransferView { transfer: after, balance_paise }))
}

/// The status change as the outbox stores it; the Eko dialect renders the callback
/// body (catalogue §4.1) from it at delivery.
pub fn status_event(t: &Transfer, old: TxStatus, now_ms: i64) -> CmdResult<Event> {
    let c = &t.charges;
    Ok(Event::TransferStatusChanged(TransferStatusChanged {
        tid: t.tid,
        partner_reference: t.client_ref_id.clone(),
        user_code: t.user_code,
        old_status: old,
        status: t.tx_status,
        channel: t.channel,
        amount: c.amount_paise,
        fee: c.fee_paise,
        gst: c.gst_paise,
        commission: c.commission_paise,
        tds: c.tds_paise,
        utr: t.bank_ref_num.clone(),
        recipient_id: t.recipient_id,
        recipient_name: t.recipient_name.clone(),
        account: t.account.clone(),
        ifsc: t.ifsc.clone(),
        sender_name: t.sender_name.clone(),
        sender_mobile: t.customer_mobile.clone(),
        refund_tid: t.refund_tid,
        reason: t.reason.clone(),
        at_ms: now_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(status: TxStatus, answered: bool) -> Transfer {
        Transfer {
            tid: Tid::new(1),
            partner_id: PartnerId::new(1),
            client_ref_id: "R1".into(),
            user_code: UserCode::new(20_810_200),
            customer_mobile: "9000000001".into(),
            sender_name: "Asha".into(),
            recipient_id: RecipientId::new(7),
            recipient_name: "Ravi".into(),
            account: "123456789012".into(),
            ifsc: "SBIN0000001".into(),
            bank_code: "SBIN".into(),
            channel: DmtChannel::Imps,
            charges: Pricing::default().charges(Paise::new(12_000).unwrap()),
            entry_id: 3,
            tx_status: status,
            answered,
            bank_ref_num: String::new(),
            reason: String::new(),
            limit_month: 202_611,
            check_at_ms: None,
            refund_tid: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn reports_move_transfers_along_the_state_machine() {
        let failed = RailReport::Failed { reason: "declined".into(), accepted: false };
        let returned = RailReport::Failed { reason: "returned".into(), accepted: true };
        let down = RailReport::Unavailable { reason: "down".into(), retry_at_ms: 5 };
        let wait = RailReport::Waiting { check_at_ms: 5, hold: false };
        let hold = RailReport::Waiting { check_at_ms: 5, hold: true };
        let settled = RailReport::Settled { utr: "1".into() };
        assert_eq!(next_status(&transfer(TxStatus::Initiated, false), &failed), Some(TxStatus::Fail));
        assert_eq!(next_status(&transfer(TxStatus::Initiated, false), &down), Some(TxStatus::Fail));
        assert_eq!(next_status(&transfer(TxStatus::Initiated, true), &failed), Some(TxStatus::RefundPending));
        assert_eq!(next_status(&transfer(TxStatus::Hold, true), &failed), Some(TxStatus::RefundPending));
        // Heard first after the failure (the request died): the same refund pending.
        assert_eq!(next_status(&transfer(TxStatus::Initiated, false), &returned), Some(TxStatus::RefundPending));
        assert_eq!(next_status(&transfer(TxStatus::Initiated, true), &returned), Some(TxStatus::RefundPending));
        assert_eq!(next_status(&transfer(TxStatus::Hold, true), &returned), Some(TxStatus::RefundPending));
        assert_eq!(next_status(&transfer(TxStatus::Hold, true), &down), Some(TxStatus::Hold));
        assert_eq!(next_status(&transfer(TxStatus::Hold, true), &wait), Some(TxStatus::Hold));
        assert_eq!(next_status(&transfer(TxStatus::Initiated, true), &hold), Some(TxStatus::Hold));
        assert_eq!(next_status(&transfer(TxStatus::Hold, true), &settled), Some(TxStatus::Success));
        for done in [TxStatus::Success, TxStatus::Fail, TxStatus::Refunded, TxStatus::RefundPending] {
            assert_eq!(next_status(&transfer(done, true), &settled), None, "{done:?}");
        }
    }

    #[test]
    fn the_status_event_is_typed_and_carries_no_wire_field_names() {
        let mut t = transfer(TxStatus::Success, true);
        t.bank_ref_num = "123456789012".into();
        let Event::TransferStatusChanged(e) = status_event(&t, TxStatus::Initiated, 1_700_000_000_000).unwrap() else {
            panic!("a transfer's status change")
        };
        assert_eq!((e.old_status, e.status, e.utr.as_str()), (TxStatus::Initiated, TxStatus::Success, "123456789012"));
        assert_eq!((e.amount.get(), e.fee.get(), e.gst.get()), (12_000, 1_000, 153));
        let stored = serde_json::to_value(Event::TransferStatusChanged(e)).unwrap();
        assert_eq!(stored["kind"], "dmt.transfer_status_changed.v1");
        for wire in kosh_core::events::DIALECT_FIELD_NAMES {
            assert!(stored.get(wire).is_none(), "{wire} in {stored}");
        }
    }
}
