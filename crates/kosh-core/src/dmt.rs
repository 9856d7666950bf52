//! Domestic money transfer (DMT): the customer (sender) states, the transfer status
//! (`tx_status`) and its state machine, the channels, and the limits RBI and the
//! platform put on transfers.
//!
//! A transfer's money moves as one pending ledger entry: recorded when the transfer is
//! initiated (the partner's e-value is reserved), posted when the bank settles it,
//! voided when the bank refuses it at once or when a failed transfer is refunded.
//!
//! ```text
//!            ┌────────── Success (0)                    posted
//! Initiated ─┼── Hold (5) ──┬── Success (0)               posted
//!    (2)     │              └── Refund pending (3) ── Refunded (4)   voided on refund
//!            ├────────── Refund pending (3) ── Refunded (4)          voided on refund
//!            └────────── Fail (1)  (refused at once: declined, bank down)   voided
//! ```

use crate::civil;
use crate::ids::{RecipientId, Tid};
use serde::{Deserialize, Serialize};

/// Most a single transfer may carry: ₹5,000 (RBI's cap for cash-based remittance).
pub const MAX_TRANSFER_PAISE: i64 = 500_000;
/// The least a transfer may carry: ₹1.
pub const MIN_TRANSFER_PAISE: i64 = 100;
/// What a customer without full KYC may send in a calendar month: ₹25,000.
pub const NON_KYC_MONTHLY_LIMIT_PAISE: i64 = 2_500_000;
/// What a full-KYC customer may send in a calendar month: ₹74,500.
pub const KYC_MONTHLY_LIMIT_PAISE: i64 = 7_450_000;
/// Most recipients one customer may register (status 39 beyond it).
pub const MAX_RECIPIENTS_PER_CUSTOMER: i64 = 20;

/// A customer's state, as `GET /customers/mobile_number:{m}` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerState {
    /// Created; the mobile number is not verified yet.
    OtpPending = 1,
    /// Mobile verified; no KYC (or KYC rejected).
    VerifiedNonKyc = 2,
    /// KYC documents submitted; awaiting review.
    KycPending = 3,
    /// Full KYC done: the highest monthly limit.
    FullKyc = 4,
    /// A change of the customer's name awaits review.
    NameChangePending = 5,
    /// Partial (minimum) KYC done.
    PartialKyc = 8,
}

impl CustomerState {
    /// The state for a stored `state` code; `None` for an unknown one.
    pub fn from_code(code: i64) -> Option<CustomerState> {
        Some(match code {
            1 => Self::OtpPending,
            2 => Self::VerifiedNonKyc,
            3 => Self::KycPending,
            4 => Self::FullKyc,
            5 => Self::NameChangePending,
            8 => Self::PartialKyc,
            _ => return None,
        })
    }

    /// The numeric `state` on the wire.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// `state_desc` as the platform spells it.
    pub fn desc(self) -> &'static str {
        match self {
            Self::OtpPending => "OTP Verification Pending",
            Self::VerifiedNonKyc => "OTP Verified Customer, Non-KYC",
            Self::KycPending => "KYC Verification Pending",
            Self::FullKyc => "Verified and Full KYC Customer",
            Self::NameChangePending => "Name Change Verification Pending",
            Self::PartialKyc => "Partial KYC",
        }
    }

    /// Whether the customer may send money (the mobile number has been verified).
    pub fn may_transact(self) -> bool {
        self != Self::OtpPending
    }

    /// The calendar-month limit of a customer in this state.
    pub fn monthly_limit_paise(self) -> i64 {
        match self {
            Self::FullKyc => KYC_MONTHLY_LIMIT_PAISE,
            _ => NON_KYC_MONTHLY_LIMIT_PAISE,
        }
    }
}

/// `tx_status` of a financial transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxStatus {
    /// The bank credited the recipient.
    Success = 0,
    /// The transfer failed; the wallet's reservation is released.
    Fail = 1,
    /// Response awaited / initiated (NEFT waits here for its batch).
    Initiated = 2,
    /// The transfer failed after the bank took it (or after the partner was told it was
    /// under way): the money goes back to the customer once they consent with the refund OTP.
    RefundPending = 3,
    /// The money went back to the customer; the transfer no longer counts against the limit.
    Refunded = 4,
    /// The bank did not answer: inquiry required.
    Hold = 5,
}

