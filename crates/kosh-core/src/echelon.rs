//! The Echelon dialect's pure parts: money and currency precision, statuses and failure
//! codes, the catalogue of methods, operators and segments Kosh offers, fees, and the
//! sandbox's payin outcomes by amount.
//!
//! - [`jwt`]: HS256 tokens, hand-written over `hmac`/`sha2`/`base64`.
//! - [`operations`]: the operation patterns a token grants, matched against the whole
//!   `METHOD /path`.
//! - [`merchant`]: merchant secrets and the one-way values Kosh stores instead of them.

pub mod jwt;
pub mod merchant;
pub mod operations;

use crate::money::{Paise, MAX_PAISE};
use serde::{Deserialize, Serialize};

/// The only currency the ledger keeps (in paise).
pub const INR: &str = "INR";

/// Why an amount was not accepted, in the spec's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountProblem {
    /// Not a finite number above zero: a schema violation (400).
    NotPositive,
    /// The currency is not one Kosh keeps (406 `CURRENCY_NOT_SUPPORTED`).
    CurrencyNotSupported,
    /// More decimals than the currency allows; INR is whole rupees (406).
    PrecisionExceeded,
    /// Larger than any amount Kosh accepts (406 `PAYMENT_CHANNEL_AMOUNT_LIMITS`).
    TooLarge,
}

/// Parses an amount in major units of `currency` into paise, from the exact text of a
/// JSON number (never through `f64`, which would round `42.0000000000000001` to 42).
/// INR amounts must be whole rupees (`42`, `42.00` and `4.2e1` are fine, `42.05` and
/// `42.0000000000000001` are not), as the spec says. Text that is not a JSON number is
/// [`AmountProblem::NotPositive`]; callers check the type first.
pub fn parse_amount(number: &str, currency: &str) -> Result<Paise, AmountProblem> {
    let exact = ExactDecimal::parse(number).ok_or(AmountProblem::NotPositive)?;
    if exact.negative || exact.digits.is_empty() {
        return Err(AmountProblem::NotPositive);
    }
    if currency != INR {
        return Err(AmountProblem::CurrencyNotSupported);
    }
    if exact.scale < 0 {
        return Err(AmountProblem::PrecisionExceeded);
    }
    // digits × 10^scale whole rupees: more than 10 digits is above MAX_PAISE (₹1e9).
    let max_digits = (MAX_PAISE / 100).to_string().len() as i64;
    if exact.digits.len() as i64 + exact.scale > max_digits {
        return Err(AmountProblem::TooLarge);
    }
    let rupees = exact.digits.bytes().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')) * 10i64.pow(exact.scale as u32);
    Paise::from_rupees(rupees).ok_or(AmountProblem::TooLarge)
}

/// A JSON number as `±digits × 10^scale`, exactly: `digits` without leading or trailing
/// zeros (empty for zero).
#[derive(Debug, PartialEq, Eq)]
struct ExactDecimal {
    negative: bool,
    digits: String,
    scale: i64,
}

/// Exponents beyond this are clamped: they can only mean "too large" or "a fraction".
const MAX_EXPONENT: i64 = 1_000_000;

impl ExactDecimal {
    /// Parses the JSON number grammar `-? int frac? exp?`; `None` for anything else.
    fn parse(text: &str) -> Option<ExactDecimal> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => (mantissa, Some(exponent)),
            None => (rest, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let bad_frac = mantissa.contains('.') && !all_digits(frac);
        if !all_digits(int) || (int.len() > 1 && int.starts_with('0')) || bad_frac {
            return None;
        }
        let exponent = match exponent {
            None => 0,
            Some(e) => {
                let magnitude = e.strip_prefix(['+', '-']).unwrap_or(e);
                if !all_digits(magnitude) {
                    return None;
                }
                let magnitude = magnitude.trim_start_matches('0');
                let value = if magnitude.len() > 7 { MAX_EXPONENT } else { magnitude.parse::<i64>().unwrap_or(0) };
                if e.starts_with('-') {
                    -value.min(MAX_EXPONENT)
                } else {
                    value.min(MAX_EXPONENT)
                }
            }
        };
        // int and frac as one digit string, the decimal point moved into the scale.
        let all: String = int.chars().chain(frac.chars()).collect();
        let significant = all.trim_start_matches('0');
        let digits = significant.trim_end_matches('0');
        let scale = exponent - frac.len() as i64 + (significant.len() - digits.len()) as i64;
        Some(ExactDecimal { negative, digits: digits.to_owned(), scale })
    }
}

