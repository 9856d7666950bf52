//! Bill payments (BBPS, service 53), recharges and credit-card bills (service 63): the
//! operator catalogue, each operator's parameter rules, the payment status and its
//! state machine, and the product's bounds.
//!
//! The catalogue is data compiled into Kosh (the sandbox's billers): categories,
//! locations and operators, each operator with the parameters its bills are found by
//! (`param_name`, a regex, the operator's own error message) and whether a bill must be
//! fetched before it is paid (`fetchBill`). A payment's money moves as one pending
//! ledger entry, like a transfer's:
//!
//! ```text
//! Initiated (2) ─┬── Success (0)     posted
//!                ├── Fail (1)        voided: the biller never took it (down, amount mismatch)
//!                └── Refunded (4)    voided: the biller took it, then failed it
//! ```

use crate::dmt::TxStatus;
use serde::{Deserialize, Serialize};

/// The service code of BBPS bill payments and recharges.
pub const BBPS_SERVICE_CODE: u16 = 53;
/// The service code of credit-card bill payments (to a DMT recipient).
pub const CREDIT_CARD_SERVICE_CODE: u16 = 63;
/// The least a bill payment or recharge may carry: ₹1.
pub const MIN_PAYMENT_PAISE: i64 = 100;
/// The most one bill payment may carry: ₹2,00,000.
pub const MAX_PAYMENT_PAISE: i64 = 20_000_000;
/// The operator id credit-card bills are recorded under (they name a DMT recipient, not
/// a catalogue operator).
pub const CREDIT_CARD_OPERATOR_ID: i64 = 0;

/// An operator category (`operator_category_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// `operator_category_id`.
    pub id: i64,
    /// `operator_category_name`.
    pub name: &'static str,
    /// `operator_category_group`: 0 bills, 1 recharges.
    pub group: i64,
}

/// A location operators serve (`operator_location_id`: the census state code; 0 all India).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// `operator_location_id`.
    pub id: i64,
    /// `operator_location_name`.
    pub name: &'static str,
    /// The state's two-letter code.
    pub abbreviation: &'static str,
}

/// How a parameter's value is typed (`param_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Digits only.
    Numeric,
    /// Letters and digits.
    AlphaNumeric,
    /// A decimal number.
    Decimal,
    /// A date, in the format its regex names.
    Date,
}

impl ParamType {
    /// `param_type` as the API spells it.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Numeric => "Numeric",
            Self::AlphaNumeric => "AlphaNumeric",
            Self::Decimal => "Decimal",
            Self::Date => "Date",
        }
    }
}

/// A parameter a bill is found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// The request field it is sent in (`utility_acc_no`, `dob`, `cycle_number`).
    pub name: &'static str,
    /// `param_label`: what the agent's screen asks for.
    pub label: &'static str,
    /// `param_type`.
    pub param_type: ParamType,
    /// `regex`: a valid value matches it.
    pub regex: &'static str,
    /// The operator's own words when the value does not match.
    pub error_message: &'static str,
}

/// A biller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// `operator_id`.
    pub id: i64,
    /// The biller's name.
    pub name: &'static str,
    /// Its [`Category`] id.
    pub category: i64,
    /// Its [`Location`] id.
    pub location: i64,
    /// `fetchBill`: the bill must be fetched first and paid in exactly its amount.
    pub fetch_bill: bool,
    /// `billFetchResponse`: the pay request must carry the fetch's `billfetchresponse`.
    pub bill_fetch_response: bool,
    /// `high_commission_channel`: the offline channel (`hc_channel` 1) is available.
    pub high_commission: bool,
    /// `kyc_required`: the customer's KYC is needed (insurance).
    pub kyc_required: bool,
    /// `BBPS`: a Bharat BillPay biller (1) rather than a direct operator.
    pub bbps: bool,
    /// The first is always `utility_acc_no`.
    pub params: &'static [Param],
}

const fn param(
    name: &'static str,
    label: &'static str,
    param_type: ParamType,
    regex: &'static str,
    error_message: &'static str,
) -> Param {
    Param { name, label, param_type, regex, error_message }
}

const MOBILE: Param = param(
    "utility_acc_no",
    "Mobile Number",
    ParamType::Numeric,
    "^[6-9][0-9]{9}$",
    "Please enter a valid 10 digit mobile number (eg. 9876543210)",
);

