//! Verification (KYC) as one table: every kind Kosh verifies is a [`Kind`] row (its
//! paths, its fields and how each is checked, the service an agent needs, the price,
//! whether it answers at once or later, its `response_type_id`), and one engine runs
//! every row the same way (see `kosh_server::service::verification`). Adding a kind is a
//! row here plus its sandbox data in `kosh_rails::sandbox::verify`.
//!
//! Prices include GST ([`Fee::of`]), like DMT fees: the partner's wallet is debited the
//! price; the platform keeps it net of GST and owes the GST.

pub mod ids;
pub mod names;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// PAN verification: the one verification service an agent must have active (catalogue, seed).
pub const SERVICE_PAN: u16 = 4;
/// GST contained in every verification price, in basis points.
pub const GST_BP: i64 = 1_800;
/// Most entries one bulk request may carry.
pub const MAX_BULK_ENTRIES: usize = 100;

/// How a field's text is checked and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A PAN (the documentation's example too, in sandbox mode).
    Pan,
    /// An IFSC.
    Ifsc,
    /// A bank account number.
    Account,
    /// An Aadhaar number (Verhoeff checksum).
    Aadhaar,
    /// A GSTIN (its check character).
    Gstin,
    /// A vehicle registration number.
    Vehicle,
    /// A driving licence number.
    DlNumber,
    /// A passport application file number.
    PassportFile,
    /// A voter ID (EPIC) number.
    Epic,
    /// A Corporate Identification Number.
    Cin,
    /// An EPF universal account number.
    Uan,
    /// A mobile number.
    Mobile,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A person's or business's name (letters, spaces, `.'-&`), at most 100 characters.
    Name,
    /// Free text of at most this many characters.
    Text(usize),
    /// An IP address.
    Ip,
    /// Decimal degrees, −90 to 90.
    Latitude,
    /// Decimal degrees, −180 to 180.
    Longitude,
    /// A base64 JPEG or PNG image (kept only as a digest).
    Image,
    /// Consent: must be `Y`.
    Consent,
    /// An OTP: 4 to 8 digits.
    Otp,
    /// A whole number of at most this many digits.
    Digits(usize),
    /// `ifsc` or `bank_code`.
    IdType,
    /// An IFSC or a bank code, by the request's `id_type`.
    BankId,
    /// An agent's user_code.
    UserCode,
    /// A `client_ref_id` (at most 20 characters).
    ClientRef,
    /// An `https://` or `http://` URL.
    Url,
    /// A JSON array of bulk entries of this kind, at most [`MAX_BULK_ENTRIES`].
    Entries(BulkOf),
    /// A JSON array of document names; only `AADHAAR` is offered.
    Documents,
    /// An access key a previous step answered.
    AccessKey,
}

/// What a bulk request's entries are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkOf {
    /// `{ "bank_account" | "acc_num", "ifsc", "name"? }`
    BankAccounts,
    /// `{ "pan", "name"? }`
    Pans,
}

/// One request field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its wire name.
    pub name: &'static str,
    /// Whether a request without it is refused.
    pub required: bool,
    /// How its text is checked.
    pub check: Check,
}

const fn req(name: &'static str, check: Check) -> Field {
    Field { name, required: true, check }
}

const fn opt(name: &'static str, check: Check) -> Field {
    Field { name, required: false, check }
}

/// How a kind runs, beyond "validate, charge, ask the provider, answer".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The provider answers at once.
    Lookup,
    /// The provider answers each entry later; status polls show progress.
    Bulk,
    /// The provider's answer comes once the customer finished a journey elsewhere.
    Digilocker,
    /// Aadhaar step 1: records consent, answers an access key.
    AadhaarConsent,
    /// Aadhaar step 2: needs step 1's access key; UIDAI sends an OTP to the linked mobile.
    AadhaarOtp,
    /// Aadhaar step 3: needs step 2's access key and its OTP.
    AadhaarXml,
    /// Sends an OTP to a mobile.
    MobileOtp,
    /// Checks that OTP; answers a signed verification token.
    MobileOtpVerify,
}

