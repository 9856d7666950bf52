//! The banks money can be sent to: the major Indian banks with their codes (the IFSC
//! prefix, which is also Eko's `bank_code`), the channels each accepts, whether account
//! name verification is available, and whether a recipient needs a branch IFSC.
//! Also IFSC and account-number validation.
//!
//! The table is Kosh's sandbox data: names and IFSC prefixes are the real ones; `bank_id`
//! values are Kosh's own, and two banks have restricted channels so partners can see
//! the platform's refusals (Saraswat Co-operative Bank takes NEFT only, India Post
//! Payments Bank IMPS only).

use crate::dmt::DmtChannel;
use serde::Serialize;

/// `available_channels`: which transfer channels a bank accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Channels {
    /// The bank accepts both IMPS and NEFT.
    All = 0,
    /// The bank accepts only NEFT (IMPS transfers are refused).
    NeftOnly = 1,
    /// The bank accepts only IMPS (NEFT transfers are refused).
    ImpsOnly = 2,
}

impl Channels {
    /// Whether a transfer on `channel` may go to this bank.
    pub fn allows(self, channel: DmtChannel) -> bool {
        match self {
            Channels::All => true,
            Channels::NeftOnly => channel == DmtChannel::Neft,
            Channels::ImpsOnly => channel == DmtChannel::Imps,
        }
    }
}

/// `ifsc_status`: whether adding a recipient needs the branch IFSC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IfscStatus {
    /// The bank routes on its universal IFSC: `acc_bankcode:{account}_{code}` works.
    NotRequired = 1,
    /// The branch IFSC is required: use `acc_ifsc:{account}_{ifsc}`.
    Required = 2,
}

/// One of the seeded banks a DMT recipient may bank with (`seeds/`, `GET /banks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bank {
    /// Kosh's numeric id for the bank (`bank_id`).
    pub id: i64,
    /// The short code, which is the IFSC's first four letters (`bank_code`, `code`).
    pub code: &'static str,
    /// The bank's name as lists and answers show it.
    pub name: &'static str,
    /// Which transfer channels the bank accepts; a transfer on another is refused.
    pub channels: Channels,
    /// Whether account name verification (penny drop) is available.
    pub verification: bool,
    /// Whether adding a recipient at this bank needs the branch IFSC.
    pub ifsc_status: IfscStatus,
}

impl Bank {
    /// The IFSC used when a recipient is added by bank code: `{code}0000001`.
    pub fn universal_ifsc(&self) -> String {
        format!("{}0000001", self.code)
    }
}

const fn bank(id: i64, code: &'static str, name: &'static str, channels: Channels, verification: bool, ifsc: IfscStatus) -> Bank {
    Bank { id, code, name, channels, verification, ifsc_status: ifsc }
}

use Channels::{All, ImpsOnly, NeftOnly};
use IfscStatus::{NotRequired, Required};

/// The seeded banks.
pub const BANKS: &[Bank] = &[
    bank(1, "SBIN", "State Bank of India", All, true, NotRequired),
    bank(2, "HDFC", "HDFC Bank", All, true, NotRequired),
    bank(3, "ICIC", "ICICI Bank", All, true, NotRequired),
    bank(4, "UTIB", "Axis Bank", All, true, NotRequired),
    bank(5, "KKBK", "Kotak Mahindra Bank", All, true, NotRequired),
    bank(6, "PUNB", "Punjab National Bank", All, true, Required),
    bank(7, "BARB", "Bank of Baroda", All, true, Required),
    bank(8, "CNRB", "Canara Bank", All, true, Required),
    bank(9, "UBIN", "Union Bank of India", All, true, Required),
    bank(10, "BKID", "Bank of India", All, true, Required),
    bank(11, "IDIB", "Indian Bank", All, true, Required),
    bank(12, "IOBA", "Indian Overseas Bank", All, true, Required),
    bank(13, "UCBA", "UCO Bank", All, true, Required),
    bank(14, "MAHB", "Bank of Maharashtra", All, true, Required),
    bank(15, "CBIN", "Central Bank of India", All, true, Required),
    bank(16, "PSIB", "Punjab & Sind Bank", All, false, Required),
    bank(17, "INDB", "IndusInd Bank", All, true, NotRequired),
    bank(18, "YESB", "Yes Bank", All, true, NotRequired),
    bank(19, "IDFB", "IDFC First Bank", All, true, NotRequired),
    bank(20, "FDRL", "Federal Bank", All, true, Required),
    bank(21, "KARB", "Karnataka Bank", All, true, Required),
    bank(22, "SIBL", "South Indian Bank", All, true, Required),
    bank(23, "KVBL", "Karur Vysya Bank", All, true, Required),
    bank(24, "RATN", "RBL Bank", All, true, Required),
    bank(25, "AUBL", "AU Small Finance Bank", All, true, Required),
    bank(26, "BDBL", "Bandhan Bank", All, true, Required),
    bank(27, "JAKA", "Jammu & Kashmir Bank", All, false, Required),
    bank(28, "DBSS", "DBS Bank India", All, true, Required),
    bank(29, "PYTM", "Paytm Payments Bank", All, true, NotRequired),
    bank(30, "AIRP", "Airtel Payments Bank", All, true, NotRequired),
    bank(31, "IPOS", "India Post Payments Bank", ImpsOnly, false, NotRequired),
    bank(32, "SRCB", "Saraswat Co-operative Bank", NeftOnly, false, Required),
];

