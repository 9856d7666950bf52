//! Money as integer paise. Rupee strings ("2000", "2000.0", "100.00") are parsed and
//! formatted only at the edges; arithmetic inside Kosh never sees a float.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// The largest amount Kosh accepts anywhere: ₹100 crore (1,000,000,000.00 rupees).
/// Far above any single payment, far below `i64::MAX`, so sums of many amounts
/// cannot overflow.
pub const MAX_PAISE: i64 = 100_000_000_000;

/// An amount of Indian rupees in paise (1/100 rupee). Always non-negative.
///
/// Serialised as the bare number of paise; deserialising goes through the same rule
/// as [`Paise::new`], so a stored command or a config file cannot carry a negative or
/// oversized amount past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Paise(i64);

impl TryFrom<i64> for Paise {
    type Error = MoneyError;

    fn try_from(paise: i64) -> Result<Paise, MoneyError> {
        match Paise::new(paise) {
            Some(p) => Ok(p),
            None if paise < 0 => Err(MoneyError::Negative),
            None => Err(MoneyError::TooLarge),
        }
    }
}

impl<'de> Deserialize<'de> for Paise {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Paise, D::Error> {
        let paise = i64::deserialize(deserializer)?;
        Paise::try_from(paise).map_err(|e| serde::de::Error::custom(format_args!("{e} ({paise} paise)")))
    }
}

/// Why a rupee amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// No amount was given.
    #[error("amount is empty")]
    Empty,
    /// Not a decimal number.
    #[error("amount must be a plain decimal number like 100 or 100.50")]
    NotANumber,
    /// Below zero.
    #[error("amount must not be negative")]
    Negative,
    /// More than two decimal places (smaller than a paisa).
    #[error("amount has more than 2 decimal places")]
    TooManyDecimals,
    /// More than [`MAX_PAISE`].
    #[error("amount is larger than the maximum of 1000000000.00")]
    TooLarge,
}

impl Paise {
    /// Nothing.
    pub const ZERO: Paise = Paise(0);

    /// Builds an amount from paise; `None` when negative or above [`MAX_PAISE`].
    pub fn new(paise: i64) -> Option<Paise> {
        (0..=MAX_PAISE).contains(&paise).then_some(Paise(paise))
    }

    /// Whole rupees as paise; `None` past [`MAX_PAISE`].
    pub fn from_rupees(rupees: i64) -> Option<Paise> {
        rupees.checked_mul(100).and_then(Paise::new)
    }

    /// The amount in paise.
    pub fn get(self) -> i64 {
        self.0
    }

    /// Whether the amount is nothing.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The sum; `None` past [`MAX_PAISE`].
    pub fn checked_add(self, other: Paise) -> Option<Paise> {
        self.0.checked_add(other.0).and_then(Paise::new)
    }

    /// The difference; `None` below zero.
    pub fn checked_sub(self, other: Paise) -> Option<Paise> {
        self.0.checked_sub(other.0).and_then(Paise::new)
    }

    /// Parses a rupee amount as partners send it: digits with at most two decimals.
    /// Rejects signs, exponents, spaces inside, and anything float-like but inexact.
    pub fn parse_rupees(text: &str) -> Result<Paise, MoneyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        if let Some(rest) = text.strip_prefix('-') {
            return match Paise::parse_rupees(rest) {
                Ok(p) if p.is_zero() => Ok(p),
                Ok(_) => Err(MoneyError::Negative),
                Err(e) => Err(e),
            };
        }
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) {
            return Err(MoneyError::NotANumber);
        }
        let frac_trimmed = frac.trim_end_matches('0');
        if frac_trimmed.len() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        let whole_value: i64 = match whole.trim_start_matches('0') {
            "" => 0,
            w if w.len() > 12 => return Err(MoneyError::TooLarge),
            w => w.parse().map_err(|_| MoneyError::NotANumber)?,
        };
        let mut frac_value: i64 = 0;
        for (i, b) in frac_trimmed.bytes().enumerate() {
            frac_value += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
        }
        whole_value.checked_mul(100).and_then(|p| p.checked_add(frac_value)).and_then(Paise::new).ok_or(MoneyError::TooLarge)
    }

    /// "1234.50": two decimals, the form most Eko amounts take.
    pub fn to_rupees_string(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// "2000.0" / "1234.5" / "1234.56": Java's `Double.toString` for amounts, as some
    /// Eko responses render them (`"amount":"2000.0"`).
    pub fn to_java_double_string(self) -> String {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => format!("{whole}.0"),
            f if f % 10 == 0 => format!("{whole}.{}", f / 10),
            f => format!("{whole}.{f:02}"),
        }
    }
}