/// Where a kind is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A v3 path (`/ekoapi/v3…`), with its method.
    V3(Method, &'static str),
    /// A v1/v2 path with its method (served under every v1/v2 prefix).
    Legacy(Method, &'static str),
}

/// An HTTP method a kind is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET (parameters in the query string).
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
}

/// One verification kind: a row of [`KINDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Stable id, stored with each verification.
    pub id: &'static str,
    /// What it verifies, for answers and the README.
    pub title: &'static str,
    /// Where it is served.
    pub route: Route,
    /// Its request fields (besides `initiator_id`).
    pub fields: &'static [Field],
    /// The field naming the subject (stored masked and hashed), if any.
    pub subject: Option<&'static str>,
    /// A service the agent (when `user_code` is sent) must have active.
    pub service_code: Option<u16>,
    /// Price in paise, GST included (per entry for bulk kinds); 0 is free.
    pub price_paise: i64,
    /// How it runs.
    pub flow: Flow,
    /// `response_type_id` of a successful answer.
    pub response_type_id: i64,
    /// `response_type_id` when the subject failed the check (invalid, not found).
    pub negative_type_id: i64,
    /// `response_status_id` of a successful answer (-1 reads, 0 transactional).
    pub ok_status_id: i64,
    /// The success `message`.
    pub message: &'static str,
    /// Whether a negative answer refunds the fee (the platform's `verification_failure_refund`).
    pub refund_on_negative: bool,
}

use Check as C;
use Flow as F;
use Method::{Get, Post, Put};
use Route::{Legacy, V3};

const fn kind(id: &'static str, title: &'static str, route: Route, fields: &'static [Field]) -> Kind {
    Kind {
        id,
        title,
        route,
        fields,
        subject: None,
        service_code: None,
        price_paise: 0,
        flow: F::Lookup,
        response_type_id: 0,
        negative_type_id: -1,
        ok_status_id: 0,
        message: "",
        refund_on_negative: false,
    }
}

impl Kind {
    const fn subject(self, field: &'static str) -> Kind {
        Kind { subject: Some(field), ..self }
    }
    const fn price(self, paise: i64) -> Kind {
        Kind { price_paise: paise, ..self }
    }
    const fn flow(self, flow: Flow) -> Kind {
        Kind { flow, ..self }
    }
    const fn answers(self, response_type_id: i64, ok_status_id: i64, message: &'static str) -> Kind {
        Kind { response_type_id, ok_status_id, message, ..self }
    }
    const fn negative(self, negative_type_id: i64, refund: bool) -> Kind {
        Kind { negative_type_id, refund_on_negative: refund, ..self }
    }
    const fn service(self, code: u16) -> Kind {
        Kind { service_code: Some(code), ..self }
    }
}

const BANK_FIELDS: &[Field] = &[
    req("customer_id", C::Mobile),
    req("user_code", C::UserCode),
    opt("client_ref_id", C::ClientRef),
    req("id_type", C::IdType),
    req("id", C::BankId),
    req("acc_num", C::Account),
];
const PAN_FIELDS: &[Field] = &[
    req("pan_number", C::Pan),
    req("purpose", C::Digits(2)),
    req("purpose_desc", C::Text(100)),
    opt("client_ref_id", C::ClientRef),
    opt("user_code", C::UserCode),
];
const PAN_NAME_DOB: &[Field] = &[
    req("pan", C::Pan),
    req("name", C::Name),
    req("dob", C::Date),
    opt("client_ref_id", C::ClientRef),
    opt("user_code", C::UserCode),
];

