//! Payouts (Eko service 45, "fund transfer"): money from the partner's e-value wallet
//! to any bank account over NEFT, IMPS or RTGS, and UPI payments to a VPA. Pure rules:
//! the payment modes and their bounds, the fee table, VPA syntax. The store records and
//! the service layer moves the money (see `kosh_server::service::payouts`).

use crate::civil::IST_OFFSET_MS;
use crate::money::Paise;
use crate::pricing::{Pricing, Slab};
use serde::{Deserialize, Serialize};

/// Eko's service code for payouts.
pub const PAYOUT_SERVICE_CODE: u16 = 45;
/// Least payout, in paise (₹1).
pub const MIN_PAISE: i64 = 100;
/// RTGS carries only large values: ₹2,00,000 at least.
pub const RTGS_MIN_PAISE: i64 = 20_000_000;
/// Most one IMPS payment may carry (₹5,00,000).
pub const IMPS_MAX_PAISE: i64 = 50_000_000;
/// Most one UPI payment may carry (₹1,00,000).
pub const UPI_MAX_PAISE: i64 = 10_000_000;
/// Most one NEFT or RTGS payout may carry here (₹10,00,000): a platform cap, not the
/// network's, so one mistyped amount cannot drain a wallet.
pub const MAX_PAISE: i64 = 100_000_000;
/// RTGS is served from this IST minute of the day (07:00, its customer window)…
pub const RTGS_OPEN_IST_MIN: i64 = 7 * 60;
/// …until this one (18:00).
pub const RTGS_CLOSE_IST_MIN: i64 = 18 * 60;
/// Longest VPA accepted, in characters (NPCI allows 255; real ones are far shorter).
pub const MAX_VPA_LEN: usize = 100;

/// How the money goes (`payment_mode` on the wire; UPI has its own endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMode {
    /// `payment_mode` 4: settled in half-hourly batches.
    Neft,
    /// `payment_mode` 5: immediate.
    Imps,
    /// `payment_mode` 13: immediate, ₹2 lakh and above, in banking hours.
    Rtgs,
    /// A UPI payment to a VPA (`/customer/payment/upi`).
    Upi,
}

impl PaymentMode {
    /// The mode a `payment_mode` names; UPI has none.
    pub fn parse(text: &str) -> Result<PaymentMode, &'static str> {
        match text.trim() {
            "4" => Ok(Self::Neft),
            "5" => Ok(Self::Imps),
            "13" => Ok(Self::Rtgs),
            _ => Err("must be 4 (NEFT), 5 (IMPS) or 13 (RTGS)"),
        }
    }

    /// The `payment_mode` on the wire (UPI answers its own name).
    pub fn code(self) -> &'static str {
        match self {
            Self::Neft => "4",
            Self::Imps => "5",
            Self::Rtgs => "13",
            Self::Upi => "upi",
        }
    }

    /// The network's name as the ledger's clearing accounts and rails spell it.
    pub fn rail_name(self) -> &'static str {
        match self {
            Self::Neft => "neft",
            Self::Imps => "imps",
            Self::Rtgs => "rtgs",
            Self::Upi => "upi",
        }
    }

    /// The mode a stored rail name names.
    pub fn from_rail_name(name: &str) -> Option<PaymentMode> {
        [Self::Neft, Self::Imps, Self::Rtgs, Self::Upi].into_iter().find(|m| m.rail_name() == name)
    }
}

/// Why a payout was refused before anything was reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PayoutRejection {
    /// Below ₹1, above the mode's cap, or RTGS below ₹2 lakh: says why.
    #[error("{0}")]
    Amount(String),
    /// RTGS outside its hours.
    #[error("RTGS is served from 07:00 to 18:00 IST; use NEFT or IMPS now, or send the RTGS payout in banking hours")]
    RtgsClosed,
    /// The same `client_ref_id` names another payout of the partner (it was recorded by
    /// another product, or before idempotency records existed).
    #[error("the client_ref_id was used for another transaction")]
    DuplicateReference,
    /// No payout with this tid for the partner.
    #[error("no such payout")]
    NotFound,
    /// A settlement to a `recipient_id` that is not one of the agent's settlement accounts.
    #[error("the settlement account is not registered for this agent")]
    UnknownSettlementAccount,
    /// The agent already registered this account.
    #[error("the settlement account is already registered")]
    AccountExists {
        /// Its recipient_id.
        recipient_id: i64,
    },
    /// A settlement above what the agent may settle now.
    #[error("the amount is above the remaining limit")]
    AboveRemainingLimit {
        /// What the agent may settle now, in paise.
        remaining_paise: i64,
    },
}

/// Checks the amount against the mode's bounds.
pub fn check_amount(mode: PaymentMode, amount: Paise) -> Result<(), PayoutRejection> {
    let paise = amount.get();
    let rupees = |p: i64| Paise::new(p).map_or_else(String::new, Paise::to_rupees_string);
    let max = match mode {
        PaymentMode::Imps => IMPS_MAX_PAISE,
        PaymentMode::Upi => UPI_MAX_PAISE,
        PaymentMode::Neft | PaymentMode::Rtgs => MAX_PAISE,
    };
    if paise < MIN_PAISE {
        return Err(PayoutRejection::Amount(format!("must be at least {}", rupees(MIN_PAISE))));
    }
    if mode == PaymentMode::Rtgs && paise < RTGS_MIN_PAISE {
        return Err(PayoutRejection::Amount(format!(
            "RTGS carries {} or more; use NEFT or IMPS below it",
            rupees(RTGS_MIN_PAISE)
        )));
    }
    if paise > max {
        return Err(PayoutRejection::Amount(format!("must be at most {} by {}", rupees(max), mode.rail_name().to_uppercase())));
    }
    Ok(())
}