/// An amount in paise as the wire's JSON number of rupees: whole rupees as an integer,
/// otherwise with two decimals.
pub fn amount_json(paise: i64) -> serde_json::Value {
    if paise % 100 == 0 {
        serde_json::Value::from(paise / 100)
    } else {
        let text = format!("{}.{:02}", paise / 100, (paise % 100).abs());
        serde_json::from_str(&text).expect("a decimal number")
    }
}

/// A payment's direction from the merchant's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// Money comes in to the merchant (a customer pays).
    Payin,
    /// Money goes out from the merchant (to a beneficiary).
    Payout,
}

impl Direction {
    /// The stored spelling (`payin`, `payout`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Payin => "payin",
            Direction::Payout => "payout",
        }
    }

    /// The direction for its stored spelling.
    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "payin" => Some(Direction::Payin),
            "payout" => Some(Direction::Payout),
            _ => None,
        }
    }

    /// `PAYIN` / `PAYOUT`, as `paymentTypeCode` spells it.
    pub fn type_code(self) -> &'static str {
        match self {
            Direction::Payin => "PAYIN",
            Direction::Payout => "PAYOUT",
        }
    }
}

/// The status of a payin or payout (`PaymentStatus`). There is no CREATED, PENDING or
/// EXPIRED: expiry is `FAILED` with `ENTITY_EXPIRED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Accepted and not final yet.
    Processing,
    /// Final: the money moved.
    Success,
    /// Final: it did not move (see the failure reason code).
    Failed,
    /// Final: refused before anything was attempted.
    Refused,
}

impl Status {
    /// `PaymentStatus` as the spec spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Processing => "PROCESSING",
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
            Status::Refused => "REFUSED",
        }
    }

    /// The status for its spelling; `None` for anything the spec does not define.
    pub fn parse(text: &str) -> Option<Status> {
        [Status::Processing, Status::Success, Status::Failed, Status::Refused].into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the payment can no longer change.
    pub fn is_final(self) -> bool {
        self != Status::Processing
    }
}

/// Failure reason codes Kosh sets (a subset of the spec's `FailureReasonCode`).
pub mod failure {
    /// The payment expired before it completed.
    pub const ENTITY_EXPIRED: &str = "ENTITY_EXPIRED";
    /// The customer paid a different amount than the payment asked for.
    pub const DIFFERENT_AMOUNT_CONFIRMED: &str = "DIFFERENT_AMOUNT_CONFIRMED";
    /// The amount is outside the method's limits.
    pub const PAYMENT_CHANNEL_AMOUNT_LIMITS: &str = "PAYMENT_CHANNEL_AMOUNT_LIMITS";
    /// The payment could not be processed (the catch-all).
    pub const PAYMENT_PROCESS_ERROR: &str = "PAYMENT_PROCESS_ERROR";
}

/// A payment method Kosh offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    /// `paymentMethod` as the spec spells it (`UPIQR`, `IMPS`, …).
    pub code: &'static str,
    /// Whether the method takes money in or pays it out.
    pub direction: Direction,
    /// The ledger clearing account's rail (`upi`, `imps`).
    pub rail: &'static str,
    /// Operators the method can go through; empty when it takes none.
    pub operators: &'static [&'static str],
    /// Whether the request must name an operator.
    pub operator_required: bool,
    /// Largest amount, in whole rupees (every method starts at ₹1).
    pub max_rupees: i64,
}

const UPI_APPS: &[&str] = &["IN_UPI", "IN_GPAY", "IN_PHONEPE", "IN_PAYTM"];

