//! AePS (Aadhaar-enabled payment system): transaction types, limits, an agent's
//! readiness (one-time e-KYC, daily authentication), commission and TDS, `tx_status`
//! and its meaning, the RD-service PID XML shape check, and the sandbox bank's
//! deterministic answers.
//!
//! Pure rules; the store keeps the state and the server speaks the wire format.

use crate::civil;
use crate::money::Paise;
use serde::{Deserialize, Serialize};

/// Largest cash withdrawal (NPCI): ₹10,000.
pub const MAX_WITHDRAWAL_PAISE: i64 = 1_000_000;
/// Most transactions (of any type) for one Aadhaar number in one IST calendar day.
pub const MAX_TX_PER_AADHAAR_PER_DAY: i64 = 5;
/// TDS on commission, in basis points (2%, section 194H).
pub const TDS_BASIS_POINTS: i64 = 200;

/// The AePS service codes.
pub const SERVICE_FINGPAY: u16 = 43;
/// Aadhaar Pay: the customer pays a merchant from their bank account by fingerprint.
pub const SERVICE_AADHAAR_PAY: u16 = 51;
/// AePS through Fino, whose e-KYC is biometric and reviewed by the bank.
pub const SERVICE_FINO: u16 = 52;

/// What a customer asks for at the agent's counter (`service_type` / `data.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxType {
    /// Cash withdrawal: the only type that moves money (it needs an `amount`).
    CashWithdrawal = 2,
    /// Balance enquiry: the bank reports the account balance; nothing moves.
    BalanceEnquiry = 3,
    /// Mini statement: the last few movements of the account; nothing moves.
    MiniStatement = 4,
}

impl TxType {
    /// Reads `service_type` as sent (`"2"`, `"3"` or `"4"`); the error is the reason shown to the partner.
    pub fn parse(text: &str) -> Result<TxType, &'static str> {
        match text.trim() {
            "2" => Ok(Self::CashWithdrawal),
            "3" => Ok(Self::BalanceEnquiry),
            "4" => Ok(Self::MiniStatement),
            _ => Err("must be 2 (cash withdrawal), 3 (balance enquiry) or 4 (mini statement)"),
        }
    }

    /// The numeric code on the wire (`2`, `3`, `4`).
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The human label the platform answers with (`Cash Withdrawal`, …).
    pub fn label(self) -> &'static str {
        match self {
            Self::CashWithdrawal => "Cash Withdrawal",
            Self::BalanceEnquiry => "Balance Enquiry",
            Self::MiniStatement => "Mini Statement",
        }
    }

    /// Whether the customer's money moves (and so an `amount` is required).
    pub fn moves_money(self) -> bool {
        self == Self::CashWithdrawal
    }
}

/// A bank reachable over AePS: its short code (`bank_code`), its IIN and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bank {
    /// Short code, the first four letters of the bank's IFSC (`SBIN`).
    pub code: &'static str,
    /// NPCI's six-digit Issuer Identification Number, which AePS routes on.
    pub iin: &'static str,
    /// The bank's name as the platform shows it.
    pub name: &'static str,
}

/// The banks the sandbox knows: a partner may name one by short code or by IIN.
pub const BANKS: &[Bank] = &[
    Bank { code: "SBIN", iin: "607094", name: "State Bank of India" },
    Bank { code: "PUNB", iin: "607027", name: "Punjab National Bank" },
    Bank { code: "BARB", iin: "606985", name: "Bank of Baroda" },
    Bank { code: "CNRB", iin: "607396", name: "Canara Bank" },
    Bank { code: "UBIN", iin: "607161", name: "Union Bank of India" },
    Bank { code: "BKID", iin: "508505", name: "Bank of India" },
    Bank { code: "HDFC", iin: "607152", name: "HDFC Bank" },
    Bank { code: "ICIC", iin: "508534", name: "ICICI Bank" },
    Bank { code: "UTIB", iin: "607153", name: "Axis Bank" },
    Bank { code: "AIRP", iin: "990320", name: "Airtel Payments Bank" },
    Bank { code: "IPOS", iin: "608314", name: "India Post Payments Bank" },
];