/// The categories, in the order the API lists them.
pub const CATEGORIES: &[Category] = &[
    Category { id: 1, name: "Broadband Postpaid", group: 0 },
    Category { id: 2, name: "Gas", group: 0 },
    Category { id: 3, name: "Mobile Postpaid", group: 0 },
    Category { id: 4, name: "DTH", group: 1 },
    Category { id: 5, name: "Mobile Prepaid", group: 1 },
    Category { id: 6, name: "Water", group: 0 },
    Category { id: 7, name: "Insurance", group: 0 },
    Category { id: 8, name: "Electricity", group: 0 },
    Category { id: 9, name: "Loan Repayment", group: 0 },
    Category { id: 10, name: "FASTag", group: 1 },
    Category { id: 11, name: "Credit Card", group: 0 },
];

/// The locations, in the order the API lists them.
pub const LOCATIONS: &[Location] = &[
    Location { id: 0, name: "All India", abbreviation: "IN" },
    Location { id: 6, name: "Haryana", abbreviation: "HR" },
    Location { id: 7, name: "Delhi", abbreviation: "DL" },
    Location { id: 8, name: "Rajasthan", abbreviation: "RJ" },
    Location { id: 9, name: "Uttar Pradesh", abbreviation: "UP" },
    Location { id: 19, name: "West Bengal", abbreviation: "WB" },
    Location { id: 24, name: "Gujarat", abbreviation: "GJ" },
    Location { id: 27, name: "Maharashtra", abbreviation: "MH" },
    Location { id: 29, name: "Karnataka", abbreviation: "KA" },
    Location { id: 33, name: "Tamil Nadu", abbreviation: "TN" },
    Location { id: 35, name: "Andaman & Nicobar Islands", abbreviation: "AN" },
];

const fn op(id: i64, name: &'static str, category: i64, location: i64, fetch_bill: bool, params: &'static [Param]) -> Operator {
    Operator {
        id,
        name,
        category,
        location,
        fetch_bill,
        bill_fetch_response: false,
        high_commission: fetch_bill,
        kyc_required: false,
        bbps: true,
        params,
    }
}