/// Every verification kind.
pub const KINDS: &[Kind] = &[
    kind("bank_account", "bank account (penny drop), v1/v2", Legacy(Post, "/banks/{bank_id}/accounts/{account}"), BANK_FIELDS)
        .subject("acc_num")
        .price(700)
        .answers(61, -1, "Success! Account details found")
        .negative(1796, true),
    kind("bank_account_penny_drop", "bank account (penny drop)", V3(Post, "/tools/kyc/bank-account/penny-drop"), BANK_FIELDS)
        .subject("acc_num")
        .price(700)
        .answers(61, -1, "Success! Account details found")
        .negative(1796, true),
    kind("bank_account_penniless", "bank account (penniless)", V3(Post, "/tools/kyc/bank-account/penniless"), BANK_FIELDS)
        .subject("acc_num")
        .price(500)
        .answers(61, -1, "Success! Account details found")
        .negative(1796, true),
    kind(
        "bank_account_bulk",
        "bank accounts in bulk",
        V3(Post, "/tools/kyc/bank-account/bulk"),
        &[req("client_ref_id", C::ClientRef), req("entries", C::Entries(BulkOf::BankAccounts))],
    )
    .price(500)
    .flow(F::Bulk)
    .answers(61, -1, "Bulk verification started successfully")
    .negative(1796, false),
    kind("ifsc", "IFSC", V3(Post, "/tools/kyc/ifsc"), &[req("client_ref_id", C::ClientRef), req("ifsc", C::Ifsc)])
        .answers(61, -1, "IFSC verification successful")
        .negative(1796, false),
    kind("pan", "PAN, v1/v2", Legacy(Post, "/pan/verify"), PAN_FIELDS)
        .subject("pan_number")
        .service(SERVICE_PAN)
        .price(250)
        .answers(1255, -1, "PAN verification successful")
        .negative(1256, false),
    kind("pan_basic", "PAN (basic)", V3(Post, "/tools/kyc/pan-basic"), PAN_FIELDS)
        .subject("pan_number")
        .service(SERVICE_PAN)
        .price(250)
        .answers(1255, -1, "PAN verification successful")
        .negative(1256, false),
    kind("pan_lite", "PAN (lite: name and date of birth)", V3(Post, "/tools/kyc/pan-lite"), PAN_NAME_DOB)
        .subject("pan")
        .service(SERVICE_PAN)
        .price(200)
        .answers(1255, -1, "PAN validation successful")
        .negative(1256, false),
    kind("pan_advanced", "PAN (advanced)", V3(Post, "/tools/kyc/pan-advanced"), PAN_NAME_DOB)
        .subject("pan")
        .service(SERVICE_PAN)
        .price(500)
        .answers(1256, -1, "PAN verification successful")
        .negative(1257, false),
    kind(
        "pan_bulk",
        "PANs in bulk",
        V3(Post, "/tools/kyc/pan/bulk"),
        &[opt("client_ref_id", C::ClientRef), req("entries", C::Entries(BulkOf::Pans)), opt("user_code", C::UserCode)],
    )
    .service(SERVICE_PAN)
    .price(200)
    .flow(F::Bulk)
    .answers(1255, -1, "Bulk PAN verification started successfully"),
    kind(
        "aadhaar_consent",
        "Aadhaar consent",
        V3(Get, "/tools/kyc/aadhaar/consent"),
        &[
            opt("user_code", C::UserCode),
            req("is_consent", C::Consent),
            req("consent_text", C::Aadhaar),
            req("realsourceip", C::Ip),
        ],
    )
    .subject("consent_text")
    .flow(F::AadhaarConsent)
    .answers(1617, 0, "Karza Aadhaar Consent Signed"),
    kind(
        "aadhaar_otp",
        "Aadhaar OTP",
        V3(Post, "/tools/kyc/aadhaar/otp"),
        &[
            opt("user_code", C::UserCode),
            req("aadhar", C::Aadhaar),
            req("is_consent", C::Consent),
            req("access_key", C::AccessKey),
            req("caseId", C::Text(64)),
            req("realsourceip", C::Ip),
        ],
    )
    .subject("aadhar")
    .flow(F::AadhaarOtp)
    .answers(1619, 0, "Karza Aadhaar Otp Sent")
    .negative(1620, false),
    kind(
        "aadhaar_xml",
        "Aadhaar XML e-KYC",
        V3(Post, "/tools/kyc/aadhaar/xml-download"),
        &[
            opt("user_code", C::UserCode),
            req("aadhar", C::Aadhaar),
            req("is_consent", C::Consent),
            req("otp", C::Otp),
            opt("share_code", C::Digits(4)),
            req("access_key", C::AccessKey),
            opt("realsourceip", C::Ip),
        ],
    )
    .subject("aadhar")
    .price(500)
    .flow(F::AadhaarXml)
    .answers(1621, 0, "Aadhaar File Downloaded")
    .negative(1622, false),
    kind(
        "mobile_otp",
        "mobile number (OTP)",
        V3(Post, "/tools/kyc/mobile/otp"),
        &[
            opt("user_code", C::UserCode),
            req("mobile", C::Mobile),
            opt("intent_id", C::Digits(3)),
            opt("client_ref_id", C::ClientRef),
        ],
    )
    .subject("mobile")
    .price(50)
    .flow(F::MobileOtp)
    .answers(1600, 0, "OTP request has been sent"),
    kind(
        "mobile_otp_verify",
        "mobile OTP check",
        V3(Put, "/tools/kyc/mobile/otp/verify"),
        &[opt("user_code", C::UserCode), req("mobile", C::Mobile), req("otp", C::Otp), req("otp_ref_id", C::Digits(18))],
    )
    .subject("mobile")
    .flow(F::MobileOtpVerify)
    .answers(1604, 0, "Validation successful"),
    kind(
        "face_match",
        "face match",
        V3(Post, "/tools/kyc/face-match"),
        &[opt("user_code", C::UserCode), opt("client_ref_id", C::ClientRef), req("image_1", C::Image), req("image_2", C::Image)],
    )
    .price(300)
    .answers(1631, 0, "Face match completed"),
    kind(
        "gstin",
        "GSTIN",
        V3(Post, "/tools/kyc/gstin"),
        &[req("client_ref_id", C::ClientRef), req("GSTIN", C::Gstin), req("business_name", C::Text(100))],
    )
    .subject("GSTIN")
    .price(300)
    .answers(1625, 0, "GSTIN Verification Success")
    .negative(1632, false),
    kind(
        "gstin_with_pan",
        "GSTINs of a PAN",
        V3(Post, "/tools/kyc/gstin-with-pan"),
        &[opt("client_ref_id", C::ClientRef), req("pan", C::Pan)],
    )
    .subject("pan")
    .price(300)
    .answers(1626, 0, "GSTIN with PAN Fetch Success")
    .negative(1633, false),
    kind(
        "digilocker",
        "DigiLocker (Aadhaar)",
        V3(Post, "/tools/kyc/digilocker"),
        &[req("client_ref_id", C::ClientRef), req("document_requested", C::Documents), req("redirect_url", C::Url)],
    )
    .price(500)
    .flow(F::Digilocker)
    .answers(1627, 0, "DigiLocker URL creation success"),
    kind(
        "vehicle_rc",
        "vehicle RC",
        V3(Post, "/tools/kyc/vehicle-rc"),
        &[opt("client_ref_id", C::ClientRef), req("vehicle_number", C::Vehicle)],
    )
    .subject("vehicle_number")
    .price(400)
    .answers(1700, 0, "Vehicle RC Details Retrieved")
    .negative(1701, false),
    kind(
        "driving_license",
        "driving licence",
        V3(Post, "/tools/kyc/driving-license"),
        &[opt("client_ref_id", C::ClientRef), req("dl_number", C::DlNumber), req("dob", C::Date)],
    )
    .subject("dl_number")
    .price(400)
    .answers(1800, 0, "Driving Licence Details Retrieved")
    .negative(1801, false),
    kind(
        "voter_id",
        "voter ID",
        V3(Post, "/tools/kyc/voter-id"),
        &[opt("client_ref_id", C::ClientRef), req("epic_number", C::Epic), opt("name", C::Name)],
    )
    .subject("epic_number")
    .price(400)
    .answers(1800, 0, "Voter ID Details Retrieved")
    .negative(1801, false),
    kind(
        "passport",
        "passport",
        V3(Post, "/tools/kyc/passport"),
        &[opt("client_ref_id", C::ClientRef), req("file_number", C::PassportFile), req("dob", C::Date), opt("name", C::Name)],
    )
    .subject("file_number")
    .price(400)
    .answers(1900, 0, "Passport Details Retrieved")
    .negative(1902, false),
    kind("cin", "company (CIN)", V3(Post, "/tools/kyc/cin"), &[opt("client_ref_id", C::ClientRef), req("cin", C::Cin)])
        .subject("cin")
        .price(300)
        .answers(1901, 0, "CIN Details Retrieved")
        .negative(1903, false),
    kind(
        "employment",
        "employment",
        V3(Post, "/tools/kyc/advance-employment"),
        &[
            opt("client_ref_id", C::ClientRef),
            opt("phone", C::Mobile),
            opt("pan", C::Pan),
            opt("uan", C::Uan),
            opt("dob", C::Date),
            opt("employee_name", C::Name),
            opt("employer_name", C::Text(100)),
        ],
    )
    .price(1000)
    .answers(1901, 0, "Employee Details Retrieved")
    .negative(1904, false),
    kind("ip", "IP address", V3(Post, "/tools/kyc/ip"), &[opt("client_ref_id", C::ClientRef), req("ip_address", C::Ip)])
        .price(100)
        .answers(2001, 0, "IP Verification Success"),
    kind(
        "reverse_geocoding",
        "reverse geocoding",
        V3(Post, "/tools/kyc/reverse-geocoding"),
        &[opt("client_ref_id", C::ClientRef), req("latitude", C::Latitude), req("longitude", C::Longitude)],
    )
    .price(100)
    .answers(2001, 0, "Reverse Geocoding Success"),
    kind(
        "name_match",
        "name match",
        V3(Post, "/tools/kyc/name-match"),
        &[opt("client_ref_id", C::ClientRef), req("name_1", C::Name), req("name_2", C::Name)],
    )
    .answers(2002, 0, "Name match completed"),
];

