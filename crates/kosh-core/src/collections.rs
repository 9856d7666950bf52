//! Collections: UPI QR codes (service 59) and CMS cash drop (service 58). The rules a
//! QR or a CMS payment follows, with no I/O: the `upi://pay` intent, QR states, amounts,
//! the sandbox's magic amounts, the charges and why a command is refused.

use crate::money::Paise;
use crate::pricing::{Charges, Pricing};
use serde::{Deserialize, Serialize};

/// The service code of UPI QR collection.
pub const QR_SERVICE_CODE: u16 = 59;
/// The service code of CMS (Airtel cash drop).
pub const CMS_SERVICE_CODE: u16 = 58;
/// The largest UPI payment to a merchant QR Kosh accepts (NPCI's P2M cap).
pub const MAX_QR_PAISE: i64 = 20_000_000;
/// The largest CMS (EMI) payment.
pub const MAX_CMS_PAISE: i64 = 20_000_000;
/// Settlement of an accepted QR payment: T+1 (one day after acceptance).
pub const QR_SETTLEMENT_MS: i64 = 86_400_000;
/// In sandbox mode a dynamic QR for an amount with these paise is paid at once by a
/// simulated customer (e.g. ₹100.11).
pub const SANDBOX_AUTOPAY_PAISE: i64 = 11;
/// How long a CMS page URL may be opened after it was issued.
pub const CMS_URL_LIFETIME_MS: i64 = 10 * 60_000;
/// The UPI merchant category code of Kosh's QR codes (as the vendor's sample).
const MERCHANT_CATEGORY: &str = "4814";

/// A lender whose EMIs agents collect through CMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Biller {
    /// The biller's id (the callback's `operator_id`).
    pub id: &'static str,
    /// Its name, as the page and the callback show it.
    pub name: &'static str,
}

/// The EMI lenders the CMS page offers.
pub const CMS_BILLERS: &[Biller] = &[
    Biller { id: "BAJAJFIN", name: "Bajaj Finance" },
    Biller { id: "HDFCLOAN", name: "HDFC Bank Loans" },
    Biller { id: "IDFCFIRST", name: "IDFC First Bank" },
    Biller { id: "LNTFIN", name: "L&T Finance" },
    Biller { id: "MUTHOOT", name: "Muthoot Finance" },
    Biller { id: "TATACAP", name: "Tata Capital" },
];

/// The biller with this id.
pub fn biller(id: &str) -> Option<&'static Biller> {
    CMS_BILLERS.iter().find(|b| b.id == id)
}

/// Longest loan or account reference a CMS payment carries.
pub const MAX_LOAN_REFERENCE_CHARS: usize = 30;

/// A loan or account reference: 4 to 30 letters, digits, `-` or `/`.
pub fn parse_loan_reference(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    let ok = (4..=MAX_LOAN_REFERENCE_CHARS).contains(&text.chars().count())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/');
    ok.then(|| text.to_owned()).ok_or("must be 4 to 30 letters, digits, - or /")
}

/// A QR code's state, as the platform numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QrStatus {
    /// Not usable yet.
    Inactive,
    /// Active, no QR drawn yet.
    Active,
    /// Generated and accepting payments.
    QrActive,
    /// No longer accepts payments (a dynamic QR once paid).
    QrInactive,
}

impl QrStatus {
    /// The platform's number for it.
    pub fn code(self) -> i64 {
        match self {
            QrStatus::Inactive => 0,
            QrStatus::Active => 1,
            QrStatus::QrActive => 2,
            QrStatus::QrInactive => 3,
        }
    }

    /// The status numbered `code`.
    pub fn from_code(code: i64) -> Option<QrStatus> {
        [QrStatus::Inactive, QrStatus::Active, QrStatus::QrActive, QrStatus::QrInactive].into_iter().find(|s| s.code() == code)
    }

    /// Its name, as the platform writes it.
    pub fn desc(self) -> &'static str {
        match self {
            QrStatus::Inactive => "INACTIVE",
            QrStatus::Active => "ACTIVE",
            QrStatus::QrActive => "QR_ACTIVE",
            QrStatus::QrInactive => "QR_INACTIVE",
        }
    }
}

/// Which bank's QR the partner asked for (the paths differ; the flow is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QrBank {
    /// `/user/collection/upi-razorpay/…` (and the legacy v2 "Generate QR").
    Razorpay,
    /// `/user/collection/upi-au/…`.
    Au,
}