/// A bank by short code (any case) or IIN.
pub fn bank(code_or_iin: &str) -> Option<&'static Bank> {
    let wanted = code_or_iin.trim();
    BANKS.iter().find(|b| b.code.eq_ignore_ascii_case(wanted) || b.iin == wanted)
}

/// Checks a cash withdrawal amount against the NPCI limits.
pub fn check_withdrawal(amount: Paise) -> Result<(), String> {
    if amount.is_zero() {
        return Err("must be more than 0 for a cash withdrawal".into());
    }
    if amount.get() > MAX_WITHDRAWAL_PAISE {
        return Err(format!(
            "is more than the limit of {} per cash withdrawal",
            Paise::new(MAX_WITHDRAWAL_PAISE).expect("limit is valid").to_rupees_string()
        ));
    }
    Ok(())
}

/// Commission and TDS on one transaction, and what the partner's e-value gains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// What the partner earns on the transaction, in paise, before TDS.
    pub commission_paise: Paise,
    /// Withheld from the commission for the tax authority, in paise ([`TDS_BASIS_POINTS`]).
    pub tds_paise: Paise,
}

impl Pricing {
    /// Nothing earned, nothing withheld (a failed or free transaction).
    pub const NONE: Pricing = Pricing { commission_paise: Paise::ZERO, tds_paise: Paise::ZERO };

    /// What the e-value is credited: the cash the agent paid out, plus commission, less
    /// TDS; `None` past [`crate::money::MAX_PAISE`].
    pub fn credit_paise(&self, amount_paise: Paise) -> Option<Paise> {
        amount_paise.checked_add(self.commission_paise)?.checked_sub(self.tds_paise)
    }
}

/// `value × numerator / denominator`, rounded half up (all non-negative).
fn mul_div_round(value: i64, numerator: i64, denominator: i64) -> i64 {
    (value * numerator * 2 + denominator) / (denominator * 2)
}

/// The catalogue's AePS pricing (§5): cash withdrawal 0.40% for ₹101–3,000, a flat ₹13
/// for ₹3,001–10,000, nothing up to ₹100; mini statement ₹0.75; balance enquiry free.
/// TDS is [`TDS_BASIS_POINTS`] of the commission.
pub fn pricing(tx_type: TxType, amount: Paise) -> Pricing {
    let amount_paise = amount.get();
    let commission_paise = match tx_type {
        TxType::CashWithdrawal if amount_paise <= 10_000 => 0,
        TxType::CashWithdrawal if amount_paise <= 300_000 => mul_div_round(amount_paise, 40, 10_000),
        TxType::CashWithdrawal => 1_300,
        TxType::MiniStatement => 75,
        TxType::BalanceEnquiry => 0,
    };
    let tds_paise = mul_div_round(commission_paise, TDS_BASIS_POINTS, 10_000);
    // Both are at most 0.40% of an amount (or a flat fee), so always amounts.
    let paise = |p: i64| Paise::new(p).unwrap_or(Paise::ZERO);
    Pricing { commission_paise: paise(commission_paise), tds_paise: paise(tds_paise) }
}

/// `tx_status` of an AePS transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxStatus {
    /// The bank approved the transaction.
    Success = 0,
    /// The bank declined it; no money moved.
    Failed = 1,
    /// The bank has not answered yet: ask transaction inquiry.
    Awaited = 2,
}

impl TxStatus {
    /// The status for a stored code; `None` for a code Kosh never writes.
    pub fn from_code(code: i64) -> Option<TxStatus> {
        match code {
            0 => Some(Self::Success),
            1 => Some(Self::Failed),
            2 => Some(Self::Awaited),
            _ => None,
        }
    }

    /// The numeric `tx_status` on the wire.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// `txstatus_desc` as the platform spells it.
    pub fn desc(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Failed => "Failed",
            Self::Awaited => "Response Awaited",
        }
    }
}

