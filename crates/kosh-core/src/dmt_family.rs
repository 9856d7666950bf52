//! The v3 money-transfer families (DMT-Fino, DMT-Levin, DMT-Airtel, PPI-DigiKhata,
//! PPI-Levin) as data: one DMT domain (customers, recipients, transfers, ledger), and per
//! family only what the vendor's documentation says differs — the path segment, how a
//! sender is verified, the monthly limit, the channels, whether a recipient must be
//! registered with the bank, and the fee floor.
//!
//! A sender's verification is a list of [`KycStep`]s, done in order. [`KycStep::MobileOtp`]
//! is the domain's own mobile verification (customer state 2); the other steps are
//! recorded per family. A family's transfers need every step done.

use crate::dmt::{CustomerState, DmtChannel, MAX_TRANSFER_PAISE, MIN_TRANSFER_PAISE};
use serde::{Deserialize, Serialize};

/// One step of a family's sender verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KycStep {
    /// The sender's mobile number, verified with an OTP (the domain's customer state 2).
    MobileOtp,
    /// The sender's Aadhaar, verified with an OTP sent to its registered mobile.
    AadhaarOtp,
    /// The sender's PAN, checked.
    Pan,
    /// A biometric e-KYC (fingerprint PID block) after the Aadhaar OTP.
    Biometric,
    /// A biometric e-KYC whose OTP (sent to the Aadhaar-registered mobile) completes it.
    EkycOtp,
}

impl KycStep {
    /// The step's name as stored and shown.
    pub fn code(self) -> &'static str {
        match self {
            Self::MobileOtp => "mobile_otp",
            Self::AadhaarOtp => "aadhaar_otp",
            Self::Pan => "pan",
            Self::Biometric => "biometric_ekyc",
            Self::EkycOtp => "ekyc_otp",
        }
    }

    /// The step for a stored name.
    pub fn from_code(code: &str) -> Option<KycStep> {
        [Self::MobileOtp, Self::AadhaarOtp, Self::Pan, Self::Biometric, Self::EkycOtp].into_iter().find(|s| s.code() == code)
    }

    /// What the platform says while this step is the next one (`message`, `response_type_id`).
    pub fn pending_answer(self) -> (&'static str, i64) {
        match self {
            Self::MobileOtp => ("Validate the OTP", 2129),
            Self::AadhaarOtp => ("Aadhar Validation Pending", 2136),
            Self::Pan => ("Pan Number Required", 2147),
            Self::Biometric | Self::EkycOtp => ("Customer KYC Pending", 2134),
        }
    }
}

/// The five families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FamilyId {
    /// DMT through Fino Payments Bank.
    DmtFino,
    /// DMT through Levin.
    DmtLevin,
    /// DMT through Airtel Payments Bank.
    DmtAirtel,
    /// The DigiKhata prepaid instrument (service code 80).
    PpiDigiKhata,
    /// The Levin prepaid instrument.
    PpiLevin,
}

/// What sets one family apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// Which family.
    pub id: FamilyId,
    /// The family's path segment (`/customer/payment/{slug}`).
    pub slug: &'static str,
    /// Its name in the documentation.
    pub name: &'static str,
    /// The `pipe` its transfers report.
    pub pipe: i64,
    /// The sender's verification, in order.
    pub steps: &'static [KycStep],
    /// What a sender may send through the family in a calendar month.
    pub monthly_limit_paise: i64,
    /// The least one transfer may carry.
    pub min_transfer_paise: i64,
    /// The most one transfer may carry.
    pub max_transfer_paise: i64,
    /// The channels the family sends by (the PPI and Levin/Airtel docs fix `channel` = 2).
    pub channels: &'static [DmtChannel],
    /// A recipient must be registered with the bank (`beneficiary_id`) before a transfer.
    pub needs_beneficiary: bool,
    /// The least fee, overriding the server's pricing table (the PPI sample: ₹4 on ₹110).
    pub fee_min_paise: Option<i64>,
}

