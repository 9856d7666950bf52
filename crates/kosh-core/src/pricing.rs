//! What a money transfer costs, and who gets what: a configurable pricing table.
//!
//! The model (defaults from the catalogue §5, "EPS 2026" pricing):
//!
//! - **fee**: what the customer pays on top of the amount (the agent collects
//!   `amount + fee` in cash): 1% of the amount, at least ₹10, unless a flat-fee slab
//!   covers the amount. The fee **includes** GST, as the platform's answers show
//!   (`fee` 4.0 with `service_tax` 0.61 = 4 × 18/118).
//! - **GST** (`service_tax`, `gst`): 18%, contained in the fee.
//! - **commission**: the partner's share of the fee net of GST (67% by default, which
//!   reproduces the platform's sample refund: fee 50.00 → commission 28.38/28.39).
//! - **TDS**: 2% of the commission, withheld by the platform for the tax authority.
//!
//! The partner's e-value wallet is debited `amount + fee − commission + TDS`: the
//! collectable amount, less the commission it earns net of TDS. The platform keeps
//! `fee − GST − commission` as revenue and owes the GST and the TDS.
//!
//! All arithmetic is integer paise and basis points (1 bp = 0.01%), rounded half up.

use crate::money::Paise;
use serde::{Deserialize, Serialize};

/// Most flat-fee slabs a table may have.
pub const MAX_SLABS: usize = 64;
const BP: i64 = 10_000;

/// A flat fee for amounts up to `up_to_paise` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slab {
    /// The slab covers amounts up to this many paise, inclusive (and above the previous slab's).
    pub up_to_paise: Paise,
    /// The flat fee for amounts in the slab, in paise, GST included.
    pub fee_paise: Paise,
}

/// The pricing table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pricing {
    /// The fee as a share of the amount, in basis points (100 = 1%).
    pub fee_bp: i64,
    /// The least fee, in paise.
    pub fee_min_paise: Paise,
    /// The most fee, in paise; 0 means no cap.
    pub fee_max_paise: Paise,
    /// Flat fees by amount band, ascending; an amount above every band pays `fee_bp`.
    pub slabs: Vec<Slab>,
    /// GST contained in the fee, in basis points (1800 = 18%).
    pub gst_bp: i64,
    /// The partner's commission as a share of the fee net of GST, in basis points.
    pub commission_bp: i64,
    /// TDS withheld from the commission, in basis points (200 = 2%).
    pub tds_bp: i64,
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing {
            fee_bp: 100,
            fee_min_paise: Paise::from_rupees(10).expect("₹10 is an amount"),
            fee_max_paise: Paise::ZERO,
            slabs: Vec::new(),
            gst_bp: 1_800,
            commission_bp: 6_700,
            tds_bp: 200,
        }
    }
}

/// What one transfer costs and pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charges {
    /// The amount the recipient gets, in paise.
    pub amount_paise: Paise,
    /// Paid by the customer, GST included.
    pub fee_paise: Paise,
    /// GST contained in the fee, in paise (owed to the tax authority).
    pub gst_paise: Paise,
    /// Earned by the partner.
    pub commission_paise: Paise,
    /// Withheld from the commission.
    pub tds_paise: Paise,
}

// The sums below are `None` only for charges no valid table produces (an amount near
// `MAX_PAISE`, or parts larger than the fee): callers refuse those rather than guess.
impl Charges {
    /// What the agent collects from the customer: amount + fee.
    pub fn collectable_paise(&self) -> Option<Paise> {
        self.amount_paise.checked_add(self.fee_paise)
    }

    /// What the partner's wallet is debited: amount + fee − commission + TDS.
    pub fn debit_paise(&self) -> Option<Paise> {
        self.collectable_paise()?.checked_sub(self.commission_paise)?.checked_add(self.tds_paise)
    }

    /// What the platform keeps: fee − GST − commission.
    pub fn revenue_paise(&self) -> Option<Paise> {
        self.fee_paise.checked_sub(self.gst_paise)?.checked_sub(self.commission_paise)
    }
}

/// `value × bp / 10000`, rounded half up. Never more than `value` for a valid `bp`
/// (0 to 10000), so it is an amount whenever `value` is.
fn share(value: Paise, bp: i64) -> Paise {
    let v = (value.get() * bp.clamp(0, BP) + BP / 2) / BP;
    Paise::new(v).unwrap_or(value)
}