/// What a partner must do with a `tx_status` it received (seed 001's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxStatusMeaning {
    /// `tx_status` 0: the transaction succeeded.
    Successful,
    /// `tx_status` 1: the transaction failed; no money moved.
    Failed,
    /// "Do the transaction inquiry".
    InquiryRequired,
    /// "Any other value: suspicious, contact Eko".
    Suspicious,
}

/// Reads a `tx_status` as a partner receives it (a string, sometimes a number).
pub fn meaning_of(tx_status: &str) -> TxStatusMeaning {
    match tx_status.trim() {
        "0" => TxStatusMeaning::Successful,
        "1" => TxStatusMeaning::Failed,
        "2" => TxStatusMeaning::InquiryRequired,
        _ => TxStatusMeaning::Suspicious,
    }
}

/// An agent's one-time e-KYC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ekyc {
    /// No e-KYC step was taken yet.
    NotStarted,
    /// Fingpay step 1 done: the OTP was sent.
    OtpSent,
    /// Fingpay step 2 done: the OTP was verified; the biometric step remains.
    OtpVerified,
    /// Fino: biometric e-KYC submitted; complete once the bank's review ends.
    FinoPending {
        /// When the bank's review ends (ms since the epoch); from then on the e-KYC reads as complete.
        ready_at_ms: i64,
    },
    /// e-KYC is done: the agent may authenticate daily and transact.
    Complete,
}

impl Ekyc {
    /// The stored code of the state (`not_started`, `otp_sent`, …).
    pub fn code(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::OtpSent => "otp_sent",
            Self::OtpVerified => "otp_verified",
            Self::FinoPending { .. } => "fino_pending",
            Self::Complete => "complete",
        }
    }

    /// Reads a stored state; `ready_at_ms` matters only for Fino.
    pub fn from_code(code: &str, ready_at_ms: Option<i64>) -> Option<Ekyc> {
        Some(match code {
            "not_started" => Self::NotStarted,
            "otp_sent" => Self::OtpSent,
            "otp_verified" => Self::OtpVerified,
            "fino_pending" => Self::FinoPending { ready_at_ms: ready_at_ms? },
            "complete" => Self::Complete,
            _ => return None,
        })
    }

    /// The state at `now_ms`: a Fino review whose time has come reads as complete.
    pub fn at(self, now_ms: i64) -> Ekyc {
        match self {
            Self::FinoPending { ready_at_ms } if ready_at_ms <= now_ms => Self::Complete,
            other => other,
        }
    }
}

/// Why an agent may not transact yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotReady {
    /// No e-KYC, or one not finished: the platform says "Aadhaar updation pending".
    Ekyc(Ekyc),
    /// e-KYC done, but no daily authentication yet on this IST calendar day.
    DailyAuthentication,
}

/// An agent's AePS standing, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStanding {
    /// Where the agent's one-time e-KYC stands.
    pub ekyc: Ekyc,
    /// The IST day (days since 1970-01-01) of the last daily authentication.
    pub daily_auth_day: Option<i64>,
}

/// The IST calendar day of an instant, as days since 1970-01-01.
pub fn ist_day(now_ms: i64) -> i64 {
    civil::ist_date(now_ms).to_days()
}

impl AgentStanding {
    /// `Ok` when the agent may transact at `now_ms`.
    pub fn ready(&self, now_ms: i64) -> Result<(), NotReady> {
        match self.ekyc.at(now_ms) {
            Ekyc::Complete => {}
            other => return Err(NotReady::Ekyc(other)),
        }
        if self.daily_auth_day != Some(ist_day(now_ms)) {
            return Err(NotReady::DailyAuthentication);
        }
        Ok(())
    }
}

/// A PID block that passed the shape check: what Kosh keeps of it (never the biometric).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidSummary {
    /// `DeviceInfo@dpId`: the RD-service provider.
    pub device_provider: String,
    /// How many fingers the PID block captured (`Resp@fCount`, 1 to 10).
    pub finger_count: u32,
}

/// Largest PID XML accepted, in bytes (a real one is 2–6 KiB).
pub const MAX_PID_BYTES: usize = 32 * 1024;