const DMT_LIMIT: i64 = 2_500_000;
const PPI_LIMIT: i64 = 5_000_000;
const IMPS_ONLY: &[DmtChannel] = &[DmtChannel::Imps];
const BOTH: &[DmtChannel] = &[DmtChannel::Imps, DmtChannel::Neft];

/// Every family, as the v3 documentation describes it.
pub const FAMILIES: &[Family] = &[
    Family {
        id: FamilyId::DmtFino,
        slug: "dmt-fino",
        name: "DMT-Fino",
        pipe: 9,
        steps: &[KycStep::EkycOtp],
        monthly_limit_paise: DMT_LIMIT,
        min_transfer_paise: MIN_TRANSFER_PAISE,
        max_transfer_paise: MAX_TRANSFER_PAISE,
        channels: BOTH,
        needs_beneficiary: false,
        fee_min_paise: None,
    },
    Family {
        id: FamilyId::DmtLevin,
        slug: "dmt-levin",
        name: "DMT-Levin",
        pipe: 13,
        steps: &[KycStep::AadhaarOtp, KycStep::Biometric],
        monthly_limit_paise: DMT_LIMIT,
        min_transfer_paise: MIN_TRANSFER_PAISE,
        max_transfer_paise: MAX_TRANSFER_PAISE,
        channels: IMPS_ONLY,
        needs_beneficiary: false,
        fee_min_paise: None,
    },
    Family {
        id: FamilyId::DmtAirtel,
        slug: "dmt-airtel",
        name: "DMT-Airtel",
        pipe: 14,
        steps: &[KycStep::AadhaarOtp, KycStep::Biometric],
        monthly_limit_paise: DMT_LIMIT,
        min_transfer_paise: MIN_TRANSFER_PAISE,
        max_transfer_paise: MAX_TRANSFER_PAISE,
        channels: IMPS_ONLY,
        needs_beneficiary: false,
        fee_min_paise: None,
    },
    Family {
        id: FamilyId::PpiDigiKhata,
        slug: "ppi",
        name: "PPI-DigiKhata",
        pipe: 3,
        steps: &[KycStep::MobileOtp, KycStep::AadhaarOtp, KycStep::Pan],
        monthly_limit_paise: PPI_LIMIT,
        min_transfer_paise: MIN_TRANSFER_PAISE,
        max_transfer_paise: MAX_TRANSFER_PAISE,
        channels: IMPS_ONLY,
        needs_beneficiary: true,
        fee_min_paise: Some(400),
    },
    Family {
        id: FamilyId::PpiLevin,
        slug: "ppi-levin",
        name: "PPI-Levin",
        pipe: 3,
        steps: &[KycStep::MobileOtp, KycStep::AadhaarOtp, KycStep::Pan],
        monthly_limit_paise: PPI_LIMIT,
        min_transfer_paise: MIN_TRANSFER_PAISE,
        max_transfer_paise: MAX_TRANSFER_PAISE,
        channels: IMPS_ONLY,
        needs_beneficiary: true,
        fee_min_paise: Some(400),
    },
];

impl FamilyId {
    /// The family's row in [`FAMILIES`].
    pub fn family(self) -> &'static Family {
        FAMILIES.iter().find(|f| f.id == self).expect("every family has a row")
    }
}

/// The family with this path segment.
pub fn by_slug(slug: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.slug == slug)
}

impl Family {
    /// The first step the sender has not done, given the steps recorded for the family
    /// and the domain's customer state; `None` when the sender is fully verified.
    pub fn next_step(&self, done: &[KycStep], state: CustomerState) -> Option<KycStep> {
        self.steps.iter().copied().find(|step| match step {
            KycStep::MobileOtp => !state.may_transact(),
            other => !done.contains(other),
        })
    }

