//! AePS fund settlement (Eko service 39): an agent moves its AePS takings from the
//! partner's e-value to its own bank account. Pure rules (catalogue §3.7): what is
//! settleable, the per-settlement cap, the charges and the settlement window.

use crate::civil::{Date, IST_OFFSET_MS};
use crate::money::Paise;
use crate::pricing::{Pricing, Slab};

/// Eko's service code for AePS fund settlement.
pub const SETTLEMENT_SERVICE_CODE: u16 = 39;
/// Most one settlement may carry: ₹2,00,000.
pub const CAP_PAISE: i64 = 20_000_000;
/// How far back AePS business counts towards what is settleable: 7 days.
pub const SETTLEABLE_WINDOW_MS: i64 = 7 * DAY_MS;
/// The window opens at 10:00 IST…
pub const OPENS_IST_MIN: i64 = 10 * 60;
/// …and closes at 17:00 IST.
pub const CLOSES_IST_MIN: i64 = 17 * 60;
const DAY_MS: i64 = 86_400_000;
/// Most days looked ahead for an open window (a long holiday run still ends).
const MAX_LOOKAHEAD_DAYS: i64 = 31;

/// What the agent may still settle: its AePS business of the last 7 days less what it
/// settled in them, and at most [`CAP_PAISE`] at once (`remaining_limit`).
pub fn remaining_limit(business_paise: i64, settled_paise: i64) -> (i64, i64) {
    let unsettled = (business_paise - settled_paise).max(0);
    (unsettled, unsettled.min(CAP_PAISE))
}

/// The charges: ₹5 up to ₹25,000 and ₹10 above, plus 18% GST (so ₹5.90 and ₹11.80,
/// GST included in the fee as the payout fee table has it).
pub fn pricing() -> Pricing {
    Pricing {
        fee_bp: 0,
        fee_min_paise: paise(1_180),
        fee_max_paise: paise(1_180),
        slabs: vec![Slab { up_to_paise: paise(2_500_000), fee_paise: paise(590) }],
        gst_bp: 1_800,
        commission_bp: 0,
        tds_bp: 0,
    }
}

fn paise(p: i64) -> Paise {
    Paise::new(p).expect("a table amount")
}

/// Reads the holiday table (`YYYY-MM-DD` dates, IST).
pub fn parse_holidays(dates: &[String]) -> Result<Vec<Date>, String> {
    dates.iter().map(|d| Date::parse_iso(d).ok_or_else(|| format!("{d:?} is not a YYYY-MM-DD date"))).collect()
}

fn is_working_day(days: i64, holidays: &[Date]) -> bool {
    // 1970-01-01 was a Thursday: weekday 0 is Monday.
    let weekday = (days + 3).rem_euclid(7);
    weekday < 5 && !holidays.contains(&Date::from_days(days))
}

/// When a settlement requested at `now_ms` goes to the bank: at once inside the window
/// (Mon–Fri 10:00–17:00 IST, not on a holiday), otherwise at the next window's opening.
pub fn submit_at(now_ms: i64, holidays: &[Date]) -> i64 {
    let local = now_ms + IST_OFFSET_MS;
    let today = local.div_euclid(DAY_MS);
    let minute = (local - today * DAY_MS) / 60_000;
    let opening = |days: i64| days * DAY_MS + OPENS_IST_MIN * 60_000 - IST_OFFSET_MS;
    if is_working_day(today, holidays) {
        if (OPENS_IST_MIN..CLOSES_IST_MIN).contains(&minute) {
            return now_ms;
        }
        if minute < OPENS_IST_MIN {
            return opening(today);
        }
    }
    (today + 1..=today + MAX_LOOKAHEAD_DAYS).find(|d| is_working_day(*d, holidays)).map_or(opening(today + 1), opening)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04 (a Friday) at `hh:mm` IST.
    fn friday(hh: i64, mm: i64) -> i64 {
        1_796_342_400_000 - IST_OFFSET_MS + (hh * 60 + mm) * 60_000
    }

    #[test]
    fn inside_the_window_it_goes_at_once() {
        assert_eq!(submit_at(friday(10, 0), &[]), friday(10, 0));
        assert_eq!(submit_at(friday(16, 59), &[]), friday(16, 59));
    }

    #[test]
    fn after_friday_17_00_it_waits_for_monday_10_00() {
        let monday = friday(10, 0) + 3 * DAY_MS;
        assert_eq!(submit_at(friday(17, 5), &[]), monday);
        assert_eq!(submit_at(friday(9, 0) + DAY_MS, &[]), monday, "Saturday");
        assert_eq!(submit_at(friday(9, 59), &[]), friday(10, 0), "before the opening: today");
    }

    #[test]
    fn a_holiday_is_skipped() {
        let holidays = parse_holidays(&["2026-12-07".into()]).unwrap();
        assert_eq!(submit_at(friday(17, 5), &holidays), friday(10, 0) + 4 * DAY_MS, "Tuesday");
        let friday_off = parse_holidays(&["2026-12-04".into()]).unwrap();
        assert_eq!(submit_at(friday(11, 0), &friday_off), friday(10, 0) + 3 * DAY_MS);
        assert!(parse_holidays(&["04-12-2026".into()]).is_err());
    }

    #[test]
    fn charges_and_limits_follow_the_catalogue() {
        let p = pricing();
        p.validate().unwrap();
        let c = |amount: i64| p.charges(paise(amount));
        assert_eq!((c(2_500_000).fee_paise.get(), c(2_500_000).gst_paise.get()), (590, 90));
        assert_eq!((c(2_500_001).fee_paise.get(), c(2_500_001).gst_paise.get()), (1_180, 180));
        assert_eq!(remaining_limit(30_000_000, 5_000_000), (25_000_000, CAP_PAISE));
        assert_eq!(remaining_limit(100_000, 150_000), (0, 0));
    }
}
