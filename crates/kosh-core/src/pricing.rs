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

use serde::{Deserialize, Serialize};

/// Most flat-fee slabs a table may have.
pub const MAX_SLABS: usize = 64;
const BP: i64 = 10_000;

/// A flat fee for amounts up to `up_to_paise` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slab {
    /// The slab covers amounts up to this many paise, inclusive (and above the previous slab's).
    pub up_to_paise: i64,
    /// The flat fee for amounts in the slab, in paise, GST included.
    pub fee_paise: i64,
}

/// The pricing table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pricing {
    /// The fee as a share of the amount, in basis points (100 = 1%).
    pub fee_bp: i64,
    /// The least fee, in paise.
    pub fee_min_paise: i64,
    /// The most fee, in paise; 0 means no cap.
    pub fee_max_paise: i64,
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
            fee_min_paise: 1_000,
            fee_max_paise: 0,
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
    pub amount_paise: i64,
    /// Paid by the customer, GST included.
    pub fee_paise: i64,
    /// GST contained in the fee, in paise (owed to the tax authority).
    pub gst_paise: i64,
    /// Earned by the partner.
    pub commission_paise: i64,
    /// Withheld from the commission.
    pub tds_paise: i64,
}

impl Charges {
    /// What the agent collects from the customer: amount + fee.
    pub fn collectable_paise(&self) -> i64 {
        self.amount_paise + self.fee_paise
    }

    /// What the partner's wallet is debited: amount + fee − commission + TDS.
    pub fn debit_paise(&self) -> i64 {
        self.collectable_paise() - self.commission_paise + self.tds_paise
    }

    /// What the platform keeps: fee − GST − commission.
    pub fn revenue_paise(&self) -> i64 {
        self.fee_paise - self.gst_paise - self.commission_paise
    }
}

/// `value × bp / 10000`, rounded half up (values are non-negative).
fn share(value: i64, bp: i64) -> i64 {
    (value * bp + BP / 2) / BP
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
            if !(0..=most).contains(&paise) {
                return Err(format!("{name} must be between 0 and {most}"));
            }
        }
        if self.fee_max_paise != 0 && self.fee_max_paise < self.fee_min_paise {
            return Err("fee_max_paise must be 0 (no cap) or at least fee_min_paise".into());
        }
        if self.slabs.len() > MAX_SLABS {
            return Err(format!("at most {MAX_SLABS} slabs"));
        }
        let mut previous = 0;
        for slab in &self.slabs {
            if slab.up_to_paise <= previous || slab.up_to_paise > most || !(0..=most).contains(&slab.fee_paise) {
                return Err("slabs must have ascending up_to_paise (1 to 100000000) and fee_paise between 0 and 100000000".into());
            }
            previous = slab.up_to_paise;
        }
        Ok(())
    }

    /// The fee for `amount_paise`, GST included.
    pub fn fee_paise(&self, amount_paise: i64) -> i64 {
        if let Some(slab) = self.slabs.iter().find(|s| amount_paise <= s.up_to_paise) {
            return slab.fee_paise;
        }
        let fee = share(amount_paise, self.fee_bp).max(self.fee_min_paise);
        if self.fee_max_paise > 0 {
            fee.min(self.fee_max_paise)
        } else {
            fee
        }
    }

    /// Every charge on a transfer of `amount_paise`.
    pub fn charges(&self, amount_paise: i64) -> Charges {
        let fee_paise = self.fee_paise(amount_paise);
        // GST is inside the fee: fee = net × (1 + rate), so GST = fee × rate / (1 + rate).
        let gst_paise = (fee_paise * self.gst_bp + (BP + self.gst_bp) / 2) / (BP + self.gst_bp);
        let commission_paise = share(fee_paise - gst_paise, self.commission_bp);
        let tds_paise = share(commission_paise, self.tds_bp);
        Charges { amount_paise, fee_paise, gst_paise, commission_paise, tds_paise }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pricing_matches_the_platforms_samples() {
        let p = Pricing::default();
        p.validate().expect("defaults are valid");
        // The refund sample: amount 5000.00, fee 50.0, commission reversed 28.38.
        let c = p.charges(500_000);
        assert_eq!((c.fee_paise, c.gst_paise), (5_000, 763));
        assert_eq!(c.commission_paise, 2_839);
        assert_eq!(c.tds_paise, 57);
        assert_eq!(c.collectable_paise(), 505_000);
        assert_eq!(c.debit_paise(), 505_000 - 2_839 + 57);
        // Small amounts pay the minimum fee.
        assert_eq!(p.charges(11_000).fee_paise, 1_000);
    }

    #[test]
    fn every_amount_splits_without_loss() {
        let p =
            Pricing { slabs: vec![Slab { up_to_paise: 100_000, fee_paise: 1_500 }], fee_max_paise: 4_000, ..Pricing::default() };
        p.validate().expect("valid");
        for amount in (100..=500_000).step_by(97) {
            let c = p.charges(amount);
            assert!(c.revenue_paise() >= 0 && c.tds_paise <= c.commission_paise && c.gst_paise <= c.fee_paise, "{c:?}");
            // The wallet debit is exactly what the clearing, revenue, GST and TDS accounts receive.
            assert_eq!(c.debit_paise(), c.amount_paise + c.revenue_paise() + c.gst_paise + c.tds_paise);
            assert!(c.fee_paise <= 4_000);
        }
        assert_eq!(p.fee_paise(100_000), 1_500);
        assert_eq!(p.fee_paise(100_001), 1_000);
    }

    #[test]
    fn invalid_tables_are_refused() {
        assert!(Pricing { commission_bp: 10_001, ..Pricing::default() }.validate().is_err());
        assert!(Pricing { fee_min_paise: -1, ..Pricing::default() }.validate().is_err());
        assert!(Pricing { fee_max_paise: 500, ..Pricing::default() }.validate().is_err());
        let unordered = vec![Slab { up_to_paise: 200, fee_paise: 1 }, Slab { up_to_paise: 100, fee_paise: 1 }];
        assert!(Pricing { slabs: unordered, ..Pricing::default() }.validate().is_err());
    }
}