    /// Whether `step` may be taken now: every step before it is done.
    pub fn may_take(&self, step: KycStep, done: &[KycStep], state: CustomerState) -> Result<(), KycStep> {
        match self.next_step(done, state) {
            Some(next) if next != step && self.position(next) < self.position(step) => Err(next),
            _ => Ok(()),
        }
    }

    fn position(&self, step: KycStep) -> usize {
        self.steps.iter().position(|s| *s == step).unwrap_or(usize::MAX)
    }

    /// Checks an amount against the family's per-transfer bounds.
    pub fn check_amount(&self, amount_paise: i64) -> Result<(), &'static str> {
        if amount_paise < self.min_transfer_paise {
            return Err("must be at least 1.00");
        }
        if amount_paise > self.max_transfer_paise {
            return Err("must be at most 5000.00 per transfer; split larger amounts into several transfers");
        }
        Ok(())
    }

    /// What the sender may still send through the family this month.
    pub fn available_limit_paise(&self, used_month: i64, used_paise: i64, now_ms: i64) -> i64 {
        let used = if used_month == crate::dmt::month_key(now_ms) { used_paise } else { 0 };
        (self.monthly_limit_paise - used).max(0)
    }

    /// The server's pricing with the family's fee floor.
    pub fn pricing(&self, base: &crate::pricing::Pricing) -> crate::pricing::Pricing {
        let mut pricing = base.clone();
        if let Some(min) = self.fee_min_paise.and_then(crate::money::Paise::new) {
            pricing.fee_min_paise = min;
        }
        pricing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_steps_named() {
        for (i, f) in FAMILIES.iter().enumerate() {
            assert!(FAMILIES[i + 1..].iter().all(|g| g.slug != f.slug), "{}", f.slug);
            assert_eq!(f.id.family().slug, f.slug);
            assert!(!f.steps.is_empty() && !f.channels.is_empty());
            for s in f.steps {
                assert_eq!(KycStep::from_code(s.code()), Some(*s));
            }
        }
        assert_eq!(by_slug("ppi").map(|f| f.id), Some(FamilyId::PpiDigiKhata));
        assert!(by_slug("dmt").is_none());
    }

    #[test]
    fn steps_go_in_order() {
        let ppi = FamilyId::PpiLevin.family();
        let fresh = CustomerState::OtpPending;
        assert_eq!(ppi.next_step(&[], fresh), Some(KycStep::MobileOtp));
        assert_eq!(ppi.may_take(KycStep::AadhaarOtp, &[], fresh), Err(KycStep::MobileOtp));
        let verified = CustomerState::VerifiedNonKyc;
        assert_eq!(ppi.may_take(KycStep::AadhaarOtp, &[], verified), Ok(()));
        assert_eq!(ppi.may_take(KycStep::Pan, &[], verified), Err(KycStep::AadhaarOtp));
        assert_eq!(ppi.next_step(&[KycStep::AadhaarOtp, KycStep::Pan], verified), None);
        let levin = FamilyId::DmtLevin.family();
        assert_eq!(levin.next_step(&[], fresh), Some(KycStep::AadhaarOtp), "Levin verifies no mobile OTP");
        assert_eq!(levin.may_take(KycStep::Biometric, &[], fresh), Err(KycStep::AadhaarOtp));
        assert_eq!(levin.next_step(&[KycStep::AadhaarOtp, KycStep::Biometric], fresh), None);
    }

    #[test]
    fn limits_and_pricing_differ_by_family() {
        let ppi = FamilyId::PpiDigiKhata.family();
        let fino = FamilyId::DmtFino.family();
        assert_eq!(ppi.available_limit_paise(0, 0, 0), 5_000_000);
        assert_eq!(fino.available_limit_paise(0, 0, 0), 2_500_000);
        let base = crate::pricing::Pricing::default();
        assert_eq!(ppi.pricing(&base).fee_min_paise.get(), 400);
        assert_eq!(fino.pricing(&base), base);
        assert!(fino.check_amount(99).is_err() && fino.check_amount(500_001).is_err() && fino.check_amount(100).is_ok());
    }
}