/// Every method Kosh offers, payins first.
pub const METHODS: &[Method] = &[
    Method {
        code: "UPIQR",
        direction: Direction::Payin,
        rail: "upi",
        operators: UPI_APPS,
        operator_required: false,
        max_rupees: 100_000,
    },
    Method {
        code: "UPIID",
        direction: Direction::Payin,
        rail: "upi",
        operators: &[],
        operator_required: false,
        max_rupees: 100_000,
    },
    Method {
        code: "IMPS",
        direction: Direction::Payin,
        rail: "imps",
        operators: &[],
        operator_required: false,
        max_rupees: 500_000,
    },
    Method {
        code: "NETBANKING",
        direction: Direction::Payin,
        rail: "upi",
        operators: &["IN_NB_SBI", "IN_NB_HDFC", "IN_NB_ICICI"],
        operator_required: false,
        max_rupees: 100_000,
    },
    Method {
        code: "P2A_V2",
        direction: Direction::Payin,
        rail: "upi",
        operators: &["IN_UPI", "IN_GPAY"],
        operator_required: true,
        max_rupees: 100_000,
    },
    Method {
        code: "BANK_TRANSFER",
        direction: Direction::Payout,
        rail: "imps",
        operators: &["IN_IMPS"],
        operator_required: true,
        max_rupees: 500_000,
    },
    Method {
        code: "WALLET_TRANSFER",
        direction: Direction::Payout,
        rail: "upi",
        operators: &["IN_UPI"],
        operator_required: false,
        max_rupees: 100_000,
    },
];

/// Every payin method code the spec (v2.47) defines, offered by Kosh or not.
pub const SPEC_PAYIN_METHODS: &[&str] = &[
    "CAPITEC_PAY",
    "CRYPTO_OFFLINE",
    "DUITNOW",
    "EWALLET",
    "IMPS",
    "MOBILE_MONEY",
    "NETBANKING",
    "OFFLINE",
    "ONLINE",
    "P2A_V2",
    "PAY_ME",
    "PROMPTPAY",
    "QRISPAY",
    "QRPH",
    "UPIID",
    "UPIQR",
    "VAPAY",
    "VAPAY_VERIF",
    "VIETQR",
];

/// Every payout method code the spec defines.
pub const SPEC_PAYOUT_METHODS: &[&str] = &["BANK_TRANSFER", "CRYPTO_TRANSFER", "WALLET_TRANSFER"];

/// Payment operators: `(code, name)`.
pub const OPERATORS: &[(&str, &str)] = &[
    ("IN_UPI", "UPI (any UPI app)"),
    ("IN_GPAY", "Google Pay"),
    ("IN_PHONEPE", "PhonePe"),
    ("IN_PAYTM", "Paytm"),
    ("IN_NB_SBI", "State Bank of India netbanking"),
    ("IN_NB_HDFC", "HDFC Bank netbanking"),
    ("IN_NB_ICICI", "ICICI Bank netbanking"),
    ("IN_IMPS", "IMPS bank transfer"),
];

/// Customer segments a payment may name.
pub const SEGMENTS: &[&str] = &["DEFAULT", "VIP"];

/// The method Kosh offers for `direction` and `code`.
pub fn method(direction: Direction, code: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.direction == direction && m.code == code)
}

/// The display name of an operator code.
pub fn operator_name(code: &str) -> Option<&'static str> {
    OPERATORS.iter().find(|(c, _)| *c == code).map(|(_, name)| *name)
}

/// How a method is classified for a request: offered, defined by the spec but not
/// offered by Kosh, or not a method code at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodLookup {
    /// Kosh offers it.
    Offered(&'static Method),
    /// The spec defines the method, but Kosh does not offer it.
    NotOffered,
    /// Not a method code of the spec at all.
    Unknown,
}

/// Classifies `code` for `direction`, so a request is refused with the right reason.
pub fn lookup_method(direction: Direction, code: &str) -> MethodLookup {
    if let Some(m) = method(direction, code) {
        return MethodLookup::Offered(m);
    }
    let spec = match direction {
        Direction::Payin => SPEC_PAYIN_METHODS,
        Direction::Payout => SPEC_PAYOUT_METHODS,
    };
    if spec.contains(&code) {
        MethodLookup::NotOffered
    } else {
        MethodLookup::Unknown
    }
}

/// The fee Kosh charges for a payment, in paise (always whole rupees, never zero):
/// payins 2 % rounded up to the rupee (at least ₹1, at most the amount); bank transfers
/// ₹5 and wallet transfers ₹2 flat.
pub fn fee_paise(method: &Method, amount: Paise) -> i64 {
    match method.direction {
        Direction::Payin => {
            let rupees = amount.get() / 100;
            let fee_rupees = ((rupees * 2 + 99) / 100).clamp(1, rupees.max(1));
            fee_rupees * 100
        }
        Direction::Payout if method.code == "BANK_TRANSFER" => 500,
        Direction::Payout => 200,
    }
}