/// The operators of the sandbox catalogue.
pub const OPERATORS: &[Operator] = &[
    op(
        1,
        "BSES Rajdhani",
        8,
        7,
        true,
        &[param(
            "utility_acc_no",
            "CA Number",
            ParamType::Numeric,
            "^[0-9]{9}$",
            "Please enter a valid 9 digit CA Number (eg. 151627591)",
        )],
    ),
    op(
        2,
        "BSES Yamuna",
        8,
        7,
        true,
        &[param(
            "utility_acc_no",
            "CA Number",
            ParamType::Numeric,
            "^[0-9]{9}$",
            "Please enter a valid 9 digit CA Number (eg. 100012345)",
        )],
    ),
    Operator {
        bill_fetch_response: true,
        ..op(
            3,
            "MSEDCL (Maharashtra)",
            8,
            27,
            true,
            &[
                param(
                    "utility_acc_no",
                    "Consumer Number",
                    ParamType::Numeric,
                    "^[0-9]{12}$",
                    "Please enter your 12 digit Consumer Number",
                ),
                param(
                    "cycle_number",
                    "Billing Unit",
                    ParamType::Numeric,
                    "^[0-9]{4}$",
                    "Please enter the 4 digit Billing Unit printed on your bill",
                ),
            ],
        )
    },
    op(
        4,
        "Tata Power - Mumbai",
        8,
        27,
        true,
        &[param(
            "utility_acc_no",
            "Consumer Number",
            ParamType::Numeric,
            "^[0-9]{11}$",
            "Please enter a valid 11 digit Consumer Number",
        )],
    ),
    op(
        190,
        "Uttar Pradesh Power Corp Ltd (UPPCL)",
        8,
        9,
        true,
        &[param(
            "utility_acc_no",
            "Account Number",
            ParamType::Numeric,
            "^[0-9]{10,12}$",
            "Please enter your 10 to 12 digit Account Number",
        )],
    ),
    op(
        28,
        "Mahanagar Gas",
        2,
        27,
        true,
        &[param("utility_acc_no", "CA Number", ParamType::Numeric, "^[0-9]{12}$", "Please enter a valid 12 digit CA Number")],
    ),
    op(
        50,
        "Gujarat Gas Limited",
        2,
        24,
        true,
        &[param(
            "utility_acc_no",
            "Service Number",
            ParamType::Numeric,
            "^[0-9]{11}$",
            "Please enter a valid 11 digit Service Number",
        )],
    ),
    op(
        51,
        "Adani Gas",
        2,
        24,
        true,
        &[param(
            "utility_acc_no",
            "Customer ID",
            ParamType::Numeric,
            "^[0-9]{9,10}$",
            "Please enter a valid 10 digit Customer ID (eg. 1000111336)",
        )],
    ),
    op(
        60,
        "Delhi Jal Board",
        6,
        7,
        true,
        &[param("utility_acc_no", "K Number", ParamType::Numeric, "^[0-9]{10}$", "Please enter your 10 digit K Number")],
    ),
    op(
        61,
        "Bangalore Water Supply (BWSSB)",
        6,
        29,
        true,
        &[param(
            "utility_acc_no",
            "RR Number",
            ParamType::AlphaNumeric,
            "^[A-Za-z0-9]{7,10}$",
            "Please enter your 7 to 10 character RR Number",
        )],
    ),
    op(
        70,
        "ACT Fibernet",
        1,
        0,
        true,
        &[param(
            "utility_acc_no",
            "Account Number / User Name",
            ParamType::AlphaNumeric,
            "^[A-Za-z0-9]{6,20}$",
            "Please enter your ACT account number or user name (6 to 20 letters or digits)",
        )],
    ),
    op(
        71,
        "Airtel Broadband",
        1,
        0,
        true,
        &[param(
            "utility_acc_no",
            "Landline Number with STD Code",
            ParamType::Numeric,
            "^0[0-9]{9,10}$",
            "Please enter the landline number with STD code, starting with 0 (eg. 01123456789)",
        )],
    ),
    op(
        80,
        "Tata Play (DTH)",
        4,
        0,
        false,
        &[param(
            "utility_acc_no",
            "Subscriber ID",
            ParamType::Numeric,
            "^1[0-9]{9}$",
            "Please enter the 10 digit Subscriber ID starting with 1",
        )],
    ),
    op(
        81,
        "Dish TV",
        4,
        0,
        false,
        &[param(
            "utility_acc_no",
            "Viewing Card Number",
            ParamType::Numeric,
            "^[0-9]{11}$",
            "Please enter the 11 digit Viewing Card Number",
        )],
    ),
    op(90, "Airtel Postpaid", 3, 0, true, &[MOBILE]),
    op(91, "Jio Postpaid", 3, 0, true, &[MOBILE]),
    op(100, "Airtel Prepaid", 5, 0, false, &[MOBILE]),
    op(101, "Jio Prepaid", 5, 0, false, &[MOBILE]),
    op(102, "Vi Prepaid", 5, 0, false, &[MOBILE]),
    op(103, "BSNL Prepaid", 5, 0, false, &[MOBILE]),
    Operator {
        bill_fetch_response: true,
        kyc_required: true,
        ..op(
            110,
            "Life Insurance Corporation of India (LIC)",
            7,
            0,
            true,
            &[
                param(
                    "utility_acc_no",
                    "Policy Number",
                    ParamType::Numeric,
                    "^[0-9]{9}$",
                    "Please enter your 9 digit Policy Number",
                ),
                param(
                    "dob",
                    "Date of Birth (DD/MM/YYYY)",
                    ParamType::Date,
                    "^(0[1-9]|[12][0-9]|3[01])/(0[1-9]|1[0-2])/(19|20)[0-9]{2}$",
                    "Please enter the policy holder's date of birth as DD/MM/YYYY",
                ),
            ],
        )
    },
    op(
        120,
        "Bajaj Finance (Loan EMI)",
        9,
        0,
        true,
        &[param(
            "utility_acc_no",
            "Loan Account Number",
            ParamType::AlphaNumeric,
            "^[A-Za-z0-9]{8,20}$",
            "Please enter your 8 to 20 character Loan Account Number",
        )],
    ),
    op(
        130,
        "ICICI Bank FASTag",
        10,
        0,
        true,
        &[param(
            "utility_acc_no",
            "Vehicle Registration Number",
            ParamType::AlphaNumeric,
            "^[A-Z]{2}[0-9]{1,2}[A-Z]{0,3}[0-9]{4}$",
            "Please enter the vehicle number in capitals without spaces (eg. MH12AB1234)",
        )],
    ),
    op(
        140,
        "SBI Card",
        11,
        0,
        true,
        &[
            MOBILE,
            param(
                "card_last4",
                "Last 4 Digits of the Card",
                ParamType::Numeric,
                "^[0-9]{4}$",
                "Please enter the last 4 digits of the credit card",
            ),
        ],
    ),
];