/// Checks the RD-service PID XML for shape: a `PidData` root; `Resp` with `errCode="0"`
/// and `fCount` ≥ 1; `DeviceInfo` naming `dpId` and `rdsId`; `Skey` with a `ci`;
/// non-empty base64 `Hmac`; and `Data` of type `X` or `P` with a base64 payload. The
/// biometric inside is encrypted for UIDAI and cannot be checked here; the sandbox
/// bank decides the answer. The error says what is wrong, to show a partner.
pub fn check_pid(xml: &str) -> Result<PidSummary, String> {
    if xml.len() > MAX_PID_BYTES {
        return Err(format!("is larger than {MAX_PID_BYTES} bytes"));
    }
    let xml = xml.trim();
    if !xml.starts_with("<PidData") && !xml.starts_with("<?xml") {
        return Err("must be the RD service's PID XML (a <PidData> element)".into());
    }
    element(xml, "PidData").ok_or("must be the RD service's PID XML (a <PidData> element)")?;
    let resp = element(xml, "Resp").ok_or("has no <Resp> element")?;
    let err_code = attr(&resp.attrs, "errCode").ok_or("<Resp> has no errCode")?;
    if err_code != "0" {
        let info = attr(&resp.attrs, "errInfo").unwrap_or_default();
        return Err(format!("reports a failed capture (errCode {err_code}{}); capture the fingerprint again", describe(&info)));
    }
    let finger_count = attr(&resp.attrs, "fCount").and_then(|c| c.parse::<u32>().ok()).filter(|c| (1..=10).contains(c));
    let finger_count = finger_count.ok_or("<Resp> must have fCount between 1 and 10")?;
    let device = element(xml, "DeviceInfo").ok_or("has no <DeviceInfo> element")?;
    let device_provider = attr(&device.attrs, "dpId").filter(|v| !v.is_empty()).ok_or("<DeviceInfo> has no dpId")?;
    attr(&device.attrs, "rdsId").filter(|v| !v.is_empty()).ok_or("<DeviceInfo> has no rdsId")?;
    let skey = element(xml, "Skey").ok_or("has no <Skey> element")?;
    attr(&skey.attrs, "ci").filter(|v| !v.is_empty()).ok_or("<Skey> has no ci (certificate identifier)")?;
    require_base64(&skey, "Skey")?;
    require_base64(&element(xml, "Hmac").ok_or("has no <Hmac> element")?, "Hmac")?;
    let data = element(xml, "Data").ok_or("has no <Data> element")?;
    match attr(&data.attrs, "type").as_deref() {
        Some("X" | "P") => {}
        _ => return Err("<Data> must have type=\"X\" (XML) or type=\"P\" (protobuf)".into()),
    }
    require_base64(&data, "Data")?;
    Ok(PidSummary { device_provider: device_provider.chars().take(64).collect(), finger_count })
}

fn describe(info: &str) -> String {
    let info: String = info.chars().filter(|c| !c.is_control()).take(80).collect();
    if info.is_empty() {
        String::new()
    } else {
        format!(": {info}")
    }
}

fn require_base64(el: &Element, name: &str) -> Result<(), String> {
    let text = el.text.trim();
    let ok =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r'));
    if ok {
        Ok(())
    } else {
        Err(format!("<{name}> must hold base64 text"))
    }
}

/// One element found by name: its attribute text and its text content (empty when
/// self-closing).
struct Element {
    attrs: String,
    text: String,
}

/// Finds the first `<name …>` element. A shape check, not an XML parser: enough to tell
/// a PID block from something else, bounded by the input's length.
fn element(xml: &str, name: &str) -> Option<Element> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(pos) = xml[from..].find(&open) {
        let start = from + pos + open.len();
        let next = xml[start..].chars().next()?;
        if next == '>' || next == '/' || next.is_whitespace() {
            let end = start + xml[start..].find('>')?;
            let head = &xml[start..end];
            if let Some(attrs) = head.strip_suffix('/') {
                return Some(Element { attrs: attrs.to_owned(), text: String::new() });
            }
            let close = format!("</{name}>");
            let body_end = end + 1 + xml[end + 1..].find(&close)?;
            return Some(Element { attrs: head.to_owned(), text: xml[end + 1..body_end].to_owned() });
        }
        from = start;
    }
    None
}