/// An amount compared with a bare number of paise (in tests and assertions).
impl PartialEq<i64> for Paise {
    fn eq(&self, paise: &i64) -> bool {
        self.0 == *paise
    }
}

impl fmt::Display for Paise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rupees_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_partners_send() {
        assert_eq!(Paise::parse_rupees("5000").unwrap().get(), 500_000);
        assert_eq!(Paise::parse_rupees("5000.0").unwrap().get(), 500_000);
        assert_eq!(Paise::parse_rupees("100.00").unwrap().get(), 10_000);
        assert_eq!(Paise::parse_rupees("0.5").unwrap().get(), 50);
        assert_eq!(Paise::parse_rupees("0.05").unwrap().get(), 5);
        assert_eq!(Paise::parse_rupees("12.340").unwrap().get(), 1234);
        assert_eq!(Paise::parse_rupees(" 7 ").unwrap().get(), 700);
        assert_eq!(Paise::parse_rupees("007.10").unwrap().get(), 710);
    }

    #[test]
    fn rejects_what_is_not_an_exact_amount() {
        assert_eq!(Paise::parse_rupees(""), Err(MoneyError::Empty));
        assert_eq!(Paise::parse_rupees("-1"), Err(MoneyError::Negative));
        assert_eq!(Paise::parse_rupees("1.234"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Paise::parse_rupees("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(Paise::parse_rupees(".5"), Err(MoneyError::NotANumber));
        assert_eq!(Paise::parse_rupees("+5"), Err(MoneyError::NotANumber));
        assert_eq!(Paise::parse_rupees("1,000"), Err(MoneyError::NotANumber));
        assert_eq!(Paise::parse_rupees("NaN"), Err(MoneyError::NotANumber));
        assert_eq!(Paise::parse_rupees("99999999999999"), Err(MoneyError::TooLarge));
        assert_eq!(Paise::parse_rupees("1000000000.01"), Err(MoneyError::TooLarge));
        assert!(Paise::parse_rupees("1000000000.00").is_ok());
    }

    #[test]
    fn formats_both_ways() {
        let p = Paise::new(200_000).unwrap();
        assert_eq!(p.to_rupees_string(), "2000.00");
        assert_eq!(p.to_java_double_string(), "2000.0");
        assert_eq!(Paise::new(30).unwrap().to_java_double_string(), "0.3");
        assert_eq!(Paise::new(33_997_626).unwrap().to_java_double_string(), "339976.26");
        assert_eq!(Paise::new(5).unwrap().to_rupees_string(), "0.05");
    }

    #[test]
    fn deserialising_follows_the_construction_rule() {
        let p: Paise = serde_json::from_str("12345").unwrap();
        assert_eq!(p, Paise::new(12_345).unwrap());
        assert_eq!(serde_json::to_string(&p).unwrap(), "12345", "serialised as the bare number");
        let max = Paise::new(MAX_PAISE).unwrap();
        assert_eq!(serde_json::from_str::<Paise>(&serde_json::to_string(&max).unwrap()).unwrap(), max);
        assert_eq!(serde_json::from_str::<Paise>("0").unwrap(), Paise::ZERO);
        let negative = serde_json::from_str::<Paise>("-1").unwrap_err().to_string();
        assert!(negative.contains("must not be negative"), "{negative}");
        let too_large = serde_json::from_str::<Paise>(&(MAX_PAISE + 1).to_string()).unwrap_err().to_string();
        assert!(too_large.contains("larger than the maximum"), "{too_large}");
        assert!(serde_json::from_str::<Paise>("1.5").is_err(), "paise are whole numbers");
        assert_eq!(Paise::try_from(-5), Err(MoneyError::Negative));
    }

    #[test]
    fn round_trips_every_small_amount() {
        for paise in 0..20_000 {
            let p = Paise::new(paise).unwrap();
            assert_eq!(Paise::parse_rupees(&p.to_rupees_string()).unwrap(), p);
            assert_eq!(Paise::parse_rupees(&p.to_java_double_string()).unwrap(), p);
        }
    }
}