/// The kind with this id.
pub fn kind_by_id(id: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.id == id)
}

/// What a verification costs: the price and the GST it contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// Debited from the partner's wallet, GST included.
    pub fee_paise: i64,
    /// GST contained in the fee (owed to the tax authority).
    pub gst_paise: i64,
}

impl Fee {
    /// The fee of `units` verifications of `kind` (bulk entries count one each).
    pub fn of(kind: &Kind, units: usize) -> Fee {
        let fee_paise = kind.price_paise.saturating_mul(i64::try_from(units).unwrap_or(i64::MAX));
        // GST contained in a GST-inclusive price: fee × 18/118, rounded half up.
        let gst_paise = (fee_paise * GST_BP + (10_000 + GST_BP) / 2) / (10_000 + GST_BP);
        Fee { fee_paise, gst_paise }
    }
}

/// A request's checked fields, normalised, by wire name. Bulk entries and document
/// lists keep their (re-serialised) JSON text.
pub type Fields = BTreeMap<String, String>;

/// What the sandbox accepts that production does not (the documentation's example PAN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leniency {
    /// Sandbox mode.
    pub sandbox: bool,
}

/// Checks `raw` (wire name → text, absent fields missing) against `kind`'s fields:
/// every problem at once, as `(field, message)`, or the normalised fields.
pub fn validate(kind: &Kind, raw: &dyn Fn(&str) -> Option<String>, leniency: Leniency) -> Result<Fields, Vec<(String, String)>> {
    let mut fields = Fields::new();
    let mut errors = Vec::new();
    for field in kind.fields {
        match raw(field.name) {
            None if field.required => errors.push((field.name.to_owned(), "is required".to_owned())),
            None => {}
            Some(text) => match check(field.check, &text, leniency) {
                Ok(value) => {
                    fields.insert(field.name.to_owned(), value);
                }
                Err(why) => errors.push((field.name.to_owned(), why)),
            },
        }
    }
    cross_check(kind, &mut fields, &mut errors);
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(errors)
    }
}