/// The value of attribute `name` (single or double quoted).
fn attr(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    while let Some(pos) = rest.find(name) {
        let before_ok = pos == 0 || rest[..pos].ends_with(char::is_whitespace);
        let after = rest[pos + name.len()..].trim_start();
        if before_ok {
            if let Some(value) = after.strip_prefix('=') {
                let value = value.trim_start();
                let quote = value.chars().next()?;
                if quote == '"' || quote == '\'' {
                    let end = value[1..].find(quote)?;
                    return Some(value[1..1 + end].to_owned());
                }
            }
        }
        rest = &rest[pos + name.len()..];
    }
    None
}

/// A well-formed simulated PID block, as the sandbox's "fingerprint capture" makes it.
/// `nonce` varies the encrypted-looking parts.
pub fn simulated_pid(nonce: u64) -> String {
    use base64::Engine;
    let b64 = |tag: &str| base64::engine::general_purpose::STANDARD.encode(format!("kosh-sandbox-{tag}-{nonce:016x}"));
    format!(
        "<?xml version=\"1.0\"?><PidData><Resp errCode=\"0\" errInfo=\"Capture Success\" fCount=\"1\" fType=\"2\" \
         nmPoints=\"38\" qScore=\"76\"/><DeviceInfo dpId=\"KOSH.SANDBOX\" rdsId=\"KOSH.SIM.001\" rdsVer=\"1.0.0\" \
         mi=\"SIMULATED\" mc=\"{}\" dc=\"sandbox-device\"/><Skey ci=\"20291231\">{}</Skey><Hmac>{}</Hmac>\
         <Data type=\"X\">{}</Data></PidData>",
        b64("mc"),
        b64("skey"),
        b64("hmac"),
        b64("data")
    )
}

/// Why an AePS command was refused; nothing it did remains.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AepsRejection {
    /// The agent has not finished e-KYC or not authenticated today.
    #[error("the agent is not ready for AePS: {0:?}")]
    NotReady(NotReady),
    /// The e-KYC step came out of order.
    #[error("this e-KYC step needs {expected}, but the agent's e-KYC is {found}")]
    EkycStep {
        /// The state the step needs.
        expected: &'static str,
        /// The state the agent's e-KYC is in ([`Ekyc::code`]).
        found: &'static str,
    },
    /// The e-KYC OTP verification names another request than the one that sent the OTP.
    #[error("reference_tid does not match the e-KYC OTP request")]
    ReferenceMismatch,
    /// The Aadhaar number differs from the one the agent's e-KYC used.
    #[error("the Aadhaar number does not match the agent's e-KYC")]
    AadhaarMismatch,
    /// The Aadhaar number reached [`MAX_TX_PER_AADHAAR_PER_DAY`] for this IST day.
    #[error("the Aadhaar number already had {MAX_TX_PER_AADHAAR_PER_DAY} transactions today")]
    DailyLimit,
    /// The partner's `client_ref_id` already names another transaction.
    #[error("client_ref_id was already used for another transaction")]
    ClientRefIdUsed,
    /// No such transaction (or intent) for this partner.
    #[error("transaction not found")]
    TransactionNotFound,
    /// The gateway session is unknown or past its expiry.
    #[error("the gateway session does not exist or has expired")]
    SessionExpired,
    /// The gateway session already created as many transactions as it allows.
    #[error("the gateway session has reached its limit of transactions")]
    TooManyIntents,
    /// The gateway transaction was already confirmed, failed or expired.
    #[error("the gateway transaction is not awaiting confirmation (it is {state})")]
    IntentClosed {
        /// The intent's current state, as stored.
        state: String,
    },
    /// The confirmation already created another transaction.
    #[error("this confirmation was already used for transaction {client_ref_id}")]
    ConfirmationUsed {
        /// That transaction's `client_ref_id`.
        client_ref_id: String,
    },
}