impl TxStatus {
    /// The status for a stored `tx_status` code; `None` for an unknown one.
    pub fn from_code(code: i64) -> Option<TxStatus> {
        Some(match code {
            0 => Self::Success,
            1 => Self::Fail,
            2 => Self::Initiated,
            3 => Self::RefundPending,
            4 => Self::Refunded,
            5 => Self::Hold,
            _ => return None,
        })
    }

    /// The numeric `tx_status` on the wire.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// `txstatus_desc`, in the platform's words.
    pub fn desc(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Fail => "Failed",
            Self::Initiated => "Initiated",
            Self::RefundPending => "Refund Pending",
            Self::Refunded => "Refunded",
            Self::Hold => "Hold",
        }
    }

    /// Still waiting for the bank: a worker or an inquiry asks the rail again.
    pub fn awaits_bank(self) -> bool {
        matches!(self, Self::Initiated | Self::Hold)
    }

    /// Nothing will change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Fail | Self::Refunded)
    }

    /// Whether a transfer may move from `self` to `to`. Staying put is allowed while
    /// the bank is awaited (a later batch, a longer hold).
    pub fn may_become(self, to: TxStatus) -> bool {
        use TxStatus::*;
        match self {
            Initiated => matches!(to, Success | Fail | Initiated | RefundPending | Hold),
            Hold => matches!(to, Success | Hold | RefundPending),
            RefundPending => to == Refunded,
            Success | Fail | Refunded => false,
        }
    }

    /// Whether the transfer's money counts against the customer's monthly limit.
    pub fn uses_limit(self) -> bool {
        !matches!(self, Self::Fail | Self::Refunded)
    }
}

/// The transfer channel a partner asks for (`channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DmtChannel {
    /// NEFT: batched; the transfer waits in `Initiated` for its batch.
    Neft = 1,
    /// IMPS: immediate.
    Imps = 2,
}

impl DmtChannel {
    /// The channel for a `channel` code; `None` for anything but 1 and 2.
    pub fn from_code(code: i64) -> Option<DmtChannel> {
        match code {
            1 => Some(Self::Neft),
            2 => Some(Self::Imps),
            _ => None,
        }
    }

    /// Parses the wire value: `1` (NEFT) or `2` (IMPS).
    pub fn parse(text: &str) -> Result<DmtChannel, &'static str> {
        text.trim().parse::<i64>().ok().and_then(Self::from_code).ok_or("must be 1 (NEFT) or 2 (IMPS)")
    }

    /// The numeric `channel` on the wire.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// `channel_desc`.
    pub fn desc(self) -> &'static str {
        match self {
            Self::Neft => "NEFT",
            Self::Imps => "IMPS",
        }
    }

    /// The same network as a payout `payment_mode` (4 NEFT, 5 IMPS), which the
    /// status callback carries.
    pub fn payment_mode(self) -> &'static str {
        match self {
            Self::Neft => "4",
            Self::Imps => "5",
        }
    }
}

/// The calendar month (in India) an instant falls in, as `yyyymm`: monthly limits reset
/// at midnight IST on the first of the month.
pub fn month_key(ms: i64) -> i64 {
    let date = civil::ist_date(ms);
    i64::from(date.year) * 100 + i64::from(date.month)
}

/// Checks a transfer amount against the per-transfer bounds.
pub fn check_amount(amount_paise: i64) -> Result<(), &'static str> {
    if amount_paise < MIN_TRANSFER_PAISE {
        return Err("must be at least 1.00");
    }
    if amount_paise > MAX_TRANSFER_PAISE {
        return Err("must be at most 5000.00 per transfer; split larger amounts into several transfers");
    }
    Ok(())
}

/// What a customer may still send this month: `limit − used`, where `used` counts only
/// when it was recorded in the month of `now_ms`.
pub fn available_limit_paise(state: CustomerState, used_month: i64, used_paise: i64, now_ms: i64) -> i64 {
    let used = if used_month == month_key(now_ms) { used_paise } else { 0 };
    (state.monthly_limit_paise() - used).max(0)
}