impl QrBank {
    /// How it is stored.
    pub fn code(self) -> &'static str {
        match self {
            QrBank::Razorpay => "razorpay",
            QrBank::Au => "au",
        }
    }

    /// The bank stored as `text`.
    pub fn parse(text: &str) -> Option<QrBank> {
        match text {
            "razorpay" => Some(QrBank::Razorpay),
            "au" => Some(QrBank::Au),
            _ => None,
        }
    }
}

/// Where a collected payment stands (`tx_status` codes of the status callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentStatus {
    /// Settled (QR) or paid (CMS).
    Success,
    /// Refused or failed; nothing moved.
    Failed,
    /// Accepted, not yet settled (QR: tx_status 5 "Payment Initiated").
    Initiated,
}

impl PaymentStatus {
    /// The platform's number for it.
    pub fn code(self) -> i64 {
        match self {
            PaymentStatus::Success => 0,
            PaymentStatus::Failed => 1,
            PaymentStatus::Initiated => 5,
        }
    }

    /// The status numbered `code`.
    pub fn from_code(code: i64) -> Option<PaymentStatus> {
        [PaymentStatus::Success, PaymentStatus::Failed, PaymentStatus::Initiated].into_iter().find(|s| s.code() == code)
    }

    /// Its name, as the platform writes it.
    pub fn desc(self) -> &'static str {
        match self {
            PaymentStatus::Success => "Success",
            PaymentStatus::Failed => "Failed",
            PaymentStatus::Initiated => "Payment Initiated",
        }
    }
}

/// The VPA a partner's agent collects on: unique per partner and agent.
pub fn qr_vpa(partner_id: i64, user_code: i64) -> String {
    format!("kosh.qr{partner_id}x{user_code}@kosh")
}

/// The `upi://pay` intent a UPI app reads from the QR: payee VPA and name, the QR's
/// reference (`tr`), and the amount for a dynamic QR.
pub fn upi_intent(vpa: &str, payee_name: &str, reference: &str, amount: Option<Paise>) -> String {
    let mut link = format!(
        "upi://pay?ver=01&mode=01&pa={}&pn={}&tr={}&cu=INR&mc={MERCHANT_CATEGORY}&qrMedium=04&tn={}",
        encode(vpa),
        encode(payee_name),
        encode(reference),
        encode(&format!("Payment to {payee_name}")),
    );
    if let Some(amount) = amount {
        link.push_str("&am=");
        link.push_str(&amount.to_rupees_string());
    }
    link
}

/// Percent-encodes everything but RFC 3986's unreserved characters (and `@`, which
/// every VPA has and UPI apps expect as is).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A dynamic QR's (or a payment's) amount: positive rupees with at most 2 decimals,
/// at most `max_paise`.
pub fn parse_amount(text: &str, max_paise: i64) -> Result<Paise, &'static str> {
    match Paise::parse_rupees(text.trim()) {
        Ok(p) if p.is_zero() => Err("must be greater than zero"),
        Ok(p) if p.get() > max_paise => Err("is larger than the largest payment accepted"),
        Ok(p) => Ok(p),
        Err(_) => Err("must be rupees with at most 2 decimals"),
    }
}

/// Whether the sandbox pays a dynamic QR of `amount` by itself.
pub fn is_sandbox_autopay(amount: Paise) -> bool {
    amount.get() % 100 == SANDBOX_AUTOPAY_PAISE
}

/// The default QR pricing: a 0.50% merchant discount rate (GST inside), of which the
/// partner earns half net of GST, less 2% TDS.
pub fn default_qr_pricing() -> Pricing {
    Pricing {
        fee_bp: 50,
        fee_min_paise: Paise::ZERO,
        fee_max_paise: Paise::ZERO,
        slabs: Vec::new(),
        commission_bp: 5_000,
        ..Pricing::default()
    }
}

/// The default CMS pricing: the lender pays no fee to the agent's customer; the partner
/// earns a commission of 0.50% of the EMI (as a "fee" share of 100%), less 2% TDS.
pub fn default_cms_pricing() -> Pricing {
    Pricing {
        fee_bp: 50,
        fee_min_paise: Paise::ZERO,
        fee_max_paise: Paise::ZERO,
        slabs: Vec::new(),
        gst_bp: 0,
        commission_bp: 10_000,
        ..Pricing::default()
    }
}