/// The sandbox bank: deterministic answers chosen by documented magic values.
pub mod sandbox {
    use super::TxType;
    use crate::ids::Tid;
    use crate::money::Paise;
    use serde::{Deserialize, Serialize};

    /// Every customer's account opens with ₹50,000.00; successful withdrawals reduce it.
    pub const OPENING_BALANCE_PAISE: i64 = 5_000_000;
    /// Customer mobile (`customer_id`) whose fingerprint never matches: declined.
    pub const MOBILE_BIOMETRIC_MISMATCH: &str = "6000000001";
    /// Customer mobile whose bank does not answer at once: `tx_status` 2, then success.
    pub const MOBILE_AWAITED_THEN_SUCCESS: &str = "6000000002";
    /// Customer mobile whose bank does not answer at once: `tx_status` 2, then failure.
    pub const MOBILE_AWAITED_THEN_FAILURE: &str = "6000000003";

    /// The bank's final word on a transaction.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Verdict {
        /// The bank approved the transaction.
        Approved,
        /// The bank declined.
        Declined {
            /// The bank's reason, as the partner will see it.
            reason: String,
        },
    }

    /// The bank's answer now, and for an awaited one what inquiry will find later.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Answer {
        /// The bank answers at once with this verdict.
        Now(Verdict),
        /// The bank does not answer at once (`tx_status` 2); inquiry later finds this verdict.
        Awaited(Verdict),
    }

    /// The answer for a transaction of `amount_paise` by a customer whose account holds
    /// `balance_paise`.
    pub fn answer(tx_type: TxType, amount_paise: i64, customer_mobile: &str, balance_paise: i64) -> Answer {
        match customer_mobile {
            MOBILE_BIOMETRIC_MISMATCH => {
                return Answer::Now(Verdict::Declined { reason: "Biometric data did not match (UIDAI error 300)".into() })
            }
            MOBILE_AWAITED_THEN_SUCCESS => return Answer::Awaited(Verdict::Approved),
            MOBILE_AWAITED_THEN_FAILURE => {
                return Answer::Awaited(Verdict::Declined {
                    reason: "No response from the issuer bank; transaction reversed".into(),
                })
            }
            _ => {}
        }
        if tx_type.moves_money() && amount_paise > balance_paise {
            return Answer::Now(Verdict::Declined { reason: "Insufficient funds in the customer's bank account".into() });
        }
        Answer::Now(Verdict::Approved)
    }

    /// One line of a mini statement.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct StatementLine {
        /// `dd/MM/yyyy` in IST.
        pub date: String,
        /// `Cr` or `Dr`.
        pub txn_type: String,
        /// The movement's amount, in paise (always positive; `txn_type` gives its direction).
        pub amount_paise: Paise,
        /// The bank's description of the movement (`ATM WDL`, `NEFT SALARY`, …).
        pub narration: String,
    }

    /// The sandbox's mini statement: the last five movements before the current balance,
    /// one a day, the same for every customer with the same balance.
    pub fn mini_statement(balance_paise: i64, now_ms: i64) -> Vec<StatementLine> {
        const MOVES: [(&str, i64, &str); 5] = [
            ("Dr", 50_000, "ATM WDL"),
            ("Cr", 1_250_000, "NEFT SALARY"),
            ("Dr", 34_900, "UPI/GROCERY"),
            ("Dr", 200_000, "AEPS CW"),
            ("Cr", 15_000, "UPI/REFUND"),
        ];
        MOVES
            .iter()
            .enumerate()
            .map(|(i, (kind, amount_paise, narration))| {
                let day = crate::civil::ist_date(now_ms - (i as i64 + 1) * 86_400_000);
                StatementLine {
                    date: format!("{:02}/{:02}/{:04}", day.day, day.month, day.year),
                    txn_type: (*kind).into(),
                    amount_paise: Paise::new((*amount_paise).min(balance_paise.max(0))).unwrap_or(Paise::ZERO),
                    narration: (*narration).into(),
                }
            })
            .collect()
    }

    /// The bank's reference number (RRN, 12 digits) for a transaction id.
    pub fn rrn(tid: Tid) -> String {
        format!("{:012}", 400_000_000_000 + tid.get().rem_euclid(100_000_000_000))
    }

    /// The system trace audit number (6 digits).
    pub fn stan(tid: Tid) -> String {
        format!("{:06}", tid.get().rem_euclid(1_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Tid;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn pricing_follows_the_catalogue() {
        let p = |paise: i64| Paise::new(paise).unwrap();
        let cw = |rupees: i64| pricing(TxType::CashWithdrawal, p(rupees * 100));
        assert_eq!(cw(100), Pricing { commission_paise: p(0), tds_paise: p(0) });
        assert_eq!(cw(101).commission_paise, 40, "0.40% of 101 = 0.404 → 0.40");
        assert_eq!(cw(2000), Pricing { commission_paise: p(800), tds_paise: p(16) });
        assert_eq!(cw(3000).commission_paise, 1_200);
        assert_eq!(cw(3001), Pricing { commission_paise: p(1_300), tds_paise: p(26) });
        assert_eq!(cw(10_000).commission_paise, 1_300);
        assert_eq!(
            pricing(TxType::MiniStatement, Paise::ZERO),
            Pricing { commission_paise: p(75), tds_paise: p(2) },
            "2% of 0.75 = 0.015 → 0.02"
        );
        assert_eq!(pricing(TxType::BalanceEnquiry, Paise::ZERO), Pricing { commission_paise: p(0), tds_paise: p(0) });
        assert_eq!(cw(2000).credit_paise(p(200_000)), Some(p(200_784)));
        // 0.40% of 125.01 = 0.50004 → 0.50; of 126.25 = 0.505 → 0.51 (half up).
        assert_eq!(pricing(TxType::CashWithdrawal, p(12_501)).commission_paise, 50);
        assert_eq!(pricing(TxType::CashWithdrawal, p(12_625)).commission_paise, 51);
    }

    #[test]
    fn banks_by_code_or_iin() {
        assert_eq!(bank("punb").map(|b| b.name), Some("Punjab National Bank"));
        assert_eq!(bank("607094").map(|b| b.code), Some("SBIN"));
        assert!(bank("ZZZZ").is_none());
    }

    #[test]
    fn withdrawal_limits() {
        assert!(check_withdrawal(Paise::new(1_000_000).unwrap()).is_ok());
        assert!(check_withdrawal(Paise::new(1_000_001).unwrap()).unwrap_err().contains("10000.00"));
        assert!(check_withdrawal(Paise::ZERO).is_err());
    }

    #[test]
    fn tx_status_meanings_follow_the_seed() {
        assert_eq!(meaning_of("0"), TxStatusMeaning::Successful);
        assert_eq!(meaning_of("1"), TxStatusMeaning::Failed);
        assert_eq!(meaning_of("2"), TxStatusMeaning::InquiryRequired);
        for other in ["3", "5", "", "x", "-1"] {
            assert_eq!(meaning_of(other), TxStatusMeaning::Suspicious, "{other:?}");
        }
        assert_eq!(TxStatus::from_code(2), Some(TxStatus::Awaited));
        assert_eq!(TxStatus::from_code(7), None);
    }

    #[test]
    fn readiness_needs_ekyc_then_daily_authentication_each_ist_day() {
        let now = 1_700_000_000_000;
        let standing = |ekyc, daily_auth_day| AgentStanding { ekyc, daily_auth_day };
        assert_eq!(standing(Ekyc::NotStarted, None).ready(now), Err(NotReady::Ekyc(Ekyc::NotStarted)));
        assert_eq!(standing(Ekyc::OtpVerified, None).ready(now), Err(NotReady::Ekyc(Ekyc::OtpVerified)));
        let fino = Ekyc::FinoPending { ready_at_ms: now + 2 * DAY_MS };
        assert_eq!(standing(fino, Some(ist_day(now))).ready(now), Err(NotReady::Ekyc(fino)));
        assert_eq!(standing(fino, None).ready(now + 2 * DAY_MS), Err(NotReady::DailyAuthentication));
        let today = standing(Ekyc::Complete, Some(ist_day(now)));
        assert_eq!(today.ready(now), Ok(()));
        // The next IST midnight: 2023-11-14 22:13:20Z is 03:43 IST on the 15th, so the
        // day ends 20h17m later.
        let next_midnight_ist = (ist_day(now) + 1) * DAY_MS - civil::IST_OFFSET_MS;
        assert_eq!(today.ready(next_midnight_ist - 1), Ok(()));
        assert_eq!(today.ready(next_midnight_ist), Err(NotReady::DailyAuthentication));
        assert_eq!(Ekyc::from_code("fino_pending", Some(5)), Some(Ekyc::FinoPending { ready_at_ms: 5 }));
        assert_eq!(Ekyc::from_code("fino_pending", None), None);
        for e in [Ekyc::NotStarted, Ekyc::OtpSent, Ekyc::OtpVerified, Ekyc::Complete] {
            assert_eq!(Ekyc::from_code(e.code(), None), Some(e));
        }
    }

    #[test]
    fn a_simulated_pid_passes_and_broken_ones_say_why() {
        let pid = simulated_pid(7);
        assert_eq!(check_pid(&pid), Ok(PidSummary { device_provider: "KOSH.SANDBOX".into(), finger_count: 1 }));
        let cases = [
            ("not xml at all", "PidData"),
            ("<PidData></PidData>", "<Resp>"),
            (
                &pid.replace("errCode=\"0\" errInfo=\"Capture Success\"", "errCode=\"720\" errInfo=\"Timeout\""),
                "errCode 720: Timeout",
            ),
            (&pid.replace("fCount=\"1\"", "fCount=\"0\""), "fCount"),
            (&pid.replace(" dpId=\"KOSH.SANDBOX\"", ""), "dpId"),
            (&pid.replace(" ci=\"20291231\"", ""), "ci"),
            (&pid.replace("type=\"X\"", "type=\"Q\""), "type"),
            (&pid.replace("<Hmac>", "<Hmac>!!"), "<Hmac> must hold base64"),
            (&pid.replace("</Data>", ""), "<Data>"),
        ];
        for (xml, expected) in cases {
            let err = check_pid(xml).unwrap_err();
            assert!(err.contains(expected), "{err:?} should mention {expected:?}");
        }
        assert!(check_pid(&"x".repeat(MAX_PID_BYTES + 1)).unwrap_err().contains("larger"));
        let single_quoted = pid.replace('"', "'");
        assert!(check_pid(&single_quoted).is_ok(), "attributes may use single quotes");
    }

    #[test]
    fn the_sandbox_bank_answers_by_magic_values() {
        use sandbox::*;
        let ok = |mobile| answer(TxType::CashWithdrawal, 100_000, mobile, OPENING_BALANCE_PAISE);
        assert_eq!(ok("9876543210"), Answer::Now(Verdict::Approved));
        assert!(matches!(ok(MOBILE_BIOMETRIC_MISMATCH), Answer::Now(Verdict::Declined { .. })));
        assert_eq!(ok(MOBILE_AWAITED_THEN_SUCCESS), Answer::Awaited(Verdict::Approved));
        assert!(matches!(ok(MOBILE_AWAITED_THEN_FAILURE), Answer::Awaited(Verdict::Declined { .. })));
        let poor = answer(TxType::CashWithdrawal, 100_000, "9876543210", 99_999);
        assert!(matches!(poor, Answer::Now(Verdict::Declined { reason }) if reason.contains("Insufficient funds")));
        assert_eq!(answer(TxType::BalanceEnquiry, 0, "9876543210", 0), Answer::Now(Verdict::Approved));
        assert_eq!(rrn(Tid::new(42)), "400000000042");
        assert_eq!(stan(Tid::new(1_234_567)), "234567");
    }
}