/// Why a DMT command was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DmtRejection {
    /// No customer with this mobile number for this partner.
    #[error("customer not found")]
    CustomerNotFound,
    /// The customer has not verified the mobile number with the OTP yet.
    #[error("the customer's mobile number is not verified yet")]
    CustomerNotVerified,
    /// No such recipient.
    #[error("recipient not found")]
    RecipientNotFound,
    /// The recipient is registered to another customer than the one named.
    #[error("the recipient belongs to another customer")]
    RecipientOfAnotherCustomer,
    /// The customer already has this account as a recipient.
    #[error("the recipient already exists (recipient_id {recipient_id})")]
    RecipientExists {
        /// The existing recipient's id, so the partner can use it.
        recipient_id: RecipientId,
    },
    /// The customer has as many recipients as allowed.
    #[error("the customer already has the maximum of {max} recipients")]
    TooManyRecipients {
        /// The most recipients a customer may have.
        max: i64,
    },
    /// The amount is below the least or above the most one transfer may move; says which.
    #[error("the amount is outside the per-transfer bounds: {0}")]
    AmountOutOfBounds(&'static str),
    /// The transfer would pass the customer's monthly limit.
    #[error("the customer's monthly limit allows {available_paise} paise more")]
    MonthlyLimit {
        /// What the customer may still send this month, in paise.
        available_paise: i64,
    },
    /// The recipient's bank does not accept the channel asked for.
    #[error("{bank} does not accept {channel:?} transfers")]
    ChannelNotAvailable {
        /// The channel asked for.
        channel: DmtChannel,
        /// The bank's name.
        bank: String,
    },
    /// The recipient's bank is not one of the seeded banks.
    #[error("the recipient's bank is not known")]
    BankNotFound,
    /// No such transfer for this partner.
    #[error("transaction not found")]
    TransferNotFound,
    /// Only a transfer in refund pending may be refunded.
    #[error("the transaction is {} and cannot be refunded", .tx_status.desc())]
    NotRefundable {
        /// The transfer's status now.
        tx_status: TxStatus,
    },
    /// The transfer was refunded before.
    #[error("the transaction was already refunded (refund_tid {refund_tid})")]
    AlreadyRefunded {
        /// The refund's transaction id.
        refund_tid: Tid,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in 0..=5 {
            assert_eq!(TxStatus::from_code(code).expect("status").code(), code);
        }
        assert!(TxStatus::from_code(6).is_none());
        for code in [1, 2, 3, 4, 5, 8] {
            assert_eq!(CustomerState::from_code(code).expect("state").code(), code);
        }
        assert_eq!(DmtChannel::parse("2"), Ok(DmtChannel::Imps));
        assert_eq!(DmtChannel::parse(" 1 "), Ok(DmtChannel::Neft));
        assert!(DmtChannel::parse("3").is_err());
        assert!(DmtChannel::parse("IMPS").is_err());
    }

    #[test]
    fn the_state_machine_only_moves_forward() {
        use TxStatus::*;
        assert!(Initiated.may_become(Success) && Initiated.may_become(Hold) && Initiated.may_become(Fail));
        assert!(Hold.may_become(Success) && Hold.may_become(RefundPending));
        assert!(!Hold.may_become(Fail), "a transfer that was on hold was answered; its failure needs a refund");
        assert!(RefundPending.may_become(Refunded) && !RefundPending.may_become(Success));
        for done in [Success, Fail, Refunded] {
            assert!(done.is_final());
            for to in [Success, Fail, Initiated, RefundPending, Refunded, Hold] {
                assert!(!done.may_become(to), "{done:?} → {to:?}");
            }
        }
        assert!(!Refunded.uses_limit() && !Fail.uses_limit() && RefundPending.uses_limit());
    }

    #[test]
    fn months_turn_at_ist_midnight() {
        // 2026-11-30 18:29:59 UTC is 23:59:59 IST; one second later it is December in India.
        let last_second =
            civil::Date { year: 2026, month: 11, day: 30 }.to_days() * 86_400_000 + (18 * 3600 + 29 * 60 + 59) * 1000;
        assert_eq!(month_key(last_second), 202_611);
        assert_eq!(month_key(last_second + 1000), 202_612);
        let state = CustomerState::VerifiedNonKyc;
        assert_eq!(available_limit_paise(state, 202_611, 2_000_000, last_second), 500_000);
        assert_eq!(available_limit_paise(state, 202_611, 2_000_000, last_second + 1000), 2_500_000);
    }

    #[test]
    fn amounts_are_bounded() {
        assert!(check_amount(100).is_ok() && check_amount(500_000).is_ok());
        assert!(check_amount(99).is_err() && check_amount(500_001).is_err());
    }
}