/// What the sandbox does with a payin, chosen by its amount in whole rupees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayinScenario {
    /// ≤ ₹10: accepted, then `REFUSED` with `PAYMENT_CHANNEL_AMOUNT_LIMITS` at once.
    Refuse,
    /// ₹11–20: the customer never pays and the payin expires after the sandbox delay.
    ExpireSoon,
    /// ₹21–30: the customer pays a different amount: `FAILED`
    /// `DIFFERENT_AMOUNT_CONFIRMED` after the sandbox delay.
    WrongAmount,
    /// ₹31–50: stays `PROCESSING` until it expires (`FAILED` `ENTITY_EXPIRED`).
    AwaitExpiry,
    /// ≥ ₹51: `SUCCESS` after the sandbox delay; the wallet is credited minus the fee.
    Succeed,
}

impl PayinScenario {
    /// The scenario the sandbox plays for a payin of `amount` (by whole rupees).
    pub fn for_amount(amount: Paise) -> PayinScenario {
        match amount.get() / 100 {
            ..=10 => PayinScenario::Refuse,
            11..=20 => PayinScenario::ExpireSoon,
            21..=30 => PayinScenario::WrongAmount,
            31..=50 => PayinScenario::AwaitExpiry,
            _ => PayinScenario::Succeed,
        }
    }