/// Rules over several fields: a bank id read by its `id_type`; employment needs one of
/// phone, PAN or UAN.
fn cross_check(kind: &Kind, fields: &mut Fields, errors: &mut Vec<(String, String)>) {
    if let (Some(id_type), Some(id)) = (fields.get("id_type").cloned(), fields.get("id").cloned()) {
        let checked = if id_type == "ifsc" { ids::ifsc(&id) } else { bank_code(&id) };
        match checked {
            Ok(value) => {
                fields.insert("id".into(), value);
            }
            Err(why) => errors.push(("id".into(), why)),
        }
    }
    if kind.id == "employment" && !["phone", "pan", "uan"].iter().any(|f| fields.contains_key(*f)) {
        errors.push(("phone".into(), "is required unless pan or uan is sent (send at least one of phone, pan, uan)".into()));
    }
}

fn bank_code(text: &str) -> Result<String, String> {
    crate::banks::find(text)
        .map(|b| b.code.to_owned())
        .ok_or_else(|| "is not a bank code Kosh knows (e.g. SBIN; see GET /banks)".into())
}

/// Checks one field's text.
pub fn check(check: Check, text: &str, leniency: Leniency) -> Result<String, String> {
    let t = text.trim();
    match check {
        C::Pan => ids::pan(t, leniency.sandbox),
        C::Ifsc => ids::ifsc(t),
        C::Account => ids::account(t),
        C::Aadhaar => ids::aadhaar(t),
        C::Gstin => ids::gstin(t),
        C::Vehicle => ids::vehicle(t),
        C::DlNumber => ids::dl_number(t),
        C::PassportFile => ids::passport_file(t),
        C::Epic => ids::epic(t),
        C::Cin => ids::cin(t),
        C::Uan => ids::uan(t),
        C::Mobile => ids::mobile(t),
        C::Date => crate::civil::Date::parse_iso(t).map(|d| d.to_iso()).ok_or_else(|| "must be a date, YYYY-MM-DD".into()),
        C::Name => name(t),
        C::Text(max) => text_of(t, max),
        C::Ip => ids::ip(t),
        C::Latitude => ids::degrees(t, 90.0),
        C::Longitude => ids::degrees(t, 180.0),
        C::Image => ids::image(t),
        C::Consent if t.eq_ignore_ascii_case("Y") => Ok("Y".into()),
        C::Consent => Err("must be Y: the customer's consent is required".into()),
        C::Otp if (4..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) => Ok(t.into()),
        C::Otp => Err("must be the 4 to 8 digit OTP".into()),
        C::Digits(max) if !t.is_empty() && t.len() <= max && t.bytes().all(|b| b.is_ascii_digit()) => Ok(t.into()),
        C::Digits(max) => Err(format!("must be a number of at most {max} digits")),
        C::IdType if matches!(t, "ifsc" | "bank_code") => Ok(t.into()),
        C::IdType => Err("must be ifsc or bank_code".into()),
        C::BankId => text_of(t, 11),
        C::UserCode => crate::validate::parse_user_code(t).map(|u| u.to_string()).map_err(String::from),
        C::ClientRef => crate::validate::ClientRefId::parse(t).map(|c| c.as_str().to_owned()).map_err(String::from),
        C::Url => url(t),
        C::Entries(of) => entries(of, t, leniency),
        C::Documents => documents(t),
        C::AccessKey if (8..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => Ok(t.into()),
        C::AccessKey => Err("must be the access_key the previous step answered".into()),
    }
}

fn name(t: &str) -> Result<String, String> {
    let ok = t.chars().count() <= 100
        && t.chars().any(char::is_alphabetic)
        && t.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '.' | '\'' | '-' | '&'));
    if ok {
        Ok(t.split_whitespace().collect::<Vec<_>>().join(" "))
    } else {
        Err("must be a name: letters, spaces and . ' - &, at most 100 characters".into())
    }
}

