//! Aadhaar numbers: parsed (12 digits, Verhoeff check digit), shown only masked
//! (`XXXX XXXX 1234`), and stored only as a keyed hash.
//!
//! An [`Aadhaar`] holds the number in clear for as long as a request needs it (to check
//! a `request_hash`, to mask and to hash it) and never prints it: its `Debug` is the
//! masked form, and it is deliberately not `Serialize`, so it cannot reach a stored
//! command, a log line or an answer by accident.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// Digits in an Aadhaar number.
pub const DIGITS: usize = 12;

/// Verhoeff's multiplication table of the dihedral group D5.
const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

/// Verhoeff's permutation table: row `i` is the permutation applied at position `i mod 8`.
const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 7, 6, 8, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Verhoeff's inverse table.
const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// Whether a string of digits (check digit last) passes Verhoeff's check.
pub fn verhoeff_valid(digits: &str) -> bool {
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && verhoeff_state(digits, 0) == 0
}

/// The Verhoeff check digit to append to `digits` (all ASCII digits).
pub fn verhoeff_check_digit(digits: &str) -> u8 {
    INV[usize::from(verhoeff_state(digits, 1))]
}

/// Runs the checksum from the right; `offset` 1 leaves room for a check digit to come.
fn verhoeff_state(digits: &str, offset: usize) -> u8 {
    digits.bytes().rev().enumerate().fold(0u8, |c, (i, b)| {
        let p = P[(i + offset) % 8][usize::from(b - b'0')];
        D[usize::from(c)][usize::from(p)]
    })
}

/// A well-formed Aadhaar number: 12 digits, not starting with 0 or 1 (UIDAI never
/// issues those), with a valid Verhoeff check digit.
#[derive(Clone, PartialEq, Eq)]
pub struct Aadhaar(String);

impl Aadhaar {
    /// Parses an Aadhaar number; spaces and hyphens between digit groups are allowed.
    pub fn parse(text: &str) -> Result<Aadhaar, &'static str> {
        let digits: String = text.trim().chars().filter(|c| *c != ' ' && *c != '-').collect();
        if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a 12-digit Aadhaar number");
        }
        if matches!(digits.as_bytes()[0], b'0' | b'1') {
            return Err("is not a valid Aadhaar number (it cannot start with 0 or 1)");
        }
        if !verhoeff_valid(&digits) {
            return Err("is not a valid Aadhaar number (the check digit is wrong)");
        }
        Ok(Aadhaar(digits))
    }

    /// The 12 digits, for the one place that needs them: a `request_hash` check.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `XXXX XXXX 1234`: the only form Kosh shows or stores readably.
    pub fn masked(&self) -> String {
        format!("XXXX XXXX {}", &self.0[8..])
    }

    /// A keyed hash (hex HMAC-SHA256 under the deployment's `pepper`): equal numbers
    /// hash equal, so per-Aadhaar limits can be counted, but without the pepper the
    /// 10^11 possible numbers cannot be tried one by one against a stolen database.
    pub fn keyed_hash(&self, pepper: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(pepper.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(b"aadhaar:");
        mac.update(self.0.as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Aadhaar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aadhaar({})", self.masked())
    }
}

/// Builds a valid Aadhaar number from 11 leading digits (the first one 2–9) by
/// appending the check digit: for tests and the sandbox's documented test numbers.
pub fn with_check_digit(first_eleven: &str) -> Option<Aadhaar> {
    if first_eleven.len() != DIGITS - 1 || !first_eleven.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Aadhaar::parse(&format!("{first_eleven}{}", verhoeff_check_digit(first_eleven))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_verhoeff_vectors() {
        // The classic examples: 236 → check digit 3; 12345 → 1; 142857 → 0.
        assert_eq!(verhoeff_check_digit("236"), 3);
        assert!(verhoeff_valid("2363"));
        assert_eq!(verhoeff_check_digit("12345"), 1);
        assert!(verhoeff_valid("123451"));
        assert_eq!(verhoeff_check_digit("142857"), 0);
        assert!(verhoeff_valid("1428570"));
        assert!(!verhoeff_valid("2364"));
        assert!(!verhoeff_valid(""));
        assert!(!verhoeff_valid("12a"));
    }

    #[test]
    fn every_single_digit_error_and_adjacent_swap_is_caught() {
        let good = with_check_digit("23456789012").unwrap();
        let digits = good.digits().as_bytes().to_vec();
        for i in 0..DIGITS {
            for d in b'0'..=b'9' {
                if d == digits[i] {
                    continue;
                }
                let mut changed = digits.clone();
                changed[i] = d;
                assert!(!verhoeff_valid(std::str::from_utf8(&changed).unwrap()), "digit {i} changed to {}", d as char);
            }
        }
        for i in 0..DIGITS - 1 {
            if digits[i] == digits[i + 1] {
                continue;
            }
            let mut swapped = digits.clone();
            swapped.swap(i, i + 1);
            assert!(!verhoeff_valid(std::str::from_utf8(&swapped).unwrap()), "swap at {i}");
        }
    }

    #[test]
    fn parses_masks_and_hashes() {
        let a = with_check_digit("99999999999").unwrap();
        let spaced = format!("{} {} {}", &a.digits()[..4], &a.digits()[4..8], &a.digits()[8..]);
        assert_eq!(Aadhaar::parse(&spaced).unwrap(), a);
        assert_eq!(a.masked(), format!("XXXX XXXX {}", &a.digits()[8..]));
        assert!(!format!("{a:?}").contains(a.digits()), "Debug never shows the number");
        assert_eq!(a.keyed_hash("pepper").len(), 64);
        assert_eq!(a.keyed_hash("pepper"), a.keyed_hash("pepper"));
        assert_ne!(a.keyed_hash("pepper"), a.keyed_hash("other"));
        assert!(!a.keyed_hash("pepper").contains(a.digits()));
    }

    #[test]
    fn refuses_what_is_not_an_aadhaar_number() {
        let good = with_check_digit("23456789012").unwrap();
        let mut bad_check = good.digits().to_owned();
        let last = bad_check.pop().unwrap();
        bad_check.push(if last == '9' { '0' } else { char::from(last as u8 + 1) });
        assert_eq!(Aadhaar::parse(&bad_check), Err("is not a valid Aadhaar number (the check digit is wrong)"));
        assert!(Aadhaar::parse("12345678901").unwrap_err().contains("12-digit"));
        assert!(Aadhaar::parse("1234567890123").unwrap_err().contains("12-digit"));
        assert!(Aadhaar::parse("2345678901ab").unwrap_err().contains("12-digit"));
        let zero = with_check_digit("03456789012");
        assert!(zero.is_none(), "numbers starting with 0 are never issued");
        assert!(Aadhaar::parse("").is_err());
    }
}