/// Whether RTGS takes orders at `now_ms` (IST hours, every day: RTGS runs round the
/// clock for banks, but its customer window is the platform's banking hours).
pub fn rtgs_open(now_ms: i64) -> bool {
    let minute = (now_ms + IST_OFFSET_MS).div_euclid(60_000).rem_euclid(24 * 60);
    (RTGS_OPEN_IST_MIN..RTGS_CLOSE_IST_MIN).contains(&minute)
}

/// The default payout fee table, GST (18%) included in the fee, no commission: ₹5 up
/// to ₹25,000, ₹10 up to ₹2,00,000, ₹15 above (RTGS-sized payouts).
pub fn default_pricing() -> Pricing {
    Pricing {
        fee_bp: 0,
        fee_min_paise: rupees(15),
        fee_max_paise: rupees(15),
        slabs: vec![
            Slab { up_to_paise: rupees(25_000), fee_paise: rupees(5) },
            Slab { up_to_paise: rupees(200_000), fee_paise: rupees(10) },
        ],
        gst_bp: 1_800,
        commission_bp: 0,
        tds_bp: 0,
    }
}

fn rupees(r: i64) -> Paise {
    Paise::from_rupees(r).expect("a table amount")
}

/// Checks a VPA's syntax (`handle@psp`): a handle of letters, digits, `.`, `-` and `_`
/// (2 to 256 characters), one `@`, and a PSP name of letters (and digits) only.
pub fn parse_vpa(text: &str) -> Result<String, &'static str> {
    let vpa = text.trim();
    if vpa.len() > MAX_VPA_LEN {
        return Err("is too long for a VPA");
    }
    let Some((handle, psp)) = vpa.split_once('@') else { return Err("must be a VPA like name@bank") };
    let handle_ok = handle.len() >= 2 && handle.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let psp_ok =
        psp.len() >= 2 && psp.chars().all(|c| c.is_ascii_alphanumeric()) && psp.starts_with(|c: char| c.is_ascii_alphabetic());
    if handle_ok && psp_ok {
        Ok(vpa.to_ascii_lowercase())
    } else {
        Err("must be a VPA like name@bank (letters, digits, '.', '-' or '_' before the @, letters after)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(rupees: i64) -> Paise {
        Paise::from_rupees(rupees).unwrap()
    }

    #[test]
    fn payment_modes_parse_as_documented() {
        assert_eq!(PaymentMode::parse("4"), Ok(PaymentMode::Neft));
        assert_eq!(PaymentMode::parse(" 5 "), Ok(PaymentMode::Imps));
        assert_eq!(PaymentMode::parse("13"), Ok(PaymentMode::Rtgs));
        for bad in ["1", "2", "", "IMPS", "14"] {
            assert!(PaymentMode::parse(bad).is_err(), "{bad}");
        }
        for m in [PaymentMode::Neft, PaymentMode::Imps, PaymentMode::Rtgs, PaymentMode::Upi] {
            assert_eq!(PaymentMode::from_rail_name(m.rail_name()), Some(m));
        }
    }

    #[test]
    fn amounts_respect_each_modes_bounds() {
        assert!(check_amount(PaymentMode::Imps, Paise::new(99).unwrap()).is_err());
        assert!(check_amount(PaymentMode::Imps, p(1)).is_ok());
        assert!(check_amount(PaymentMode::Rtgs, p(199_999)).is_err());
        assert!(check_amount(PaymentMode::Rtgs, p(200_000)).is_ok());
        assert!(check_amount(PaymentMode::Imps, p(500_001)).is_err());
        assert!(check_amount(PaymentMode::Neft, p(500_001)).is_ok());
        assert!(check_amount(PaymentMode::Upi, p(100_001)).is_err());
    }

    #[test]
    fn rtgs_keeps_banking_hours_in_ist() {
        // 2026-12-04 00:00 UTC is 05:30 IST.
        let midnight_utc = 1_796_342_400_000;
        assert!(!rtgs_open(midnight_utc));
        assert!(rtgs_open(midnight_utc + 90 * 60_000), "07:00 IST");
        assert!(rtgs_open(midnight_utc + (12 * 60 + 29) * 60_000), "17:59 IST");
        assert!(!rtgs_open(midnight_utc + (12 * 60 + 30) * 60_000), "18:00 IST");
    }

    #[test]
    fn the_fee_table_matches_the_docs_sample() {
        let pricing = default_pricing();
        pricing.validate().expect("valid");
        // The sample callback: amount 120.0, fee 5.0, gst 0.76.
        let c = pricing.charges(Paise::new(12_000).unwrap());
        let parts = [c.fee_paise, c.gst_paise, c.commission_paise, c.tds_paise].map(Paise::get);
        assert_eq!(parts, [500, 76, 0, 0]);
        assert_eq!(pricing.charges(Paise::new(2_500_001).unwrap()).fee_paise.get(), 1_000);
        assert_eq!(pricing.charges(Paise::new(20_000_001).unwrap()).fee_paise.get(), 1_500);
        assert_eq!(c.debit_paise().map(Paise::get), Some(12_500));
    }

    #[test]
    fn vpas_are_checked_for_syntax() {
        assert_eq!(parse_vpa(" Asha.V@okAxis ").as_deref(), Ok("asha.v@okaxis"));
        assert!(parse_vpa("9999999999@upi").is_ok());
        for bad in ["asha", "a@upi", "asha@", "asha@@upi", "as ha@upi", "asha@ok-axis", "asha@9bank", "@upi"] {
            assert!(parse_vpa(bad).is_err(), "{bad}");
        }
    }
}