impl Pricing {
    /// Checks the table once, at startup, so [`Pricing::charges`] cannot produce a
    /// negative revenue or overflow.
    pub fn validate(&self) -> Result<(), String> {
        for (name, bp) in
            [("fee_bp", self.fee_bp), ("gst_bp", self.gst_bp), ("commission_bp", self.commission_bp), ("tds_bp", self.tds_bp)]
        {
            if !(0..=BP).contains(&bp) {
                return Err(format!("{name} must be between 0 and 10000 basis points"));
            }
        }
        let most = 100_000_000; // ₹10 lakh: far above any fee, far from overflow
        for (name, paise) in [("fee_min_paise", self.fee_min_paise), ("fee_max_paise", self.fee_max_paise)] {
            if paise.get() > most {
                return Err(format!("{name} must be between 0 and {most}"));
            }
        }
        if !self.fee_max_paise.is_zero() && self.fee_max_paise < self.fee_min_paise {
            return Err("fee_max_paise must be 0 (no cap) or at least fee_min_paise".into());
        }
        if self.slabs.len() > MAX_SLABS {
            return Err(format!("at most {MAX_SLABS} slabs"));
        }
        let mut previous = Paise::ZERO;
        for slab in &self.slabs {
            if slab.up_to_paise <= previous || slab.up_to_paise.get() > most || slab.fee_paise.get() > most {
                return Err("slabs must have ascending up_to_paise (1 to 100000000) and fee_paise between 0 and 100000000".into());
            }
            previous = slab.up_to_paise;
        }
        Ok(())
    }

    /// The fee for `amount_paise`, GST included.
    pub fn fee_paise(&self, amount_paise: Paise) -> Paise {
        if let Some(slab) = self.slabs.iter().find(|s| amount_paise <= s.up_to_paise) {
            return slab.fee_paise;
        }
        let fee = share(amount_paise, self.fee_bp).max(self.fee_min_paise);
        if !self.fee_max_paise.is_zero() {
            fee.min(self.fee_max_paise)
        } else {
            fee
        }
    }

    /// Every charge on a transfer of `amount_paise`.
    pub fn charges(&self, amount_paise: Paise) -> Charges {
        let fee_paise = self.fee_paise(amount_paise);
        // GST is inside the fee: fee = net × (1 + rate), so GST = fee × rate / (1 + rate),
        // which is never more than the fee.
        let gst_bp = self.gst_bp.clamp(0, BP);
        let gst = (fee_paise.get() * gst_bp + (BP + gst_bp) / 2) / (BP + gst_bp);
        let gst_paise = Paise::new(gst).unwrap_or(fee_paise);
        let commission_paise = share(fee_paise.checked_sub(gst_paise).unwrap_or(Paise::ZERO), self.commission_bp);
        let tds_paise = share(commission_paise, self.tds_bp);
        Charges { amount_paise, fee_paise, gst_paise, commission_paise, tds_paise }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(paise: i64) -> Paise {
        Paise::new(paise).unwrap()
    }

    #[test]
    fn default_pricing_matches_the_platforms_samples() {
        let p = Pricing::default();
        p.validate().expect("defaults are valid");
        // The refund sample: amount 5000.00, fee 50.0, commission reversed 28.38.
        let c = p.charges(Paise::new(500_000).unwrap());
        assert_eq!((c.fee_paise.get(), c.gst_paise.get()), (5_000, 763));
        assert_eq!(c.commission_paise.get(), 2_839);
        assert_eq!(c.tds_paise.get(), 57);
        assert_eq!(c.collectable_paise().map(Paise::get), Some(505_000));
        assert_eq!(c.debit_paise().map(Paise::get), Some(505_000 - 2_839 + 57));
        // Small amounts pay the minimum fee.
        assert_eq!(p.charges(Paise::new(11_000).unwrap()).fee_paise.get(), 1_000);
    }

    #[test]
    fn every_amount_splits_without_loss() {
        let table = Pricing {
            slabs: vec![Slab { up_to_paise: p(100_000), fee_paise: p(1_500) }],
            fee_max_paise: p(4_000),
            ..Pricing::default()
        };
        table.validate().expect("valid");
        for amount in (100..=500_000).step_by(97) {
            let c = table.charges(p(amount));
            let revenue = c.revenue_paise().expect("revenue is never negative");
            assert!(c.tds_paise <= c.commission_paise && c.gst_paise <= c.fee_paise, "{c:?}");
            // The wallet debit is exactly what the clearing, revenue, GST and TDS accounts receive.
            let received = c.amount_paise.get() + revenue.get() + c.gst_paise.get() + c.tds_paise.get();
            assert_eq!(c.debit_paise().map(Paise::get), Some(received));
            assert!(c.fee_paise <= p(4_000));
        }
        assert_eq!(table.fee_paise(p(100_000)), p(1_500));
        assert_eq!(table.fee_paise(p(100_001)), p(1_000));
    }

    #[test]
    fn invalid_tables_are_refused() {
        assert!(Pricing { commission_bp: 10_001, ..Pricing::default() }.validate().is_err());
        // A negative fee cannot even be read from a configuration.
        assert!(serde_json::from_str::<Pricing>(r#"{"fee_min_paise": -1}"#).is_err());
        assert!(Pricing { fee_max_paise: p(500), ..Pricing::default() }.validate().is_err());
        let unordered = vec![Slab { up_to_paise: p(200), fee_paise: p(1) }, Slab { up_to_paise: p(100), fee_paise: p(1) }];
        assert!(Pricing { slabs: unordered, ..Pricing::default() }.validate().is_err());
    }
}