/// The operator with this id.
pub fn operator(id: i64) -> Option<&'static Operator> {
    OPERATORS.iter().find(|o| o.id == id)
}

/// The operators of a category and/or location (`None`: any).
pub fn operators(category: Option<i64>, location: Option<i64>) -> impl Iterator<Item = &'static Operator> {
    OPERATORS.iter().filter(move |o| category.is_none_or(|c| o.category == c) && location.is_none_or(|l| o.location == l))
}

/// A UPPCL district and the distribution company (discom) that bills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct District {
    /// The district's name.
    pub name: &'static str,
    /// The discom's short name.
    pub discom: &'static str,
}

/// Operator 190's districts (the v3 district-discom list).
pub const UPPCL_DISTRICTS: &[District] = &[
    District { name: "Agra", discom: "DVVNL" },
    District { name: "Kanpur Nagar", discom: "KESCO" },
    District { name: "Lucknow", discom: "MVVNL" },
    District { name: "Meerut", discom: "PVVNL" },
    District { name: "Varanasi", discom: "PUVVNL" },
];

/// What is wrong with one parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamProblem {
    /// Not sent (or empty).
    Missing,
    /// The operator's error message.
    Invalid(&'static str),
}

/// Every parameter of `op` that is missing or fails its regex, by name.
pub fn check_params<'a>(op: &Operator, value_of: impl Fn(&str) -> Option<&'a str>) -> Vec<(&'static str, ParamProblem)> {
    let mut problems = Vec::new();
    for p in op.params {
        match value_of(p.name).map(str::trim).filter(|v| !v.is_empty()) {
            None => problems.push((p.name, ParamProblem::Missing)),
            Some(v) if !matches(p.regex, v) => problems.push((p.name, ParamProblem::Invalid(p.error_message))),
            Some(_) => {}
        }
    }
    problems
}

fn matches(pattern: &str, value: &str) -> bool {
    // The catalogue's patterns are compile-time constants, each checked by a test.
    regex::Regex::new(pattern).is_ok_and(|r| r.is_match(value))
}

/// A prepaid plan of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The recharge amount, in whole rupees.
    pub amount_rupees: i64,
    /// How long it lasts.
    pub validity: &'static str,
    /// What it gives.
    pub description: &'static str,
}

/// The sandbox's prepaid plans (the same for every prepaid operator).
pub const PLANS: &[Plan] = &[
    Plan { amount_rupees: 19, validity: "1 day", description: "1 GB data" },
    Plan { amount_rupees: 199, validity: "28 days", description: "Unlimited calls, 1.5 GB/day, 100 SMS/day" },
    Plan { amount_rupees: 299, validity: "28 days", description: "Unlimited calls, 2 GB/day, 100 SMS/day" },
    Plan { amount_rupees: 719, validity: "84 days", description: "Unlimited calls, 2 GB/day, 100 SMS/day" },
];

/// The prepaid operator and circle the sandbox says a mobile number belongs to: picked
/// by the number's last digit, so a tester can choose one.
pub fn prepaid_operator_of(mobile: &str) -> (&'static Operator, &'static Location) {
    let digit = mobile.bytes().last().map_or(0, |b| i64::from(b.wrapping_sub(b'0')) % 10);
    let prepaid: Vec<&'static Operator> = operators(Some(5), None).collect();
    let op = prepaid[usize::try_from(digit).unwrap_or(0) % prepaid.len()];
    let circles = &LOCATIONS[1..];
    (op, &circles[usize::try_from(digit).unwrap_or(0) % circles.len()])
}

/// Whether a payment may move from `from` to `to`.
pub fn may_become(from: TxStatus, to: TxStatus) -> bool {
    from == TxStatus::Initiated && matches!(to, TxStatus::Success | TxStatus::Fail | TxStatus::Refunded | TxStatus::Initiated)
}