/// What a collected QR payment pays the partner: the amount less the fee (the merchant
/// discount rate), plus its commission net of TDS.
pub fn qr_wallet_credit(c: &Charges) -> i64 {
    c.amount_paise.get() - c.fee_paise.get() + c.commission_paise.get() - c.tds_paise.get()
}

/// What a CMS payment debits the partner: the EMI less its commission net of TDS.
pub fn cms_wallet_debit(c: &Charges) -> i64 {
    c.amount_paise.get() - c.commission_paise.get() + c.tds_paise.get()
}

/// Why a collections command was refused; nothing it did remains.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectionRejection {
    /// No QR code with this reference.
    #[error("QR code not found")]
    QrNotFound,
    /// The QR code does not accept payments any more (a dynamic QR already paid).
    #[error("the QR code does not accept payments (it was paid, or deactivated)")]
    QrInactive,
    /// A dynamic QR is paid exactly its amount.
    #[error("the amount must be exactly {expected}, the dynamic QR's amount")]
    AmountMismatch {
        /// The QR's amount, in rupees.
        expected: String,
    },
    /// The CMS page is unknown, used or expired.
    #[error("{0}")]
    CmsSession(String),
    /// The request is invalid; says why.
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_intent_carries_payee_reference_and_amount() {
        let link = upi_intent("kosh.qr1x20810200@kosh", "Asha & Sons", "qr_7000000001", Paise::new(500));
        assert_eq!(
            link,
            "upi://pay?ver=01&mode=01&pa=kosh.qr1x20810200@kosh&pn=Asha%20%26%20Sons&tr=qr_7000000001&cu=INR&mc=4814\
             &qrMedium=04&tn=Payment%20to%20Asha%20%26%20Sons&am=5.00"
        );
        assert!(!upi_intent("a@kosh", "A", "r", None).contains("am="));
    }

    #[test]
    fn amounts_are_positive_with_two_decimals() {
        assert_eq!(parse_amount("5", MAX_QR_PAISE), Ok(Paise::new(500).unwrap()));
        assert_eq!(parse_amount("5.25", MAX_QR_PAISE), Ok(Paise::new(525).unwrap()));
        assert!(parse_amount("5.255", MAX_QR_PAISE).is_err());
        assert!(parse_amount("0", MAX_QR_PAISE).is_err());
        assert!(parse_amount("0.00", MAX_QR_PAISE).is_err());
        assert!(parse_amount("-1", MAX_QR_PAISE).is_err());
        assert!(parse_amount("200001", MAX_QR_PAISE).is_err());
    }

    #[test]
    fn qr_and_cms_money_splits_without_loss() {
        let (qr, cms) = (default_qr_pricing(), default_cms_pricing());
        qr.validate().expect("QR pricing is valid");
        cms.validate().expect("CMS pricing is valid");
        let c = qr.charges(Paise::new(100_000).unwrap());
        assert_eq!([c.fee_paise, c.gst_paise, c.commission_paise, c.tds_paise].map(Paise::get), [500, 76, 212, 4]);
        let revenue = c.revenue_paise().unwrap().get();
        assert_eq!(qr_wallet_credit(&c) + c.gst_paise.get() + revenue + c.tds_paise.get(), c.amount_paise.get());
        let c = cms.charges(Paise::new(250_000).unwrap());
        assert_eq!((c.commission_paise.get(), c.tds_paise.get()), (1_250, 25));
        assert_eq!(cms_wallet_debit(&c), 250_000 - 1_250 + 25);
    }

    #[test]
    fn billers_and_loan_references() {
        assert_eq!(biller("TATACAP").map(|b| b.name), Some("Tata Capital"));
        assert!(biller("NOPE").is_none());
        assert_eq!(parse_loan_reference(" LN-2024/0042 "), Ok("LN-2024/0042".into()));
        assert!(parse_loan_reference("abc").is_err());
        assert!(parse_loan_reference("LN 42 x").is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for code in 0..4 {
            assert_eq!(QrStatus::from_code(code).map(QrStatus::code), Some(code));
        }
        assert_eq!(PaymentStatus::from_code(5), Some(PaymentStatus::Initiated));
        assert!(is_sandbox_autopay(Paise::new(10_011).unwrap()));
        assert!(!is_sandbox_autopay(Paise::new(10_000).unwrap()));
    }
}
