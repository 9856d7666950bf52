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

/// Verhoeff's scheme, derived from its definition rather than typed in (a typed-in
/// table once had a wrong row): the multiplication of the dihedral group D5, the
/// powers of one permutation σ, and inverses in D5. Computed at compile time.
///
/// D5's elements are numbered as in Verhoeff's published table: `k` (k < 5) is the
/// rotation r^k and `5 + k` is the reflection r^k·s. With s·r·s = r⁻¹ the products are
/// r^a·r^b = r^(a+b), r^a·(r^b·s) = r^(a+b)·s, (r^a·s)·r^b = r^(a−b)·s and
/// (r^a·s)·(r^b·s) = r^(a−b), exponents mod 5.
const fn d5_multiply(i: usize, j: usize) -> u8 {
    let (a, b) = (i % 5, j % 5);
    let reflection = (i >= 5) != (j >= 5);
    let exponent = if i < 5 { (a + b) % 5 } else { (a + 5 - b) % 5 };
    (if reflection { 5 + exponent } else { exponent }) as u8
}

const fn multiplication_table() -> [[u8; 10]; 10] {
    let mut d = [[0u8; 10]; 10];
    let mut i = 0;
    while i < 10 {
        let mut j = 0;
        while j < 10 {
            d[i][j] = d5_multiply(i, j);
            j += 1;
        }
        i += 1;
    }
    d
}

/// Verhoeff's σ = (0 1 5 8 9 4 2 7)(3 6): the permutation applied at position 1.
const SIGMA: [u8; 10] = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4];

/// Row `i` is σ^i, applied at position `i mod 8` (σ has order 8).
const fn permutation_table() -> [[u8; 10]; 8] {
    let mut p = [[0u8; 10]; 8];
    let mut x = 0;
    while x < 10 {
        p[0][x] = x as u8;
        x += 1;
    }
    let mut i = 1;
    while i < 8 {
        let mut x = 0;
        while x < 10 {
            p[i][x] = SIGMA[p[i - 1][x] as usize];
            x += 1;
        }
        i += 1;
    }
    p
}

/// `INV[j]` is the element whose product with `j` is the identity.
const fn inverse_table(d: &[[u8; 10]; 10]) -> [u8; 10] {
    let mut inv = [0u8; 10];
    let mut j = 0;
    while j < 10 {
        let mut k = 0;
        while d[j][k] != 0 {
            k += 1;
        }
        inv[j] = k as u8;
        j += 1;
    }
    inv
}

const D: [[u8; 10]; 10] = multiplication_table();
const P: [[u8; 10]; 8] = permutation_table();
const INV: [u8; 10] = inverse_table(&D);

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

    /// Verhoeff's tables as published (Verhoeff 1969; Gallian, "Error detection
    /// methods", 1996): the independent statement the derived tables must equal.
    const PUBLISHED_D: [[u8; 10]; 10] = [
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
    const PUBLISHED_P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    const PUBLISHED_INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

    #[test]
    fn derived_tables_equal_the_published_ones_row_by_row() {
        for (i, row) in PUBLISHED_D.iter().enumerate() {
            assert_eq!(&D[i], row, "multiplication row {i}");
        }
        for (i, row) in PUBLISHED_P.iter().enumerate() {
            assert_eq!(&P[i], row, "permutation row {i}");
        }
        assert_eq!(INV, PUBLISHED_INV);
    }

    #[test]
    fn the_derived_tables_are_a_group_and_a_permutation_of_order_8() {
        for a in 0..10 {
            assert_eq!((D[0][a], D[a][0]), (a as u8, a as u8), "0 is the identity");
            assert_eq!(D[a][usize::from(INV[a])], 0, "inverse of {a}");
            for b in 0..10 {
                for c in 0..10 {
                    let left = D[usize::from(D[a][b])][c];
                    let right = D[a][usize::from(D[b][c])];
                    assert_eq!(left, right, "associativity at ({a}, {b}, {c})");
                }
            }
        }
        assert_ne!(D[1][5], D[5][1], "D5 is not commutative");
        let eighth: Vec<u8> = (0..10u8).map(|x| SIGMA[usize::from(P[7][usize::from(x)])]).collect();
        assert_eq!(eighth, (0..10).collect::<Vec<u8>>(), "σ^8 is the identity");
    }

    #[test]
    fn genuine_aadhaar_numbers_validate() {
        // Real numbers that reach the permutation row for position 4, which a typed-in
        // table once had wrong.
        for number in ["471521063966", "624270373640", "523053088649"] {
            assert!(verhoeff_valid(number), "{number}");
            assert!(Aadhaar::parse(number).is_ok(), "{number}");
            assert_eq!(verhoeff_check_digit(&number[..11]), number.as_bytes()[11] - b'0', "{number}");
        }
    }

    /// A property over 10,000 random 11-digit prefixes (seeded, so every run checks the
    /// same ones): the computed check digit validates; every single-digit change and
    /// every swap of two adjacent distinct digits is refused.
    #[test]
    fn check_digits_validate_and_every_single_error_or_adjacent_swap_is_caught() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_a0d4_a4a0);
        for _ in 0..10_000 {
            let prefix: String = (0..DIGITS - 1).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
            let digits = format!("{prefix}{}", verhoeff_check_digit(&prefix)).into_bytes();
            assert!(verhoeff_valid(std::str::from_utf8(&digits).unwrap()), "{prefix}");
            assert_catches_single_errors_and_swaps(&digits);
        }
    }

    fn assert_catches_single_errors_and_swaps(digits: &[u8]) {
        let text = |d: &[u8]| String::from_utf8(d.to_vec()).unwrap();
        for i in 0..digits.len() {
            for d in (b'0'..=b'9').filter(|d| *d != digits[i]) {
                let mut changed = digits.to_vec();
                changed[i] = d;
                assert!(!verhoeff_valid(&text(&changed)), "{} with digit {i} changed to {}", text(digits), d as char);
            }
        }
        for i in (0..digits.len() - 1).filter(|i| digits[*i] != digits[i + 1]) {
            let mut swapped = digits.to_vec();
            swapped.swap(i, i + 1);
            assert!(!verhoeff_valid(&text(&swapped)), "{} with digits {i} and {} swapped", text(digits), i + 1);
        }
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