/// Checks a payment amount against the bounds.
pub fn check_amount(amount_paise: i64) -> Result<(), &'static str> {
    if amount_paise < MIN_PAYMENT_PAISE {
        return Err("must be at least 1.00");
    }
    if amount_paise > MAX_PAYMENT_PAISE {
        return Err("must be at most 200000.00 per bill payment");
    }
    Ok(())
}

/// What a bill payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaymentKind {
    /// A catalogue operator's bill or recharge.
    Bill,
    /// A credit-card bill, paid to a DMT recipient (service 63).
    CreditCard,
}

impl PaymentKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Bill => "bill",
            Self::CreditCard => "credit_card",
        }
    }

    /// The kind for a stored code.
    pub fn from_code(code: &str) -> Option<PaymentKind> {
        match code {
            "bill" => Some(Self::Bill),
            "credit_card" => Some(Self::CreditCard),
            _ => None,
        }
    }
}

/// Why a bill-payment command was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BbpsRejection {
    /// The operator fetches bills, and no unpaid bill of this account was fetched.
    #[error("no bill of this account was fetched; fetch it first")]
    BillNotFetched,
    /// The bill the request names was paid already.
    #[error("this bill was already paid (tid {tid})")]
    BillAlreadyPaid {
        /// The payment that paid it.
        tid: crate::ids::Tid,
    },
    /// The `billfetchresponse` names no bill of this account.
    #[error("billfetchresponse does not match a bill fetched for this account")]
    UnknownBillFetchResponse,
    /// The payment's amount is outside the bounds.
    #[error("the amount is outside the bounds: {0}")]
    AmountOutOfBounds(&'static str),
    /// No such payment of this partner.
    #[error("transaction not found")]
    PaymentNotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_every_operator_is_placed() {
        for op in OPERATORS {
            assert_eq!(op.params[0].name, "utility_acc_no", "{}", op.name);
            assert!(CATEGORIES.iter().any(|c| c.id == op.category), "{}", op.name);
            assert!(LOCATIONS.iter().any(|l| l.id == op.location), "{}", op.name);
            for p in op.params {
                assert!(regex::Regex::new(p.regex).is_ok(), "{}: {}", op.name, p.regex);
            }
        }
        let mut ids: Vec<i64> = OPERATORS.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), OPERATORS.len(), "operator ids are unique");
    }

    #[test]
    fn parameters_are_checked_against_the_operators_rules() {
        let lic = operator(110).unwrap();
        let given = |v: &'static [(&'static str, &'static str)]| move |n: &str| v.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert!(check_params(lic, given(&[("utility_acc_no", "123456789"), ("dob", "15/04/1990")])).is_empty());
        let bad = check_params(lic, given(&[("utility_acc_no", "12345")]));
        assert_eq!(
            bad,
            vec![
                ("utility_acc_no", ParamProblem::Invalid("Please enter your 9 digit Policy Number")),
                ("dob", ParamProblem::Missing)
            ]
        );
        let bad_date = check_params(lic, given(&[("utility_acc_no", "123456789"), ("dob", "1990-04-15")]));
        assert_eq!(bad_date.len(), 1);
    }

    #[test]
    fn operators_filter_and_prepaid_lookups_are_stable() {
        assert!(operators(Some(8), Some(7)).all(|o| o.category == 8 && o.location == 7));
        assert_eq!(operators(Some(5), None).count(), 4);
        let (op, _) = prepaid_operator_of("9876543210");
        assert_eq!(op.category, 5);
        assert_eq!(prepaid_operator_of("9876543210"), prepaid_operator_of("9000000000"));
    }

    #[test]
    fn a_payment_moves_only_out_of_initiated() {
        assert!(may_become(TxStatus::Initiated, TxStatus::Success) && may_become(TxStatus::Initiated, TxStatus::Refunded));
        for done in [TxStatus::Success, TxStatus::Fail, TxStatus::Refunded] {
            assert!(!may_become(done, TxStatus::Success) && !may_become(done, TxStatus::Initiated));
        }
        assert!(check_amount(100).is_ok() && check_amount(99).is_err() && check_amount(MAX_PAYMENT_PAISE + 1).is_err());
    }
}