    /// The stored spelling of the scenario.
    pub fn as_str(self) -> &'static str {
        match self {
            PayinScenario::Refuse => "refuse",
            PayinScenario::ExpireSoon => "expire_soon",
            PayinScenario::WrongAmount => "wrong_amount",
            PayinScenario::AwaitExpiry => "await_expiry",
            PayinScenario::Succeed => "succeed",
        }
    }

    /// The scenario for its stored spelling.
    pub fn parse(text: &str) -> Option<PayinScenario> {
        [Self::Refuse, Self::ExpireSoon, Self::WrongAmount, Self::AwaitExpiry, Self::Succeed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// When a new payin expires and when the worker first looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayinPlan {
    /// The status the payin starts in.
    pub status: Status,
    /// The failure reason code when the payin is final at creation; else `None`.
    pub failure: Option<&'static str>,
    /// When the payin expires if nothing finished it (ms since the epoch).
    pub expire_at_ms: i64,
    /// `None` when the payin is final at creation.
    pub check_at_ms: Option<i64>,
}

/// The plan of a payin accepted at `now_ms`: `expiry_ms` after acceptance it expires,
/// and the sandbox decides `delay_ms` after acceptance.
pub fn plan_payin(scenario: PayinScenario, now_ms: i64, expiry_ms: i64, delay_ms: i64) -> PayinPlan {
    let decide_at = now_ms + delay_ms;
    match scenario {
        PayinScenario::Refuse => PayinPlan {
            status: Status::Refused,
            failure: Some(failure::PAYMENT_CHANNEL_AMOUNT_LIMITS),
            expire_at_ms: now_ms + expiry_ms,
            check_at_ms: None,
        },
        PayinScenario::ExpireSoon => {
            PayinPlan { status: Status::Processing, failure: None, expire_at_ms: decide_at, check_at_ms: Some(decide_at) }
        }
        PayinScenario::AwaitExpiry => PayinPlan {
            status: Status::Processing,
            failure: None,
            expire_at_ms: now_ms + expiry_ms,
            check_at_ms: Some(now_ms + expiry_ms),
        },
        PayinScenario::WrongAmount | PayinScenario::Succeed => PayinPlan {
            status: Status::Processing,
            failure: None,
            expire_at_ms: now_ms + expiry_ms,
            check_at_ms: Some(decide_at.min(now_ms + expiry_ms)),
        },
    }
}

/// Where a processing payin stands at `now_ms`: `None` while nothing has happened yet,
/// else its final status and failure code. A customer who pays before expiry decides
/// it; otherwise expiry does.
pub fn payin_outcome(
    scenario: PayinScenario,
    created_ms: i64,
    expire_at_ms: i64,
    delay_ms: i64,
    now_ms: i64,
) -> Option<(Status, Option<&'static str>)> {
    let decide_at = created_ms + delay_ms;
    let customer_acts = matches!(scenario, PayinScenario::Succeed | PayinScenario::WrongAmount) && decide_at < expire_at_ms;
    if customer_acts && now_ms >= decide_at {
        return Some(match scenario {
            PayinScenario::Succeed => (Status::Success, None),
            _ => (Status::Failed, Some(failure::DIFFERENT_AMOUNT_CONFIRMED)),
        });
    }
    if scenario == PayinScenario::Refuse {
        return Some((Status::Refused, Some(failure::PAYMENT_CHANNEL_AMOUNT_LIMITS)));
    }
    (now_ms >= expire_at_ms).then_some((Status::Failed, Some(failure::ENTITY_EXPIRED)))
}

/// Whether `ip` is an IPv4 or IPv6 address.
pub fn is_ip_address(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>().is_ok()
}

/// Whether `ifsc` has the IFSC shape: 4 letters, `0`, 6 letters or digits.
pub fn is_ifsc(ifsc: &str) -> bool {
    let b = ifsc.as_bytes();
    b.len() == 11
        && b[..4].iter().all(u8::is_ascii_uppercase)
        && b[4] == b'0'
        && b[5..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Whether `text` is a merchant order id or payment id: `^[A-Za-z0-9_-]+$`, ≤ 250.
pub fn is_entity_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 250 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The punctuation the spec's account-name pattern allows besides letters and marks.
pub const ACCOUNT_NAME_PUNCTUATION: &str = ", ;:_'\"!%=@#&-.?$()+*|";

/// Whether `text` is an account name as the spec's pattern
/// `^(\p{L}\p{M}*?|[, ;:_'"!%=@#&\-\.\?\$\(\)\+\*\|])*$` and its 1–64 characters have
/// it: letters (Unicode general category L), each followed by any combining marks (M),
/// and [`ACCOUNT_NAME_PUNCTUATION`]. So no digits of any script, and no mark that does
/// not follow a letter (at the start, after a space or punctuation).
pub fn is_account_name(text: &str) -> bool {
    let count = text.chars().count();
    let mut after_letter = false;
    (1..=64).contains(&count)
        && text.chars().all(|c| match unicode_general_category::get_general_category(c).abbreviation().as_bytes()[0] {
            b'L' => {
                after_letter = true;
                true
            }
            // A mark continues the letter before it (and that letter's earlier marks).
            b'M' => after_letter,
            _ => {
                after_letter = false;
                ACCOUNT_NAME_PUNCTUATION.contains(c)
            }
        })
}

/// Whether `text` is a UPI VPA (`handle@provider`) as the spec's pattern has it.
pub fn is_vpa(text: &str) -> bool {
    let Some((handle, provider)) = text.split_once('@') else { return false };
    let ok = |s: &str, extra: &[u8]| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    text.len() <= 100 && ok(handle, b"_-.") && ok(provider, b"_.")
}

/// Whether `text` is a phone number as the spec's pattern has it: `^\+?[0-9]+$`, 7–16.
pub fn is_phone(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    (7..=16).contains(&text.len()) && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inr_amounts_are_whole_rupees() {
        let rupees = |r: i64| Ok(Paise::from_rupees(r).unwrap());
        assert_eq!(parse_amount("42", "INR"), rupees(42));
        assert_eq!(parse_amount("42.00", "INR"), rupees(42));
        assert_eq!(parse_amount("4.2e1", "INR"), rupees(42));
        assert_eq!(parse_amount("4200E-2", "INR"), rupees(42));
        assert_eq!(parse_amount("0.42e+2", "INR"), rupees(42));
        assert_eq!(parse_amount("1000000000", "INR"), rupees(1_000_000_000));
        assert_eq!(parse_amount("42.05", "INR"), Err(AmountProblem::PrecisionExceeded));
        // f64 would read these as whole rupees; the exact text is not.
        assert_eq!(parse_amount("42.0000000000000001", "INR"), Err(AmountProblem::PrecisionExceeded));
        assert_eq!(parse_amount("9007199254740993.5", "INR"), Err(AmountProblem::PrecisionExceeded));
        assert_eq!(parse_amount("1e-400", "INR"), Err(AmountProblem::PrecisionExceeded));
        assert_eq!(parse_amount("42e-99999999999", "INR"), Err(AmountProblem::PrecisionExceeded));
        assert_eq!(parse_amount("0", "INR"), Err(AmountProblem::NotPositive));
        assert_eq!(parse_amount("0.000", "INR"), Err(AmountProblem::NotPositive));
        assert_eq!(parse_amount("-0", "INR"), Err(AmountProblem::NotPositive));
        assert_eq!(parse_amount("-5", "INR"), Err(AmountProblem::NotPositive));
        assert_eq!(parse_amount("-0.5", "INR"), Err(AmountProblem::NotPositive));
        for not_a_number in ["", "-", "1.", ".5", "01", "1e", "1e+", "NaN", "1_000", "\"5\"", " 5"] {
            assert_eq!(parse_amount(not_a_number, "INR"), Err(AmountProblem::NotPositive), "{not_a_number:?}");
        }
        assert_eq!(parse_amount("5", "IDR"), Err(AmountProblem::CurrencyNotSupported));
        assert_eq!(parse_amount("1000000001", "INR"), Err(AmountProblem::TooLarge));
        assert_eq!(parse_amount("1e15", "INR"), Err(AmountProblem::TooLarge));
        assert_eq!(parse_amount("1e300", "INR"), Err(AmountProblem::TooLarge));
        assert_eq!(parse_amount("1e99999999999", "INR"), Err(AmountProblem::TooLarge));
        assert_eq!(parse_amount(&"9".repeat(5000), "INR"), Err(AmountProblem::TooLarge));
        assert_eq!(amount_json(123_456), serde_json::json!(1234.56));
        assert_eq!(amount_json(500_000), serde_json::json!(5000));
    }

    #[test]
    fn fees_are_whole_rupees_and_never_zero() {
        let upiqr = method(Direction::Payin, "UPIQR").unwrap();
        assert_eq!(fee_paise(upiqr, Paise::from_rupees(1).unwrap()), 100);
        assert_eq!(fee_paise(upiqr, Paise::from_rupees(100).unwrap()), 200);
        assert_eq!(fee_paise(upiqr, Paise::from_rupees(101).unwrap()), 300);
        assert_eq!(fee_paise(method(Direction::Payout, "BANK_TRANSFER").unwrap(), Paise::from_rupees(9).unwrap()), 500);
        assert_eq!(fee_paise(method(Direction::Payout, "WALLET_TRANSFER").unwrap(), Paise::from_rupees(9).unwrap()), 200);
    }

    #[test]
    fn methods_are_classified() {
        assert!(matches!(lookup_method(Direction::Payin, "UPIQR"), MethodLookup::Offered(_)));
        assert_eq!(lookup_method(Direction::Payin, "VAPAY"), MethodLookup::NotOffered);
        assert_eq!(lookup_method(Direction::Payin, "CARD"), MethodLookup::Unknown);
        assert_eq!(lookup_method(Direction::Payin, "BANK_TRANSFER"), MethodLookup::Unknown);
        assert_eq!(lookup_method(Direction::Payout, "CRYPTO_TRANSFER"), MethodLookup::NotOffered);
        for m in METHODS {
            for op in m.operators {
                assert!(operator_name(op).is_some(), "{op}");
            }
        }
    }

    #[test]
    fn payin_scenarios_follow_the_amount() {
        let rupees = |r| Paise::from_rupees(r).unwrap();
        assert_eq!(PayinScenario::for_amount(rupees(10)), PayinScenario::Refuse);
        assert_eq!(PayinScenario::for_amount(rupees(11)), PayinScenario::ExpireSoon);
        assert_eq!(PayinScenario::for_amount(rupees(30)), PayinScenario::WrongAmount);
        assert_eq!(PayinScenario::for_amount(rupees(50)), PayinScenario::AwaitExpiry);
        assert_eq!(PayinScenario::for_amount(rupees(51)), PayinScenario::Succeed);
        let (t0, expiry, delay) = (1_000_000, 7_200_000, 5_000);
        let plan = plan_payin(PayinScenario::Succeed, t0, expiry, delay);
        assert_eq!(plan.check_at_ms, Some(t0 + delay));
        assert_eq!(payin_outcome(PayinScenario::Succeed, t0, plan.expire_at_ms, delay, t0 + delay - 1), None);
        assert_eq!(
            payin_outcome(PayinScenario::Succeed, t0, plan.expire_at_ms, delay, t0 + delay),
            Some((Status::Success, None))
        );
        let soon = plan_payin(PayinScenario::ExpireSoon, t0, expiry, delay);
        assert_eq!(soon.expire_at_ms, t0 + delay);
        assert_eq!(
            payin_outcome(PayinScenario::ExpireSoon, t0, soon.expire_at_ms, delay, t0 + delay),
            Some((Status::Failed, Some(failure::ENTITY_EXPIRED)))
        );
        let wait = plan_payin(PayinScenario::AwaitExpiry, t0, expiry, delay);
        assert_eq!(payin_outcome(PayinScenario::AwaitExpiry, t0, wait.expire_at_ms, delay, t0 + expiry - 1), None);
        assert!(payin_outcome(PayinScenario::AwaitExpiry, t0, wait.expire_at_ms, delay, t0 + expiry).is_some());
        assert_eq!(plan_payin(PayinScenario::Refuse, t0, expiry, delay).status, Status::Refused);
    }

    /// The spec's account-name pattern by general category: marks of any script after a
    /// letter (Thai tone marks, Arabic harakat, Hebrew points, combining Latin marks
    /// beyond U+036F), never a mark without its letter, never a digit or letter number.
    #[test]
    fn account_names_follow_the_spec_pattern_by_general_category() {
        let accepted = [
            "Asha Devi",
            "आशा देवी",
            "สมศักดิ์ ใจดี", // Thai tone marks (U+0E48, U+0E4C: Mn)
            "นิ่ม",
            "ਮਨਪ੍ਰੀਤ ਸਿੰਘ",                // Gurmukhi
            "مُحَمَّد",                      // Arabic harakat
            "שָׂרָה",                       // Hebrew points
            "Zoe\u{0308} O'Brien-Smith", // a combining diaeresis
            "Nguye\u{0302}\u{0303}n",    // two marks on one letter
            "A\u{1AB0}\u{1DC4}\u{20D7}", // extended, supplement, for-symbols marks
            "ǅ ʰ ª",                     // titlecase, modifier and other letters
        ];
        for name in accepted {
            assert!(is_account_name(name), "{name:?} matches the spec's pattern");
        }
        let refused = [
            "M/S.",
            "Asha 2",
            "आशा ३",            // a Devanagari digit (Nd)
            "Louis Ⅻ",          // a letter number (Nl), alphabetic in Rust's sense
            "\u{0301}Asha",     // a mark before any letter
            "Asha \u{0301}",    // a mark after a space
            "Asha,\u{0E48}",    // a mark after punctuation
            "\u{093F}",         // a vowel sign alone (Mc, alphabetic in Rust's sense)
            "Asha\u{00A0}Devi", // a no-break space is not the space the pattern allows
            "Asha\u{200D}",     // a joiner (Cf)
            "Asha\n",
            "Asha~",
            "",
        ];
        for name in refused {
            assert!(!is_account_name(name), "{name:?} breaks the spec's pattern");
        }
        assert!(is_account_name(&"a".repeat(64)));
        assert!(!is_account_name(&"a".repeat(65)));
        // Length counts characters, marks included, as JSON Schema's maxLength does.
        assert!(is_account_name(&"a\u{0301}".repeat(32)));
        assert!(!is_account_name(&format!("{}a", "a\u{0301}".repeat(32))));
    }

    #[test]
    fn shapes() {
        assert!(is_ifsc("SBIN0001234"));
        assert!(!is_ifsc("SBIN1001234"));
        assert!(!is_ifsc("sbin0001234"));
        assert!(is_entity_id("TST-1_a"));
        assert!(!is_entity_id("TST 1"));
        assert!(!is_entity_id(&"a".repeat(251)));
        assert!(is_account_name("Asha Devi"));
        assert!(is_account_name("आशा देवी"));
        assert!(!is_account_name("Asha 2"));
        assert!(!is_account_name(""));
        assert!(is_vpa("asha.devi@okaxis"));
        assert!(!is_vpa("asha@"));
        assert!(!is_vpa("asha@ok-axis"));
        assert!(is_phone("+919876543210"));
        assert!(!is_phone("98765"));
        assert!(is_ip_address("172.16.254.1"));
        assert!(is_ip_address("::1"));
        assert!(!is_ip_address("999.1.1.1"));
    }
}