fn text_of(t: &str, max: usize) -> Result<String, String> {
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(format!("must be text of 1 to {max} characters"));
    }
    Ok(t.to_owned())
}

fn url(t: &str) -> Result<String, String> {
    let ok = (t.starts_with("https://") || t.starts_with("http://")) && t.len() <= 512 && !t.contains(char::is_whitespace);
    if ok {
        Ok(t.to_owned())
    } else {
        Err("must be an http:// or https:// URL of at most 512 characters".into())
    }
}

fn documents(t: &str) -> Result<String, String> {
    let list: Vec<String> = serde_json::from_str(t).or_else(|_| Ok::<_, ()>(vec![t.to_owned()])).unwrap_or_default();
    if list.is_empty() || list.iter().any(|d| !d.eq_ignore_ascii_case("AADHAAR")) {
        return Err("must list the documents requested; only \"AADHAAR\" is offered".into());
    }
    Ok(r#"["AADHAAR"]"#.into())
}

/// A bulk request's entries, each checked: at most [`MAX_BULK_ENTRIES`].
fn entries(of: BulkOf, t: &str, leniency: Leniency) -> Result<String, String> {
    let list: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(t).map_err(|_| "must be a JSON array of objects".to_owned())?;
    if list.is_empty() || list.len() > MAX_BULK_ENTRIES {
        return Err(format!("must hold 1 to {MAX_BULK_ENTRIES} entries, not {}", list.len()));
    }
    let mut checked = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let get = |name: &str| entry.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let wrap = |field: &str, why: String| format!("entries[{i}].{field} {why}");
        let mut out = serde_json::Map::new();
        match of {
            BulkOf::BankAccounts => {
                let account =
                    get("bank_account").or_else(|| get("acc_num")).ok_or_else(|| wrap("bank_account", "is required".into()))?;
                out.insert("bank_account".into(), ids::account(&account).map_err(|e| wrap("bank_account", e))?.into());
                let ifsc = get("ifsc").ok_or_else(|| wrap("ifsc", "is required".into()))?;
                out.insert("ifsc".into(), ids::ifsc(&ifsc).map_err(|e| wrap("ifsc", e))?.into());
            }
            BulkOf::Pans => {
                let pan = get("pan").ok_or_else(|| wrap("pan", "is required".into()))?;
                out.insert("pan".into(), ids::pan(&pan, leniency.sandbox).map_err(|e| wrap("pan", e))?.into());
            }
        }
        if let Some(n) = get("name") {
            out.insert("name".into(), name(&n).map_err(|e| wrap("name", e))?.into());
        }
        checked.push(serde_json::Value::Object(out));
    }
    Ok(serde_json::Value::Array(checked).to_string())
}