/// A bank by its short code (`SBIN`) or its numeric `bank_id`, case-insensitively.
pub fn find(code_or_id: &str) -> Option<&'static Bank> {
    let key = code_or_id.trim();
    if let Ok(id) = key.parse::<i64>() {
        return BANKS.iter().find(|b| b.id == id);
    }
    BANKS.iter().find(|b| b.code.eq_ignore_ascii_case(key))
}

/// The bank an IFSC belongs to (by its first four letters).
pub fn by_ifsc(ifsc: &Ifsc) -> Option<&'static Bank> {
    BANKS.iter().find(|b| b.code == &ifsc.0[..4])
}

/// An IFSC: four letters (the bank), a zero, six letters or digits (the branch).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Ifsc(String);

impl Ifsc {
    /// Parses an IFSC (trimmed, upper-cased); the error is the reason shown to the partner.
    pub fn parse(text: &str) -> Result<Ifsc, &'static str> {
        let t = text.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        let shape = b.len() == 11
            && b[..4].iter().all(u8::is_ascii_uppercase)
            && b[4] == b'0'
            && b[5..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !shape {
            return Err("must be an 11-character IFSC: 4 letters, a zero, then 6 letters or digits (e.g. SBIN0001234)");
        }
        Ok(Ifsc(t))
    }

    /// The IFSC, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shortest and longest Indian bank account numbers.
pub const ACCOUNT_DIGITS: std::ops::RangeInclusive<usize> = 9..=18;

/// Why an account number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountError {
    /// Something other than digits (or nothing at all).
    NotDigits,
    /// Fewer than 9 or more than 18 digits.
    Length,
}

impl AccountError {
    /// The reason shown to the partner.
    pub fn message(self) -> &'static str {
        match self {
            AccountError::NotDigits => "must contain only digits",
            AccountError::Length => "must be 9 to 18 digits long",
        }
    }
}

/// A bank account number: 9 to 18 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AccountNumber(String);

impl AccountNumber {
    /// Parses an account number (trimmed).
    pub fn parse(text: &str) -> Result<AccountNumber, AccountError> {
        let t = text.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AccountError::NotDigits);
        }
        if !ACCOUNT_DIGITS.contains(&t.len()) {
            return Err(AccountError::Length);
        }
        Ok(AccountNumber(t.to_owned()))
    }

    /// The digits, as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but its last four digits hidden, as recipient lists show it.
    pub fn masked(account: &str) -> String {
        let keep = account.len().saturating_sub(4);
        format!("{}{}", "X".repeat(keep), &account[keep..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        for (i, b) in BANKS.iter().enumerate() {
            assert_eq!(b.id, i as i64 + 1);
            assert_eq!(b.code.len(), 4);
            assert!(b.code.bytes().all(|c| c.is_ascii_uppercase()));
            assert_eq!(Ifsc::parse(&b.universal_ifsc()).map(|i| by_ifsc(&i).map(|x| x.id)), Ok(Some(b.id)));
        }
        assert_eq!(find("idfb").map(|b| b.name), Some("IDFC First Bank"));
        assert_eq!(find("3").map(|b| b.code), Some("ICIC"));
        assert!(find("ZZZZ").is_none() && find("999").is_none());
    }

    #[test]
    fn ifscs_and_accounts() {
        assert_eq!(Ifsc::parse("sbin0001234").map(|i| i.as_str().to_owned()), Ok("SBIN0001234".into()));
        for bad in ["SBIN1001234", "SBI00001234", "SBIN000123", "SBIN0001234X", "SBIN00012-4"] {
            assert!(Ifsc::parse(bad).is_err(), "{bad}");
        }
        assert!(AccountNumber::parse("123456789").is_ok());
        assert_eq!(AccountNumber::parse("12345678"), Err(AccountError::Length));
        assert_eq!(AccountNumber::parse("1234567890123456789"), Err(AccountError::Length));
        assert_eq!(AccountNumber::parse("12345678a"), Err(AccountError::NotDigits));
        assert_eq!(AccountNumber::masked("123456789012"), "XXXXXXXX9012");
    }

    #[test]
    fn channel_restrictions() {
        assert!(find("SRCB").is_some_and(|b| b.channels.allows(DmtChannel::Neft) && !b.channels.allows(DmtChannel::Imps)));
        assert!(find("IPOS").is_some_and(|b| b.channels.allows(DmtChannel::Imps) && !b.channels.allows(DmtChannel::Neft)));
        assert!(find("SBIN").is_some_and(|b| b.channels.allows(DmtChannel::Imps) && b.channels.allows(DmtChannel::Neft)));
    }
}