/// How many bulk entries `fields` carry (1 for a kind without entries).
pub fn units(fields: &Fields) -> usize {
    fields.get("entries").and_then(|e| serde_json::from_str::<Vec<serde_json::Value>>(e).ok()).map_or(1, |v| v.len())
}

/// A subject as the store keeps it readably: all but the last four characters hidden.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let keep = if chars.len() > 6 { 4 } else { chars.len() / 3 };
    let hidden = chars.len() - keep;
    format!("{}{}", "X".repeat(hidden), chars[hidden..].iter().collect::<String>())
}

/// Keys of personal data in provider answers that the store keeps only masked.
const PERSONAL_KEYS: &[&str] = &[
    "pan",
    "pan_number",
    "PAN",
    "aadhaar",
    "aadhar",
    "uid",
    "account",
    "acc_num",
    "bank_account",
    "mobile",
    "mobile_number",
    "phone",
    "email",
    "dob",
    "date_of_birth",
    "address",
    "full_address",
    "present_address",
    "permanent_address",
    "complete_address",
    "street",
    "house",
    "uan",
    "epic_number",
    "dl_number",
    "file_number",
    "chassis",
    "engine",
    "vehicle_insurance_policy_number",
    "photo",
    "photo_link",
    "ip_address",
    "otp",
];

/// `data` as the store may keep it: personal identifiers and contact data masked,
/// nested objects and arrays included (names stay: a status poll must answer them).
pub fn masked_for_storage(data: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match data {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if PERSONAL_KEYS.contains(&k.as_str()) && !s.is_empty() => Value::String(mask(s)),
                        Value::Number(n) if PERSONAL_KEYS.contains(&k.as_str()) => Value::String(mask(&n.to_string())),
                        other => masked_for_storage(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked_for_storage).collect()),
        other => other.clone(),
    }
}

/// Why the store refused a verification step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum VerifyRejection {
    /// A flow step came before the step it needs (or with another step's key).
    #[error("{0}")]
    OutOfOrder(String),
    /// The access key of the previous step has expired.
    #[error("the access_key has expired; start again with the consent step")]
    KeyExpired,
    /// No verification has this reference.
    #[error("no verification has this reference")]
    NotFound,
}

/// An HS256 JWT over `claims`, the shape of the platform's `otp_verification_token`.
pub fn hs256_token(claims: &serde_json::Value, key: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let signing_input = format!("{}.{}", b64(br#"{"typ":"JWT","alg":"HS256"}"#), b64(claims.to_string().as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

/// A keyed hash (hex HMAC-SHA256 under the deployment's pepper) of `value` in `domain`:
/// equal subjects hash equal, so a flow's steps can be matched, but a stolen database
/// cannot be searched for a PAN or an Aadhaar number without the pepper.
pub fn keyed_hash(pepper: &str, domain: &str, value: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(pepper.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(domain.as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenient() -> Leniency {
        Leniency { sandbox: true }
    }

    #[test]
    fn the_table_is_consistent() {
        let mut ids: Vec<&str> = KINDS.iter().map(|k| k.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), KINDS.len(), "kind ids are unique");
        for k in KINDS {
            assert!(k.response_type_id > 0, "{}", k.id);
            if let Some(subject) = k.subject {
                assert!(k.fields.iter().any(|f| f.name == subject && f.required), "{}: subject {subject}", k.id);
            }
            assert!(k.price_paise >= 0, "{}", k.id);
        }
        for free in ["ifsc", "name_match"] {
            assert_eq!(kind_by_id(free).map(|k| k.price_paise), Some(0));
        }
    }

    #[test]
    fn fees_contain_gst() {
        let k = kind_by_id("bank_account").unwrap();
        assert_eq!(Fee::of(k, 1), Fee { fee_paise: 700, gst_paise: 107 });
        assert_eq!(Fee::of(kind_by_id("bank_account_bulk").unwrap(), 3).fee_paise, 1500);
        assert_eq!(Fee::of(kind_by_id("ifsc").unwrap(), 1), Fee { fee_paise: 0, gst_paise: 0 });
    }

    #[test]
    fn validation_lists_every_problem() {
        let k = kind_by_id("bank_account_penny_drop").unwrap();
        let raw = |name: &str| match name {
            "customer_id" => Some("12345".to_owned()),
            "id_type" => Some("ifsc".to_owned()),
            "id" => Some("SBIN1234567".to_owned()),
            "acc_num" => Some("12ab".to_owned()),
            _ => None,
        };
        let errors = validate(k, &raw, lenient()).unwrap_err();
        let names: Vec<&str> = errors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["customer_id", "user_code", "acc_num", "id"]);
        let bulk = kind_by_id("pan_bulk").unwrap();
        let too_many = format!("[{}]", vec![r#"{"pan":"ABCPV1234K"}"#; MAX_BULK_ENTRIES + 1].join(","));
        let errors = validate(bulk, &|n: &str| (n == "entries").then(|| too_many.clone()), lenient()).unwrap_err();
        assert!(errors[0].1.contains("1 to 100 entries"), "{errors:?}");
        let bad = r#"[{"pan":"ABCPV1234K"},{"pan":"12"}]"#;
        let errors = validate(bulk, &|n: &str| (n == "entries").then(|| bad.to_owned()), lenient()).unwrap_err();
        assert!(errors[0].1.starts_with("entries[1].pan"), "{errors:?}");
    }

    #[test]
    fn storage_masks_personal_data() {
        let data = serde_json::json!({ "pan_number": "ABCPV1234K", "first_name": "Asha",
            "address": { "street": "12 MG Road" }, "list": [{ "mobile": "9876543210" }] });
        let kept = masked_for_storage(&data);
        assert_eq!(kept["pan_number"], "XXXXXX234K");
        assert_eq!(kept["first_name"], "Asha");
        assert_eq!(kept["list"][0]["mobile"], "XXXXXX3210");
        assert!(!kept.to_string().contains("ABCPV1234K"));
    }
}
